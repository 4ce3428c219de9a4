"""End-game zero-sum transfer: at the end of an episode, move reward between players.

Our formalisation (the paper's exact rule is not available to us). A
:class:`TransferRule` maps the episode returns ``G`` (the env's own, per
player), a strength and, if it asks for them, the episode's stage records to
transfers ``t`` that sum to zero. The mediated env adds ``t_i`` to player
``i``'s reward of the final stage. Two rules ship:

``mean_deviation`` (return-based), strength ``beta`` in [0, 1]::

    t_i = -beta * (G_i - mean(G))

``beta = 0`` changes nothing, ``beta = 1`` gives every player the mean return.
It can never make a fair action pay: a leader that takes an advantage ``a``
keeps ``(1 - beta (1 - 1/n)) a`` of it.

``unfair_advantage`` (action-based), strength ``kappa`` in [0, MAX_KAPPA] (1e6)::

    u_i = sum over the stages i led unfairly (the env's fair-action rule) of
          max(0, r_i - mean_{j != i} r_j)          (the advantage it took)
    t_i = -kappa * n / (n - 1) * (u_i - mean(u))

so an agent that alone took an advantage ``a`` pays back ``kappa * a``, shared
among the others: ``kappa = 1`` cancels the advantage exactly, ``kappa > 1``
makes an unfair lead a net loss, even in the last stage, where no future
leadership is at stake (the end-game problem the paper's third mechanism is
about).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from fairlead import rules
from fairlead.names import unknown_name

# |sum t| allowed, relative to sum |G|: the float residue of a zero-sum rule, not a leak.
ZERO_SUM_RTOL = 1e-9
# Largest kappa of unfair_advantage: far beyond any useful charge (kappa = 4 already makes an unfair lead a net
# loss), small enough that kappa times an env's (finite) returns stays finite; mediate() checks the product.
MAX_KAPPA = 1e6


class TransferRule(Protocol):
    def __call__(self, returns: np.ndarray, strength: float, stages: Sequence = ()) -> np.ndarray:
        """Per-player transfers for episode ``returns``; they must sum to zero.

        ``stages`` (the episode's :class:`~fairlead.envs.stackelberg.StageRecord` s) is
        passed only to rules that accept a third argument.
        """


def mean_deviation(returns: np.ndarray, beta: float, stages: Sequence = ()) -> np.ndarray:
    """``t_i = -beta * (G_i - mean(G))``: shrink every return towards the mean by ``beta``."""
    out = np.empty(len(returns))
    rules.mean_deviation_transfer(np.asarray(returns, dtype=float), float(beta), out)
    return out


mean_deviation.max_strength = 1.0


def taken_advantage(record) -> float:
    """What a stage's leader took over the followers' mean, if it led unfairly: ``max(0, r_L - mean r_F)``."""
    if record.leader_fair:
        return 0.0
    players = list(record.rewards)
    rewards = np.fromiter(record.rewards.values(), dtype=float, count=len(players))
    return rules.taken_advantage(rewards, players.index(record.leader), False)


def unfair_advantages(returns: np.ndarray, stages: Sequence) -> np.ndarray:
    """``u_i``: the advantage each player took over the followers' mean in the stages it led unfairly."""
    players = list(stages[0].rewards) if stages else []
    u = np.zeros(len(returns))
    for record in stages:
        u[players.index(record.leader)] += taken_advantage(record)
    return u


def unfair_advantage(returns: np.ndarray, kappa: float, stages: Sequence = ()) -> np.ndarray:
    """``t_i = -kappa n/(n-1) (u_i - mean u)``: each unfair leader pays back ``kappa`` times its advantage."""
    out = np.empty(len(returns))
    rules.unfair_advantage_transfer(unfair_advantages(returns, stages), float(kappa), out)
    return out


unfair_advantage.max_strength = MAX_KAPPA

# When the transfer is paid: "end", all of it with the last stage's rewards (the paper's end-game transfer);
# "stage", after every stage the change in the transfer of the stages so far, so an unfair lead is charged in the
# stage that earns it; the payments add up to the end-game transfer, so the returns after transfer are the same.
SETTLEMENTS = ("end", "stage")


def check_settle(settle) -> str:
    """``settle`` if it is one of SETTLEMENTS, else an error naming the valid choices."""
    if not isinstance(settle, str) or settle not in SETTLEMENTS:
        raise ValueError(
            f"settle must be one of {', '.join(map(repr, SETTLEMENTS))} (when the transfer is paid: "
            f"all at the end, or stage by stage as it accrues), got {settle!r}"
        )
    return settle


TRANSFER_RULES: dict[str, TransferRule] = {
    "mean_deviation": mean_deviation,
    "unfair_advantage": unfair_advantage,
}


def check_strength(strength, maximum: float = 1.0, rule: str = "mean_deviation") -> float:
    """A rule's strength: in [0, 1] for ``mean_deviation`` (``beta``), [0, maximum] otherwise."""
    name = {"mean_deviation": "beta", "unfair_advantage": "kappa"}.get(rule, f"of rule {rule!r}")
    valid = (
        "in [0, 1]"
        if maximum == 1.0
        else (
            "a finite number >= 0"
            if maximum == math.inf
            else f"in [0, {maximum:,.0f}]"
            if maximum == int(maximum)
            else f"in [0, {maximum:g}]"
        )
    )
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.integer, np.floating)):
        kind = "a number " + valid if valid.startswith("in") else valid
        raise TypeError(f"transfer strength {name} must be {kind}, got {strength!r}")
    if not (math.isfinite(strength) and 0.0 <= strength <= maximum):
        raise ValueError(f"transfer strength {name} must be {valid}, got {strength}")
    return float(strength)


