"""Fairness metrics on a vector of per-agent episode returns.

Every metric takes the returns ``G = (G_1, ..., G_n)`` of one episode (``n >= 2``
agents, any finite reals) and gives one number. The registry ``METRICS`` maps a
name to a :class:`Metric`; :func:`fairness` computes one metric with input
checks, :func:`all_metrics` computes every metric that is defined on the returns.

Fairness is always measured on the environment's returns *before* any end-game
transfer: with full transfer the post-transfer returns are equal by
construction, so measuring after the transfer would say nothing.

The default, ``pairwise_equality``, is ``1 - mean_{i<j} |G_i - G_j| / scale``
where ``scale`` is the spread of attainable returns (``env.unwrapped.return_scale``).
See ``docs/fairness.md`` for the formulas, ranges and citations in one place.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fairlead import rules
from fairlead.names import unknown_name

__all__ = [
    "DEFAULT_METRIC",
    "METRICS",
    "Metric",
    "UndefinedMetricError",
    "all_metrics",
    "fairness",
    "metric_names",
    "alpha_fair",
    "cv",
    "equality",
    "ggf",
    "jain",
    "max_min_gap",
    "mean_abs_difference",
    "min_max_ratio",
    "pairwise_equality",
]

DEFAULT_METRIC = "pairwise_equality"


class UndefinedMetricError(ValueError):
    """The metric is not defined on these returns (e.g. 1 - Gini with a negative return).

    A subclass of ``ValueError``; :func:`all_metrics` turns it into ``nan``.
    """


# ---------------------------------------------------------------- input checks
def _as_returns(returns) -> np.ndarray:
    """Returns as a 1-D float array of length >= 2 with finite entries, or ValueError."""
    try:
        arr = np.asarray(returns)
        if arr.dtype.kind not in "biufO":
            raise TypeError(f"dtype {arr.dtype}")
        x = arr.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"returns must be an array-like of real numbers ({exc})") from None
    if x.ndim != 1:
        raise ValueError(f"returns must be 1-D (one return per agent), got shape {x.shape}")
    if len(x) < 2:
        raise ValueError(f"fairness needs at least 2 agents, got {len(x)} return(s)")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"returns must be finite, got NaN or inf in {x.tolist()}")
    return x


def _checks_returns(compute):
    """The metric as users call it, on any array-like of returns: ``compute`` behind :func:`_as_returns`.

    ``compute`` itself (``.on_checked``) takes returns already checked: :func:`all_metrics` checks once for all.
    """

    @functools.wraps(compute)
    def metric(returns, **params) -> float:
        return compute(_as_returns(returns), **params)

    signature = inspect.signature(compute)
    checked, *options = signature.parameters.values()
    metric.__signature__ = signature.replace(parameters=[checked.replace(name="returns"), *options])
    metric.on_checked = compute
    return metric


def _unit(x: np.ndarray) -> np.ndarray:
    """x / max|x|, for scale-invariant metrics: avoids under/overflow when squaring."""
    return x / np.abs(x).max()


# Most players a pairwise metric (pairwise_equality, equality, mean_abs_difference) is computed for: it
# tabulates all n (n - 1) / 2 gaps |G_i - G_j| (at 5,000 players 12.5 million, about 300 MB with their indices),
# in the order that fixes its floats bit for bit; more players would take memory quadratic in n.
MAX_PAIRWISE_AGENTS = 5_000


def check_pairwise_agents(n: int, what: str = "a pairwise fairness metric") -> None:
    """ValueError if ``n`` players are more than ``what`` (which compares every pair of returns) is computed for."""
    if n > MAX_PAIRWISE_AGENTS:
        raise ValueError(
            f"{what} compares every pair of the {n:,} players' returns, n (n - 1) / 2 = {n * (n - 1) // 2:,} gaps; "
            f"it is computed for at most {MAX_PAIRWISE_AGENTS:,} players (the gaps' memory grows as n**2); use "
            f"a metric that is O(n) ({', '.join(PER_PLAYER_METRICS)}) or fewer players"
        )


def _pairwise_gaps(x: np.ndarray) -> np.ndarray:
    """|x_i - x_j| for every unordered pair i < j (n (n - 1) / 2 values)."""
    check_pairwise_agents(len(x))
    i, j = _pairs(len(x))
    return np.abs(x[i] - x[j])


@functools.lru_cache(maxsize=64)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(n, k=1)``, built once per n (it costs more than the gaps themselves); read-only."""
    pairs = np.triu_indices(n, k=1)
    for index in pairs:
        index.flags.writeable = False
    return pairs


