"""Tianshou DQN on a mediated Chicken (2 players), with fairness logged while it trains.

One DQN is shared by the players (their observations carry their role);
``share_players=False`` trains one DQN per player (see
``docs/libraries/tianshou.md`` for what that learns).

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

What it shows:

* **fairness during training**, through Tianshou's own hook: the collector's
  ``on_episode_done_hook`` (:class:`FairnessHook`) receives every finished
  episode as Tianshou stored it and records its fairness (default metric,
  ``pairwise_equality``, before the transfer) and total return (before
  transfer) from the last step's info;
* **the baseline**: ``fairlead.integrations.random_play`` (uniformly random
  legal actions, 100 episodes), printed beside the greedy evaluation of the
  trained DQNs over 20 episodes (seeds 1000..1019).

Run (needs ``pip install -e ".[integrations]"``, about 30 s on 2 cores)::

    python examples/tianshou_chicken.py

Measured (seed 0, 150 iterations of 100 AEC steps and 4 updates): random
play fairness 0.876, total return 41.8; trained 1.000 and 50.0.

``train()`` is the core the integration tests call.
"""

from __future__ import annotations

import os

# Tianshou compiles its replay-buffer helpers with numba on first use: ~20 s on
# 2 cores. For short runs plain Python is faster (and gives the same numbers);
# set NUMBA_DISABLE_JIT=0 to compile anyway.
os.environ.setdefault("NUMBA_DISABLE_JIT", "1")

import contextlib  # noqa: E402
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
from fairlead.integrations import against_random, episode_fairness, random_play  # noqa: E402

# the collector's return statistics warn on every call that multi-agent returns are 2-D
logging.getLogger("tianshou.data.stats").setLevel(logging.ERROR)

EVAL_EPISODES, EVAL_SEED = 20, 1000


def make_mediated(n_agents=2, max_cycles=10, transfer=0.5):
    """The mediated Chicken env (PettingZoo AEC, box observations)."""
    game = fairlead.make("chicken_v0", n_agents=n_agents, max_cycles=max_cycles, obs_encoding="box")
    return fairlead.mediate(game, selector="catch_up", transfer=transfer)


def make_env(transfer=0.5) -> PettingZooEnv:
    """The mediated Chicken env wrapped by Tianshou's own PettingZoo wrapper."""
    return PettingZooEnv(make_mediated(transfer=transfer))


class FairnessHook:
    """The collector's ``on_episode_done_hook``: records each finished episode's fairness and total return.

    Tianshou passes the whole episode as stored in the buffer; its infos are a
    ``Batch``, so the last step's info is turned back into a dict for
    ``episode_fairness``. Returns ``None``: nothing is added to the buffer.
    """

    def __init__(self, scale: float):
        self.scale = scale
        self.fairness: list[float] = []  # one value per finished episode, in order
        self.total_return: list[float] = []

    def __call__(self, episode_batch):
        info = episode_batch.info[-1].to_dict()  # the final step's info: returns_before_transfer, ...
        self.fairness.append(episode_fairness(info, self.scale))
        self.total_return.append(float(sum(info["returns_before_transfer"].values())))


def build(n_step=2, gamma=0.9, lr=1e-3, seed=0, transfer=0.5, share_players=True):
    """The multi-agent DQN and a Tianshou env to train it on.

    ``share_players=True``: one DQN serves every player (Tianshou updates it
    on each player's transitions, with that player's reward column; the
    observation carries the role); ``False``: one DQN per player.
    """
    torch.manual_seed(seed)
    env = make_env(transfer=transfer)
    obs_space = env.observation_space["observation"]

    def dqn():
        net = Net(state_shape=obs_space.shape, action_shape=env.action_space.n, hidden_sizes=[32])
        policy = DiscreteQLearningPolicy(
            model=net, action_space=env.action_space, observation_space=obs_space, eps_training=0.2
        )
        return DQN(policy=policy, optim=AdamOptimizerFactory(lr=lr), gamma=gamma,
                   n_step_return_horizon=n_step, target_update_freq=50)

    shared = dqn() if share_players else None
    algorithms = [shared or dqn() for _ in env.agents]
    return MultiAgentOffPolicyAlgorithm(algorithms=algorithms, env=env), env


