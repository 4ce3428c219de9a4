"""Run directories under faults: concurrent runs, bad result files, signals, orphans, lost checkpoints (issue 11)."""

import json
import os
import signal
import subprocess
import sys
import time
from multiprocessing import Value
from pathlib import Path

import pytest
from support import SLOW, children, tree_digest, wait_dead
from test_cli_runs import SMALL, interrupt, train

from fairlead.cli import main
from fairlead.experiments import spec as specs
from fairlead.experiments import workers
from fairlead.experiments.directories import lock_run_dir
from fairlead.experiments.runs import prepare_run_dir, train_seed
from fairlead.experiments.spec import RunSpec, load_spec

LONG = [
    "--env",
    "chicken_v0",
    "--max-cycles",
    "3",
    "--seeds",
    "2",
    "--episodes",
    "200",
    "--method",
    "jamql,catch-up",
    "--no-progress",
    "--engine",
    "reference",
]  # the trainer SLOW slows down
REPORTS = ("metrics.csv", "curves.csv", "summary.md")


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "often.toml"
    path.write_text("[training]\ncheckpoint_every = 20\nlog_every = 20\n")
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory, config):
    """The LONG run, uninterrupted."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main(["train", *LONG, "--config", str(config), "--out", str(out), "--jobs", "2"]) == 0
    return out


def start_slow_training(out: Path, config: Path, started: list) -> tuple[subprocess.Popen, list[int]]:
    """`fairlead train` (2 workers) in its own process group; returns once both workers have checkpointed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW, "train", *LONG, "--config", str(config), "--out", str(out), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started.append(proc.pid)
    deadline = time.monotonic() + 30
    while len(list(out.rglob("checkpoint.npz"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    workers = children(proc.pid)
    started.extend(workers)
    assert len(workers) == 2
    return proc, workers


def assert_same_reports(out: Path, reference: Path) -> None:
    for name in REPORTS:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    for result in reference.rglob("result.json"):
        assert (out / result.relative_to(reference)).read_bytes() == result.read_bytes()


# --- fault 1: two runs into one directory


def test_a_directory_in_use_is_refused_with_the_owners_pid_and_released_after(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    with lock_run_dir(out):  # as another run holds it
        assert train(out) == 2
        assert f"{out} is in use by another run (pid {os.getpid()})" in capsys.readouterr().err
        assert [p.name for p in out.iterdir()] == [".lock"]
    assert list(out.iterdir()) == []  # the lock file goes with the lock
    assert train(out) == 0
    assert not (out / ".lock").exists()
    with lock_run_dir(out):
        assert main(["train", "--resume", str(out), "--no-progress"]) == 2
        assert main(["eval", str(out), "--no-progress"]) == 2
        assert capsys.readouterr().err.count(f"{out} is in use by another run") == 2
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / ".lock").write_text("12345\n")  # left by a killed run: its lock died with it
    assert train(stale) == 0


# --- fault 2: incomplete result files


def edit_result(path: Path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r["row"].pop("total_return"), "is incomplete: its row lacks total_return"),
        (lambda r: [r["row"].pop(k) for k in ("method", "seed")], "is incomplete: its row lacks method, seed"),
        (lambda r: r["row"].update(seed=1), "is method jamql seed 1's, not method jamql seed 0's"),
        (lambda r: r["row"].update(total_return="high"), "is malformed"),
        (lambda r: r["curve"][0].pop("episode"), "is malformed"),
    ],
    ids=["metric", "method-seed", "other-seed", "text", "curve-point"],
)
def test_a_bad_result_file_is_refused_before_anything_is_written(tmp_path, capsys, change, message):
    out = tmp_path / "run"
    assert train(out) == 0
    interrupt(out)
    target = out / "jamql" / "seed_0" / "result.json"
    edit_result(target, change)
    before = tree_digest(out)
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"result file {target} {message}" in err and "Traceback" not in err
    assert tree_digest(out) == before


# --- faults 3 and 4: signals and orphans


@pytest.mark.parametrize("how, code", [("group", 130), ("main", 130), ("term", 143)])
def test_ctrl_c_or_sigterm_stops_every_worker_and_the_run_resumes_identically(
    tmp_path, capsys, config, reference, started, how, code
):
    out = tmp_path / "run"
    proc, workers = start_slow_training(out, config, started)
    assert train(out) == 2  # a second run into the same directory, while the first holds it
    assert f"{out} is in use by another run (pid {proc.pid})" in capsys.readouterr().err
    if how == "group":
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    else:
        os.kill(proc.pid, signal.SIGINT if how == "main" else signal.SIGTERM)
    start = time.monotonic()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == code and time.monotonic() - start < 5
    assert err == f"fairlead: interrupted; continue with `fairlead train --resume {out}`\n"
    assert wait_dead(workers) == []
    assert main(["train", "--resume", str(out), "--no-progress", "--jobs", "2"]) == 0
    assert_same_reports(out, reference)


def test_killing_the_main_process_kills_its_workers_and_nothing_writes_after(tmp_path, config, reference, started):
    out = tmp_path / "run"
    proc, workers = start_slow_training(out, config, started)
    proc.kill()
    proc.wait()
    assert wait_dead(workers) == [], "orphan workers keep training"
    before = tree_digest(out)
    time.sleep(0.5)
    assert tree_digest(out) == before
    assert main(["train", "--resume", str(out), "--no-progress", "--jobs", "2"]) == 0
    assert_same_reports(out, reference)


def test_a_worker_whose_parent_is_gone_stops_without_writing(tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert train(out, method="jamql") == 0
    spec = load_spec(out)
    folder = out / "jamql" / "seed_0"
    for name in ("result.json", "checkpoint.npz"):
        (folder / name).unlink()
    monkeypatch.setattr(workers, "_stop", Value("b", 0))
    monkeypatch.setattr(workers, "_parent", os.getppid() + 1)  # not our parent: as if it died
    assert train_seed(spec, "jamql", 0, out) == {}
    assert list(folder.iterdir()) == []


# --- fault 5: a scenario on which fairness cannot be measured


@pytest.mark.parametrize("method", ["jamql", "jamql-scalar", "fixed"])
def test_a_constant_payoff_scenario_is_refused_before_anything_is_written(tmp_path, capsys, method):
    scenario = tmp_path / "flat.toml"
    scenario.write_text('env = "matrix_game_v0"\n[kwargs]\npayoff = [[1, 1], [1, 1]]\nmax_cycles = 3\n')
    out = tmp_path / "o"
    assert (
        main(
            [
                "train",
                "--env",
                str(scenario),
                "--method",
                method,
                "--seeds",
                "1",
                "--episodes",
                "5",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert (
        "pays every agent the same in every stage (return_scale 0.0): fairness cannot be measured on it; "
        "choose payoffs that differ"
    ) in err
    assert "metric=" not in err
    assert not out.exists()


# --- fault 8: a lost checkpoint of a finished seed


def test_a_lost_checkpoint_is_recreated_by_the_advised_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    checkpoint = out / "catch-up" / "seed_1" / "checkpoint.npz"
    result = (checkpoint.parent / "result.json").read_bytes()
    checkpoint.unlink()
    capsys.readouterr()
    assert main(["eval", str(out), "--no-progress"]) == 2
    advice = f"recreate it with `fairlead train --resume {out}`"
    assert f"{checkpoint} is missing: {advice}" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--no-progress", "--jobs", "2"]) == 0
    assert checkpoint.exists() and (checkpoint.parent / "result.json").read_bytes() == result
    assert main(["eval", str(out), "--no-progress"]) == 0
    assert (out / "eval.csv").read_bytes() == (out / "metrics.csv").read_bytes()


def test_a_lost_checkpoint_whose_retraining_differs_is_not_recreated(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, method="jamql") == 0
    result = out / "jamql" / "seed_0" / "result.json"
    edit_result(result, lambda r: r["row"].update(total_return=r["row"]["total_return"] + 1))
    (result.parent / "checkpoint.npz").unlink()
    recorded = result.read_bytes()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 2
    assert f"retraining jamql seed 0 does not reproduce {result}" in capsys.readouterr().err
    assert result.read_bytes() == recorded and not (result.parent / "checkpoint.npz").exists()


# --- fault 11: temporaries, file modes, config encoding, a closed pipe


def test_resume_removes_only_the_temporaries_of_killed_writes(tmp_path):
    out = tmp_path / "run"
    assert train(out) == 0
    interrupt(out)
    stale = out / "jamql" / "seed_0" / ".checkpoint.npz.k3x_9a2q.tmp"
    stale.write_bytes(b"half a checkpoint")
    mine = out / "jamql" / "notes.tmp"
    mine.write_text("not written by fairlead")
    assert train(out, "--resume") == 0
    assert not stale.exists() and mine.read_text() == "not written by fairlead"


def test_a_config_file_that_is_not_utf8_is_named(tmp_path, capsys):
    config = tmp_path / "latin1.toml"
    config.write_bytes("[training]\n# épisodes\nepisodes = 3\n".encode("latin-1"))
    assert main(["train", *SMALL, "--method", "fixed", "--config", str(config), "--out", str(tmp_path / "o")]) == 2
    assert f"config file {config} is not UTF-8 text" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_reader_that_stops_early_gets_no_broken_pipe_error():
    proc = subprocess.Popen(
        [sys.executable, "-m", "fairlead.cli", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # `fairlead list | head -0`: the reader is gone before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 1
    assert err == ""


# --- simplification: a spec reads each method file once


def test_the_fingerprint_does_not_reread_the_method_files(monkeypatch):
    spec = RunSpec("chicken_v0", {"max_cycles": 3}, ("jamql", "fixed"), (0,))

    def fail(name):
        raise AssertionError(f"method file {name} read again")

    fingerprint = spec.fingerprint
    monkeypatch.setattr(specs, "get_method", fail)
    assert spec.fingerprint == fingerprint and len(fingerprint) == 16
    assert spec.as_dict()["methods"]["jamql"]["selector"] == "vector_mediator"


def test_prepare_run_dir_ignores_only_its_own_lock_file(tmp_path):
    spec = RunSpec("chicken_v0", {"max_cycles": 3}, ("fixed",), (0,))
    (tmp_path / ".lock").write_text("1\n")
    prepare_run_dir(spec, tmp_path, resume=False)
    assert (tmp_path / "run.json").exists()


# --- issue 23, item 6: `report --out` refuses a directory that is not a report, and locks it

REPORT_FILES = {
    "report.md",
    "metrics.csv",
    "curves.csv",
    "learning_curves.png",
    "final_fairness.png",
    "leader_shares.png",
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A small finished run, and a policy scored on its scenario (no learning curve)."""
    root = tmp_path_factory.mktemp("finished")
    assert train(root / "run", method="fixed,catch-up") == 0
    (root / "policy.py").write_text("def swerve(agent, observation):\n    return 1\n")
    assert (
        main(
            [
                "evaluate",
                *SMALL[:4],
                "--policy",
                f"{root / 'policy.py'}:swerve",
                "--selector",
                "fixed",
                "--seeds",
                "2",
                "--out",
                str(root / "scored"),
            ]
        )
        == 0
    )
    return root


@pytest.mark.parametrize(
    "held",
    [
        {"notes.txt": "mine"},
        {"metrics.csv": "mine"},
        {"data/x.csv": "mine"},
        {"report.md": "mine", "notes.txt": "mine"},
        {"report.md": "", "curves.csv/": ""},
    ],
    ids=["a-file", "metrics-only", "a-subdirectory", "report-and-more", "a-report-name-as-dir"],
)
def test_report_refuses_a_non_empty_out_that_is_no_report_and_leaves_it_untouched(finished, tmp_path, capsys, held):
    out = tmp_path / "mine"
    for name, text in held.items():
        path = out / name
        if name.endswith("/"):
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    before = tree_digest(out), sorted(p.name for p in out.rglob("*"))
    assert main(["report", str(finished / "run"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"fairlead: error: {out} is not empty and holds no report" in err
    assert sorted(held)[0].split("/")[0] in err  # what it holds
    assert (tree_digest(out), sorted(p.name for p in out.rglob("*"))) == before


def test_report_rewrites_its_own_out_whole_and_locks_it(finished, tmp_path, capsys):
    out = tmp_path / "report"
    out.mkdir()  # an empty directory is new
    assert main(["report", str(finished / "run"), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == REPORT_FILES
    first = (out / "report.md").read_bytes()
    assert main(["report", str(finished / "run"), "--out", str(out)]) == 0  # again into the same --out
    assert {p.name for p in out.iterdir()} == REPORT_FILES and (out / "report.md").read_bytes() == first
    (out / ".report.md.0123abcd.tmp").write_text("left by a killed write")
    assert main(["report", str(finished / "scored"), "--out", str(out)]) == 0  # a report without curves
    assert {p.name for p in out.iterdir()} == REPORT_FILES - {"curves.csv", "learning_curves.png"}  # none left
    assert "swerve" in (out / "report.md").read_text() and "catch-up" not in (out / "report.md").read_text()
    capsys.readouterr()
    before = tree_digest(out)
    with lock_run_dir(out):  # as another command writing there holds it
        assert main(["report", str(finished / "run"), "--out", str(out)]) == 2
        assert f"{out} is in use by another run (pid {os.getpid()})" in capsys.readouterr().err
    assert tree_digest(out) == before
    assert main(["report", str(finished / "run"), "--out", str(finished / "run")]) == 2
    assert "is a run directory; write the report into another --out" in capsys.readouterr().err


# --- issue 23, item 7: a shard without pairs is refused before anything is written


@pytest.mark.parametrize("exists", [False, True], ids=["new-out", "empty-out"])
def test_a_shard_without_pairs_writes_nothing_and_the_directory_stays_usable(tmp_path, capsys, exists):
    out = tmp_path / "run"
    if exists:
        out.mkdir()
    command = [
        "train",
        "--env",
        "chicken_v0",
        "--method",
        "fixed",
        "--seeds",
        "1",
        "--episodes",
        "5",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert main([*command, "--shard", "3/5"]) == 2
    assert "shard 3/5 of a run of 1 (method, seed) pairs has none; use fewer shards" in capsys.readouterr().err
    assert (list(out.iterdir()) == []) if exists else not out.exists()
    assert main(command) == 0  # the directory can be used
    assert main([*command[:6], "2", *command[7:]]) == 0  # and grown
    assert len(load_spec(out).seeds) == 2


def test_prepare_run_dir_refuses_a_shard_without_pairs_before_writing_run_json(tmp_path):
    spec = RunSpec("chicken_v0", {"max_cycles": 3}, ("fixed",), (0,))
    with pytest.raises(ValueError, match="shard 1/2 of a run of 1 .* has none"):
        prepare_run_dir(spec, tmp_path, resume=False, shard=(1, 2))
    assert list(tmp_path.iterdir()) == []


# --- results tied to their seed and to their checkpoint (issue 23, item 5)


@pytest.mark.parametrize(
    "command",
    [["eval", "{out}"], ["train", "--resume", "{out}", "--no-progress"], ["merge", "{out}", "--out", "{merged}"]],
)
def test_a_seed_folder_copied_over_another_is_refused(tmp_path, capsys, command):
    out = tmp_path / "run"
    assert train(out, *(["--shard", "0/1"] if command[0] == "merge" else [])) == 0
    for name in ("checkpoint.npz", "result.json"):  # seed 0's policy would be scored as seed 1's
        (out / "jamql" / "seed_1" / name).write_bytes((out / "jamql" / "seed_0" / name).read_bytes())
    if command[0] == "eval":  # eval reads the checkpoints only
        (out / "jamql" / "seed_1" / "result.json").unlink()
    before = tree_digest(out)
    capsys.readouterr()
    assert main([part.format(out=out, merged=tmp_path / "merged") for part in command]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'jamql' / 'seed_1'}" in err and "seed 0" in err and "Traceback" not in err
    assert tree_digest(out) == before and not (tmp_path / "merged").exists()


@pytest.mark.parametrize("value", [0.123, float("nan")], ids=["number", "nan"])
@pytest.mark.parametrize("command", ["resume", "merge"])
def test_an_edited_result_is_refused_and_rewritten_from_its_checkpoint_once_removed(tmp_path, capsys, value, command):
    out = tmp_path / "run"
    assert train(out, *(["--shard", "0/1"] if command == "merge" else [])) == 0
    reports = {name: (out / name).read_bytes() for name in REPORTS}
    target = out / "jamql" / "seed_1" / "result.json"
    original = target.read_bytes()
    edit_result(target, lambda r: r["row"].update(total_return=value))
    (out / "metrics.csv").unlink()
    before = tree_digest(out)
    capsys.readouterr()
    again = (
        ["train", "--resume", str(out), "--no-progress"]
        if command == "resume"
        else ["merge", str(out), "--out", str(tmp_path / "merged")]
    )
    assert main(again) == 2
    err = capsys.readouterr().err
    assert f"{target} is not what its checkpoint" in err and "remove it to have it written again" in err
    assert tree_digest(out) == before and not (tmp_path / "merged").exists()

    target.unlink()  # as the message advises: written again from the checkpoint, as trained
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert target.read_bytes() == original
    assert all((out / name).read_bytes() == reports[name] for name in REPORTS)
