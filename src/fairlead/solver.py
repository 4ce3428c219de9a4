"""Exact pure-strategy Stackelberg outcomes by backward induction.

Used by tests and reports to compare learned play with the exact answer, and
by the matrix games to decide which leader actions are fair.

Given a payoff tensor ``P`` of shape ``(k,) * n + (n,)`` (``P[a_0, ..., a_{n-1}]``
is the vector of all agents' stage rewards) and the leader's index:

1. For each leader action, the followers (simultaneous among themselves) play
   a pure Nash equilibrium of the game the leader's action leaves them.
   Among several, the tie-break picks one: ``"pessimistic"`` (the default,
   weak Stackelberg: the one worst for the leader) or ``"optimistic"``
   (strong Stackelberg: the one best for the leader); remaining ties go to
   the lexicographically smallest follower profile.
2. The leader picks the action whose response pays it most; ties go to the
   lowest action index. Leader actions that leave the followers no pure
   equilibrium are skipped.

Which tie-break does learned play match? That is a property of the game and
of the learners, not something the solver can decide, so every comparison
with training states its tie-break (``tests/test_learnability.py``):

* Games without follower ties (2-player Chicken, Prisoner's Dilemma, Stag
  Hunt, Battle of the Sexes): both tie-breaks give the same outcome.
* Chicken with 3 players: once the leader dares, a follower that swerves
  while the other swerves earns 2 either way ((1 + 3) / 2 = (0 + 4) / 2), so
  (Dare, Chicken), (Chicken, Dare) and (Chicken, Chicken) are all follower
  equilibria. The pessimistic tie-break picks (Dare, Chicken) (leader 2), the
  optimistic one (Chicken, Chicken) (leader 4). Swerving *weakly dominates*
  daring there (against a daring co-follower it earns 1, daring 0), so as
  soon as the other follower dares with any probability, e.g. while
  exploring, swerving is strictly better: independent Q-learners with a
  fixed leader reach (Chicken, Chicken), the **optimistic** outcome. The
  pessimistic one rests on weakly dominated replies that learners avoid.
* Cournot with integer quantities and integer ``(a - c) / b``: a follower's
  best reply ties at every other leader quantity (a=12: against 7 both 2 and
  3 earn 6), and neither reply dominates, so which one a learner settles on
  is an accident of its training; the leader's best quantity (6 pessimistic,
  7 optimistic) then varies by seed. A non-integer ``(a - c) / b`` (the
  shipped ``cournot-2p`` uses ``a = 12.5``) has no follower ties at all, and
  both tie-breaks give the textbook leader 6, follower 3.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

TIE_BREAKS = ("pessimistic", "optimistic")
_TOL = 1e-9


@dataclass(frozen=True)
class StackelbergOutcome:
    leader: int
    actions: tuple[int, ...]  # every agent's action, indexed by agent
    rewards: tuple[float, ...]


def payoff_tensor(stage_payoff, n_agents: int, num_actions: int) -> np.ndarray:
    """Tabulate ``stage_payoff(actions) -> rewards`` over every action profile."""
    tensor = np.empty((num_actions,) * n_agents + (n_agents,))
    for profile in itertools.product(range(num_actions), repeat=n_agents):
        tensor[profile] = stage_payoff(np.array(profile))
    return tensor


def _check(payoffs: np.ndarray, leader: int, tie_break: str) -> int:
    n = payoffs.ndim - 1
    if n < 2 or payoffs.shape[-1] != n or len(set(payoffs.shape[:-1])) != 1:
        raise ValueError(
            f"payoffs must have shape (k,)*n + (n,) with n >= 2, got {payoffs.shape}"
        )
    if not np.all(np.isfinite(payoffs)):
        raise ValueError("payoffs must be finite numbers (found NaN or inf)")
    if not 0 <= leader < n:
        raise ValueError(f"leader must be an agent index in 0..{n - 1}, got {leader}")
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"unknown tie_break {tie_break!r}; choose one of {TIE_BREAKS}")
    return n


def follower_response(
    payoffs: np.ndarray, leader: int, leader_action: int, tie_break: str = "pessimistic"
) -> tuple[int, ...] | None:
    """Every agent's action after the followers' equilibrium reply, or None if none exists."""
    payoffs = np.asarray(payoffs, dtype=float)
    n = _check(payoffs, leader, tie_break)
    if not 0 <= leader_action < payoffs.shape[0]:
        raise ValueError(f"leader_action must be in 0..{payoffs.shape[0] - 1}, got {leader_action}")
    induced = np.take(payoffs, leader_action, axis=leader)  # axes: followers in index order
    followers = [i for i in range(n) if i != leader]
    stable = np.ones(induced.shape[:-1], dtype=bool)
    for axis, agent in enumerate(followers):
        own = induced[..., agent]
        stable &= own >= own.max(axis=axis, keepdims=True) - _TOL
    candidates = np.argwhere(stable)  # rows in lexicographic order
    if len(candidates) == 0:
        return None
    leader_value = induced[tuple(candidates.T)][:, leader]
    target = leader_value.min() if tie_break == "pessimistic" else leader_value.max()
    chosen = candidates[np.flatnonzero(np.abs(leader_value - target) <= _TOL)[0]]
    actions = list(chosen)
    actions.insert(leader, leader_action)
    return tuple(int(a) for a in actions)


def stackelberg_outcome(
    payoffs: np.ndarray, leader: int, tie_break: str = "pessimistic"
) -> StackelbergOutcome:
    """The subgame-perfect pure-strategy outcome with ``leader`` moving first."""
    payoffs = np.asarray(payoffs, dtype=float)
    _check(payoffs, leader, tie_break)
    best = None
    for action in range(payoffs.shape[0]):
        profile = follower_response(payoffs, leader, action, tie_break)
        if profile is None:
            continue
        value = payoffs[profile][leader]
        if best is None or value > best[0] + _TOL:
            best = (value, profile)
    if best is None:
        raise ValueError("no leader action leaves the followers a pure-strategy equilibrium")
    profile = best[1]
    return StackelbergOutcome(leader, profile, tuple(float(r) for r in payoffs[profile]))
