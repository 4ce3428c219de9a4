"""JAM-QL (Joint Agents-Mediator Q-learning) and the baselines, in one readable loop.

Dodwadmath & Maghsudi, *Emergence of Fair Leaders via Mediators in
Multi-Agent Reinforcement Learning*, ECAI 2025 (arXiv 2508.02421). The
paper's full text is not available to us: the state features, mediator reward
and transfer rule below are **our formalisation** (docs/jamql.md).

One loop drives the PettingZoo AEC API of a mediated environment:

* every player is a self-interested tabular Q-learner over its own discrete
  observation (``fairlead.trainers.qlearning``): role, leader action, the
  scenario's stage feature, game features and, as a method option, its own
  history (``agent_history``: e.g. its count of unfair leaderships); it is
  paid the env's rewards plus, at the end, the mediator's zero-sum transfer.
  A method may name a learner of its own instead (``learner``: any factory of
  the ``Learner`` protocol; the scalar mediator agent keeps the tabular one);
* for JAM-QL the mediator is a :class:`VectorMediator` selector
  (``fairlead.trainers.vector_mediator``): per stage and candidate leader it
  learns the vector of every agent's reward to come and picks
  ``argmax_l F(G_t + V[t, l])``; it learns from each training episode's
  stage records. The first formalisation (method ``jamql-scalar``) is one
  more AEC agent (``mediator_as_agent``): a tabular Q-learner over
  ``[stage, history]`` rewarded by ``F(G_t) - F(G_{t-1})``;
* the end-game transfer is return-based, ``t_i = -beta (G_i - mean G)``, or
  action-based, ``t_i = -kappa n/(n-1) (u_i - mean u)`` with ``u_i`` the
  advantage agent ``i`` took while leading unfairly;
* a baseline replaces the learned mediator by a fixed selector (fixed,
  round robin, random, vote, catch-up), with the same agent learners,
  observations and hyper-parameters, so only leader selection differs.

The three mechanisms are switches of a method (``trainers/methods/*.toml``):
fair selection (``selector``), history incentive (``history``: what the
mediator tracks; ``agent_history``: what the agents see of their own past),
and the end-game transfer (``transfer``).

Seeds: episode ``e`` of run seed ``s`` resets the env with a seed derived
from ``(s, e)``, and every learner draws from its own generator derived from
``(s, agent)``, so a run is bit-for-bit reproducible and resumable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fairlead.envs.stackelberg import StageRecord
from fairlead.mediation import MEDIATOR, mediate
from fairlead.registry import make
from fairlead.trainers.config import HyperParams, Method
from fairlead.trainers.evaluation import summarise
from fairlead.trainers.qlearning import TabularQLearner
from fairlead.trainers.vector_mediator import VectorMediator

TRAIN, EVAL = 0, 1  # seed streams


def derived_seed(*entropy: int) -> int:
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


@dataclass(frozen=True)
class EpisodeResult:
    """One episode, measured on the environment's own returns (before transfer)."""

    returns: np.ndarray  # per player, before transfer
    returns_after_transfer: np.ndarray
    leaders: tuple[int, ...]  # leader index of each stage
    leader_fair: tuple[bool, ...]
    stages: tuple[StageRecord, ...]  # the env's record of each stage: leader, actions, rewards, leader_fair

    @classmethod
    def from_play(cls, env, final_info: dict, players: list[str]) -> EpisodeResult:
        """The episode just played on the mediated ``env``, from its stage records and a terminal info."""
        stages = tuple(env.unwrapped.stage_records)
        return cls(
            returns=np.array([final_info["returns_before_transfer"][a] for a in players]),
            returns_after_transfer=np.array([final_info["returns_after_transfer"][a] for a in players]),
            leaders=tuple(players.index(s.leader) for s in stages),
            leader_fair=tuple(s.leader_fair for s in stages),
            stages=stages,
        )


def mediated(base, method: Method, seed: int, selector=None):
    """``base`` mediated as ``method`` says: its transfer, history features, and its selector unless one is given.

    Only a method whose leader is not learned has a selector of its own.
    """
    kwargs = {}
    if selector is None:
        selector, kwargs = (
            (method.new_selector(), {})
            if method.user_selector  # a fresh instance per env
            else (method.selector, method.selector_kwargs)
        )
    return mediate(
        base,
        selector=selector,
        transfer=method.transfer,
        history=method.history,
        agent_history=method.agent_history,
        seed=seed,
        settle=method.settle,
        **kwargs,
    )


