"""TorchRL PPO on a mediated Chicken (2 players), with fairness logged while it trains.

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

What it shows:

* **fairness during training**, through TorchRL's own logger: every batch the
  collector returns is read at its episode ends (``("next", "done")``); the
  numeric info ``("player", "info", "episode_return")`` there is each
  player's return before the transfer, from which :func:`batch_episodes`
  computes each finished episode's fairness (default metric,
  ``pairwise_equality``) and total return, logged with
  ``torchrl.record.loggers.CSVLogger`` (``<log_dir>/torchrl_chicken/scalars/fairness.csv``,
  one row per episode);
* **the baseline**: ``fairlead.integrations.random_play`` (uniformly random
  legal actions, 100 episodes), printed beside the deterministic evaluation
  of the trained policy over 20 episodes (seeds 1000..1019).

Run (needs ``pip install -e ".[integrations]"``, about 25 s on 2 cores)::

    python examples/torchrl_chicken.py

Measured (seed 0, 30 batches of 400 parallel steps): random play fairness
0.876, total return 41.8; trained 1.000 and 50.0.

``train()`` is the core the integration tests call.
"""

from __future__ import annotations

import tempfile

import numpy as np
import torch
from tensordict.nn import InteractionType, TensorDictModule, set_interaction_type
from torchrl.collectors import Collector
from torchrl.modules import MLP, MaskedCategorical, ProbabilisticActor, ValueOperator
from torchrl.objectives import ClipPPOLoss, ValueEstimators
from torchrl.record.loggers import CSVLogger

import fairlead
from fairlead.fairness import fairness
from fairlead.integrations import against_random, episode_fairness, random_play, torchrl_env

GROUP = "player"
OBS = (GROUP, "observation", "observation")
RETURN = ("next", GROUP, "info", "episode_return")  # each player's return so far, before the transfer
EVAL_EPISODES, EVAL_SEED = 20, 1000


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


def batch_episodes(data, agents, scale: float) -> list[dict]:
    """The episodes that end in a collected batch: ``returns_before_transfer``, ``fairness``, ``total_return``.

    ``torchrl_env`` keeps numeric infos only, so the final info's
    ``returns_before_transfer`` dict does not reach TorchRL; its numeric
    ``episode_return`` at an episode's last step is the same numbers. They
    are put back in the form ``episode_fairness`` reads.
    """
    ends = data["next", "done"].reshape(-1)
    episodes = []
    for returns in data[RETURN].reshape(-1, len(agents))[ends].tolist():
        info = {"returns_before_transfer": dict(zip(agents, returns))}
        episodes.append({**info, "fairness": episode_fairness(info, scale), "total_return": float(sum(returns))})
    return episodes


def evaluate(actor, episodes=EVAL_EPISODES, seed=EVAL_SEED, transfer=0.5) -> dict:
    """Deterministic play (the mode of the masked policy) on ``episodes`` episodes, seeds ``seed, seed + 1, ...``."""
    scale = make_mediated(transfer=transfer).unwrapped.return_scale
    finished = []
    for k in range(episodes):
        game = make_env(transfer=transfer, seed=seed + k)
        with torch.no_grad(), set_interaction_type(InteractionType.DETERMINISTIC):
            episode = game.rollout(max_steps=10_000, policy=actor)  # stops at the end of the episode
        finished += batch_episodes(episode, game.group_map[GROUP], scale)
        game.close()
    return {
        "fairness": float(np.mean([e["fairness"] for e in finished])),
        "total_return": float(np.mean([e["total_return"] for e in finished])),
    }


