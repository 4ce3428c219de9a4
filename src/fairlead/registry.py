"""Names of environments and scenarios: ``make()``, ``list_envs()``, ``list_scenarios()``.

An *environment* is a module under ``fairlead.envs`` (``chicken_v0``). A
*scenario* is a named setting of one, declared in a TOML file of the scenario
catalogue (the repository's top-level ``envs/`` folder, shipped inside the
package) or of any folder a user passes, e.g. ``envs/chicken-4p.toml``::

    description = "Chicken, 4 players, 10 stages"
    env = "chicken_v0"
    [kwargs]
    n_agents = 4
    max_cycles = 10

Importing ``fairlead`` also registers every environment in PettingZoo's own
registry under the namespace ``fairlead`` (``fairlead/chicken-v0``).
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pettingzoo

from fairlead.names import check_name, did_you_mean, unknown_name

ENV_MODULES = (
    "prisoners_dilemma_v0",
    "chicken_v0",
    "stag_hunt_v0",
    "battle_of_sexes_v0",
    "matrix_game_v0",
    "cournot_v0",
    "resource_collection_v0",
)
NAMESPACE = "fairlead"


@dataclass(frozen=True)
class Scenario:
    name: str
    env: str
    kwargs: dict = field(default_factory=dict)
    description: str = ""
    hyperparameters: dict = field(default_factory=dict)  # [training] / [agent] / [mediator] tables, if any


def _catalogue_dir() -> Path:
    """The scenario catalogue: packaged copy in a wheel, the repo's envs/ in a checkout."""
    packaged = Path(__file__).parent / "catalogue" / "envs"
    return packaged if packaged.is_dir() else Path(__file__).parents[2] / "envs"


def catalogue_dir(kind: str) -> Path:
    """Top-level folder ``kind`` ("envs" or "trainers") of the shipped catalogue."""
    return _catalogue_dir().parent / kind


HYPERPARAMETER_SECTIONS = ("training", "agent", "mediator")  # a scenario may override these, with its reason


def _name(name) -> str:
    """``name`` as a string (a path object gives its path), or a TypeError saying what a name is."""
    if isinstance(name, (str, os.PathLike)):
        return os.fspath(name)
    raise TypeError(
        "env name must be a string such as 'chicken_v0' or a scenario name such as 'chicken-2p' "
        f"(`fairlead list` shows them all) or the path of a scenario .toml file; got {name!r}"
    )


def _canonical(name: str) -> str:
    """Accept ``chicken_v0``, ``chicken-v0`` and ``fairlead/chicken-v0``."""
    name = _name(name).strip().removeprefix(f"{NAMESPACE}/")
    if name.endswith("-v0"):
        name = name[:-3] + "_v0"
    return name


def list_envs() -> list[str]:
    return list(ENV_MODULES)


def env_module(name: str):
    canonical = _canonical(name)
    if canonical not in ENV_MODULES:
        raise unknown_name("environment", name, ENV_MODULES)
    return importlib.import_module(f"fairlead.envs.{canonical}")