class Trainer:
    """Players' (and, for JAM-QL, the mediator's) learners on one mediated env."""

    plays_in_chunks = False  # train(n) takes about n times one episode's time (runs.train_seed asks for 1)

    def __init__(self, env_name: str, env_kwargs: dict, method: Method, hp: HyperParams, seed: int):
        self.method, self.hp, self.seed = method, hp, seed
        base = make(env_name, **{**env_kwargs, "obs_encoding": "discrete"})
        self.players = list(base.possible_agents)
        self.return_scale = base.unwrapped.return_scale
        self.mediator: VectorMediator | None = None
        if method.learned_mediator:
            self.env = mediate(
                base,
                mediator_as_agent=True,
                transfer=method.transfer,
                history=method.history,
                agent_history=method.agent_history,
                seed=seed,
                settle=method.settle,
            )
        elif method.vector_mediator:
            self.mediator = VectorMediator(
                len(self.players),
                base.unwrapped.max_cycles,
                hp.mediator,
                np.random.default_rng(derived_seed(seed, 2, len(self.players))),  # the mediator's stream
                use_returns="returns" in method.history,
                use_reputation="reputation" in method.history,
            )
            self.env = mediated(base, method, seed, selector=self.mediator)
        else:
            self.env = mediated(base, method, seed)
        player_learner = method.learner_factory()  # a user's (method file's ``learner``) or TabularQLearner
        # the players' learners (the Learner protocol), and the vector mediator's for its checkpoint
        self.learners: dict[str, Any] = {
            agent: (TabularQLearner if agent == MEDIATOR else player_learner)(
                self.env.action_space(agent).n,
                hp.mediator if agent == MEDIATOR else hp.agent,
                np.random.default_rng(derived_seed(seed, 2, i)),
            )
            for i, agent in enumerate(self.env.possible_agents)
        }
        if self.mediator is not None:
            self.learners[MEDIATOR] = self.mediator  # same schedule and checkpoint as the agents' learners
        self.episode = 0  # training episodes done

    def train_episode(self) -> EpisodeResult:
        for learner in self.learners.values():
            learner.begin_episode(self.episode)
        result = self.play(derived_seed(self.seed, TRAIN, self.episode), explore=True, learn=True)
        self.episode += 1
        return result

    def train(self, episodes: int) -> None:
        """Train ``episodes`` more episodes (the compiled engine's trainer has the same method)."""
        for _ in range(episodes):
            self.train_episode()

    def evaluate(self, episodes: int, offset: int = 0) -> list[EpisodeResult]:
        """Greedy play (no exploration, no learning) on evaluation seeds."""
        return [
            self.play(derived_seed(self.seed, EVAL, offset + j), explore=False, learn=False) for j in range(episodes)
        ]

    def evaluate_summary(self, episodes: int, offset: int = 0) -> dict[str, float]:
        """``summarise`` of ``evaluate(episodes, offset)``: a run's curve point or final row."""
        return summarise(self.evaluate(episodes, offset), self.players, self.return_scale)

    def play(self, env_seed: int, explore: bool, learn: bool) -> EpisodeResult:
        env = self.env
        if self.mediator is not None:
            self.mediator.explore = explore
        env.reset(seed=env_seed)
        pending: dict[str, tuple[tuple[int, ...], int]] = {}  # agent -> (state, action) awaiting its update
        final_info = None
        for agent in env.agent_iter():
            obs, reward, terminated, truncated, info = env.last()
            learner = self.learners[agent]
            state, mask = tuple(obs["observation"].tolist()), obs["action_mask"]
            done = terminated or truncated
            if learn and agent in pending:
                learner.update(*pending.pop(agent), reward, state, mask, done)
            if done:
                final_info = final_info or info  # every agent's terminal info carries the episode's bookkeeping
                env.step(None)
                continue
            action = learner.act(state, mask, explore)
            pending[agent] = (state, action)
            env.step(action)
        assert final_info is not None, "an episode ends with every agent's terminal info"
        result = EpisodeResult.from_play(env, final_info, self.players)
        if learn and self.mediator is not None:
            self.mediator.learn(result.stages, self.players)
        return result

    # ---------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        return {"episode": self.episode, "learners": {a: learner.state_dict() for a, learner in self.learners.items()}}

    def load_state_dict(self, state: dict) -> None:
        if set(state["learners"]) != set(self.learners):
            raise ValueError(
                f"checkpoint holds learners {sorted(state['learners'])}, this run needs {sorted(self.learners)}"
            )
        self.episode = int(state["episode"])
        for agent, learner_state in state["learners"].items():
            self.learners[agent].load_state_dict(learner_state)
