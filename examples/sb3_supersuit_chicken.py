"""Stable-Baselines3 PPO on a mediated Chicken (2 players), through SuperSuit's vector env, with fairness logged.

SB3 is single-agent; SuperSuit's ``pettingzoo_env_to_vec_env_v1`` turns a
PettingZoo *parallel* env into a vector env with one slot per agent, so one
SB3 policy is shared by all players (parameter sharing). It needs identical
spaces for every agent, no agent death and a plain array observation, so
``fairlead.integrations.sb3_vec_env``:

* takes fairlead's phase-based parallel view (one step per phase; every agent
  lives the whole episode; a waiting agent's action is ignored),
* folds the action mask into one float ``Box`` (SB3's PPO does not apply
  masks; in Chicken every action is legal when an agent acts, so none is
  needed, but the policy still sees whose turn it is),
* keeps the mediator out of the agents (a selector, ``catch_up``, picks the
  leaders: the mediator agent's spaces differ from the players'),
* adds the ``seed()`` SuperSuit's SB3 wrapper lacks, so ``PPO(..., seed=0)`` works.

Credit: the leader's payoff arrives one vector step after its action (the
follow phase, while it waits); PPO's GAE (``gae_lambda > 0``) or its
bootstrapped value (``gamma > 0``) carries it back to the leader's action.

What it shows:

* **fairness during training**, through SB3's own hooks: the callback
  :class:`FairnessCallback` (``BaseCallback._on_step``) reads
  ``self.locals["infos"]`` at every episode end (``self.locals["dones"]``),
  records the episode's fairness (default metric, ``pairwise_equality``,
  before the transfer) and total return (before transfer), and passes them
  to SB3's logger (``self.logger.record_mean("rollout/fairness", ...)``),
  which writes them, averaged per rollout, to ``<log_dir>/progress.csv``;
* **the baseline**: ``fairlead.integrations.random_play`` (uniformly random
  legal actions, 100 episodes), printed beside the deterministic evaluation
  of the trained policy over 20 episodes (seeds 1000..1019).

Run (needs ``pip install -e ".[integrations]"``, about 7 s on 2 cores)::

    python examples/sb3_supersuit_chicken.py

Measured (seed 0, 40 rollouts of 5 episodes on 2 copies of the game): random
play fairness 0.876, total return 41.8; trained 1.000 and 50.0.

``train()`` is the core the integration tests call.
"""

from __future__ import annotations

import tempfile

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure

import fairlead
from fairlead.envs.parallel import PhaseParallelEnv
from fairlead.fairness import fairness
from fairlead.integrations import FlatBoxParallelEnv, against_random, episode_fairness, random_play, sb3_vec_env

MAX_CYCLES = 10
STEPS_PER_EPISODE = 2 * MAX_CYCLES  # two phases per stage in the parallel view
EVAL_EPISODES, EVAL_SEED = 20, 1000


def make_mediated(n_agents=2, max_cycles=MAX_CYCLES, transfer=0.5):
    """The mediated Chicken env (PettingZoo AEC, box observations)."""
    game = fairlead.make("chicken_v0", n_agents=n_agents, max_cycles=max_cycles, obs_encoding="box")
    return fairlead.mediate(game, selector="catch_up", transfer=transfer)


class FairnessCallback(BaseCallback):
    """Records each finished episode's fairness and total return (before transfer) and logs them to SB3's logger.

    Every copy of the game fills ``n_players`` consecutive slots of the vector
    env, which all end together and carry the same final info, so an
    episode is counted once, at its copy's first slot.
    """

    def __init__(self, scale: float, n_players: int):
        super().__init__()
        self.scale, self.n_players = scale, n_players
        self.fairness: list[float] = []  # one value per finished episode, in order
        self.total_return: list[float] = []

    def _on_step(self) -> bool:
        infos, dones = self.locals["infos"], self.locals["dones"]
        for slot in range(0, len(infos), self.n_players):
            if dones[slot]:
                fair = episode_fairness(infos[slot], self.scale)
                total = float(sum(infos[slot]["returns_before_transfer"].values()))
                self.fairness.append(fair)
                self.total_return.append(total)
                self.logger.record_mean("rollout/fairness", fair)  # averaged over the rollout's episodes
                self.logger.record_mean("rollout/total_return", total)
        return True


def _params(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.policy.parameters()])


