"""fairlead: fair leader selection in Stackelberg multi-agent reinforcement learning."""

from fairlead.mediation import mediate
from fairlead.registry import list_envs, list_scenarios, make, register_with_pettingzoo

__version__ = "0.1.0"
__all__ = ["list_envs", "list_scenarios", "make", "mediate", "__version__"]

register_with_pettingzoo()
