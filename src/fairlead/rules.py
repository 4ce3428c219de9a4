"""The rules of the games and of the mediator, written once.

The PettingZoo environments, the mediator and the reference trainer call these
functions as plain Python; the compiled engine (``fairlead.engine``) compiles
the very same functions with numba. So they are written in the subset numba
compiles (numbers and numpy arrays in, results written into ``out`` arrays,
scalar loops) and fix the order of every floating-point operation: both paths
give the same floats, bit for bit. Sums follow numpy's own summation order
(:func:`array_sum`), so the numbers are those ``np.sum``/``np.mean`` give.
"""

from __future__ import annotations

import numpy as np

# the second word of the mediated env's generator seed ``[seed, MEDIATOR_RNG_TAG]``: keeps the mediator's random
# stream apart from the env's for the same seed (the mediator and the compiled engine both seed with it)
MEDIATOR_RNG_TAG = 0x6D656469

NEVER_LED, LED_FAIRLY, LED_UNFAIRLY = 0, 1, 2  # a leader's reputation (mediator history feature "reputation")
UNFAIR_LEADS, LEADS, RANK = 0, 1, 2  # the players' own history features, in their canonical order
RETURNS, LEADERS, REPUTATION = 0, 1, 2  # the mediator's history features, in their canonical order
BEHIND, LEVEL, AHEAD = 0, 1, 2  # a player's return against the mean (mediator history feature "returns")
UNFAIR_LEAD_CAP = 1  # a flag, "has taken an unfair advantage that paid" (why 1: docs/results.md)
LEADER_CAP = 2
_BLOCK = 128  # numpy's pairwise-summation block