def train(iterations=30, frames_per_batch=400, seed=0, transfer=0.5, lr=3e-3, log_dir=None,
          verbose=False) -> dict:
    """PPO for ``iterations`` batches of ``frames_per_batch`` parallel steps; return what a test needs.

    ``log_dir``: where ``CSVLogger`` writes (a new temporary folder if
    ``None``). Returns a dict: ``random`` (``random_play``: mean ``fairness``
    and ``total_return`` of random play, 100 episodes), ``trained`` (the
    same numbers for deterministic play, 20 episodes), ``logger`` (the
    ``CSVLogger``; ``logger.experiment.scalars["fairness"]`` holds
    ``(episode, fairness)`` for every finished training episode, as do the
    CSV files under ``log_dir``), ``log_dir``, ``losses`` (total PPO loss of
    each iteration's last minibatch), ``mean_returns`` (per iteration, the
    players' mean episode return before transfer), ``param_change``,
    ``data`` (the last batch as TorchRL collected it),
    ``returns_before_transfer`` / ``after`` and ``fairness`` of one
    deterministic episode, ``return_scale``.
    """
    torch.set_num_threads(1)  # tiny networks: extra threads only contend for the 2 cores
    torch.manual_seed(seed)
    scale = make_mediated(transfer=transfer).unwrapped.return_scale
    baseline = random_play(make_mediated(transfer=transfer), episodes=100, seed=seed)
    log_dir = log_dir or tempfile.mkdtemp(prefix="torchrl_chicken_")
    logger = CSVLogger(exp_name="torchrl_chicken", log_dir=str(log_dir))
    env = make_env(transfer=transfer, seed=seed)
    agents = env.group_map[GROUP]
    actor, critic, loss = build(env)
    optimizer = torch.optim.Adam(loss.parameters(), lr=lr)
    collector = Collector(
        env, actor, frames_per_batch=frames_per_batch, total_frames=iterations * frames_per_batch,
        auto_register_policy_transforms=False,
    )
    start = _params(loss)
    losses, mean_returns, n_episodes = [], [], 0
    for i, data in enumerate(collector):
        finished = batch_episodes(data, agents, scale)
        for episode in finished:  # TorchRL's logger: one row per finished episode
            logger.log_scalar("fairness", episode["fairness"], step=n_episodes)
            logger.log_scalar("total_return", episode["total_return"], step=n_episodes)
            n_episodes += 1
        with torch.no_grad():
            loss.value_estimator(data, params=loss.critic_network_params, target_params=loss.target_critic_network_params)
        flat = data.reshape(-1)
        for _ in range(4):  # epochs
            for index in torch.randperm(flat.numel()).split(100):
                parts = loss(flat[index])
                total = parts["loss_objective"] + parts["loss_critic"] + parts["loss_entropy"]
                optimizer.zero_grad()
                total.backward()
                optimizer.step()
        losses.append(float(total.detach()))
        mean_returns.append(np.mean([list(e["returns_before_transfer"].values()) for e in finished], 0).tolist()
                            if finished else None)
        if verbose:
            print(f"iteration {i:2d}: {len(finished)} episodes, fairness "
                  f"{np.mean([e['fairness'] for e in finished]):.3f}, total return "
                  f"{np.mean([e['total_return'] for e in finished]):.1f}")
    collector.shutdown()

    trained = evaluate(actor, transfer=transfer)
    game = make_env(transfer=transfer, seed=seed + 1)
    with torch.no_grad(), set_interaction_type(InteractionType.DETERMINISTIC):
        episode = game.rollout(max_steps=10_000, policy=actor)  # stops at the end of the episode
    before = dict(zip(agents, episode[RETURN][-1].tolist()))
    after = dict(zip(agents, episode["next", GROUP, "reward"].sum(0).squeeze(-1).tolist()))
    return {
        "random": baseline,
        "trained": trained,
        "logger": logger,
        "log_dir": str(log_dir),
        "losses": losses,
        "mean_returns": mean_returns,
        "param_change": float(np.linalg.norm(_params(loss) - start)),
        "data": data,
        "returns_before_transfer": before,
        "returns_after_transfer": after,
        "return_scale": scale,
        "fairness": fairness(list(before.values()), scale=scale),
    }


def report(result: dict) -> None:
    """Print random play beside the trained policy's deterministic evaluation."""
    print(against_random(result["random"], result["trained"], "trained, deterministic (20)"))
    print(f"fairness of every training episode: {result['log_dir']}/torchrl_chicken/scalars/fairness.csv")


def main() -> dict:
    result = train(verbose=True)
    report(result)
    return result


if __name__ == "__main__":
    main()
