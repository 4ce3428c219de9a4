"""Behaviour of the mediator: selectors, observation, transfer, bookkeeping, mediator agent, bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import suite_configs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fairlead
from fairlead.fairness import DEFAULT_METRIC, fairness
from fairlead.mediation import (
    HISTORY_FEATURES,
    MEDIATOR,
    MediatorView,
    Selector,
    mean_deviation,
    mediate,
)

DARE, CHICKEN = 0, 1  # chicken_v0 actions; payoff DD 0, DC 4, CD 1, CC 3


def chicken(n=2, max_cycles=5, **kwargs):
    return fairlead.make("chicken_v0", n_agents=n, max_cycles=max_cycles, **kwargs)


def run_episode(env, seed=0, choose=None):
    """Play one episode; ``choose(env, agent, obs)`` or a seeded random legal action.

    Returns the per-agent sum of ``last()`` rewards, the terminal infos, the
    leader of every stage, the returns when each leader was chosen, and the
    env's own reward sums (from ``info["last_stage"]``).
    """
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    totals = dict.fromkeys(env.possible_agents, 0.0)
    final, leaders, returns_at_choice = {}, {}, {}
    own = dict.fromkeys(env.unwrapped.players, 0.0)
    seen_stage = None
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        totals[agent] += reward
        if terminated or truncated:
            final[agent] = info
            env.step(None)
            continue
        if env.phase == "lead" and env.stage not in leaders:
            leaders[env.stage] = env.leader
            returns_at_choice[env.stage] = env.episode_returns
        if choose is None:
            action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        else:
            action = choose(env, agent, obs)
        env.step(action)
        record = env.unwrapped.last_stage
        if record is not None and record.stage != seen_stage:
            seen_stage = record.stage
            for p, r in record.rewards.items():
                own[p] += r
    return totals, final, [leaders[s] for s in sorted(leaders)], returns_at_choice, own


# ------------------------------------------------------------------ selectors
@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("stages", [1, 5, 7])
def test_round_robin_shares(n, stages):
    _, _, leaders, _, _ = run_episode(mediate(chicken(n, stages), "round_robin"))
    assert leaders == [f"player_{s % n}" for s in range(stages)]
    counts = [leaders.count(f"player_{i}") for i in range(n)]
    assert set(counts) <= {stages // n, math.ceil(stages / n)} and sum(counts) == stages


def test_round_robin_is_the_default():
    env = mediate(chicken(3, 4))
    assert run_episode(env)[2] == ["player_0", "player_1", "player_2", "player_0"]


@pytest.mark.parametrize("kwargs, leader", [({}, "player_0"), ({"leader": "player_2"}, "player_2")])
def test_fixed_never_changes(kwargs, leader):
    for seed in range(3):
        _, _, leaders, _, _ = run_episode(mediate(chicken(3, 6), "fixed", **kwargs), seed=seed)
        assert leaders == [leader] * 6


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(suite_configs()), st.integers(0, 2**16))
def test_catch_up_picks_a_lowest_return_agent(config, seed):
    name, kwargs = config
    env = mediate(fairlead.make(name, **{**kwargs, "max_cycles": 6}), "catch_up")
    _, _, leaders, returns_at_choice, _ = run_episode(env, seed=seed)
    for stage, leader in enumerate(leaders):
        returns = returns_at_choice[stage]
        lowest = min(returns.values())
        assert returns[leader] == lowest
        # ties go to the lowest index
        assert leader == next(p for p in env.players if returns[p] == lowest)


def test_random_is_seeded_and_reproducible():
    def leaders(env, seed):
        return run_episode(env, seed=seed)[2]

    a, b = mediate(chicken(3, 30), "random", seed=1), mediate(chicken(3, 30), "random", seed=2)
    assert leaders(a, 7) == leaders(b, 7)  # the reset seed wins over seed=
    assert leaders(a, 7) != leaders(a, 8)
    assert set(leaders(a, 7)) == {"player_0", "player_1", "player_2"}

    def unseeded_episodes(seed):
        """Leaders of two consecutive episodes reset without a seed."""
        env = mediate(chicken(3, 30), "random", seed=seed)
        episodes = []
        for _ in range(2):
            env.reset()
            leaders = []
            for _agent in env.agent_iter():
                obs, _, term, trunc, _ = env.last()
                if env.phase == "lead" and len(leaders) == env.stage:
                    leaders.append(env.leader)
                env.step(None if term or trunc else int(np.flatnonzero(obs["action_mask"])[0]))
            assert len(leaders) == 30
            episodes.append(leaders)
        return episodes

    first, second = unseeded_episodes(5)
    assert first != second  # the stream continues across unseeded resets
    assert unseeded_episodes(5) == [first, second]  # seed= seeds reset() without a seed
    assert unseeded_episodes(6) != [first, second]


def vote_script(votes_per_stage):
    """choose(): the given votes (agent indices) in the vote phase, action 0 in play."""

    def choose(env, agent, obs):
        if env.phase == "vote":
            return votes_per_stage[env.stage][env.players.index(agent)]
        return int(np.flatnonzero(obs["action_mask"])[0])

    return choose


def test_vote_elects_the_plurality_choice():
    votes = [[2, 2, 1, 0], [3, 1, 1, 0], [0, 0, 0, 0]]
    env = mediate(chicken(4, 3), "vote")
    _, final, leaders, _, _ = run_episode(env, choose=vote_script(votes))
    assert leaders == ["player_2", "player_1", "player_0"]
    assert final["player_0"]["votes"] == {f"player_{i}": "player_0" for i in range(4)}


def test_vote_ties_are_broken_by_the_seeded_rng():
    votes = [[1, 1, 3, 3]] * 12
    winners = []
    for seed in range(20):
        env = mediate(chicken(4, 12), "vote")
        leaders = run_episode(env, seed=seed, choose=vote_script(votes))[2]
        again = run_episode(mediate(chicken(4, 12), "vote"), seed=seed, choose=vote_script(votes))[2]
        assert leaders == again
        winners += leaders
    assert set(winners) == {"player_1", "player_3"}


def test_vote_phase_spaces_and_observations():
    env = mediate(chicken(4, 2), "vote")  # k = 2 actions, n = 4 candidates
    assert env.action_space("player_0").n == 4
    base_nvec = chicken(4, 2).observation_space("player_0")["observation"].nvec
    assert list(env.observation_space("player_0")["observation"].nvec) == [*base_nvec, 2]
    env.reset(seed=0)
    assert env.phase == "vote" and env.acting_agents == env.players and env.leader is None
    obs = env.observe("player_2")
    assert obs["observation"][-1] == 1 and obs["action_mask"].tolist() == [1, 1, 1, 1]
    for agent in env.players:
        assert env.agent_selection == agent and env.infos[agent]["votes"] == {}
        env.step(3)
        assert env.rewards == dict.fromkeys(env.agents, 0.0)
    assert env.phase == "lead" and env.leader == "player_3" and env.agent_selection == "player_3"
    obs = env.observe("player_3")
    assert obs["observation"][-1] == 0 and obs["action_mask"].tolist() == [1, 1, 0, 0]
    with pytest.raises(ValueError, match="masked now"):
        env.step(2)
    box = mediate(chicken(4, 2, obs_encoding="box"), "vote")
    box.reset(seed=0)
    assert box.observe("player_0")["observation"][-2:].tolist() == [0.0, 1.0]


def test_vote_for_a_non_agent_is_a_clear_error():
    env = mediate(fairlead.make("cournot_v0", max_cycles=2), "vote")  # 13 quantities, 2 voters
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"player_0's vote 5 is not an agent; valid choices are 0\.\.1"):
        env.step(5)
    with pytest.raises(TypeError, match="vote must be an agent index"):
        env.step("player_1")
    env.step(1)  # the failed votes changed nothing
    assert env.agent_selection == "player_1"


def test_learned_selector_uses_the_policy_on_the_mediator_observation():
    seen = []

    def policy(observation):
        seen.append(observation.copy())
        return 1 if observation[0] % 2 else "player_0"  # an index or a name

    env = mediate(chicken(2, 4), "learned", history=("leaders",), policy=policy)
    leaders = run_episode(env)[2]
    assert leaders == ["player_0", "player_1", "player_0", "player_1"]
    assert [obs.tolist() for obs in seen] == [[0, 0, 0], [1, 1, 0], [2, 1, 1], [3, 2, 1]]


def greedy_table_policy(env, seed):
    """A greedy tabular mediator: seeded random values for every state of the discrete observation."""
    rng = np.random.default_rng(seed)
    nvec = env.mediator_observation.nvec
    table = {state: rng.random(len(env.players)) for state in itertools.product(*map(range, nvec))}
    seen = []

    def policy(observation):
        seen.append(tuple(observation.tolist()))
        return int(np.argmax(table[seen[-1]]))

    return policy, seen


def test_learned_selector_deploys_a_policy_trained_as_the_mediator_agent():
    """The same greedy table picks the same leaders as the mediator agent and through selector="learned"."""

    def make(**mode):
        return mediate(chicken(3, 6), transfer=0.5, **mode)

    def players_act(env, agent, obs):  # deterministic play, so only the leader choice can differ
        legal = np.flatnonzero(obs["action_mask"])
        return int(legal[int(obs["observation"].sum()) % len(legal)])

    every_leader = set()
    for seed in range(4):
        as_agent = make(mediator_as_agent=True)
        agent_policy, agent_seen = greedy_table_policy(as_agent, seed)

        def choose(env, agent, obs, agent_policy=agent_policy):
            return agent_policy(obs["observation"]) if agent == MEDIATOR else players_act(env, agent, obs)

        _, agent_final, agent_leaders, _, _ = run_episode(as_agent, seed=seed, choose=choose)
        learned_policy, learned_seen = greedy_table_policy(as_agent, seed)
        deployed = make(selector="learned", policy=learned_policy)
        _, final, leaders, _, _ = run_episode(deployed, seed=seed, choose=players_act)
        assert leaders == agent_leaders and learned_seen == agent_seen
        before = "returns_before_transfer"
        assert final["player_0"][before] == agent_final["player_0"][before]  # the same game was played
        every_leader.update(leaders)
    assert every_leader == {"player_0", "player_1", "player_2"}  # the policies really choose


class Recorder(Selector):
    def __init__(self):
        self.views, self.resets = [], 0

    def reset(self, agents, rng):
        self.resets += 1
        self.agents = agents

    def select(self, view):
        self.views.append(view)
        return self.agents[-1]


def test_user_selector_and_callable():
    recorder = Recorder()
    env = mediate(chicken(3, 3), recorder, history=("returns",))
    assert recorder.resets == 1  # validated when built
    _, _, leaders, returns_at_choice, _ = run_episode(env)
    assert leaders == ["player_2"] * 3 and recorder.resets == 2
    last = recorder.views[-1]
    assert isinstance(last, MediatorView) and last.stage == 2
    assert last.agents == ("player_0", "player_1", "player_2")
    assert last.leaders == ("player_2", "player_2") and len(last.leader_fair) == 2
    assert isinstance(last.rng, np.random.Generator) and last.votes is None
    assert last.observation.dtype == np.int64 and last.observation[0] == 2
    assert last.returns == returns_at_choice[2]

    env = mediate(chicken(3, 3), lambda view: view.agents[view.stage % 2])
    assert run_episode(env)[2] == ["player_0", "player_1", "player_0"]


@pytest.mark.parametrize("bad", ["nobody", 0, None])
def test_selector_returning_a_non_agent(bad):
    env = mediate(chicken(2, 2), lambda view: bad)
    valid = r"valid agents: \['player_0', 'player_1'\]"
    with pytest.raises(ValueError, match=r"returned .* which is not an agent; " + valid):
        env.reset()


@pytest.mark.parametrize("bad, match", [(2, "index 2"), (-1, "index -1"), ("player_7", "not an agent")])
def test_learned_policy_returning_a_non_agent(bad, match):
    env = mediate(chicken(2, 2), "learned", policy=lambda obs: bad)
    with pytest.raises(ValueError, match=match):
        env.reset()


# ------------------------------------------------------------- observation
def test_history_features_follow_the_episode():
    env = mediate(chicken(2, 4), mediator_as_agent=True, history=HISTORY_FEATURES)
    assert env.mediator_observation.nvec.tolist() == [5, 3, 3, 3, 3, 3, 3]
    env.reset()

    def features():
        return env.observe(MEDIATOR)["observation"].tolist()

    assert features() == [0, 1, 1, 0, 0, 0, 0]
    env.step(0), env.step(DARE), env.step(CHICKEN)  # p0 leads and dares: 4 / 1, unfair
    # [stage, returns p0 p1 (ahead / behind), leaders p0 p1, reputation p0 p1 (unfair / never)]
    assert features() == [1, 2, 0, 1, 0, 2, 0]
    env.step(1), env.step(DARE), env.step(CHICKEN)  # p1 leads and dares: 1 / 4, unfair; returns level
    assert features() == [2, 1, 1, 1, 1, 2, 2]
    env.step(0), env.step(CHICKEN), env.step(CHICKEN)  # p0 leads and yields: 3 / 3, fair
    assert features() == [3, 1, 1, 2, 1, 1, 2]


def test_return_bins_use_the_tolerance_band():
    # Stag Hunt payoffs 0..2: tolerance = 0.25 * 2 = 0.5 around the mean
    env = mediate(fairlead.make("stag_hunt_v0", n_agents=3, max_cycles=3), history=("returns",))
    assert env.mediator_observation.tolerance == pytest.approx(0.5)
    features = env.mediator_observation.features
    assert features(1, np.array([1.0, 1.4, 0.6]), [0], [True]).tolist() == [1, 1, 1, 1]
    assert features(1, np.array([2.0, 1.0, 0.0]), [0], [True]).tolist() == [1, 2, 1, 0]


@pytest.mark.parametrize("n", [2, 4])
def test_table_sizes_match_the_docs(n):
    sizes = {}
    for history in [(), ("returns",), ("returns", "reputation"), HISTORY_FEATURES]:
        env = mediate(chicken(n, 10), history=history)
        sizes[history] = int(np.prod(env.mediator_observation.nvec))
        assert sizes[history] == 11 * 3 ** (n * len(history))
    assert sizes[("returns", "reputation")] == {2: 891, 4: 72171}[n]


@pytest.mark.parametrize("history", [(), None])
def test_no_history_is_the_stage_alone(history):
    env = mediate(chicken(2, 3), mediator_as_agent=True, history=history)
    env.reset()
    assert env.observe(MEDIATOR)["observation"].tolist() == [0]


def test_history_order_and_box_encoding():
    a = mediate(chicken(2, 3, obs_encoding="box"), mediator_as_agent=True, history=("reputation", "returns"))
    b = mediate(chicken(2, 3), mediator_as_agent=True, history=("returns", "reputation"))
    assert a.history == b.history == ("returns", "reputation")
    for env in (a, b):
        env.reset(seed=0)
        for action in (0, DARE, CHICKEN, 1):
            env.step(action)
    discrete = b.observe(MEDIATOR)["observation"]
    box = a.observe(MEDIATOR)["observation"]
    assert box.dtype == np.float32 and a.observation_space(MEDIATOR)["observation"].contains(box)
    nvec = b.mediator_observation.nvec
    assert box.shape == (nvec.sum() + 2,)  # the one-hot codes, then one returns float per player
    segments = np.split(box[: nvec.sum()], np.cumsum(nvec)[:-1])
    assert [int(s.argmax()) for s in segments] == discrete.tolist()
    assert all(s.sum() == 1 for s in segments)


@pytest.mark.parametrize(
    "history, low",
    [
        ((), []),
        (("reputation",), []),
        (("returns",), [-1.0] * 3),
        (("leaders",), [0.0] * 3),
        (HISTORY_FEATURES, [-1.0] * 3 + [0.0] * 3),
    ],
)
def test_box_bounds_of_the_float_features(history, low):
    env = mediate(chicken(3, 4, obs_encoding="box"), mediator_as_agent=True, history=history)
    space = env.observation_space(MEDIATOR)["observation"]
    codes = int(env.mediator_observation.nvec.sum())
    assert space.shape == (codes + len(low),) and space.dtype == np.float32
    assert space.low.tolist() == [0.0] * codes + low and space.high.tolist() == [1.0] * (codes + len(low))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(suite_configs()), st.integers(1, 6), st.integers(0, 2**16))
def test_box_float_features_follow_the_env_records(config, stages, seed):
    """The floats are (G - mean G) / return_scale and leader shares, G summed from the env's stage records."""
    name, kwargs = config
    env = mediate(
        fairlead.make(name, **{**kwargs, "max_cycles": stages, "obs_encoding": "box"}),
        mediator_as_agent=True,
        history=HISTORY_FEATURES,
    )
    game = env.env.unwrapped
    players, scale = env.players, game.return_scale
    codes = int(env.mediator_observation.nvec.sum())
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    own, led, records, checked = np.zeros(len(players)), np.zeros(len(players)), None, 0
    for agent in env.agent_iter():
        obs, _, terminated, truncated, _ = env.last()
        record = game.last_stage
        if record is not None and record is not records:  # a stage completed: book it from the record
            records = record
            own += [record.rewards[p] for p in players]
            led[players.index(record.leader)] += 1
        if agent == MEDIATOR:
            assert env.observation_space(MEDIATOR)["observation"].contains(obs["observation"])
            floats = obs["observation"][codes:]
            expected = np.concatenate([(own - own.mean()) / scale, led / stages])
            np.testing.assert_allclose(floats, expected, rtol=1e-6, atol=1e-6)
            checked += 1
        env.step(None if terminated or truncated else int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    assert checked == stages + 1 and led.sum() == stages  # every stage's choice, and the final observation


def test_box_returns_are_clipped_when_a_wrapper_inside_pays_beyond_the_game_range():
    import supersuit

    inner = supersuit.reward_lambda_v0(chicken(2, 1, obs_encoding="box"), lambda reward: 10 * reward)
    # (pairwise_equality, the default metric, refuses returns beyond return_scale; jain needs no scale)
    env = mediate(inner, mediator_as_agent=True, metric="jain", history=("returns",))
    env.reset(seed=0)
    env.step(0), env.step(DARE), env.step(CHICKEN)  # 40 / 10: gaps +-15, return_scale 4
    obs = env.observe(MEDIATOR)["observation"]
    assert obs[-2:].tolist() == [1.0, -1.0] and env.observation_space(MEDIATOR)["observation"].contains(obs)


def test_constant_game_with_a_mediator_agent():
    """return_scale 0: the default metric cannot normalise (clear error); the returns floats stay 0."""

    def flat(**kwargs):
        return fairlead.make("matrix_game_v0", payoff=[[1, 1], [1, 1]], max_cycles=2, **kwargs)

    with pytest.raises(ValueError, match=r"divides by the env's return_scale, which is 0.0.*pass metric= one of"):
        mediate(flat(), mediator_as_agent=True)
    env = mediate(flat(obs_encoding="box"), mediator_as_agent=True, metric="jain", history=("returns",))
    totals = run_episode(env)[0]
    assert env.observe(MEDIATOR)["observation"][-2:].tolist() == [0.0, 0.0]
    assert totals[MEDIATOR] == pytest.approx(1.0)  # Jain's index of equal returns


# ---------------------------------------------------------------- transfer
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(suite_configs()),
    st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0)),
    st.sampled_from(["round_robin", "random", "catch_up", "vote"]),
    st.integers(1, 6),
    st.integers(0, 2**16),
)
def test_transfer_properties(config, beta, selector, stages, seed):
    name, kwargs = config
    env = mediate(fairlead.make(name, **{**kwargs, "max_cycles": stages}), selector, transfer=beta)
    totals, final, leaders, _, own = run_episode(env, seed=seed)
    info = final["player_0"]
    assert info["leaders"] == leaders  # the full per-stage leader list
    keys = ("returns_before_transfer", "transfer", "returns_after_transfer")
    assert all(final[p][k] == info[k] for p in env.players for k in keys)
    before, transfer, after = (info[k] for k in keys)
    scale = max(1.0, sum(abs(g) for g in before.values()))
    # before-transfer returns are the env's own: the sum of its stage rewards
    assert before == pytest.approx(own, abs=1e-9 * scale)
    assert before == env.episode_returns == env.env.unwrapped.episode_returns
    assert abs(sum(transfer.values())) <= 1e-9 * scale  # zero-sum
    assert totals == pytest.approx(after, abs=1e-9 * scale)  # what the players were paid
    mean = np.mean(list(before.values()))
    for p in env.players:
        assert after[p] == pytest.approx(before[p] + transfer[p], abs=1e-12 * scale)
        assert after[p] - mean == pytest.approx((1 - beta) * (before[p] - mean), abs=1e-9 * scale)
    if beta == 0.0:
        assert transfer == dict.fromkeys(env.players, 0.0) and totals == before  # strictly no-op
    if beta == 1.0:
        assert max(after.values()) - min(after.values()) <= 1e-9 * scale  # equalised