def check_transfer_fits(transfer: Transfer, game) -> None:
    """ValueError at construction if ``transfer``'s strength times ``game``'s returns could overflow.

    A shipped rule moves at most ``strength * n/(n-1)`` times a spread of episode returns or of advantages,
    each at most ``return_scale`` (the protocol's spread of attainable returns); the bound keeps room on top.
    """
    n, scale = len(game.possible_agents), game.return_scale
    with np.errstate(over="ignore", invalid="ignore"):
        bound = transfer.strength * 4.0 * n * max(float(scale), 1.0)
    if not np.isfinite(bound):
        raise ValueError(
            f"transfer strength {transfer.strength:g} too large for the env's returns (return_scale "
            f"{scale:g}, {n} agents): the transfers could overflow; use a smaller strength"
        )


def check_beta(beta) -> float:
    """A strength for the default rule, ``mean_deviation``: a number in [0, 1]."""
    return check_strength(beta)


def _takes_stages(rule) -> bool:
    try:
        parameters = inspect.signature(rule).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


@dataclass(frozen=True)
class Transfer:
    """A rule with its strength; calling it checks the rule's output."""

    rule: TransferRule
    strength: float

    @property
    def beta(self) -> float:  # the strength's name for the default rule
        return self.strength

    @property
    def name(self) -> str:
        return getattr(self.rule, "__name__", repr(self.rule))

    @cached_property
    def takes_stages(self) -> bool:
        """Whether the rule accepts the stage records (a third argument); inspected once."""
        return _takes_stages(self.rule)

    def __call__(self, returns: np.ndarray, stages: Sequence = ()) -> np.ndarray:
        if self.strength == 0.0:
            return np.zeros_like(returns)
        args = (returns.copy(), self.strength) + ((tuple(stages),) if self.takes_stages else ())
        t = np.asarray(self.rule(*args), dtype=float)
        if t.shape != returns.shape or not np.all(np.isfinite(t)):
            raise ValueError(f"transfer rule {self.name} must return {len(returns)} finite numbers, got {t!r}")
        if abs(t.sum()) > ZERO_SUM_RTOL * max(1.0, float(np.abs(returns).sum()), float(np.abs(t).sum())):
            raise ValueError(f"transfer rule {self.name} is not zero-sum: its transfers {t} sum to {t.sum()}")
        return t

    def describe(self):
        """JSON-friendly: the strength alone for the default rule, else ``[rule, strength]``."""
        return self.strength if self.rule is mean_deviation else [self.name, self.strength]


def parse_transfer(transfer) -> Transfer:
    """``beta`` (default rule) or ``(rule, strength)`` with a rule name in TRANSFER_RULES or a callable.

    A list ``[rule, strength]`` (as TOML writes it) is accepted like the tuple.
    """
    if isinstance(transfer, Transfer):
        return transfer
    if isinstance(transfer, (tuple, list)):
        if len(transfer) != 2:
            raise TypeError(f"transfer=(rule, strength) takes 2 items, got {len(transfer)}: {transfer!r}")
        rule, strength = transfer
        if isinstance(rule, str):
            if rule not in TRANSFER_RULES:
                raise unknown_name(
                    "transfer rule",
                    rule,
                    TRANSFER_RULES,
                    valid=(
                        f"valid rules: {', '.join(TRANSFER_RULES)} "
                        "(or pass a callable (returns, strength[, stages]) -> transfers)"
                    ),
                )
            rule = TRANSFER_RULES[rule]
        elif not callable(rule):
            raise TypeError(
                f"transfer rule must be a name or a callable (returns, strength[, stages]) -> transfers, got {rule!r}"
            )
        name = getattr(rule, "__name__", repr(rule))
        return Transfer(rule, check_strength(strength, getattr(rule, "max_strength", 1.0), name))
    if callable(transfer) or (isinstance(transfer, str) and transfer in TRANSFER_RULES):  # a rule, no strength
        rule = repr(transfer) if isinstance(transfer, str) else getattr(transfer, "__name__", "rule")
        raise TypeError(
            f"transfer={transfer!r} is a rule without a strength; pass transfer=({rule}, strength). "
            f"transfer takes {TRANSFER_CHOICES}"
        )
    return Transfer(mean_deviation, check_beta(transfer))


# what ``transfer=`` accepts, for errors (mediate()'s docstring says the same)
TRANSFER_CHOICES = (
    "a strength beta in [0, 1] for the default rule 'mean_deviation', or a pair (rule, strength) "
    f"with rule one of {', '.join(map(repr, TRANSFER_RULES))} or a callable "
    "(returns, strength[, stages]) -> transfers"
)
