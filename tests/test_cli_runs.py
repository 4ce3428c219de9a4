"""The command line and run directories: determinism, resume, refusal, bad input."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from fairlead.cli import main
from fairlead.experiments.checkpoint import load_checkpoint
from fairlead.experiments.runs import load_spec, prepare_run_dir, train_seed

SMALL = ["--env", "chicken_v0", "--max-cycles", "3", "--seeds", "2", "--episodes", "40", "--no-progress"]


def train(out, *extra, method="jamql,catch-up", jobs="1"):
    return main(["train", *SMALL, "--method", method, "--out", str(out), "--jobs", jobs, *extra])


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return h.hexdigest()


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
    state, _ = load_checkpoint(tmp_path / "cut" / "jamql" / "seed_0" / "checkpoint.npz", spec.fingerprint)
    assert state["episode"] == 17
    train_seed(spec, "jamql", 0, tmp_path / "cut")  # resume
    for name in ("result.json", "checkpoint.npz"):
        whole = tmp_path / "whole" / "jamql" / "seed_0" / name
        cut = tmp_path / "cut" / "jamql" / "seed_0" / name
        if name == "result.json":
            assert whole.read_text() == cut.read_text()
        else:
            a, b = load_checkpoint(whole, spec.fingerprint)[0], load_checkpoint(cut, spec.fingerprint)[0]
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
    (out / "catch-up" / "seed_1" / "result.json").unlink()  # as if killed before the end
    (out / "metrics.csv").unlink()
    assert train(out) == 2 and "--resume" in capsys.readouterr().err
    assert train(out, "--resume") == 0
    assert (out / "metrics.csv").read_text() == reference


def test_out_directory_with_a_different_run_is_refused_and_untouched(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    before = tree_digest(out)
    assert main(["train", *SMALL, "--method", "fixed", "--out", str(out), "--resume"]) == 2
    assert "different run" in capsys.readouterr().err
    assert tree_digest(out) == before
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    assert train(stranger) == 2 and "not empty" in capsys.readouterr().err
    assert train(tmp_path / "nothing", "--resume") == 2 and "nothing to resume" in capsys.readouterr().err


def test_corrupt_checkpoint_gives_a_clear_error(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    (out / "jamql" / "seed_0" / "result.json").unlink()
    (out / "jamql" / "seed_0" / "checkpoint.npz").write_bytes(b"garbage")
    assert train(out, "--resume") == 2
    assert "corrupt" in capsys.readouterr().err


def test_eval_re_evaluates_a_finished_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--episodes", "2"]) == 0
    assert "| jamql | 2 |" in capsys.readouterr().out
    assert (out / "eval.csv").exists()
    assert main(["eval", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_list_shows_envs_methods_and_metrics(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("chicken_v0", "chicken-4p", "jamql-no-history", "catch-up", "pairwise_equality"):
        assert name in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env", "chiken_v0", "--method", "jamql"], "did you mean 'chicken_v0'"),
        (["--env", "chicken_v0", "--method", "jamq"], "did you mean 'jamql'"),
        (["--env", "chicken_v0", "--method", "jamql", "--n-agents", "2", "--max-cycles", "2",
          "--config", "missing.toml"], "cannot read config file"),
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
    assert main(["train", "--env", "battle_of_sexes_v0", "--n-agents", "3", "--method", "fixed",
                 "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "bimatrix" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
