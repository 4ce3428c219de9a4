"""Exact upper bound on resource collection's total return when leaders act fairly (issue 22, probe).

    .venv/bin/python benchmarks/probes_rc/fair_bound.py 2      # 2 players, strong preference
    .venv/bin/python benchmarks/probes_rc/fair_bound.py 4      # 4 players, strong preference

Finite-horizon dynamic programme over the true game state (every agent's cell, the fair and the unfair
resource's cells, the stage), with a *centralised* planner that chooses every agent's move and, each stage, the
leader (any agent; all agents have the same preference weight, so the group's total pay does not depend on who
leads, only whether the stage's lead is fair). A stage is counted unfair only if *no* agent's move would be a fair
lead (rules.leader_heads: heads for an unfair resource). The budget ``k`` caps the unfair stages per episode:
``V_k`` is the best expected total return with at most ``k`` unfair leads per episode (k = 0: every lead fair).
Expectation over the random start (distinct random cells, as the env) and the env's uniform respawn (resources
respawn in index order, fair first, on a cell with no agent and no resource, exactly as the env does).
For 2 players it also gives the Lagrangian (weak-duality) upper bound on the total return of any policy, however
randomised or adaptive, whose mean fair-action rate is >= 0.8 (at most 2 unfair of 10 stages on average).

Agents are interchangeable (same weights, leader chosen freely), so the state keeps the multiset of cells.
This is an upper bound for *any* leader rule / charge / learner: it is the best any joint play can do.
"""

import itertools
import sys
import time

import numba
import numpy as np

from fairlead import rules

ROWS = COLS = 3
CELLS = ROWS * COLS
T = 10
FAIR_TOTAL, UNFAIR_TOTAL = 4.0, 3.0 * 4.0  # strong preference: every weight 3, unfair pays 12 in all, fair 4
COOP = 2
MOVE_ROW = np.array(rules.MOVE_ROW)
MOVE_COL = np.array(rules.MOVE_COL)


def tables(n):
    multisets = list(itertools.combinations_with_replacement(range(CELLS), n))
    index = {m: i for i, m in enumerate(multisets)}
    canon = np.zeros(CELLS**n, np.int64)
    for code, cells in enumerate(itertools.product(range(CELLS), repeat=n)):
        canon[code] = index[tuple(sorted(cells))]
    return np.array(multisets, np.int64), canon


