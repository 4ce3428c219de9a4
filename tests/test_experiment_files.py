"""Atomic writes, checkpoints and confidence intervals."""

import json
import math
import os

import numpy as np
import pytest

from fairlead.experiments.atomic import write_atomic
from fairlead.experiments.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_result,
    save_checkpoint,
    save_result,
)
from fairlead.experiments.report import mean_ci, t_critical
from fairlead.trainers.qlearning import QConfig, TabularQLearner


def test_write_atomic_replaces_content_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    write_atomic(target, "one")
    write_atomic(target, b"two")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["file.txt"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_write_atomic_files_get_the_mode_the_umask_allows(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_atomic(tmp_path / "file.txt", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "file.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "file.txt"
    write_atomic(target, "old")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["file.txt"]


def _trainer_state():
    q = TabularQLearner(2, QConfig(), np.random.default_rng(1))
    q.update((0, 1), 1, 2.0, (1, 1), np.ones(2), False)
    return {"episode": 7, "learners": {"player_0": q.state_dict(), "mediator": q.state_dict()}}


def test_checkpoint_round_trip(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, "abc", _trainer_state(), [{"episode": 5, "x": 0.5}])
    state, curve = load_checkpoint(path, "abc")
    assert state["episode"] == 7 and curve == [{"episode": 5, "x": 0.5}]
    restored = TabularQLearner(2, QConfig(), np.random.default_rng(0))
    restored.load_state_dict(state["learners"]["player_0"])
    assert np.array_equal(restored.q[(0, 1)], _trainer_state()["learners"]["player_0"]["values"][0])


def test_checkpoint_from_another_run_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, "abc", _trainer_state(), [])
    with pytest.raises(CheckpointError, match="different run"):
        load_checkpoint(path, "xyz")


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04garbage", b"\x80\x04garbage"])
def test_corrupt_checkpoint_is_refused(tmp_path, content):
    path = tmp_path / "c.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="corrupt") as info:
        load_checkpoint(path, "abc")
    assert str(path) in str(info.value)
    assert "allow_pickle" not in str(info.value)  # numpy's hint to load a non-zip file as a pickle


def test_result_round_trip(tmp_path):
    path = tmp_path / "result.json"
    save_result(path, "abc", {"method": "m", "seed": 0, "x": 0.5}, [{"episode": 5, "x": 0.25}])
    assert load_result(path, "abc") == {"row": {"method": "m", "seed": 0, "x": 0.5},
                                        "curve": [{"episode": 5, "x": 0.25}]}
    assert json.loads(path.read_text())["fingerprint"] == "abc"


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"row": ', "is corrupt or not a fairlead result"),
        ("\udcff", "is corrupt or not a fairlead result"),
        ('{"row": {}, "curve": []}', "is not a fairlead-result-v1 file"),
        ('["fairlead-result-v1"]', "is not a fairlead-result-v1 file"),
        ('{"format": "fairlead-result-v1", "fingerprint": "xyz", "row": {}, "curve": []}',
         "belongs to a different run (fingerprint 'xyz', expected 'abc')"),
        ('{"format": "fairlead-result-v1", "fingerprint": "abc", "row": {}}', "is incomplete"),
    ],
)
def test_bad_result_file_is_refused_with_its_name(tmp_path, content, message):
    path = tmp_path / "result.json"
    path.write_bytes(content.encode(errors="surrogateescape"))
    with pytest.raises(CheckpointError) as info:
        load_result(path, "abc")
    assert f"result file {path} {message}" in str(info.value)


def test_foreign_npz_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, header=np.array(json.dumps({"format": "other"})))
    with pytest.raises(CheckpointError, match="not a fairlead-checkpoint"):
        load_checkpoint(path, "abc")
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path, "abc")


def test_t_critical_values():
    assert t_critical(1) == 12.706
    assert t_critical(9) == 2.262
    assert t_critical(30) == 2.042
    assert t_critical(60) == pytest.approx(2.000, abs=1e-3)
    assert t_critical(1000) == pytest.approx(1.962, abs=1e-3)


def test_mean_ci_matches_hand_computation():
    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert half == pytest.approx(3.182 * np.std([1, 2, 3, 4], ddof=1) / 2)
    assert math.isnan(mean_ci([5.0])[1])
