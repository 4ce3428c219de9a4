"""User code that fails (raises anything, exits, kills its worker) ends the command with one clear message.

The message names the method (or policy), the seed, the user's file and the
exception; the status is not 0; no traceback is printed; the run directory
stays resumable.
"""

import re

import pytest

from fairlead.cli import main

SMALL = ["--env", "chicken_v0", "--max-cycles", "3", "--episodes", "30", "--seeds", "2", "--no-progress"]
# fails in select() the way the file `fail` beside it says, while that file exists
BAD = """
import os
from pathlib import Path

from fairlead.mediation import Selector

MARKER = Path(__file__).with_name("fail")


def unpicklable():
    class Local(Exception):
        def __init__(self):
            super().__init__("cannot pickle me")
            self.hook = lambda: 0
    raise Local()


class Bad(Selector):
    def select(self, view):
        mode = MARKER.read_text().strip() if MARKER.exists() else ""
        if mode == "exit0":
            raise SystemExit(0)
        if mode == "runtime":
            raise RuntimeError("boom")
        if mode == "zero":
            return view.agents[1 // 0]
        if mode == "unpicklable":
            unpicklable()
        if mode == "os_exit":
            os._exit(3)
        return min(view.agents, key=view.leaders.count)
"""
GOOD = """
from fairlead.mediation import Selector


class Bad(Selector):
    def select(self, view):
        return min(view.agents, key=view.leaders.count)
"""
MODES = {
    "exit0": "SystemExit",
    "runtime": "RuntimeError: boom",
    "zero": "ZeroDivisionError: integer division",
    "unpicklable": "Local: cannot pickle me",
    "os_exit": "exited with status 3",
}


@pytest.fixture
def plugin(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "sel_plugin.py").write_text(BAD)
    (folder / "badsel.toml").write_text('description = "fails on demand"\nselector = "sel_plugin.py:Bad"\n')
    return folder


def one_clear_line(err: str) -> str:
    assert "Traceback" not in err and 'File "' not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("fairlead: error: ")
    return lines[0]


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("mode", list(MODES))
def test_a_failing_selector_ends_train_with_one_message_and_the_run_resumes(tmp_path, plugin, capsys, mode, jobs):
    (plugin / "fail").write_text(mode)
    out = tmp_path / "run"
    status = main(["train", *SMALL, "--jobs", jobs, "--method", str(plugin / "badsel.toml"), "--out", str(out)])
    line = one_clear_line(capsys.readouterr().err)
    assert status not in (0, None)
    assert "method badsel, seed " in line and MODES[mode] in line
    assert "seed 0" in line or "seed 1" in line
    if mode == "os_exit":
        assert "os._exit" in line
    else:
        assert f"{plugin / 'sel_plugin.py'}, line " in line and "the selector " in line
    assert not (out / "metrics.csv").exists()

    (plugin / "fail").unlink()  # the cause is gone (the code is the same): the run resumes and completes
    assert main(["train", "--resume", str(out), "--no-progress", "--jobs", jobs]) == 0
    assert "| badsel | 2 |" in (out / "summary.md").read_text()


def test_after_fixing_the_plugin_the_run_is_refused_clearly_and_a_new_out_works(tmp_path, plugin, capsys):
    (plugin / "fail").write_text("runtime")
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--jobs", "1", "--method", str(plugin / "badsel.toml"), "--out", str(out)]) == 2
    assert "method badsel, seed 0: the selector " in one_clear_line(capsys.readouterr().err)
    (plugin / "sel_plugin.py").write_text(GOOD)  # fixed: its sha256 changes, so the directory is another run's
    assert main(["train", "--resume", str(out), "--no-progress"]) == 2
    line = one_clear_line(capsys.readouterr().err)
    assert f"method 'badsel' changed: the selector's source file {plugin / 'sel_plugin.py'}" in line
    assert "train into a new --out" in line
    assert (
        main(
            ["train", *SMALL, "--jobs", "1", "--method", str(plugin / "badsel.toml"), "--out", str(tmp_path / "fixed")]
        )
        == 0
    )


@pytest.mark.parametrize(
    "raised, shown", [("SystemExit(0)", "SystemExit"), ("ZeroDivisionError('zero')", "ZeroDivisionError: zero")]
)
def test_a_policy_that_exits_ends_evaluate_with_one_message(tmp_path, capsys, raised, shown):
    (tmp_path / "pol_plugin.py").write_text(f"def quitter(agent, observation):\n    raise {raised}\n")
    status = main(
        [
            "evaluate",
            "--env",
            "chicken_v0",
            "--max-cycles",
            "3",
            "--policy",
            f"{tmp_path / 'pol_plugin.py'}:quitter",
            "--selector",
            "catch_up",
            "--seeds",
            "1",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    line = one_clear_line(capsys.readouterr().err)
    assert status not in (0, None)
    assert "policy quitter, seed 0: the policy " in line and f"{tmp_path / 'pol_plugin.py'}, line 2" in line
    assert f"raised {shown}" in line
    assert not (tmp_path / "out").exists()


# A selector that hangs (a loop that never returns) while the file `hang` beside it exists, after saying so in
# `hanging`; run by a CLI whose grace period the first argument sets (Ctrl-C acts as in a terminal).
HANGS = """
from pathlib import Path

from fairlead.mediation import Selector

HERE = Path(__file__).parent


class Hangs(Selector):
    def select(self, view):
        while (HERE / "hang").exists():
            (HERE / "hanging").touch()
        return min(view.agents, key=view.leaders.count)
"""
CLI = """import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from fairlead.experiments import workers
workers.GRACE_SECONDS = float(sys.argv[1])
from fairlead.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("signals, grace", [(["SIGINT"], 1.0), (["SIGTERM"], 1.0), (["SIGINT", "SIGINT"], 600.0)])
def test_a_hanging_selector_is_stopped_in_bounded_time_and_the_run_resumes(tmp_path, signals, grace):
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "hang_plugin.py").write_text(HANGS)
    (folder / "hangs.toml").write_text('selector = "hang_plugin.py:Hangs"\n')
    (folder / "hang").touch()
    out = tmp_path / "run"
    train = ["train", *SMALL, "--jobs", "2", "--method", f"{folder / 'hangs.toml'},catch-up", "--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, str(grace), *train], stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not (folder / "hanging").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        for i, name in enumerate(signals):
            if i:  # the second signal once the first has been taken
                time.sleep(1.0)
            proc.send_signal(getattr(signal, name))
        _, err = proc.communicate(timeout=60)  # grace 600 s: only the second Ctrl-C ends it within this
    finally:
        proc.kill()
    assert proc.returncode == 128 + getattr(signal, signals[0]), err
    assert re.search(r"^stopping: waiting for [12] workers? \(Ctrl-C again to stop at once\)$", err, re.M), err
    assert f"continue with `fairlead train --resume {out}`" in err
    assert "Traceback" not in err

    (folder / "hang").unlink()  # the cause is gone: the run resumes and completes like one never interrupted
    assert main(["train", "--resume", str(out), "--no-progress", "--jobs", "2"]) == 0
    fresh = tmp_path / "fresh"
    assert main([*train[:-1], str(fresh)]) == 0
    assert (out / "metrics.csv").read_bytes() == (fresh / "metrics.csv").read_bytes()
