"""The report's statistics: bootstrap and Student-t intervals, the IQM, the summary table."""

import inspect
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairlead.experiments.report import (
    RESAMPLES,
    bootstrap_distribution,
    bootstrap_seed,
    cell,
    interval,
    iqm,
    mean_ci,
    summary_table,
)
from fairlead.trainers.evaluation import HEADLINE

SAMPLE = [0.91, 0.97, 0.88, 0.99, 0.95, 0.93, 0.96]


# ------------------------------------------------------------------------------------- bootstrap
def test_bootstrap_interval_contains_the_mean_and_stays_in_the_data():
    point, low, high = interval(SAMPLE)
    assert point == pytest.approx(np.mean(SAMPLE))
    assert min(SAMPLE) <= low < point < high <= max(SAMPLE)


def test_bootstrap_interval_shrinks_with_more_seeds():
    widths = []
    for copies in (1, 4, 16):  # the same spread of values, 7, 28 and 112 seeds
        _, low, high = interval(SAMPLE * copies)
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] == pytest.approx(4, rel=0.2)  # ~ 1 / sqrt(n)


def test_bootstrap_interval_is_deterministic_and_ignores_the_order():
    first = interval(SAMPLE)
    assert interval(SAMPLE) == first  # bit for bit
    assert interval(list(reversed(SAMPLE))) == first
    assert interval(np.array(SAMPLE)) == first
    assert interval(SAMPLE[:-1] + [0.9600000000000001]) != first  # the seed follows the values


