"""Stable-Baselines3 PPO on a mediated Chicken (2 players), through SuperSuit's vector env.

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

Run (needs ``pip install -e ".[integrations]"``, ~10 s on 2 cores)::

    python examples/sb3_supersuit_chicken.py
"""

from __future__ import annotations

import numpy as np
import torch
from stable_baselines3 import PPO

import fairlead
from fairlead.envs.parallel import PhaseParallelEnv
from fairlead.fairness import fairness
from fairlead.integrations import FlatBoxParallelEnv, sb3_vec_env

MAX_CYCLES = 10
STEPS_PER_EPISODE = 2 * MAX_CYCLES  # two phases per stage in the parallel view


def make_mediated(n_agents=2, max_cycles=MAX_CYCLES, transfer=0.5):
    """The mediated Chicken env (PettingZoo AEC, box observations)."""
    game = fairlead.make("chicken_v0", n_agents=n_agents, max_cycles=max_cycles, obs_encoding="box")
    return fairlead.mediate(game, selector="catch_up", transfer=transfer)


def _params(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.policy.parameters()])


def train(iterations=12, episodes_per_rollout=5, copies=2, seed=0, transfer=0.5,
          gamma=0.95, gae_lambda=0.95, verbose=False) -> dict:
    """PPO for ``iterations`` rollouts; each rollout is ``episodes_per_rollout`` whole episodes per slot.

    Returns a dict: ``losses`` (SB3's ``train/loss`` after each rollout),
    ``param_change``, ``model`` (its ``rollout_buffer`` holds the last rollout
    as SB3 recorded it), ``slots`` (the players of the vector env's slots, in
    order), ``returns_before_transfer`` / ``after`` and ``fairness`` of one
    greedy episode, ``return_scale``.
    """
    torch.set_num_threads(1)  # tiny networks: extra threads only contend for the 2 cores
    probe = make_mediated(transfer=transfer)
    vec_env = sb3_vec_env(make_mediated(transfer=transfer), num_envs=copies)
    n_steps = episodes_per_rollout * STEPS_PER_EPISODE  # rollouts end exactly at episode ends
    model = PPO(
        "MlpPolicy", vec_env, n_steps=n_steps, batch_size=n_steps * vec_env.num_envs // 4,
        n_epochs=4, learning_rate=3e-3, gamma=gamma, gae_lambda=gae_lambda,
        policy_kwargs={"net_arch": [32]}, seed=seed, verbose=0,
    )
    start = _params(model)
    losses = []
    try:
        for i in range(iterations):
            model.learn(total_timesteps=n_steps * vec_env.num_envs, reset_num_timesteps=False)
            losses.append(float(model.logger.name_to_value["train/loss"]))
            if verbose:
                print(f"iteration {i}: loss {losses[-1]:.3f}, "
                      f"mean reward per step {model.rollout_buffer.rewards.mean():.3f}")
    finally:
        vec_env.close()

    # one greedy episode on the same flat parallel view
    env = FlatBoxParallelEnv(PhaseParallelEnv(make_mediated(transfer=transfer)))
    observations, infos = env.reset(seed=seed + 1)
    while env.agents:
        actions = {a: int(model.predict(observations[a], deterministic=True)[0]) for a in env.agents}
        observations, _, _, _, infos = env.step(actions)
    before = infos[probe.possible_agents[0]]["returns_before_transfer"]
    return {
        "losses": losses,
        "param_change": float(np.linalg.norm(_params(model) - start)),
        "model": model,
        "slots": list(probe.possible_agents) * copies,
        "returns_before_transfer": before,
        "returns_after_transfer": infos[probe.possible_agents[0]]["returns_after_transfer"],
        "return_scale": probe.unwrapped.return_scale,
        "fairness": fairness(list(before.values()), scale=probe.unwrapped.return_scale),
    }


def main() -> dict:
    result = train(verbose=True)
    print("greedy episode, returns before transfer:", result["returns_before_transfer"])
    print("greedy episode, returns after transfer: ", result["returns_after_transfer"])
    print(f"fairness (pairwise_equality, before transfer): {result['fairness']:.3f}")
    return result


if __name__ == "__main__":
    main()
