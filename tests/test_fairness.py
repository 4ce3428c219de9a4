"""Tests for fairlead.fairness: exact values, properties (hypothesis) and every error path."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fairlead.fairness import (
    DEFAULT_METRIC,
    METRICS,
    Metric,
    UndefinedMetricError,
    all_metrics,
    fairness,
    metric_names,
)

PROPS = settings(max_examples=60, deadline=None)  # keeps the whole file under ~4 s


def returns(low=-100.0, high=100.0, min_size=2, max_size=6):
    """Hypothesis strategy: 1-D float arrays of per-agent returns."""
    return arrays(
        np.float64,
        st.integers(min_size, max_size),
        elements=st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    )


def same(a: dict, b: dict, rel=1e-9, abs_=1e-9) -> bool:
    """Two all_metrics() dicts agree (NaN equals NaN)."""
    assert a.keys() == b.keys()
    for k in a:
        if math.isnan(a[k]) or math.isnan(b[k]):
            assert math.isnan(a[k]) and math.isnan(b[k]), k
        else:
            assert a[k] == pytest.approx(b[k], rel=rel, abs=abs_), k
    return True


def span(x) -> float:
    """A scale that every gap of x fits in."""
    return float(np.max(x) - np.min(x)) + 1.0


# ----------------------------------------------------------------- registry / API
def test_registry_shape():
    assert DEFAULT_METRIC == "pairwise_equality"
    assert metric_names() == list(METRICS)
    assert metric_names()[0] == DEFAULT_METRIC
    for name, m in METRICS.items():
        assert isinstance(m, Metric) and m.name == name and m.summary and "\n" not in m.summary
        assert m.fn.__doc__ and m.needs_scale == ("scale" in m.params)
        assert m.best is None or m.best in (0.0, 1.0)
    assert [m.name for m in METRICS.values() if m.needs_scale] == [DEFAULT_METRIC]  # only the default
    with pytest.raises(AttributeError):
        METRICS["jain"].best = 0.0  # frozen


@PROPS
@given(returns(0.1, 100), st.sampled_from(list(METRICS.values())), st.randoms(use_true_random=False), st.data())
def test_every_metric_is_symmetric_and_as_documented(x, m, rnd, data):
    """Every registered metric: invariant to the order of the agents; equal returns give its
    documented ``best`` and unequal ones are never better; a welfare (no ``best``) never
    decreases when one agent gets more. Returns > 0 are in every metric's domain."""
    kw = {"scale": 2 * span(x)} if m.needs_scale else {}
    value = fairness(x, m.name, **kw)
    perm = list(range(len(x)))
    rnd.shuffle(perm)
    assert fairness(x[perm], m.name, **kw) == pytest.approx(value, rel=1e-9, abs=1e-12)
    sign = 1 if m.higher_is_fairer else -1
    if m.best is not None:
        assert fairness(np.full(len(x), x[0]), m.name, **kw) == pytest.approx(m.best, abs=1e-12)
        assert sign * value <= sign * m.best + 1e-12
    else:
        y = x.copy()
        y[data.draw(st.integers(0, len(x) - 1))] += data.draw(st.floats(0.01, 100))
        assert fairness(y, m.name) >= value - 1e-9


