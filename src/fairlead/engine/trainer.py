"""The compiled engine's trainer: the reference ``Trainer``'s interface over ``kernels.play_episodes``.

It builds what the kernel needs from the very env the reference trainer plays
(its payoffs, its fair-action table, its stage feature), the same seeded
generators (``derived_seed(seed, 2, i)``) and the same ``VectorMediator``
object, and writes checkpoints in the reference's layout (the dense Q-table's
visited states are the reference's dictionary keys, in the same order).
"""

from __future__ import annotations

import numpy as np

from fairlead.engine import kernels
from fairlead.envs.matrix import MatrixGameEnv
from fairlead.envs.stackelberg import StageRecord
from fairlead.mediation.leader_phase import MEDIATOR
from fairlead.mediation.mediator import _mediator_rng
from fairlead.mediation.observation import AgentHistory
from fairlead.registry import make
from fairlead.trainers.config import HyperParams, Method
from fairlead.trainers.jamql import EVAL, TRAIN, EpisodeResult, derived_seed
from fairlead.trainers.vector_mediator import VectorMediator

SELECTOR_CODES = {"fixed": kernels.FIXED, "round_robin": kernels.ROUND_ROBIN, "random": kernels.RANDOM,
                  "catch_up": kernels.CATCH_UP, "vector_mediator": kernels.VECTOR_MEDIATOR}
STAGE_CODES = {"index": kernels.STAGE_INDEX, "last": kernels.STAGE_LAST, "none": kernels.STAGE_NONE}
TRANSFER_CODES = {"mean_deviation": kernels.MEAN_DEVIATION, "unfair_advantage": kernels.UNFAIR_ADVANTAGE}


