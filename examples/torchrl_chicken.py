"""TorchRL PPO on a mediated Chicken (2 players), through fairlead's phase-based parallel view.

``fairlead.integrations.torchrl_env`` gives TorchRL's own ``PettingZooWrapper``
the parallel view of the mediated env (one parallel step per phase: the
leader acts, then the followers; a waiting agent has only action 0 in its
mask, which ``MaskedCategorical`` respects), with infos reduced to numbers,
which ``PettingZooWrapper`` needs. Both players form the TorchRL group
``"player"`` and share one policy and one critic (their observations carry
their role). Credit: a leader's payoff arrives on the next parallel step (the
follow phase, while it waits), so a multi-step estimator (GAE with
``lmbda > 0``, or bootstrapping with ``gamma > 0``) carries it to the leader's
action.

Run (needs ``pip install -e ".[integrations]"``, ~15 s on 2 cores)::

    python examples/torchrl_chicken.py

It prints the fairness (default metric) of a greedy episode's returns before
the transfer. ``train()`` is the core the integration tests call.
"""

from __future__ import annotations

import numpy as np
import torch
from tensordict.nn import InteractionType, TensorDictModule, set_interaction_type
from torchrl.collectors import Collector
from torchrl.modules import MLP, MaskedCategorical, ProbabilisticActor, ValueOperator
from torchrl.objectives import ClipPPOLoss, ValueEstimators

import fairlead
from fairlead.fairness import fairness
from fairlead.integrations import torchrl_env

GROUP = "player"
OBS = (GROUP, "observation", "observation")


def make_mediated(n_agents=2, max_cycles=10, transfer=0.5):
    """The mediated Chicken env (PettingZoo AEC, box observations)."""
    game = fairlead.make("chicken_v0", n_agents=n_agents, max_cycles=max_cycles, obs_encoding="box")
    return fairlead.mediate(game, selector="catch_up", transfer=transfer)


def make_env(transfer=0.5, seed=0):
    """TorchRL env over the parallel view of the mediated Chicken."""
    return torchrl_env(make_mediated(transfer=transfer), seed=seed)


def build(env, gamma=0.95, lmbda=0.95):
    """Masked categorical actor, critic and PPO loss for the group ``"player"``."""
    obs_dim = env.observation_spec[OBS].shape[-1]
    n_actions = env.action_spec[GROUP, "action"].space.n
    logits = TensorDictModule(
        MLP(in_features=obs_dim, out_features=n_actions, num_cells=[32]),
        in_keys=[OBS], out_keys=[(GROUP, "logits")],
    )
    actor = ProbabilisticActor(
        logits,
        in_keys={"logits": (GROUP, "logits"), "mask": (GROUP, "action_mask")},
        out_keys=[(GROUP, "action")],
        distribution_class=MaskedCategorical,
        return_log_prob=True,
        log_prob_key=(GROUP, "action_log_prob"),
    )
    critic = ValueOperator(
        MLP(in_features=obs_dim, out_features=1, num_cells=[32]), in_keys=[OBS], out_keys=[(GROUP, "state_value")]
    )
    loss = ClipPPOLoss(actor_network=actor, critic_network=critic, entropy_coeff=0.01)
    loss.set_keys(
        reward=(GROUP, "reward"), action=(GROUP, "action"), sample_log_prob=(GROUP, "action_log_prob"),
        value=(GROUP, "state_value"), done=(GROUP, "done"), terminated=(GROUP, "terminated"),
    )
    loss.make_value_estimator(ValueEstimators.GAE, gamma=gamma, lmbda=lmbda)
    return actor, critic, loss


def _params(module) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])


def train(iterations=8, frames_per_batch=200, seed=0, transfer=0.5, verbose=False) -> dict:
    """PPO for ``iterations`` batches of ``frames_per_batch`` parallel steps; return what a test needs.

    Returns a dict: ``losses`` (total PPO loss of each iteration's last
    minibatch), ``mean_returns`` (per iteration, the players' mean episode
    return before transfer), ``param_change``, ``data`` (the last batch as
    TorchRL collected it), ``returns_before_transfer`` / ``after`` and
    ``fairness`` of one greedy episode, ``return_scale``, ``n_stages``.
    """
    torch.set_num_threads(1)  # tiny networks: extra threads only contend for the 2 cores
    torch.manual_seed(seed)
    env = make_env(transfer=transfer, seed=seed)
    actor, critic, loss = build(env)
    optimizer = torch.optim.Adam(loss.parameters(), lr=3e-3)
    collector = Collector(
        env, actor, frames_per_batch=frames_per_batch, total_frames=iterations * frames_per_batch,
        auto_register_policy_transforms=False,
    )
    start = _params(loss)
    losses, mean_returns = [], []
    for i, data in enumerate(collector):
        with torch.no_grad():
            loss.value_estimator(data, params=loss.critic_network_params, target_params=loss.target_critic_network_params)
        flat = data.reshape(-1)
        for _ in range(4):  # epochs
            for index in torch.randperm(flat.numel()).split(50):
                parts = loss(flat[index])
                total = parts["loss_objective"] + parts["loss_critic"] + parts["loss_entropy"]
                optimizer.zero_grad()
                total.backward()
                optimizer.step()
        losses.append(float(total.detach()))
        ends = data["next", "done"].squeeze(-1)
        finished = data["next", GROUP, "info", "episode_return"][ends]
        mean_returns.append(finished.mean(0).tolist() if len(finished) else None)
        if verbose:
            print(f"iteration {i}: loss {losses[-1]:.3f}, mean returns before transfer {mean_returns[-1]}")
    collector.shutdown()

    game = make_env(transfer=transfer, seed=seed + 1)
    with torch.no_grad(), set_interaction_type(InteractionType.DETERMINISTIC):
        episode = game.rollout(max_steps=10_000, policy=actor)  # stops at the end of the episode
    agents = game.group_map[GROUP]
    before = dict(zip(agents, episode["next", GROUP, "info", "episode_return"][-1].tolist()))
    after = dict(zip(agents, episode["next", GROUP, "reward"].sum(0).squeeze(-1).tolist()))
    scale = make_mediated(transfer=transfer).unwrapped.return_scale
    return {
        "losses": losses,
        "mean_returns": mean_returns,
        "param_change": float(np.linalg.norm(_params(loss) - start)),
        "data": data,
        "returns_before_transfer": before,
        "returns_after_transfer": after,
        "return_scale": scale,
        "fairness": fairness(list(before.values()), scale=scale),
    }


def main() -> dict:
    result = train(verbose=True)
    print("greedy episode, returns before transfer:", result["returns_before_transfer"])
    print("greedy episode, returns after transfer: ", result["returns_after_transfer"])
    print(f"fairness (pairwise_equality, before transfer): {result['fairness']:.3f}")
    return result


if __name__ == "__main__":
    main()
