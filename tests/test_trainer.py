"""The JAM-QL trainer: convergence to the exact Stackelberg answer, mechanisms, switches."""

import csv

import numpy as np
import pytest
from conftest import config_id, suite_configs

import fairlead
from fairlead.envs.matrix import MatrixGameEnv
from fairlead.envs.resource_collection_v0 import scripted_total_return
from fairlead.experiments.report import mean_ci
from fairlead.experiments.runs import run
from fairlead.experiments.spec import RunSpec
from fairlead.registry import env_module, make, resolve
from fairlead.solver import stackelberg_outcome
from fairlead.trainers.config import (
    HyperParams,
    Method,
    TrainingConfig,
    get_method,
    load_hyperparams,
    load_methods,
    method_names,
)
from fairlead.trainers.evaluation import HEADLINE, summarise
from fairlead.trainers.jamql import MEDIATOR, Trainer
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


# matrix_game_v0's payoff for the convergence test: a 3-action bimatrix where committing pays.
# player_0 leading commits to action 0 (answered by 0: rewards 3, 2), an action it never plays
# in the simultaneous game (its action 1 strictly dominates it); player_1 leading commits to 2.
COMMITMENT = [
    [[3, 1, 0], [4, 2, 1], [0, 0, 2]],  # player_0's reward for (a_0, a_1)
    [[2, 0, 1], [0, 2, 1], [1, 0, 3]],
]  # player_1's reward
MATRIX_GAMES = [
    (name, {"payoff": COMMITMENT} if name == "matrix_game_v0" else {})
    for name in fairlead.list_envs()
    if issubclass(env_module(name).raw_env, MatrixGameEnv)
]


def unique_outcome(payoffs, leader):
    """The solver's outcome, checked to be the only subgame-perfect one: no tie anywhere."""
    outcome = stackelberg_outcome(payoffs, leader)
    follower = 1 - leader
    game = np.moveaxis(payoffs, leader, 0)  # game[leader action, follower action] -> rewards
    leader_values = []
    for reply in game:  # the follower's options after each leader action
        best = np.sort(reply[:, follower])
        assert best[-1] > best[-2], "the follower must have a unique best reply to every leader action"
        leader_values.append(reply[np.argmax(reply[:, follower]), leader])
    best = np.sort(leader_values)
    assert best[-1] > best[-2], "the leader must have a unique best action"
    assert outcome == stackelberg_outcome(payoffs, leader, tie_break="optimistic")
    return outcome


def test_the_convergence_test_covers_every_two_player_matrix_game():
    names = {name for name, _ in MATRIX_GAMES}
    assert names >= {"prisoners_dilemma_v0", "chicken_v0", "stag_hunt_v0", "battle_of_sexes_v0", "matrix_game_v0"}
    assert not names & {"cournot_v0", "resource_collection_v0"}


# The convergence budget: the shipped defaults (trainers/defaults.toml).
DEFAULT_BUDGET = HyperParams()
# Every player leads in the bimatrix games; in a symmetric game player_1 leading is the mirror image.
LEADS = [
    (name, kwargs, leader)
    for name, kwargs in MATRIX_GAMES
    for leader in ((0, 1) if fairlead.make(name, raw=True, **kwargs).bimatrix else (0,))
]


@pytest.mark.parametrize("env, env_kwargs, leader", LEADS, ids=[f"{n}-leader{lead}" for n, _, lead in LEADS])
@pytest.mark.parametrize("seed", [0, 1, 2, *(pytest.param(s, marks=pytest.mark.slow) for s in range(3, 10))])
def test_fixed_leader_learners_reach_the_subgame_perfect_outcome(env, env_kwargs, leader, seed):
    """Budget: DEFAULT_BUDGET (the shipped training episodes) on a 3-stage game; in every greedy stage the leader's
    action and the follower's reply must be the solver's unique outcome (seeds 3-9: ``-m slow``)."""
    method = Method("fixed-leader", "fixed", selector_kwargs={"leader": f"player_{leader}"})
    trainer = Trainer(env, {**env_kwargs, "max_cycles": 3}, method, DEFAULT_BUDGET, seed)
    for _ in range(DEFAULT_BUDGET.training.episodes):
        trainer.train_episode()
    expected = unique_outcome(fairlead.make(env, raw=True, **env_kwargs).payoff_tensor, leader)
    result = trainer.evaluate(1)[0]
    assert result.leaders == (leader,) * 3
    played = [tuple(stage.actions[p] for p in trainer.players) for stage in result.stages]
    assert played == [expected.actions] * 3
    assert result.returns.tolist() == pytest.approx([3 * r for r in expected.rewards])