# --------------------------------------------------------------------- metrics
@_checks_returns
def pairwise_equality(x, *, scale: float | None = None) -> float:
    """Range-normalised pairwise equality (the default metric).

    ``PE = 1 - mean_{i<j} |G_i - G_j| / scale``, the mean over the
    ``n (n - 1) / 2`` unordered pairs, where ``scale > 0`` is the spread of
    attainable episode returns; environments provide it as
    ``env.unwrapped.return_scale = max_cycles * (max stage payoff - min stage payoff)``.
    Higher is fairer; 1 at perfect equality; in [0, 1] whenever every
    ``|G_i - G_j| <= scale``. This library's metric: ``1 - mean_abs_difference / scale``,
    i.e. Gini's mean difference (Gini 1912; see :func:`mean_abs_difference`)
    normalised by the game's payoff range, where the Gini coefficient
    normalises it by the mean (Cowell, *Measuring Inequality*, 3rd ed., 2011,
    section 2.2: ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean)``).

    Why it is the default:

    * shift-invariant (adding a constant to every return changes nothing), so
      it is defined for negative returns, which the matrix games and Cournot
      produce and where 1 - Gini is undefined;
    * bounded in [0, 1], with 1 meaning perfectly equal returns;
    * comparable across games, because it is normalised by each game's own
      payoff range rather than by the returns themselves.

    A metric that is both shift- and scale-invariant and bounded cannot tell
    2-agent outcomes apart (every unequal pair maps to the same value), which
    is why this one needs an external ``scale``.

    Raises ``ValueError`` when ``scale`` is missing or not positive, and when a
    gap exceeds ``scale`` (the returns are outside the stated range; the value
    is never clipped silently, beyond a relative float slack of 1e-9).
    """
    if scale is None:
        raise ValueError(
            "pairwise_equality needs `scale`, the spread of attainable episode returns "
            "(max_cycles * (max stage payoff - min stage payoff)); get it from the "
            "environment as env.unwrapped.return_scale and call "
            "fairness(returns, scale=env.unwrapped.return_scale)"
        )
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale}")
    gaps = _pairwise_gaps(x)
    if rules.beyond_scale(gaps.max(), scale):
        raise ValueError(
            f"returns exceed the stated scale: largest gap |G_i - G_j| = {gaps.max():g} "
            f"> scale = {scale:g}; check that scale is the environment's return_scale"
        )
    return float(rules.pairwise_equality(x, scale, gaps))  # the rule the compiled engine's mediator agent is paid by


@_checks_returns
def equality(x) -> float:
    """Equality, 1 - Gini (Perolat et al., NeurIPS 2017, arXiv 1707.06600).

    ``E = 1 - sum_i sum_j |R_i - R_j| / (2 N sum_i R_i)`` over all ordered pairs.
    Higher is fairer; 1 at perfect equality; in [1/N, 1] for
    non-negative returns. Defined only when every ``R_i >= 0`` and
    ``sum R > 0`` (so all-zero returns raise too).
    """
    if np.any(x < 0):
        raise UndefinedMetricError(
            "equality (1 - Gini) is undefined for negative returns; use pairwise_equality (the default) instead"
        )
    if x.sum() <= 0:
        raise UndefinedMetricError(
            "equality (1 - Gini) is undefined when the returns sum to 0; use pairwise_equality (the default) instead"
        )
    check_pairwise_agents(len(x), "equality (1 - Gini)")
    x = _unit(x)
    diffs = np.abs(x[:, None] - x[None, :]).sum()
    return float(1.0 - diffs / (2 * len(x) * x.sum()))


@_checks_returns
def cv(x) -> float:
    """Coefficient of variation (Jiang & Lu, NeurIPS 2019, FEN, arXiv 1910.14472).

    ``CV = std(G) / mean(G)`` with the population standard deviation
    (``ddof=0``: the n agents are the whole population, not a sample).
    Lower is fairer; 0 at perfect equality; unbounded above. Defined only
    when ``mean(G) > 0``.
    """
    if x.mean() <= 0:
        raise UndefinedMetricError("cv (std / mean) is undefined when the mean return is <= 0")
    x = _unit(x)
    return float(x.std(ddof=0) / x.mean())


@_checks_returns
def jain(x) -> float:
    """Jain's fairness index (Jain, Chiu & Hawe 1984, DEC-TR-301).

    ``J = (sum x)^2 / (n sum x^2)``. Higher is fairer; in [1/n, 1], 1 at
    perfect equality. Defined only when every ``x_i >= 0`` and not all are 0.
    """
    if np.any(x < 0):
        raise UndefinedMetricError("jain is undefined for negative returns")
    if not np.any(x > 0):
        raise UndefinedMetricError("jain is undefined when every return is 0")
    x = _unit(x)
    return float(x.sum() ** 2 / (len(x) * np.sum(x**2)))