def test_transfer_is_paid_with_the_final_stage_rewards():
    env = mediate(chicken(2, 2), "fixed", transfer=0.5)
    env.reset()
    env.step(DARE), env.step(CHICKEN)  # 4 / 1
    assert env.rewards == {"player_0": 4.0, "player_1": 1.0}
    env.step(DARE), env.step(CHICKEN)  # 4 / 1 again, then transfer -0.5 * (+-3)
    assert env.rewards == {"player_0": 4.0 - 1.5, "player_1": 1.0 + 1.5}
    assert env.infos["player_1"]["transfer"] == {"player_0": -1.5, "player_1": 1.5}


def test_transfer_rule_interface():
    def leader_tax(returns, beta):  # another zero-sum rule: the best-off pays the worst-off
        t = np.zeros_like(returns)
        gap = beta * (returns.max() - returns.min()) / 2
        t[returns.argmax()], t[returns.argmin()] = -gap, gap
        return t

    env = mediate(chicken(3, 2), "fixed", transfer=(leader_tax, 0.5))
    info = run_episode(env, seed=3)[1]["player_0"]
    before = np.array(list(info["returns_before_transfer"].values()))
    assert before.max() > before.min()  # the rule has something to move
    assert list(info["transfer"].values()) == leader_tax(before, 0.5).tolist()
    named = mediate(chicken(3, 2), "fixed", transfer=("mean_deviation", 1.0))
    assert named.transfer.rule is mean_deviation

    leaky = mediate(chicken(3, 2), "fixed", transfer=(lambda g, beta: beta * g, 0.5))
    with pytest.raises(ValueError, match="is not zero-sum"):
        run_episode(leaky)


