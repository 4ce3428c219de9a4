"""The files of one (method, seed) training run, written atomically: its checkpoint and its result.

The checkpoint (``.npz``) holds every learner's state dict (the learner
protocol, ``fairlead.trainers.qlearning.Learner``): each numpy array value as
an array ``<key>_<i>`` (``i``: the learner's index), the other values in a
JSON header with a format tag, the run's fingerprint, the episode count and the
learning-curve points so far. The built-in learners' states (``keys``,
``values`` arrays and the generator's ``rng`` state) give the layout of the
first version, so their checkpoints are unchanged. The header also names
the (method, seed) the checkpoint is of (checkpoints written before it did are
not checked for it).
The result (``.json``) holds a format tag, the fingerprint, the final
evaluation row (which names its method and seed) and the learning curve.
Loading checks all of it, so a corrupt file, one from another run or one
copied from another seed's folder fails with a clear error instead of
resuming into a different experiment.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from fairlead.experiments.atomic import write_atomic
from fairlead.trainers.qlearning import RESERVED_STATE_KEY, state_problem

FORMAT = "fairlead-checkpoint-v1"
RESULT_FORMAT = "fairlead-result-v1"


class CheckpointError(ValueError):
    """A checkpoint or result file that cannot be used (corrupt, foreign or mismatched)."""


def _check_header(what: str, header, fmt: str, fingerprint: str) -> None:
    if not isinstance(header, dict) or header.get("format") != fmt:
        raise CheckpointError(f"{what} is not a {fmt} file")
    if header.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"{what} belongs to a different run (fingerprint {header.get('fingerprint')!r}, "
            f"expected {fingerprint!r}); refusing to use it"
        )


def _check_owner(what: str, record: dict, owner: tuple[str, int] | None) -> None:
    """Refuse a file of another (method, seed) than ``owner`` (a seed's folder copied over another's)."""
    if owner is None or "method" not in record:  # no owner to check, or a checkpoint written before they had one
        return
    if (record.get("method"), record.get("seed")) != tuple(owner):
        raise CheckpointError(
            f"{what} is method {record.get('method')} seed {record.get('seed')}'s, not method "
            f"{owner[0]} seed {owner[1]}'s (copied from another seed's folder?); refusing to use it"
        )


def save_checkpoint(
    path: Path, fingerprint: str, trainer_state: dict, curve: list[dict], owner: tuple[str, int] | None = None
) -> None:
    """Write the checkpoint; ``owner``: the (method, seed) it is of, recorded for loading to check."""
    arrays, learners = {}, {}
    for i, (agent, state) in enumerate(trainer_state["learners"].items()):
        if problem := state_problem(state):
            raise ValueError(f"cannot checkpoint the learner of {agent} in {path}: its {problem}")
        arrays.update({f"{key}_{i}": value for key, value in state.items() if isinstance(value, np.ndarray)})
        learners[agent] = {
            RESERVED_STATE_KEY: i,
            **{key: value for key, value in state.items() if not isinstance(value, np.ndarray)},
        }
    header = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "episode": trainer_state["episode"],
        "learners": learners,
        "curve": curve,
    }
    if owner is not None:
        header.update(method=owner[0], seed=owner[1])
    arrays["header"] = np.array(json.dumps(header))
    write_atomic(path, _npz(arrays))


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    """``np.savez_compressed``'s archive at zlib level 1: a third of its time (level 6), a fifth larger."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def load_checkpoint(path: Path, fingerprint: str, owner: tuple[str, int] | None = None) -> tuple[dict, list[dict]]:
    """Return (trainer_state, curve) or raise :class:`CheckpointError` (also if it is not ``owner``'s)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {k: data[k] for k in data.files if k != "header"}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:  # a JSONDecodeError is a ValueError
        # numpy reads a non-zip file as a pickle and suggests allow_pickle=: never right for a checkpoint
        detail = "not an .npz archive" if "allow_pickle" in str(err) else err
        raise CheckpointError(f"checkpoint {path} is corrupt or not a fairlead checkpoint ({detail})") from err
    _check_header(f"checkpoint {path}", header, FORMAT, fingerprint)
    _check_owner(f"checkpoint {path}", header, owner)
    by_index = defaultdict(dict)  # learner index -> its arrays by key
    for name, array in arrays.items():
        key, _, index = name.rpartition("_")
        by_index[index][key] = array
    try:
        learners = {
            agent: {
                **by_index[str(meta[RESERVED_STATE_KEY])],
                **{key: value for key, value in meta.items() if key != RESERVED_STATE_KEY},
            }
            for agent, meta in header["learners"].items()
        }
        return {"episode": header["episode"], "learners": learners}, header["curve"]
    except (KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(f"checkpoint {path} is incomplete ({err})") from err


def result_bytes(fingerprint: str, row: dict, curve: list[dict]) -> bytes:
    """The content of a result file (to write it, or to compare a recomputed result with it)."""
    record = {"format": RESULT_FORMAT, "fingerprint": fingerprint, "row": row, "curve": curve}
    return indented_json(record).encode()


def indented_json(value, depth: int = 0) -> str:
    """``json.dumps(value, indent=2)``, the same text, with string keys; its containers of scalars by json's C encoder.

    ``json.dumps`` indents in pure Python (its C encoder cannot indent): for a
    result file of a long learning curve that costs more than the training.
    A container holding no container is one C-encoded call whose separators
    carry the newline and indentation.
    """
    pad, end = "\n" + "  " * (depth + 1), "\n" + "  " * depth
    if not isinstance(value, (dict, list)) or not value:
        return json.dumps(value)
    items = value.values() if isinstance(value, dict) else value
    if not any(isinstance(item, (dict, list)) for item in items):
        text = json.dumps(value, separators=("," + pad, ": "))
        return text[0] + pad + text[1:-1] + end + text[-1]
    if isinstance(value, dict):
        return (
            "{"
            + pad
            + ("," + pad).join(f"{json.dumps(k)}: {indented_json(v, depth + 1)}" for k, v in value.items())
            + end
            + "}"
        )
    return "[" + pad + ("," + pad).join(indented_json(v, depth + 1) for v in value) + end + "]"


def save_result(path: Path, fingerprint: str, row: dict, curve: list[dict]) -> None:
    write_atomic(path, result_bytes(fingerprint, row, curve))


def load_result(path: Path, fingerprint: str) -> dict:
    """Return ``{"row": ..., "curve": ...}`` or raise :class:`CheckpointError`."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"result file {path} is corrupt or not a fairlead result ({err})") from err
    _check_header(f"result file {path}", record, RESULT_FORMAT, fingerprint)
    if not isinstance(record.get("row"), dict) or not isinstance(record.get("curve"), list):
        raise CheckpointError(f"result file {path} is incomplete (it needs a 'row' table and a 'curve' list)")
    return {"row": record["row"], "curve": record["curve"]}