def test_bootstrap_matches_a_hand_computed_percentile_bootstrap():
    x = np.sort(SAMPLE)
    rng = np.random.default_rng(bootstrap_seed(SAMPLE))
    means = x[rng.integers(0, len(x), (RESAMPLES, len(x)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    assert interval(SAMPLE)[1:] == (low, high)


def test_bootstrap_of_a_tiny_sample_matches_its_exact_bootstrap_distribution():
    # [0, 0, 1]: a resample's mean is k/3 with k ~ Binomial(3, 1/3); P(k = 0) = 8/27 > 2.5%,
    # P(k <= 2) = 26/27 < 97.5%, so the exact 95% percentile interval is [0, 1].
    assert interval([0.0, 0.0, 1.0]) == (pytest.approx(1 / 3), 0.0, 1.0)
    # [0, 1]: means 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4: again [0, 1]
    assert interval([1.0, 0.0]) == (0.5, 0.0, 1.0)
    # the exact distribution of 5 values (all 5^5 resamples) against the 10,000 drawn ones
    x = np.array([0.2, 0.5, 0.55, 0.9, 1.0])
    exact = np.array([x[list(i)].mean() for i in itertools.product(range(5), repeat=5)])
    low, high = np.percentile(exact, [2.5, 97.5])
    assert interval(x)[1:] == (pytest.approx(low, abs=0.01), pytest.approx(high, abs=0.01))


@pytest.mark.parametrize("statistic", ["mean", "iqm"])
def test_bootstrap_is_scipys_percentile_bootstrap(statistic):
    stats = pytest.importorskip("scipy.stats")
    x = np.sort(np.random.default_rng(3).random(9))
    fun = np.mean if statistic == "mean" else (lambda a, axis: stats.trim_mean(a, 0.25, axis=axis))
    rng = np.random.default_rng(bootstrap_seed(x))
    key = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    ref = stats.bootstrap((x,), fun, n_resamples=RESAMPLES, method="percentile", vectorized=True, **{key: rng})
    mine = bootstrap_distribution(x, statistic)
    np.testing.assert_allclose(mine, ref.bootstrap_distribution, rtol=1e-14)  # the same resamples
    _, low, high = interval(x, statistic=statistic)
    assert (low, high) == (
        pytest.approx(ref.confidence_interval.low, rel=1e-12),
        pytest.approx(ref.confidence_interval.high, rel=1e-12),
    )


def test_tied_seeds_give_a_zero_width_interval_shown_honestly():
    assert interval([0.5] * 4) == (0.5, 0.5, 0.5)
    assert cell([0.5] * 4, "bootstrap") == "0.500 [0.500, 0.500]"
    assert cell([0.5] * 4, "t") == "0.500 ± 0.000"


def test_one_seed_has_no_interval_and_a_missing_number_no_point():
    assert interval([0.7])[0] == 0.7 and all(math.isnan(v) for v in interval([0.7])[1:])
    assert cell([0.7], "bootstrap") == "0.700 [n/a]"
    assert cell([0.7]) == "0.700 ± n/a"
    for values in ([], [0.5, math.nan]):
        assert all(math.isnan(v) for v in interval(values))
        assert cell(values, "bootstrap") == "n/a"


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown interval kind 'normal'"):
        interval(SAMPLE, "normal")
    with pytest.raises(ValueError, match="unknown statistic"):
        interval(SAMPLE, statistic="median")
    with pytest.raises(ValueError, match="mean only"):
        interval(SAMPLE, "t", statistic="iqm")
    with pytest.raises(ValueError, match="unknown interval kind"):
        summary_table([], [], HEADLINE, interval="normal")


# ---------------------------------------------------------------------------------------------- t
def test_t_interval_is_unchanged():
    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert half == pytest.approx(3.182 * np.std([1, 2, 3, 4], ddof=1) / 2)
    assert interval([1.0, 2.0, 3.0, 4.0], "t") == (mean, mean - half, mean + half)
    mean, half = mean_ci(SAMPLE)
    assert interval(SAMPLE, "t") == (mean, mean - half, mean + half)
    assert cell([0.5, 0.6]) == "0.550 ± 0.635"  # 12.706 * 0.0707 / sqrt(2), as before
    assert cell([1.0, 2.0, 3.0, 4.0], "t") == "2.500 ± 2.054"


# -------------------------------------------------------------------------------------------- IQM
def test_iqm_on_known_inputs():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == 4.5  # 2 cut from each end: mean of 3..6
    assert iqm([1, 2, 3, 100]) == 2.5  # the outlier is cut
    assert iqm([5, 1, 3]) == 3.0  # fewer than 4 values: the mean
    assert iqm([0.25]) == 0.25
    stats = pytest.importorskip("scipy.stats")
    for n in range(1, 25):
        x = np.random.default_rng(n).normal(size=n)
        assert iqm(x) == pytest.approx(stats.trim_mean(x, 0.25), rel=1e-12)


def test_iqm_interval_resists_an_outlier():
    values = [0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.1]
    point, low, high = interval(values, statistic="iqm")
    assert point == pytest.approx(iqm(values)) and low <= point <= high
    assert high - low < interval(values)[2] - interval(values)[1]


# ------------------------------------------------------------------------------------- properties
samples = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=25)


@settings(max_examples=60, deadline=None)
@given(samples, st.sampled_from(["mean", "iqm"]))
def test_interval_contains_its_point_and_stays_in_the_range(values, statistic):
    point, low, high = interval(values, statistic=statistic, resamples=500)
    assert low <= point <= high
    slack = 1e-9 * max(1.0, max(map(abs, values)))
    assert min(values) - slack <= low and high <= max(values) + slack


@settings(max_examples=40, deadline=None)
@given(samples.flatmap(lambda v: st.tuples(st.just(v), st.permutations(v))), st.sampled_from(["bootstrap", "t"]))
def test_interval_ignores_the_order_of_the_seeds(pair, kind):
    values, shuffled = pair
    if kind == "bootstrap":
        assert interval(shuffled, kind, resamples=500) == interval(values, kind, resamples=500)
    else:
        assert interval(shuffled, kind) == pytest.approx(interval(values, kind), rel=1e-9, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=12))
def test_bounded_metric_keeps_its_bounds(values):
    _, low, high = interval(values, resamples=500)
    assert -1e-12 <= low and high <= 1 + 1e-12  # unlike the t-interval, e.g. 0.333 ± 1.434 for [0, 0, 1]


# ------------------------------------------------------------------------------------------ table
def rows(method, seeds, **values):
    return [
        {
            "method": method,
            "seed": s,
            HEADLINE: 0.5 + s / 10,
            "total_return": 10.0 + s,
            "trajectory_fairness": 0.4,
            "fair_action_rate": 0.25,
            "fair_action_rate_last": 0.0,
            **values,
        }
        for s in range(seeds)
    ]


HEADER = (
    "| method | seeds | fairness | fairness IQM | total return | trajectory fairness | fair-action rate "
    "| fair-action rate, last stage |"
)


def cells(line):
    return [c.strip() for c in line.strip("|").split("|")]


def test_summary_table_bootstrap():
    table = summary_table(rows("a", 5) + rows("b", 1), ["a", "b"], HEADLINE)
    lines = table.splitlines()
    assert lines[0] == HEADER and lines[1] == "|---|---|---|---|---|---|---|---|"
    a = cells(lines[2])
    assert a[:2] == ["a", "5"]
    assert a[2] == cell([0.5, 0.6, 0.7, 0.8, 0.9], "bootstrap")
    point, low, high = interval([0.5, 0.6, 0.7, 0.8, 0.9], statistic="iqm")
    assert a[3] == f"{point:.3f} [{low:.3f}, {high:.3f}]" and point == pytest.approx(0.7)
    assert a[5:] == ["0.400 [0.400, 0.400]", "0.250 [0.250, 0.250]", "0.000 [0.000, 0.000]"]  # tied seeds
    assert cells(lines[3]) == [
        "b",
        "1",
        "0.500 [n/a]",
        "0.500 [n/a]",
        "10.000 [n/a]",
        "0.400 [n/a]",
        "0.250 [n/a]",
        "0.000 [n/a]",
    ]
    assert "95% percentile bootstrap interval" in table and "10,000 resamples" in table and "nan" not in table
    assert summary_table(rows("a", 5), ["a"], HEADLINE) == summary_table(rows("a", 5)[::-1], ["a"], HEADLINE)


def test_summary_table_t():
    table = summary_table(rows("a", 2) + rows("b", 1), ["a", "b"], HEADLINE, interval="t")
    lines = table.splitlines()
    assert lines[0] == HEADER
    a = cells(lines[2])
    assert a[2] == "0.550 ± 0.635" and a[3] == cell([0.5, 0.6], "bootstrap")  # the IQM keeps its bootstrap interval
    assert cells(lines[3])[2:] == [
        "0.500 ± n/a",
        "0.500 [n/a]",
        "10.000 ± n/a",
        "0.400 ± n/a",
        "0.250 ± n/a",
        "0.000 ± n/a",
    ]
    assert "Student-t" in table


def test_summary_table_reads_rows_of_a_csv_file_and_missing_numbers():
    data = [{k: str(v) for k, v in r.items()} for r in rows("a", 3)]
    for r in data:
        r["trajectory_fairness"] = ""  # an older version's row
    line = summary_table(data, ["a"], HEADLINE).splitlines()[2]
    assert cells(line)[5] == "n/a" and cells(line)[2] == cell([0.5, 0.6, 0.7], "bootstrap")
