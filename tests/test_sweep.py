"""`fairlead sweep`: a grid of env arguments x methods x seeds, one run directory per cell, claims per cell."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import SLOW, children, tree_digest, wait_dead

from fairlead.cli import main
from fairlead.experiments import sweep as sweeping
from fairlead.experiments.sweep import cells, grid_items, parse_grid

TINY = ["--env", "chicken_v0", "--seeds", "2", "--episodes", "20", "--jobs", "1", "--no-progress"]
GRID = ["--grid", "n_agents=2,3", "max_cycles=2,3"]
PLOT = importlib.util.find_spec("matplotlib") is not None  # the plot extra (in the test extra)
HEATMAPS = ["fair_action_rate.png", "fairness_margin.png", "verdicts.png"]
CELLS = ["n_agents-2_max_cycles-2", "n_agents-2_max_cycles-3", "n_agents-3_max_cycles-2", "n_agents-3_max_cycles-3"]


def sweep_cli(out, *extra, grid=GRID, method="jamql,fixed,catch-up", options=TINY) -> int:
    return main(["sweep", *options, *grid, "--method", method, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """One sweep of 4 cells x 3 methods x 2 seeds (20 episodes), and what it printed."""
    out = tmp_path_factory.mktemp("sweep") / "chicken"
    capture = tmp_path_factory.mktemp("printed") / "stdout"
    with open(capture, "w") as sink, pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdout", sink)
        assert sweep_cli(out) == 0
    return out, capture.read_text()


@pytest.fixture
def no_matplotlib(monkeypatch):
    """As without the plot extra (and faster: no figure is drawn)."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def same_files(a: Path, b: Path) -> bool:
    """The same files with the same bytes, but for the cells' summary.md, which name their own path without figures."""

    def files(folder):
        return {
            p.relative_to(folder): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not (p.name == "summary.md" and p.parent != folder)
        }

    return files(a) == files(b)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------------------------------- end to end
def test_a_sweep_writes_a_run_directory_per_cell_a_csv_a_summary_and_heatmaps(swept):
    out, printed = swept
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*CELLS, "sweep.json", "sweep.csv", "summary.md", *(HEATMAPS if PLOT else [])]
    )
    summary = (out / "summary.md").read_text()
    assert summary in printed
    assert summary.startswith("# fairlead sweep: chicken_v0 over n_agents x max_cycles (4 cells)")
    assert "The subject is jamql" in summary
    for claim in ("leaders act fairly (rate >= 0.9)", "fairer than fixed", "fairer than catch-up"):
        assert re.search(rf"^\| {re.escape(claim)} \| \d of 4 \| \d of 4 \| \d of 4 \|$", summary, re.M), claim
    assert "[summary](n_agents-3_max_cycles-2/summary.md)" in summary
    record = json.loads((out / "sweep.json").read_text())
    assert record["grid"] == {"n_agents": [2, 3], "max_cycles": [2, 3]}
    assert record["methods"] == ["jamql", "fixed", "catch-up"] and record["seeds"] == [0, 1]
    for cell in CELLS:
        rows = read_csv(out / cell / "metrics.csv")
        assert {(r["method"], r["seed"]) for r in rows} == {
            (m, s) for m in ("jamql", "fixed", "catch-up") for s in "01"
        }


