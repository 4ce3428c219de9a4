"""The mediator's observation: the stage index plus switchable history features.

Discrete encoding (``obs_encoding="discrete"``): every feature is a small
integer, so a tabular learner can index a table of shape ``nvec`` with the
observation (``table[tuple(obs)]``):

``stage``       ``0 .. max_cycles`` (``max_cycles`` only once the game is over).
``returns``     per player, its cumulative return so far against the group mean:
                0 behind, 1 level, 2 ahead. "Level" means within
                ``RETURN_TOLERANCE * return_scale / max_cycles`` of the mean, a
                quarter of one stage's reward range, so a single stage's
                first-mover advantage registers while float noise does not.
``leaders``     per player, how many stages it has led so far, **capped**:
                0, 1, 2 (= 2 or more). The full list of every stage's leader
                is ``MediatorView.leaders`` (and ``info["leaders"]`` at the end).
``reputation``  per player: 0 never led, 1 its last leadership was fair,
                2 its last leadership was unfair (the env's fair-action rule,
                ``last_stage.leader_fair``).

The features appear in that order whatever order ``history`` names them in,
each history feature as one entry per player in index order.

Box encoding (``obs_encoding="box"``): a float32 vector, the one-hot codes of
the discrete features above (``sum(nvec)`` entries, in [0, 1]) followed by the
float features, in this order and one entry per player in index order:

``returns``     ``(G_i - mean(G)) / return_scale``, the exact cumulative return
                relative to the mean, in [-1, 1] (clipped to it: only a reward
                wrapper inside the mediator that pays beyond the game's
                ``stage_reward_range`` can reach the clip; a game whose
                ``return_scale`` is 0 divides by 1 instead).
``leaders``     the share of all stages led so far, ``count_i / max_cycles``,
                in [0, 1] (uncapped).

``reputation`` has no float feature (its one-hot code is already exact).

**The players' own history** (``agent_history``, :class:`AgentHistory`): the
mediated env can append features of a player's own past to that player's
observation, so a tabular agent can tell histories apart that the end-game
transfer or the mediator treat differently (without them the penalty for an
unfair lead at stage 2 is paid at the end, from states that look the same
whatever the agent did, and never propagates back). Discrete: one integer
each, appended in this order; box: their one-hot codes, appended.

``unfair_leads``  how many stages this player has led unfairly (the env's
                  fair-action rule) *and* come out ahead of the followers'
                  mean: the stages the action-based transfer charges,
                  capped: 0 .. ``UNFAIR_LEAD_CAP``. (An unfair move that
                  gained nothing, e.g. a step towards an unfair resource in
                  resource collection, is not counted: it changes nothing the
                  agent will be paid, and counting it would multiply the
                  states to learn.)
``leads``         how many stages it has led, capped: 0 .. ``LEADER_CAP``.
``rank``          how many players have a strictly lower cumulative return
                  (0 = last or tied last .. n - 1 = strictly ahead of all).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from gymnasium import spaces

from fairlead import rules
from fairlead.mediation.transfer import taken_advantage
from fairlead.names import unknown_name
from fairlead.rules import LEADER_CAP, NEVER_LED, UNFAIR_LEAD_CAP

HISTORY_FEATURES = ("returns", "leaders", "reputation")
AGENT_HISTORY_FEATURES = ("unfair_leads", "leads", "rank")
DEFAULT_HISTORY = ("returns", "reputation")
RETURN_TOLERANCE = 0.25
FEATURE_SIZES = {"returns": 3, "leaders": LEADER_CAP + 1, "reputation": 3}
FLOAT_FEATURES = {"returns": -1.0, "leaders": 0.0}  # box-only float features: name -> lower bound (upper 1)


def _parse_names(value, valid: tuple[str, ...], what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    names = (value,) if isinstance(value, str) else value
    try:
        names = tuple(names)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of feature names from {valid}, () or None; got {value!r}") from None
    for name in names:
        if name not in valid:
            raise unknown_name(f"{what} feature", name, valid, valid=f"valid features: {valid}")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names a feature twice: {names}")
    return tuple(f for f in valid if f in names)


def parse_history(history) -> tuple[str, ...]:
    """Validate the mediator's ``history`` (names, one name, ``()`` or None) into canonical order."""
    return _parse_names(history, HISTORY_FEATURES, "history")


def parse_agent_history(agent_history) -> tuple[str, ...]:
    """Validate the players' ``agent_history`` features into canonical order."""
    return _parse_names(agent_history, AGENT_HISTORY_FEATURES, "agent_history")


class AgentHistory:
    """The players' own history features (see the module docstring), kept up to date stage by stage.

    ``reset()`` at the start of an episode, ``record(stage)`` after each
    completed stage; ``features(player, returns)`` is then a lookup, as it is
    asked for at every observation.
    """

    def __init__(self, players: Sequence[str], names: tuple[str, ...]):
        self.players, self.names = list(players), names
        self._index = {p: i for i, p in enumerate(self.players)}  # O(1) per observation, not O(n)
        caps = {"unfair_leads": UNFAIR_LEAD_CAP + 1, "leads": LEADER_CAP + 1, "rank": len(self.players)}
        self.nvec = np.array([caps[name] for name in names], dtype=np.int64)
        self.codes = [AGENT_HISTORY_FEATURES.index(name) for name in names]  # rules.UNFAIR_LEADS, LEADS, RANK
        self.reset()

    def reset(self) -> None:
        self._unfair_leads = np.zeros(len(self.players), np.int64)  # uncapped counts, in player order
        self._leads = np.zeros(len(self.players), np.int64)

    def record(self, stage) -> None:
        """Count a completed stage (a StageRecord); without features there is nothing to count."""
        if not self.names:
            return
        leader = self._index[stage.leader]
        self._leads[leader] += 1
        if taken_advantage(stage) > 0:
            self._unfair_leads[leader] += 1

    def features(self, player: str, returns: np.ndarray) -> list[int]:
        """``player``'s features after the recorded stages (``rules.own_history_feature``); ``returns`` in player order."""
        index = self._index[player]
        return [
            int(rules.own_history_feature(code, index, self._unfair_leads, self._leads, returns)) for code in self.codes
        ]