@contextlib.contextmanager
def training_step(algorithm):
    """``policy_within_training_step`` for the multi-agent policy *and* each player's policy.

    Tianshou 2.0 sets the flag on the policy it is given only; each DQN policy
    reads its own flag to choose ``eps_training`` over ``eps_inference`` (0),
    so with the multi-agent policy alone the collector would never explore.
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(policy_within_training_step(algorithm.policy))
        for policy in algorithm.policy.policies.values():
            stack.enter_context(policy_within_training_step(policy))
        yield


def _params(algorithm) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in algorithm.policy.parameters()])


def greedy_episode(algorithm, seed: int, transfer=0.5) -> dict:
    """One episode of the DQNs' greedy (masked argmax) actions through Tianshou's wrapper; its final info."""
    game = make_env(transfer=transfer)
    obs, info = game.reset(seed=seed)
    done = False
    with torch.no_grad():
        while not done:
            player = algorithm.get_algorithm(obs["agent_id"]).policy
            q = player.model(torch.as_tensor(obs["obs"][None]))[0][0].numpy()
            q[~np.asarray(obs["mask"])] = -np.inf
            obs, _, terminated, truncated, info = game.step(int(np.argmax(q)))
            done = terminated or truncated
    return info


def evaluate(algorithm, episodes=EVAL_EPISODES, seed=EVAL_SEED, transfer=0.5) -> dict:
    """Greedy play on ``episodes`` episodes (seeds ``seed, seed + 1, ...``): mean fairness and total return."""
    scale = make_mediated(transfer=transfer).unwrapped.return_scale
    finals = [greedy_episode(algorithm, seed + k, transfer) for k in range(episodes)]
    return {
        "fairness": float(np.mean([episode_fairness(info, scale) for info in finals])),
        "total_return": float(np.mean([sum(info["returns_before_transfer"].values()) for info in finals])),
    }


def train(iterations=150, steps_per_iteration=100, updates_per_iteration=4, n_step=2, seed=0,
          transfer=0.5, share_players=True, gamma=0.9, lr=1e-3, verbose=False) -> dict:
    """Collect ``steps_per_iteration`` AEC steps, then do ``updates_per_iteration`` DQN updates per player.

    Returns a dict: ``random`` (``random_play``: mean ``fairness`` and
    ``total_return`` of random play, 100 episodes), ``trained`` (the same
    numbers for greedy play, 20 episodes), ``logged`` (what
    :class:`FairnessHook` recorded: ``fairness`` and ``total_return``, one
    value per finished training episode, and ``episodes_per_iteration``),
    ``losses`` (per player, each update's loss), ``param_change`` (L2 norm
    of the weight change), ``algorithm`` and ``buffer`` (Tianshou's own
    objects, for checks), ``returns_before_transfer`` / ``after`` and
    ``fairness`` of one greedy episode, ``return_scale``.
    """
    torch.set_num_threads(1)  # tiny networks: extra threads only contend for the 2 cores
    np.random.seed(seed)  # DQN's epsilon-greedy exploration draws from numpy's global generator
    scale = make_mediated(transfer=transfer).unwrapped.return_scale
    baseline = random_play(make_mediated(transfer=transfer), episodes=100, seed=seed)
    algorithm, env = build(n_step=n_step, gamma=gamma, lr=lr, seed=seed, transfer=transfer,
                           share_players=share_players)
    venv = DummyVectorEnv([lambda: make_env(transfer=transfer)])
    venv.seed(seed)
    buffer = VectorReplayBuffer(iterations * steps_per_iteration, 1)
    hook = FairnessHook(scale)
    collector = Collector(algorithm, venv, buffer, exploration_noise=True, on_episode_done_hook=hook)
    collector.reset()
    start = _params(algorithm)
    losses: dict[str, list[float]] = {agent: [] for agent in env.agents}
    per_iteration = []
    for i in range(iterations):
        with training_step(algorithm):
            stats = collector.collect(n_step=steps_per_iteration)
            per_iteration.append(stats.n_collected_episodes)
            with torch_train_mode(algorithm.policy):
                for _ in range(updates_per_iteration):
                    update = algorithm.update(buffer=buffer, sample_size=64)
                    for key, value in update.get_loss_stats_dict().items():
                        losses[key.split("/")[0]].append(float(value))
        if verbose and i % 10 == 9:
            recent = slice(-sum(per_iteration[-10:]) or None, None)
            print(f"iteration {i + 1:3d}: {len(hook.fairness)} episodes, last 10 iterations: fairness "
                  f"{np.mean(hook.fairness[recent]):.3f}, total return {np.mean(hook.total_return[recent]):.1f}")
    param_change = float(np.linalg.norm(_params(algorithm) - start))

    trained = evaluate(algorithm, transfer=transfer)
    info = greedy_episode(algorithm, seed + 1, transfer)
    before = info["returns_before_transfer"]
    return {
        "random": baseline,
        "trained": trained,
        "logged": {"fairness": hook.fairness, "total_return": hook.total_return,
                   "episodes_per_iteration": per_iteration},
        "losses": losses,
        "param_change": param_change,
        "algorithm": algorithm,
        "buffer": buffer,
        "returns_before_transfer": before,
        "returns_after_transfer": info["returns_after_transfer"],
        "return_scale": scale,
        "fairness": fairness(list(before.values()), scale=scale),
    }


def report(result: dict) -> None:
    """Print random play beside the trained DQNs' greedy evaluation."""
    print(against_random(result["random"], result["trained"], "trained, greedy (20)"))


def main() -> dict:
    result = train(verbose=True)
    report(result)
    return result


if __name__ == "__main__":
    main()
