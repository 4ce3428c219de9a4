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
import math
from dataclasses import dataclass

import numpy as np

TIE_BREAKS = ("pessimistic", "optimistic")
_TOL = 1e-9


@dataclass(frozen=True)
class StackelbergOutcome:
    leader: int
    actions: tuple[int, ...]  # every agent's action, indexed by agent
    rewards: tuple[float, ...]


MAX_TENSOR_ENTRIES = 10**8  # 800 MB of float64: past this a payoff tensor is refused, not allocated


def payoff_tensor(stage_payoff, n_agents: int, num_actions: int) -> np.ndarray:
    """Tabulate ``stage_payoff(actions) -> rewards`` over every action profile (``k**n * n`` entries)."""
    if num_actions**n_agents * n_agents > MAX_TENSOR_ENTRIES:
        raise ValueError(
            f"a payoff tensor of {n_agents} players with {num_actions} actions has {num_actions}**{n_agents} * "
            f"{n_agents} entries (more than {MAX_TENSOR_ENTRIES:.0e}); a symmetric matrix game needs none "
            "(symmetric_follower_response counts actions instead)"
        )
    tensor = np.empty((num_actions,) * n_agents + (n_agents,))
    for profile in itertools.product(range(num_actions), repeat=n_agents):
        tensor[profile] = stage_payoff(np.array(profile))
    return tensor


def _check(payoffs: np.ndarray, leader: int, tie_break: str) -> int:
    n = payoffs.ndim - 1
    if n < 2 or payoffs.shape[-1] != n or len(set(payoffs.shape[:-1])) != 1:
        raise ValueError(f"payoffs must have shape (k,)*n + (n,) with n >= 2, got {payoffs.shape}")
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


MAX_COMPOSITIONS = 200_000  # follower action counts symmetric_follower_response may enumerate


def check_compositions(num_actions: int, n_agents: int) -> None:
    """Refuse a symmetric game whose followers have more than ``MAX_COMPOSITIONS`` action-count vectors."""
    count = math.comb(n_agents - 1 + num_actions - 1, num_actions - 1)
    if count > MAX_COMPOSITIONS:
        raise ValueError(
            f"{n_agents} players with {num_actions} actions are too many for the fair-action rule: "
            f"it checks {count} follower action counts (at most {MAX_COMPOSITIONS}); use fewer players "
            "or actions"
        )


def symmetric_follower_response(
    payoff: np.ndarray, n_agents: int, leader_action: int, tie_break: str = "pessimistic"
) -> tuple[int, ...] | None:
    """:func:`follower_response` for a symmetric matrix game with mean pairwise payoffs, without a tensor.

    ``payoff[i, j]`` is the reward for playing ``i`` against ``j``; a player's
    stage reward is the mean over the others. Every follower's reward depends
    only on its own action and how many others play each action, so the
    followers' pure equilibria are enumerated as action counts
    (``C(n - 2 + k, k - 1)`` of them, not ``k**(n-1)`` profiles). The tie-breaks are
    those of :func:`follower_response`: among the equilibria worst (best) for
    the leader, the lexicographically smallest follower profile, i.e. the
    followers' actions in ascending order. Returns every agent's action with
    the leader as agent 0 (by symmetry the leader's index does not matter), or
    None if the followers have no pure equilibrium.
    """
    payoff = np.asarray(payoff, dtype=float)
    k, followers = payoff.shape[0], n_agents - 1
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"unknown tie_break {tie_break!r}; choose one of {TIE_BREAKS}")
    check_compositions(k, n_agents)
    # (profiles, k): the followers' action counts, in the lexicographic order of their sorted profiles; never
    # the profiles themselves, which would take (profiles x followers) entries: n**2 for 2 actions
    counts = _action_counts(followers, k)
    stable = np.ones(len(counts), dtype=bool)
    for own in range(k):  # a follower playing `own` faces the other followers and the leader
        others = counts.astype(float)
        others[:, own] -= 1
        others[:, leader_action] += 1
        value = others @ payoff.T / (n_agents - 1)  # (profiles, its action)
        plays = counts[:, own] > 0
        stable &= ~plays | (value[:, own] >= value.max(axis=1) - _TOL)
    if not stable.any():
        return None
    leader_value = counts[stable] @ payoff[leader_action] / (n_agents - 1)
    target = leader_value.min() if tie_break == "pessimistic" else leader_value.max()
    chosen = counts[stable][np.flatnonzero(np.abs(leader_value - target) <= _TOL)[0]]
    return (int(leader_action), *(action for action, count in enumerate(chosen.tolist()) for _ in range(count)))


def _action_counts(total: int, k: int) -> np.ndarray:
    """Every way ``total`` followers can split among ``k`` actions, as int64 counts (rows), in the order of
    ``itertools.combinations_with_replacement(range(k), total)`` (a profile with more 0s comes first, then
    more 1s, ...); O(rows x k) memory."""
    if k == 1:
        return np.array([[total]], dtype=np.int64)
    if k == 2:
        first = np.arange(total, -1, -1, dtype=np.int64)
        return np.column_stack([first, total - first])
    blocks = []
    for first in range(total, -1, -1):
        rest = _action_counts(total - first, k - 1)
        blocks.append(np.column_stack([np.full(len(rest), first, dtype=np.int64), rest]))
    return np.concatenate(blocks)


def stackelberg_outcome(payoffs: np.ndarray, leader: int, tie_break: str = "pessimistic") -> StackelbergOutcome:
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
