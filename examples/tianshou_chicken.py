"""Tianshou DQN on a mediated Chicken: one DQN shared by the players, fairness in Tianshou's TensorBoard logger.

A leader is paid on the follower's step, so ``n_step_return_horizon=2`` (docs/libraries/tianshou.md).
Run: ``pip install -e ".[integrations]"``, ``python examples/tianshou_chicken.py`` (about 60 s on 2 cores).
"""

import logging

import numpy as np
import torch
from tianshou.algorithm.modelfree.dqn import DQN, DiscreteQLearningPolicy
from tianshou.algorithm.multiagent.marl import MultiAgentOffPolicyAlgorithm
from tianshou.algorithm.optim import AdamOptimizerFactory
from tianshou.data import Collector, VectorReplayBuffer
from tianshou.env import DummyVectorEnv, PettingZooEnv
from tianshou.trainer import OffPolicyTrainerParams
from tianshou.utils import TensorboardLogger
from tianshou.utils.net.common import Net
from torch.utils.tensorboard import SummaryWriter

import fairlead
from fairlead.integrations import against_random, episode_fairness, policy_play, random_play

logging.getLogger("tianshou.data.stats").setLevel(logging.ERROR)  # it warns that multi-agent returns are 2-D


def make_env():
    game = fairlead.make("chicken_v0", n_agents=2, max_cycles=10, obs_encoding="box")
    return fairlead.mediate(game, selector="catch_up", transfer=0.5)  # the mediator picks each stage's leader


class NumericInfoEnv(PettingZooEnv):
    """Tianshou's PettingZoo wrapper, infos cut to numbers (its trainer refuses a buffer holding None or strings)."""

    def step(self, action):
        *step, info = super().step(action)
        return *step, numeric(info)


def numeric(info):
    return {k: numeric(v) if isinstance(v, dict) else v for k, v in info.items() if isinstance(v, dict | float | int)}


def train(epochs=15, seed=0, log_dir="runs/tianshou_chicken"):
    torch.manual_seed(seed)
    np.random.seed(seed)  # DQN's epsilon-greedy draws from numpy's global generator
    torch.set_num_threads(1)  # tiny networks: more threads only contend for the cores
    env = NumericInfoEnv(make_env())
    space = env.observation_space["observation"]  # the role, the stage and the leader's action, as a Box
    net = Net(state_shape=space.shape, action_shape=env.action_space.n, hidden_sizes=[32])
    # the trainer flags only the multi-agent policy as training, so each DQN explores through eps_inference
    policy = DiscreteQLearningPolicy(model=net, action_space=env.action_space, observation_space=space,
                                     eps_training=0.2, eps_inference=0.2)
    dqn = DQN(policy=policy, optim=AdamOptimizerFactory(lr=1e-3), gamma=0.9, n_step_return_horizon=2,
              target_update_freq=50)
    algorithm = MultiAgentOffPolicyAlgorithm(algorithms=[dqn] * len(env.agents), env=env)  # one shared DQN

    logger = TensorboardLogger(SummaryWriter(log_dir))
    scale, episodes = make_env().unwrapped.return_scale, []

    def log_fairness(episode):  # the collector's hook: one finished episode as Tianshou stored it
        info = episode.info[-1].to_dict()
        episodes.append(info)
        logger.write("episode/index", len(episodes), {"fairness": episode_fairness(info, scale),
                                                      "total_return": sum(info["returns_before_transfer"].values())})

    venv = DummyVectorEnv([lambda: NumericInfoEnv(make_env())])
    venv.seed(seed)
    collector = Collector(algorithm, venv, VectorReplayBuffer(20_000, 1), exploration_noise=True,
                          on_episode_done_hook=log_fairness)
    algorithm.run_training(OffPolicyTrainerParams(
        training_collector=collector, max_epochs=epochs, epoch_num_steps=1000, collection_step_num_env_steps=100,
        update_step_num_gradient_steps_per_sample=0.04, batch_size=64, logger=logger, show_progress=False))
    return algorithm


def greedy(algorithm):
    """``act(agent, observation)`` for fairlead's AEC env: the agent's DQN's masked argmax."""
    def act(agent, obs):
        with torch.no_grad():
            q = algorithm.get_algorithm(agent).policy.model(torch.as_tensor(obs["observation"][None]))[0][0]
        return int(np.argmax(np.where(obs["action_mask"] > 0, q.numpy(), -np.inf)))
    return act


if __name__ == "__main__":
    algorithm = train()
    print(against_random(random_play(make_env()), policy_play(make_env(), greedy(algorithm)), "DQN, greedy (20)"))
    print("fairness of every training episode: tensorboard --logdir runs/tianshou_chicken (episode/fairness)")
