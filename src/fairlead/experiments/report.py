"""Point estimates and 95% intervals over seeds, per method, as a Markdown table.

Two kinds of interval (see docs/fairness.md, "Intervals"):

``"bootstrap"`` (the default)
    the percentile bootstrap interval of the statistic over the seeds, as in
    rliable (Agarwal et al., "Deep RL at the Edge of the Statistical
    Precipice", NeurIPS 2021): the seeds of one method are resampled with
    replacement ``RESAMPLES`` times and the interval runs from the 2.5th to
    the 97.5th percentile of the resampled statistic. For a single task this
    *is* rliable's stratified bootstrap (with several tasks it would resample
    the seeds within each task). It stays inside the range of the data, so a
    bounded metric keeps its bounds, and seeds that tie give ``[x, x]``.
    Deterministic: the random stream is seeded from the values themselves
    (sorted), so the same numbers always give the same interval, bit for bit,
    whatever their order.
``"t"``
    mean ± the half-width of the Student-t interval (``mean_ci``), the
    interval of the earlier versions; it assumes normally distributed means.

The resampling is plain numpy and draws exactly what
``scipy.stats.bootstrap(..., method="percentile", n_resamples=RESAMPLES,
rng=numpy.random.default_rng(bootstrap_seed(values)))`` draws, so it gives the
same interval (tests/test_report.py checks it); ``iqm`` equals
``scipy.stats.trim_mean(values, 0.25)``.
"""

from __future__ import annotations

import functools
import hashlib
import math

import numpy as np

RESAMPLES = 10_000  # bootstrap resamples per interval
CONFIDENCE = 0.95
KINDS = ("bootstrap", "t")
STATISTICS = ("mean", "iqm")

