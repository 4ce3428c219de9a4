"""fairlead: fair leader selection in Stackelberg multi-agent reinforcement learning."""

from fairlead.mediation import mediate
from fairlead.registry import list_envs, list_scenarios, make, register_with_pettingzoo

__version__ = "0.1.0"
# the commands as functions (fairlead.api), imported when first used: an env user does not load the trainers
_API = ("train", "evaluate", "report", "sweep", "Result")
__all__ = ["list_envs", "list_scenarios", "make", "mediate", "__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from fairlead import api

        return getattr(api, name)
    raise AttributeError(f"module 'fairlead' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


register_with_pettingzoo()
