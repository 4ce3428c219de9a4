"""Methods and hyper-parameters, read from the TOML catalogue in the top-level ``trainers/`` folder.

``trainers/defaults.toml`` holds the hyper-parameters every method shares;
``trainers/methods/<name>.toml`` holds one method: how the leader is chosen
(``selector``, ``[selector_kwargs]``), which history features the mediator
tracks (``history``) and the players see of their own past
(``agent_history``), and the end-game transfer (``transfer``: a strength for
the return-based rule, or ``[rule, strength]``). A scenario file may set its
own ``[training]``/``[agent]``/``[mediator]`` values; a user ``--config FILE``
overrides any subset of the keys.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from fairlead.mediation.observation import parse_agent_history, parse_history
from fairlead.mediation.selectors import SELECTORS, make_selector
from fairlead.mediation.transfer import parse_transfer
from fairlead.names import did_you_mean, unknown_name
from fairlead.registry import catalogue_dir
from fairlead.trainers.qlearning import DEFAULTS, QConfig

VECTOR_MEDIATOR = "vector_mediator"  # selector value: JAM-QL's mediator (trainers/vector_mediator.py)
LEARNED_MEDIATOR = "mediator"  # selector value: the scalar Q-learning mediator agent (jamql-scalar)
LEARNED_SELECTORS = (VECTOR_MEDIATOR, LEARNED_MEDIATOR)  # trained with the agents; take no kwargs
# Listing order: JAM-QL, its ablations, the baselines; methods users add come after.
SHIPPED_ORDER = ("jamql", "jamql-no-selection", "jamql-no-history", "jamql-no-endgame",
                 "jamql-selection-only", "jamql-scalar",
                 "fixed", "alternating", "random", "vote", "catch-up")


@dataclass(frozen=True)
class Method:
    name: str
    selector: str
    history: tuple[str, ...] = ()  # the mediator's history features
    transfer: float | list = 0.0  # beta of mean_deviation, or [rule, strength]
    selector_kwargs: dict = field(default_factory=dict)
    description: str = ""
    agent_history: tuple[str, ...] = ()  # the players' own history features

    @property
    def learned_mediator(self) -> bool:
        """The scalar mediator agent (``selector = "mediator"``)."""
        return self.selector == LEARNED_MEDIATOR

    @property
    def vector_mediator(self) -> bool:
        return self.selector == VECTOR_MEDIATOR


@dataclass(frozen=True)
class TrainingConfig:
    """The ``[training]`` table; defaults from trainers/defaults.toml."""

    episodes: int = DEFAULTS["training"]["episodes"]
    eval_episodes: int = DEFAULTS["training"]["eval_episodes"]
    log_every: int = DEFAULTS["training"]["log_every"]
    curve_episodes: int = DEFAULTS["training"]["curve_episodes"]
    checkpoint_every: int = DEFAULTS["training"]["checkpoint_every"]

    def __post_init__(self):
        bad = [f.name for f in fields(self) if not (isinstance(getattr(self, f.name), int) and getattr(self, f.name) >= 1)]
        if bad:
            raise ValueError(f"[training] {bad} must be integers >= 1; got {asdict(self)}")


@dataclass(frozen=True)
class HyperParams:
    training: TrainingConfig = TrainingConfig()
    agent: QConfig = QConfig(**DEFAULTS["agent"])
    mediator: QConfig = QConfig(**DEFAULTS["mediator"])

    def as_dict(self) -> dict:
        return {"training": asdict(self.training), "agent": asdict(self.agent), "mediator": asdict(self.mediator)}


def _read_toml(path: Path, what: str = "config file") -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ValueError(f"cannot read {what} {path}: {err}") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{what} {path} is not UTF-8 text ({err}); save it as UTF-8") from err
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{what} {path} is not valid TOML: {err}") from err


def _override(section_obj, values: dict, where: str):
    if not isinstance(values, dict):
        raise ValueError(f"{where} must be a table of keys")
    valid = {f.name: f.type for f in fields(section_obj)}
    for key, value in values.items():
        if key not in valid:
            raise ValueError(f"{where}: unknown key {key!r}{did_you_mean(key, valid)}; valid keys: {sorted(valid)}")
        current = getattr(section_obj, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(current, int) and not isinstance(value, int)
        ):
            raise ValueError(f"{where}.{key} must be a {type(current).__name__}, got {value!r}")
    return replace(section_obj, **{k: (float(v) if isinstance(getattr(section_obj, k), float) else v) for k, v in values.items()})


def apply_overrides(hp: HyperParams, data: dict, where: str) -> HyperParams:
    sections = {"training", "agent", "mediator"}
    unknown = set(data) - sections
    if unknown:
        raise ValueError(f"{where}: unknown sections {sorted(unknown)}; valid sections: {sorted(sections)}")
    return HyperParams(
        training=_override(hp.training, data.get("training", {}), f"{where} [training]"),
        agent=_override(hp.agent, data.get("agent", {}), f"{where} [agent]"),
        mediator=_override(hp.mediator, data.get("mediator", {}), f"{where} [mediator]"),
    )


def load_hyperparams(config_file: str | Path | None = None, scenario: str | None = None) -> HyperParams:
    """The shipped defaults, overridden by the ``scenario``'s own tables (if it has any), then by ``config_file``."""
    from fairlead.registry import scenario_hyperparameters

    hp = HyperParams()
    if scenario is not None:
        tables, where = scenario_hyperparameters(scenario)
        hp = apply_overrides(hp, tables, where) if tables else hp
    if config_file is not None:
        hp = apply_overrides(hp, _read_toml(Path(config_file)), str(config_file))
    return hp