class LeaderHistory:
    """The leaders of an episode's completed stages, kept up to date stage by stage.

    ``names``, ``indices`` and ``fair``: each stage's leader (name, index) and
    whether it led fairly, in stage order; ``leads``: how many stages each
    player has led; ``reputation``: each player's reputation feature (the
    fairness of its last lead, ``NEVER_LED`` before its first). The mediated
    env asks for these before every stage, so they are counted as the stages
    complete instead of recounted from the whole list each time.
    """

    def __init__(self, n_players: int):
        self.n_players = n_players
        self.reset()

    def reset(self) -> None:
        self.names: list[str] = []
        self.indices: list[int] = []
        self.fair: list[bool] = []
        self.leads = np.zeros(self.n_players, np.int64)
        self.reputation = np.full(self.n_players, NEVER_LED, np.int64)

    def add(self, name, index: int, fair: bool) -> None:
        """Count one more completed stage, led by player ``index`` (called ``name``)."""
        self.names.append(name)
        self.indices.append(index)
        self.fair.append(fair)
        self.leads[index] += 1
        self.reputation[index] = rules.reputation_after(fair)  # its last lead counts


def one_hot(features: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """float32 concatenation of the one-hot codes of ``features`` (sizes ``nvec``)."""
    out = np.zeros(int(nvec.sum()), np.float32)
    out[np.concatenate([[0], np.cumsum(nvec)[:-1]]) + features] = 1.0
    return out


class MediatorObservation:
    """Builds the mediator's features and encodes them like the wrapped env does."""

    def __init__(self, n_players: int, max_cycles: int, return_scale: float, history: tuple[str, ...], encoding: str):
        self.n_players = n_players
        self.max_cycles = max_cycles
        self.return_divisor = return_scale if return_scale > 0 else 1.0
        self.history = history
        self.encoding = encoding
        self.tolerance = RETURN_TOLERANCE * return_scale / max_cycles
        self.float_names = tuple(name for name in history if name in FLOAT_FEATURES)
        self.codes = np.array([HISTORY_FEATURES.index(name) for name in history], np.int64)  # rules.RETURNS, ...
        sizes = [FEATURE_SIZES[name] for name in history for _ in range(n_players)]
        self.nvec = np.array([max_cycles + 1, *sizes], dtype=np.int64)
        if encoding == "discrete":
            self.space = spaces.MultiDiscrete(self.nvec, dtype=np.int64)
        else:
            low = np.concatenate(
                [np.zeros(int(self.nvec.sum()))]
                + [np.full(n_players, FLOAT_FEATURES[name]) for name in self.float_names]
            )
            self.space = spaces.Box(low.astype(np.float32), np.float32(1.0), dtype=np.float32)

    def features(
        self, stage: int, returns: np.ndarray, leaders: Sequence[int], leader_fair: Sequence[bool]
    ) -> np.ndarray:
        """int64 discrete feature vector (``rules.mediator_features``); ``leaders``: past stages' leader indices."""
        history = LeaderHistory(self.n_players)
        for leader, fair in zip(leaders, leader_fair):
            history.add(leader, leader, fair)  # no names here: the index stands in
        return self.features_of(stage, returns, history)

    def features_of(self, stage: int, returns: np.ndarray, history: LeaderHistory) -> np.ndarray:
        """``features`` from a :class:`LeaderHistory` (what the mediated env keeps, stage by stage)."""
        out = np.zeros(len(self.nvec), np.int64)
        rules.mediator_features(
            stage, np.asarray(returns, dtype=float), history.leads, history.reputation, self.codes, self.tolerance, out
        )
        return out

    def float_features(self, returns: np.ndarray, leaders: Sequence[int]) -> np.ndarray:
        """float32 vector of the box encoding's float features (empty without returns or leaders)."""
        parts = [np.zeros(0)]
        for name in self.float_names:
            if name == "returns":
                parts.append(np.clip((returns - returns.mean()) / self.return_divisor, -1.0, 1.0))
            else:
                parts.append(self._leader_counts(leaders) / self.max_cycles)
        return np.concatenate(parts).astype(np.float32)

    def encode(
        self, stage: int, returns: np.ndarray, leaders: Sequence[int], leader_fair: Sequence[bool]
    ) -> np.ndarray:
        """The observation in the wrapped env's encoding."""
        features = self.features(stage, returns, leaders, leader_fair)
        if self.encoding == "discrete":
            return features
        return np.concatenate([one_hot(features, self.nvec), self.float_features(returns, leaders)])

    def _leader_counts(self, leaders: Sequence[int]) -> np.ndarray:
        return np.bincount(np.asarray(leaders, dtype=np.int64), minlength=self.n_players)
