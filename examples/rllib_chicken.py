"""RLlib PPO on a mediated Chicken (2 players), with fairness logged while it trains.

The mediator picks each stage's leader with the hand-written ``catch_up``
rule (the player furthest behind leads) and applies an end-game zero-sum
transfer of strength 0.5. The players share one PPO policy (RLlib's new API
stack; their observations carry their role), trained through RLlib's own
PettingZoo AEC wrapper; ``fairlead.integrations.rllib_env`` only renames the
observation key to RLlib's masking convention so ``ActionMaskingTorchRLModule``
applies the mask. ``share_players=False`` gives each player its own policy
(see ``docs/libraries/rllib.md`` for what that learns).

What it shows:

* **fairness during training**, through RLlib's own hook: the callback
  :class:`FairnessCallback` (``on_episode_end``) logs each finished
  episode's fairness (default metric, ``pairwise_equality``, before the
  transfer) and total return (before transfer) with the env runner's
  ``metrics_logger``, so they appear in every ``algo.train()`` result under
  ``result["env_runners"]``: ``"fairness"`` and ``"total_return"`` (the
  iteration's means) and ``"fairness_per_episode"`` (one value per episode);
* **the baseline**: ``fairlead.integrations.random_play`` (uniformly random
  legal actions, 100 episodes), printed beside the greedy evaluation of the
  trained policy over 20 episodes (seeds 1000..1019).

Run (needs ``pip install -e ".[integrations]"``, about 35 s on 2 cores)::

    python examples/rllib_chicken.py

Measured (seed 0, 40 iterations of 400 AEC steps): random play fairness
0.876, total return 41.8; trained 0.925 and 51.0 to 53.0 (RLlib's runs vary
with ``PYTHONHASHSEED``). ``train()`` is the core the
integration tests call; ``mediator_as_agent=True`` trains the mediator as
an RLlib policy of its own instead (see ``examples/rllib_mediator_agent.py``).
"""

from __future__ import annotations

import functools

import numpy as np
import ray
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule
from ray.tune.registry import register_env

import fairlead
from fairlead.fairness import fairness
from fairlead.integrations import against_random, episode_fairness, policy_play, random_play, rllib_env
from fairlead.mediation import MEDIATOR

ENV_NAME = "fairlead_mediated_chicken"
PLAYERS = "player"  # the players' shared policy
EVAL_EPISODES, EVAL_SEED = 20, 1000


def make_env(n_agents=2, max_cycles=10, mediator_as_agent=False, transfer=0.5, selector="catch_up"):
    """The mediated Chicken env (AEC, box observations for neural networks)."""
    game = fairlead.make("chicken_v0", n_agents=n_agents, max_cycles=max_cycles, obs_encoding="box")
    if mediator_as_agent:  # the "mediator" agent's action picks the leader; RLlib trains it
        return fairlead.mediate(game, mediator_as_agent=True, transfer=transfer)
    return fairlead.mediate(game, selector=selector, transfer=transfer)


class FairnessCallback(RLlibCallback):
    """Logs every finished episode's fairness and total return (before transfer) to RLlib's metrics."""

    def on_episode_end(self, *, episode, env, env_index, metrics_logger, **kwargs):
        # env: the env runner's vector env; each sub-env is RLlib's PettingZooEnv over the mediated env
        scale = env.envs[env_index].unwrapped.env.unwrapped.return_scale
        infos = {agent: single.get_infos(-1) for agent, single in episode.agent_episodes.items()}
        fair = episode_fairness(infos, scale)  # finds the final info that holds returns_before_transfer
        final = next(info for info in infos.values() if "returns_before_transfer" in info)
        total = sum(final["returns_before_transfer"].values())
        metrics_logger.log_value("fairness", fair, reduce="mean")  # the iteration's mean
        metrics_logger.log_value("total_return", total, reduce="mean")
        metrics_logger.log_value("fairness_per_episode", fair, reduce="item_series")  # every episode's value


def policy_of(agent: str, share_players: bool) -> str:
    """The policy that plays ``agent``: ``"player"`` for every player if they share one, else its own."""
    return PLAYERS if share_players and agent != MEDIATOR else agent


def _mapping(agent_id, *args, share_players=True, **kwargs):
    return policy_of(agent_id, share_players)


def _episode_record(episode) -> dict:
    """What RLlib recorded for each agent of one ``MultiAgentEpisode``."""
    record = {}
    for agent, single in episode.agent_episodes.items():
        record[agent] = {
            "actions": [int(a) for a in single.get_actions()],
            "rewards": [float(r) for r in single.get_rewards()],
            "infos": list(single.get_infos()),  # infos[t] came with the observation before action t
        }
    return record


def _params(algo, policies) -> dict[str, np.ndarray]:
    return {
        p: np.concatenate([t.detach().cpu().numpy().ravel() for t in algo.get_module(p).parameters()])
        for p in policies
    }


def evaluate(algo, env_kwargs: dict, share_players=True, episodes=EVAL_EPISODES, seed=EVAL_SEED) -> dict:
    """Greedy play of the trained modules on ``episodes`` episodes (seeds ``seed, seed + 1, ...``).

    Returns the mean ``fairness`` and ``total_return`` before transfer, the
    numbers ``random_play`` gives for random play.
    """
    env = make_env(**env_kwargs)
    modules = {agent: algo.get_module(policy_of(agent, share_players)) for agent in env.possible_agents}

    def greedy(agent, observation):
        batch = {"obs": {
            "observations": torch.as_tensor(observation["observation"][None], dtype=torch.float32),
            "action_mask": torch.as_tensor(observation["action_mask"][None], dtype=torch.float32),
        }}
        with torch.no_grad():
            return int(torch.argmax(modules[agent].forward_inference(batch)["action_dist_inputs"][0]))

    return policy_play(env, greedy, episodes, seed)


