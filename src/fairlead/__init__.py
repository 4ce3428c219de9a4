"""fairlead: fair leader selection in Stackelberg multi-agent reinforcement learning."""

import importlib

from fairlead.registry import list_envs, list_scenarios, make, register_with_pettingzoo

__version__ = "0.1.0"
# imported when first used, so that an env user loads neither the mediator nor the trainers:
# mediate (fairlead.mediation) and the commands as functions (fairlead.api)
_LAZY = {
    "mediate": "fairlead.mediation",
    **dict.fromkeys(("train", "evaluate", "report", "sweep", "Result"), "fairlead.api"),
}
__all__ = ["__version__", "list_envs", "list_scenarios", "make", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fairlead' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


register_with_pettingzoo()
