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

The trainer needs only the :class:`Learner` protocol of a player's learner, so
a method file may name a learner of its own (``learner = "module:factory"``,
docs/jamql.md#your-own-learner); :class:`TabularQLearner` is the built-in
factory.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from fairlead.registry import catalogue_dir
from fairlead.rules import linear_epsilon

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
        return linear_epsilon(episode, self.epsilon_start, self.epsilon_end, self.epsilon_decay_episodes)

    def schedule(self) -> np.ndarray:
        """``[alpha, gamma, epsilon_start, epsilon_end, epsilon_decay_episodes]``, as the compiled engine takes them."""
        return np.array(
            [self.alpha, self.gamma, self.epsilon_start, self.epsilon_end, self.epsilon_decay_episodes], dtype=float
        )


class Learner(Protocol):
    """What the trainer asks of a player's learner; a factory ``(num_actions, config, rng) -> Learner`` builds one.

    ``state`` is the player's discrete observation, ``mask`` its legal actions
    (1 = legal). ``state_dict()`` returns everything a resumed run needs, as
    numpy arrays and JSON values a checkpoint holds (:func:`state_problem`);
    ``load_state_dict`` restores it. Every random draw must come from the
    factory's ``rng`` (its state belongs in the state dict), so runs are
    bit-for-bit reproducible and resumable.
    """

    def begin_episode(self, episode: int) -> None: ...

    def act(self, state: tuple[int, ...], mask: np.ndarray, explore: bool) -> int: ...

    def update(
        self,
        state: tuple[int, ...],
        action: int,
        reward: float,
        next_state: tuple[int, ...],
        next_mask: np.ndarray,
        done: bool,
    ) -> None: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


LearnerFactory = Callable[[int, QConfig, np.random.Generator], Learner]
LEARNER_METHODS = ("begin_episode", "act", "update", "state_dict", "load_state_dict")
RESERVED_STATE_KEY = "index"  # the checkpoint's own entry beside a learner's JSON values


def _json_problem(value, where: str) -> str | None:
    if value is None or isinstance(value, (bool, int, float, str)):
        return None
    if isinstance(value, list):
        return next(filter(None, (_json_problem(v, f"{where}[{i}]") for i, v in enumerate(value))), None)
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            return f"{where} has a key {bad[0]!r} that is not a string"
        return next(filter(None, (_json_problem(v, f"{where}[{k!r}]") for k, v in value.items())), None)
    hint = " (use a list)" if isinstance(value, tuple) else " (use .item())" if isinstance(value, np.generic) else ""
    return f"{where} is of type {type(value).__name__}{hint}"


def state_problem(state) -> str | None:
    """Why a learner's state dict cannot be checkpointed and restored as it is, or None.

    It must be a dict with string keys (not ``"index"``) whose values are numpy
    arrays (not of dtype object) or JSON values (None, bool, int, float, str,
    lists and string-keyed dicts of them), which a checkpoint gives back equal.
    """
    if not isinstance(state, dict):
        return f"state_dict() returned a {type(state).__name__}, not a dict"
    for key, value in state.items():
        if not isinstance(key, str) or key == RESERVED_STATE_KEY:
            return f"state_dict() has the key {key!r}; keys must be strings other than {RESERVED_STATE_KEY!r}"
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                return f"state_dict()[{key!r}] is a numpy array of dtype object (it would need pickle)"
        elif problem := _json_problem(value, f"state_dict()[{key!r}]"):
            return f"{problem}: a value must be a numpy array or JSON (None, bool, int, float, str, list, dict)"
    return None


class TabularQLearner:
    """One self-interested tabular Q-learner (see the module docstring): the built-in :class:`Learner` factory."""

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
