"""The command line and run directories: determinism, resume, refusal, bad input."""

import shutil
import time

import numpy as np
import pytest
from support import SMALL, interrupt, listed, train, tree_digest

import fairlead
from fairlead import cli, fairness
from fairlead.cli import main
from fairlead.experiments.checkpoint import load_checkpoint
from fairlead.experiments.runs import prepare_run_dir, train_seed
from fairlead.experiments.spec import load_spec
from fairlead.registry import catalogue_dir
from fairlead.trainers.config import load_hyperparams, load_methods
from fairlead.trainers.jamql import Trainer


def test_train_writes_reports_and_is_bit_for_bit_reproducible(tmp_path, capsys):
    assert train(tmp_path / "a") == 0
    out = capsys.readouterr().out
    assert "| jamql | 2 |" in out and "| catch-up | 2 |" in out
    assert train(tmp_path / "b", jobs="2") == 0  # parallel workers give the same bytes
    for name in ("metrics.csv", "curves.csv", "summary.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    rows = (tmp_path / "a" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("method,seed,fairness_pairwise_equality")
    assert len(rows) == 1 + 2 * 2


def test_resumed_run_equals_an_uninterrupted_one(tmp_path):
    spec = load_spec_for(tmp_path / "whole")
    train_seed(spec, "jamql", 0, tmp_path / "whole")
    prepare_run_dir(spec, tmp_path / "cut", resume=False)
    assert train_seed(spec, "jamql", 0, tmp_path / "cut", stop_after=17) == {}  # interrupted mid-run
    state, _ = load_checkpoint(tmp_path / "cut" / "jamql" / "seed_0" / "checkpoint.npz", spec.seed_fingerprint("jamql"))
    assert state["episode"] == 17
    train_seed(spec, "jamql", 0, tmp_path / "cut")  # resume
    for name in ("result.json", "checkpoint.npz"):
        whole = tmp_path / "whole" / "jamql" / "seed_0" / name
        cut = tmp_path / "cut" / "jamql" / "seed_0" / name
        if name == "result.json":
            assert whole.read_text() == cut.read_text()
        else:
            a, b = (
                load_checkpoint(whole, spec.seed_fingerprint("jamql"))[0],
                load_checkpoint(cut, spec.seed_fingerprint("jamql"))[0],
            )
            for agent in a["learners"]:
                assert np.array_equal(a["learners"][agent]["keys"], b["learners"][agent]["keys"])
                assert np.array_equal(a["learners"][agent]["values"], b["learners"][agent]["values"])


def load_spec_for(out):
    assert train(out, method="jamql") == 0
    spec = load_spec(out)
    (out / "jamql" / "seed_0" / "result.json").unlink()
    (out / "jamql" / "seed_0" / "checkpoint.npz").unlink()
    return spec


def test_resume_via_cli_after_interruption(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    reference = (out / "metrics.csv").read_text()
    interrupt(out)
    assert train(out) == 0  # training into the run again continues it
    assert (out / "metrics.csv").read_text() == reference
    interrupt(out)
    assert train(out, "--resume") == 0  # the original options + --resume
    assert (out / "metrics.csv").read_text() == reference
    interrupt(out)
    assert main(["train", "--resume", str(out), "--no-progress", "--jobs", "2"]) == 0  # the recorded options
    assert (out / "metrics.csv").read_text() == reference


def test_resume_with_contradicting_options_names_them_and_touches_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    interrupt(out)
    before = tree_digest(out)
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--method", "fixed", "--episodes", "50", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{out} holds a run with other settings" in err
    assert "training.episodes (--episodes or --config): recorded 40, asked 50" in err
    differences = err.partition("other settings (")[2].partition("); a run grows")[0]
    assert differences == "training.episodes (--episodes or --config): recorded 40, asked 50"  # methods: it grows
    # options not given (seeds, max cycles) keep the recorded values
    assert main(["train", "--resume", str(out), "--max-cycles", "4", "--no-progress"]) == 2
    assert "env_kwargs.max_cycles (--max-cycles): recorded 3, asked 4" in capsys.readouterr().err
    assert tree_digest(out) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--resume", "A", "--out", "B"], "--resume A and --out B name different directories"),
        (["--env", "chicken_v0", "--method", "fixed"], "train needs --out DIR for a new run, or --resume DIR"),
        (["--method", "fixed", "--out", "B"], "a new run needs --env (env= in Python; or --resume DIR"),
        (["--out", "B"], "a new run needs --env and --method (env= and methods= in Python; or --resume DIR"),
        (["--resume", "B"], "B is not a run directory (no run.json)"),
    ],
)
def test_train_needs_a_run_directory_and_a_new_run_needs_env_and_method(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *args, "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_finished_run_grows_by_methods_and_seeds_training_only_what_is_missing(tmp_path, capsys):
    grown, fresh = tmp_path / "grown", tmp_path / "fresh"
    assert train(grown) == 0
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in grown.glob("*/seed_*/*")}
    assert main(["train", "--out", str(grown), "--method", "fixed", "--seeds", "3", "--no-progress"]) == 0
    assert "| fixed | 3 |" in capsys.readouterr().out
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before  # nothing retrained or rewritten
    assert main(["train", *SMALL, "--seeds", "3", "--method", "jamql,catch-up,fixed", "--out", str(fresh)]) == 0
    assert tree_digest(grown) == tree_digest(fresh)  # the same files as training everything at once


