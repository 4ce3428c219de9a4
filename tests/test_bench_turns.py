"""benchmarks/bench_turns.py runs, lists the mediated env and checks both targets (not its speed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("pygame", reason="rps_v2, the benchmark's reference, needs the bench extra")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_turns.py"
TINY = ["--repeats", "1", "--seconds", "0.02", "--max-cycles", "3"]


@pytest.fixture
def bench():
    spec = importlib.util.spec_from_file_location("bench_turns", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_has_the_mediated_env_and_a_verdict_per_target(bench, capsys):
    bench.main(TINY)
    out = capsys.readouterr().out
    for name in (
        "rps_v2 (2 players)",
        "chicken_v0 (2 players)",
        "chicken_v0 (4 players)",
        "mediated chicken_v0 (2 players)",
    ):
        assert f"\n{name} " in out
    assert bench.TARGETS == {"chicken_v0 (2 players)": 1.0, "mediated chicken_v0 (2 players)": 0.8}
    for name, target in bench.TARGETS.items():
        assert f"ratio {name} / rps_v2 = " in out and f"the target >= {target})" in out


def test_check_fails_naming_the_env_that_misses_its_target(bench, capsys, monkeypatch):
    monkeypatch.setitem(bench.TARGETS, bench.PLAIN, 0.0)  # always met
    monkeypatch.setitem(bench.TARGETS, bench.MEDIATED, 1e9)  # out of reach
    assert bench.main(TINY) == 0  # without --check the verdict is only printed
    assert bench.main([*TINY, "--check"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "check failed: mediated chicken_v0 (2 players) below target\n"
    assert "ratio mediated chicken_v0 (2 players) / rps_v2" in captured.out and "MISSES" in captured.out
