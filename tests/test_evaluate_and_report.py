"""`fairlead evaluate` scores any policy under a trained run's protocol; `fairlead report` merges runs."""

import csv
import json
import textwrap
from pathlib import Path

import pytest

from fairlead.cli import main
from fairlead.experiments.comparison import ReportError, read_run, write_report

SMALL = ["--env", "chicken_v0", "--max-cycles", "3", "--no-progress"]


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "trained"
    assert (
        main(
            [
                "train",
                *SMALL,
                "--method",
                "jamql,catch-up",
                "--seeds",
                "2",
                "--episodes",
                "40",
                "--out",
                str(out),
                "--jobs",
                "2",
            ]
        )
        == 0
    )
    return out


GREEDY = '''
import os
import numpy as np
from fairlead.experiments.checkpoint import load_checkpoint
from fairlead.experiments.runs import seed_dir
from fairlead.experiments.spec import load_spec
from fairlead.trainers.jamql import Trainer


class Greedy:
    """The greedy policy of a trained (method, seed): its Q-learners, as an outside policy."""

    def __init__(self):
        run, method, seed = os.environ["RUN"], os.environ["METHOD"], int(os.environ["SEED"])
        spec = load_spec(__import__("pathlib").Path(run))
        self.trainer = Trainer(spec.env, spec.env_kwargs, spec.definitions[method], spec.hp, seed)
        path = seed_dir(__import__("pathlib").Path(run), method, seed) / "checkpoint.npz"
        self.trainer.load_state_dict(load_checkpoint(path, spec.seed_fingerprint(method))[0])

    def act(self, agent, observation):
        state = tuple(observation["observation"].tolist())
        return self.trainer.learners[agent].act(state, observation["action_mask"], explore=False)


def swerve(agent, observation):
    return 1


def dare_always(agent, observation):
    return 7


def broken(agent, observation):
    raise RuntimeError("boom")


def make_greedy(seed):
    """Training seed ``seed``'s policy: per-seed, as one loads each seed's checkpoint of a library."""
    os.environ["SEED"] = str(seed)
    return Greedy()


def make_nothing(seed):
    return None


def make_broken(seed):
    raise OSError(f"no checkpoint for seed {seed}")
'''


@pytest.fixture()
def policies(tmp_path) -> Path:
    (tmp_path / "policies.py").write_text(GREEDY)
    return tmp_path / "policies.py"


