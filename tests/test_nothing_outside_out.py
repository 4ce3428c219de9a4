"""A refused or failed command writes nothing outside its --out, ever (issue 23's target).

Each case runs a command that fails (bad input, user code that raises or
exits, a damaged or foreign run directory) with ``--out`` inside a folder that
also holds the inputs, and walks that whole folder before and after: only
``--out`` may change (and be created, with its parents). Python's own bytecode cache (``__pycache__``) beside an
imported plug-in is Python's, as for any import, and is not counted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fairlead.cli import main

SMALL = ["--env", "chicken_v0", "--max-cycles", "3", "--seeds", "2", "--episodes", "20", "--no-progress"]
SELECTOR = """
import os
from fairlead.mediation import Selector


class Raises(Selector):
    def select(self, view):
        raise RuntimeError("boom")


class Exits(Selector):
    def select(self, view):
        os._exit(3)
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A folder of inputs: plug-ins, a finished run, a run's shard, a policy evaluation."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "sel.py").write_text(SELECTOR)
    (root / "raises.toml").write_text('selector = "sel.py:Raises"\n')
    (root / "exits.toml").write_text('selector = "sel.py:Exits"\n')
    (root / "policy.py").write_text(
        "def quits(agent, observation):\n    raise SystemExit(0)\n\n\ndef swerve(agent, observation):\n    return 1\n"
    )
    assert main(["train", *SMALL, "--method", "jamql,fixed", "--out", str(root / "run"), "--jobs", "1"]) == 0
    assert (
        main(
            [
                "evaluate",
                "--env",
                "chicken_v0",
                "--max-cycles",
                "3",
                "--policy",
                f"{root / 'policy.py'}:swerve",
                "--selector",
                "fixed",
                "--seeds",
                "1",
                "--out",
                str(root / "evaluation"),
            ]
        )
        == 0
    )
    (root / "report").mkdir()
    (root / "report" / "notes.txt").write_text("mine")
    return root


def _copied_seed(root: Path) -> Path:
    run = root / "copied"
    shutil.copytree(root / "run", run)
    for name in ("checkpoint.npz", "result.json"):
        (run / "jamql" / "seed_1" / name).write_bytes((run / "jamql" / "seed_0" / name).read_bytes())
    return run


def _binary_metrics(root: Path) -> Path:
    run = root / "binary"
    shutil.copytree(root / "run", run)
    (run / "metrics.csv").write_bytes(b"\xff\xfe\x00binary")
    return run


CASES = {  # command given the inputs' folder and the --out to use; None: the command takes no --out
    "unknown env": lambda r, out: ["train", *SMALL, "--env", "no_such_env", "--method", "fixed", "--out", out],
    "selector raises": lambda r, out: ["train", *SMALL, "--method", str(r / "raises.toml"), "--out", out],
    "selector calls os._exit": lambda r, out: [
        "train",
        *SMALL,
        "--method",
        str(r / "exits.toml"),
        "--jobs",
        "2",
        "--out",
        out,
    ],
    "shard without pairs": lambda r, out: [
        "train",
        *SMALL,
        "--method",
        "fixed",
        "--seeds",
        "1",
        "--shard",
        "3/5",
        "--out",
        out,
    ],
    "run with other settings": lambda r, out: [
        "train",
        *SMALL,
        "--method",
        "fixed",
        "--episodes",
        "30",
        "--out",
        str(r / "run"),
    ],
    "resume of a copied seed": lambda r, out: ["train", "--resume", str(_copied_seed(r)), "--no-progress"],
    "eval of an evaluation": lambda r, out: ["eval", str(r / "evaluation")],
    "policy exits": lambda r, out: [
        "evaluate",
        "--env",
        "chicken_v0",
        "--max-cycles",
        "3",
        "--policy",
        f"{r / 'policy.py'}:quits",
        "--selector",
        "fixed",
        "--seeds",
        "1",
        "--out",
        out,
    ],
    "report over a folder that is no report": lambda r, out: ["report", str(r / "run"), "--out", str(r / "report")],
    "report of a binary metrics.csv": lambda r, out: ["report", str(_binary_metrics(r)), "--out", out],
    "merge of a whole run": lambda r, out: ["merge", str(r / "run"), "--out", out],
    "sweep with a bad grid": lambda r, out: [
        "sweep",
        "--env",
        "chicken_v0",
        "--grid",
        "n_agents=0,3",
        "--method",
        "fixed",
        "--seeds",
        "1",
        "--out",
        out,
    ],
}


def _walk(root: Path, out: Path) -> dict:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
        if "__pycache__" not in p.parts and not p.is_relative_to(out) and not out.is_relative_to(p)
    }


@pytest.mark.parametrize("case", list(CASES))
def test_a_failed_command_writes_nothing_outside_its_out(case, inputs, tmp_path, capsys):
    root = tmp_path / "work"
    shutil.copytree(inputs, root)
    out = root / "deep" / "out"
    command = CASES[case](root, str(out))
    before = _walk(root, out)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("fairlead: error: ") and "Traceback" not in err, err
    assert _walk(root, out) == before
