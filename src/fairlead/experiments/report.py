"""Mean and 95% confidence interval per method, as a Markdown table."""

from __future__ import annotations

import math

import numpy as np

# Two-sided 95% Student-t critical values t_{0.975, df} for df = 1..30.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_critical(df: int) -> float:
    """t_{0.975, df}: the table up to 30, a Cornish-Fisher expansion beyond (error < 1e-3)."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci(values) -> tuple[float, float]:
    """Mean and half-width of the 95% t-interval (NaN half-width for one value)."""
    x = np.asarray(values, dtype=float)
    mean = float(np.mean(x))
    if len(x) < 2:
        return mean, math.nan
    return mean, t_critical(len(x) - 1) * float(np.std(x, ddof=1)) / math.sqrt(len(x))


# (row key, column label); the headline fairness key comes first and is passed in.
COLUMNS = (("total_return", "total return"), ("trajectory_fairness", "trajectory fairness"),
           ("fair_action_rate", "fair-action rate"), ("fair_action_rate_last", "fair-action rate, last stage"))


def cell(values) -> str:
    """``mean ± half-width``; ``n/a`` for a half-width that is not defined (one seed) or a missing mean."""
    mean, half = mean_ci(values)
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.3f} ± " + ("n/a" if math.isnan(half) else f"{half:.3f}")


def summary_table(rows: list[dict], methods, headline: str) -> str:
    """One Markdown row per method: the mean over its seeds and the 95% CI of each headline number.

    Columns: fairness (``headline``, of the final returns), total return,
    trajectory fairness, the fair-action rate over all stages and in the
    last stage. A number a row lacks (a result written by an older version)
    counts as NaN, so its cell reads ``n/a``; so does the half-width of a
    single seed. A caption under the table says what the cells are.
    """
    columns = [(headline, "fairness"), *COLUMNS]
    lines = [
        "| method | seeds | " + " | ".join(label for _, label in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        cells = [cell([r.get(key, math.nan) for r in mine]) for key, _ in columns]
        lines.append(f"| {method} | {len(mine)} | " + " | ".join(cells) + " |")
    lines += ["", f"Mean ± 95% CI over the seeds (n/a: one seed). Fairness: {headline.removeprefix('fairness_')} "
                  "of the returns before any transfer, at the end (fairness) and averaged over the stages "
                  "(trajectory fairness)."]
    return "\n".join(lines)