def test_out_directory_with_a_different_run_is_refused_and_untouched(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    before = tree_digest(out)
    assert main(["train", *SMALL, "--max-cycles", "4", "--method", "fixed", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "other settings (env_kwargs.max_cycles (--max-cycles): recorded 3, asked 4)" in err
    assert tree_digest(out) == before
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    assert train(stranger) == 2 and "not empty" in capsys.readouterr().err
    assert train(tmp_path / "nothing", "--resume") == 2 and "no run.json" in capsys.readouterr().err
    assert not (tmp_path / "nothing").exists()


def test_out_that_is_a_file_is_refused_and_untouched(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("mine")
    assert train(path) == 2
    assert f"{path} is a file, not a directory; choose another --out" in capsys.readouterr().err
    assert path.read_text() == "mine"


FOREIGN = b"(stands for the same file of another run)"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("checkpoint.npz", b"garbage", "is corrupt or not a fairlead checkpoint (not an .npz archive)"),
        ("checkpoint.npz", FOREIGN, "belongs to a different run"),
        ("result.json", b'{"row": {"method": "jamq', "is corrupt or not a fairlead result"),
        ("result.json", FOREIGN, "belongs to a different run"),
    ],
    ids=["corrupt-checkpoint", "foreign-checkpoint", "corrupt-result", "foreign-result"],
)
def test_corrupt_or_foreign_seed_file_is_refused_before_any_training(tmp_path, capsys, name, content, message):
    out = tmp_path / "run"
    assert train(out) == 0
    for result in out.rglob("result.json"):
        result.unlink()  # interrupted: every (method, seed) still has files to write
    if content == FOREIGN:
        other = tmp_path / "other"
        assert train(other, "--episodes", "30") == 0  # the same layout, another run
        content = (other / "jamql" / "seed_0" / name).read_bytes()
    target = out / "jamql" / "seed_0" / name
    target.write_bytes(content)
    before = tree_digest(out)
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--no-progress", "--jobs", "2"]) == 2
    err = capsys.readouterr().err
    assert f"{target} {message}" in err
    assert "allow_pickle" not in err
    assert tree_digest(out) == before


def test_a_failing_worker_stops_the_others_before_they_write(tmp_path, capsys, monkeypatch):
    real = Trainer.train_episode

    def train_episode(self):
        if (self.method.name, self.seed) == ("jamql", 0):
            raise RuntimeError("boom in jamql seed 0")
        time.sleep(0.2)  # 8 s per (method, seed): still training when jamql seed 0 fails
        return real(self)

    monkeypatch.setattr(Trainer, "train_episode", train_episode)  # the forked workers inherit it
    out = tmp_path / "run"
    start = time.monotonic()
    assert train(out, "--engine", "reference", jobs="2") == 2  # the trainer patched above
    assert "boom in jamql seed 0" in capsys.readouterr().err
    assert time.monotonic() - start < 8  # less than one (method, seed): the others stopped, queued ones never ran
    assert [p.name for p in out.rglob("*") if p.is_file()] == ["run.json"]


def test_duplicate_methods_are_refused_before_anything_is_written(tmp_path, capsys):
    assert train(tmp_path / "o", method="jamql,catch-up,jamql") == 2
    assert "method jamql given more than once; give each method once" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.fixture
def method_catalogue(tmp_path, monkeypatch):
    """A copy of the shipped trainers/ folder, read instead of it; returns its methods/ folder."""
    shutil.copytree(catalogue_dir("trainers"), tmp_path / "catalogue" / "trainers")
    monkeypatch.setattr("fairlead.trainers.config.catalogue_dir", lambda kind: tmp_path / "catalogue" / kind)
    return tmp_path / "catalogue" / "trainers" / "methods"


@pytest.mark.parametrize(
    "content, fragments",
    [
        (
            'selector = "mediator"\nhistory = ["returns", "reputaton"]',
            ["did you mean 'reputation'", "valid features: ('returns', 'leaders', 'reputation')"],
        ),
        ('selector = "mediator"\nhistory = 3', ["history must be a tuple of feature names from"]),
        (
            'selector = "catchup"',
            [
                "unknown selector 'catchup' (did you mean 'catch_up'?)",
                "valid selectors: vector_mediator, mediator, fixed",
            ],
        ),
        ('description = "no selector"', ["'selector' is missing", "valid selectors: vector_mediator, mediator, fixed"]),
        ('selector = "learned"', ["unknown selector 'learned'", "valid selectors: vector_mediator, mediator, fixed"]),
        (
            'selector = "vector_mediator"\nagent_history = ["unfair_lead"]',
            ["unknown agent_history feature 'unfair_lead' (did you mean 'unfair_leads'?)"],
        ),
        (
            'selector = "vector_mediator"\ntransfer = ["unfair_advantage", -1]',
            ["transfer strength kappa must be in [0, 1,000,000], got -1"],
        ),
        (
            'selector = "vector_mediator"\ntransfer = ["unfair_advantag", 2]',
            ["unknown transfer rule 'unfair_advantag' (did you mean 'unfair_advantage'?)"],
        ),
        ('selector = "vector_mediator"\n[selector_kwargs]\nleader = "player_1"', ["takes no [selector_kwargs]"]),
        ('selector = "mediator"\ntransfer = "half"', ["transfer strength beta must be a number in [0, 1], got 'half'"]),
        ('selector = "mediator"\ntransfer = 1.5', ["transfer strength beta must be in [0, 1], got 1.5"]),
        ('selector = "fixed"\n[selector_kwargs]\nleeder = "player_1"', ["selector 'fixed' takes only leader"]),
        ('selector = "mediator"\n[selector_kwargs]\nleader = "player_1"', ["takes no [selector_kwargs]"]),
    ],
)
def test_malformed_method_files_are_explained_before_anything_is_written(
    tmp_path, capsys, method_catalogue, content, fragments
):
    path = method_catalogue / "mine.toml"
    path.write_text(content)
    assert train(tmp_path / "o", method="mine") == 2
    err = capsys.readouterr().err
    assert f"method file {path}: " in err
    for fragment in fragments:
        assert fragment in err
    assert not (tmp_path / "o").exists()


def test_a_malformed_method_file_breaks_only_what_needs_it(tmp_path, capsys, method_catalogue):
    out = tmp_path / "run"
    assert train(out, method="fixed") == 0
    bad = method_catalogue / "broken.toml"
    bad.write_text('selector = "fixd"\n')
    capsys.readouterr()
    assert main(["eval", str(out), "--no-progress"]) == 0  # an unrelated finished run
    assert train(tmp_path / "other", method="catch-up") == 0
    capsys.readouterr()
    assert main(["list", "methods"]) == 0
    rows = listed(capsys.readouterr().out)
    assert set(rows) == {p.stem for p in method_catalogue.glob("*.toml")}
    assert f"UNUSABLE: method file {bad}: unknown selector 'fixd' (did you mean 'fixed'?)" in rows["broken"]
    assert train(tmp_path / "all", method="all") == 2
    assert f"method file {bad}: unknown selector 'fixd'" in capsys.readouterr().err
    assert not (tmp_path / "all").exists()


def test_a_method_file_added_to_the_catalogue_trains(tmp_path, capsys, method_catalogue):
    (method_catalogue / "mine.toml").write_text(
        'selector = "fixed"\nhistory = "leaders"\ntransfer = 1\n[selector_kwargs]\nleader = "player_1"\n'
    )
    assert load_methods()["mine"].history == ("leaders",) and load_methods()["mine"].transfer == 1.0
    assert train(tmp_path / "o", method="mine") == 0
    assert "| mine | 2 |" in capsys.readouterr().out


def test_unknown_env_keyword_names_the_env_and_the_valid_ones(tmp_path, capsys):
    scenario = tmp_path / "mine.toml"
    scenario.write_text('env = "chicken_v0"\n[kwargs]\nn_agent = 3\n')
    assert main(["train", "--env", str(scenario), "--method", "fixed", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert (
        f"scenario file {scenario}: environment chicken_v0 has no argument 'n_agent' (did you mean 'n_agents'?)" in err
    )
    assert "valid arguments: n_agents, max_cycles, stage_feature" in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(TypeError, match=r"^environment chicken_v0 has no argument 'n_agent' \(did you mean 'n_agents'"):
        fairlead.make("chicken-4p", n_agent=2)


def test_demo_trains_jamql_and_the_baselines_and_draws_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(cli.DEMO, "seeds", 2)
    monkeypatch.setitem(cli.DEMO, "episodes", 20)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--jobs", "1", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    methods = ["jamql", "catch-up", "alternating", "vote", "random", "fixed"]
    assert printed.startswith("Training JAM-QL and 5 baselines x 2 seeds on chicken-4p (20 episodes each)")
    for method in methods:
        assert f"| {method} | 2 |" in printed
    assert "final_fairness.png, leader_shares.png, learning_curves.png)" in printed
    assert f"The figures:\n  {out / 'final_fairness.png'}\n  {out / 'leader_shares.png'}" in printed
    for name in (
        "run.json",
        "metrics.csv",
        "curves.csv",
        "summary.md",
        "learning_curves.png",
        "final_fairness.png",
        "leader_shares.png",
    ):
        assert (out / name).is_file()
    assert "](learning_curves.png)" in (out / "summary.md").read_text()
    assert len((out / "metrics.csv").read_text().splitlines()) == 1 + 2 * len(methods)
    assert load_spec(out).hp.training.episodes == 20 and load_spec(out).env_kwargs["n_agents"] == 4


def test_eval_re_evaluates_a_finished_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--episodes", "3"]) == 0
    captured = capsys.readouterr()
    assert "| jamql | 2 |" in captured.out
    assert "evaluating: 100%" in captured.err and "12/12" in captured.err  # 2 methods x 2 seeds x 3 episodes
    assert main(["eval", str(out), "--no-progress"]) == 0  # the run's own evaluation episodes, from the checkpoints
    assert capsys.readouterr().err == ""
    assert (out / "eval.csv").read_bytes() == (out / "metrics.csv").read_bytes()
    assert main(["eval", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_eval_refuses_an_unfinished_run_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    for name in ("result.json", "checkpoint.npz"):
        (out / "jamql" / "seed_1" / name).unlink()
    assert train_seed(load_spec(out), "jamql", 1, out, stop_after=10) == {}  # interrupted at episode 10
    before = tree_digest(out)
    capsys.readouterr()
    assert main(["eval", str(out), "--no-progress"]) == 2
    assert (
        f"jamql seed 1 stopped at episode 10 of 40: finish it first with `fairlead train --resume {out}`"
        in capsys.readouterr().err
    )
    assert tree_digest(out) == before


def test_eval_refuses_a_run_with_a_missing_checkpoint_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    checkpoint = out / "catch-up" / "seed_1" / "checkpoint.npz"
    checkpoint.unlink()
    before = tree_digest(out)
    capsys.readouterr()
    assert main(["eval", str(out), "--no-progress"]) == 2
    assert f"{checkpoint} is missing" in capsys.readouterr().err
    assert tree_digest(out) == before


@pytest.mark.parametrize(
    "command, options",
    [
        ("list", ["{all,envs,scenarios,methods,metrics}"]),
        (
            "train",
            [
                "fairlead train --resume DIR",
                "--env",
                "--method",
                "--seeds",
                "--episodes",
                "--out",
                "--config",
                "--n-agents",
                "--max-cycles",
                "--resume [DIR]",
                "--jobs",
                "--no-progress",
            ],
        ),
        ("eval", ["dir", "--episodes", "--no-progress"]),
        ("demo", ["--out", "--jobs", "--no-progress"]),
    ],
)
def test_every_command_has_help(capsys, command, options):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: fairlead {command}")
    for option in options:
        assert option in text


def test_list_shows_every_env_scenario_method_and_metric_in_aligned_columns_of_100(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines if line.startswith("  ") and not line.startswith("   ")]
    expected = {*fairlead.list_envs(), *fairlead.list_scenarios(), *load_methods(), *fairness.METRICS}
    assert expected <= set(names)
    assert max(map(len, lines)) <= cli.LIST_WIDTH
    scenarios = lines[lines.index("scenarios (envs/*.toml):") + 1 : lines.index("methods (trainers/methods/*.toml):")]
    columns = {len(line) - len(line[2:].split("  ", 1)[1].lstrip()) for line in scenarios if not line.startswith("   ")}
    assert len(columns) == 1  # every description starts in one column, and so does its continuation
    (column,) = columns
    assert all(line.startswith(" " * column) for line in scenarios if line.startswith("   "))
    assert main(["list", "metrics"]) == 0
    metrics = capsys.readouterr().out.splitlines()[1:]
    assert {line.split()[0] for line in metrics if not line.startswith("   ")} == set(fairness.METRICS)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env", "chiken_v0", "--method", "jamql"], "did you mean 'chicken_v0'"),
        (["--env", "chicken_v0", "--method", "jamq"], "did you mean 'jamql'"),
        (
            ["--env", "chicken_v0", "--method", "JAMQL"],
            "unknown method 'JAMQL' (did you mean 'jamql'?); valid methods: ",
        ),
        (
            [
                "--env",
                "chicken_v0",
                "--method",
                "jamql",
                "--n-agents",
                "2",
                "--max-cycles",
                "2",
                "--config",
                "missing.toml",
            ],
            "cannot read config file",
        ),
    ],
)
def test_bad_names_and_files_are_explained(tmp_path, capsys, args, message):
    assert main(["train", *args, "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        ("[training\nepisodes = 3", "not valid TOML"),
        ("[training]\nepisode = 3", "did you mean 'episodes'"),
        ("[optimizer]\nlr = 3", "unknown sections"),
        ("[agent]\nalpha = 'fast'", "alpha must be a float"),
        ("[agent]\nalpha = 7.0", "invalid Q-learning hyper-parameters"),
        ("[training]\nepisodes = 0", "must be integers >= 1"),
    ],
)
def test_malformed_config_files_are_explained(tmp_path, capsys, content, message):
    config = tmp_path / "c.toml"
    config.write_text(content)
    args = ["train", *SMALL, "--method", "fixed", "--out", str(tmp_path / "o"), "--config", str(config)]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flag, value", [("--seeds", "0"), ("--episodes", "-3"), ("--max-cycles", "x")])
def test_bad_numbers_are_rejected_by_the_parser(tmp_path, capsys, flag, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--env", "chicken_v0", "--method", "fixed", "--out", str(tmp_path), flag, value])
    assert exit_info.value.code == 2
    assert "whole number >= 1" in capsys.readouterr().err


def test_env_options_are_validated_before_any_file_is_written(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--env",
                "battle_of_sexes_v0",
                "--n-agents",
                "3",
                "--method",
                "fixed",
                "--out",
                str(tmp_path / "o"),
                "--no-progress",
            ]
        )
        == 2
    )
    assert "bimatrix" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_scenario_sets_its_own_hyper_parameters_and_config_overrides_them(tmp_path, capsys):
    from fairlead.api import run_spec

    scenario = tmp_path / "mine.toml"
    scenario.write_text('env = "chicken_v0"\n[kwargs]\nn_agents = 2\n[agent]\ngamma = 0.5\n[training]\nepisodes = 7\n')
    spec = run_spec(str(scenario), "fixed", None, None, None, None, None, recorded=None)
    assert spec.hp.agent.gamma == 0.5 and spec.hp.training.episodes == 7
    assert spec.hp.agent.alpha == load_hyperparams().agent.alpha  # the rest from the defaults
    config = tmp_path / "c.toml"
    config.write_text("[agent]\ngamma = 0.9\n")
    spec = run_spec(str(scenario), "fixed", None, None, config, None, None, recorded=None)
    assert spec.hp.agent.gamma == 0.9 and spec.hp.training.episodes == 7
    scenario.write_text('env = "chicken_v0"\n[agent]\ngama = 0.5\n')
    assert main(["train", "--env", str(scenario), "--method", "fixed", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"scenario file {scenario} [agent]: unknown key 'gama' (did you mean 'gamma'?)" in err
    scenario.write_text('env = "chicken_v0"\n[agnet]\ngamma = 0.5\n')
    assert main(["train", "--env", str(scenario), "--method", "fixed", "--out", str(tmp_path / "o")]) == 2
    assert (
        "unknown keys ['agnet']; valid keys: env, kwargs, description, training, agent, mediator"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "o").exists()
