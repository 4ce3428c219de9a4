"""One wording for every "unknown name" error: the name, the closest valid one, all valid ones.

Matching ignores case and ``-``/``_``, so ``JAMQL`` suggests ``jamql`` and
``CHICKEN-2P`` suggests ``chicken-2p``.
"""

from __future__ import annotations

import difflib


def _key(name) -> str:
    return str(name).strip().lower().replace("_", "-")


def did_you_mean(name, choices) -> str:
    """``" (did you mean 'x'?)"`` for the valid choice closest to ``name``, or ``""`` if none is close."""
    by_key = {_key(c): str(c) for c in choices}
    close = difflib.get_close_matches(_key(name), list(by_key), n=1)
    return f" (did you mean {by_key[close[0]]!r}?)" if close else ""


def unknown_name(kind: str, name, choices, valid: str | None = None) -> ValueError:
    """``unknown <kind> 'name' (did you mean ...?); valid <kind>s: ...`` as a ValueError.

    ``valid`` replaces the default list of choices in the message (e.g. to add
    what else is accepted); the suggestion still comes from ``choices``.
    """
    choices = [str(c) for c in choices]
    listed = valid if valid is not None else f"valid {kind}s: {', '.join(choices)}"
    return ValueError(f"unknown {kind} {name!r}{did_you_mean(name, choices)}; {listed}")
