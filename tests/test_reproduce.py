"""`fairlead reproduce`: the results grid in one command, one run directory per setting, resumable."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support import tree_digest

from fairlead.cli import main
from fairlead.experiments import reproduce
from fairlead.experiments.claims import load_rows
from fairlead.experiments.runs import run, run_all
from fairlead.trainers.config import method_names

TINY_GRID = (("chicken-2p", 3), ("prisoners-dilemma-2p", 3), ("chicken-4p", 3), ("cournot-2p", 3))


@pytest.fixture
def tiny(monkeypatch):
    """The grid's shape with four quick settings (the real one trains for minutes)."""
    monkeypatch.setattr(reproduce, "GRID", TINY_GRID)
    monkeypatch.setattr(reproduce, "QUICK", {"seeds": 2, "episodes": 10})


def test_reproduce_trains_every_setting_and_writes_one_summary(tmp_path, tiny, capsys):
    out = tmp_path / "grid"
    assert main(["reproduce", "--out", str(out), "--quick", "--no-progress", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    summary = (out / "summary.md").read_text()
    assert summary in printed and summary.startswith("# fairlead reproduce: quick (2 seeds, 10 episodes")
    assert "## Claims" in summary and "| chicken-4p (2 seeds) | fairer than fixed |" in summary
    for scenario, _ in TINY_GRID:
        assert f"## {scenario} (2 seeds, 10 episodes)" in summary
        rows = load_rows(out / scenario)
        assert sorted(rows) == sorted(method_names()) and all(len(r) == 2 for r in rows.values())
    results = {p: p.stat().st_mtime_ns for p in out.rglob("result.json")}
    assert (
        main(["reproduce", "--out", str(out), "--quick", "--no-progress", "--jobs", "1"]) == 0
    )  # complete: no retraining
    assert {p: p.stat().st_mtime_ns for p in out.rglob("result.json")} == results


def test_reproduce_refuses_a_file_or_a_foreign_directory_before_writing(tmp_path, tiny, capsys):
    (tmp_path / "file").write_text("mine")
    assert main(["reproduce", "--out", str(tmp_path / "file"), "--quick", "--no-progress"]) == 2
    assert "is a file; reproduce needs a directory" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert main(["reproduce", "--out", str(tmp_path / "mine"), "--quick", "--no-progress"]) == 2
    assert "holds notes.txt, which no reproduce wrote" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_run_all_shares_one_pool_and_writes_the_bytes_of_separate_runs(tmp_path):
    """reproduce's runs in one pool of 2 workers: each directory as `run` alone writes it (1 worker)."""
    specs = {name: reproduce.grid_specs(quick=True)[name] for name in ("chicken-2p", "prisoners-dilemma-4p")}
    small = {
        name: replace(
            spec,
            methods=("jamql", "fixed"),
            seeds=(0, 1),
            hp=replace(spec.hp, training=replace(spec.hp.training, episodes=30, log_every=10)),
        )
        for name, spec in specs.items()
    }
    done = run_all([(spec, tmp_path / "all" / name) for name, spec in small.items()], jobs=2, progress=False)
    for (name, spec), (table, seconds) in zip(small.items(), done):
        alone = run(spec, tmp_path / "alone" / name, jobs=1, progress=False)
        assert table == alone and seconds > 0
        assert tree_digest(tmp_path / "all" / name) == tree_digest(tmp_path / "alone" / name)
