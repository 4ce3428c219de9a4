"""How a mediated env chooses each stage's leader: one class per mode.

``SelectorPhase``       a selector decides at once; no phase, agent or action of its own.
``VotePhase``           phase ``"vote"``: every player, in index order, votes for a
                        leader; the selector then decides from ``view.votes``.
``MediatorAgentPhase``  phase ``"mediate"``: the ``mediator`` agent's action is the
                        leader; its reward is the change in fairness after every stage.

Each brings what it adds to the mediated env: agents, their spaces and
observations, the players' extra action range and observation flag, masks and
rewards. The mediated env calls ``begin`` before every stage (a leader now, or
None once it has selected the phase's first agent), ``step`` for every action
of the phase (the leader once decided) and ``stage_rewards`` after every stage.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from fairlead.fairness import METRICS

MEDIATOR = "mediator"


class LeaderPhase:
    name: str | None = None  # the mediated env's ``phase`` while this one runs
    agents: tuple[str, ...] = ()  # agents it adds to the players
    player_flag = False  # players' observations end with 1 while the phase runs, else 0

    def player_actions(self, inner: int, n: int) -> int:
        """Size of the players' action space, given the wrapped env's and the number of players."""
        return inner

    def reset(self, players: list[str], rng: np.random.Generator) -> None:
        """Start an episode (and, at construction, check the configuration)."""

    def begin(self, env) -> str | None:
        raise NotImplementedError

    def step(self, env, agent: str, action) -> str | None:
        raise NotImplementedError

    def player_mask(self, mask: np.ndarray, n: int) -> None:
        """Mark a player's legal actions while the phase runs (default: it waits, action 0)."""
        mask[0] = 1

    def stage_rewards(self, env) -> dict[str, float]:
        return {}

    def info(self, running: bool) -> dict:
        """Entries this phase adds to every agent's info."""
        return {}


class SelectorPhase(LeaderPhase):
    def __init__(self, selector):
        self.selector = selector

    def reset(self, players, rng):
        self.selector.reset(players, rng)

    def begin(self, env):
        return env.ask(self.selector)

    def __repr__(self):
        return repr(self.selector)


class VotePhase(SelectorPhase):
    name, player_flag = "vote", True

    def __init__(self, selector):
        super().__init__(selector)
        self.votes: dict[str, str] = {}

    def player_actions(self, inner, n):
        return max(inner, n)  # players vote among n agents and play among inner actions, with one space

    def begin(self, env):
        self.votes = {}
        env.agent_selection = env.players[0]
        return None

    def step(self, env, agent, action):
        self.votes[agent] = env.players[env.agent_index(agent, action, "vote")]
        i = env.player_index[agent]
        if i + 1 < len(env.players):
            env.agent_selection = env.players[i + 1]
            return None
        return env.ask(self.selector, votes=dict(self.votes))

    def player_mask(self, mask, n):
        mask[:n] = 1

    def info(self, running):
        return {"votes": {} if running else dict(self.votes)}


class MediatorAgentPhase(LeaderPhase):
    """The ``mediator`` agent picks the leader and is rewarded ``F(G_t) - F(G_{t-1})``."""

    name, agents = "mediate", (MEDIATOR,)

    def __init__(self, metric: str, observation, n: int, return_scale: float):
        self.metric, self.observation, self.n = METRICS[metric], observation, n
        self.kwargs = {"scale": return_scale} if self.metric.needs_scale else {}
        self.observation_space = spaces.Dict(
            {"observation": observation.space, "action_mask": spaces.Box(0, 1, (n,), np.int8)}
        )
        self.action_space = spaces.Discrete(n)
        self._fairness = 0.0

    def reset(self, players, rng):
        self._fairness = 0.0  # F(G_t) of the last completed stage, F(G_0) = 0

    def begin(self, env):
        env.agent_selection = MEDIATOR
        return None

    def step(self, env, agent, action):
        return env.players[env.agent_index(agent, action, "leader choice")]

    def observe(self, env) -> dict:
        mask = np.zeros(self.n, np.int8)
        mask[: self.n if env.phase == self.name else 1] = 1  # all choices, or waiting
        return {"observation": self.observation.encode(*env.observation_inputs()), "action_mask": mask}

    def stage_rewards(self, env):
        # metric.fn is what fairness() calls, minus its per-call argument checks (hot path)
        value = self.metric.fn(env.returns, **self.kwargs)
        value = value if self.metric.higher_is_fairer else -value
        gain, self._fairness = value - self._fairness, value
        return {MEDIATOR: gain}

    def __repr__(self):
        return "mediator agent"
