"""Turn evaluation episodes into the numbers a run reports.

Fairness is measured on the environment's own returns, before any end-game
transfer (with full transfer the post-transfer returns are trivially equal).
Each metric is computed per episode and averaged over the episodes; a metric
undefined on some episode's returns (e.g. 1 - Gini with negative returns) is
reported as NaN rather than silently dropped.
"""

from __future__ import annotations

import numpy as np

from fairlead.fairness import DEFAULT_METRIC, all_metrics
from fairlead.trainers.jamql import EpisodeResult


def summarise(episodes: list[EpisodeResult], players: list[str], scale: float) -> dict[str, float]:
    """Flat dict of every reported number (keys become CSV columns)."""
    if not episodes:
        raise ValueError("cannot summarise zero episodes")
    per_episode = [all_metrics(e.returns, scale=scale) for e in episodes]
    row: dict[str, float] = {}
    for metric in per_episode[0]:
        row[f"fairness_{metric}"] = float(np.mean([m[metric] for m in per_episode]))
    returns = np.mean([e.returns for e in episodes], axis=0)
    for player, value in zip(players, returns):
        row[f"return_{player}"] = float(value)
    row["total_return"] = float(returns.sum())
    leaders = np.concatenate([e.leaders for e in episodes])
    share = np.bincount(leaders, minlength=len(players)) / len(leaders)
    for player, value in zip(players, share):
        row[f"leader_share_{player}"] = float(value)
    row["fair_action_rate"] = float(np.mean(np.concatenate([e.leader_fair for e in episodes])))
    return row


HEADLINE = f"fairness_{DEFAULT_METRIC}"
