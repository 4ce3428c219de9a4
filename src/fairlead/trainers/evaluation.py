"""Turn evaluation episodes into the numbers a run reports.

Fairness is measured on the environment's own returns, before any end-game
transfer (with full transfer the post-transfer returns are trivially equal).
Each metric is computed per episode and averaged over the episodes; a metric
undefined on some episode's returns (e.g. 1 - Gini with negative returns) is
reported as NaN rather than silently dropped.

Besides the fairness of the final returns, two numbers look *inside* the
episode: the trajectory fairness (how fair the returns-so-far are, stage by
stage) and the fair-action rate of each stage (does fair leading collapse at
the end, the end-game effect?). See :func:`summarise` for every column.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from fairlead.fairness import DEFAULT_METRIC, all_metrics, check_pairwise_agents, fairness

if TYPE_CHECKING:  # jamql's trainer summarises its evaluation with this module
    from fairlead.trainers.jamql import EpisodeResult

HEADLINE = f"fairness_{DEFAULT_METRIC}"


def stage_returns(episode: EpisodeResult, players: list[str]) -> np.ndarray:
    """Cumulative returns after each stage: row ``t - 1`` is ``G_t = r_1 + ... + r_t``, shape ``(T, n)``.

    Built from the stage records' own rewards (before any transfer), in the
    order of ``players``; the last row is the episode's ``returns``.
    """
    if not episode.stages:
        raise ValueError("the episode has no stage records (EpisodeResult.stages is empty)")
    rewards = np.array([[float(s.rewards[p]) for p in players] for s in episode.stages])
    cumulative = np.cumsum(rewards, axis=0)
    final = np.asarray(episode.returns, dtype=float)
    if final.shape != cumulative[-1].shape or not np.allclose(cumulative[-1], final, rtol=1e-9, atol=1e-9):
        raise ValueError(
            f"the stage rewards sum to {cumulative[-1].tolist()}, not to the episode's returns "
            f"{final.tolist()}: the stage records do not account for the returns"
        )
    return cumulative


def trajectory_fairness(episode: EpisodeResult, players: list[str], scale: float) -> float:
    """Mean over the stages ``t = 1..T`` of ``F(G_t)``, the default metric on the returns after stage ``t``.

    ``F`` is ``fairlead.fairness.DEFAULT_METRIC`` (``pairwise_equality``), on
    the environment's returns before any transfer. The final fairness looks
    only at ``G_T``: a rotation that is lopsided for most of the episode and
    evens out at the last stage (e.g. equal after 10 stages but far apart in
    between) scores as fair as one that stays fair throughout. The trajectory
    fairness tells them apart: it is lower for the first. It is 1 when every
    stage pays everyone the same, and in the metric's range (``[0, 1]`` for
    ``pairwise_equality``, higher fairer).

    With ``pairwise_equality`` the returns after ``t`` of ``T`` stages are
    judged against the spread attainable in ``t`` stages, ``scale * t / T``
    (``scale`` is the whole episode's ``return_scale``), so a gap of one
    stage's worth costs as much after stage 1 as a gap of ``T`` stages' worth
    at the end. A ``G_t`` the metric refuses (a gap above ``scale * t / T``)
    raises its ``ValueError``.
    """
    return float(_trajectory_fairness(stage_returns(episode, players)[None], scale)[0])


def _trajectory_fairness(prefixes: np.ndarray, scale: float) -> np.ndarray:
    """:func:`trajectory_fairness` of each episode's cumulative returns ``prefixes`` (``(E, T, n)``), compiled.

    The same numbers as the default metric stage by stage (it is ``rules.pairwise_equality`` on each
    ``G_t``); a ``G_t`` the metric refuses raises the metric's own error.
    """
    from fairlead.compiled import trajectory_fairness  # numba: imported when first needed

    prefixes = np.ascontiguousarray(prefixes, dtype=float)
    episodes, stages, n = prefixes.shape
    check_pairwise_agents(n, "trajectory fairness (the default metric, stage by stage)")
    values = np.zeros(episodes)
    gaps = np.zeros(max(1, n * (n - 1) // 2))
    refused = trajectory_fairness(prefixes, float(scale), values, np.zeros(stages), gaps)
    if refused >= 0:
        e, t = divmod(refused, stages)
        fairness(prefixes[e, t], DEFAULT_METRIC, scale=scale * (t + 1) / stages)  # raises the metric's error
        raise AssertionError(f"the metric accepts G_{t + 1} of episode {e}, which the trajectory refused")
    return values


@lru_cache(maxsize=65536)
def _all_metrics(returns: tuple[float, ...], scale: float) -> dict[str, float]:
    return all_metrics(np.array(returns), scale=scale)


def summarise(episodes: list[EpisodeResult], players: list[str], scale: float) -> dict[str, float]:
    """Flat dict of every reported number (keys become CSV columns), averaged over ``episodes``.

    All on the environment's returns before any transfer:

    * ``fairness_<metric>``: every fairness metric of the final returns;
    * ``return_<player>``, ``total_return``: mean returns (efficiency);
    * ``leader_share_<player>``: share of the stages the player led;
    * ``fair_action_rate``: share of all stages whose leader acted fairly
      (by the env's own rule);
    * ``trajectory_fairness``: :func:`trajectory_fairness`, the default metric
      averaged over the stages' returns-so-far (lower than the final fairness
      when the returns are fair only at the end);
    * ``fair_action_rate_last``: share of episodes whose last-stage leader
      acted fairly (the end game);
    * ``fair_action_rate_stage_<t>``, ``t = 0..T-1``: the same for stage ``t``.

    Every episode must have the same number of stages ``T`` (one env, one
    ``max_cycles``), so the ``fair_action_rate_stage_<t>`` columns are the
    same for every row of a run.
    """
    if not episodes:
        raise ValueError("cannot summarise zero episodes")
    horizons = sorted({len(e.leader_fair) for e in episodes})
    if len(horizons) > 1:
        raise ValueError(f"episodes of different lengths ({horizons} stages) cannot be summarised together")
    if horizons[0] == 0:
        raise ValueError("cannot summarise episodes without stages")
    return summarise_arrays(
        np.array([e.returns for e in episodes], dtype=float),
        np.array([e.leaders for e in episodes], dtype=np.int64),
        np.array([e.leader_fair for e in episodes], dtype=bool),
        np.array([stage_returns(e, players) for e in episodes]),
        players,
        scale,
    )


def summarise_arrays(
    returns: np.ndarray,
    leaders: np.ndarray,
    leader_fair: np.ndarray,
    prefixes: np.ndarray,
    players: list[str],
    scale: float,
) -> dict[str, float]:
    """:func:`summarise` of ``E`` episodes given as arrays, the compiled engine's output, with the same numbers.

    ``returns`` ``(E, n)`` before transfer, ``leaders`` and ``leader_fair``
    ``(E, T)``, ``prefixes`` ``(E, T, n)`` the cumulative returns after each
    stage (:func:`stage_returns` of each episode).
    """
    row: dict[str, float] = {}
    per_episode = [_all_metrics(tuple(r.tolist()), scale) for r in returns]
    # (metric, episode): each row's mean sums as np.mean of that metric's list does (a contiguous row, pairwise)
    metrics = np.array([list(m.values()) for m in per_episode]).T.copy()
    for metric, value in zip(per_episode[0], metrics.mean(axis=1)):
        row[f"fairness_{metric}"] = float(value)
    mean_returns = np.mean(returns, axis=0)
    for player, value in zip(players, mean_returns):
        row[f"return_{player}"] = float(value)
    row["total_return"] = float(mean_returns.sum())
    share = np.bincount(leaders.ravel(), minlength=len(players)) / leaders.size
    for player, value in zip(players, share):
        row[f"leader_share_{player}"] = float(value)
    fair = leader_fair.astype(float)  # (E, T)
    row["fair_action_rate"] = float(fair.mean())
    row["trajectory_fairness"] = float(np.mean(_trajectory_fairness(prefixes, scale)))
    by_stage = fair.mean(axis=0)
    row["fair_action_rate_last"] = float(by_stage[-1])
    for t, value in enumerate(by_stage):
        row[f"fair_action_rate_stage_{t}"] = float(value)
    return row
