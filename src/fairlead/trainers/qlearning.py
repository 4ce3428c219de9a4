"""Tabular Q-learning for turn-based (AEC) play, as JAM-QL's agents and mediator use it.

Every learner owns a table ``Q[s][a]`` keyed by its discrete observation ``s``
(a tuple of the env's ``MultiDiscrete`` features). Because the observation
holds the role and, for a follower, the leader's action, one table is
role-aware: leader values live at ``role = 0`` states and follower values at
``role = 1`` states conditioned on what the leader did.

In an AEC game an agent's *next state* is its next decision point (or the
end), and its reward is everything it was paid in between (``env.last()``).
After acting ``a`` in ``s`` and next deciding in ``s'`` with reward ``r``::

    Q[s][a] <- Q[s][a] + alpha * (r + gamma * max_{a' legal in s'} Q[s'][a'] - Q[s][a])

with the bootstrap term dropped when the game has ended (the horizon is a
termination). Exploration is epsilon-greedy with a linear schedule; greedy
ties go to the lowest action index so evaluation is deterministic.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass

import numpy as np

from fairlead.registry import catalogue_dir

# trainers/defaults.toml: the only source of default hyper-parameter values (here and in trainers/config.py).
DEFAULTS = tomllib.loads((catalogue_dir("trainers") / "defaults.toml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class QConfig:
    """Hyper-parameters of one tabular learner; defaults: the players' ``[agent]`` table of defaults.toml."""

    alpha: float = DEFAULTS["agent"]["alpha"]  # learning rate
    gamma: float = DEFAULTS["agent"]["gamma"]  # discount per decision
    epsilon_start: float = DEFAULTS["agent"]["epsilon_start"]
    epsilon_end: float = DEFAULTS["agent"]["epsilon_end"]
    epsilon_decay_episodes: int = DEFAULTS["agent"]["epsilon_decay_episodes"]  # linear decay length

    def __post_init__(self):
        checks = {
            "alpha": 0 < self.alpha <= 1,
            "gamma": 0 <= self.gamma <= 1,
            "epsilon_start": 0 <= self.epsilon_start <= 1,
            "epsilon_end": 0 <= self.epsilon_end <= 1,
            "epsilon_decay_episodes": self.epsilon_decay_episodes >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(
                f"invalid Q-learning hyper-parameters {bad}: need 0 < alpha <= 1, "
                "0 <= gamma <= 1, epsilons in [0, 1], epsilon_decay_episodes >= 1; "
                f"got {asdict(self)}"
            )

    def epsilon(self, episode: int) -> float:
        frac = min(1.0, episode / self.epsilon_decay_episodes)
        return self.epsilon_start + frac * (self.epsilon_end - self.epsilon_start)


class TabularQLearner:
    """One self-interested tabular Q-learner (see the module docstring)."""

    def __init__(self, num_actions: int, config: QConfig, rng: np.random.Generator):
        self.num_actions = num_actions
        self.config = config
        self.rng = rng
        self.q: dict[tuple[int, ...], np.ndarray] = {}
        self.epsilon = config.epsilon_start
        self._unseen = np.zeros(num_actions)
        self._unseen.flags.writeable = False

    def begin_episode(self, episode: int) -> None:
        self.epsilon = self.config.epsilon(episode)

    def values(self, state: tuple[int, ...]) -> np.ndarray:
        """Q[state] (read-only view; unseen states are all zero and not stored)."""
        return self.q.get(state, self._unseen)

    def act(self, state: tuple[int, ...], mask: np.ndarray, explore: bool) -> int:
        legal = np.flatnonzero(mask)
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.choice(legal))
        values = self.values(state)[legal]
        return int(legal[np.argmax(values)])  # argmax takes the first of ties

    def update(self, state, action: int, reward: float, next_state, next_mask, done: bool) -> None:
        target = reward
        if not done:
            target += self.config.gamma * self.values(next_state)[np.flatnonzero(next_mask)].max()
        row = self.q.setdefault(state, np.zeros(self.num_actions))
        row[action] += self.config.alpha * (target - row[action])

    # ---------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        keys = sorted(self.q)
        width = len(keys[0]) if keys else 0
        return {
            "keys": np.array(keys, dtype=np.int64).reshape(len(keys), width),
            "values": np.array([self.q[k] for k in keys]).reshape(len(keys), self.num_actions),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        self.q = {tuple(int(x) for x in k): np.array(v) for k, v in zip(state["keys"], state["values"])}
        self.rng.bit_generator.state = state["rng"]