def _block_sum(x, start, count):
    """numpy's sum of ``count <= 128`` values: in order below 8, else 8 interleaved partial sums."""
    if count < 8:
        total = 0.0
        for i in range(start, start + count):
            total += x[i]
        return total
    r0, r1, r2, r3 = x[start], x[start + 1], x[start + 2], x[start + 3]
    r4, r5, r6, r7 = x[start + 4], x[start + 5], x[start + 6], x[start + 7]
    i = 8
    while i < count - count % 8:
        j = start + i
        r0 += x[j]
        r1 += x[j + 1]
        r2 += x[j + 2]
        r3 += x[j + 3]
        r4 += x[j + 4]
        r5 += x[j + 5]
        r6 += x[j + 6]
        r7 += x[j + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += x[start + i]
        i += 1
    return total


def array_sum(x, count):
    """``np.sum(x[:count])`` bit for bit: numpy's pairwise summation.

    numpy halves a run longer than 128 (the first half rounded down to a
    multiple of 8) and adds the halves' sums; that recursion runs here on an
    explicit stack, as numba compiles no recursion between plain functions.
    """
    if count <= _BLOCK:
        return _block_sum(x, 0, count)
    starts, counts = np.zeros(128, np.int64), np.zeros(128, np.int64)
    combine = np.zeros(128, np.bool_)  # a marker: add the two sums on top of ``sums``
    sums = np.zeros(128)
    top, done = 1, 0
    counts[0] = count
    while top > 0:
        top -= 1
        s, c = starts[top], counts[top]
        if combine[top]:
            done -= 1
            sums[done - 1] = sums[done - 1] + sums[done]
        elif c <= _BLOCK:
            sums[done] = _block_sum(x, s, c)
            done += 1
        else:
            half = c // 2
            half -= half % 8
            combine[top] = True  # stays on the stack, under its two halves
            starts[top + 1], counts[top + 1], combine[top + 1] = s + half, c - half, False  # right, done second
            starts[top + 2], counts[top + 2], combine[top + 2] = s, half, False  # left, done first
            top += 3
    return sums[0]


def linear_epsilon(episode, start, end, decay_episodes):
    """Exploration rate of training episode ``episode`` (from 0): linear from ``start`` to ``end``, then flat."""
    frac = min(1.0, episode / decay_episodes)
    return start + frac * (end - start)


# ------------------------------------------------------------------ stage rewards
def symmetric_stage_rewards(payoff, actions, counts, out):
    """A symmetric matrix game's stage: ``r_p = mean_{q != p} payoff[a_p, a_q]``, in O(n k).

    ``counts`` (length k) is scratch space. The mean of the pairwise rewards is
    ``(sum_b c_b payoff[a_p, b] - payoff[a_p, a_p]) / (n - 1)``, ``c_b`` the
    number of players (``p`` included) that played ``b``: no ``k**n`` table.
    """
    n, k = actions.shape[0], payoff.shape[0]
    for b in range(k):
        counts[b] = 0
    for p in range(n):
        counts[actions[p]] += 1
    for p in range(n):
        a = actions[p]
        total = 0.0
        for b in range(k):
            total += counts[b] * payoff[a, b]
        out[p] = (total - payoff[a, a]) / (n - 1)


def bimatrix_stage_rewards(payoff, actions, out):
    """A two-player bimatrix game's stage: ``payoff[i, a_0, a_1]`` for player ``i``."""
    out[0] = payoff[0, actions[0], actions[1]]
    out[1] = payoff[1, actions[0], actions[1]]


def cournot_stage_rewards(a, b, c, actions, out):
    """Cournot profits: ``(max(0, a - b Q) - c) q_i`` with ``Q`` the total quantity."""
    total = 0.0
    for p in range(actions.shape[0]):
        total += actions[p]
    price = max(0.0, a - b * total)
    for p in range(actions.shape[0]):
        out[p] = (price - c) * actions[p]


# ------------------------------------------------------------------ resource collection
STAY, UP, DOWN, LEFT, RIGHT = range(5)  # move codes: indices into resource_collection_v0.MOVES
MOVE_ROW = (0, -1, 1, 0, 0)  # each move's change of row and of column
MOVE_COL = (0, 0, 0, -1, 1)
NOT_MOVED, HEADS_NEITHER, HEADS_FAIR, HEADS_UNFAIR = range(4)  # values of the ``leader_heads`` feature


def step_toward(row, col, target_row, target_col):
    """The move that brings ``(row, col)`` closer to the target (vertical first), ``STAY`` when there."""
    dr, dc = target_row - row, target_col - col
    if dr == 0 and dc == 0:
        return STAY
    if abs(dr) >= abs(dc):
        return UP if dr < 0 else DOWN
    return LEFT if dc < 0 else RIGHT


def nearest_resource(resources, first, count, row, col):
    """Index of the resource of ``resources[first:first + count]`` nearest ``(row, col)`` (Manhattan).

    Ties go to the first cell in row-major order (resources hold distinct cells).
    """
    best = first
    for r in range(first + 1, first + count):
        d = abs(resources[r, 0] - row) + abs(resources[r, 1] - col)
        d_best = abs(resources[best, 0] - row) + abs(resources[best, 1] - col)
        if d < d_best or (
            d == d_best and resources[r, 0] * 2**31 + resources[r, 1] < resources[best, 0] * 2**31 + resources[best, 1]
        ):
            best = r
    return best


def agents_on(positions, row, col):
    """How many agents stand on ``(row, col)``."""
    count = 0
    for i in range(positions.shape[0]):
        if positions[i, 0] == row and positions[i, 1] == col:
            count += 1
    return count


def resource_features(positions, resources, n_fair, cooperation, agent, out):
    """``agent``'s ``[fair_step, fair_partners, unfair_step, unfair_partners]`` into ``out``.

    Per kind: the move towards the nearest resource of that kind and how many
    *other* agents stand on its cell, capped at ``cooperation - 1``.
    """
    row, col = positions[agent, 0], positions[agent, 1]
    for kind in range(2):
        first, count = (0, n_fair) if kind == 0 else (n_fair, resources.shape[0] - n_fair)
        r = nearest_resource(resources, first, count, row, col)
        target_row, target_col = resources[r, 0], resources[r, 1]
        others = agents_on(positions, target_row, target_col) - (1 if row == target_row and col == target_col else 0)
        out[2 * kind] = step_toward(row, col, target_row, target_col)
        out[2 * kind + 1] = min(others, cooperation - 1)


def _distance(resources, first, count, row, col):
    r = nearest_resource(resources, first, count, row, col)
    return abs(resources[r, 0] - row) + abs(resources[r, 1] - col)


def leader_heads(positions, resources, n_fair, leader, move):
    """What the leader's ``move`` (from its cell at the stage's start) heads for: ``HEADS_*``.

    The kind of resource it ends on; else a fair resource if it gets strictly
    nearer one, else an unfair one if it gets strictly nearer one; else neither.
    """
    row, col = positions[leader, 0], positions[leader, 1]
    to_row, to_col = row + MOVE_ROW[move], col + MOVE_COL[move]
    n_unfair = resources.shape[0] - n_fair
    fair_after = _distance(resources, 0, n_fair, to_row, to_col)
    unfair_after = _distance(resources, n_fair, n_unfair, to_row, to_col)
    if fair_after == 0:
        return HEADS_FAIR
    if unfair_after == 0:
        return HEADS_UNFAIR
    if fair_after < _distance(resources, 0, n_fair, row, col):
        return HEADS_FAIR
    if unfair_after < _distance(resources, n_fair, n_unfair, row, col):
        return HEADS_UNFAIR
    return HEADS_NEITHER


def apply_moves(positions, actions):
    """Every agent's move, applied at once."""
    for i in range(positions.shape[0]):
        positions[i, 0] += MOVE_ROW[actions[i]]
        positions[i, 1] += MOVE_COL[actions[i]]


def collected_resources(positions, resources, cooperation, out):
    """The resources with at least ``cooperation`` agents on their cell, in index order, into ``out``; their count."""
    count = 0
    for r in range(resources.shape[0]):
        if agents_on(positions, resources[r, 0], resources[r, 1]) >= cooperation:
            out[count] = r
            count += 1
    return count


def collection_rewards(collected, count, n_fair, fair_pay, unfair_pay, leader, out):
    """A stage's pay: every collected resource pays each agent ``fair_pay`` or ``unfair_pay[leader]``, summed in order."""
    for i in range(out.shape[0]):
        out[i] = 0.0
    for c in range(count):
        for i in range(out.shape[0]):
            out[i] += fair_pay[i] if collected[c] < n_fair else unfair_pay[leader, i]


def free_cells(positions, resources, cols, out):
    """The cells (row-major codes, ascending) holding no agent and no resource, into ``out``; their count."""
    for cell in range(out.shape[0]):
        out[cell] = cell
    for i in range(positions.shape[0]):
        out[positions[i, 0] * cols + positions[i, 1]] = -1
    for r in range(resources.shape[0]):
        out[resources[r, 0] * cols + resources[r, 1]] = -1
    count = 0
    for cell in range(out.shape[0]):
        if out[cell] >= 0:
            out[count] = cell
            count += 1
    return count


# ------------------------------------------------------------------ the mediator
def taken_advantage(rewards, leader, fair):
    """What a stage's leader took over the followers' mean if it led unfairly: ``max(0, r_L - mean r_F)``."""
    if fair:
        return 0.0
    others = 0.0
    for p in range(rewards.shape[0]):
        if p != leader:
            others += rewards[p]
    return max(0.0, rewards[leader] - others / (rewards.shape[0] - 1))


def reputation_after(leader_fair):
    """A leader's reputation once it has led: fairly or unfairly (its last lead counts)."""
    return LED_FAIRLY if leader_fair else LED_UNFAIRLY


def own_history_feature(feature, player, unfair_leads, leads, returns):
    """One of ``player``'s own-history features (``agent_history``) after the stages so far.

    ``UNFAIR_LEADS``: its leads that took an advantage (:func:`taken_advantage` > 0),
    capped at ``UNFAIR_LEAD_CAP``; ``LEADS``: its leads, capped at ``LEADER_CAP``;
    ``RANK``: how many players have a strictly lower return.
    """
    if feature == UNFAIR_LEADS:
        return min(unfair_leads[player], UNFAIR_LEAD_CAP)
    if feature == LEADS:
        return min(leads[player], LEADER_CAP)
    rank = 0
    for other in range(returns.shape[0]):
        if returns[other] < returns[player]:
            rank += 1
    return rank


def mean_deviation_transfer(returns, beta, out):
    """Return-based end-game transfer: ``t_i = -beta (G_i - mean G)``."""
    n = returns.shape[0]
    mean = array_sum(returns, n) / n
    for i in range(n):
        out[i] = -beta * (returns[i] - mean)


def unfair_advantage_transfer(advantages, kappa, out):
    """Action-based end-game transfer: ``t_i = -kappa n/(n-1) (u_i - mean u)``, ``u`` the advantages taken."""
    n = advantages.shape[0]
    mean = array_sum(advantages, n) / n
    scale = -kappa * n / (n - 1)
    for i in range(n):
        out[i] = scale * (advantages[i] - mean) + 0.0  # + 0.0: no -0.0 for a player that owes nothing


def mean_pairwise_gap(x, gaps):
    """``mean_{i<j} |x_i - x_j|`` over the pairs in ``np.triu_indices`` order; ``gaps`` (n (n-1) / 2) is scratch."""
    n, m = x.shape[0], 0
    for i in range(n):
        for j in range(i + 1, n):
            gaps[m] = abs(x[i] - x[j])
            m += 1
    return array_sum(gaps, m) / m


def pairwise_equality(returns, scale, gaps):
    """The default fairness metric, ``1 - mean_{i<j} |G_i - G_j| / scale`` in [0, 1] (``fairlead.fairness``)."""
    return min(1.0, max(0.0, 1.0 - mean_pairwise_gap(returns, gaps) / scale))


SCALE_RTOL = 1e-9  # relative slack of the gap check: float rounding in a sum of stage rewards is no excess


def beyond_scale(largest_gap, scale):
    """Whether returns whose largest gap ``|G_i - G_j|`` is ``largest_gap`` lie outside the stated ``scale``."""
    return largest_gap > scale * (1 + SCALE_RTOL)


def trajectory_fairness(prefixes, scale, out, stage_values, gaps):
    """Each episode's trajectory fairness into ``out``: the mean over stages ``t`` of :func:`pairwise_equality`
    of the returns so far, ``G_t``, judged against the spread attainable in ``t`` of ``T`` stages, ``scale t / T``.

    ``prefixes[e, t - 1]`` is episode ``e``'s ``G_t``; ``stage_values`` (T) and
    ``gaps`` (n (n-1) / 2) are scratch space. Returns -1, or ``e T + t - 1``
    of the first ``G_t`` the metric refuses (not finite, or a gap above
    ``scale t / T``), whose ``out[e]`` is then not written.
    """
    episodes, stages, n = prefixes.shape
    for e in range(episodes):
        for t in range(stages):
            spread, largest = scale * (t + 1) / stages, 0.0
            for i in range(n):
                if not np.isfinite(prefixes[e, t, i]):
                    return e * stages + t
                for j in range(i + 1, n):
                    largest = max(largest, abs(prefixes[e, t, i] - prefixes[e, t, j]))
            if beyond_scale(largest, spread):
                return e * stages + t
            stage_values[t] = pairwise_equality(prefixes[e, t], spread, gaps)
        out[e] = array_sum(stage_values, stages) / stages
    return -1


def fairest_leader(values, reputation, returns, use_returns, predicted, gaps):
    """JAM-QL's vector mediator's choice: ``argmin_l mean_{i<j} |P_i - P_j|``, ``P = [G +] V[l, rho_l]``.

    ``values[l, rho]`` is the learned vector of every agent's reward to come
    when ``l`` leads with reputation ``rho``; ``predicted`` (n) and ``gaps``
    (n (n-1) / 2) are scratch space. Ties go to the lowest index.
    """
    n = returns.shape[0]
    best, best_gap = 0, np.inf
    for leader in range(n):
        for i in range(n):
            predicted[i] = values[leader, reputation[leader], i]
            if use_returns:
                predicted[i] = predicted[i] + returns[i]
        gap = mean_pairwise_gap(predicted, gaps)
        if gap < best_gap:
            best, best_gap = leader, gap
    return best


def mediator_features(stage, returns, leads, reputation, history_codes, tolerance, out):
    """The mediator's discrete observation ``[stage, *history features]`` into ``out``.

    Per history feature (``history_codes``, canonical order), one entry per
    player: ``RETURNS`` behind / level / ahead of the mean by more than
    ``tolerance``; ``LEADERS`` its leads so far, capped at ``LEADER_CAP``;
    ``REPUTATION`` never led / last lead fair / unfair.
    """
    n = returns.shape[0]
    out[0] = stage
    mean = array_sum(returns, n) / n
    at = 1
    for code in history_codes:
        for i in range(n):
            if code == RETURNS:
                gap = returns[i] - mean
                out[at] = BEHIND if gap < -tolerance else (AHEAD if gap > tolerance else LEVEL)
            elif code == LEADERS:
                out[at] = min(leads[i], LEADER_CAP)
            else:
                out[at] = reputation[i]
            at += 1


def learn_reward_vectors(values, rewards, leaders, reputations, alpha, gamma, to_come):
    """Monte Carlo update of the vector mediator from one episode's stage rewards ``rewards[t, i]``::

        R_t = r_t + gamma R_{t+1}  (R_T = 0),   V[t, l_t, rho_t] <- V[t, l_t, rho_t] + alpha (R_t - V[t, l_t, rho_t])

    ``to_come`` (n) is scratch space.
    """
    stages, n = rewards.shape
    for i in range(n):
        to_come[i] = 0.0
    for t in range(stages - 1, -1, -1):
        for i in range(n):
            to_come[i] = rewards[t, i] + gamma * to_come[i]
            cell = values[t, leaders[t], reputations[t], i]
            values[t, leaders[t], reputations[t], i] = cell + alpha * (to_come[i] - cell)
