"""Argument and action checks shared by the environments, their parallel view and the mediator.

Each names the argument (or agent), the problem and the valid choices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_INT = 2**31 - 2  # bounds counts (stages, agents) so every derived size fits the int64 observation


def check_int(name: str, value, minimum: int, maximum: int | None = MAX_INT) -> int:
    """Validate an integer argument in ``minimum..maximum``, naming it in the error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return int(value)


def check_seed(seed) -> int | None:
    """A ``reset``/``mediate`` seed: None (keep the current stream) or an integer >= 0, as numpy seeds take."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer >= 0 or None, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be an integer >= 0 or None, got {seed}")
    return int(seed)


class UnknownAgentError(KeyError, ValueError):
    """An agent name the env does not have (a KeyError, as a dict lookup's, with a readable message)."""

    def __str__(self) -> str:
        return str(self.args[0])


def unknown_agent(agent, agents) -> UnknownAgentError:
    """The error for ``agent`` not being one of ``agents``, naming the valid ones."""
    return UnknownAgentError(f"unknown agent {agent!r}; valid agents: {', '.join(map(str, agents))}")


def as_int(action) -> int | None:
    """``action`` as an int if it is an integer (or a 0-d integer array), else None."""
    if type(action) is int:  # the common case, first
        return action
    if isinstance(action, np.ndarray) and action.ndim == 0:
        action = action.item()
    if isinstance(action, bool) or not isinstance(action, (int, np.integer)):
        return None
    return int(action)


def check_action(agent: str, action, mask: np.ndarray, names=(), note: str = "") -> int:
    """``action`` as an int if it is legal under ``mask``, else an error naming the valid choices.

    The one action check of the env, its parallel view and the mediator;
    ``note`` is appended to the message (e.g. that nothing was applied).
    """
    n, value = len(mask), as_int(action)
    if value is None:
        raise TypeError(f"{agent}'s action must be an integer in 0..{n - 1}, got {action!r}{note}")
    if not 0 <= value < n:
        described = f" ({', '.join(names)})" if len(names) == n else ""
        raise ValueError(f"{agent}'s action {value} is out of range; valid actions are 0..{n - 1}{described}{note}")
    if not mask[value]:
        raise ValueError(
            f"{agent}'s action {value} is masked now; legal actions: {np.flatnonzero(mask).tolist()}{note}"
        )
    return value


def check_action_names(value, k: int) -> tuple[str, ...]:
    """``action_names`` as a tuple if it is a sequence of ``k`` distinct non-empty strings, else an error saying so."""
    valid = f"a sequence of {k} distinct strings, one per action (e.g. {tuple(f'a{i}' for i in range(min(k, 3)))!r}"
    valid += ", ...)" if k > 3 else ")"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"action_names must be {valid} or None, got {value!r}")
    if len(value) != k:
        raise ValueError(f"action_names needs {k} names, got {len(value)} ({value!r}): one per action")
    if not all(isinstance(name, str) and name for name in value):
        raise TypeError(
            f"action_names must be {valid}; got {value!r}, which holds a name that is not a non-empty string"
        )
    if len(set(value)) != k:
        raise ValueError(f"action_names must be {valid}; got {value!r}, which names an action twice")
    return tuple(value)


def check_real(name: str, value, positive: bool = False) -> float:
    """Validate a finite real argument (optionally > 0), naming it in the error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    number = np.inf if isinstance(value, int) and abs(value) >= 2**1024 else float(value)  # beyond any float
    if not np.isfinite(number) or (positive and number <= 0):
        raise ValueError(f"{name} must be a finite number{' > 0' if positive else ''}, got {value}")
    return number


def real_array(name: str, value) -> np.ndarray:
    """``value`` as a float array, each entry checked by ``check_real`` (bool, complex, text, NaN, inf refused)."""
    cells = np.asarray(value, dtype=object)
    if any(np.ndim(x) for x in cells.flat):
        raise ValueError(f"{name} must be a rectangular numeric array (rows of equal length), got {value!r}")
    entries = [check_real(f"{name}[{', '.join(map(str, i))}]" if i else name, x) for i, x in np.ndenumerate(cells)]
    return np.array(entries, dtype=float).reshape(cells.shape)


def check_finite_returns(env, what: str) -> None:
    """ValueError at construction if ``env``'s returns, their sum over agents or ``return_scale`` can overflow."""
    low, high = env.stage_reward_range
    n, cycles = len(env.possible_agents), env.max_cycles
    if not (np.isfinite(env.return_scale) and np.isfinite(n * cycles * max(abs(low), abs(high)))):
        raise ValueError(
            f"{what} too large: stage payoffs in [{low:g}, {high:g}] and their spread and sum over "
            f"max_cycles={cycles} stages and {n} agents must be finite (return_scale = "
            f"{env.return_scale:g}); use smaller values"
        )
