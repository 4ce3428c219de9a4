"""SB3 via SuperSuit: examples/sb3_supersuit_chicken.py, a short run for the checks and the example's own budget.

Learning: with the example's budget the deterministic shared policy beats
random play (``fairlead.integrations.random_play``), and the example's
``FairnessCallback`` (``BaseCallback._on_step``) recorded the fairness of
every training episode and passed it to SB3's logger (``progress.csv``).

Credit assignment: as with TorchRL, the phase-based parallel view pays the
leader one vector step after its action (the follow phase, where it waits).
The check runs the example with ``gamma = gae_lambda = 1``, so SB3's own
``returns`` in the rollout buffer are the plain return-to-go (rollouts end at
episode ends), and verifies on the last rollout SB3 recorded: at every lead
step the leader's reward is 0, on the next step it is the stage payoff
(Chicken's payoff of the two recorded actions, plus the transfer on the last
stage), and SB3's return at the lead step includes that payoff.
"""

from __future__ import annotations

import csv
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
ITERATIONS, EPISODES_PER_ROLLOUT, COPIES = 40, 5, 2  # the example's defaults (about 5 s on 2 cores)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require("stable_baselines3", "torch")
    return load_example("sb3_supersuit_chicken").train(
        iterations=2, episodes_per_rollout=2, copies=2, transfer=TRANSFER, gamma=1.0, gae_lambda=1.0,
        log_dir=tmp_path_factory.mktemp("sb3_short"),
    )


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    require("stable_baselines3", "torch")
    return load_example("sb3_supersuit_chicken").train(
        iterations=ITERATIONS, episodes_per_rollout=EPISODES_PER_ROLLOUT, copies=COPIES, transfer=TRANSFER,
        log_dir=tmp_path_factory.mktemp("sb3"),
    )


def test_sb3_trained(run):
    losses = run["losses"]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert losses[0] != losses[1]
    assert run["param_change"] > 0


def test_sb3_credits_the_leader_its_payoff(run):
    buffer = run["model"].rollout_buffer
    rewards = buffer.rewards  # [n_steps, n_slots]
    n_steps, n_slots = rewards.shape

    def by_step(array):  # after training SB3 keeps these flattened slot by slot
        if array.shape[0] == n_steps * n_slots:
            array = array.reshape(n_slots, n_steps, *array.shape[1:]).swapaxes(0, 1)
        return array

    obs, returns = by_step(buffer.observations), by_step(buffer.returns)
    actions = by_step(buffer.actions)[..., 0].astype(int)
    assert n_steps % STEPS_PER_EPISODE == 0 and n_slots == len(run["slots"]) == 4
    game = fairlead.make("chicken_v0", raw=True)  # its stage_payoff(actions by agent) is the ground truth
    checked = 0
    for copy in range(n_slots // 2):
        slots = (2 * copy, 2 * copy + 1)  # player_0, player_1 of one copy of the game
        for start in range(0, n_steps, STEPS_PER_EPISODE):
            stages = []
            for t in range(start, start + STEPS_PER_EPISODE, 2):
                leads = [s for s in slots if obs[t, s, 0] == 1 and obs[t, s, 2] == 1]  # leader, nothing seen yet
                assert len(leads) == 1
                leader = leads[0]
                follower = slots[1] if leader == slots[0] else slots[0]
                profile = np.zeros(2, np.int64)
                profile[leader - slots[0]] = actions[t, leader]
                profile[follower - slots[0]] = actions[t + 1, follower]
                stages.append((t, leader, game.stage_payoff(profile)))
            totals = sum(payoffs for _, _, payoffs in stages)  # the game's own returns, by player
            transfer = -TRANSFER * (totals - totals.mean())
            for k, (t, leader, payoffs) in enumerate(stages):
                last = k == len(stages) - 1
                expected = payoffs[leader - slots[0]] + (transfer[leader - slots[0]] if last else 0.0)
                assert rewards[t, leader] == 0.0  # nothing on the leader's own step
                assert rewards[t + 1, leader] == pytest.approx(expected)  # paid on the next step
                credited = returns[t, leader] - (0.0 if last else returns[t + 2, leader])
                assert credited == pytest.approx(expected, abs=1e-4)  # SB3's return carries it back
                checked += 1
    assert checked == n_steps * n_slots // 4


def test_sb3_fairness_is_measured_before_transfer(run):
    before = run["returns_before_transfer"]
    assert sum(before.values()) == pytest.approx(sum(run["returns_after_transfer"].values()))
    assert run["fairness"] == pytest.approx(fairness(list(before.values()), scale=run["return_scale"]))


def test_sb3_beats_random_play_and_logs_fairness(full_run):
    trained, random = full_run["trained"], full_run["random"]
    # measured (seeds 0-3): random play 0.858-0.877 fairness, 39.3-41.8 total return; the
    # deterministic policy 0.925-1.000 and 50.0-57.0 (1.000 and 50.0 with the example's seed 0)
    assert trained["fairness"] > random["fairness"] or trained["total_return"] > random["total_return"]
    assert trained["fairness"] > random["fairness"] and trained["total_return"] > random["total_return"]

    callback = full_run["callback"]  # FairnessCallback: one value per finished training episode
    episodes = ITERATIONS * EPISODES_PER_ROLLOUT * COPIES
    assert len(callback.fairness) == len(callback.total_return) == episodes
    assert all(0.0 <= v <= 1.0 for v in callback.fairness)
    # SB3's logger wrote each rollout's mean to progress.csv (one row per rollout)
    with open(Path(full_run["log_dir"]) / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == ITERATIONS
    per_rollout = np.reshape(callback.fairness, (ITERATIONS, EPISODES_PER_ROLLOUT * COPIES)).mean(1)
    assert [float(row["rollout/fairness"]) for row in rows] == pytest.approx(per_rollout.tolist())
