"""One wording for every "unknown name" error: the name, the closest valid one, all valid ones.

Matching ignores case and ``-``/``_``, so ``JAMQL`` suggests ``jamql`` and
``CHICKEN-2P`` suggests ``chicken-2p``.
"""

from __future__ import annotations

import difflib
import re


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


# What a method, policy or scenario name may be: it becomes a directory of a run (``<out>/<method>/``) or a row
# of its tables, so one portable file-name component, never a path, nor a file or directory a run, report or
# sweep directory holds (in any letter case: some file systems ignore it).
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
RESERVED_NAMES = (
    "run.json",
    "metrics.csv",
    "curves.csv",
    "summary.md",
    "eval.csv",
    "report.md",
    ".lock",  # run, report
    "checkpoint.npz",
    "result.json",  # a seed's files
    "learning_curves.png",
    "final_fairness.png",
    "leader_shares.png",  # a run's figures
    "sweep.json",
    "sweep.csv",
    "fair_action_rate.png",
    "fairness_margin.png",
    "verdicts.png",  # a sweep's
)
_NAME = re.compile(NAME_PATTERN)
NAME_RULE = (
    f"a name must match {NAME_PATTERN} (a letter or digit, then letters, digits, '.', '_' or '-'; "
    f"at most 100 characters) and not be, in any letter case, a file a run directory holds "
    f"({', '.join(RESERVED_NAMES)})"
)


def check_name(kind: str, name) -> str:
    """``name`` if a ``kind`` (method, policy, scenario) may be called so, else a ValueError naming the rule.

    Such a name becomes a directory name or a table row: it must be one
    portable file-name component (``NAME_PATTERN``), not a reserved file name.
    """
    if not (isinstance(name, str) and _NAME.fullmatch(name) and name.lower() not in RESERVED_NAMES):
        raise ValueError(
            f"{kind} name {name!r} cannot be used (a name becomes a directory name and a table row): {NAME_RULE}"
        )
    return name
