"""Write files so a reader sees the old content or the new, never a half-written file."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # ".<name>.<8 random chars>.tmp", as write_atomic names them


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write to a temporary file in the same folder, fsync it, then rename over ``path``.

    The file is created with mode 0o666 less the umask, like ``open()``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_temporaries(folder: Path) -> None:
    """Delete what a write killed midway left under ``folder`` (only while no write can be under way)."""
    for path in folder.rglob(".*.tmp"):
        if TEMPORARY.fullmatch(path.name) and path.is_file():
            path.unlink()