def test_a_trained_policy_scored_from_outside_gives_exactly_the_runs_numbers(
    trained, policies, tmp_path, monkeypatch, capsys
):
    """The protocol is the trained run's: the same seeds, episodes and numbers, to the last digit."""
    monkeypatch.setenv("RUN", str(trained))
    monkeypatch.setenv("METHOD", "catch-up")
    monkeypatch.setenv("SEED", "1")
    out = tmp_path / "scored"
    assert (
        main(
            [
                "evaluate",
                *SMALL[:-1],
                "--policy",
                f"{policies}:Greedy",
                "--method",
                "catch-up",
                "--seeds",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "| Greedy | 2 |" in capsys.readouterr().out
    trained_row = next(r for r in rows(trained / "metrics.csv") if r["method"] == "catch-up" and r["seed"] == "1")
    scored_row = next(r for r in rows(out / "metrics.csv") if r["seed"] == "1")
    assert scored_row == {**trained_row, "method": "Greedy"}
    record = json.loads((out / "run.json").read_text())
    assert record["kind"] == "policy-evaluation" and record["eval_episodes"] == 20  # the defaults' eval_episodes
    assert record["source"]["policy"] == f"{policies}:Greedy" and len(record["source"]["policy_sha256"]) == 64


def test_a_per_seed_policy_scores_each_training_seeds_policy_as_the_run_did(
    trained, policies, tmp_path, monkeypatch, capsys
):
    """make_policy(seed) per training seed: every row is that seed's trained policy, so the interval is the run's."""
    monkeypatch.setenv("RUN", str(trained))
    monkeypatch.setenv("METHOD", "jamql")
    out = tmp_path / "scored"
    assert (
        main(
            [
                "evaluate",
                *SMALL[:-1],
                "--policy",
                f"{policies}:make_greedy",
                "--selector",
                "catch_up",
                "--seeds",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    scored = {r["seed"]: r for r in rows(out / "metrics.csv")}
    assert len({r["total_return"] for r in scored.values()}) == 2  # two policies: a non-degenerate interval
    record = json.loads((out / "run.json").read_text())
    assert record["per_seed"] is True
    assert "a policy per training seed, from make_policy(seed)" in (out / "summary.md").read_text()
    one = tmp_path / "one"
    assert (
        main(
            [
                "evaluate",
                *SMALL[:-1],
                "--policy",
                f"{policies}:swerve",
                "--selector",
                "catch_up",
                "--seeds",
                "2",
                "--out",
                str(one),
            ]
        )
        == 0
    )
    assert json.loads((one / "run.json").read_text())["per_seed"] is False
    assert "one policy: its seeds vary only the evaluation episodes" in (one / "summary.md").read_text()
    report = tmp_path / "report"
    assert main(["report", str(out), str(one), "--out", str(report)]) == 0
    text = (report / "report.md").read_text()
    assert "make_greedy: policy" in text and "(a policy per training seed, from make_policy(seed))" in text


@pytest.mark.parametrize(
    "factory, message",
    [
        ("make_nothing", "policy factory '{file}:make_nothing' returned None for seed 0"),
        (
            "make_broken",
            "policy make_broken, seed 0 (building it: make_policy(0)): the policy {file}:make_broken ({file}, line ",
        ),
    ],
)
def test_a_policy_factory_that_fails_is_named_with_its_seed(policies, tmp_path, capsys, factory, message):
    out = tmp_path / "out"
    assert (
        main(
            [
                "evaluate",
                *SMALL[:-1],
                "--policy",
                f"{policies}:{factory}",
                "--selector",
                "catch_up",
                "--seeds",
                "2",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert message.format(file=policies) in err and "Traceback" not in err
    assert not out.exists()


def test_a_report_merges_a_run_and_a_policy_and_draws_them(trained, policies, tmp_path, capsys):
    scored = tmp_path / "swerve"
    assert (
        main(
            [
                "evaluate",
                *SMALL[:-1],
                "--policy",
                f"{policies}:swerve",
                "--selector",
                "catch_up",
                "--seeds",
                "3",
                "--out",
                str(scored),
            ]
        )
        == 0
    )
    capsys.readouterr()
    report = tmp_path / "report"
    assert main(["report", str(trained), str(scored), "--out", str(report)]) == 0
    out = capsys.readouterr().out
    assert "| jamql | 2 |" in out and "| catch-up | 2 |" in out and "| swerve | 3 |" in out
    text = (report / "report.md").read_text()
    assert "swerve: policy" in text and "under catch_up" in text
    for figure in ("learning_curves.png", "final_fairness.png", "leader_shares.png"):
        assert (report / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({figure})" in text
    merged = rows(report / "metrics.csv")
    assert [(r["method"], r["seed"]) for r in merged] == [
        ("jamql", "0"),
        ("jamql", "1"),
        ("catch-up", "0"),
        ("catch-up", "1"),
        ("swerve", "0"),
        ("swerve", "1"),
        ("swerve", "2"),
    ]
    swerve = [r for r in merged if r["method"] == "swerve"]
    assert all(
        float(r["fairness_pairwise_equality"]) == 1.0 and float(r["fair_action_rate"]) == 1.0 for r in swerve
    )  # everyone swerves: every leader is fair and the returns are equal


def test_a_report_refuses_runs_measured_differently_or_a_method_defined_twice(trained, tmp_path):
    other = tmp_path / "other"
    assert (
        main(
            [
                "train",
                *SMALL[:-1],
                "--max-cycles",
                "4",
                "--method",
                "catch-up",
                "--seeds",
                "1",
                "--episodes",
                "20",
                "--out",
                str(other),
                "--no-progress",
            ]
        )
        == 0
    )
    with pytest.raises(ReportError, match=r"not measured the same way \(env_kwargs.max_cycles: 3 against 4\)"):
        write_report([trained, other], tmp_path / "report")
    longer = tmp_path / "longer"
    assert (
        main(["train", *SMALL, "--method", "catch-up", "--seeds", "1", "--episodes", "30", "--out", str(longer)]) == 0
    )
    with pytest.raises(
        ReportError,
        match=r"method 'catch-up' of .* differs \(training.episodes: 40 "
        r"against 30\); rename one",
    ):
        write_report([trained, longer], tmp_path / "report")
    assert not (tmp_path / "report").exists()  # nothing written


def test_runs_trained_otherwise_are_compared_with_a_note_and_shared_methods_pool_their_seeds(trained, tmp_path):
    grown = tmp_path / "more"
    assert (
        main(["train", *SMALL, "--method", "alternating", "--seeds", "1", "--episodes", "30", "--out", str(grown)]) == 0
    )
    table = write_report([trained, grown, trained], tmp_path / "report")
    assert "| alternating | 1 |" in table and "| jamql | 2 |" in table  # the same run twice: its seeds once
    assert "was trained otherwise than" in (tmp_path / "report" / "report.md").read_text()
    assert "training.episodes: 40 against 30" in (tmp_path / "report" / "report.md").read_text()


def test_a_report_refuses_an_unfinished_run_and_a_run_directory_as_out(trained, tmp_path):
    with pytest.raises(ReportError, match="is a run directory; write the report into another --out"):
        write_report([trained], trained)
    unfinished = tmp_path / "unfinished"
    assert (
        main(["train", *SMALL, "--method", "fixed", "--seeds", "1", "--episodes", "20", "--out", str(unfinished)]) == 0
    )
    (unfinished / "metrics.csv").unlink()
    with pytest.raises(ReportError, match="has no metrics.csv: its run is not finished"):
        read_run(unfinished)
    with pytest.raises(ReportError, match="not a run directory"):
        read_run(tmp_path)


@pytest.mark.parametrize(
    "damage, problem",
    [
        (b"\xff\xfe\x00\x01 binary \x80\x81", "is not UTF-8 text (byte 0: invalid start byte)"),
        (b"method,seed\n\xe9t\xe9,0\n", "is not UTF-8 text (byte 12: invalid continuation byte)"),
        (b"method,seed,fairness\nfixed,0,\x00\x00\n", "holds NUL bytes"),
    ],
)
def test_a_report_of_a_binary_metrics_csv_names_the_file_and_the_problem(trained, tmp_path, capsys, damage, problem):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    (run / "metrics.csv").write_bytes(damage)
    with pytest.raises(ReportError) as info:
        read_run(run)
    assert f"{run / 'metrics.csv'} {problem}" in str(info.value)
    assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fairlead: error: ") and f"{run / 'metrics.csv'} {problem}" in err
    assert "Traceback" not in err and not (tmp_path / "report").exists()


@pytest.mark.parametrize(
    "policy, options, message",
    [
        (
            "{file}:dare_always",
            ["--selector", "catch_up"],
            "policy dare_always chose action 7 for player_0 at stage 0; the legal actions are [0, 1]",
        ),
        ("{file}:broken", ["--selector", "catch_up"], "policy broken, seed 0: the policy "),
        (
            "{file}:broken",
            ["--selector", "catch_up"],
            "policies.py, line 34) raised RuntimeError: boom (for player_0 at stage 0)",
        ),
        ("{file}:nothing", ["--selector", "catch_up"], "has no attribute 'nothing'"),
        ("{dir}/missing.py:swerve", ["--selector", "catch_up"], "no file"),
        ("swerve", ["--selector", "catch_up"], "give it as module:function or file.py:function"),
        ("{file}:swerve", ["--method", "jamql"], "chooses its leaders with a mediator learned in training"),
        ("{file}:swerve", [], "give the leader rule once: --selector NAME"),
        ("{file}:swerve", ["--selector", "round-robin"], "unknown selector 'round-robin'"),
    ],
)
def test_bad_policies_and_leader_rules_are_refused_and_nothing_is_written(
    policies, tmp_path, capsys, policy, options, message
):
    policy = policy.format(file=policies, dir=tmp_path)
    assert (
        main(["evaluate", *SMALL[:-1], "--policy", policy, *options, "--seeds", "1", "--out", str(tmp_path / "out")])
        == 2
    )
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_evaluate_refuses_a_non_empty_out(policies, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    assert (
        main(
            [
                "evaluate",
                *SMALL[:-1],
                "--policy",
                f"{policies}:swerve",
                "--selector",
                "fixed",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    assert "exists and is not empty; choose another --out" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["mine.txt"]


@pytest.mark.parametrize(
    "command", [["eval", "{out}"], ["train", "--resume", "{out}"], ["train", "--out", "{out}", "--method", "fixed"]]
)
def test_an_evaluation_directory_is_named_as_one_when_resumed_grown_or_re_evaluated(
    policies, tmp_path, capsys, command
):
    out = tmp_path / "out"
    assert (
        main(
            [
                "evaluate",
                *SMALL[:-1],
                "--policy",
                f"{policies}:swerve",
                "--selector",
                "fixed",
                "--seeds",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    before = sorted((p, p.stat().st_mtime_ns) for p in out.rglob("*"))
    capsys.readouterr()
    assert main([part.format(out=out) for part in command]) == 2
    err = capsys.readouterr().err
    assert f"{out} holds a policy evaluation (`fairlead evaluate`), not a trained run" in err
    assert "malformed" not in err and f"`fairlead report RUN {out} --out DIR`" in err
    assert sorted((p, p.stat().st_mtime_ns) for p in out.rglob("*")) == before


def test_a_policy_object_and_box_observations(tmp_path):
    (tmp_path / "box.py").write_text(
        textwrap.dedent("""
        import numpy as np

        class FirstLegal:
            def act(self, agent, observation):
                assert observation["observation"].dtype == np.float32  # the box encoding
                return int(np.flatnonzero(observation["action_mask"])[0])

        POLICY = FirstLegal()
    """)
    )
    assert (
        main(
            [
                "evaluate",
                *SMALL[:-1],
                "--policy",
                f"{tmp_path}/box.py:POLICY",
                "--selector",
                "round_robin",
                "--obs-encoding",
                "box",
                "--seeds",
                "1",
                "--episodes",
                "2",
                "--name",
                "first-legal",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    (row,) = rows(tmp_path / "out" / "metrics.csv")
    assert row["method"] == "first-legal" and float(row["fair_action_rate"]) == 0.0  # daring first: unfair


def test_a_scenario_and_the_same_env_with_the_same_arguments_are_one_protocol(tmp_path, capsys):
    """chicken-4p is chicken_v0 with n_agents=4, max_cycles=10 and the default stage feature: one report merges them."""
    common = ["--seeds", "1", "--episodes", "10", "--no-progress", "--jobs", "1"]
    assert main(["train", "--env", "chicken-4p", "--method", "fixed", *common, "--out", str(tmp_path / "a")]) == 0
    assert (
        main(
            ["train", "--env", "chicken_v0", "--n-agents", "4", "--max-cycles", "10", "--method", "fixed,alternating"]
            + [*common, "--out", str(tmp_path / "b")]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "report")]) == 0
    assert {r["method"] for r in rows(tmp_path / "report" / "metrics.csv")} == {"fixed", "alternating"}
    assert (
        main(
            [
                "train",
                "--env",
                "chicken_v0",
                "--n-agents",
                "3",
                "--method",
                "fixed",
                *common,
                "--out",
                str(tmp_path / "c"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "c"), "--out", str(tmp_path / "other")]) == 2
    assert "env_kwargs.n_agents: 4 against 3" in capsys.readouterr().err


def test_report_takes_any_metric_as_its_headline_and_names_the_valid_ones(trained, tmp_path, capsys):
    assert main(["report", str(trained), "--out", str(tmp_path / "jain"), "--metric", "fairness_jain"]) == 0
    table = capsys.readouterr().out
    assert "Fairness: jain of the returns before any transfer" in table
    jain = [float(r["fairness_jain"]) for r in rows(trained / "metrics.csv") if r["method"] == "jamql"]
    assert f"| jamql | 2 | {sum(jain) / 2:.3f} [" in table
    assert main(["report", str(trained), "--out", str(tmp_path / "total"), "--metric", "total_return"]) == 0
    table = capsys.readouterr().out
    assert "| method | seeds | total return | total return IQM |" in table
    assert "First column: total_return (chosen with --metric)" in table
    assert (tmp_path / "total" / "final_fairness.png").is_file()
    assert main(["report", str(trained), "--out", str(tmp_path / "bad"), "--metric", "fairnes"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric 'fairnes' for --metric; valid: fairness_pairwise_equality, fairness_equality" in err
    assert not (tmp_path / "bad").exists()