def load_scenario(path: str | Path) -> Scenario:
    """Read one scenario TOML file, with errors that name the file and the problem."""
    path = Path(path)
    try:
        check_name("scenario", path.stem)
    except ValueError as err:
        raise ValueError(f"scenario file {path}: {err}; a scenario file's name is its stem: rename the file") from None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))  # TOML is UTF-8, whatever the locale
    except OSError as err:
        raise ValueError(f"cannot read scenario file {path}: {err}") from err
    except UnicodeDecodeError as err:
        raise ValueError(
            f"cannot read scenario file {path}: it is not UTF-8 text (byte {err.start}: {err.reason}); "
            "a scenario file is TOML, which is UTF-8: save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"cannot read scenario file {path}: it is not valid TOML ({err})") from None
    valid = ("env", "kwargs", "description", *HYPERPARAMETER_SECTIONS)
    unknown = set(data) - set(valid)
    if unknown:
        raise ValueError(f"scenario file {path}: unknown keys {sorted(unknown)}; valid keys: {', '.join(valid)}")
    if not isinstance(data.get("env"), str):
        got = f", got {data['env']!r}" if "env" in data else ""
        raise ValueError(
            f"scenario file {path}: 'env' (an environment name, a string such as 'chicken_v0') is required{got}"
        )
    try:
        env_module(data["env"])
    except ValueError as err:
        raise ValueError(f"scenario file {path}: {err}") from err
    kwargs = data.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ValueError(f"scenario file {path}: [kwargs] must be a table, got {kwargs!r}")
    if not isinstance(data.get("description", ""), str):
        raise ValueError(f"scenario file {path}: 'description' must be a string, got {data['description']!r}")
    hyperparameters = {k: data[k] for k in HYPERPARAMETER_SECTIONS if k in data}
    for section, table in hyperparameters.items():
        if not isinstance(table, dict):
            raise ValueError(f"scenario file {path}: [{section}] must be a table of hyper-parameters, got {table!r}")
    return Scenario(path.stem, _canonical(data["env"]), kwargs, data.get("description", ""), hyperparameters)


def scenario_hyperparameters(name: str) -> tuple[dict, str]:
    """The hyper-parameter tables a scenario sets (``{}`` for a bare env name), and where they come from."""
    if _name(name).endswith(".toml"):
        return load_scenario(name).hyperparameters, f"scenario file {name}"
    scenarios = list_scenarios()
    if name in scenarios:
        return scenarios[name].hyperparameters, f"scenario {name!r}"
    return {}, ""


def list_scenarios(directory: str | Path | None = None) -> dict[str, Scenario]:
    folder = Path(directory) if directory is not None else _catalogue_dir()
    return {p.stem: load_scenario(p) for p in sorted(folder.glob("*.toml"))}


def check_env_kwargs(env: str, kwargs: dict, where: str = "") -> None:
    """TypeError naming the env, the keyword and the valid ones if ``env`` takes no keyword in ``kwargs``."""
    params = inspect.signature(env_module(env).raw_env).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    valid = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in kwargs:
        if key not in valid:
            raise TypeError(
                f"{where}environment {env} has no argument {key!r}{did_you_mean(key, valid)}; "
                f"valid arguments: {', '.join(valid)}"
            )


def env_defaults(env: str) -> dict:
    """The arguments of ``env`` that have defaults, with them (as JSON gives them back: tuples as lists).

    A run records only the arguments it was given; with these, two runs of
    the same env and the same effective arguments compare equal.
    """
    params = inspect.signature(env_module(env).raw_env).parameters.values()
    return {
        p.name: json.loads(json.dumps(p.default, default=list))
        for p in params
        if p.default is not p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def resolve(name: str, **kwargs) -> tuple[str, dict]:
    """(environment module name, keyword arguments) behind an env, scenario or TOML path.

    Every keyword is checked against the environment's arguments (``kwargs`` first,
    then the scenario's), so a typo fails here with the valid names, not in the env.
    """
    name = _name(name)
    if name.endswith(".toml"):
        scenario, where = load_scenario(name), f"scenario file {name}: "
    elif _canonical(name) in ENV_MODULES:
        check_env_kwargs(_canonical(name), kwargs)
        return _canonical(name), kwargs
    else:
        scenarios = list_scenarios()
        if name not in scenarios:
            choices = list(ENV_MODULES) + list(scenarios)
            raise unknown_name("environment or scenario", name, choices, valid=f"valid names: {', '.join(choices)}")
        scenario, where = scenarios[name], f"scenario {name!r}: "
    check_env_kwargs(scenario.env, kwargs)
    check_env_kwargs(scenario.env, scenario.kwargs, where)
    return scenario.env, {**scenario.kwargs, **kwargs}


def make(name: str, *, parallel: bool = False, raw: bool = False, **kwargs):
    """Build an environment or scenario by name.

    ``name`` is an environment (``"chicken_v0"``), a scenario of the catalogue
    (``"chicken-4p"``) or a path to a scenario TOML file. Keyword arguments
    override the scenario's. Returns the wrapped AEC env, the phase-based
    parallel view with ``parallel=True``, or the bare ``raw_env`` with ``raw=True``.
    """
    if parallel and raw:
        raise ValueError("choose at most one of parallel=True and raw=True")
    name, kwargs = resolve(name, **kwargs)
    module = env_module(name)
    if parallel:
        return module.parallel_env(**kwargs)
    return module.raw_env(**kwargs) if raw else module.env(**kwargs)


def register_with_pettingzoo() -> None:
    """Register every environment as ``fairlead/<name>-v0`` (AEC and parallel)."""
    for name in ENV_MODULES:
        env_id = f"{NAMESPACE}/{name[:-3]}-v0"
        module = f"fairlead.envs.{name}"
        if env_id not in pettingzoo.aec_registry:
            pettingzoo.register("aec", env_id, entry_point=f"{module}:env")
            pettingzoo.register("parallel", env_id, entry_point=f"{module}:parallel_env")