def test_sweep_csv_has_one_row_per_cell_and_method_with_intervals_and_the_subjects_verdicts(swept):
    out, _ = swept
    rows = read_csv(out / "sweep.csv")
    numbers = [
        f"{c}{s}"
        for c in ("fairness_pairwise_equality", "fair_action_rate", "total_return")
        for s in ("", "_low", "_high")
    ]
    assert list(rows[0]) == [
        "n_agents",
        "max_cycles",
        "cell",
        "method",
        "seeds",
        *numbers,
        "fairness_margin",
        "best_baseline",
        "verdict_leaders_act_fairly",
        "verdict_fairer_than_fixed",
        "verdict_fairer_than_catch-up",
    ]
    assert [(r["cell"], r["method"]) for r in rows] == [(c, m) for c in CELLS for m in ("jamql", "fixed", "catch-up")]
    verdicts = {"holds", "ties at the ceiling", "does not hold"}
    for row in rows:
        cell = read_csv(out / row["cell"] / "metrics.csv")
        mine = [float(r["fairness_pairwise_equality"]) for r in cell if r["method"] == row["method"]]
        assert float(row["fairness_pairwise_equality"]) == pytest.approx(sum(mine) / len(mine))
        assert (
            float(row["fair_action_rate_low"]) <= float(row["fair_action_rate"]) <= float(row["fair_action_rate_high"])
        )
        assert row["seeds"] == "2" and row["cell"] == f"n_agents-{row['n_agents']}_max_cycles-{row['max_cycles']}"
        filled = [row[k] for k in row if k.startswith("verdict_")] + [row["best_baseline"], row["fairness_margin"]]
        if row["method"] == "jamql":
            assert set(filled[:3]) <= verdicts and row["best_baseline"] in ("fixed", "catch-up")
            others = [r for r in rows if r["cell"] == row["cell"] and r["method"] != "jamql"]
            best = max(float(r["fairness_pairwise_equality"]) for r in others)
            assert float(row["fairness_margin"]) == pytest.approx(float(row["fairness_pairwise_equality"]) - best)
        else:
            assert filled == [""] * 5


def test_with_alternating_among_the_methods_the_sweep_judges_whether_jamql_collects(tmp_path, no_matplotlib):
    """ "total return >= 0.8 x alternating's": fair, but not by collecting less (mean against mean, each cell)."""
    out = tmp_path / "sweep"
    assert sweep_cli(out, grid=["--grid", "n_agents=2,3", "max_cycles=3"], method="jamql,alternating") == 0
    rows = read_csv(out / "sweep.csv")
    assert "verdict_total_return_vs_alternating" in rows[0]
    for cell in ("n_agents-2_max_cycles-3", "n_agents-3_max_cycles-3"):
        total = {r["method"]: float(r["total_return"]) for r in rows if r["cell"] == cell}
        verdict = next(r for r in rows if r["cell"] == cell and r["method"] == "jamql")[
            "verdict_total_return_vs_alternating"
        ]
        assert verdict == ("holds" if total["jamql"] >= 0.8 * total["alternating"] else "does not hold")
    assert re.search(
        r"^\| total return >= 0.8 x alternating's \| \d of 2 \| 0 of 2 \| \d of 2 \|$",
        (out / "summary.md").read_text(),
        re.M,
    )


def test_a_cell_is_byte_identical_to_fairlead_train_with_its_arguments(swept, tmp_path):
    out, _ = swept
    assert (
        main(
            [
                "train",
                *TINY,
                "--n-agents",
                "3",
                "--max-cycles",
                "2",
                "--method",
                "jamql,fixed,catch-up",
                "--out",
                str(tmp_path / "train"),
            ]
        )
        == 0
    )
    assert tree_digest(tmp_path / "train") == tree_digest(out / "n_agents-3_max_cycles-2")


def overlap(a, b) -> bool:
    return a.width > 0 and b.width > 0 and a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def assert_no_overlap(boxes: dict) -> None:
    for (name_a, a), (name_b, b) in itertools.combinations(boxes.items(), 2):
        assert not overlap(a, b), f"{name_a} overlaps {name_b}"