@_checks_returns
def min_max_ratio(x) -> float:
    """Min-max ratio ``min(x) / max(x)``; related to max-min fairness (Bertsekas & Gallager, Data Networks, 1992).

    Higher is fairer; in [0, 1], 1 at perfect equality. Defined only when every
    ``x_i >= 0`` and ``max(x) > 0``.
    """
    if np.any(x < 0):
        raise UndefinedMetricError("min_max_ratio is undefined for negative returns")
    if x.max() <= 0:
        raise UndefinedMetricError("min_max_ratio is undefined when every return is 0")
    return float(x.min() / x.max())


@_checks_returns
def max_min_gap(x) -> float:
    """The range: gap between the best- and worst-off agent, ``max(x) - min(x)``.

    The range is the simplest inequality measure in F. A. Cowell, *Measuring
    Inequality*, 3rd ed., Oxford University Press 2011, section 2.2
    ("Inequality measures"), as ``R = (max(x) - min(x)) / mean(x)``. Ours is
    not divided by anything (neither the mean nor the env's ``return_scale``):
    it is defined for any real returns, negative included, and is
    shift-invariant, but it is in the units of the returns and scales
    linearly with them. Like Cowell's range it looks only at the two extremes,
    so a transfer between two agents strictly inside the range leaves it
    unchanged. Lower is fairer; 0 at perfect equality.
    """
    return float(x.max() - x.min())


@_checks_returns
def mean_abs_difference(x) -> float:
    """Mean absolute difference: Gini's mean difference (C. Gini, *Variabilità e mutabilità*, 1912).

    ``MAD = mean_{i<j} |x_i - x_j|``, the mean over the ``n (n - 1) / 2``
    *unordered* pairs (equal to the mean over ordered pairs ``i != j``).
    Lower is fairer; 0 at perfect equality; any real returns; in the units of
    the returns (shift-invariant, scales linearly). The Gini coefficient is
    the same sum divided by the mean instead: ``G = sum_i sum_j |x_i - x_j| /
    (2 n^2 mean)``, half the *relative* mean difference (Cowell, *Measuring
    Inequality*, 3rd ed., Oxford University Press 2011, section 2.2), which
    also counts the ``n`` zero gaps ``i = j``.
    """
    return float(_pairwise_gaps(x).mean())


@_checks_returns
def ggf(x, *, weights=None) -> float:
    """Generalised Gini social welfare function (Weymark 1981; Zimmer et al., ICML 2021, arXiv 2012.09421).

    ``GGF = sum_i w_i v_(i)`` with ``v`` the returns sorted ascending (worst-off
    first) and non-increasing weights ``w``; default ``w_i = 1 / 2^i``
    (``i = 0..n-1``). Any real returns. Higher is better. It is a *welfare*,
    not an inequality index: it mixes efficiency (larger returns) and equity
    (the worst-off count most), so it has no fixed value at perfect equality.
    ``weights`` must be ``n`` finite, non-negative, non-increasing numbers.
    """
    n = len(x)
    if weights is None:
        w = 0.5 ** np.arange(n)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (n,):
            raise ValueError(f"ggf weights must have one entry per agent ({n}), got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(np.diff(w) > 0):
            raise ValueError(f"ggf weights must be finite, non-negative and non-increasing, got {w.tolist()}")
    return float(np.dot(w, np.sort(x)))


@_checks_returns
def alpha_fair(x, *, alpha: float = 1.0) -> float:
    """Alpha-fair welfare (Mo & Walrand 2000, IEEE/ACM Trans. Networking).

    ``W = sum_i x_i^(1 - alpha) / (1 - alpha)`` for ``alpha != 1`` and
    ``W = sum_i log x_i`` for ``alpha = 1`` (the default: proportional
    fairness). ``alpha = 0`` is the utilitarian sum, ``alpha -> inf``
    approaches max-min fairness. Higher is better; a welfare, so no fixed
    value at perfect equality. Defined only when every ``x_i > 0``;
    ``alpha`` must be a finite number ``>= 0``.
    """
    alpha = float(alpha)
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha_fair needs a finite alpha >= 0, got {alpha}")
    if np.any(x <= 0):
        raise UndefinedMetricError("alpha_fair is undefined unless every return is > 0")
    if alpha == 1.0:
        return float(np.sum(np.log(x)))
    return float(np.sum(x ** (1 - alpha)) / (1 - alpha))


# -------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Metric:
    """A registered fairness metric."""

    name: str
    fn: Callable[..., float]  # fn(returns: np.ndarray, **params) -> float
    higher_is_fairer: bool
    best: float | None  # value at perfect equality if fixed; None for welfares
    needs_scale: bool  # only pairwise_equality
    summary: str  # one line, shown by `fairlead list`

    @property
    def params(self) -> tuple[str, ...]:
        """Names of the keyword parameters ``fn`` accepts (besides the returns)."""
        sig = inspect.signature(self.fn).parameters.values()
        return tuple(p.name for p in sig if p.kind is inspect.Parameter.KEYWORD_ONLY)


PAIRWISE_METRICS = ("pairwise_equality", "equality", "mean_abs_difference")  # O(n**2): MAX_PAIRWISE_AGENTS
PER_PLAYER_METRICS = ("cv", "jain", "min_max_ratio", "max_min_gap", "ggf", "alpha_fair")  # O(n) or O(n log n)

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(
            "pairwise_equality",
            pairwise_equality,
            True,
            1.0,
            True,
            "1 - mean_{i<j}|G_i-G_j| / return_scale; shift-invariant, in [0,1], higher fairer (default)",
        ),
        Metric(
            "equality",
            equality,
            True,
            1.0,
            False,
            "1 - Gini (Perolat et al. 2017); needs returns >= 0, sum > 0; higher fairer",
        ),
        Metric(
            "cv", cv, False, 0.0, False, "std / mean, population std (Jiang & Lu 2019); needs mean > 0; lower fairer"
        ),
        Metric(
            "jain",
            jain,
            True,
            1.0,
            False,
            "Jain's index (sum x)^2 / (n sum x^2), in [1/n,1]; needs x >= 0; higher fairer",
        ),
        Metric(
            "min_max_ratio",
            min_max_ratio,
            True,
            1.0,
            False,
            "min / max, in [0,1]; needs x >= 0, max > 0; higher fairer",
        ),
        Metric(
            "max_min_gap",
            max_min_gap,
            False,
            0.0,
            False,
            "max - min, the range (Cowell 2011) not divided by the mean; any reals; lower fairer",
        ),
        Metric(
            "mean_abs_difference",
            mean_abs_difference,
            False,
            0.0,
            False,
            "mean_{i<j} |x_i - x_j|, Gini mean difference (Gini 1912); any reals; lower fairer",
        ),
        Metric(
            "ggf",
            ggf,
            True,
            None,
            False,
            "generalised Gini welfare sum w_i v_(i), w_i = 2^-i (Zimmer et al. 2021); higher better",
        ),
        Metric(
            "alpha_fair",
            alpha_fair,
            True,
            None,
            False,
            "alpha-fair welfare, alpha=1: sum log x (Mo & Walrand 2000); needs x > 0; higher better",
        ),
    ]
}


