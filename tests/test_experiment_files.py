"""Atomic writes, checkpoints and confidence intervals."""

import json
import math
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairlead.experiments.atomic import write_atomic
from fairlead.experiments.checkpoint import (
    CheckpointError,
    indented_json,
    load_checkpoint,
    load_result,
    save_checkpoint,
    save_result,
)
from fairlead.experiments.report import mean_ci, t_critical
from fairlead.trainers.config import HyperParams, get_method
from fairlead.trainers.jamql import Trainer
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


def test_a_checkpoint_names_its_method_and_seed_and_loads_only_as_theirs(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, "abc", _trainer_state(), [], owner=("jamql", 3))
    assert load_checkpoint(path, "abc", ("jamql", 3))[0]["episode"] == 7
    for other in (("jamql", 4), ("fixed", 3)):
        with pytest.raises(CheckpointError, match="is method jamql seed 3's, not method"):
            load_checkpoint(path, "abc", other)
    save_checkpoint(path, "abc", _trainer_state(), [])  # as written before checkpoints named their owner
    assert load_checkpoint(path, "abc", ("jamql", 4))[0]["episode"] == 7


def test_a_built_in_checkpoint_keeps_the_layout_of_the_first_version(tmp_path):
    """Q-tables as arrays keys_<i>, values_<i>; generator states in the header: checkpoints of older runs still load."""
    trainer = Trainer("chicken_v0", {"max_cycles": 3}, get_method("jamql"), HyperParams(), 0)
    for _ in range(3):
        trainer.train_episode()
    state = trainer.state_dict()
    save_checkpoint(tmp_path / "c.npz", "abc", state, [])
    with np.load(tmp_path / "c.npz") as data:
        assert data.files == ["keys_0", "values_0", "keys_1", "values_1", "keys_2", "values_2", "header"]
        header = json.loads(str(data["header"]))
    assert header["format"] == "fairlead-checkpoint-v1"
    assert header["learners"] == {
        agent: {"index": i, "rng": learner["rng"]} for i, (agent, learner) in enumerate(state["learners"].items())
    }
    old = {f"{k}_{i}": s[k] for i, s in enumerate(state["learners"].values()) for k in ("keys", "values")}
    np.savez_compressed(tmp_path / "v1.npz", **old, header=np.array(json.dumps(header)))  # as the first version wrote
    loaded = load_checkpoint(tmp_path / "v1.npz", "abc")[0]
    assert loaded["learners"].keys() == state["learners"].keys()
    for agent, learner in state["learners"].items():
        assert loaded["learners"][agent]["rng"] == learner["rng"]
        assert all(np.array_equal(loaded["learners"][agent][k], learner[k]) for k in ("keys", "values"))


def test_checkpoint_round_trip_of_any_learner_state(tmp_path):
    """A user learner's state: every array back as an array (dtype, shape), every other value back equal."""
    odd = {
        "table": np.arange(6, dtype=np.float32).reshape(2, 3),
        "flags": np.array([True, False]),
        "empty": np.zeros((0, 4)),
        "scalar": np.array(7, dtype=np.int8),
        "q_1": np.array([1.5]),
        "nested": {"temperature": 0.25, "visits": {"0,1": 3, "1,1": [1, 2, {"deep": None}]}},
        "states": [[0, 1], [1, 1]],
        "name": "softmax ü",
        "big": 2**100,
        "none": None,
        "on": True,
    }
    builtin = _trainer_state()["learners"]["player_0"]
    save_checkpoint(
        tmp_path / "c.npz",
        "abc",
        {"episode": 3, "learners": {"player_0": builtin, "player_1": odd, "player_2": {}}},
        [],
    )
    learners = load_checkpoint(tmp_path / "c.npz", "abc")[0]["learners"]
    assert learners["player_2"] == {}
    for saved, restored in ((builtin, learners["player_0"]), (odd, learners["player_1"])):
        assert restored.keys() == saved.keys()
        for key, value in saved.items():
            if isinstance(value, np.ndarray):
                assert restored[key].dtype == value.dtype and np.array_equal(restored[key], value)
            else:
                assert restored[key] == value and not isinstance(restored[key], np.ndarray)


@pytest.mark.parametrize(
    "value, problem",
    [
        ({1, 2}, "state_dict()['x'] is of type set"),
        ({"pairs": [(1, 2)]}, "state_dict()['x']['pairs'][0] is of type tuple (use a list)"),
        (np.array([object()]), "state_dict()['x'] is a numpy array of dtype object"),
        (np.int64(3), "state_dict()['x'] is of type int64 (use .item())"),
    ],
)
def test_a_learner_state_a_checkpoint_cannot_restore_is_refused_naming_the_learner(tmp_path, value, problem):
    state = {
        "episode": 1,
        "learners": {"player_0": _trainer_state()["learners"]["player_0"], "player_1": {"q": np.zeros(2), "x": value}},
    }
    with pytest.raises(ValueError) as info:
        save_checkpoint(tmp_path / "c.npz", "abc", state, [])
    assert str(info.value).startswith(
        f"cannot checkpoint the learner of player_1 in {tmp_path / 'c.npz'}: its {problem}"
    )
    assert not (tmp_path / "c.npz").exists()


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
    assert load_result(path, "abc") == {
        "row": {"method": "m", "seed": 0, "x": 0.5},
        "curve": [{"episode": 5, "x": 0.25}],
    }
    assert json.loads(path.read_text())["fingerprint"] == "abc"


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_indented_json_is_the_text_json_dumps_indents(value):
    # NaN and infinities, non-ASCII text, empty and nested containers: the bytes of the result files as before
    assert indented_json(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"row": ', "is corrupt or not a fairlead result"),
        ("\udcff", "is corrupt or not a fairlead result"),
        ('{"row": {}, "curve": []}', "is not a fairlead-result-v1 file"),
        ('["fairlead-result-v1"]', "is not a fairlead-result-v1 file"),
        (
            '{"format": "fairlead-result-v1", "fingerprint": "xyz", "row": {}, "curve": []}',
            "belongs to a different run (fingerprint 'xyz', expected 'abc')",
        ),
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