# Two-sided 95% Student-t critical values t_{0.975, df} for df = 1..30.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def check_kind(kind: str) -> str:
    """``kind`` if it is an interval kind of ``KINDS``, else a ValueError naming them."""
    if kind not in KINDS:
        raise ValueError(f"unknown interval kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


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


def iqm(values) -> float:
    """Interquartile mean: the mean of the middle half, ``int(n / 4)`` values cut from each end.

    The same as ``scipy.stats.trim_mean(values, 0.25)`` (rliable's IQM); with
    fewer than 4 values nothing is cut and it is the mean.
    """
    return float(_iqm(np.asarray(values, dtype=float)))


def _iqm(x: np.ndarray) -> np.ndarray:
    """``iqm`` along the last axis (of one sample, or of every bootstrap resample at once)."""
    n = x.shape[-1]
    cut = int(0.25 * n)
    return np.mean(np.sort(x, axis=-1)[..., cut : n - cut], axis=-1)


def bootstrap_seed(values) -> int:
    """The bootstrap's random seed: a hash of the sorted values (the same for any order of the same numbers)."""
    x = np.sort(np.asarray(values, dtype=np.float64).ravel()) + 0.0  # + 0.0: -0.0 and 0.0 hash alike
    return int.from_bytes(hashlib.sha256(x.astype("<f8").tobytes()).digest()[:8], "little")


def bootstrap_distribution(values, statistic: str = "mean", resamples: int = RESAMPLES) -> np.ndarray:
    """The statistic of each of ``resamples`` resamples (with replacement) of the sorted values.

    Seeded by ``bootstrap_seed``; the same draws as ``scipy.stats.bootstrap``'s
    ``bootstrap_distribution`` on the sorted values with
    ``rng=numpy.random.default_rng(bootstrap_seed(values))``.
    """
    x = np.sort(np.asarray(values, dtype=float).ravel())
    rng = np.random.default_rng(bootstrap_seed(x))
    samples = x[rng.integers(0, len(x), (resamples, len(x)))]
    return _iqm(samples) if statistic == "iqm" else np.mean(samples, axis=-1)


def interval(
    values, kind: str = "bootstrap", statistic: str = "mean", resamples: int = RESAMPLES
) -> tuple[float, float, float]:
    """``(point, low, high)``: the statistic over the seeds and its 95% interval.

    ``statistic``: ``"mean"`` or ``"iqm"`` (interquartile mean, bootstrap only).
    ``kind``: ``"bootstrap"`` (percentile bootstrap, ``resamples`` resamples of
    the seeds, seeded by ``bootstrap_seed``) or ``"t"`` (Student-t, mean only).
    One value: ``(value, nan, nan)`` (no interval); a NaN among the values
    (a number a row lacks): all three NaN. Rounding aside, a percentile
    interval always contains its point; the last bits are widened so that
    ``low <= point <= high`` holds exactly.
    """
    check_kind(kind)
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; expected one of {', '.join(STATISTICS)}")
    if kind == "t" and statistic != "mean":
        raise ValueError("the Student-t interval is of the mean only; use kind='bootstrap' for the IQM")
    x = np.asarray(values, dtype=float).ravel()
    if len(x) == 0 or np.isnan(x).any():
        return math.nan, math.nan, math.nan
    if kind == "t":
        mean, half = mean_ci(x)  # in the order given: exactly the numbers of mean_ci
        return mean, mean - half, mean + half
    x = np.sort(x)
    point = iqm(x) if statistic == "iqm" else float(np.mean(x))
    if len(x) < 2:
        return point, math.nan, math.nan
    low, high = _percentile_interval(x.tobytes(), statistic, resamples)
    return point, min(low, point), max(high, point)


# A report asks for some intervals twice (the table's and a figure's of the same numbers): resampled once.
@functools.lru_cache(maxsize=1024)
def _percentile_interval(sorted_values: bytes, statistic: str, resamples: int) -> tuple[float, float]:
    alpha = (1 - CONFIDENCE) / 2
    distribution = bootstrap_distribution(np.frombuffer(sorted_values), statistic, resamples)
    return tuple(float(q) for q in np.quantile(distribution, [alpha, 1 - alpha]))


def cell(values, interval: str = "t") -> str:
    """One table cell: the mean and its 95% interval over the seeds.

    ``interval="bootstrap"``: ``0.984 [0.979, 0.989]``, seeds that tie give
    ``0.500 [0.500, 0.500]``; ``interval="t"``: ``0.984 ± 0.005``. One seed:
    ``0.500 [n/a]`` / ``0.500 ± n/a``; a missing number: ``n/a``. The default
    stays ``"t"`` for the claims table (fairlead.experiments.claims), whose
    verdicts compare Student-t intervals.
    """
    if interval == "t":
        mean, half = mean_ci(values)
        if math.isnan(mean):
            return "n/a"
        return f"{mean:.3f} ± " + ("n/a" if math.isnan(half) else f"{half:.3f}")
    return bracket(_interval(values, interval))


def bracket(estimate: tuple[float, float, float]) -> str:
    """``point [low, high]`` to 3 decimals; ``point [n/a]`` without an interval, ``n/a`` without a point."""
    point, low, high = estimate
    if math.isnan(point):
        return "n/a"
    return f"{point:.3f} [n/a]" if math.isnan(low) else f"{point:.3f} [{low:.3f}, {high:.3f}]"


_interval = interval  # summary_table and cell take a parameter named ``interval``

# (row key, column label); the headline fairness key comes first and is passed in.
COLUMNS = (
    ("total_return", "total return"),
    ("trajectory_fairness", "trajectory fairness"),
    ("fair_action_rate", "fair-action rate"),
    ("fair_action_rate_last", "fair-action rate, last stage"),
)


UNDEFINED = "n/a alone: a number undefined for some seed, e.g. 1 - Gini of negative returns"


def caption(interval: str = "bootstrap") -> str:
    """What the cells of ``summary_table`` are."""
    if check_kind(interval) == "bootstrap":
        return (
            f"Mean [95% percentile bootstrap interval] over the seeds ({RESAMPLES:,} resamples; [n/a]: one seed, "
            f"no interval; {UNDEFINED}); fairness IQM: interquartile mean of the fairness over the seeds (the "
            "mean below 4 seeds) [its bootstrap interval]."
        )
    return (
        f"Mean ± half-width of the 95% Student-t interval over the seeds (± n/a: one seed, no interval; "
        f"{UNDEFINED}); fairness IQM: interquartile mean of the fairness over the seeds (the mean below 4 "
        f"seeds) [95% percentile bootstrap interval, {RESAMPLES:,} resamples]."
    )


def number(value) -> float:
    """A row's value as a float: NaN for a missing one (``None`` or the empty cell of a CSV file)."""
    return math.nan if value is None or value == "" else float(value)


def summary_table(rows: list[dict], methods, headline: str, interval: str = "bootstrap") -> str:
    """One Markdown row per method: each headline number over its seeds with its 95% interval.

    Columns: fairness (``headline``, of the final returns), its interquartile
    mean (IQM, always with a bootstrap interval), total return, trajectory
    fairness, the fair-action rate over all stages and in the last stage.
    ``interval``: ``"bootstrap"`` (cells ``mean [low, high]``) or ``"t"``
    (cells ``mean ± half-width``). A number a row lacks (a result written by
    an older version) counts as NaN, so its cell reads ``n/a``; a single seed
    has no interval (``n/a``). A caption under the table says what the cells are.
    """
    caption_line = caption(interval)  # checks ``interval``
    name = headline_label(headline)
    rest = [(key, label) for key, label in COLUMNS if key != headline]  # a headline column is not shown twice
    columns = [(headline, name), *rest]
    labels = [name, f"{name} IQM", *(label for _, label in rest)]
    lines = [
        "| method | seeds | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        values = {key: [number(r.get(key)) for r in mine] for key, _ in columns}
        cells = [cell(values[key], interval) for key, _ in columns]
        cells.insert(1, bracket(_interval(values[headline], "bootstrap", statistic="iqm")))
        lines.append(f"| {method} | {len(mine)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"{caption_line} Fairness: {headline.removeprefix('fairness_')} "
        "of the returns before any transfer, at the end (fairness) and averaged over the stages "
        "(trajectory fairness)."
        if headline.startswith("fairness_")
        else f"{caption_line} First column: {headline} (chosen with --metric); trajectory fairness: the default "
        "fairness metric of the returns before any transfer, averaged over the stages.",
    ]
    return "\n".join(lines)


def headline_label(metric: str) -> str:
    """The column and axis name of a headline metric: "fairness" for one of the fairness metrics, else its name."""
    return "fairness" if metric.startswith("fairness_") else metric.replace("_", " ")
