"""The compiled engine's trainer: the reference ``Trainer``'s interface over ``kernels.play_episodes``.

It builds what the kernel needs from the very objects the reference trainer
uses: the env (its payoffs, fair-action table and stage feature), the mediated
env's history features (``AgentHistory``, ``MediatorObservation``), the same
seeded generators (``derived_seed(seed, 2, i)``) and the same
``VectorMediator``; and it writes checkpoints in the reference's layout (a
dense Q-table's visited states are the reference's dictionary keys, in the
same order).
"""

from __future__ import annotations

import numpy as np

from fairlead.engine import game_of, kernels, numpy_random
from fairlead.envs import resource_collection_v0
from fairlead.envs.matrix import MatrixGameEnv
from fairlead.envs.stackelberg import StageRecord
from fairlead.mediation.leader_phase import MEDIATOR
from fairlead.mediation.observation import AgentHistory, MediatorObservation
from fairlead.trainers.config import HyperParams, Method
from fairlead.trainers.evaluation import summarise_arrays
from fairlead.trainers.jamql import EVAL, TRAIN, EpisodeResult, derived_seed
from fairlead.trainers.vector_mediator import VectorMediator

SELECTOR_CODES = {
    "fixed": kernels.FIXED,
    "round_robin": kernels.ROUND_ROBIN,
    "random": kernels.RANDOM,
    "catch_up": kernels.CATCH_UP,
    "vote": kernels.VOTE,
    "vector_mediator": kernels.VECTOR_MEDIATOR,
    "mediator": kernels.MEDIATOR_AGENT,
}
STAGE_CODES = {"index": kernels.STAGE_INDEX, "last": kernels.STAGE_LAST, "none": kernels.STAGE_NONE}
SETTLE_CODES = {"end": kernels.SETTLE_END, "stage": kernels.SETTLE_STAGE}
TRANSFER_CODES = {"mean_deviation": kernels.MEAN_DEVIATION, "unfair_advantage": kernels.UNFAIR_ADVANTAGE}


def _strides(nvec) -> np.ndarray:
    return np.array([int(np.prod(nvec[i + 1 :])) for i in range(len(nvec))], np.int64)


def _uint32_words(value: int) -> np.ndarray:
    """A seed as numpy's SeedSequence reads it: little-endian 32-bit words (``[0]`` for 0)."""
    words = [value & 0xFFFFFFFF]
    while value >> 32:
        value >>= 32
        words.append(value & 0xFFFFFFFF)
    return np.array(words, np.uint64)


def tabular_state(q: np.ndarray, visited: np.ndarray, nvec, rng) -> dict:
    """A dense table ``q[state, action]`` in ``TabularQLearner.state_dict``'s layout (visited states, sorted)."""
    states = np.flatnonzero(visited)
    keys = np.stack(np.unravel_index(states, nvec), axis=1).astype(np.int64)
    return {
        "keys": keys.reshape(len(states), len(nvec) if len(states) else 0),
        "values": q[states].copy(),
        "rng": rng.bit_generator.state,
    }


def load_tabular_state(state: dict, q: np.ndarray, visited: np.ndarray, nvec, rng) -> None:
    q[:], visited[:] = 0.0, False
    keys = np.asarray(state["keys"], dtype=np.int64)
    if len(keys):
        flat = np.ravel_multi_index(tuple(keys.T), nvec)
        q[flat], visited[flat] = state["values"], True
    rng.bit_generator.state = state["rng"]


