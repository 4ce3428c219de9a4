"""Names never become paths (issue 23, item 3): method, policy and scenario names match one pattern.

A method's name is a directory of its run (``<out>/<method>/seed_<s>/``) and a
row of its tables; a policy's and a scenario's are rows and titles. A name
that is not one portable file-name component, or that is a file a run
directory holds, is refused before anything is written, anywhere.
"""

from __future__ import annotations

import itertools
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import fairlead
from fairlead.cli import main
from fairlead.experiments import comparison, directories, figures, runs, sweep
from fairlead.names import NAME_PATTERN, RESERVED_NAMES, check_name
from fairlead.trainers import config

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
    "--no-progress",
    "--jobs",
    "1",
]
METHOD = 'selector = "fixed"\n'
_packages = itertools.count()


# ------------------------------------------------------------------ the rule
GOOD = ["jamql", "catch-up", "chicken_v0", "chicken-2p", "my.method_2-b", "A", "7", "x" * 100, "seed_0"]
BAD = [
    "",
    ".",
    "..",
    "...",
    "../x",
    "../../x",
    "/tmp/x",
    "a/b",
    "a\\b",
    "a b",
    "-x",
    "_policy",
    ".hidden",
    "x" * 101,
    "tab\t",
    "new\nline",
    "é",
    "a:b",
    "metrics.csv",
    "METRICS.CSV",
    "Run.Json",
    "summary.md",
    ".lock",
    "checkpoint.npz",
    "result.json",
    "report.md",
    "eval.csv",
    "leader_shares.png",
    "sweep.json",
]


@pytest.mark.parametrize("name", GOOD)
def test_a_portable_name_is_accepted(name):
    assert check_name("method", name) == name


@pytest.mark.parametrize("name", [*BAD, None, 3, Path("x")])
def test_a_name_that_could_be_a_path_or_a_run_file_is_refused_with_the_rule(name):
    with pytest.raises(ValueError) as info:
        check_name("policy", name)
    message = str(info.value)
    assert message.startswith(f"policy name {name!r} cannot be used")
    assert NAME_PATTERN in message and all(reserved in message for reserved in RESERVED_NAMES)


def test_every_shipped_name_follows_the_rule():
    for name in [*config.method_names(), *fairlead.list_scenarios(), *fairlead.list_envs()]:
        check_name("shipped", name)


def test_the_reserved_names_are_every_file_a_run_report_or_sweep_directory_holds():
    held = {
        runs.RUN_FILE,
        runs.CHECKPOINT_FILE,
        runs.RESULT_FILE,
        directories.LOCK_FILE,
        comparison.METRICS_FILE,
        comparison.CURVES_FILE,
        comparison.REPORT_FILE,
        "summary.md",
        "eval.csv",
        *figures.ALT_TEXT,
        sweep.SWEEP_FILE,
        sweep.CSV_FILE,
        sweep.SUMMARY,
        *sweep.FIGURES,
    }
    assert held <= set(RESERVED_NAMES)
    assert all(name == name.lower() for name in RESERVED_NAMES)  # compared with the name in lower case


# ------------------------------------------------- refused before anything is written, anywhere
def snapshot(root: Path) -> dict:
    """Every file and directory under ``root``, with the files' bytes."""
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


@pytest.fixture
def box(tmp_path, monkeypatch):
    """``tmp_path/box``, with method, scenario and policy files; ``--out`` is ``box/deep/out``.

    Installed methods are faked as entry points of a real package, so a
    method named like a path would train (and escape) if it were not refused.
    """
    root = tmp_path / "box"
    (root / "deep").mkdir(parents=True)
    files = root / "files"
    files.mkdir()
    for stem in ("..", "metrics.csv", "RUN.JSON", ".lock", "summary.md", "my method"):
        (files / f"{stem}.toml").write_text(METHOD)
    scenarios = root / "scenarios"
    scenarios.mkdir()
    for stem in ("..", "metrics.csv", "a b"):
        (scenarios / f"{stem}.toml").write_text('env = "chicken_v0"\n[kwargs]\nmax_cycles = 3\n')
    (root / "policy.py").write_text(
        "def swerve(agent, observation):\n    return 1\n\n\ndef _hidden(agent, observation):\n    return 1\n"
    )
    package = f"fairlead_names_plugin_{next(_packages)}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "fixed-copy.toml").write_text(METHOD)
    (tmp_path / package / "__init__.py").write_text(
        "from pathlib import Path\n\nMETHOD = Path(__file__).with_name('fixed-copy.toml')\n"
    )
    monkeypatch.syspath_prepend(tmp_path)
    names = {
        "../../escaped": f"{package}:METHOD",
        f"{tmp_path}/absolute": f"{package}:METHOD",
        "curves.csv": f"{package}:METHOD",
        "fine-plugin": f"{package}:METHOD",
    }

    def entry_points(group):
        return (
            [EntryPoint(name=n, value=v, group=group) for n, v in names.items()] if group == config.METHOD_GROUP else []
        )

    monkeypatch.setattr(config, "entry_points", entry_points)
    return root


