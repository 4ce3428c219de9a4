"""fairlead starts where there is no fcntl (Windows): the lock is the only thing that needs it (issue 24, item 5)."""

import subprocess
import sys

import pytest

# fcntl (and msvcrt, absent here anyway) made unimportable, as on a platform without them
WITHOUT_FCNTL = """import sys
sys.modules["fcntl"] = sys.modules["msvcrt"] = None
from fairlead.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", [["--help"], ["list", "envs"], ["train", "--help"]])
def test_fairlead_starts_and_lists_without_fcntl(command):
    done = subprocess.run([sys.executable, "-c", WITHOUT_FCNTL, *command], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "chicken_v0" in done.stdout if command[0] == "list" else "usage: fairlead" in done.stdout


def test_without_any_lock_a_command_that_writes_says_why_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            WITHOUT_FCNTL,
            "train",
            "--env",
            "chicken_v0",
            "--method",
            "fixed",
            "--seeds",
            "1",
            "--episodes",
            "2",
            "--no-progress",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "neither fcntl nor msvcrt, so fairlead cannot lock its output directories" in done.stderr
    assert "Traceback" not in done.stderr
    assert [p.name for p in out.iterdir()] == []  # created to be locked; nothing written in it
