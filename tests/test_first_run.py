"""The first run on a fresh install says it is compiling the engine instead of sitting silent (issue 25, item 6)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fairlead.cli import main
from fairlead.engine import COMPILING
from fairlead.experiments import runs

TRAIN = [
    "train",
    "--env",
    "chicken_v0",
    "--max-cycles",
    "3",
    "--seeds",
    "1",
    "--episodes",
    "5",
    "--method",
    "fixed",
    "--jobs",
    "1",
]
ASK = "from fairlead.engine import compiled_in_cache; print(compiled_in_cache())"


def test_an_empty_numba_cache_is_seen_as_cold(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", ASK], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("cold, progress", [(True, True), (True, False), (False, True)])
def test_a_run_on_a_cold_cache_says_it_compiles_with_the_progress_bar(tmp_path, capsys, monkeypatch, cold, progress):
    compiled = []
    monkeypatch.setattr(runs, "compiled_in_cache", lambda: not cold)
    monkeypatch.setattr(runs, "compile_ahead", lambda: compiled.append(True))
    assert main([*TRAIN, "--out", str(tmp_path / "run"), *([] if progress else ["--no-progress"])]) == 0
    err = capsys.readouterr().err
    assert (f"{COMPILING}..." in err) == (cold and progress)
    assert compiled == ([True] if cold else [])  # compiled before the one worker starts, on a cold cache only


@pytest.mark.slow
def test_the_first_run_with_an_empty_cache_prints_the_notice_and_the_second_does_not(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    for i, expected in enumerate((True, False)):
        done = subprocess.run(
            [sys.executable, "-m", "fairlead.cli", *TRAIN, "--out", str(tmp_path / f"run{i}")],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        assert (COMPILING in done.stderr) == expected, done.stderr