def _policy(box: Path, target: str, *name: str) -> list[str]:
    return [
        "evaluate",
        "--env",
        "chicken_v0",
        "--max-cycles",
        "3",
        "--policy",
        f"{box / 'policy.py'}:{target}",
        "--selector",
        "fixed",
        "--seeds",
        "1",
        "--episodes",
        "2",
        *name,
    ]


REFUSED = {  # command (without --out), what the error names
    "method file ...toml": (lambda box, tmp: [*TRAIN, "--method", str(box / "files" / "...toml")], "'..'"),
    "method file metrics.csv.toml": (
        lambda box, tmp: [*TRAIN, "--method", f"fixed,{box}/files/metrics.csv.toml"],
        "'metrics.csv'",
    ),
    "method file RUN.JSON.toml": (
        lambda box, tmp: [*TRAIN, "--method", str(box / "files" / "RUN.JSON.toml")],
        "'RUN.JSON'",
    ),
    "method file .lock.toml": (lambda box, tmp: [*TRAIN, "--method", str(box / "files" / ".lock.toml")], "'.lock'"),
    "method file summary.md.toml": (
        lambda box, tmp: [*TRAIN, "--method", str(box / "files" / "summary.md.toml")],
        "'summary.md'",
    ),
    "method file with a space": (
        lambda box, tmp: [*TRAIN, "--method", str(box / "files" / "my method.toml")],
        "'my method'",
    ),
    "entry point ../../escaped": (lambda box, tmp: [*TRAIN, "--method", "../../escaped"], "rename the entry point"),
    "entry point /abs/path": (lambda box, tmp: [*TRAIN, "--method", f"{tmp}/absolute"], "rename the entry point"),
    "entry point curves.csv": (lambda box, tmp: [*TRAIN, "--method", "fixed,curves.csv"], "'curves.csv'"),
    "scenario file ...toml": (
        lambda box, tmp: [*TRAIN, "--env", str(box / "scenarios" / "...toml"), "--method", "fixed"],
        "scenario name '..'",
    ),
    "scenario file metrics.csv.toml": (
        lambda box, tmp: [*TRAIN, "--env", str(box / "scenarios" / "metrics.csv.toml"), "--method", "fixed"],
        "scenario name 'metrics.csv'",
    ),
    "evaluate --name ../x": (lambda box, tmp: _policy(box, "swerve", "--name", "../x"), "policy name '../x'"),
    "evaluate --name metrics.csv": (
        lambda box, tmp: _policy(box, "swerve", "--name", "metrics.csv"),
        "policy name 'metrics.csv'",
    ),
    "evaluate --name ''": (lambda box, tmp: _policy(box, "swerve", "--name", ""), "policy name ''"),
    "evaluate, function _hidden": (lambda box, tmp: _policy(box, "_hidden"), "name it with --name"),
}


@pytest.mark.parametrize("case", list(REFUSED))
@pytest.mark.parametrize("out_exists", [False, True], ids=["new-out", "empty-out"])
def test_a_bad_name_is_refused_and_nothing_is_written_anywhere(case, out_exists, box, tmp_path, capsys):
    command, named = REFUSED[case]
    out = box / "deep" / "out"
    if out_exists:
        out.mkdir()
    before = snapshot(tmp_path)
    assert main([*command(box, tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fairlead: error: ") and named in err and NAME_PATTERN in err, err
    assert snapshot(tmp_path) == before  # nothing beside --out, above it, or in it
    assert not Path(f"{tmp_path}/absolute").exists() and not (tmp_path / "escaped").exists()


def test_a_bad_installed_method_name_is_listed_unusable_and_breaks_no_other(box, tmp_path, capsys):
    assert main(["list", "methods"]) == 0
    listed = capsys.readouterr().out
    assert "../../escaped" in listed and "fine-plugin" in listed
    lines = {line.split()[0]: line for line in listed.splitlines() if line.startswith("  ")}
    assert "UNUSABLE" in lines["../../escaped"] and "UNUSABLE" in lines["curves.csv"]
    assert "UNUSABLE" not in lines["fine-plugin"]
    out = box / "deep" / "out"
    assert main([*TRAIN, "--method", "fine-plugin", "--out", str(out)]) == 0
    assert (out / "fine-plugin" / "seed_0" / "result.json").is_file()


def test_a_good_name_with_dots_trains_and_evaluates(box, tmp_path):
    (box / "files" / "my.method_2-b.toml").write_text(METHOD)
    out = box / "deep" / "run"
    assert main([*TRAIN, "--method", str(box / "files" / "my.method_2-b.toml"), "--out", str(out)]) == 0
    assert (out / "my.method_2-b" / "seed_0" / "result.json").is_file()
    assert main([*_policy(box, "swerve", "--name", "swerve.v2"), "--out", str(box / "deep" / "scored")]) == 0
