"""Issue 11 (items 6 and 9): bad names and bad payoff-like arguments fail at construction
with a clear error naming the argument; unknown names get case-insensitive suggestions."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import fairlead
from fairlead import registry
from fairlead.envs import cournot_v0
from fairlead.envs import resource_collection_v0 as rc
from fairlead.envs.checks import real_array

PROPS = settings(max_examples=40, deadline=None)
NAMES = [*fairlead.list_envs(), *fairlead.list_scenarios()]


# ------------------------------------------------------------------- names (item 6)
@pytest.mark.parametrize("name", [42, None, 3.5, ["chicken_v0"], b"chicken_v0"])
@pytest.mark.parametrize(
    "call",
    [
        fairlead.make,
        registry.resolve,
        registry.env_module,
        registry.scenario_hyperparameters,
        lambda name: registry.check_env_kwargs(name, {}),
    ],
    ids=["make", "resolve", "env_module", "scenario_hyperparameters", "check_env_kwargs"],
)
def test_a_name_that_is_not_a_string_is_a_type_error(call, name):
    with pytest.raises(TypeError, match=r"env name must be a string such as 'chicken_v0' or a scenario name") as info:
        call(name)
    assert f"got {name!r}" in str(info.value)


def test_a_path_object_names_a_scenario_file():
    path = Path(registry.catalogue_dir("envs")) / "chicken-2p.toml"
    assert fairlead.make(path).metadata["name"] == "chicken_v0"
    assert registry.resolve(path) == registry.resolve(str(path))


# ---------------------------------------------------- suggestions ignore case (item 9)
@PROPS
@given(st.sampled_from(NAMES), st.sampled_from([str.upper, str.title, lambda s: s.replace("_", "-").upper()]))
def test_every_env_and_scenario_name_in_another_case_suggests_itself(name, spelling):
    typo = spelling(name)
    if typo == name or registry._canonical(typo) in fairlead.list_envs():
        return  # still a valid spelling (e.g. chicken-v0 for chicken_v0)
    with pytest.raises(ValueError) as info:
        fairlead.make(typo)
    message = str(info.value)
    assert f"unknown environment or scenario {typo!r} (did you mean {name!r}?)" in message
    assert all(valid in message for valid in NAMES)  # what is valid, all of it


def test_cli_spelling_of_a_scenario_and_an_argument():
    with pytest.raises(ValueError, match=r"'CHICKEN-2P' \(did you mean 'chicken-2p'\?\)"):
        fairlead.make("CHICKEN-2P")
    with pytest.raises(
        ValueError, match=r"unknown environment 'Chicken_V0' \(did you mean 'chicken_v0'\?\); valid environments: "
    ):
        registry.env_module("Chicken_V0")
    with pytest.raises(
        TypeError, match=r"has no argument 'N_AGENTS' \(did you mean 'n_agents'\?\); valid arguments: n_agents, "
    ):
        fairlead.make("chicken_v0", N_AGENTS=3)


# --------------------------------------------------------------- payoffs (item 6)
BAD_ENTRIES = [
    (1 + 2j, TypeError, "must be a real number"),
    (np.complex128(3), TypeError, "must be a real number"),
    (True, TypeError, "must be a real number"),
    (np.bool_(False), TypeError, "must be a real number"),
    ("1", TypeError, "must be a real number"),
    (None, TypeError, "must be a real number"),
    (float("nan"), ValueError, "must be a finite number"),
    (-math.inf, ValueError, "must be a finite number"),
]


@st.composite
def payoffs(draw, bimatrix=None):
    """A valid payoff: k x k or 2 x k x k, moderate finite entries."""
    k = draw(st.integers(2, 4))
    bimatrix = draw(st.booleans()) if bimatrix is None else bimatrix
    shape = (2, k, k) if bimatrix else (k, k)
    return draw(arrays(np.float64, shape, elements=st.floats(-1e3, 1e3, allow_subnormal=False)))


@PROPS
@given(payoffs(), st.data(), st.sampled_from(BAD_ENTRIES))
def test_a_bad_payoff_entry_is_refused_naming_it(payoff, data, bad):
    entry, error, problem = bad
    index = tuple(data.draw(st.integers(0, n - 1)) for n in payoff.shape)
    cells = payoff.tolist()
    row = cells
    for i in index[:-1]:
        row = row[i]
    row[index[-1]] = entry
    with pytest.raises(error, match=rf"payoff\[{', '.join(map(str, index))}\] {problem}"):
        fairlead.make("matrix_game_v0", payoff=cells)


@PROPS
@given(payoffs(), st.floats(1e-3, 1e3))
def test_a_complex_array_is_not_cut_to_its_real_part(payoff, imaginary):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: a ComplexWarning, then the real part was used
        with pytest.raises(TypeError, match=r"payoff\[0, 0(, 0)?\] must be a real number"):
            fairlead.make("matrix_game_v0", payoff=payoff + 1j * imaginary)
        with pytest.raises(TypeError, match="must be a real number"):
            fairlead.make("matrix_game_v0", payoff=payoff.astype(bool))


def test_ragged_payoff():
    with pytest.raises(ValueError, match=r"payoff must be a rectangular numeric array"):
        fairlead.make("matrix_game_v0", payoff=[[1, [2]], [3, 4]])


@PROPS
@given(payoffs(bimatrix=False), st.floats(1e306, 1.7e308), st.integers(2, 4), st.integers(1, 50))
def test_payoffs_near_float_max_fail_at_construction(payoff, huge, n, max_cycles):
    """Finite return_scale and episode totals, or a ValueError at construction (before: inf, failing later)."""
    payoff = payoff.copy()
    payoff[0, 0] = huge
    bound = n * max_cycles * max(huge, np.abs(payoff).max())
    try:
        env = fairlead.make("matrix_game_v0", payoff=payoff, n_agents=n, max_cycles=max_cycles, raw=True)
    except ValueError as err:
        assert not math.isfinite(bound) or not math.isfinite(max_cycles * (huge - payoff.min()))
        assert (
            "payoff too large" in str(err) and "return_scale = " in str(err) and f"max_cycles={max_cycles}" in str(err)
        )
        return
    assert math.isfinite(env.return_scale) and math.isfinite(bound)


def test_the_issue_example_near_1e308():
    with pytest.raises(ValueError, match=r"return_scale = inf"):
        fairlead.make("matrix_game_v0", payoff=[[1e308, -1e308], [0, 1]])


def test_real_array_accepts_what_numpy_holds_exactly():
    assert real_array("x", [[1, 2.5], [np.int64(3), np.float32(4)]]).tolist() == [[1, 2.5], [3, 4]]
    assert real_array("x", 7).shape == ()


# ------------------------------------------------------------------ Cournot (item 6)
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"a": 1e308}, ValueError, r"a, b, c or q_max too large: .*return_scale = inf"),
        ({"a": 1e306, "q_max": 10**3}, ValueError, r"too large"),
        ({"a": 2j}, TypeError, "a must be a real number"),
        ({"a": 10**400}, ValueError, "a must be a finite number"),  # beyond any float: no numpy TypeError
        ({"b": np.complex128(1)}, TypeError, "b must be a real number"),
        ({"c": np.bool_(True)}, TypeError, "c must be a real number"),
    ],
)
def test_cournot_bad_numbers(kwargs, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning before the error
        with pytest.raises(error, match=match):
            cournot_v0.raw_env(**kwargs)


def test_cournot_tiny_slope_does_not_overflow_the_fair_quantity():
    env = cournot_v0.raw_env(b=1e-310, q_max=5)  # (a - c) / ((n + 1) b) is inf: before, an OverflowError
    assert env.fair_quantity == 5 and math.isfinite(env.return_scale)


# ------------------------------------------------------- resource collection (item 6)
@PROPS
@given(arrays(np.float64, 2, elements=st.floats(0, 10)), st.integers(0, 1), st.sampled_from(BAD_ENTRIES))
def test_a_bad_preference_weight_is_refused_naming_it(weights, index, bad):
    entry, error, problem = bad
    preference = weights.tolist()
    preference[index] = entry
    with pytest.raises(error, match=rf"preference\[{index}\] {problem}.*or give 2 weights >= 0"):
        rc.raw_env(preference=preference)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"preference": [1e308, 1.0]},
        {"fair_value": 1e308, "max_cycles": 100},
        {"unfair_value": 1.7e308, "n_agents": 4, "grid_size": (3, 3)},
    ],
)
def test_resource_values_whose_returns_overflow(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"fair_value, unfair_value or preference too large.*return_scale = "):
            rc.raw_env(**kwargs)


def test_move_codes_are_named():
    assert [rc.MOVES[m] for m in (rc.STAY, rc.UP, rc.DOWN, rc.LEFT, rc.RIGHT)] == list(rc.MOVES)


# ------------------------------------------------------------ issue 23 (reliability)
@pytest.mark.parametrize(
    "command",
    [
        ["train", "--env", "chicken_v0", "--method", "random"],
        ["sweep", "--env", "chicken_v0", "--method", "random", "--grid", "max_cycles=2,3"],
        ["evaluate", "--env", "chicken_v0", "--policy", "random"],
    ],
    ids=["train", "sweep", "evaluate"],
)
@pytest.mark.parametrize("seeds", ["99999999999999999999", "100000000", "100001"])
def test_a_huge_number_of_seeds_is_refused_before_anything_is_written(tmp_path, capsys, command, seeds):
    from fairlead.cli import main
    from fairlead.experiments.spec import MAX_SEEDS

    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--seeds", seeds, "--out", str(out)])
    assert exit_info.value.code == 2
    assert (
        f"expected a number of seeds from 1 to {MAX_SEEDS:,} (MAX_SEEDS), got {int(seeds)}" in capsys.readouterr().err
    )
    assert not out.exists()


def test_a_run_spec_with_too_many_seeds_is_refused():
    from fairlead.experiments.spec import MAX_SEEDS, RunSpec

    RunSpec("chicken_v0", {}, ("random",), tuple(range(MAX_SEEDS)))
    with pytest.raises(ValueError, match=r"a run takes at most 100,000 seeds \(MAX_SEEDS\), got 100,001"):
        RunSpec("chicken_v0", {}, ("random",), tuple(range(MAX_SEEDS + 1)))


@pytest.mark.parametrize("grid_size", [(10**6, 10**6), (1000, 1001), (1, 10**6 + 1)])
def test_a_grid_beyond_max_cells_is_refused_before_allocating(grid_size):
    assert rc.MAX_CELLS == 1_000_000 and "at most 1,000,000 cells" in " ".join(rc.__doc__.split())
    with pytest.raises(
        ValueError,
        match=rf"grid_size {grid_size[0]}x{grid_size[1]} has [\d,]+ cells, more than "
        r"the 1,000,000 allowed \(MAX_CELLS",
    ):
        rc.env(grid_size=grid_size)


def test_the_largest_grid_is_accepted():
    env = rc.env(grid_size=(1000, 1000))
    env.reset(seed=0)
    assert env.unwrapped.rows * env.unwrapped.cols == rc.MAX_CELLS


@pytest.mark.parametrize("kappa", [1e308, 1e6 + 1, math.inf, -1])
def test_an_unfair_advantage_strength_beyond_max_kappa_is_refused(kappa):
    from fairlead.mediation.transfer import MAX_KAPPA

    assert MAX_KAPPA == 1e6
    with pytest.raises(ValueError, match=r"transfer strength kappa must be in \[0, 1,000,000\], got "):
        fairlead.mediate(fairlead.make("chicken_v0", leader=None), transfer=("unfair_advantage", kappa))


def test_the_issue_example_kappa_1e308_gives_no_nan():
    with pytest.raises(ValueError, match=r"in \[0, 1,000,000\], got 1e\+308"):
        fairlead.mediate(fairlead.make("chicken_v0", leader=None), transfer=("unfair_advantage", 1e308))
    env = fairlead.mediate(fairlead.make("chicken_v0", leader=None), transfer=("unfair_advantage", 1e6))
    env.reset(seed=0)
    for agent in env.agent_iter():
        env.step(
            None
            if env.terminations[agent] or env.truncations[agent]
            else int(np.flatnonzero(env.observe(agent)["action_mask"])[0])
        )
    assert all(math.isfinite(r) for r in env._cumulative_rewards.values())


def test_a_strength_whose_transfers_overflow_the_envs_returns_is_refused():
    game = fairlead.make("matrix_game_v0", payoff=[[1e302, 0.0], [2e302, 1.0]], max_cycles=10, leader=None)
    with pytest.raises(
        ValueError,
        match=r"transfer strength 1e\+06 too large for the env's returns "
        r"\(return_scale .*could overflow",
    ):
        fairlead.mediate(game, transfer=("unfair_advantage", 1e6))
    fairlead.mediate(
        fairlead.make("matrix_game_v0", payoff=[[1e302, 0.0], [2e302, 1.0]], max_cycles=10, leader=None),
        transfer=("unfair_advantage", 1.0),
    )


def _any_env(mediated: bool):
    return fairlead.mediate(fairlead.make("chicken_v0", leader=None)) if mediated else fairlead.make("chicken_v0")


@pytest.mark.parametrize("mediated", [False, True], ids=["env", "mediated"])
@pytest.mark.parametrize("seed, error", [(-1, ValueError), ("a", TypeError), (1.5, TypeError), (True, TypeError)])
def test_a_bad_reset_seed_says_what_a_seed_may_be(mediated, seed, error):
    env = _any_env(mediated)
    with pytest.raises(error, match=rf"seed must be an integer >= 0 or None, got {seed!r}"):
        env.reset(seed=seed)
    with pytest.raises(error, match="seed must be an integer >= 0 or None"):
        env.unwrapped.reset(seed=seed)
    env.reset(seed=np.int64(3))
    env.reset(seed=None)


def test_a_bad_parallel_reset_seed_says_what_a_seed_may_be():
    from fairlead.envs import chicken_v0

    with pytest.raises(ValueError, match="seed must be an integer >= 0 or None, got -1"):
        chicken_v0.parallel_env().reset(seed=-1)


@pytest.mark.parametrize("mediated", [False, True], ids=["env", "mediated"])
@pytest.mark.parametrize("agent", ["ghost", 3, ["player_0"]])
def test_observing_an_unknown_agent_names_it_and_the_valid_agents(mediated, agent):
    env = _any_env(mediated)
    env.reset(seed=0)
    with pytest.raises(KeyError) as info:
        env.observe(agent)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == f"unknown agent {agent!r}; valid agents: {', '.join(env.possible_agents)}"


# ------------------------------------------------ issue 23, item 10: clearer errors
def _cli_error(capsys, argv) -> str:
    """``fairlead ARGV``'s exit status must be 2 with one 'fairlead: error:' line and no traceback; its text."""
    from fairlead.cli import main

    try:
        status = main(argv)
    except SystemExit as exit_info:
        status = exit_info.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert "fairlead: error: " in err and "Traceback" not in err
    return err


