"""Checkpoints of one (method, seed) training run: one ``.npz`` file, written atomically.

The file holds every learner's Q-table as arrays and a JSON header with a
format tag, the run's fingerprint, the episode count, the generators' states
and the learning-curve points so far. Loading checks all of it, so a corrupt
file or one from another run fails with a clear error instead of resuming
into a different experiment.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from fairlead.experiments.atomic import write_atomic

FORMAT = "fairlead-checkpoint-v1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed from (corrupt, foreign or mismatched)."""


def save_checkpoint(path: Path, fingerprint: str, trainer_state: dict, curve: list[dict]) -> None:
    arrays, learners = {}, {}
    for i, (agent, state) in enumerate(trainer_state["learners"].items()):
        arrays[f"keys_{i}"] = state["keys"]
        arrays[f"values_{i}"] = state["values"]
        learners[agent] = {"index": i, "rng": state["rng"]}
    header = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "episode": trainer_state["episode"],
        "learners": learners,
        "curve": curve,
    }
    arrays["header"] = np.array(json.dumps(header))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path, fingerprint: str) -> tuple[dict, list[dict]]:
    """Return (trainer_state, curve) or raise :class:`CheckpointError`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {k: data[k] for k in data.files if k != "header"}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, EOFError) as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or not a fairlead checkpoint ({err})") from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a {FORMAT} file")
    if header.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"checkpoint {path} belongs to a different run (fingerprint {header.get('fingerprint')!r}, "
            f"expected {fingerprint!r}); refusing to resume from it"
        )
    try:
        learners = {
            agent: {
                "keys": arrays[f"keys_{meta['index']}"],
                "values": arrays[f"values_{meta['index']}"],
                "rng": meta["rng"],
            }
            for agent, meta in header["learners"].items()
        }
        return {"episode": header["episode"], "learners": learners}, header["curve"]
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"checkpoint {path} is incomplete ({err})") from err
