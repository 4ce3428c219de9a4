"""The Python API (fairlead.train, evaluate, report, sweep) writes what the commands write, byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import tree_digest

import fairlead
from fairlead.cli import main

TRAIN = dict(env="chicken_v0", methods="jamql,alternating", seeds=2, episodes=30, max_cycles=3)


@pytest.fixture(scope="module")
def by_command(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    assert (
        main(
            [
                "train",
                "--env",
                "chicken_v0",
                "--method",
                "jamql,alternating",
                "--seeds",
                "2",
                "--episodes",
                "30",
                "--max-cycles",
                "3",
                "--out",
                str(out),
                "--no-progress",
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    return out


def test_train_writes_the_commands_bytes_and_returns_its_rows(by_command, tmp_path):
    run = fairlead.train(tmp_path / "run", **TRAIN, progress=False, jobs=1)
    assert tree_digest(run.out) == tree_digest(by_command)
    assert run.table in (by_command / "summary.md").read_text()
    assert {(r["method"], r["seed"]) for r in run.rows} == {(m, s) for m in ("jamql", "alternating") for s in (0, 1)}
    assert all(isinstance(r["fairness_pairwise_equality"], float) for r in run.rows)
    assert {p["episode"] for p in run.curves} >= {30}


def test_train_grows_and_resumes_as_the_command_does(by_command, tmp_path):
    out = tmp_path / "run"
    fairlead.train(out, env="chicken_v0", methods=["jamql"], seeds=2, episodes=30, max_cycles=3, progress=False)
    grown = fairlead.train(out, methods="alternating", progress=False)  # the other options: the recorded run's
    assert tree_digest(grown.out) == tree_digest(by_command)
    (out / "metrics.csv").unlink()
    assert tree_digest(fairlead.train(out, resume=True, progress=False).out) == tree_digest(by_command)


def test_evaluate_report_and_sweep_write_the_commands_bytes(by_command, tmp_path):
    policy = tmp_path / "pol.py"
    policy.write_text("def swerve(agent, observation):\n    return 1\n")
    options = [
        "--env",
        "chicken_v0",
        "--max-cycles",
        "3",
        "--policy",
        f"{policy}:swerve",
        "--selector",
        "catch_up",
        "--seeds",
        "2",
    ]
    assert main(["evaluate", *options, "--out", str(tmp_path / "cli-eval")]) == 0
    scored = fairlead.evaluate(
        tmp_path / "api-eval", "chicken_v0", f"{policy}:swerve", selector="catch_up", seeds=2, max_cycles=3
    )
    assert tree_digest(scored.out) == tree_digest(tmp_path / "cli-eval") and [r["seed"] for r in scored.rows] == [0, 1]

    assert main(["report", str(by_command), str(scored.out), "--out", str(tmp_path / "cli-report")]) == 0
    report = fairlead.report([by_command, scored.out], tmp_path / "api-report")
    assert tree_digest(report.out) == tree_digest(tmp_path / "cli-report")
    assert {r["method"] for r in report.rows} == {"jamql", "alternating", "swerve"}

    grid = ["--grid", "n_agents=2,3", "--method", "fixed", "--seeds", "1", "--episodes", "5", "--no-progress"]
    assert main(["sweep", "--env", "chicken_v0", *grid, "--jobs", "1", "--out", str(tmp_path / "cli-sweep")]) == 0
    swept = fairlead.sweep(
        tmp_path / "api-sweep", "chicken_v0", {"n_agents": (2, 3)}, "fixed", seeds=1, episodes=5, progress=False, jobs=1
    )
    assert tree_digest(swept.out) == tree_digest(tmp_path / "cli-sweep")
    assert len(swept.rows) == 2 and {r["method"] for r in swept.rows} == {"fixed"}


def test_a_new_run_without_env_or_methods_says_what_it_needs(tmp_path):
    with pytest.raises(ValueError, match="a new run needs --env and --method \\(env= and methods= in Python"):
        fairlead.train(tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_importing_fairlead_does_not_load_the_trainers():
    code = "import sys, fairlead; print('fairlead.experiments.runs' in sys.modules, callable(fairlead.train))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("seeds", [0, 10**8, 2.5, True])
def test_a_number_of_seeds_out_of_range_is_refused_before_anything_is_allocated_or_written(tmp_path, seeds):
    calls = [
        lambda: fairlead.train(tmp_path / "run", env="chicken_v0", methods="fixed", seeds=seeds),
        lambda: fairlead.evaluate(tmp_path / "run", "chicken_v0", "x.py:f", selector="fixed", seeds=seeds),
        lambda: fairlead.sweep(tmp_path / "run", "chicken_v0", {"n_agents": (2,)}, "fixed", seeds=seeds),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"expected a number of seeds from 1 to 100,000 \(MAX_SEEDS\), got"):
            call()
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("methods", [5, ["jamql", 3], None.__class__])
def test_methods_that_are_neither_text_nor_names_are_refused_with_the_valid_forms(tmp_path, methods):
    with pytest.raises(TypeError, match="methods must be 'a,b', 'all' or a sequence of method names or .toml paths"):
        fairlead.train(tmp_path / "run", env="chicken_v0", methods=methods)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("grid", [5, "n_agents=2,3"])
def test_a_grid_that_is_neither_a_table_nor_the_commands_items_is_refused(tmp_path, grid):
    with pytest.raises(TypeError, match=r'grid must be \{"key": \[values\]\} or \["key=v1,v2", \.\.\.\]'):
        fairlead.sweep(tmp_path / "sweep", "chicken_v0", grid, "fixed")
    assert not (tmp_path / "sweep").exists()
