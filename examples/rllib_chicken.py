"""RLlib PPO on a mediated Chicken (2 players), one policy per player.

The mediator picks each stage's leader with the hand-written ``catch_up``
rule (the player furthest behind leads) and applies an end-game zero-sum
transfer of strength 0.5. Each player is trained by its own PPO policy
(RLlib's new API stack) through RLlib's own PettingZoo AEC wrapper;
``fairlead.integrations.rllib_env`` only renames the observation key to
RLlib's masking convention so ``ActionMaskingTorchRLModule`` applies the mask.

Run (needs ``pip install -e ".[integrations]"``, ~25 s on 2 cores)::

    python examples/rllib_chicken.py

It prints the fairness (default metric, ``pairwise_equality``) of the greedy
policies' episode returns before the transfer. ``train()`` is the core the
integration tests call with a smaller budget; ``mediator_as_agent=True``
trains the mediator as a third RLlib policy instead (see
``examples/rllib_mediator_agent.py``).
"""

from __future__ import annotations

import numpy as np
import ray
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule
from ray.tune.registry import register_env

import fairlead
from fairlead.fairness import fairness
from fairlead.integrations import rllib_env

ENV_NAME = "fairlead_mediated_chicken"


def make_env(n_agents=2, max_cycles=10, mediator_as_agent=False, transfer=0.5, selector="catch_up"):
    """The mediated Chicken env (AEC, box observations for neural networks)."""
    game = fairlead.make("chicken_v0", n_agents=n_agents, max_cycles=max_cycles, obs_encoding="box")
    if mediator_as_agent:  # the "mediator" agent's action picks the leader; RLlib trains it
        return fairlead.mediate(game, mediator_as_agent=True, transfer=transfer)
    return fairlead.mediate(game, selector=selector, transfer=transfer)


def _episode_record(episode) -> dict:
    """What RLlib recorded for each agent of one ``MultiAgentEpisode``."""
    record = {}
    for agent, single in episode.agent_episodes.items():
        record[agent] = {
            "actions": [int(a) for a in single.get_actions()],
            "rewards": [float(r) for r in single.get_rewards()],
            "infos": list(single.get_infos()),  # infos[t] came with the observation before action t
        }
    return record


def _params(algo, policies) -> dict[str, np.ndarray]:
    return {
        p: np.concatenate([t.detach().cpu().numpy().ravel() for t in algo.get_module(p).parameters()])
        for p in policies
    }


def train(iterations=6, batch_size=400, seed=0, mediator_as_agent=False, transfer=0.5, verbose=False,
          **env_kwargs) -> dict:
    """Train PPO for ``iterations`` (``batch_size`` env steps each); return what a test needs.

    ``env_kwargs`` go to :func:`make_env` (``n_agents``, ``max_cycles``, ``selector``).

    Returns a dict: ``losses`` (per policy, the learner's total loss each
    iteration), ``agent_returns`` (per iteration, RLlib's mean episode return
    per agent), ``param_change`` (per policy, L2 norm of the weight change),
    ``episodes`` (two exploring episodes as RLlib recorded them: per agent
    ``actions``, ``rewards``, ``infos``), ``greedy`` (one greedy episode, same
    form), ``returns_before_transfer``, ``returns_after_transfer`` and
    ``fairness`` of the greedy episode, and ``return_scale``.
    """
    env_kwargs = {"mediator_as_agent": mediator_as_agent, "transfer": transfer, **env_kwargs}
    register_env(ENV_NAME, lambda config: rllib_env(make_env(**config)))
    probe = make_env(**env_kwargs)
    policies = list(probe.possible_agents)  # one policy per agent (and one for the mediator agent)

    torch.set_num_threads(1)  # tiny networks: extra threads only contend for the 2 cores
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    config = (
        PPOConfig()
        .environment(ENV_NAME, env_config=env_kwargs)
        .env_runners(num_env_runners=0)  # sample in this process: no extra workers for a tiny env
        .learners(num_learners=0)
        .multi_agent(policies=set(policies), policy_mapping_fn=lambda agent_id, *args, **kwargs: agent_id)
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={
                    p: RLModuleSpec(
                        module_class=ActionMaskingTorchRLModule,
                        model_config={"head_fcnet_hiddens": [32], "fcnet_hiddens": [32]},
                    )
                    for p in policies
                }
            )
        )
        .training(
            train_batch_size_per_learner=batch_size,
            minibatch_size=min(100, batch_size),
            num_epochs=4,
            lr=3e-3,
            gamma=0.95,
        )
        .debugging(seed=seed)
    )
    algo = config.build_algo()
    try:
        before = _params(algo, policies)
        losses = {p: [] for p in policies}
        agent_returns = []
        for i in range(iterations):
            result = algo.train()
            for p in policies:
                losses[p].append(float(result["learners"][p]["total_loss"]))
            means = result["env_runners"].get("agent_episode_returns_mean", {})
            agent_returns.append({a: float(v) for a, v in means.items()})
            if verbose:
                print(f"iteration {i}: mean return per agent {agent_returns[-1]}")
        after = _params(algo, policies)
        episodes = [_episode_record(e) for e in algo.env_runner.sample(num_episodes=2, explore=True)]
        greedy = _episode_record(algo.env_runner.sample(num_episodes=1, explore=False)[0])
    finally:
        algo.stop()
        ray.shutdown()

    final_info = greedy[probe.possible_agents[0]]["infos"][-1]
    before_transfer = final_info["returns_before_transfer"]
    return {
        "losses": losses,
        "agent_returns": agent_returns,
        "param_change": {p: float(np.linalg.norm(after[p] - before[p])) for p in policies},
        "episodes": episodes,
        "greedy": greedy,
        "returns_before_transfer": before_transfer,
        "returns_after_transfer": final_info["returns_after_transfer"],
        "return_scale": probe.unwrapped.return_scale,
        "fairness": fairness(list(before_transfer.values()), scale=probe.unwrapped.return_scale),
    }


def main() -> dict:
    result = train(verbose=True)
    print("greedy episode, returns before transfer:", result["returns_before_transfer"])
    print("greedy episode, returns after transfer: ", result["returns_after_transfer"])
    print(f"fairness (pairwise_equality, before transfer): {result['fairness']:.3f}")
    return result


if __name__ == "__main__":
    main()