def test_the_defaults_come_from_defaults_toml_only():
    import tomllib

    from fairlead.registry import catalogue_dir

    shipped = tomllib.loads((catalogue_dir("trainers") / "defaults.toml").read_text())
    assert HyperParams().as_dict() == shipped == load_hyperparams().as_dict()
    assert QConfig() == HyperParams().agent and TrainingConfig() == HyperParams().training


@pytest.mark.parametrize("method", method_names())
def test_every_registered_method_loads_describes_itself_trains_and_reports(method):
    definition = get_method(method)
    assert definition.name == method and definition.description.strip()
    assert load_methods()[method] == definition
    trainer = trained("chicken_v0", method, seed=0, episodes=2, n_agents=3, max_cycles=4)
    assert trainer.episode == 2
    result = trainer.evaluate(1)[0]
    assert len(result.leaders) == 4 and set(result.leaders) <= {0, 1, 2}
    assert result.returns.shape == (3,)
    row = summarise([result], trainer.players, trainer.return_scale)
    assert 0 <= row[HEADLINE] <= 1


MECHANISMS = {  # each of JAM-QL's mechanisms and the method fields that switch it
    "selection": ("selector", "selector_kwargs"),
    "history": ("history", "agent_history"),
    "endgame": ("transfer", "settle"),
}
ABLATIONS = {"jamql-no-selection": "selection", "jamql-no-history": "history", "jamql-no-endgame": "endgame"}


def changed_fields(a: Method, b: Method) -> set[str]:
    return {f for fields in MECHANISMS.values() for f in fields if getattr(a, f) != getattr(b, f)}


@pytest.mark.parametrize("ablation", ABLATIONS)
def test_each_ablation_removes_exactly_one_mechanism(ablation):
    jamql, other = get_method("jamql"), get_method(ablation)
    mechanism = ABLATIONS[ablation]
    allowed = set(MECHANISMS[mechanism]) | ({"history"} if mechanism == "selection" else set())
    # (only a learned mediator reads its `history`: a rotation has no use for it)
    assert changed_fields(jamql, other) and changed_fields(jamql, other) <= allowed
    off = {
        "selection": other.selector == "round_robin",
        "history": not other.history and not other.agent_history,
        "endgame": other.transfer == 0.0,
    }
    assert off[mechanism]


def test_jamql_has_all_three_mechanisms_and_selection_only_has_one():
    jamql, only = get_method("jamql"), get_method("jamql-selection-only")
    assert jamql.vector_mediator and jamql.history and jamql.transfer != 0.0 and jamql.settle == "stage"
    assert only.vector_mediator and not only.history and not only.agent_history and only.transfer == 0.0


def test_baselines_share_jamqls_agents_so_only_leader_selection_differs():
    jamql = get_method("jamql")
    for name in ("fixed", "alternating", "random", "vote", "catch-up"):
        baseline = get_method(name)
        assert baseline.agent_history == jamql.agent_history and baseline.transfer == 0.0
        assert changed_fields(jamql, baseline) <= {"selector", "selector_kwargs", "history", "transfer", "settle"}


def test_action_transfer_charges_the_advantage_taken_in_unfair_leads():
    """jamql's transfer, recomputed from the stage records: t_i = -kappa n/(n-1) (u_i - mean u)."""
    rule, kappa = get_method("jamql").transfer
    assert rule == "unfair_advantage"
    trainer = trained("chicken_v0", "jamql", seed=0, episodes=30, n_agents=3, max_cycles=4)
    charged = 0
    for _ in range(10):
        result = trainer.train_episode()  # exploring play: some leads are unfair
        u = np.zeros(3)
        for stage in result.stages:
            rewards = np.array([stage.rewards[p] for p in trainer.players])
            leader = trainer.players.index(stage.leader)
            if not stage.leader_fair:
                u[leader] += max(0.0, rewards[leader] - np.delete(rewards, leader).mean())
        expected = -kappa * 3 / 2 * (u - u.mean())
        assert result.returns_after_transfer - result.returns == pytest.approx(expected, abs=1e-9)
        charged += bool(u.any())
    assert charged, "need an episode with an unfair lead"
    off = trained("chicken_v0", "jamql-no-endgame", seed=0, episodes=20).evaluate(2)
    for r in off:
        assert np.array_equal(r.returns, r.returns_after_transfer)