def metric_names() -> list[str]:
    """Names of the registered metrics, the default first."""
    return list(METRICS)


def fairness(returns, metric: str = DEFAULT_METRIC, *, scale: float | None = None, **params) -> float:
    """Fairness of one episode's per-agent ``returns`` under ``metric``.

    ``scale`` is the spread of attainable returns (``env.unwrapped.return_scale``),
    required by the default ``pairwise_equality`` and rejected by the other
    metrics; ``params`` are the metric's own keywords (``weights`` for ``ggf``,
    ``alpha`` for ``alpha_fair``). Raises ``ValueError`` on bad returns (not
    1-D, fewer than 2 agents, NaN/inf), an unknown metric or parameter, and
    ``UndefinedMetricError`` (a ``ValueError``) when the metric is not defined
    on these returns.
    """
    if not (isinstance(metric, str) and metric in METRICS):
        raise unknown_name("fairness metric", metric, METRICS)
    m, x = METRICS[metric], _as_returns(returns)
    if scale is not None and not m.needs_scale:
        raise ValueError(f"metric {m.name!r} does not take `scale` (only pairwise_equality does)")
    if m.needs_scale:
        params = {**params, "scale": scale}  # None: the metric explains what scale is
    unexpected = sorted(set(params) - set(m.params))
    if unexpected:
        accepted = ", ".join(p for p in m.params if p != "scale") or "no parameters"
        raise ValueError(
            f"metric {m.name!r} got unexpected parameter(s) {', '.join(unexpected)}; it accepts: {accepted}"
        )
    return float(m.fn.on_checked(x, **params))


def all_metrics(returns, *, scale: float | None = None) -> dict[str, float]:
    """Every registered metric on ``returns`` (default parameters), in registry order.

    A metric that is undefined on these returns (e.g. ``equality`` with a
    negative return) maps to ``nan`` instead of raising; so does
    ``pairwise_equality`` when ``scale`` is None. Bad input still raises
    ``ValueError``: malformed returns, a non-positive ``scale``, or returns
    whose gaps exceed ``scale``.
    """
    x = _as_returns(returns)
    out: dict[str, float] = {}
    for name, m in METRICS.items():
        if m.needs_scale and scale is None:
            out[name] = float("nan")
            continue
        try:
            out[name] = float(m.fn.on_checked(x, scale=scale) if m.needs_scale else m.fn.on_checked(x))
        except UndefinedMetricError:
            out[name] = float("nan")
    return out
