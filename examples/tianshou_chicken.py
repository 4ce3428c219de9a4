"""Tianshou DQN on a mediated Chicken (2 players), one DQN per player.

No adapter: Tianshou's own ``tianshou.env.PettingZooEnv`` takes the mediated
AEC env as it is (it turns ``{"observation", "action_mask"}`` into
``{"agent_id", "obs", "mask"}`` and the DQN policy applies the mask). Two
things matter, both set below:

* Tianshou reads every agent's reward from ``env.rewards`` at every AEC step,
  so a leader's payoff, paid when the follower completes the stage, lands on
  the *follower's* transition in the replay buffer. Only an n-step return that
  reaches that step credits the leader: ``n_step_return_horizon >= n_agents``
  (2 here). With the default ``1`` the leader never sees its payoff.
* Tianshou's wrapper needs identical spaces for all agents, so the mediator
  picks leaders with a selector (``catch_up`` here), not as an agent.

Run (needs ``pip install -e ".[integrations]"``, ~20 s on 2 cores)::

    python examples/tianshou_chicken.py

It prints the fairness (default metric) of a greedy episode's returns before
the transfer. ``train()`` is the core the integration tests call.
"""

from __future__ import annotations

import os

# Tianshou compiles its replay-buffer helpers with numba on first use: ~20 s on
# 2 cores, longer than this whole run. For short runs plain Python is faster
# (and gives the same numbers); set NUMBA_DISABLE_JIT=0 to compile anyway.
os.environ.setdefault("NUMBA_DISABLE_JIT", "1")

import logging  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tianshou.algorithm.modelfree.dqn import DQN, DiscreteQLearningPolicy  # noqa: E402
from tianshou.algorithm.multiagent.marl import MultiAgentOffPolicyAlgorithm  # noqa: E402
from tianshou.algorithm.optim import AdamOptimizerFactory  # noqa: E402
from tianshou.data import Collector, VectorReplayBuffer  # noqa: E402
from tianshou.env import DummyVectorEnv, PettingZooEnv  # noqa: E402
from tianshou.utils.net.common import Net  # noqa: E402
from tianshou.utils.torch_utils import policy_within_training_step, torch_train_mode  # noqa: E402

import fairlead  # noqa: E402
from fairlead.fairness import fairness  # noqa: E402

# the collector's return statistics warn on every call that multi-agent returns are 2-D
logging.getLogger("tianshou.data.stats").setLevel(logging.ERROR)


def make_env(n_agents=2, max_cycles=10, transfer=0.5) -> PettingZooEnv:
    """The mediated Chicken env wrapped by Tianshou's own PettingZoo wrapper."""
    game = fairlead.make("chicken_v0", n_agents=n_agents, max_cycles=max_cycles, obs_encoding="box")
    return PettingZooEnv(fairlead.mediate(game, selector="catch_up", transfer=transfer))


def build(n_step=2, gamma=0.9, seed=0, transfer=0.5):
    """The multi-agent DQN (one DQN per player) and a Tianshou env to train it on."""
    torch.manual_seed(seed)
    env = make_env(transfer=transfer)
    obs_space = env.observation_space["observation"]
    algorithms = []
    for _ in env.agents:
        net = Net(state_shape=obs_space.shape, action_shape=env.action_space.n, hidden_sizes=[32])
        policy = DiscreteQLearningPolicy(
            model=net, action_space=env.action_space, observation_space=obs_space, eps_training=0.2
        )
        algorithms.append(
            DQN(policy=policy, optim=AdamOptimizerFactory(lr=1e-3), gamma=gamma,
                n_step_return_horizon=n_step, target_update_freq=50)
        )
    return MultiAgentOffPolicyAlgorithm(algorithms=algorithms, env=env), env


def _params(algorithm) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in algorithm.policy.parameters()])


def train(iterations=20, steps_per_iteration=100, n_step=2, seed=0, transfer=0.5, verbose=False) -> dict:
    """Collect ``steps_per_iteration`` AEC steps and do one DQN update per player, ``iterations`` times.

    Returns a dict: ``losses`` (per player, each update's loss), ``param_change``
    (L2 norm of the weight change), ``algorithm`` and ``buffer`` (Tianshou's
    own objects, for checks), ``returns_before_transfer`` / ``after`` and
    ``fairness`` of one greedy episode, ``return_scale``.
    """
    torch.set_num_threads(1)  # tiny networks: extra threads only contend for the 2 cores
    algorithm, env = build(n_step=n_step, seed=seed, transfer=transfer)
    venv = DummyVectorEnv([lambda: make_env(transfer=transfer)])
    venv.seed(seed)
    buffer = VectorReplayBuffer(iterations * steps_per_iteration, 1)
    collector = Collector(algorithm, venv, buffer, exploration_noise=True)
    collector.reset()
    start = _params(algorithm)
    losses: dict[str, list[float]] = {agent: [] for agent in env.agents}
    for i in range(iterations):
        with policy_within_training_step(algorithm.policy):
            collector.collect(n_step=steps_per_iteration)
            with torch_train_mode(algorithm.policy):
                stats = algorithm.update(buffer=buffer, sample_size=64)
        for key, value in stats.get_loss_stats_dict().items():
            losses[key.split("/")[0]].append(float(value))
        if verbose and i % 5 == 4:
            print(f"iteration {i}: loss {[round(v[-1], 3) for v in losses.values()]}")
    param_change = float(np.linalg.norm(_params(algorithm) - start))

    # one greedy episode, played through the same Tianshou wrapper, to measure fairness
    game = make_env(transfer=transfer)
    obs, info = game.reset(seed=seed + 1)
    done = False
    with torch.no_grad():
        while not done:
            player = algorithm.get_algorithm(obs["agent_id"]).policy
            q = player.model(torch.as_tensor(obs["obs"][None]))[0][0].numpy()
            q[~np.asarray(obs["mask"])] = -np.inf
            obs, _, terminated, truncated, info = game.step(int(np.argmax(q)))
            done = terminated or truncated
    before = info["returns_before_transfer"]
    return {
        "losses": losses,
        "param_change": param_change,
        "algorithm": algorithm,
        "buffer": buffer,
        "returns_before_transfer": before,
        "returns_after_transfer": info["returns_after_transfer"],
        "return_scale": game.env.unwrapped.return_scale,
        "fairness": fairness(list(before.values()), scale=game.env.unwrapped.return_scale),
    }


def main() -> dict:
    result = train(verbose=True)
    print("greedy episode, returns before transfer:", result["returns_before_transfer"])
    print("greedy episode, returns after transfer: ", result["returns_after_transfer"])
    print(f"fairness (pairwise_equality, before transfer): {result['fairness']:.3f}")
    return result


if __name__ == "__main__":
    main()