def test_scalar_variant_keeps_the_return_based_transfer():
    moved = [
        r
        for r in trained("chicken_v0", "jamql-scalar", seed=0, episodes=20).evaluate(2)
        if not np.allclose(r.returns, r.returns.mean())
    ]
    assert moved, "need an unequal episode to see the transfer"
    for r in moved:
        assert r.returns_after_transfer.sum() == pytest.approx(r.returns.sum())
        assert np.ptp(r.returns_after_transfer) == pytest.approx(0.5 * np.ptp(r.returns))


def log_decisions(trainer, agent):
    """Log every decision of ``agent``'s learner as (phase, state, action), in order."""
    learner, log = trainer.learners[agent], []
    act = learner.act

    def logged(state, mask, explore):
        action = act(state, mask, explore)
        log.append((trainer.env.phase, state, action))
        return action

    learner.act = logged
    return log


def catch_up_leader(past, players):
    returns = [sum(stage.rewards[p] for stage in past) for p in players]
    return int(np.argmin(returns))  # ties: lowest index


def plurality(votes, n):
    counts = np.bincount(votes, minlength=n)
    return set(np.flatnonzero(counts == counts.max()).tolist())


def vector_choice(mediator, stage, past, players):
    """The leader the vector mediator must pick greedily: argmin_l mean pairwise gap of G_t + V[t, l, rho_l]."""
    returns = np.array([sum(r.rewards[p] for r in past) for p in players]) if mediator.use_returns else 0.0
    reputation = [0] * len(players)
    if mediator.use_reputation:
        for r in past:
            reputation[players.index(r.leader)] = 1 if r.leader_fair else 2
    gaps = []
    for leader in range(len(players)):
        x = returns + mediator.values[stage, leader, reputation[leader]]
        gaps.append(np.mean([abs(x[i] - x[j]) for i in range(len(x)) for j in range(i + 1, len(x))]))
    return int(np.argmin(gaps))


# The leader each rule-based selector must pick at stage t (None: any leader, e.g. random or a vote's plurality).
RULES = {
    "fixed": lambda spec, t, past, players: players.index(spec.selector_kwargs.get("leader", "player_0")),
    "round_robin": lambda spec, t, past, players: t % len(players),
    "catch_up": lambda spec, t, past, players: catch_up_leader(past, players),
}


@pytest.mark.parametrize("method", method_names())
def test_selection_switch_decides_who_chooses_the_leader(method):
    """selector = "vector_mediator" / "mediator": a mediator learner exists and decides each leader;
    a baseline has no mediator learner and its leaders follow its selector's rule (a vote: the plurality)."""
    n, stages = 3, 5
    spec = get_method(method)
    rule = RULES.get(spec.selector)
    trainer = Trainer("chicken_v0", {"n_agents": n, "max_cycles": stages}, spec, FAST, seed=0)
    learned = spec.selector in ("mediator", "vector_mediator")
    assert (MEDIATOR in trainer.learners) == learned
    assert list(trainer.learners) == trainer.players + [MEDIATOR] * learned
    logs = {agent: log_decisions(trainer, agent) for agent in trainer.players + [MEDIATOR] * spec.learned_mediator}
    chosen = set()
    for _ in range(40):  # exploring play: leaders and actions vary
        for log in logs.values():
            log.clear()
        result = trainer.train_episode()
        chosen |= set(result.leaders)
        assert result.leaders == tuple(trainer.players.index(stage.leader) for stage in result.stages)
        if spec.learned_mediator:
            assert [(phase, a) for phase, _, a in logs[MEDIATOR]] == [("mediate", a) for a in result.leaders]
            continue
        if spec.vector_mediator:
            continue  # exploring: checked greedily below
        votes = [[a for phase, _, a in logs[p] if phase == "vote"] for p in trainer.players]
        assert all(len(v) == (stages if spec.selector == "vote" else 0) for v in votes)
        for t, leader in enumerate(result.leaders):
            if rule is not None:
                assert leader == rule(spec, t, result.stages[:t], trainer.players)
            if spec.selector == "vote":
                assert leader in plurality([v[t] for v in votes], n)
    fixed = spec.selector == "fixed"
    assert chosen == ({RULES["fixed"](spec, 0, (), trainer.players)} if fixed else set(range(n)))
    if spec.vector_mediator:
        assert trainer.mediator.values.any()  # it learned
        for result in trainer.evaluate(3):
            assert list(result.leaders) == [
                vector_choice(trainer.mediator, t, result.stages[:t], trainer.players) for t in range(stages)
            ]


