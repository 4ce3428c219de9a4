"""A BenchMARL task for every fairlead scenario: mediated, trained by any BenchMARL algorithm, fairness logged.

BenchMARL (facebookresearch/BenchMARL) runs MARL algorithms on TorchRL
environments through a task class. This one builds a fairlead scenario
(``fairlead.make(scenario)``, box observations), mediates it with a selector
and an end-game transfer (``fairlead.mediate``), and hands TorchRL's view of it
(:func:`fairlead.integrations.torchrl_env`) to BenchMARL, so::

    from benchmarl.experiment import Experiment
    from fairlead.benchmarl_task import FairleadTask

    task = FairleadTask.scenario("chicken-4p", selector="catch_up", transfer=0.5)
    Experiment(task=task, algorithm_config=MappoConfig.get_from_yaml(), ...).run()

Every collected batch logs, beside BenchMARL's own numbers, the fairness of
the finished episodes' returns **before** the transfer
(``collection/fairness``, the default metric) and their total return before
the transfer (``collection/total_return``), so a learning curve of fairness
comes with every run (the CSV logger writes ``collection_fairness.csv``).
Needs BenchMARL (``pip install benchmarl``; docs/libraries/benchmarl.md says
which versions are tested).
"""

from __future__ import annotations

try:
    from benchmarl.environments.pettingzoo.common import PettingZooClass
except ImportError as err:  # pragma: no cover - exercised only without BenchMARL
    raise ImportError(
        "fairlead.benchmarl_task needs BenchMARL: pip install benchmarl (see docs/libraries/benchmarl.md)"
    ) from err

import numpy as np

import fairlead
from fairlead.fairness import fairness
from fairlead.integrations import torchrl_env


class FairleadTask(PettingZooClass):
    """A mediated fairlead scenario as a BenchMARL task (``config``: scenario, selector, transfer, env options)."""

    @classmethod
    def scenario(cls, name: str, selector: str = "catch_up", transfer: float = 0.5, **env_kwargs) -> FairleadTask:
        fairlead.make(name, **env_kwargs)  # an unknown scenario or option fails here, not in BenchMARL
        return cls(name, {"scenario": name, "selector": selector, "transfer": transfer, "env_kwargs": env_kwargs})

    def _mediated(self):
        game = fairlead.make(self.config["scenario"], **{**self.config.get("env_kwargs", {}), "obs_encoding": "box"})
        return fairlead.mediate(game, selector=self.config["selector"], transfer=self.config["transfer"])

    def get_env_fun(self, num_envs, continuous_actions, seed, device):
        return lambda: torchrl_env(
            self._mediated(), categorical_actions=True, device=device, seed=seed, return_state=True
        )

    def supports_continuous_actions(self) -> bool:
        return False

    def supports_discrete_actions(self) -> bool:
        return True

    def has_state(self) -> bool:
        return True  # the mediated env's global state (docs/mediator.md), for centralised critics

    def has_render(self, env) -> bool:
        return False

    def max_steps(self, env) -> int:
        return 2 * self._mediated().unwrapped.max_cycles  # the parallel view steps twice a stage: lead, follow

    @staticmethod
    def env_name() -> str:
        return "fairlead"

    def log_info(self, batch) -> dict[str, float]:
        """Fairness and total return before transfer of the episodes that ended in ``batch``."""
        done = batch["next", "done"].reshape(-1).numpy()
        returns = batch["next", "player", "info", "episode_return"]
        returns = returns.reshape(-1, returns.shape[-1]).numpy()[done]
        if not len(returns):
            return {}
        scale = self._mediated().unwrapped.return_scale
        return {
            "collection/fairness": float(np.mean([fairness(r, scale=scale) for r in returns])),
            "collection/total_return": float(returns.sum(axis=1).mean()),
        }