class CompiledTrainer:
    """Same constructor, methods and results as ``fairlead.trainers.jamql.Trainer``, for what the engine plays."""

    plays_in_chunks = True  # train(n) plays n episodes in one compiled call

    def __init__(self, env_name: str, env_kwargs: dict, method: Method, hp: HyperParams, seed: int):
        self.method, self.hp, self.seed = method, hp, seed
        game = make(env_name, **{**env_kwargs, "obs_encoding": "discrete"}).unwrapped
        self.players = list(game.possible_agents)
        self.return_scale = game.return_scale
        n, k, cycles = len(self.players), game.num_actions, game.max_cycles
        self.max_cycles = cycles
        if isinstance(game, MatrixGameEnv):
            self.game = kernels.BIMATRIX if game.bimatrix else kernels.SYMMETRIC
            self.payoff = np.ascontiguousarray(game.payoff if game.bimatrix else game.payoff[None], dtype=float)
            self.cournot = np.zeros(3)
            self.fair = game.fair_actions()
        else:
            self.game, self.payoff = kernels.COURNOT, np.zeros((1, k, k))
            self.cournot = np.array([game.a, game.b, game.c])
            self.fair = np.broadcast_to(np.arange(k) <= game.fair_quantity, (n, k)).copy()
        self.stage_feature = STAGE_CODES[game.stage_feature]
        self.selector = SELECTOR_CODES[method.selector]
        self.fixed_leader = self.players.index(method.selector_kwargs.get("leader", "player_0")) \
            if method.selector == "fixed" else 0
        rule, strength = (method.transfer if isinstance(method.transfer, list) else ["mean_deviation", method.transfer])
        self.transfer, self.strength = TRANSFER_CODES[rule], float(strength)
        history = AgentHistory(self.players, method.agent_history)  # the mediated env's: its codes and sizes
        self.history_codes = np.array(history.codes, np.int64)
        self.nvec = (*game.obs_nvec.tolist(), *history.nvec.tolist())
        self.strides = np.array([int(np.prod(self.nvec[i + 1:])) for i in range(len(self.nvec))], np.int64)
        states = int(np.prod(self.nvec))
        self.q, self.visited = np.zeros((n, states, k)), np.zeros((n, states), dtype=bool)
        self.rngs = tuple(np.random.default_rng(derived_seed(seed, 2, i)) for i in range(n))
        self.mediator = VectorMediator(
            n, cycles, hp.mediator, np.random.default_rng(derived_seed(seed, 2, n)),
            use_returns="returns" in method.history, use_reputation="reputation" in method.history,
        ) if method.vector_mediator else None
        self.agent_hp, self.mediator_hp = hp.agent.schedule(), hp.mediator.schedule()
        self._idle = (np.zeros((cycles, n, 1, n)), np.random.default_rng(0))  # what the kernel gets without one
        self.episode = 0  # training episodes done

    # ------------------------------------------------------------------ play
    def train(self, episodes: int) -> None:
        """Train ``episodes`` more episodes (what the reference's ``train_episode`` does, that many times)."""
        indices = range(self.episode, self.episode + episodes)
        self._play([derived_seed(self.seed, TRAIN, e) for e in indices] if self.selector == kernels.RANDOM
                   else [None] * episodes, explore=True, learn=True, record=False)
        self.episode += episodes

    def evaluate(self, episodes: int, offset: int = 0) -> list[EpisodeResult]:
        """Greedy play (no exploration, no learning) on the reference's evaluation seeds."""
        seeds = [derived_seed(self.seed, EVAL, offset + j) for j in range(episodes)]
        return self._play(seeds, explore=False, learn=False, record=True)

    def _play(self, env_seeds, explore, learn, record):
        n, cycles, episodes = len(self.players), self.max_cycles, len(env_seeds)
        if self.selector == kernels.RANDOM:  # the random selector's draws: the mediated env's generator per episode
            random_leaders = np.zeros((episodes, cycles), np.int64)
            for e, env_seed in enumerate(env_seeds):
                rng = _mediator_rng(env_seed)
                random_leaders[e] = [rng.integers(n) for _ in range(cycles)]
        else:
            random_leaders = np.zeros((episodes, 0), np.int64)
        kept = episodes if record else 0
        returns, after = np.zeros((episodes, n)), np.zeros((episodes, n))
        leaders, fair = np.zeros((kept, cycles), np.int64), np.zeros((kept, cycles), dtype=bool)
        actions, rewards = np.zeros((kept, cycles, n), np.int64), np.zeros((kept, cycles, n))
        values, mediator_rng = ((self.mediator.values, self.mediator.rng) if self.mediator is not None
                                else self._idle)
        use_returns = self.mediator is not None and self.mediator.use_returns
        use_reputation = self.mediator is not None and self.mediator.use_reputation
        kernels.play_episodes(
            self.game, self.payoff, self.cournot, self.fair, cycles, self.stage_feature,
            self.selector, self.fixed_leader, random_leaders, use_returns, use_reputation,
            self.transfer, self.strength, self.history_codes,
            self.q, self.visited, self.strides, self.agent_hp, self.rngs, values, self.mediator_hp, mediator_rng,
            explore, learn, self.episode, returns, after, leaders, fair, actions, rewards,
        )
        if not record:
            return None
        return [self._episode_result(returns[e], after[e], leaders[e], fair[e], actions[e], rewards[e])
                for e in range(episodes)]

    def _episode_result(self, returns, after, leaders, fair, actions, rewards) -> EpisodeResult:
        players = self.players
        stages = tuple(
            StageRecord(t, players[leaders[t]], dict(zip(players, actions[t].tolist())),
                        dict(zip(players, rewards[t].tolist())), bool(fair[t]))
            for t in range(len(leaders)))
        return EpisodeResult(returns=returns, returns_after_transfer=after, leaders=tuple(leaders.tolist()),
                             leader_fair=tuple(fair.tolist()), stages=stages)

    # ----------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """The reference's layout: per player its visited states' keys and Q-values, and its generator."""
        learners = {}
        for i, agent in enumerate(self.players):
            visited = np.flatnonzero(self.visited[i])
            keys = np.stack(np.unravel_index(visited, self.nvec), axis=1).astype(np.int64)
            learners[agent] = {"keys": keys.reshape(len(visited), len(self.nvec) if len(visited) else 0),
                               "values": self.q[i, visited].copy(), "rng": self.rngs[i].bit_generator.state}
        if self.mediator is not None:
            learners[MEDIATOR] = self.mediator.state_dict()
        return {"episode": self.episode, "learners": learners}

    def load_state_dict(self, state: dict) -> None:
        expected = [*self.players, *([MEDIATOR] if self.mediator is not None else [])]
        if set(state["learners"]) != set(expected):
            raise ValueError(f"checkpoint holds learners {sorted(state['learners'])}, this run needs {sorted(expected)}")
        self.episode = int(state["episode"])
        self.q[:], self.visited[:] = 0.0, False
        for i, agent in enumerate(self.players):
            learner = state["learners"][agent]
            keys = np.asarray(learner["keys"], dtype=np.int64)
            if len(keys):
                flat = np.ravel_multi_index(tuple(keys.T), self.nvec)
                self.q[i, flat], self.visited[i, flat] = learner["values"], True
            self.rngs[i].bit_generator.state = learner["rng"]
        if self.mediator is not None:
            self.mediator.load_state_dict(state["learners"][MEDIATOR])
