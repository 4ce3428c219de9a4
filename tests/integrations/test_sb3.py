"""SB3 via SuperSuit: examples/sb3_supersuit_chicken.py, short budget.

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

import math

import numpy as np
import pytest

import fairlead
from fairlead.fairness import fairness
from integration_support import load_example, require  # tests/integrations/integration_support.py

pytestmark = pytest.mark.integration
TRANSFER = 0.5
STEPS_PER_EPISODE = 20  # 10 stages, 2 phases each


@pytest.fixture(scope="module")
def run():
    require("stable_baselines3", "torch")
    return load_example("sb3_supersuit_chicken").train(
        iterations=2, episodes_per_rollout=2, copies=2, transfer=TRANSFER, gamma=1.0, gae_lambda=1.0
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
