"""Evaluation numbers from hand-built episodes: trajectory fairness, per-stage fair-action rates, the table."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairlead.envs.stackelberg import StageRecord
from fairlead.experiments.comparison import csv_text
from fairlead.experiments.report import summary_table
from fairlead.fairness import DEFAULT_METRIC, all_metrics, fairness
from fairlead.trainers.evaluation import HEADLINE, stage_returns, summarise, trajectory_fairness
from fairlead.trainers.jamql import EpisodeResult

P2 = ["player_0", "player_1"]
P3 = ["player_0", "player_1", "player_2"]


def episode(players, stage_rewards, leaders=None, fair=None) -> EpisodeResult:
    """An episode whose stage ``t`` pays ``stage_rewards[t]`` (one number per player, in ``players`` order)."""
    T = len(stage_rewards)
    leaders = list(leaders) if leaders is not None else [t % len(players) for t in range(T)]
    fair = tuple(fair) if fair is not None else (True,) * T
    stages = tuple(
        StageRecord(
            t, players[leaders[t]], dict.fromkeys(players, 0), {p: float(r) for p, r in zip(players, rewards)}, fair[t]
        )
        for t, rewards in enumerate(stage_rewards)
    )
    returns = np.cumsum(np.array(stage_rewards, dtype=float), axis=0)[-1]
    return EpisodeResult(
        returns=returns, returns_after_transfer=returns.copy(), leaders=tuple(leaders), leader_fair=fair, stages=stages
    )


def final_fairness(e: EpisodeResult, scale: float) -> float:
    return fairness(e.returns, DEFAULT_METRIC, scale=scale)


# ------------------------------------------------------------ trajectory fairness
def test_default_metric_is_pairwise_equality():
    """The hand computations below are for pairwise_equality: 1 - mean_{i<j} |G_i - G_j| / scale."""
    assert DEFAULT_METRIC == "pairwise_equality" and HEADLINE == "fairness_pairwise_equality"


def test_fair_only_at_the_end_scores_below_the_final_fairness():
    # 2 stages paying in [0, 1]: scale = 2 * (1 - 0) = 2
    e = episode(P2, [(1, 0), (0, 1)])
    assert stage_returns(e, P2).tolist() == [[1, 0], [1, 1]]
    # after stage t of T the scale is scale * t / T: after stage 1: 1 - |1 - 0| / 1 = 0; after stage 2: 1 - 0 = 1
    assert trajectory_fairness(e, P2, scale=2) == pytest.approx((0.0 + 1.0) / 2)
    assert final_fairness(e, 2) == 1.0
    row = summarise([e], P2, scale=2)
    assert row["trajectory_fairness"] == pytest.approx(0.5) and row[HEADLINE] == 1.0


def test_three_player_rotation_by_hand():
    # 3 stages paying in [0, 2]: scale = 3 * 2 = 6
    e = episode(P3, [(2, 0, 0), (0, 2, 0), (0, 0, 2)])
    # G_1 = (2,0,0): gaps 2, 2, 0 -> mean 4/3 -> 1 - (4/3)/2 = 1/3 (scale after one stage: 2)
    # G_2 = (2,2,0): gaps 0, 2, 2 -> 1 - (4/3)/4 = 2/3;  G_3 = (2,2,2) -> 1
    assert trajectory_fairness(e, P3, scale=6) == pytest.approx((1 / 3 + 2 / 3 + 1) / 3)
    assert final_fairness(e, 6) == 1.0


def test_staying_fair_throughout_beats_evening_out_late():
    # 4 stages paying in [0, 1]: scale 4; both end at (2, 2)
    alternating = episode(P2, [(1, 0), (0, 1), (1, 0), (0, 1)])  # G: (1,0) (1,1) (2,1) (2,2)
    lopsided = episode(P2, [(1, 0), (1, 0), (0, 1), (0, 1)])  # G: (1,0) (2,0) (2,1) (2,2)
    assert final_fairness(alternating, 4) == final_fairness(lopsided, 4) == 1.0
    # scales after stages 1..4: 1, 2, 3, 4
    assert trajectory_fairness(alternating, P2, 4) == pytest.approx((0 + 1 + 2 / 3 + 1) / 4)
    assert trajectory_fairness(lopsided, P2, 4) == pytest.approx((0 + 0 + 2 / 3 + 1) / 4)
    row = summarise([alternating, lopsided], P2, scale=4)
    assert row["trajectory_fairness"] == pytest.approx((2 / 3 + 5 / 12) / 2)  # averaged over episodes
    assert row[HEADLINE] == 1.0


def test_negative_rewards_are_fine_for_the_default_metric():
    e = episode(P2, [(-3, 1), (1, -3)])  # stage payoffs in [-3, 1]: scale 2 * 4 = 8, after one stage 4
    assert trajectory_fairness(e, P2, scale=8) == pytest.approx((1 - 4 / 4 + 1) / 2)


def test_stage_records_must_account_for_the_returns():
    e = episode(P2, [(1, 0), (0, 1)])
    wrong = EpisodeResult(np.array([2.0, 1.0]), np.array([2.0, 1.0]), e.leaders, e.leader_fair, e.stages)
    with pytest.raises(ValueError, match="do not account for the returns"):
        summarise([wrong], P2, scale=2)
    empty = EpisodeResult(e.returns, e.returns, e.leaders, e.leader_fair, ())
    with pytest.raises(ValueError, match="no stage records"):
        trajectory_fairness(empty, P2, scale=2)


# ----------------------------------------------------------- fair-action rates
def test_fair_action_rate_per_stage_and_last():
    rows = [(True, True, False), (True, False, False), (True, True, True)]
    episodes = [episode(P2, [(1, 0), (0, 1), (0, 0)], fair=f) for f in rows]
    row = summarise(episodes, P2, scale=3)
    assert [row[f"fair_action_rate_stage_{t}"] for t in range(3)] == pytest.approx([1, 2 / 3, 1 / 3])
    assert "fair_action_rate_stage_3" not in row
    assert row["fair_action_rate_last"] == pytest.approx(1 / 3)
    assert row["fair_action_rate"] == pytest.approx(6 / 9)  # unchanged meaning: share of all stages


def test_every_existing_column_is_kept_and_the_new_ones_follow():
    e = episode(P2, [(1, 0), (0, 1)], leaders=[0, 0], fair=[True, False])
    row = summarise([e], P2, scale=2)
    assert list(row)[:2] == [HEADLINE, "fairness_equality"]
    assert row["return_player_0"] == 1 and row["total_return"] == 2
    assert row["leader_share_player_0"] == 1 and row["leader_share_player_1"] == 0
    assert list(row)[-5:] == [
        "fair_action_rate",
        "trajectory_fairness",
        "fair_action_rate_last",
        "fair_action_rate_stage_0",
        "fair_action_rate_stage_1",
    ]


def test_episodes_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="different lengths"):
        summarise([episode(P2, [(1, 0)]), episode(P2, [(1, 0), (0, 1)])], P2, scale=2)


def test_csv_of_runs_with_different_horizons():
    short = {"method": "a", "seed": 0, **summarise([episode(P2, [(1, 0), (0, 1)])], P2, scale=2)}
    long = {"method": "a", "seed": 0, **summarise([episode(P2, [(1, 0), (0, 1), (1, 0)])], P2, scale=3)}
    for rows in ([short, short], [long]):  # each run has one horizon
        header = csv_text(rows).splitlines()[0].split(",")
        assert header == list(rows[0])
    mixed = csv_text([short, long]).splitlines()  # rows of an older version: the union, blanks where missing
    assert mixed[0].split(",")[-1] == "fair_action_rate_stage_2" and mixed[1].endswith(",")


# ------------------------------------------------------------------ properties
LO, HI = -5.0, 5.0
reward = st.floats(LO, HI, allow_nan=False)


@st.composite
def episodes(draw, n=None, T=None):
    n = n or draw(st.integers(2, 5))
    T = T or draw(st.integers(1, 8))
    rewards = draw(st.lists(st.lists(reward, min_size=n, max_size=n), min_size=T, max_size=T))
    fair = draw(st.lists(st.booleans(), min_size=T, max_size=T))
    players = [f"player_{i}" for i in range(n)]
    return players, rewards, fair, T * (HI - LO)


@given(episodes())
def test_trajectory_fairness_is_in_the_metric_range(case):
    players, rewards, fair, scale = case
    value = trajectory_fairness(episode(players, rewards, fair=fair), players, scale)
    assert 0.0 <= value <= 1.0


@given(episodes())
def test_trajectory_fairness_is_the_mean_of_the_metric_stage_by_stage_bit_for_bit(case):
    # the compiled rule against its definition: the default metric of each G_t against scale t / T, then np.mean
    players, rewards, fair, scale = case
    e = episode(players, rewards, fair=fair)
    T = len(rewards)
    by_stage = [fairness(g, DEFAULT_METRIC, scale=scale * t / T) for t, g in enumerate(stage_returns(e, players), 1)]
    assert trajectory_fairness(e, players, scale) == float(np.mean(by_stage))


def test_returns_so_far_beyond_the_spread_attainable_so_far_are_refused_by_the_metric():
    # G_1 = (3, 0) with scale 4 over 2 stages: a gap of 3 where one stage attains at most 2
    e = episode(P2, [(3, 0), (0, 1)])
    assert final_fairness(e, 4) == 0.5
    with pytest.raises(ValueError, match="returns exceed the stated scale: largest gap .* = 3 > scale = 2"):
        trajectory_fairness(e, P2, 4)


@given(episodes(), st.lists(st.floats(LO, HI, allow_nan=False), min_size=0, max_size=6))
def test_a_gap_that_never_closes_weighs_more_early(case, equal_pay):
    """When every stage after the first pays everyone the same, the first stage's gap stays: judged
    against the spread attainable so far it is least fair early, so trajectory <= final fairness."""
    players, rewards, _, _ = case
    rewards = [rewards[0], *([c] * len(players) for c in equal_pay)]
    scale = len(rewards) * (HI - LO)
    e = episode(players, rewards)
    assert trajectory_fairness(e, players, scale) <= final_fairness(e, scale) + 1e-12
    if all(r == rewards[0][0] for r in rewards[0]):  # every stage pays everyone equally: perfectly fair
        assert trajectory_fairness(e, players, scale) == 1.0


@given(episodes(), st.randoms(use_true_random=False))
def test_permuting_the_players_changes_nothing(case, rng):
    players, rewards, fair, scale = case
    order = list(range(len(players)))
    rng.shuffle(order)
    e = episode(players, rewards, fair=fair)
    permuted = episode(
        [players[i] for i in order],
        [[r[i] for i in order] for r in rewards],
        leaders=[order.index(k) for k in e.leaders],
        fair=fair,
    )
    assert permuted.stages[0].rewards == e.stages[0].rewards and permuted.stages[0].leader == e.stages[0].leader
    a = summarise([e], players, scale)
    b = summarise([permuted], [players[i] for i in order], scale)
    assert b["trajectory_fairness"] == pytest.approx(a["trajectory_fairness"], abs=1e-12)
    for key in ("fair_action_rate", "fair_action_rate_last", HEADLINE):
        assert b[key] == pytest.approx(a[key], abs=1e-12)


@given(st.integers(1, 8).flatmap(lambda T: st.lists(episodes(n=3, T=T), min_size=1, max_size=5)))
def test_stage_rates_average_to_the_overall_rate(cases):
    players, _, _, scale = cases[0]
    row = summarise([episode(players, r, fair=f) for _, r, f, _ in cases], players, scale)
    T = len(cases[0][1])
    by_stage = [row[f"fair_action_rate_stage_{t}"] for t in range(T)]
    assert row["fair_action_rate"] == pytest.approx(np.mean(by_stage))
    assert row["fair_action_rate_last"] == by_stage[-1]
    assert all(0 <= r <= 1 for r in by_stage)


# ----------------------------------------------------------------------- table
def table_rows(method, seeds, **values):
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


def test_summary_table_columns_and_single_seed():
    table = summary_table(table_rows("a", 2) + table_rows("b", 1), ["a", "b"], HEADLINE, interval="t")
    lines = table.splitlines()
    assert lines[0] == (
        "| method | seeds | fairness | fairness IQM | total return | trajectory fairness "
        "| fair-action rate | fair-action rate, last stage |"
    )
    assert lines[1] == "|---|---|---|---|---|---|---|---|"
    a = lines[2].strip("|").split("|")
    assert [c.strip() for c in a[:3]] == ["a", "2", "0.550 ± 0.635"]  # 12.706 * 0.0707 / sqrt(2)
    assert lines[3] == (
        "| b | 1 | 0.500 ± n/a | 0.500 [n/a] | 10.000 ± n/a | 0.400 ± n/a | 0.250 ± n/a | 0.000 ± n/a |"
    )
    assert "nan" not in table and "Mean ± half-width of the 95% Student-t interval over the seeds" in table


def test_summary_table_shows_n_a_for_numbers_a_row_lacks():
    rows = table_rows("a", 2)
    for r in rows:
        del r["trajectory_fairness"]
    line = summary_table(rows, ["a"], HEADLINE).splitlines()[2]
    assert line.split("|")[6].strip() == "n/a" and "nan" not in line
    assert not math.isnan(float(line.split("|")[3].split("[")[0]))


@given(st.lists(st.lists(st.floats(-10, 10, allow_nan=False), min_size=3, max_size=3), min_size=1, max_size=140))
def test_each_fairness_column_is_the_plain_mean_of_its_episodes_to_the_last_bit(finals):
    """summarise averages every metric over the episodes as np.mean of that metric's values (bit for bit)."""
    episodes = [episode(P3, [[0.0, 0.0, 0.0], r]) for r in finals]
    row = summarise(episodes, P3, scale=100.0)
    per_episode = [all_metrics(e.returns, scale=100.0) for e in episodes]
    for metric in per_episode[0]:
        expected = float(np.mean([m[metric] for m in per_episode]))
        assert row[f"fairness_{metric}"] == expected or math.isnan(expected) and math.isnan(row[f"fairness_{metric}"])