@numba.njit(cache=True)
def dist(r1, c1, cell):
    return abs(cell // COLS - r1) + abs(cell % COLS - c1)


@numba.njit(cache=True)
def heads_unfair(cell, move, f, u):
    """rules.leader_heads == HEADS_UNFAIR for one fair + one unfair resource."""
    r, c = cell // COLS, cell % COLS
    tr, tc = r + MOVE_ROW[move], c + MOVE_COL[move]
    fa, ua = dist(tr, tc, f), dist(tr, tc, u)
    if fa == 0:
        return False
    if ua == 0:
        return True
    if fa < dist(r, c, f):
        return False
    return ua < dist(r, c, u)


@numba.njit(cache=True)
def solve(multisets, canon, n, K, lam, ignore=False):
    """V[t, m, f, u, k] for t = T..0; returns V[0]. lam: price of an unfair stage (Lagrangian), else 0."""
    M = multisets.shape[0]
    NA = 5**n
    V_next = np.zeros((M, CELLS, CELLS, K + 1))
    V = np.zeros((M, CELLS, CELLS, K + 1))
    U_next = np.zeros((M, CELLS, CELLS, K + 1))  # expected unfair stages under the optimal policy
    U = np.zeros((M, CELLS, CELLS, K + 1))
    cells = np.zeros(n, np.int64)
    newc = np.zeros(n, np.int64)
    moves = np.zeros(n, np.int64)
    occupied = np.zeros(CELLS, np.int64)
    for _t in range(T - 1, -1, -1):
        for m in range(M):
            for i in range(n):
                cells[i] = multisets[m, i]
            for f in range(CELLS):
                for u in range(CELLS):
                    if f == u:
                        continue
                    for k in range(K + 1):
                        V[m, f, u, k] = -1e18
                    for a in range(NA):
                        x = a
                        legal = True
                        any_fair = False
                        for i in range(n):
                            mv = x % 5
                            x //= 5
                            moves[i] = mv
                            r, c = cells[i] // COLS + MOVE_ROW[mv], cells[i] % COLS + MOVE_COL[mv]
                            if r < 0 or r >= ROWS or c < 0 or c >= COLS:
                                legal = False
                                break
                            newc[i] = r * COLS + c
                            if not heads_unfair(cells[i], mv, f, u):
                                any_fair = True
                        if not legal:
                            continue
                        unfair = 0 if (any_fair or ignore) else 1
                        for q in range(CELLS):
                            occupied[q] = 0
                        code = 0
                        for i in range(n):
                            occupied[newc[i]] += 1
                            code = code * CELLS + newc[i]
                        m2 = canon[code]
                        got_f = occupied[f] >= COOP
                        got_u = occupied[u] >= COOP
                        reward = (FAIR_TOTAL if got_f else 0.0) + (UNFAIR_TOTAL if got_u else 0.0) - lam * unfair
                        for k in range(unfair, K + 1):
                            k2 = k - unfair
                            ev = 0.0
                            eu = 0.0
                            if not got_f and not got_u:
                                ev = V_next[m2, f, u, k2]
                                eu = U_next[m2, f, u, k2]
                            elif got_f and not got_u:
                                cnt = 0
                                for q in range(CELLS):
                                    if occupied[q] == 0 and q != f and q != u:
                                        ev += V_next[m2, q, u, k2]
                                        eu += U_next[m2, q, u, k2]
                                        cnt += 1
                                ev /= cnt
                                eu /= cnt
                            elif got_u and not got_f:
                                cnt = 0
                                for q in range(CELLS):
                                    if occupied[q] == 0 and q != f and q != u:
                                        ev += V_next[m2, f, q, k2]
                                        eu += U_next[m2, f, q, k2]
                                        cnt += 1
                                ev /= cnt
                                eu /= cnt
                            else:  # both: fair respawns first (free of agents, f, u), then unfair (free of agents, f', u)
                                cnt = 0
                                for q in range(CELLS):
                                    if occupied[q] == 0 and q != f and q != u:
                                        cnt2 = 0
                                        ev2 = 0.0
                                        eu2 = 0.0
                                        for q2 in range(CELLS):
                                            if occupied[q2] == 0 and q2 != q and q2 != u:
                                                ev2 += V_next[m2, q, q2, k2]
                                                eu2 += U_next[m2, q, q2, k2]
                                                cnt2 += 1
                                        ev += ev2 / cnt2
                                        eu += eu2 / cnt2
                                        cnt += 1
                                ev /= cnt
                                eu /= cnt
                            val = reward + ev
                            if val > V[m, f, u, k] + 1e-12:
                                V[m, f, u, k] = val
                                U[m, f, u, k] = unfair + eu
        V_next, V = V, V_next
        U_next, U = U, U_next
    return V_next, U_next


def start_value(V, multisets, canon, n):
    """Mean over the env's start: n agents + 2 resources on distinct uniformly random cells (ordered)."""
    total, count = 0.0, 0
    for cells in itertools.permutations(range(CELLS), n + 2):
        code = 0
        for c in cells[:n]:
            code = code * CELLS + c
        total += V[canon[code], cells[n], cells[n + 1]]
        count += 1
    return total / count


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    multisets, canon = tables(n)
    started = time.perf_counter()
    K = T if n == 2 else 2
    V, U = solve(multisets, canon, n, K, 0.0)
    print(f"{n} players, strong preference: best expected total return with at most k unfair leads per episode")
    for k in range(K + 1):
        print(
            f"  k={k:2d} (fair-action rate >= {1 - k / T:.1f} in every episode): {start_value(V[..., k], multisets, canon, n):7.2f}"
        )
    Vfree, _ = solve(multisets, canon, n, 0, 0.0, True)
    print(
        f"  no fairness constraint (any leads):                {start_value(Vfree[..., 0], multisets, canon, n):7.2f}"
    )
    if n == 2:
        # Lagrangian upper bound for mean unfair stages <= 2: min over lam of max E[R - lam U] + 2 lam
        best = None
        for lam in np.linspace(0, 12, 49):
            W, Uv = solve(multisets, canon, n, T, lam)
            w = start_value(W[..., T], multisets, canon, n)
            uu = start_value(Uv[..., T], multisets, canon, n)
            bound = w + 2 * lam
            if best is None or bound < best[0]:
                best = (bound, lam, uu)
        print(
            f"  Lagrangian bound, mean unfair leads <= 2 of 10 (fair-action rate >= 0.8 on average): "
            f"{best[0]:.2f} (lambda {best[1]:.2f}, unfair stages at that lambda {best[2]:.2f})"
        )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
