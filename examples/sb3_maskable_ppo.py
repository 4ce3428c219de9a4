"""MaskablePPO (sb3-contrib) on a mediated Chicken: one policy shared by the players, fairness in SB3's logger.

``fairlead.integrations.sb3_vec_env``: an SB3 vector env (SuperSuit, one slot per player) whose observations
end with the action mask; ``ActionMasks`` hands it to MaskablePPO. Run: ``pip install -e ".[integrations]"``,
``python examples/sb3_maskable_ppo.py`` (about 20 s on 2 cores).
"""

import numpy as np
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnvWrapper

import fairlead
from fairlead.integrations import against_random, episode_fairness, policy_play, random_play, sb3_vec_env


def make_env():
    game = fairlead.make("chicken_v0", n_agents=2, max_cycles=10, obs_encoding="box")
    return fairlead.mediate(game, selector="catch_up", transfer=0.5)  # the mediator picks each stage's leader


class ActionMasks(VecEnvWrapper):
    """Answers MaskablePPO's ``env_method("action_masks")`` from the last ``n_actions`` entries of each observation."""

    def __init__(self, venv, n_actions):
        super().__init__(venv)
        self.n_actions = n_actions

    def reset(self):
        self.obs = self.venv.reset()
        return self.obs

    def step_wait(self):
        self.obs, rewards, dones, infos = self.venv.step_wait()
        return self.obs, rewards, dones, infos

    def has_attr(self, name):
        return name == "action_masks" or self.venv.has_attr(name)

    def env_method(self, name, *args, indices=None, **kwargs):
        if name == "action_masks":
            return list(self.obs[:, -self.n_actions:] > 0.5)
        return self.venv.env_method(name, *args, indices=indices, **kwargs)


class FairnessCallback(BaseCallback):
    """Logs each finished episode's fairness and total return (before transfer), averaged per rollout."""

    def __init__(self, env):
        super().__init__()
        self.n_players, self.scale = len(env.possible_agents), env.unwrapped.return_scale

    def _on_step(self):
        for slot in range(0, len(self.locals["infos"]), self.n_players):  # a game fills n_players slots
            info = self.locals["infos"][slot]
            if self.locals["dones"][slot]:
                self.logger.record_mean("rollout/fairness", episode_fairness(info, self.scale))
                self.logger.record_mean("rollout/total_return", sum(info["returns_before_transfer"].values()))
        return True


def train(total_timesteps=16_000, seed=0, log_dir="runs/sb3_maskable_ppo"):
    torch.set_num_threads(1)  # tiny networks: more threads only contend for the cores
    env = make_env()
    vec_env = ActionMasks(sb3_vec_env(make_env(), num_envs=2), env.action_space("player_0").n)  # 2 games, 4 slots
    model = MaskablePPO("MlpPolicy", vec_env, n_steps=100, batch_size=100, n_epochs=4, learning_rate=3e-3,
                        gamma=0.95, policy_kwargs={"net_arch": [32]}, seed=seed, verbose=0)
    model.set_logger(configure(str(log_dir), ["csv"]))  # progress.csv: one row per rollout
    model.learn(total_timesteps=total_timesteps, callback=FairnessCallback(env))
    vec_env.close()
    return model


def greedy(model):
    """``act(agent, observation)`` for fairlead's AEC env: the policy's masked argmax."""
    def act(agent, obs):
        flat = np.concatenate([obs["observation"], obs["action_mask"]]).astype(np.float32)
        return int(model.predict(flat, action_masks=obs["action_mask"] > 0, deterministic=True)[0])
    return act


if __name__ == "__main__":
    model = train()
    print(against_random(random_play(make_env()), policy_play(make_env(), greedy(model)), "MaskablePPO, greedy (20)"))
    print("fairness per rollout: runs/sb3_maskable_ppo/progress.csv, column rollout/fairness")
