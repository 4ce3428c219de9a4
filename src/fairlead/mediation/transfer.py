"""End-game zero-sum transfer: at the end of an episode, move reward from agents ahead to agents behind.

Our formalisation (the paper's exact rule is not available to us): a
:class:`TransferRule` maps the episode returns ``G`` (the env's own, per
player) and a strength ``beta`` in [0, 1] to transfers ``t`` that sum to zero.
The default, :func:`mean_deviation`, is ``t_i = -beta * (G_i - mean(G))``:
``beta = 0`` changes nothing, ``beta = 1`` gives every player the mean return.
The mediated env adds ``t_i`` to player ``i``'s reward of the final stage.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# |sum t| allowed, relative to sum |G|: the float residue of a zero-sum rule, not a leak.
ZERO_SUM_RTOL = 1e-9


class TransferRule(Protocol):
    def __call__(self, returns: np.ndarray, beta: float) -> np.ndarray:
        """Per-player transfers for episode ``returns``; they must sum to zero."""


def mean_deviation(returns: np.ndarray, beta: float) -> np.ndarray:
    """``t_i = -beta * (G_i - mean(G))``: shrink every return towards the mean by ``beta``."""
    return -beta * (returns - returns.mean())


TRANSFER_RULES: dict[str, TransferRule] = {"mean_deviation": mean_deviation}


def check_beta(beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating)):
        raise TypeError(f"transfer strength beta must be a number in [0, 1], got {beta!r}")
    if math.isnan(beta) or not 0.0 <= beta <= 1.0:
        raise ValueError(f"transfer strength beta must be in [0, 1], got {beta}")
    return float(beta)


@dataclass(frozen=True)
class Transfer:
    """A rule with its strength; calling it checks the rule's output."""

    rule: TransferRule
    beta: float

    @property
    def name(self) -> str:
        return getattr(self.rule, "__name__", repr(self.rule))

    def __call__(self, returns: np.ndarray) -> np.ndarray:
        if self.beta == 0.0:
            return np.zeros_like(returns)
        t = np.asarray(self.rule(returns.copy(), self.beta), dtype=float)
        if t.shape != returns.shape or not np.all(np.isfinite(t)):
            raise ValueError(
                f"transfer rule {self.name} must return {len(returns)} finite numbers, got {t!r}"
            )
        if abs(t.sum()) > ZERO_SUM_RTOL * max(1.0, float(np.abs(returns).sum())):
            raise ValueError(f"transfer rule {self.name} is not zero-sum: its transfers {t} sum to {t.sum()}")
        return t


def parse_transfer(transfer) -> Transfer:
    """``beta`` (default rule) or ``(rule, beta)`` with a rule name in TRANSFER_RULES or a callable."""
    if isinstance(transfer, tuple):
        if len(transfer) != 2:
            raise TypeError(f"transfer=(rule, beta) takes 2 items, got {len(transfer)}: {transfer!r}")
        rule, beta = transfer
        if isinstance(rule, str):
            if rule not in TRANSFER_RULES:
                close = difflib.get_close_matches(rule, TRANSFER_RULES, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"unknown transfer rule {rule!r}{hint}; valid rules: {', '.join(TRANSFER_RULES)} "
                    "(or pass a callable (returns, beta) -> transfers)"
                )
            rule = TRANSFER_RULES[rule]
        elif not callable(rule):
            raise TypeError(
                f"transfer rule must be a name or a callable (returns, beta) -> transfers, got {rule!r}"
            )
        return Transfer(rule, check_beta(beta))
    return Transfer(mean_deviation, check_beta(transfer))
