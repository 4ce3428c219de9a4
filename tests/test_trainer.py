"""The JAM-QL trainer: convergence to the exact Stackelberg answer, mechanisms, switches."""

import numpy as np
import pytest

import fairlead
from conftest import config_id, suite_configs
from fairlead.solver import stackelberg_outcome
from fairlead.trainers.config import HyperParams, TrainingConfig, get_method, load_methods
from fairlead.trainers.jamql import Trainer
from fairlead.trainers.qlearning import QConfig

FAST = HyperParams(
    training=TrainingConfig(episodes=600, eval_episodes=3, log_every=300, curve_episodes=2, checkpoint_every=300),
    agent=QConfig(alpha=0.2, gamma=0.9, epsilon_decay_episodes=400),
    mediator=QConfig(alpha=0.2, gamma=1.0, epsilon_decay_episodes=400),
)


def trained(env, method, seed, episodes=600, **env_kwargs):
    trainer = Trainer(env, env_kwargs, get_method(method), FAST, seed)
    for _ in range(episodes):
        trainer.train_episode()
    return trainer


@pytest.mark.parametrize("env", ["chicken_v0", "prisoners_dilemma_v0", "stag_hunt_v0", "battle_of_sexes_v0"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fixed_leader_learners_reach_the_subgame_perfect_outcome(env, seed):
    """Budget: 600 episodes of 3 stages; every greedy stage must be the solver's outcome."""
    trainer = trained(env, "fixed", seed, max_cycles=3)
    raw = fairlead.make(env, raw=True)
    expected = stackelberg_outcome(raw.payoff_tensor, leader=0)
    result = trainer.evaluate(1)[0]
    assert result.leaders == (0, 0, 0)
    assert result.returns.tolist() == pytest.approx([3 * r for r in expected.rewards])


def test_every_shipped_method_trains_and_reports():
    assert list(load_methods()) == [
        "jamql", "jamql-no-history", "jamql-no-endgame", "jamql-selection-only",
        "fixed", "alternating", "random", "vote", "catch-up",
    ]
    for method in load_methods():
        trainer = trained("chicken_v0", method, seed=0, episodes=5, n_agents=3, max_cycles=4)
        result = trainer.evaluate(1)[0]
        assert len(result.leaders) == 4
        assert result.returns.shape == (3,)


def test_transfer_switch_changes_only_post_transfer_returns():
    on = trained("chicken_v0", "jamql", seed=0, episodes=20).evaluate(2)
    off = trained("chicken_v0", "jamql-no-endgame", seed=0, episodes=20).evaluate(2)
    for r in off:
        assert np.array_equal(r.returns, r.returns_after_transfer)
    moved = [r for r in on if not np.allclose(r.returns, r.returns.mean())]
    assert moved, "need an unequal episode to see the transfer"
    for r in moved:
        assert r.returns_after_transfer.sum() == pytest.approx(r.returns.sum())
        assert np.ptp(r.returns_after_transfer) == pytest.approx(0.5 * np.ptp(r.returns))


def test_history_switch_sets_what_the_mediator_sees():
    with_history = Trainer("chicken_v0", {}, get_method("jamql"), FAST, 0)
    without = Trainer("chicken_v0", {}, get_method("jamql-no-history"), FAST, 0)
    assert without.env.observation_space("mediator")["observation"].shape == (1,)  # the stage only
    assert with_history.env.observation_space("mediator")["observation"].shape[0] > 1


def test_same_seed_same_tables_different_seed_different_play():
    a, b = (trained("chicken_v0", "jamql", seed=4, episodes=50) for _ in range(2))
    for agent in a.learners:
        assert a.learners[agent].q.keys() == b.learners[agent].q.keys()
        assert all(np.array_equal(a.learners[agent].q[k], b.learners[agent].q[k]) for k in a.learners[agent].q)
    c = trained("chicken_v0", "jamql", seed=5, episodes=50)
    assert any(
        not np.array_equal(a.learners["mediator"].q.get(k, 0), c.learners["mediator"].q.get(k, 0))
        for k in a.learners["mediator"].q
    )


def _mean_fairness(env, method, seeds, **env_kwargs):
    from fairlead.trainers.evaluation import HEADLINE, summarise

    values = []
    for seed in seeds:
        trainer = trained(env, method, seed, episodes=600, **env_kwargs)
        values.append(summarise(trainer.evaluate(3), trainer.players, trainer.return_scale)[HEADLINE])
    return float(np.mean(values))


@pytest.mark.parametrize("n_agents", [2, 4])
def test_catch_up_and_jamql_are_fairer_than_a_fixed_leader_in_chicken(n_agents):
    seeds = range(3)
    fixed = _mean_fairness("chicken_v0", "fixed", seeds, n_agents=n_agents, max_cycles=6)
    catch_up = _mean_fairness("chicken_v0", "catch-up", seeds, n_agents=n_agents, max_cycles=6)
    jamql = _mean_fairness("chicken_v0", "jamql", seeds, n_agents=n_agents, max_cycles=6)
    assert catch_up > fixed
    assert jamql > fixed


@pytest.mark.parametrize("config", suite_configs(), ids=config_id)
@pytest.mark.parametrize("method", ["jamql", "vote"])
def test_trainer_runs_on_every_registered_env(config, method):
    name, kwargs = config
    trainer = Trainer(name, {**kwargs, "max_cycles": 3}, get_method(method), FAST, seed=0)
    for _ in range(3):
        trainer.train_episode()
    result = trainer.evaluate(1)[0]
    assert len(result.leaders) == 3
    assert result.returns.shape == (kwargs["n_agents"],)
    assert result.returns.sum() == pytest.approx(result.returns_after_transfer.sum())