def evaluate(model, episodes=EVAL_EPISODES, seed=EVAL_SEED, transfer=0.5) -> dict:
    """Deterministic play on the same flat parallel view, ``episodes`` episodes (seeds ``seed, seed + 1, ...``).

    Returns the mean ``fairness`` and ``total_return`` before transfer, and
    the ``last`` episode's final info.
    """
    scale = make_mediated(transfer=transfer).unwrapped.return_scale
    fair, total = [], []
    for k in range(episodes):
        env = FlatBoxParallelEnv(PhaseParallelEnv(make_mediated(transfer=transfer)))
        observations, infos = env.reset(seed=seed + k)
        while env.agents:
            actions = {a: int(model.predict(observations[a], deterministic=True)[0]) for a in env.agents}
            observations, _, _, _, infos = env.step(actions)
        fair.append(episode_fairness(infos, scale))  # the dict of every agent's infos
        total.append(sum(infos[env.possible_agents[0]]["returns_before_transfer"].values()))
    return {"fairness": float(np.mean(fair)), "total_return": float(np.mean(total)),
            "last": infos[env.possible_agents[0]]}


def train(iterations=40, episodes_per_rollout=5, copies=2, seed=0, transfer=0.5,
          gamma=0.95, gae_lambda=0.95, learning_rate=3e-3, log_dir=None, verbose=False) -> dict:
    """PPO for ``iterations`` rollouts; each rollout is ``episodes_per_rollout`` whole episodes per slot.

    ``log_dir``: where SB3's logger writes ``progress.csv`` (a new temporary
    folder if ``None``). Returns a dict: ``random`` (``random_play``: mean
    ``fairness`` and ``total_return`` of random play, 100 episodes),
    ``trained`` (the same numbers for deterministic play, 20 episodes),
    ``callback`` (the :class:`FairnessCallback`: its ``fairness`` and
    ``total_return`` hold one value per finished training episode),
    ``log_dir``, ``losses`` (SB3's ``train/loss`` after each rollout),
    ``param_change``, ``model`` (its ``rollout_buffer`` holds the last
    rollout as SB3 recorded it), ``slots`` (the players of the vector env's
    slots, in order), ``returns_before_transfer`` / ``after`` and
    ``fairness`` of one deterministic episode, ``return_scale``.
    """
    torch.set_num_threads(1)  # tiny networks: extra threads only contend for the 2 cores
    probe = make_mediated(transfer=transfer)
    scale = probe.unwrapped.return_scale
    baseline = random_play(make_mediated(transfer=transfer), episodes=100, seed=seed)
    vec_env = sb3_vec_env(make_mediated(transfer=transfer), num_envs=copies)
    n_steps = episodes_per_rollout * STEPS_PER_EPISODE  # rollouts end exactly at episode ends
    model = PPO(
        "MlpPolicy", vec_env, n_steps=n_steps, batch_size=n_steps * vec_env.num_envs // 4,
        n_epochs=4, learning_rate=learning_rate, gamma=gamma, gae_lambda=gae_lambda,
        policy_kwargs={"net_arch": [32]}, seed=seed, verbose=0,
    )
    log_dir = log_dir or tempfile.mkdtemp(prefix="sb3_chicken_")
    model.set_logger(configure(str(log_dir), ["csv"]))  # progress.csv: one row per rollout
    callback = FairnessCallback(scale, len(probe.possible_agents))
    start = _params(model)
    losses = []
    try:
        for i in range(iterations):
            seen = len(callback.fairness)
            model.learn(total_timesteps=n_steps * vec_env.num_envs, reset_num_timesteps=False, callback=callback)
            losses.append(float(model.logger.name_to_value["train/loss"]))
            if verbose:
                print(f"iteration {i:2d}: {len(callback.fairness) - seen} episodes, fairness "
                      f"{np.mean(callback.fairness[seen:]):.3f}, "
                      f"total return {np.mean(callback.total_return[seen:]):.1f}")
    finally:
        vec_env.close()

    trained = evaluate(model, transfer=transfer)
    one = evaluate(model, episodes=1, seed=seed + 1, transfer=transfer)["last"]
    before = one["returns_before_transfer"]
    return {
        "random": baseline,
        "trained": {k: trained[k] for k in ("fairness", "total_return")},
        "callback": callback,
        "log_dir": str(log_dir),
        "losses": losses,
        "param_change": float(np.linalg.norm(_params(model) - start)),
        "model": model,
        "slots": list(probe.possible_agents) * copies,
        "returns_before_transfer": before,
        "returns_after_transfer": one["returns_after_transfer"],
        "return_scale": scale,
        "fairness": fairness(list(before.values()), scale=scale),
    }


def report(result: dict) -> None:
    """Print random play beside the trained policy's deterministic evaluation."""
    print(against_random(result["random"], result["trained"], "trained, deterministic (20)"))
    print(f"fairness per rollout (SB3's logger): {result['log_dir']}/progress.csv, column rollout/fairness")


def main() -> dict:
    result = train(verbose=True)
    report(result)
    return result


if __name__ == "__main__":
    main()
