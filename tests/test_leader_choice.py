"""One owner of the leader choice, the parallel views' boundaries, and selectors as plain objects."""

import numpy as np
import pytest
from pettingzoo.utils.conversions import aec_to_parallel

import fairlead
from fairlead.envs import chicken_v0
from fairlead.envs.parallel import PhaseParallelEnv
from fairlead.mediation import mediate


class LastPlayer:
    """A selector with the two documented methods and nothing else (no vote_phase, no base class)."""

    def reset(self, agents, rng):
        pass

    def select(self, view):
        return view.agents[-1]


def leaders(env, seed=0):
    env.reset(seed=seed)
    for _agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        env.step(None if term or trunc else int(np.flatnonzero(obs["action_mask"])[0]))
    return [r.leader for r in env.unwrapped.stage_records]


def test_a_selector_without_vote_phase_works_in_the_mediator_and_the_env():
    assert not hasattr(LastPlayer(), "vote_phase")
    assert leaders(mediate(fairlead.make("chicken_v0", n_agents=3, max_cycles=3), LastPlayer())) == ["player_2"] * 3
    assert leaders(fairlead.make("chicken_v0", n_agents=3, max_cycles=3, leader=LastPlayer())) == ["player_2"] * 3


def test_the_mediator_owns_the_choice_of_the_env_it_wraps():
    base = fairlead.make("chicken_v0", n_agents=3, max_cycles=4, leader="player_2")
    med = mediate(base, "round_robin")
    assert base.unwrapped.leader_selector is None  # the env's own rule is never run, so never overridden
    assert leaders(med) == ["player_0", "player_1", "player_2", "player_0"]
    assert med.unwrapped.stage_records == base.unwrapped.stage_records


def test_an_env_leader_rule_and_the_same_selector_in_the_mediator_agree():
    for rule in ("round_robin", "catch_up", "random"):
        plain = fairlead.make("prisoners_dilemma_v0", n_agents=3, max_cycles=7, leader=rule)
        mediated = mediate(fairlead.make("prisoners_dilemma_v0", n_agents=3, max_cycles=7), rule)
        if rule == "random":  # each draws from its own seeded generator: only the law is shared
            assert leaders(plain, seed=3) == leaders(plain, seed=3)
            continue
        assert leaders(plain) == leaders(mediated)


def test_aec_to_parallel_is_refused_since_followers_must_see_the_leader():
    env = fairlead.make("chicken_v0")
    assert env.metadata["is_parallelizable"] is False
    with pytest.raises(AssertionError, match="not generally safe"):
        aec_to_parallel(env)


@pytest.mark.parametrize(
    "make",
    [
        lambda: chicken_v0.parallel_env(n_agents=2, max_cycles=2),
        lambda: PhaseParallelEnv(mediate(fairlead.make("chicken_v0", max_cycles=2), "vote")),
    ],
)
def test_parallel_step_refuses_actions_for_unknown_agents(make):
    env = make()
    observations, _ = env.reset(seed=0)
    before = {a: o["observation"].copy() for a, o in observations.items()}
    actions = {a: 0 for a in env.agents}
    with pytest.raises(ValueError, match=r"actions given for \['player_9'\], which are not live agents"):
        env.step({**actions, "player_9": 0})
    after = {a: o["observation"] for a, o in env._observations().items()}
    assert all(np.array_equal(before[a], after[a]) for a in before)  # nothing was applied
    env.step(actions)  # the corrected step goes through
