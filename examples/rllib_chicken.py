"""RLlib PPO on a mediated Chicken: one masked policy shared by the players, fairness in RLlib's metrics.

``fairlead.integrations.rllib_env``: RLlib's own ``PettingZooEnv`` with the observation keys its
``ActionMaskingTorchRLModule`` reads; ``mediator_as_agent=True`` trains the mediator too.
Run: ``pip install -e ".[integrations]"``, ``python examples/rllib_chicken.py`` (about 40 to 85 s on 2 cores).
"""

import ray
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule
from ray.tune.registry import register_env

import fairlead
from fairlead.integrations import against_random, episode_fairness, policy_play, random_play, rllib_env


def make_env(n_agents=2, max_cycles=10, selector="catch_up", mediator_as_agent=False):
    game = fairlead.make("chicken_v0", n_agents=n_agents, max_cycles=max_cycles, obs_encoding="box")
    if mediator_as_agent:  # the agent "mediator" picks each stage's leader and is rewarded by fairness gains
        return fairlead.mediate(game, mediator_as_agent=True, transfer=0.5)
    return fairlead.mediate(game, selector=selector, transfer=0.5)


def policy_of(agent, *args, **kwargs):
    return "mediator" if agent == "mediator" else "player"  # the players share one policy


class FairnessCallback(RLlibCallback):
    def on_episode_end(self, *, episode, env, env_index, metrics_logger, **kwargs):
        infos = {agent: single.get_infos(-1) for agent, single in episode.agent_episodes.items()}
        final = next(info for info in infos.values() if "returns_before_transfer" in info)
        scale = env.envs[env_index].unwrapped.env.unwrapped.return_scale
        metrics_logger.log_value("fairness", episode_fairness(final, scale), reduce="mean")
        metrics_logger.log_value("total_return", sum(final["returns_before_transfer"].values()), reduce="mean")


def train(iterations=40, seed=0, **env_config):
    """PPO for ``iterations`` of 400 AEC steps; returns the (running) algorithm and each iteration's results."""
    torch.set_num_threads(1)  # tiny networks: more threads only contend for the cores
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    register_env("fairlead_chicken", lambda config: rllib_env(make_env(**config)))
    policies = {policy_of(agent) for agent in make_env(**env_config).possible_agents}
    module = RLModuleSpec(module_class=ActionMaskingTorchRLModule,
                          model_config={"head_fcnet_hiddens": [32], "fcnet_hiddens": [32]})
    config = (PPOConfig()
              .environment("fairlead_chicken", env_config=env_config)
              .env_runners(num_env_runners=0)  # sample in this process: the env is tiny
              .callbacks(FairnessCallback)
              .multi_agent(policies=policies, policy_mapping_fn=policy_of)
              .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={p: module for p in policies}))
              .training(train_batch_size_per_learner=400, minibatch_size=100, num_epochs=4, lr=3e-3, gamma=0.95)
              .debugging(seed=seed))
    algo = config.build_algo()
    return algo, [algo.train() for _ in range(iterations)]


def greedy(algo):
    """``act(agent, observation)`` for fairlead's AEC env: the agent's module's masked argmax."""
    def act(agent, obs):
        batch = {"obs": {"observations": torch.as_tensor(obs["observation"][None]),
                         "action_mask": torch.as_tensor(obs["action_mask"][None], dtype=torch.float32)}}
        with torch.no_grad():
            return int(algo.get_module(policy_of(agent)).forward_inference(batch)["action_dist_inputs"][0].argmax())
    return act


def main(**env_config):
    algo, results = train(**env_config)
    for i, result in enumerate(results[::10]):
        print(f"iteration {10 * i:2d}: fairness {result['env_runners']['fairness']:.3f}, "
              f"total return {result['env_runners']['total_return']:.1f}")
    print(against_random(random_play(make_env(**env_config)), policy_play(make_env(**env_config), greedy(algo)),
                         "PPO, greedy (20)"))
    algo.stop()
    ray.shutdown()


if __name__ == "__main__":
    main()