def train(iterations=40, batch_size=400, seed=0, mediator_as_agent=False, transfer=0.5, lr=3e-3,
          share_players=True, verbose=False, **env_kwargs) -> dict:
    """Train PPO for ``iterations`` (``batch_size`` env steps each); return what a test needs.

    ``env_kwargs`` go to :func:`make_env` (``n_agents``, ``max_cycles``, ``selector``).
    Policies: ``"player"`` (shared by the players) or, with
    ``share_players=False``, one per player; plus ``"mediator"`` with
    ``mediator_as_agent=True``.

    Returns a dict: ``random`` (``random_play``: mean ``fairness`` and
    ``total_return`` of random play, 100 episodes) and ``trained`` (the same
    numbers for greedy play of the trained policies, 20 episodes), ``logged``
    (what :class:`FairnessCallback` logged, as RLlib reported it each
    iteration: ``fairness`` and ``total_return`` (iteration means),
    ``fairness_per_episode`` (one list per iteration) and ``num_episodes``),
    ``losses`` (per policy, the learner's total loss each iteration),
    ``agent_returns`` (per iteration, RLlib's mean episode return per agent),
    ``param_change`` (per policy, L2 norm of the weight change), ``episodes``
    (two exploring episodes as RLlib recorded them: per agent ``actions``,
    ``rewards``, ``infos``), ``greedy`` (one greedy episode, same form),
    ``returns_before_transfer``, ``returns_after_transfer`` and ``fairness``
    of that greedy episode, and ``return_scale``.
    """
    env_kwargs = {"mediator_as_agent": mediator_as_agent, "transfer": transfer, **env_kwargs}
    register_env(ENV_NAME, lambda config: rllib_env(make_env(**config)))
    probe = make_env(**env_kwargs)
    policies = sorted({policy_of(a, share_players) for a in probe.possible_agents})
    baseline = random_play(make_env(**env_kwargs), episodes=100, seed=seed)

    torch.set_num_threads(1)  # tiny networks: extra threads only contend for the 2 cores
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    config = (
        PPOConfig()
        .environment(ENV_NAME, env_config=env_kwargs)
        .env_runners(num_env_runners=0)  # sample in this process: no extra workers for a tiny env
        .learners(num_learners=0)
        .callbacks(FairnessCallback)
        .multi_agent(policies=set(policies), policy_mapping_fn=functools.partial(_mapping, share_players=share_players))
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={
                    p: RLModuleSpec(
                        module_class=ActionMaskingTorchRLModule,
                        model_config={"head_fcnet_hiddens": [32], "fcnet_hiddens": [32]},
                    )
                    for p in policies
                }
            )
        )
        .training(
            train_batch_size_per_learner=batch_size,
            minibatch_size=min(100, batch_size),
            num_epochs=4,
            lr=lr,
            gamma=0.95,
        )
        .debugging(seed=seed)
    )
    algo = config.build_algo()
    try:
        before = _params(algo, policies)
        losses = {p: [] for p in policies}
        agent_returns = []
        logged = {"fairness": [], "total_return": [], "fairness_per_episode": [], "num_episodes": []}
        for i in range(iterations):
            result = algo.train()
            for p in policies:
                losses[p].append(float(result["learners"][p]["total_loss"]))
            runners = result["env_runners"]
            agent_returns.append({a: float(v) for a, v in runners.get("agent_episode_returns_mean", {}).items()})
            logged["fairness"].append(float(runners.get("fairness", np.nan)))
            logged["total_return"].append(float(runners.get("total_return", np.nan)))
            logged["fairness_per_episode"].append([float(v) for v in runners.get("fairness_per_episode", [])])
            logged["num_episodes"].append(int(runners.get("num_episodes", 0)))
            if verbose:
                print(f"iteration {i:2d}: {logged['num_episodes'][-1]} episodes, fairness "
                      f"{logged['fairness'][-1]:.3f}, total return {logged['total_return'][-1]:.1f}")
        after = _params(algo, policies)
        trained = evaluate(algo, env_kwargs, share_players)
        episodes = [_episode_record(e) for e in algo.env_runner.sample(num_episodes=2, explore=True)]
        greedy = _episode_record(algo.env_runner.sample(num_episodes=1, explore=False)[0])
    finally:
        algo.stop()
        ray.shutdown()

    final_info = greedy[probe.possible_agents[0]]["infos"][-1]
    before_transfer = final_info["returns_before_transfer"]
    return {
        "random": baseline,
        "trained": trained,
        "logged": logged,
        "losses": losses,
        "agent_returns": agent_returns,
        "param_change": {p: float(np.linalg.norm(after[p] - before[p])) for p in policies},
        "episodes": episodes,
        "greedy": greedy,
        "returns_before_transfer": before_transfer,
        "returns_after_transfer": final_info["returns_after_transfer"],
        "return_scale": probe.unwrapped.return_scale,
        "fairness": fairness(list(before_transfer.values()), scale=probe.unwrapped.return_scale),
    }


def report(result: dict) -> None:
    """Print random play beside the trained policies' greedy evaluation."""
    print(against_random(result["random"], result["trained"], "trained, greedy (20)"))


def main() -> dict:
    result = train(verbose=True)
    report(result)
    return result


if __name__ == "__main__":
    main()