def documented_mediator_state(past, players, tolerance):
    """[stage, standing per player, reputation per player] after the stage records ``past``.

    standing: cumulative return against the mean, 0 behind / 1 level (within ``tolerance``) / 2 ahead;
    reputation: 0 never led, 1 last led fairly, 2 last led unfairly (docs/mediator.md).
    """
    returns = np.array([sum(stage.rewards[p] for stage in past) for p in players])
    standing = [0 if g < -tolerance else 2 if g > tolerance else 1 for g in returns - returns.mean()]
    reputation = [0] * len(players)
    for stage in past:
        reputation[players.index(stage.leader)] = 1 if stage.leader_fair else 2
    return (len(past), *standing, *reputation)


def test_history_switch_sets_what_the_mediator_sees():
    """The scalar mediator (jamql-scalar) with history on sees the players' standing and reputation,
    as the env's records give them; history off: it sees the stage index only."""
    env_kwargs, stages = {"n_agents": 3, "max_cycles": 6}, 6
    scalar = get_method("jamql-scalar")
    assert scalar.history == ("returns", "reputation")
    with_history = Trainer("chicken_v0", env_kwargs, scalar, FAST, 0)
    without = Trainer("chicken_v0", env_kwargs, Method("scalar-no-history", "mediator", (), 0.5), FAST, 0)
    tolerance = 0.25 * with_history.return_scale / stages  # a quarter of one stage's reward range
    seen_on, seen_off = log_decisions(with_history, MEDIATOR), log_decisions(without, MEDIATOR)
    features = set()
    for _ in range(20):
        seen_on.clear()
        seen_off.clear()
        result = with_history.train_episode()
        assert [s for _, s, _ in seen_on] == [
            documented_mediator_state(result.stages[:t], with_history.players, tolerance) for t in range(stages)
        ]
        features.update((i, value) for _, s, _ in seen_on for i, value in enumerate(s[1:]))
        without.train_episode()
        assert [s for _, s, _ in seen_off] == [(t,) for t in range(stages)]
    # the states really vary: each player is seen behind, level and ahead, never led, led fairly and unfairly
    assert features == {(i, v) for i in range(6) for v in range(3)}


@pytest.mark.parametrize("method", ["jamql", "jamql-scalar"])
def test_same_seed_same_tables_different_seed_different_play(method):
    a, b = (trained("chicken_v0", method, seed=4, episodes=50) for _ in range(2))
    for agent in a.learners:
        sa, sb = a.learners[agent].state_dict(), b.learners[agent].state_dict()
        assert np.array_equal(sa["keys"], sb["keys"]) and np.array_equal(sa["values"], sb["values"])
    c = trained("chicken_v0", method, seed=5, episodes=50)
    assert not np.array_equal(a.learners[MEDIATOR].state_dict()["values"], c.learners[MEDIATOR].state_dict()["values"])