SCENARIO_FILES = {  # file content -> what the error must say besides the file's name
    b'env = "chicken_v0"\n# caf\xe9\n': "is not UTF-8 text",
    b"\xff\xfe\x00\x01 binary \x80\x81": "is not UTF-8 text",
    b'env = "chicken_v0"\n[kwargs\nn_agents = 3\n': "is not valid TOML",
    b'env = "chicken_v0"\nkwarg = {n_agents = 3}\n': "unknown keys ['kwarg']",
    b'env = "chicken_v0"\n[kwargs]\nn_agentz = 3\n': "has no argument 'n_agentz' (did you mean 'n_agents'?)",
    b"env = 5\n": "'env' (an environment name, a string such as 'chicken_v0') is required, got 5",
    b'env = "chicken_v0"\nkwargs = 3\n': "[kwargs] must be a table, got 3",
    b'env = "chicken_v0"\ntraining = 5\n': "[training] must be a table of hyper-parameters, got 5",
    b'env = "chicken_v0"\ndescription = 5\n': "'description' must be a string, got 5",
}


@pytest.mark.parametrize("content, problem", SCENARIO_FILES.items(), ids=range(len(SCENARIO_FILES)))
def test_a_bad_scenario_file_is_named_with_its_problem(tmp_path, capsys, content, problem):
    path = tmp_path / "mine.toml"
    path.write_bytes(content)
    with pytest.raises((ValueError, TypeError)) as info:
        fairlead.make(str(path))
    assert f"scenario file {path}" in str(info.value) and problem in str(info.value)
    err = _cli_error(
        capsys,
        [
            "train",
            "--env",
            str(path),
            "--method",
            "fixed",
            "--seeds",
            "1",
            "--episodes",
            "2",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ],
    )
    assert f"scenario file {path}" in err and problem in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "names, error, message",
    [
        (5, TypeError, r"action_names must be a sequence of 2 distinct strings, one per action .* or None, got 5"),
        ("ab", TypeError, r"action_names must be a sequence of 2 distinct strings.*got 'ab'"),
        ([1, 2], TypeError, r"action_names must be a sequence of 2 distinct strings.*not a non-empty string"),
        (["a", "a"], ValueError, r"action_names must be a sequence of 2 distinct strings.*names an action twice"),
        (["a"], ValueError, r"action_names needs 2 names, got 1"),
    ],
)
def test_bad_action_names_name_the_argument_and_what_is_valid(names, error, message):
    with pytest.raises(error, match=message):
        fairlead.make("matrix_game_v0", payoff=[[1, 0], [0, 1]], action_names=names)
    game = fairlead.make("matrix_game_v0", payoff=[[1, 0], [0, 1]], action_names=["left", "right"], raw=True)
    assert game.action_names == ("left", "right")
    with pytest.raises(TypeError, match="environment chicken_v0 has no argument 'action_names'"):
        fairlead.make("chicken_v0", action_names=5)  # a named game's actions are named by the game


def _zero(returns, strength):
    return np.zeros_like(returns)


@pytest.mark.parametrize(
    "rule, shown",
    [(_zero, "transfer=(_zero, strength)"), ("unfair_advantage", "transfer=('unfair_advantage', strength)")],
)
def test_a_transfer_rule_without_its_strength_says_what_transfer_takes(rule, shown):
    env = fairlead.make("chicken_v0")
    with pytest.raises(TypeError) as info:
        fairlead.mediate(env, transfer=rule)
    message = str(info.value)
    assert "is a rule without a strength" in message and shown in message
    assert "transfer takes a strength beta in [0, 1]" in message and "'unfair_advantage' or a callable" in message
    assert fairlead.mediate(env, transfer=(rule, 0.5)).transfer.strength == 0.5  # the pair works
    assert "a rule alone, name or callable, is refused" in " ".join(fairlead.mediate.__doc__.split())
