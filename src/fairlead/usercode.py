"""Failures of users' code (a selector, a learner, a policy), told in one message that names where they happened.

User code may raise anything: an exception of a class that cannot be pickled
(so it cannot cross a process pool), ``SystemExit`` (which would end the
command with status 0), ``GeneratorExit``... :func:`blame` turns whatever it
raises into a :class:`UserCodeError`, which holds only its message, so it
crosses a process pool intact and the command ends with one line and status 2.
KeyboardInterrupt (Ctrl-C, and SIGTERM as the command handles it) is left to
the command.
"""

from __future__ import annotations

import os
import traceback
from contextlib import contextmanager


class UserCodeError(RuntimeError):
    """User code raised: the message names what ran (method or policy, seed), the code, its file and the error.

    It holds only its message (a string), so it always pickles.
    """


def _same_file(a: str | None, b: str | None) -> bool:
    return bool(a and b) and os.path.realpath(a) == os.path.realpath(b)


def culprits(source: dict) -> list[tuple[str, str, str | None]]:
    """``(kind, target, file)`` of each piece of user code a method's or policy's ``source`` names."""
    return [
        (kind, source[kind], source.get(f"{kind}_file")) for kind in ("selector", "learner", "policy") if kind in source
    ]


def user_error(
    err: BaseException, context: str, suspects: list[tuple[str, str, str | None]], certain: bool = False
) -> UserCodeError | None:
    """The :class:`UserCodeError` for ``err``, raised while ``context`` ran, or None if it is not the user code's.

    ``err`` is the user code's if ``certain``, if its traceback passes through
    a file of one of ``suspects`` (the deepest such frame is named), or if it
    is not an Exception (SystemExit, GeneratorExit...): only user code raises those.
    """
    frames = traceback.extract_tb(err.__traceback__)
    for frame in reversed(frames):
        for kind, target, file in suspects:
            if _same_file(frame.filename, file):
                return UserCodeError(
                    f"{context}: the {kind} {target} ({file}, line {frame.lineno}) raised {_exception(err)}"
                )
    if isinstance(err, Exception) and not certain:
        return None
    where = (
        " or ".join(f"the {kind} {target}" + (f" ({file})" if file else "") for kind, target, file in suspects)
        or "the code it ran"
    )
    return UserCodeError(f"{context}: {where} raised {_exception(err)}")


def _exception(err: BaseException) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


@contextmanager
def blame(context: str, suspects: list[tuple[str, str, str | None]]):
    """Raise what the block raises, but as a :class:`UserCodeError` if it is the user code's (:func:`user_error`)."""
    try:
        yield
    except (KeyboardInterrupt, UserCodeError):
        raise
    except BaseException as err:
        blamed = user_error(err, context, suspects)
        if blamed is None:
            raise
        raise blamed from None