def _mean_fairness(env, method, seeds, **env_kwargs):
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


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["chicken-2p", "chicken-4p"])
def test_at_the_default_budget_catch_up_and_jamql_are_clearly_fairer_than_a_fixed_leader(scenario, tmp_path):
    """10 seeds, the shipped hyper-parameters, `fairlead train`'s code path (2 workers): the 95%
    confidence interval of the headline fairness lies wholly above the fixed leader's."""
    env, env_kwargs = resolve(scenario)
    spec = RunSpec(env, env_kwargs, ("fixed", "catch-up", "jamql"), tuple(range(10)), load_hyperparams())
    run(spec, tmp_path, jobs=2, progress=False)
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    ci = {m: mean_ci([float(r[HEADLINE]) for r in rows if r["method"] == m]) for m in spec.methods}
    assert [len([r for r in rows if r["method"] == m]) for m in spec.methods] == [10, 10, 10]
    fixed_mean, fixed_half = ci["fixed"]
    for method in ("catch-up", "jamql"):
        mean, half = ci[method]
        assert mean - half > fixed_mean + fixed_half, (
            f"{method} {mean:.3f} ± {half:.3f}, fixed {fixed_mean:.3f} ± {fixed_half:.3f}"
        )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_action_transfer_makes_a_fixed_leader_learn_to_act_fairly(seed):
    """Chicken, 2 players, 3 stages, player_0 always leads, the shipped budget: without the transfer the
    leader dares in every greedy stage (the subgame-perfect play); with JAM-QL's action-based transfer,
    settled stage by stage, it yields in every stage, the last one included."""
    jamql = get_method("jamql")
    methods = {
        "selfish": Method("fixed", "fixed", agent_history=jamql.agent_history),
        "charged": Method(
            "fixed+transfer", "fixed", agent_history=jamql.agent_history, transfer=jamql.transfer, settle=jamql.settle
        ),
    }
    fair = {}
    for name, method in methods.items():
        trainer = Trainer("chicken_v0", {"n_agents": 2, "max_cycles": 3}, method, DEFAULT_BUDGET, seed)
        for _ in range(DEFAULT_BUDGET.training.episodes):
            trainer.train_episode()
        result = trainer.evaluate(1)[0]
        assert result.leaders == (0, 0, 0)
        fair[name] = result.leader_fair
    assert fair == {"selfish": (False,) * 3, "charged": (True,) * 3}


def scenario_run(scenario, methods, out, seeds=20):
    """Train ``methods`` on ``scenario`` with its own hyper-parameters (2 workers); ``ci(method, column)``."""
    env, env_kwargs = resolve(scenario)
    run(
        RunSpec(env, env_kwargs, methods, tuple(range(seeds)), load_hyperparams(scenario=scenario)),
        out,
        jobs=2,
        progress=False,
    )
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return lambda method, column: mean_ci([float(r[column]) for r in rows if r["method"] == method])


def assert_jamql_fairer(ci, others):
    """JAM-QL's 95% interval of fairness lies wholly above each of ``others``'."""
    mean, half = ci("jamql", HEADLINE)
    for other in others:
        other_mean, other_half = ci(other, HEADLINE)
        assert mean - half > other_mean + other_half, f"jamql {mean:.3f} ± {half:.3f}, {other} {other_mean:.3f}"


@pytest.mark.slow
def test_chicken_4p_jamql_is_fairer_than_every_rule_and_its_leaders_act_fairly(tmp_path):
    """The headline claims at the default budget and docs/results.md's 20 seeds (at 10 seeds the intervals
    of alternating and catch-up still overlap JAM-QL's): JAM-QL's 95% interval of fairness lies above
    alternating, catch-up, vote and fixed; its leaders act fairly (also in the last stage), while without
    the end-game transfer they grab in the last stage. About 4 minutes on 2 cores."""
    ci = scenario_run("chicken-4p", ("jamql", "jamql-no-endgame", "alternating", "catch-up", "vote", "fixed"), tmp_path)
    assert_jamql_fairer(ci, ("alternating", "catch-up", "vote", "fixed"))
    assert ci("jamql", "fair_action_rate")[0] >= 0.9  # issue 10's targets: >= 0.9, a fixed leader <= 0.1
    assert ci("fixed", "fair_action_rate")[0] <= 0.1
    last, last_half = ci("jamql", "fair_action_rate_last")
    no_endgame_last, no_endgame_half = ci("jamql-no-endgame", "fair_action_rate_last")
    assert last - last_half > no_endgame_last + no_endgame_half  # the transfer keeps leaders fair to the end
    assert no_endgame_last <= 0.1


@pytest.mark.slow
def test_resource_collection_2p_strong_jamql_is_fairer_and_collects(tmp_path):
    """Issue 10's resource-collection targets on the scenario's own budget (3,000 episodes) and 20 seeds:
    JAM-QL's fairness interval lies above alternating's and the fixed leader's, at a total return of at
    least 0.8 x alternating's and at least 60% of the scripted fair_resource_policy's. About 5 minutes."""
    ci = scenario_run("resource-collection-2p-strong", ("jamql", "alternating", "fixed"), tmp_path)
    assert_jamql_fairer(ci, ("alternating", "fixed"))
    total = ci("jamql", "total_return")[0]
    assert total >= 0.8 * ci("alternating", "total_return")[0]
    assert total >= 0.6 * scripted_total_return(make("resource-collection-2p-strong"), episodes=500)
