"""TorchRL PPO on a mediated Chicken: one masked policy shared by the players, fairness in TorchRL's CSVLogger.

``fairlead.integrations.torchrl_env``: TorchRL's ``PettingZooWrapper`` on the env's parallel view.
Run: ``pip install -e ".[integrations]"``, ``python examples/torchrl_chicken.py`` (about 30 to 70 s on 2 cores).
"""

import numpy as np
import torch
from tensordict.nn import TensorDictModule
from torchrl.collectors import Collector
from torchrl.modules import MLP, MaskedCategorical, ProbabilisticActor, ValueOperator
from torchrl.objectives import ClipPPOLoss, ValueEstimators
from torchrl.record.loggers import CSVLogger

import fairlead
from fairlead.integrations import against_random, episode_fairness, policy_play, random_play, torchrl_env

G = "player"  # TorchRL's group of the players
OBS, RETURN = (G, "observation", "observation"), ("next", G, "info", "episode_return")  # return before transfer


def make_env():
    game = fairlead.make("chicken_v0", n_agents=2, max_cycles=10, obs_encoding="box")
    return fairlead.mediate(game, selector="catch_up", transfer=0.5)  # the mediator picks each stage's leader


def train(iterations=30, seed=0, log_dir="runs"):
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # tiny networks: more threads only contend for the cores
    env = torchrl_env(make_env(), seed=seed)
    agents, scale, n_obs = env.group_map[G], make_env().unwrapped.return_scale, env.observation_spec[OBS].shape[-1]
    logits = MLP(in_features=n_obs, out_features=env.action_spec[G, "action"].space.n, num_cells=[32])
    actor = ProbabilisticActor(TensorDictModule(logits, in_keys=[OBS], out_keys=[(G, "logits")]),
                               in_keys={"logits": (G, "logits"), "mask": (G, "action_mask")}, out_keys=[(G, "action")],
                               distribution_class=MaskedCategorical, return_log_prob=True,
                               log_prob_key=(G, "action_log_prob"))
    critic = ValueOperator(MLP(in_features=n_obs, out_features=1, num_cells=[32]), in_keys=[OBS],
                           out_keys=[(G, "state_value")])
    loss = ClipPPOLoss(actor_network=actor, critic_network=critic, entropy_coeff=0.01)
    loss.set_keys(reward=(G, "reward"), action=(G, "action"), sample_log_prob=(G, "action_log_prob"),
                  value=(G, "state_value"), done=(G, "done"), terminated=(G, "terminated"))
    loss.make_value_estimator(ValueEstimators.GAE, gamma=0.95, lmbda=0.95)
    optimizer = torch.optim.Adam(loss.parameters(), lr=3e-3)
    logger, episodes = CSVLogger(exp_name="torchrl_chicken", log_dir=log_dir), 0
    collector = Collector(env, actor, frames_per_batch=400, total_frames=iterations * 400,
                          auto_register_policy_transforms=False)
    for data in collector:
        ends = data["next", "done"].reshape(-1)
        for returns in data[RETURN].reshape(-1, len(agents))[ends].tolist():  # one row per finished episode
            fairness = episode_fairness({"returns_before_transfer": dict(zip(agents, returns))}, scale)
            logger.log_scalar("fairness", fairness, step=episodes)
            logger.log_scalar("total_return", sum(returns), step=episodes)
            episodes += 1
        with torch.no_grad():
            loss.value_estimator(data, params=loss.critic_network_params, target_params=loss.target_critic_network_params)
        flat = data.reshape(-1)
        for _ in range(4):  # epochs of minibatches of 100
            for index in torch.randperm(flat.numel()).split(100):
                parts = loss(flat[index])
                optimizer.zero_grad()
                (parts["loss_objective"] + parts["loss_critic"] + parts["loss_entropy"]).backward()
                optimizer.step()
    collector.shutdown()
    return logits


def greedy(logits):
    """``act(agent, observation)`` for fairlead's AEC env: the policy's masked argmax."""
    def act(agent, obs):
        with torch.no_grad():
            scores = logits(torch.as_tensor(obs["observation"])).numpy()
        return int(np.argmax(np.where(obs["action_mask"] > 0, scores, -np.inf)))
    return act


if __name__ == "__main__":
    logits = train()
    print(against_random(random_play(make_env()), policy_play(make_env(), greedy(logits)), "PPO, greedy (20)"))
    print("fairness of every training episode: runs/torchrl_chicken/scalars/fairness.csv")
