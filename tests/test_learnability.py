"""Can the bundled tabular trainer learn the shipped scenarios? Greedy play against a stated reference.

* Chicken with 3 players against ``stackelberg_outcome(..., tie_break="optimistic")``:
  the followers' tie after the leader dares is broken by weak dominance
  (see ``fairlead.solver``'s module docstring), not by the solver's default.
* Cournot (``cournot-2p``) against the solver's outcome, which has no follower
  ties on that scenario (both tie-breaks agree, asserted), with the
  hyper-parameters the scenario sets in its own ``[agent]`` table
  (``COURNOT_HP``: the shipped defaults with myopic agents); the shipped defaults do not reach it (measured numbers in
  ``benchmarks/learnability.py``'s report).
* Resource collection against the scripted ``fair_resource_policy``.

``benchmarks/learnability.py`` measures the same things over more seeds.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import fairlead
from fairlead.envs import resource_collection_v0 as rc
from fairlead.envs.resource_collection_v0 import fair_resource_policy, scripted_returns, scripted_total_return
from fairlead.solver import stackelberg_outcome
from fairlead.trainers.config import get_method, load_hyperparams
from fairlead.trainers.jamql import Trainer


def train(scenario, env_kwargs, method, hp, seed):
    trainer = Trainer(scenario, env_kwargs, get_method(method), hp, seed)
    for _ in range(hp.training.episodes):
        trainer.train_episode()
    return trainer


def greedy_profiles(trainer, episodes):
    return [
        tuple(stage.actions[p] for p in trainer.players)
        for result in trainer.evaluate(episodes)
        for stage in result.stages
    ]


# ------------------------------------------------------------------ Chicken, 3 players
@pytest.mark.parametrize("seed", [0, 1, *(pytest.param(s, marks=pytest.mark.slow) for s in range(2, 8))])
def test_chicken_3p_fixed_leader_reaches_the_optimistic_outcome(seed):
    """Default hyper-parameters, 3-stage game (the budget of test_trainer's convergence test).

    After the leader dares, swerving weakly dominates daring for each follower, so the learners
    reach (Dare, Chicken, Chicken), the solver's *optimistic* outcome, in every greedy stage; the
    pessimistic tie-break's (Dare, Dare, Chicken) rests on a weakly dominated reply.
    """
    payoffs = fairlead.make("chicken_v0", raw=True, n_agents=3).payoff_tensor
    optimistic = stackelberg_outcome(payoffs, 0, tie_break="optimistic")
    pessimistic = stackelberg_outcome(payoffs, 0, tie_break="pessimistic")
    assert optimistic.actions == (0, 1, 1) and pessimistic.actions == (0, 0, 1)  # the tie matters
    trainer = train("chicken_v0", {"n_agents": 3, "max_cycles": 3}, "fixed", load_hyperparams(), seed)
    assert greedy_profiles(trainer, 2) == [optimistic.actions] * 6


# ------------------------------------------------------------------ Cournot, 2 players
# The shipped defaults with myopic agents (gamma = 0) and no exploration at the end. With the
# defaults (gamma = 0.95, epsilon_end = 0.05) greedy play matches in 0% (this scenario) to 38%
# (a = 12, q_max = 12, no stage feature) of stages over 5 seeds, each seed near 0% or near 100%:
# the bootstrapped values (several stage rewards) swamp the 5-15% payoff differences between
# neighbouring quantities, and each learner locks in on the actions it happened to try most
# (benchmarks/learnability.py stage cournot-2p --seeds 5 [--hp agent.gamma=0.0 agent.epsilon_end=0.0]).
_DEFAULTS = load_hyperparams()
COURNOT_HP = load_hyperparams(scenario="cournot-2p")  # the scenario's own [agent] table: myopic agents


def test_cournot_2p_sets_its_own_hyper_parameters_on_top_of_the_defaults():
    assert COURNOT_HP.agent == replace(_DEFAULTS.agent, gamma=0.0, epsilon_end=0.0)
    assert COURNOT_HP.training == _DEFAULTS.training and COURNOT_HP.mediator == _DEFAULTS.mediator


def cournot_match(seed):
    payoffs = fairlead.make("cournot-2p", raw=True).payoff_tensor
    expected = stackelberg_outcome(payoffs, 0)  # pessimistic; the scenario has no follower ties:
    assert stackelberg_outcome(payoffs, 0, tie_break="optimistic") == expected
    assert expected.actions == (6, 3) and expected.rewards == (21.0, 10.5)
    profiles = greedy_profiles(train("cournot-2p", {}, "fixed", COURNOT_HP, seed), 5)
    return np.mean([p == expected.actions for p in profiles])


def test_cournot_2p_fixed_leader_matches_the_solver_one_seed():
    assert cournot_match(0) >= 0.9


@pytest.mark.slow
def test_cournot_2p_fixed_leader_matches_the_solver_in_90_percent_of_stages():
    """Seeds 0-4 pooled: >= 90% of greedy stages are the solver's (6, 3) (measured: 100%)."""
    assert np.mean([cournot_match(seed) for seed in range(5)]) >= 0.9


# ------------------------------------------------------------------ resource collection
def test_fair_resource_policy_reads_fair_step():
    env = fairlead.make(
        "resource_collection_v0", layout={"agents": [[0, 0], [2, 2]], "fair": [[0, 2]], "unfair": [[2, 0]]}
    )
    env.reset()
    obs = env.observe("player_0")
    assert fair_resource_policy(obs) == rc.MOVES.index("right") == obs["observation"][rc.FAIR_STEP]
    assert fair_resource_policy(obs["observation"]) == 4
    assert fair_resource_policy(env.observe("player_1")) == rc.MOVES.index("up")


@pytest.mark.parametrize("stage_feature", ["index", "last", "none"])
def test_scripted_play_gathers_on_the_fair_resource(stage_feature):
    env = fairlead.make(
        "resource_collection_v0",
        stage_feature=stage_feature,
        layout={"agents": [[0, 0], [2, 2]], "fair": [[0, 2]], "unfair": [[2, 0]]},
    )
    env.reset(seed=0)
    for _agent in env.agent_iter():
        obs, _, terminated, truncated, _ = env.last()
        if terminated or truncated:
            env.step(None)
            continue
        action = fair_resource_policy(obs)
        assert obs["action_mask"][action] or env.unwrapped.phase == "done"
        env.step(action)
        if env.unwrapped.last_stage is not None and env.unwrapped.stage == 2:
            break
    # player_0 goes right twice, player_1 up twice: both on (0, 2) after stage 2, collected
    assert env.unwrapped.last_stage.rewards == {"player_0": 2.0, "player_1": 2.0}


def test_scripted_returns():
    env = fairlead.make("resource-collection-2p")
    returns = scripted_returns(env, episodes=20, seed=3)
    assert returns.shape == (20, 2)
    np.testing.assert_array_equal(
        returns, scripted_returns(fairlead.make("resource-collection-2p"), episodes=20, seed=3)
    )
    assert returns.sum(axis=1).mean() >= 4.0  # at least one fair resource per episode on average
    assert scripted_total_return(env, episodes=20, seed=3) == pytest.approx(returns.sum(axis=1).mean())
    with pytest.raises(ValueError, match="discrete observation"):
        scripted_returns(fairlead.make("resource-collection-2p", obs_encoding="box"), episodes=1)
    with pytest.raises(ValueError, match="episodes must be an integer >= 1"):
        scripted_returns(env, episodes=0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_resource_collection_2p_strong_fixed_leader_reaches_60_percent_of_scripted(seed):
    """Default hyper-parameters, fixed leader: greedy total return >= 60% of the scripted policy's.

    Measured with the scenario's stage_feature = "last" (seeds 0-4): 92-115% of scripted; with the
    stage index 12-42%. The alternating baseline reaches 43-64% with the players' unfair-lead count
    in their observation (trainers/methods/alternating.toml) and 78-110% without it.
    """
    scenario = "resource-collection-2p-strong"
    assert fairlead.make(scenario, raw=True).stage_feature == "last"
    reference = scripted_total_return(fairlead.make(scenario), episodes=500)
    hp = load_hyperparams()
    trainer = train(scenario, {}, "fixed", hp, seed)
    learned = np.mean([r.returns.sum() for r in trainer.evaluate(hp.training.eval_episodes)])
    assert learned >= 0.6 * reference
