"""`episode_fairness` and `random_play`: what every library example logs and compares against (no library needed)."""

import pytest

import fairlead
from fairlead.envs.parallel import PhaseParallelEnv
from fairlead.fairness import fairness
from fairlead.integrations import against_random, episode_fairness, policy_play, random_play


def mediated(n=2, selector="catch_up"):
    return fairlead.mediate(fairlead.make("chicken_v0", n_agents=n, max_cycles=5), selector=selector, transfer=0.5)


def test_episode_fairness_reads_the_returns_before_transfer_from_aec_and_parallel_infos():
    aec = mediated()
    env, scale = PhaseParallelEnv(aec), aec.unwrapped.return_scale
    env.reset(seed=3)
    infos = {}
    while env.agents:  # the leader dares, the followers swerve: unequal returns, which the transfer evens out
        _, _, _, _, infos = env.step({a: 0 if a == aec.unwrapped.leader else 1 for a in env.agents})
    before = infos["player_0"]["returns_before_transfer"]
    assert before != infos["player_0"]["returns_after_transfer"]
    expected = fairness(list(before.values()), scale=scale)
    assert episode_fairness(infos, scale) == expected
    assert episode_fairness(infos["player_1"], scale) == expected
    assert episode_fairness(infos, 1.0, metric="jain") == fairness(list(before.values()), "jain")


def test_episode_fairness_refuses_an_info_without_the_returns():
    with pytest.raises(ValueError, match="no 'returns_before_transfer' in the info"):
        episode_fairness({"player_0": {"stage": 1}}, 1.0)


def test_random_play_is_reproducible_and_below_what_fair_leaders_reach():
    a, b = random_play(mediated(), episodes=30, seed=1), random_play(mediated(), episodes=30, seed=1)
    assert a == b and a != random_play(mediated(), episodes=30, seed=2)
    assert 0 < a["fairness"] < 1 and 0 < a["total_return"] < 2 * 5 * 4  # 2 players, 5 stages, at most 4 each
    fixed = random_play(mediated(selector="fixed"), episodes=30, seed=1)
    assert fixed["fairness"] < a["fairness"]  # one leader all game: less fair than catch-up's leaders


def test_policy_play_scores_a_policy_before_transfer_and_refuses_an_illegal_action():
    swerve = policy_play(mediated(), lambda agent, observation: 1, episodes=3)
    assert swerve == {"fairness": 1.0, "total_return": 2 * 5 * 3.0}  # everyone swerves: 3 each, every stage
    with pytest.raises(ValueError, match="chose action 5 for player_0 at stage 0; the legal actions are"):
        policy_play(mediated(), lambda agent, observation: 5, episodes=1)


def test_against_random_prints_random_play_beside_the_trained_result():
    table = against_random(
        {"fairness": 0.8646, "total_return": 40.77}, {"fairness": 0.9, "total_return": 50.0}, "trained, greedy (20)"
    ).splitlines()
    assert table[0].split() == ["fairness", "total", "return"]
    assert table[1].split()[-2:] == ["0.865", "40.8"] and table[1].startswith("random play (100 episodes)")
    assert table[2].split()[-2:] == ["0.900", "50.0"] and table[2].startswith("trained, greedy (20)")