def _load_method(path: Path) -> Method:
    """One method file, fully checked: every error names the file and the valid choices."""
    data = _read_toml(path, "method file")
    valid = {"description", "selector", "history", "agent_history", "transfer", "selector_kwargs"}
    unknown = set(data) - valid
    if unknown:
        raise ValueError(f"method file {path}: unknown keys {sorted(unknown)}; valid keys: {sorted(valid)}")
    selectors = (*LEARNED_SELECTORS, *(s for s in SELECTORS if s != "learned"))  # "learned" needs a callable
    selector, selector_kwargs = data.get("selector"), data.get("selector_kwargs", {})
    if selector not in selectors:
        problem = "'selector' is missing" if selector is None else f"unknown selector {selector!r}"
        raise ValueError(f"method file {path}: {problem}{did_you_mean(selector, selectors) if selector else ''}; "
                         f"valid selectors: {', '.join(selectors)}")
    if not isinstance(selector_kwargs, dict):
        raise ValueError(f"method file {path}: [selector_kwargs] must be a table")
    if selector in LEARNED_SELECTORS and selector_kwargs:
        raise ValueError(f"method file {path}: selector \"{selector}\" takes no [selector_kwargs]")
    if not isinstance(data.get("description", ""), str):
        raise ValueError(f"method file {path}: description must be a string")
    try:
        if selector not in LEARNED_SELECTORS:
            make_selector(selector, **selector_kwargs)
        history = parse_history(data.get("history", ()))
        agent_history = parse_agent_history(data.get("agent_history", ()))
        transfer = parse_transfer(data.get("transfer", 0.0)).describe()
    except (TypeError, ValueError) as err:
        raise ValueError(f"method file {path}: {err}") from err
    return Method(path.stem, selector, history, transfer, dict(selector_kwargs), data.get("description", ""),
                  agent_history)


def method_names() -> list[str]:
    """The names of the catalogue's method files, in listing order (no file is read)."""
    names = (p.stem for p in (catalogue_dir("trainers") / "methods").glob("*.toml"))
    return sorted(names, key=lambda n: (SHIPPED_ORDER.index(n) if n in SHIPPED_ORDER else len(SHIPPED_ORDER), n))


def load_methods() -> dict[str, Method]:
    """Every method of the catalogue; a malformed file raises an error that names it."""
    return {name: get_method(name) for name in method_names()}


def get_method(name: str) -> Method:
    """One method, reading only its own file (a malformed other one does not matter)."""
    names = method_names()
    if name not in names:
        raise unknown_name("method", name, names)
    return _load_method(catalogue_dir("trainers") / "methods" / f"{name}.toml")