# ------------------------------------------------------------- bookkeeping
@pytest.mark.parametrize("mode", [{"selector": "vote"}, {"mediator_as_agent": True}, {"selector": "random"}])
def test_infos_carry_leader_and_stage_every_step(mode):
    env = mediate(chicken(3, 3), transfer=0.3, **mode)
    env.reset(seed=1)
    for _agent in env.agent_iter():
        obs, _, terminated, truncated, info = env.last()
        if terminated or truncated:
            keys = {"returns_before_transfer", "transfer", "returns_after_transfer", "last_stage"}
            assert keys <= set(info)
            env.step(None)
            continue
        for a in env.agents:
            assert env.infos[a]["stage"] == env.stage and env.infos[a]["leader"] == env.leader
            if env.stage > 0:
                assert env.infos[a]["last_stage"]["stage"] == env.stage - 1
        assert (env.leader is None) == (env.phase in ("vote", "mediate"))
        env.step(int(np.flatnonzero(obs["action_mask"])[-1]))
    assert env.agents == [] and env.env.agents == []  # the wrapped env was stepped out too


# ----------------------------------------------------------- mediator agent
def test_mediator_agent_chooses_the_leader_and_is_paid_fairness_gains():
    env = mediate(chicken(3, 4), mediator_as_agent=True, transfer=0.5)
    assert env.possible_agents == ["player_0", "player_1", "player_2", MEDIATOR]
    assert env.action_space(MEDIATOR).n == 3
    base = chicken(3, 4)  # the players' spaces are unchanged
    assert env.observation_space("player_0") == base.observation_space("player_0")
    assert env.action_space("player_0") == base.action_space("player_0")
    choices = [2, 0, 1, 2]
    env.reset(seed=0)
    gains, fairness_after, leaders = [], [], []
    scale = env.return_scale
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, _ = env.last()
        if agent == MEDIATOR:
            if env.stage > 0 or terminated:
                gains.append(reward)
            if terminated:
                env.step(None)
                continue
            assert env.phase == "mediate" and env.acting_agents == [MEDIATOR]
            assert obs["action_mask"].tolist() == [1, 1, 1] and obs["observation"][0] == env.stage
            assert env.observe("player_0")["action_mask"].tolist() == [1, 0]  # players wait
            env.step(choices[env.stage])
            leaders.append(env.leader)
            assert env.phase == "lead" and env.agent_selection == env.leader
            continue
        if terminated or truncated:
            env.step(None)
            continue
        assert env.observe(MEDIATOR)["action_mask"].tolist() == [1, 0, 0]  # the mediator waits
        stage = env.stage
        env.step(DARE)
        if env.stage != stage:
            fairness_after.append(fairness(list(env.episode_returns.values()), scale=scale))
    assert leaders == ["player_2", "player_0", "player_1", "player_2"]
    expected = np.diff([0.0, *fairness_after])
    assert gains == pytest.approx(expected.tolist())
    assert sum(gains) == pytest.approx(fairness_after[-1])
    assert env.metric == DEFAULT_METRIC


