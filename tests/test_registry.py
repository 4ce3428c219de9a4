"""``fairlead.make`` / ``list_envs`` / ``list_scenarios`` and the scenario catalogue."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pettingzoo
import pytest
from conftest import API_TEST_WARNINGS
from pettingzoo.test import api_test

import fairlead
from fairlead.envs.parallel import PhaseParallelEnv
from fairlead.envs.stackelberg import StackelbergEnv
from fairlead.registry import catalogue_dir, load_scenario

pytestmark = pytest.mark.filterwarnings(*API_TEST_WARNINGS)

REPO = Path(__file__).resolve().parents[1]
MATRIX_GAMES = {"prisoners_dilemma_v0", "chicken_v0", "stag_hunt_v0", "battle_of_sexes_v0", "matrix_game_v0"}


def test_list_envs():
    names = fairlead.list_envs()
    assert MATRIX_GAMES <= set(names)
    assert len(names) == len(set(names))
    assert all(name.endswith("_v0") for name in names)
    names.append("mutated")
    assert "mutated" not in fairlead.list_envs()  # a copy, not the registry itself


@pytest.mark.parametrize("name", fairlead.list_envs())
def test_every_env_module_follows_conventions(name):
    import importlib

    module = importlib.import_module(f"fairlead.envs.{name}")
    assert module.raw_env.metadata["name"] == name
    assert module.raw_env.metadata["render_modes"] == ["ansi"]
    assert module.raw_env.metadata["is_parallelizable"] is False  # parallel_env() is the parallel view
    assert "render_fps" in module.raw_env.metadata
    assert callable(module.env) and callable(module.parallel_env)
    assert module.__doc__ and module.__doc__.strip()


@pytest.mark.parametrize("spelling", ["chicken_v0", "chicken-v0", "fairlead/chicken-v0", " chicken_v0 "])
def test_make_env_names_and_ids(spelling):
    env = fairlead.make(spelling, n_agents=3)
    assert env.metadata["name"] == "chicken_v0"
    assert env.possible_agents == ["player_0", "player_1", "player_2"]
    assert isinstance(env.unwrapped, StackelbergEnv)
    assert env is not env.unwrapped  # wrapped with PettingZoo's checks by default


def test_make_raw_and_parallel():
    raw = fairlead.make("stag_hunt_v0", raw=True)
    assert isinstance(raw, StackelbergEnv) and raw is raw.unwrapped
    par = fairlead.make("stag_hunt_v0", parallel=True, max_cycles=3)
    assert isinstance(par, PhaseParallelEnv)
    assert par.max_cycles == 3
    with pytest.raises(ValueError, match="at most one of parallel=True and raw=True"):
        fairlead.make("stag_hunt_v0", parallel=True, raw=True)
    with pytest.raises(ValueError, match="at most one of parallel=True and raw=True"):
        fairlead.make("chicken-4p", parallel=True, raw=True)


def test_list_scenarios_matches_catalogue():
    scenarios = fairlead.list_scenarios()
    files = sorted(p.stem for p in (REPO / "envs").glob("*.toml"))
    assert sorted(scenarios) == files
    assert {"chicken-2p", "chicken-4p", "prisoners-dilemma-2p"} <= set(scenarios)
    assert catalogue_dir("envs").resolve() == (REPO / "envs").resolve()
    for name, scenario in scenarios.items():
        assert scenario.name == name
        assert scenario.env in fairlead.list_envs()
        assert scenario.description  # shipped scenarios say what they are


@pytest.mark.parametrize("name", sorted(fairlead.list_scenarios()))
def test_every_shipped_scenario_builds(name):
    scenario = fairlead.list_scenarios()[name]
    env = fairlead.make(name)
    assert env.metadata["name"] == scenario.env
    raw = env.unwrapped
    for key, value in scenario.kwargs.items():
        if key == "n_agents":
            assert len(raw.possible_agents) == value
        elif hasattr(raw, key):
            assert getattr(raw, key) == value
    api_test(env, num_cycles=5)
    assert isinstance(fairlead.make(name, parallel=True), PhaseParallelEnv)


def test_scenario_by_path_and_kwargs_override():
    path = REPO / "envs" / "chicken-4p.toml"
    env = fairlead.make(str(path))
    assert env.metadata["name"] == "chicken_v0"
    assert len(env.possible_agents) == 4 and env.unwrapped.max_cycles == 10
    env = fairlead.make(str(path), max_cycles=3, obs_encoding="box")
    assert len(env.possible_agents) == 4  # kept from the scenario
    assert env.unwrapped.max_cycles == 3 and env.unwrapped.obs_encoding == "box"
    env = fairlead.make("chicken-4p", n_agents=5)
    assert len(env.possible_agents) == 5 and env.unwrapped.max_cycles == 10


def test_user_scenario_folder(tmp_path):
    (tmp_path / "my-coordination.toml").write_text(
        textwrap.dedent("""
        description = "pure coordination, 3 actions, 3 players"
        env = "matrix_game_v0"
        [kwargs]
        payoff = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
        n_agents = 3
        max_cycles = 4
    """)
    )
    scenarios = fairlead.list_scenarios(tmp_path)
    assert list(scenarios) == ["my-coordination"]
    assert scenarios["my-coordination"].kwargs["n_agents"] == 3
    env = fairlead.make(str(tmp_path / "my-coordination.toml"))
    assert env.action_space("player_0").n == 3 and len(env.possible_agents) == 3
    api_test(env, num_cycles=5)
    scenario = load_scenario(tmp_path / "my-coordination.toml")
    assert scenario.env == "matrix_game_v0" and scenario.description.startswith("pure")


def test_scenario_env_accepts_registry_id(tmp_path):
    path = tmp_path / "pd.toml"
    path.write_text('env = "fairlead/prisoners_dilemma-v0"\n')
    scenario = load_scenario(path)
    assert scenario.env == "prisoners_dilemma_v0" and scenario.kwargs == {}
    assert fairlead.make(str(path)).metadata["name"] == "prisoners_dilemma_v0"


@pytest.mark.parametrize(
    "text, fragments",
    [
        ('env = "chicken_v0"\n[kwargs\nn_agents = 2\n', ["cannot read scenario file"]),
        ('env = "chicken_v0"\ncolour = "red"\n', ["unknown keys ['colour']", "env, kwargs, description"]),
        ('description = "no env"\n[kwargs]\nn_agents = 2\n', ["'env'", "required"]),
        ("env = 3\n", ["'env'", "required"]),
        ('env = "chiken_v0"\n', ["unknown environment 'chiken_v0'", "did you mean 'chicken_v0'"]),
        ('env = "chicken_v0"\nkwargs = 3\n', ["[kwargs] must be a table"]),
    ],
    ids=["malformed", "unknown-key", "missing-env", "env-not-string", "unknown-env", "kwargs-not-table"],
)
def test_bad_scenario_files(tmp_path, text, fragments):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    for call in (
        lambda: load_scenario(path),
        lambda: fairlead.make(str(path)),
        lambda: fairlead.list_scenarios(tmp_path),
    ):
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert str(path) in message, message  # names the file ...
        for fragment in fragments:
            assert fragment in message  # ... and the problem


def test_missing_scenario_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ValueError, match="cannot read scenario file .*nope.toml"):
        fairlead.make(str(path))


def test_bad_kwargs_in_scenario_give_env_errors(tmp_path):
    path = tmp_path / "one-player.toml"
    path.write_text('env = "chicken_v0"\n[kwargs]\nn_agents = 1\n')
    with pytest.raises(ValueError, match=r"n_agents must be an integer (>= 2|in 2\.\.)"):
        fairlead.make(str(path))
    path.write_text('env = "chicken_v0"\n[kwargs]\nn_agent = 3\n')
    with pytest.raises(TypeError, match="n_agent"):
        fairlead.make(str(path))


@pytest.mark.parametrize(
    "typo, suggestion", [("chiken_v0", "chicken_v0"), ("chicken-5p", "chicken-4p"), ("stag-hunt-2", "stag-hunt-2p")]
)
def test_unknown_name_suggests_env_or_scenario(typo, suggestion):
    with pytest.raises(ValueError) as info:
        fairlead.make(typo)
    message = str(info.value)
    assert repr(typo) in message and f"did you mean {suggestion!r}" in message
    assert "chicken-2p" in message and "matrix_game_v0" in message  # valid names listed


def test_pettingzoo_registration():
    for name in fairlead.list_envs():
        env_id = f"fairlead/{name[:-3]}-v0"
        assert env_id in pettingzoo.aec_registry
        assert env_id in pettingzoo.parallel_registry
    fairlead.registry.register_with_pettingzoo()  # idempotent
    env = pettingzoo.make("aec", "fairlead/chicken-v0", n_agents=4)
    assert env.metadata["name"] == "chicken_v0" and len(env.possible_agents) == 4
    par = pettingzoo.make("parallel", "fairlead/battle_of_sexes-v0", max_cycles=2)
    assert isinstance(par, PhaseParallelEnv) and par.max_cycles == 2
    # pettingzoo.make's max_cycles reaches the env as its horizon (a termination)
    env = pettingzoo.make("aec", "fairlead/stag_hunt-v0", max_cycles=3)
    env.reset()
    steps = 0
    for _agent in env.agent_iter():
        _, _, term, trunc, _ = env.last()
        assert not trunc
        env.step(None if term else 0)
        steps += 1
    assert steps == 3 * 2 + 2