def test_every_metric_cites_a_source():
    """Each metric's docstring and its row of docs/fairness.md's table name a dated source."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "fairness.md").read_text()
    rows = {}
    for line in text.splitlines():
        name = re.match(r"\| `(\w+)`", line)
        if name:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[name.group(1)] = cells[-1]  # the citation column
    assert set(rows) == set(METRICS)
    year = re.compile(r"\b(19|20)\d\d\b")
    for name, m in METRICS.items():
        assert year.search(rows[name]), f"docs/fairness.md: {name} cites no source: {rows[name]!r}"
        assert year.search(m.fn.__doc__), f"{name}'s docstring cites no source"


# ------------------------------------------------------------------- known values
@pytest.mark.parametrize(
    "metric, x, kw, expected",
    [
        ("equality", [1, 0], {}, 0.5),
        ("equality", [2, 2, 2], {}, 1.0),
        ("equality", [1, 0, 0, 0], {}, 0.25),  # one agent has everything: 1/N
        ("jain", [1, 0], {}, 0.5),
        ("jain", [3, 3], {}, 1.0),
        ("cv", [1, 3], {}, 0.5),
        ("cv", [-1, 3], {}, 2.0),  # std 2, mean 1: negative entries allowed if mean > 0
        ("min_max_ratio", [1, 4], {}, 0.25),
        ("min_max_ratio", [0, 4], {}, 0.0),
        ("max_min_gap", [-3, 1, 2], {}, 5.0),
        ("mean_abs_difference", [0, 1, 3], {}, 2.0),  # (1 + 3 + 2) / 3 unordered pairs
        ("ggf", [1, 2], {}, 2.0),
        ("ggf", [2, 1], {}, 2.0),
        ("ggf", [3, -1, 2], {}, -1 + 0.5 * 2 + 0.25 * 3),
        ("ggf", [1, 2], {"weights": [1, 1]}, 3.0),
        ("alpha_fair", [1, math.e], {}, 1.0),
        ("alpha_fair", [1, 4], {"alpha": 0}, 5.0),
        ("alpha_fair", [1, 4], {"alpha": 0.5}, 2 * (1 + 2)),
        ("alpha_fair", [1, 2], {"alpha": 2}, -1.5),
        ("pairwise_equality", [0, 5], {"scale": 10}, 0.5),
        ("pairwise_equality", [-7, -2], {"scale": 10}, 0.5),  # negative returns are fine
        ("pairwise_equality", [0, 10], {"scale": 10}, 0.0),
        ("pairwise_equality", [0, 1, 3], {"scale": 4}, 0.5),
    ],
)
def test_known_values(metric, x, kw, expected):
    value = fairness(x, metric, **kw)
    assert type(value) is float
    assert value == pytest.approx(expected)


def test_default_metric_is_pairwise_equality():
    assert fairness([0, 5], scale=10) == 0.5


def test_all_metrics_values_and_nan():
    out = all_metrics([-1.0, 3.0], scale=10)
    assert list(out) == metric_names()
    assert all(type(v) is float for v in out.values())
    for name in ("equality", "jain", "min_max_ratio", "alpha_fair"):
        assert math.isnan(out[name]), name
    assert out["cv"] == pytest.approx(2.0)
    assert out["max_min_gap"] == 4.0 and out["pairwise_equality"] == pytest.approx(0.6)
    assert math.isnan(all_metrics([1.0, 2.0])["pairwise_equality"])  # no scale given
    assert all(not math.isnan(v) for v in all_metrics([1.0, 2.0], scale=5).values())
    zeros = all_metrics([0.0, 0.0], scale=1)
    assert math.isnan(zeros["equality"]) and zeros["pairwise_equality"] == 1.0


def test_accepts_array_likes():
    assert fairness((1, 0), "jain") == fairness(np.array([1.0, 0.0]), "jain") == 0.5
    assert fairness(np.array([1, 0], dtype=np.int64), "equality") == 0.5


# ------------------------------------------------------------------- properties
@PROPS
@given(returns(), st.randoms())
def test_permutation_invariance(x, rnd):
    perm = list(range(len(x)))
    rnd.shuffle(perm)
    same(all_metrics(x, scale=span(x)), all_metrics(x[perm], scale=span(x)))


@PROPS
@given(st.floats(0.01, 100), st.integers(2, 8), st.sampled_from([m for m in METRICS.values() if m.best is not None]))
def test_perfect_equality_gives_best(c, n, m):
    kw = {"scale": 1.0} if m.needs_scale else {}
    assert fairness([c] * n, m.name, **kw) == pytest.approx(m.best, abs=1e-12)


@PROPS
@given(st.floats(-100, 100), st.integers(2, 8))
def test_perfect_equality_pairwise_any_sign(c, n):
    assert fairness([c] * n, scale=3.0) == 1.0


@PROPS
@given(returns(0.1, 1000), st.floats(0.01, 100))
def test_scale_invariant_metrics(x, c):
    for name in ("equality", "cv", "jain", "min_max_ratio"):
        assert fairness(c * x, name) == pytest.approx(fairness(x, name), rel=1e-9), name


@PROPS
@given(returns(), st.floats(0.01, 100))
def test_gap_metrics_scale_linearly(x, c):
    for name in ("max_min_gap", "mean_abs_difference"):
        assert fairness(c * x, name) == pytest.approx(c * fairness(x, name), rel=1e-9, abs=1e-9), name


@PROPS
@given(returns(), st.floats(0.01, 100), st.floats(-1000, 1000))
def test_pairwise_equality_scale_and_shift_invariant(x, c, shift):
    s = span(x)
    base = fairness(x, scale=s)
    assert fairness(c * x, scale=c * s) == pytest.approx(base, abs=1e-9)
    assert fairness(x + shift, scale=s) == pytest.approx(base, abs=1e-9)


@PROPS
@given(returns(), st.floats(0, 100))
def test_pairwise_equality_bounded_within_scale(x, extra):
    gap = float(np.max(x) - np.min(x))
    assume(gap + extra > 0)
    value = fairness(x, scale=gap + extra)  # extra = 0: the widest gap equals the scale
    assert 0.0 <= value <= 1.0


@PROPS
@given(returns())
def test_ggf_default_weights_hand_formula(x):
    hand = sum(v / 2**i for i, v in enumerate(sorted(x.tolist())))
    assert fairness(x, "ggf") == pytest.approx(hand, rel=1e-12, abs=1e-12)


@PROPS
@given(returns(0, 100), st.data(), st.floats(0, 1))
def test_pigou_dalton_transfer_never_hurts(x, data, t):
    i, j = data.draw(st.lists(st.integers(0, len(x) - 1), min_size=2, max_size=2, unique=True))
    if x[i] > x[j]:
        i, j = j, i  # i poorer, j richer
    delta = t * (x[j] - x[i]) / 2  # order of i and j is kept
    y = x.copy()
    y[i] += delta
    y[j] -= delta
    s = span(x)
    for name in ("equality", "jain", "pairwise_equality", "ggf", "mean_abs_difference"):
        m = METRICS[name]
        kw = {"scale": s} if m.needs_scale else {}
        try:
            before, after = fairness(x, name, **kw), fairness(y, name, **kw)
        except UndefinedMetricError:
            assert x.sum() == 0  # only all-zero returns are outside these domains
            continue
        if m.higher_is_fairer:
            assert after >= before - 1e-9, name
        else:
            assert after <= before + 1e-9, name


@PROPS
@given(returns(-50, 50), st.data(), st.floats(0, 1))
def test_pigou_dalton_with_negative_returns(x, data, t):
    i, j = data.draw(st.lists(st.integers(0, len(x) - 1), min_size=2, max_size=2, unique=True))
    if x[i] > x[j]:
        i, j = j, i
    delta = t * (x[j] - x[i]) / 2
    y = x.copy()
    y[i] += delta
    y[j] -= delta
    assert fairness(y, scale=span(x)) >= fairness(x, scale=span(x)) - 1e-9
    assert fairness(y, "ggf") >= fairness(x, "ggf") - 1e-9
    assert fairness(y, "mean_abs_difference") <= fairness(x, "mean_abs_difference") + 1e-9


# ------------------------------------------------------------------- error paths
@pytest.mark.parametrize(
    "x, message",
    [
        ([], "at least 2 agents"),
        ([1.0], "at least 2 agents"),
        (3.0, "1-D"),
        ([[1.0, 2.0], [3.0, 4.0]], "1-D"),
        ([1.0, float("nan")], "finite"),
        ([1.0, float("inf")], "finite"),
        ([1.0, -float("inf")], "finite"),
        (["a", "b"], "real numbers"),
        ([1 + 1j, 2], "real numbers"),
        ([[1, 2], [3]], "real numbers"),
    ],
)
def test_bad_returns(x, message):
    with pytest.raises(ValueError, match=message):
        fairness(x, "max_min_gap")
    with pytest.raises(ValueError, match=message):
        all_metrics(x, scale=1.0)


@pytest.mark.parametrize(
    "metric, x, message",
    [
        ("equality", [1.0, -1.0], "negative.*pairwise_equality"),
        ("equality", [0.0, 0.0], "sum to 0.*pairwise_equality"),
        ("cv", [-1.0, 1.0], "mean"),
        ("cv", [0.0, 0.0], "mean"),
        ("jain", [2.0, -1.0], "negative"),
        ("jain", [0.0, 0.0], "every return is 0"),
        ("min_max_ratio", [1.0, -1.0], "negative"),
        ("min_max_ratio", [0.0, 0.0], "every return is 0"),
        ("alpha_fair", [1.0, 0.0], "> 0"),
    ],
)
def test_undefined_domain(metric, x, message):
    with pytest.raises(UndefinedMetricError, match=message):
        fairness(x, metric)
    assert issubclass(UndefinedMetricError, ValueError)
    assert math.isnan(all_metrics(x, scale=10.0)[metric])


@pytest.mark.parametrize("typo", ["jian", "JAIN", "Min-Max-Ratio"])
def test_unknown_metric_suggests_nearest(typo):
    with pytest.raises(ValueError, match=f"unknown fairness metric '{typo}'") as info:
        fairness([1, 2], typo)
    assert re.search(r"\(did you mean '(jain|min_max_ratio)'\?\)", str(info.value))  # any case, - or _
    assert all(name in str(info.value) for name in METRICS)
    with pytest.raises(ValueError, match="valid fairness metrics: ") as info:
        fairness([1, 2], "zzz")
    assert "did you mean" not in str(info.value)


def test_missing_scale_explains_itself():
    with pytest.raises(ValueError, match=r"needs `scale`.*env\.unwrapped\.return_scale"):
        fairness([1.0, 2.0])


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_scale(scale):
    with pytest.raises(ValueError, match="scale must be"):
        fairness([1.0, 2.0], scale=scale)
    with pytest.raises(ValueError, match="scale must be"):
        all_metrics([1.0, 2.0], scale=scale)


def test_gap_above_scale_is_not_clipped():
    with pytest.raises(ValueError, match="exceed the stated scale"):
        fairness([0.0, 11.0], scale=10.0)
    with pytest.raises(ValueError, match="exceed the stated scale"):
        all_metrics([0.0, 11.0], scale=10.0)
    # float rounding of a sum of stage rewards is tolerated, not an error
    assert fairness([0.0, 0.1 + 0.2], scale=0.3) == 0.0


@pytest.mark.parametrize(
    "metric, kw, message",
    [
        ("jain", {"alpha": 2}, r"'jain' got unexpected parameter\(s\) alpha; it accepts: no parameters"),
        ("alpha_fair", {"weights": [1, 1]}, "it accepts: alpha"),
        ("ggf", {"alpha": 1}, "it accepts: weights"),
        ("pairwise_equality", {"scale": 5, "alpha": 1}, "unexpected parameter"),
        ("jain", {"scale": 5}, "does not take `scale`"),
        ("ggf", {"weights": [1, 2]}, "non-increasing"),
        ("ggf", {"weights": [1, -1]}, "non-negative"),
        ("ggf", {"weights": [1, 0.5, 0.25]}, "one entry per agent"),
        ("alpha_fair", {"alpha": -1}, "alpha >= 0"),
        ("alpha_fair", {"alpha": float("nan")}, "alpha >= 0"),
    ],
)
def test_bad_params(metric, kw, message):
    with pytest.raises(ValueError, match=message):
        fairness([1.0, 2.0], metric, **kw)