def test_mediator_reward_with_a_lower_is_fairer_metric():
    env = mediate(chicken(2, 3), mediator_as_agent=True, metric="max_min_gap")
    totals, final, _, _, own = run_episode(env, seed=4)
    gap = max(own.values()) - min(own.values())
    assert totals[MEDIATOR] == pytest.approx(-gap)
    assert final[MEDIATOR]["returns_before_transfer"] == final["player_0"]["returns_before_transfer"]


def test_mediator_choice_errors():
    env = mediate(chicken(2, 2), mediator_as_agent=True)
    env.reset()
    with pytest.raises(ValueError, match=r"leader choice 2 is not an agent; valid choices are 0\.\.1 \("):
        env.step(2)
    with pytest.raises(TypeError, match="leader choice must be an agent index"):
        env.step(0.5)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"selector": "round_robbin"}, ValueError, r"selector 'round_robbin' \(did you mean 'round_robin'\?\)"),
        ({"selector": "catchup"}, ValueError, "did you mean 'catch_up'"),
        ({"selector": 3}, TypeError, "selector must be a name"),
        ({"selector": Recorder}, TypeError, r"pass an instance, e.g. Recorder\(\)"),
        ({"selector": "round_robin", "leader": "player_1"}, TypeError, "takes no keyword arguments; got leader"),
        ({"selector": "fixed", "leeder": "player_1"}, TypeError, "takes only leader; got leeder"),
        ({"selector": "fixed", "leader": "player_9"}, ValueError, "leader 'player_9' is not an agent"),
        ({"selector": "learned"}, TypeError, "needs policy="),
        ({"selector": lambda v: "player_0", "leader": "x"}, TypeError, "only apply to a selector given by name"),
        ({"transfer": 1.5}, ValueError, r"beta must be in \[0, 1\], got 1.5"),
        ({"transfer": -0.1}, ValueError, r"beta must be in \[0, 1\]"),
        ({"transfer": float("nan")}, ValueError, r"beta must be in \[0, 1\], got nan"),
        ({"transfer": "0.5"}, TypeError, "must be a number"),
        ({"transfer": True}, TypeError, "must be a number"),
        ({"transfer": ("mean_deviaton", 0.5)}, ValueError, "did you mean 'mean_deviation'"),
        ({"transfer": (mean_deviation, 2)}, ValueError, r"beta must be in \[0, 1\], got 2"),
        ({"transfer": (mean_deviation,)}, TypeError, "takes 2 items"),
        ({"history": ("return",)}, ValueError, r"unknown history feature 'return' \(did you mean 'returns'\?\)"),
        ({"history": ("returns", "returns")}, ValueError, "names a feature twice"),
        ({"history": 5}, TypeError, "history must be a tuple"),
        ({"metric": "pairwise_equality"}, ValueError, "needs mediator_as_agent=True"),
        ({"mediator_as_agent": True, "metric": "jian"}, ValueError, "did you mean 'jain'"),
        ({"mediator_as_agent": True, "selector": "vote"}, ValueError, "leave selector unset"),
        ({"mediator_as_agent": 1}, TypeError, "must be True or False"),
        ({"seed": -1}, ValueError, "seed must be an integer >= 0"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        mediate(chicken(), **kwargs)


def test_bad_envs():
    with pytest.raises(TypeError, match=r"got a parallel env.*PhaseParallelEnv"):
        mediate(fairlead.make("chicken_v0", parallel=True))
    with pytest.raises(TypeError, match="cannot be mediated again"):
        mediate(mediate(chicken()))
    with pytest.raises(TypeError, match="needs a PettingZoo AEC env"):
        mediate("chicken_v0")


def test_bad_play_actions_and_stepping_after_the_end():
    env = mediate(chicken(2, 1), "fixed", transfer=0.5)
    env.reset()
    with pytest.raises(ValueError, match="out of range; valid actions are 0..1"):
        env.step(5)
    with pytest.raises(TypeError, match="must be an integer"):
        env.step("dare")
    with pytest.raises(ValueError, match="out of range"):
        env.step(-1)
    env.step(DARE), env.step(DARE)
    while env.agents:
        env.step(None)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