class CompiledTrainer:
    """Same constructor, methods and results as ``fairlead.trainers.jamql.Trainer``, for what the engine plays."""

    plays_in_chunks = True  # train(n) plays n episodes in one compiled call

    def __init__(self, env_name: str, env_kwargs: dict, method: Method, hp: HyperParams, seed: int):
        self.method, self.hp, self.seed = method, hp, seed
        game = game_of(env_name, env_kwargs)
        self.players = list(game.possible_agents)
        self.return_scale = game.return_scale
        n, k, cycles = len(self.players), game.num_actions, game.max_cycles
        self.max_cycles = cycles
        self.payoff, self.cournot, self.fair = np.zeros((1, k, k)), np.zeros(3), np.zeros((n, k), dtype=bool)
        self.grid, self.grid_pay = np.array([1, 1, 0, 0], np.int64), np.zeros((n + 1, n))
        self.favours, self.move_masks = np.zeros(n, dtype=bool), np.zeros((1, 1, k), np.int8)
        self.layout, self.n_resources = np.zeros((0, 2), np.int64), 0
        if isinstance(game, MatrixGameEnv):
            self.game = kernels.BIMATRIX if game.bimatrix else kernels.SYMMETRIC
            self.payoff = np.ascontiguousarray(game.payoff if game.bimatrix else game.payoff[None], dtype=float)
            self.fair = game.fair_actions()
        elif isinstance(game, resource_collection_v0.raw_env):
            self.game, self.n_resources = kernels.RESOURCES, game.n_fair + game.n_unfair
            if game._layout is not None:
                self.layout = np.concatenate([game._layout["agents"], game._layout["fair"], game._layout["unfair"]])
            self.grid = np.array([game.rows, game.cols, game.n_fair, game.cooperation], np.int64)
            self.grid_pay = np.vstack([game._fair_pay, game._unfair_pay])
            self.favours, self.move_masks = game._unfair_favours_leader.copy(), game._move_masks
        else:
            self.game = kernels.COURNOT
            self.cournot = np.array([game.a, game.b, game.c])
            self.fair = np.broadcast_to(np.arange(k) <= game.fair_quantity, (n, k)).copy()
        self.stage_feature = STAGE_CODES[game.stage_feature]
        self.selector = SELECTOR_CODES[method.selector]
        self.fixed_leader = (
            self.players.index(method.selector_kwargs.get("leader", "player_0")) if method.selector == "fixed" else 0
        )
        rule, strength = method.transfer if isinstance(method.transfer, list) else ("mean_deviation", method.transfer)
        self.transfer, self.strength = TRANSFER_CODES[str(rule)], float(strength)
        self.settle = SETTLE_CODES[method.settle]

        # the players: one dense Q-table each over the mediated env's observation (and vote actions, with a vote)
        voting = self.selector == kernels.VOTE
        history = AgentHistory(self.players, method.agent_history)  # the mediated env's: its codes and sizes
        self.history_codes = np.array(history.codes, np.int64)
        self.nvec = (*game.obs_nvec.tolist(), *history.nvec.tolist(), *([2] if voting else []))
        self.strides = _strides(self.nvec)
        actions = max(k, n) if voting else k
        self.q = np.zeros((n, int(np.prod(self.nvec)), actions))
        self.visited = np.zeros(self.q.shape[:2], dtype=bool)
        self.rngs = tuple(np.random.default_rng(derived_seed(seed, 2, i)) for i in range(n))

        # the mediator: JAM-QL's vector mediator, or the scalar mediator agent's Q-table over its observation
        mediator_rng = np.random.default_rng(derived_seed(seed, 2, n))
        self.mediator = (
            VectorMediator(
                n,
                cycles,
                hp.mediator,
                mediator_rng,
                use_returns="returns" in method.history,
                use_reputation="reputation" in method.history,
            )
            if method.vector_mediator
            else None
        )
        self.observation = MediatorObservation(n, cycles, self.return_scale, method.history, "discrete")
        self.mediator_nvec = tuple(self.observation.nvec.tolist())
        self.mediator_strides = _strides(self.mediator_nvec)
        table = (1, int(np.prod(self.mediator_nvec)), n) if method.learned_mediator else (1, 1, n)
        self.q_mediator, self.visited_mediator = np.zeros(table), np.zeros(table[:2], dtype=bool)
        self.mediator_rngs = (mediator_rng,)
        # the learners' generators while training: rows the kernel draws from, put back into the numpy Generators
        # only when their state is read (a checkpoint); greedy play draws from none, so gets rows it leaves unread
        self.generator_rows = np.stack([numpy_random.state_row(rng) for rng in self._generators()])
        self.unused_states = np.zeros_like(self.generator_rows)
        self.values = self.mediator.values if self.mediator is not None else np.zeros((cycles, n, 1, n))
        self.agent_hp, self.mediator_hp = hp.agent.schedule(), hp.mediator.schedule()
        self.seed_words = _uint32_words(seed)  # derived_seed's first entropy words
        self.episode = 0  # training episodes done

    # ------------------------------------------------------------------ play
    def train(self, episodes: int) -> None:
        """Train ``episodes`` more episodes (what the reference's ``train_episode`` does, that many times)."""
        self._play(episodes, TRAIN, self.episode, explore=True, learn=True, record=False)
        self.episode += episodes

    def evaluate(self, episodes: int, offset: int = 0) -> list[EpisodeResult]:
        """Greedy play (no exploration, no learning) on the reference's evaluation seeds."""
        return [
            self._episode_result(*episode)
            for episode in zip(*self._play(episodes, EVAL, offset, explore=False, learn=False, record=True))
        ]

    def evaluate_summary(self, episodes: int, offset: int = 0) -> dict[str, float]:
        """The reference's ``evaluate_summary``: the same numbers, from the kernel's arrays (no stage records)."""
        returns, _, leaders, fair, _, rewards = self._play(
            episodes, EVAL, offset, explore=False, learn=False, record=True
        )
        return summarise_arrays(returns, leaders, fair, np.cumsum(rewards, axis=1), self.players, self.return_scale)

    def _play(self, episodes, stream, first, explore, learn, record):
        """Episodes ``first ..`` of seed stream ``stream`` (``TRAIN``, ``EVAL``), as the reference seeds them."""
        n, cycles = len(self.players), self.max_cycles
        kept = episodes if record else 0
        returns, after = np.zeros((episodes, n)), np.zeros((episodes, n))
        leaders, fair = np.zeros((kept, cycles), np.int64), np.zeros((kept, cycles), dtype=bool)
        actions, rewards = np.zeros((kept, cycles, n), np.int64), np.zeros((kept, cycles, n))
        use_returns = self.mediator is not None and self.mediator.use_returns
        use_reputation = self.mediator is not None and self.mediator.use_reputation
        states = self.generator_rows if explore else self.unused_states
        kernels.play_episodes(
            self.game,
            self.payoff,
            self.cournot,
            self.fair,
            cycles,
            self.stage_feature,
            self.return_scale,
            self.grid,
            self.grid_pay,
            self.favours,
            self.move_masks,
            self.layout,
            self.n_resources,
            self.selector,
            self.fixed_leader,
            use_returns,
            use_reputation,
            self.transfer,
            self.strength,
            self.settle,
            self.history_codes,
            self.observation.codes,
            self.observation.tolerance,
            self.q,
            self.visited,
            self.strides,
            self.agent_hp,
            states[:n],
            self.values,
            self.q_mediator,
            self.visited_mediator,
            self.mediator_strides,
            self.mediator_hp,
            states[n:],
            explore,
            learn,
            self.episode,
            self.seed_words,
            stream,
            first,
            returns,
            after,
            leaders,
            fair,
            actions,
            rewards,
        )
        return (returns, after, leaders, fair, actions, rewards) if record else None

    def _episode_result(self, returns, after, leaders, fair, actions, rewards) -> EpisodeResult:
        players = self.players
        stages = tuple(
            StageRecord(
                t,
                players[leaders[t]],
                dict(zip(players, actions[t].tolist())),
                dict(zip(players, rewards[t].tolist())),
                bool(fair[t]),
            )
            for t in range(len(leaders))
        )
        return EpisodeResult(
            returns=returns,
            returns_after_transfer=after,
            leaders=tuple(leaders.tolist()),
            leader_fair=tuple(fair.tolist()),
            stages=stages,
        )

    # ----------------------------------------------------------- checkpoints
    def _generators(self) -> list[np.random.Generator]:
        return [*self.rngs, *self.mediator_rngs]

    def _learner_names(self) -> list[str]:
        return [*self.players, *([MEDIATOR] if self.method.vector_mediator or self.method.learned_mediator else [])]

    def state_dict(self) -> dict:
        """The reference's layout: per learner its visited states' keys and Q-values, and its generator."""
        for rng, row in zip(self._generators(), self.generator_rows):
            numpy_random.set_state(rng, row)
        learners = {
            agent: tabular_state(self.q[i], self.visited[i], self.nvec, self.rngs[i])
            for i, agent in enumerate(self.players)
        }
        if self.mediator is not None:
            learners[MEDIATOR] = self.mediator.state_dict()
        elif self.method.learned_mediator:
            learners[MEDIATOR] = tabular_state(
                self.q_mediator[0], self.visited_mediator[0], self.mediator_nvec, self.mediator_rngs[0]
            )
        return {"episode": self.episode, "learners": learners}

    def load_state_dict(self, state: dict) -> None:
        if set(state["learners"]) != set(self._learner_names()):
            raise ValueError(
                f"checkpoint holds learners {sorted(state['learners'])}, this run needs {sorted(self._learner_names())}"
            )
        self.episode = int(state["episode"])
        for i, agent in enumerate(self.players):
            load_tabular_state(state["learners"][agent], self.q[i], self.visited[i], self.nvec, self.rngs[i])
        if self.mediator is not None:
            self.mediator.load_state_dict(state["learners"][MEDIATOR])
            self.values = self.mediator.values  # load_state_dict replaces the array
        elif self.method.learned_mediator:
            load_tabular_state(
                state["learners"][MEDIATOR],
                self.q_mediator[0],
                self.visited_mediator[0],
                self.mediator_nvec,
                self.mediator_rngs[0],
            )
        self.generator_rows[:] = [numpy_random.state_row(rng) for rng in self._generators()]