@pytest.mark.skipif(not PLOT, reason="the figures need the plot extra (in the test extra)")
def test_the_heatmaps_show_every_cell_and_nothing_overlaps(swept):
    from fairlead.experiments.figures import heatmap_figure

    out, _ = swept
    assert "![verdicts](verdicts.png)" in (out / "summary.md").read_text()
    for name in HEATMAPS:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    rows = read_csv(out / "sweep.csv")
    rate = [
        [float(r["fair_action_rate"]) for r in rows if r["method"] == "jamql" and r["n_agents"] == n]
        for n in ("2", "3")
    ]
    fig = heatmap_figure({"rate": rate}, ["2", "3"], ["2", "3"], "n_agents", "max_cycles", "t", "rate", "rate")
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == [f"{v:.2f}" for row in rate for v in row]  # the numbers, cell by cell, rows = first key
    many = {f"fairer than method-{i}": [["holds", "does not hold", None] * 4] * 6 for i in range(5)}
    for fig in (
        heatmap_figure(
            many,
            list("345678"),
            [f"{c}, last" for c in range(12)],
            "n_agents",
            "max_cycles, stage_feature",
            "a long title " * 12,
            "verdict",
        ),
        heatmap_figure({"m": [[0.1, -0.2, None]]}, [""], ["a", "b", "c"], "", "k", "t", "margin", "x"),
    ):
        renderer = fig.canvas.get_renderer()
        fig.canvas.draw()
        boxes = {f"panel {i}": ax.get_tightbbox(renderer) for i, ax in enumerate(fig.axes) if ax.get_visible()}
        boxes |= {f"legend {i}": leg.get_window_extent(renderer) for i, leg in enumerate(fig.legends)}
        boxes["title"] = fig._suptitle.get_window_extent(renderer)
        assert_no_overlap(boxes)
        for ax in fig.axes:
            assert_no_overlap({t.get_text(): t.get_window_extent(renderer) for t in ax.get_xticklabels()})


# ------------------------------------------------------------------------------------------- growing
def test_a_sweep_grows_by_methods_and_seeds_and_resumes_with_its_recorded_options(tmp_path, no_matplotlib, capsys):
    grid = ["--grid", "max_cycles=2,3"]
    options = ["--env", "chicken_v0", "--episodes", "20", "--jobs", "1", "--no-progress"]
    out = tmp_path / "grown"
    assert sweep_cli(out, "--seeds", "1", grid=grid, method="fixed", options=options) == 0
    first = {p: p.stat().st_mtime_ns for p in out.rglob("result.json")}
    assert len(first) == 2
    assert sweep_cli(out, "--seeds", "2", grid=grid, method="jamql", options=options) == 0  # the same, grown
    assert {p: p.stat().st_mtime_ns for p in first} == first  # trained once
    assert json.loads((out / "sweep.json").read_text())["methods"] == ["fixed", "jamql"]
    assert {r["method"] for r in read_csv(out / "sweep.csv")} == {"fixed", "jamql"}
    assert 'Figures: `pip install "fairlead[plot]"`' in (out / "summary.md").read_text()
    assert not list(out.glob("*.png"))
    done = {p: p.stat().st_mtime_ns for p in out.rglob("result.json")}
    assert len(done) == 2 * 2 * 2
    assert main(["sweep", "--out", str(out), "--no-progress", "--jobs", "1"]) == 0  # the recorded options
    assert {p: p.stat().st_mtime_ns for p in out.rglob("result.json")} == done
    at_once = tmp_path / "at-once"
    assert sweep_cli(at_once, "--seeds", "2", grid=grid, method="fixed,jamql", options=options) == 0
    assert same_files(out, at_once)  # as if trained at once


