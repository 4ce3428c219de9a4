"""benchmarks/bench_reproduce.py trains the scaled grid it says and reports it against its target (not its speed)."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest

from fairlead.experiments import reproduce

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_reproduce.py"


@pytest.fixture
def bench(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_reproduce", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tiny = {
        name: replace(
            spec,
            methods=("fixed",),
            seeds=(0,),
            hp=replace(spec.hp, training=replace(spec.hp.training, episodes=5, log_every=5)),
        )
        for name, spec in reproduce.grid_specs(quick=True).items()
        if name in ("chicken-2p", "chicken-4p")
    }
    monkeypatch.setattr(module, "grid_specs", lambda: tiny)
    return module


def test_the_scaled_grid_trains_scale_times_the_episodes_and_gets_a_verdict(bench, capsys, monkeypatch):
    trained = []
    real = bench.run_all
    monkeypatch.setattr(bench, "run_all", lambda runs, **kw: trained.extend(runs) or real(runs, **kw))
    assert bench.main(["--only", "scaled", "--scale", "3", "--jobs", "1"]) == 0
    assert sorted(spec.hp.training.episodes for spec, _ in trained) == [15, 15]
    out = capsys.readouterr().out
    assert "x3 episodes (warm)" in out and "target <= 120 s:" in out
