"""The mediator: leader selection, history features, end-game zero-sum transfer (docs/mediator.md).

``mediate(env, ...)`` wraps any fairlead env (or any env following the
Stackelberg protocol) in a PettingZoo AEC env whose leaders a mediator picks.
Its parallel view is ``fairlead.envs.parallel.PhaseParallelEnv(mediate(...))``.
"""

from fairlead.mediation.leader_phase import MEDIATOR
from fairlead.mediation.mediator import MediatedEnv, mediate
from fairlead.mediation.observation import (
    AGENT_HISTORY_FEATURES,
    DEFAULT_HISTORY,
    HISTORY_FEATURES,
    MediatorObservation,
)
from fairlead.mediation.transfer import TRANSFER_RULES, Transfer, TransferRule, mean_deviation, unfair_advantage
from fairlead.selectors import (
    SELECTORS,
    CallableSelector,
    CatchUpSelector,
    FixedSelector,
    LearnedSelector,
    MediatorView,
    RandomSelector,
    RoundRobinSelector,
    Selector,
    VoteSelector,
)

__all__ = [
    "AGENT_HISTORY_FEATURES",
    "DEFAULT_HISTORY",
    "HISTORY_FEATURES",
    "MEDIATOR",
    "SELECTORS",
    "TRANSFER_RULES",
    "CallableSelector",
    "CatchUpSelector",
    "FixedSelector",
    "LearnedSelector",
    "MediatedEnv",
    "MediatorObservation",
    "MediatorView",
    "RandomSelector",
    "RoundRobinSelector",
    "Selector",
    "Transfer",
    "TransferRule",
    "VoteSelector",
    "mean_deviation",
    "unfair_advantage",
    "mediate",
]