def test_another_grid_env_or_budget_into_a_sweep_is_refused_and_changes_nothing(tmp_path, no_matplotlib, capsys):
    out = tmp_path / "sweep"
    grid = ["--grid", "max_cycles=2,3"]
    assert sweep_cli(out, grid=grid, method="fixed") == 0
    before = tree_digest(out)
    capsys.readouterr()
    for other, message in [
        (["--grid", "max_cycles=2,4"], "grid.max_cycles (--grid): recorded 'max_cycles=2,3', asked 'max_cycles=2,4'"),
        (
            ["--grid", "max_cycles=2,3", "n_agents=2"],
            "grid (--grid): recorded ['max_cycles'], asked ['max_cycles', 'n_agents']",
        ),
        (
            ["--grid", "max_cycles=2,3", "--episodes", "30"],
            "training.episodes (--episodes or --config): recorded 20, asked 30",
        ),
        (
            ["--grid", "max_cycles=2,3", "--env", "stag_hunt_v0"],
            "env (--env): recorded 'chicken_v0', asked 'stag_hunt_v0'",
        ),
    ]:
        assert main(["sweep", *TINY, "--method", "fixed", "--out", str(out), *other]) == 2
        err = capsys.readouterr().err
        assert f"{out} holds a sweep with other settings" in err and message in err, err
    assert tree_digest(out) == before
    summary = sweeping.sweep(
        tmp_path / "api",
        env="chicken_v0",
        grid={"max_cycles": [2, 3]},
        methods="fixed",
        seeds=2,
        episodes=20,
        jobs=1,
        progress=False,
    )  # the Python API: the CLI's files
    assert summary == (out / "summary.md").read_text() and same_files(out, tmp_path / "api")


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "grid, message",
    [
        (["n_agents"], "--grid item 'n_agents' has no '=': give KEY=VALUE,VALUE,..., e.g. n_agents=3,4,5"),
        (["n_agents="], "--grid n_agents: an empty value"),
        (["n_agents=2,,3"], "--grid n_agents: an empty value"),
        (["n_agents=2", "n_agents=3"], "--grid gives n_agents twice"),
        (["n_agents=2,02"], "--grid n_agents: 2, 2 would be one cell"),
        (
            ["stage_feature=last,LAST"],
            "--grid stage_feature: last, LAST would be one cell (the same value, or values "
            "that differ only in letter case)",
        ),
        (["stage_feature=a/b"], "--grid stage_feature: 'a/b' would not make a portable directory name"),
        (["2n=3"], "--grid item '2n=3': '2n' is not an argument name"),
        (["grid_size=[3,x]"], "--grid grid_size: '[3,x]' is not a list of numbers such as [3,3]"),
        (
            ["n_agent=2,3"],
            "--grid: environment chicken_v0 has no argument 'n_agent' (did you mean 'n_agents'?); "
            "valid arguments: n_agents, max_cycles, stage_feature, obs_encoding, leader, render_mode",
        ),
        (["n_agents=1,2"], "--grid cell n_agents-1: "),
    ],
)
def test_a_bad_grid_is_named_before_anything_is_written(tmp_path, capsys, grid, message):
    out = tmp_path / "sweep"
    assert sweep_cli(out, grid=["--grid", *grid]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fairlead: error: ") and message in err, err
    assert not out.exists()


def test_a_bad_out_or_a_missing_option_is_refused_and_left_untouched(tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    assert sweep_cli(tmp_path / "file") == 2
    assert "is a file; a sweep needs a directory" in capsys.readouterr().err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert sweep_cli(mine) == 2
    assert "holds notes.txt, which a sweep of this grid does not write" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert main(["sweep", *TINY, *GRID, "--out", str(tmp_path / "new")]) == 2
    assert "a new sweep needs --method" in capsys.readouterr().err
    assert main(["sweep", *TINY, "--method", "jamq", *GRID, "--out", str(tmp_path / "new")]) == 2
    assert "unknown method 'jamq' (did you mean 'jamql'?)" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


# ------------------------------------------------------------------------------------------- the grid parser
KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
WORDS = st.from_regex(r"[A-Za-z][A-Za-z0-9.+-]{0,8}", fullmatch=True)
VALUES = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    WORDS,
    st.lists(st.one_of(st.integers(0, 99), st.floats(0, 99)), min_size=1, max_size=3).map(tuple),
)
GRIDS = st.dictionaries(
    KEYS,
    st.lists(VALUES, min_size=1, max_size=3, unique_by=lambda v: sweeping._token(v).lower()).map(tuple),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(GRIDS)
def test_any_well_formed_grid_round_trips_into_distinct_portable_cell_names(grid):
    assert parse_grid(grid_items(grid)) == grid
    named = cells(grid)
    assert len(named) == len({name.lower() for name in named}) == len(list(itertools.product(*grid.values())))
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.+-]*", name) and len(name) <= 200 for name in named)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from("ab_=,[]1.-/ é"), max_size=8), max_size=3))
def test_any_other_grid_is_parsed_and_round_trips_or_raises_a_value_error(items):
    try:
        grid = parse_grid(items)
    except ValueError as err:
        assert str(err).startswith("--grid"), err
    else:
        assert parse_grid(grid_items(grid)) == grid


# ------------------------------------------------------------------------------------------- shards, Ctrl-C
def test_shards_train_their_cells_into_one_directory_and_the_whole_command_then_writes_the_reports(
    tmp_path, no_matplotlib, capsys
):
    out, whole = tmp_path / "sharded", tmp_path / "whole"
    assert sweep_cli(out, "--shard", "1/3") == 0
    assert "shard 1/3: trained the cells n_agents-2_max_cycles-3" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["n_agents-2_max_cycles-3", "sweep.json"]
    for shard in ("0/3", "2/3"):
        assert sweep_cli(out, "--shard", shard) == 0
    trained = {p: p.stat().st_mtime_ns for p in out.rglob("result.json")}
    assert main(["sweep", "--out", str(out), "--no-progress", "--jobs", "1"]) == 0  # trains nothing, reports
    assert {p: p.stat().st_mtime_ns for p in out.rglob("result.json")} == trained
    assert sweep_cli(whole) == 0
    assert same_files(out, whole)
    assert sweep_cli(tmp_path / "none", "--shard", "4/5") == 2
    assert "shard 4/5 of a sweep of 4 cells has none; use at most 4 shards" in capsys.readouterr().err


def test_ctrl_c_stops_the_sweep_and_the_recorded_command_completes_it_identically(tmp_path, started):
    config = tmp_path / "often.toml"
    config.write_text("[training]\ncheckpoint_every = 10\nlog_every = 20\n")
    args = [
        "sweep",
        "--env",
        "chicken_v0",
        "--grid",
        "max_cycles=2,3",
        "--method",
        "fixed",
        "--seeds",
        "1",
        "--episodes",
        "80",
        "--config",
        str(config),
        "--jobs",
        "2",
        "--no-progress",
    ]
    out = tmp_path / "cut"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW, *args, "--engine", "reference", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started.append(proc.pid)
    deadline = time.monotonic() + 60
    while len(list(out.rglob("checkpoint.npz"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    workers = children(proc.pid)
    started.extend(workers)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert err == f"fairlead: interrupted; continue with `fairlead sweep --out {out}`\n"
    assert wait_dead(workers) == []
    assert not (out / "sweep.csv").exists() and not list(out.rglob("result.json"))
    assert main(["sweep", "--out", str(out), "--no-progress", "--jobs", "2"]) == 0
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    assert tree_digest(out) == tree_digest(tmp_path / "whole")


def test_the_benchmark_times_its_sweep_and_prints_its_claims(monkeypatch, capsys):
    """benchmarks/bench_sweep.py on a tiny sweep (its speed is measured by running it, not here)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_sweep.py"
    spec = importlib.util.spec_from_file_location("bench_sweep", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(
        bench,
        "SWEEP",
        [
            "--env",
            "chicken_v0",
            "--grid",
            "max_cycles=2",
            "--method",
            "fixed",
            "--seeds",
            "1",
            "--episodes",
            "5",
            "--no-progress",
        ],
    )
    assert bench.main(["--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"warm numba cache: \d+\.\d s \(runs: \d+\.\d s\)   target <= 120 s: met", printed), printed
    assert re.search(r"^\| leaders act fairly \(rate >= 0\.9\) \| \d of 1 \| \d of 1 \| \d of 1 \|$", printed, re.M)
