"""TorchRL: examples/torchrl_chicken.py, with the example's own budget.

Learning: the deterministic policy beats random play
(``fairlead.integrations.random_play``) on the example's evaluation, and
TorchRL's ``CSVLogger`` holds the fairness of every training episode.

Credit assignment: through fairlead's phase-based parallel view, the leader
acts on one parallel step (lead phase, reward 0) and is paid on the next (the
follow phase, where it waits). The check, on a batch TorchRL's collector
recorded: at every lead step the leader's reward is 0 and on the next step it
is the stage payoff (Chicken's payoff of the two recorded actions, plus the
transfer on the last stage); and TorchRL's own GAE (``gamma=1``, ``lmbda=1``,
zero critic) credits that payoff to the leader's lead step.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import fairlead
from fairlead.fairness import fairness
from integration_support import load_example, require  # tests/integrations/integration_support.py

pytestmark = pytest.mark.integration
TRANSFER = 0.5
STEPS_PER_EPISODE = 20  # 10 stages, 2 phases each
ITERATIONS, FRAMES = 30, 400  # the example's defaults (about 25 s on 2 cores)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require("torchrl", "tensordict", "torch")
    return load_example("torchrl_chicken").train(
        iterations=ITERATIONS, frames_per_batch=FRAMES, transfer=TRANSFER, log_dir=tmp_path_factory.mktemp("torchrl")
    )


def test_torchrl_trained(run):
    losses = run["losses"]
    assert len(losses) == ITERATIONS and all(math.isfinite(v) for v in losses)
    assert losses[0] != losses[-1]
    assert run["param_change"] > 0


def test_torchrl_credits_the_leader_its_payoff(run):
    import torch
    from torchrl.objectives.value.functional import generalized_advantage_estimate

    data = run["data"]
    group = "player"
    obs = data[group, "observation", "observation"]  # [T, 2, features], one-hot codes
    actions = data[group, "action"]  # [T, 2]
    rewards = data["next", group, "reward"].squeeze(-1)  # [T, 2]
    done = data["next", group, "done"]
    assert data.batch_size[0] % STEPS_PER_EPISODE == 0 and not done[0].any()  # whole episodes

    # TorchRL's GAE with gamma = lambda = 1 and a zero critic: the return-to-go
    per_agent = lambda x: x.transpose(0, 1)  # noqa: E731  [T, 2, 1] -> [2, T, 1]
    zeros = torch.zeros_like(per_agent(data["next", group, "reward"]))
    advantage, _ = generalized_advantage_estimate(
        1.0, 1.0, zeros, zeros, per_agent(data["next", group, "reward"]), per_agent(done),
        per_agent(data["next", group, "terminated"]), time_dim=-2,
    )
    to_go = advantage.squeeze(-1).transpose(0, 1)  # [T, 2]

    game = fairlead.make("chicken_v0", raw=True)  # its stage_payoff(actions by agent) is the ground truth
    checked = 0
    for start in range(0, data.batch_size[0], STEPS_PER_EPISODE):
        stages = []
        for k in range(STEPS_PER_EPISODE // 2):
            t = start + 2 * k
            leads = (obs[t, :, 0] == 1) & (obs[t, :, 2] == 1)  # role leader, no leader action seen yet
            assert int(leads.sum()) == 1
            leader = int(leads.nonzero()[0, 0])
            follower = 1 - leader
            profile = np.zeros(2, np.int64)
            profile[leader], profile[follower] = int(actions[t, leader]), int(actions[t + 1, follower])
            payoff = float(game.stage_payoff(profile)[leader])
            stages.append((t, leader, payoff))
        final = data["next", group, "info", "episode_return"][start + STEPS_PER_EPISODE - 1]
        transfer = -TRANSFER * (final - final.mean())
        for k, (t, leader, payoff) in enumerate(stages):
            last = k == len(stages) - 1
            expected = payoff + (float(transfer[leader]) if last else 0.0)
            assert float(rewards[t, leader]) == 0.0  # nothing on the leader's own step
            assert float(rewards[t + 1, leader]) == pytest.approx(expected)  # paid on the next one
            credited = float(to_go[t, leader]) - (0.0 if last else float(to_go[t + 2, leader]))
            assert credited == pytest.approx(expected, abs=1e-4)
            checked += 1
    assert checked == data.batch_size[0] // 2


def test_torchrl_fairness_is_measured_before_transfer(run):
    before = run["returns_before_transfer"]
    assert sum(before.values()) == pytest.approx(sum(run["returns_after_transfer"].values()), abs=1e-4)
    assert run["fairness"] == pytest.approx(fairness(list(before.values()), scale=run["return_scale"]))


def test_torchrl_beats_random_play_and_logs_fairness(run):
    trained, random = run["trained"], run["random"]
    # measured (seeds 0-3): random play 0.858-0.877 fairness, 39.3-41.8 total return; the
    # deterministic policy 0.925-1.000 and 50.0-51.0 (1.000 and 50.0 with the example's seed 0)
    assert trained["fairness"] > random["fairness"] or trained["total_return"] > random["total_return"]
    assert trained["fairness"] > random["fairness"] and trained["total_return"] > random["total_return"]

    episodes = ITERATIONS * FRAMES // STEPS_PER_EPISODE  # the collector's batches hold whole episodes
    scalars = run["logger"].experiment.scalars  # TorchRL's CSVLogger: (step, value) per log_scalar call
    assert [step for step, _ in scalars["fairness"]] == list(range(episodes))
    assert all(0.0 <= value <= 1.0 for _, value in scalars["fairness"])
    assert len(scalars["total_return"]) == episodes
    rows = (Path(run["log_dir"]) / "torchrl_chicken" / "scalars" / "fairness.csv").read_text().splitlines()
    assert [float(row.split(",")[1]) for row in rows] == pytest.approx([value for _, value in scalars["fairness"]])
