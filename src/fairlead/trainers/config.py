"""Methods and hyper-parameters, read from the TOML catalogue in the top-level ``trainers/`` folder.

``trainers/defaults.toml`` holds the hyper-parameters every method shares;
``trainers/methods/<name>.toml`` holds one method: how the leader is chosen
(``selector``, ``[selector_kwargs]``), which history features the mediator
tracks (``history``) and the players see of their own past
(``agent_history``), and the end-game transfer (``transfer``: a strength for
the return-based rule, or ``[rule, strength]``). A scenario file may set its
own ``[training]``/``[agent]``/``[mediator]`` values; a user ``--config FILE``
overrides any subset of the keys.

Users add methods without touching the package: a method file anywhere (its
path, ending in ``.toml``, is the method; its stem is the name), or an
installed package's entry point (group ``fairlead.methods``: ``name =
"module:ATTR"``, ATTR being the path of a method file). A method's name becomes
a directory of its runs: it must follow ``fairlead.names.check_name`` (checked
before a method file is read or a package imported). A method file may name
a user selector class: ``selector = "module:Class"``, ``"file.py:Class"``
(relative to the method file) or an entry point's name (group
``fairlead.selectors``: ``name = "module:Class"``), and the players' learner:
``learner = "module:factory"``, ``"file.py:factory"`` or an entry point's name
(group ``fairlead.learners``), a factory of the learner protocol
(``fairlead.trainers.qlearning.Learner``). Such a method records where it came
from and the sha256 of its files (``Method.source``), so a run can tell when it
changed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np

from fairlead.mediation.observation import parse_agent_history, parse_history
from fairlead.mediation.transfer import check_settle, parse_transfer
from fairlead.names import check_name, did_you_mean, unknown_name
from fairlead.registry import HYPERPARAMETER_SECTIONS, catalogue_dir, scenario_hyperparameters
from fairlead.selectors import SELECTORS, Selector, make_selector
from fairlead.trainers.qlearning import (
    DEFAULTS,
    LEARNER_METHODS,
    LearnerFactory,
    QConfig,
    TabularQLearner,
    state_problem,
)

VECTOR_MEDIATOR = "vector_mediator"  # selector value: JAM-QL's mediator (trainers/vector_mediator.py)
LEARNED_MEDIATOR = "mediator"  # selector value: the scalar Q-learning mediator agent (jamql-scalar)
LEARNED_SELECTORS = (VECTOR_MEDIATOR, LEARNED_MEDIATOR)  # trained with the agents; take no kwargs
FIXED_SELECTORS = tuple(s for s in SELECTORS if s != "learned")  # "learned" needs a callable (a policy of its own)
BUILTIN_SELECTORS = (*LEARNED_SELECTORS, *FIXED_SELECTORS)
METHOD_GROUP, SELECTOR_GROUP = "fairlead.methods", "fairlead.selectors"  # entry-point groups of plug-ins
LEARNER_GROUP = "fairlead.learners"
USER_SELECTOR = 'or a class of yours, as "module:Class" or "file.py:Class" (relative to the method file)'
LEARNER_PROTOCOL = (
    "the learner protocol is factory(num_actions, config, rng) -> a learner with "
    "begin_episode(episode), act(state, mask, explore), update(state, action, reward, next_state, "
    "next_mask, done), state_dict() and load_state_dict(state), see docs/jamql.md"
)
USER_LEARNER = (
    'or a factory of yours, as "module:factory" or "file.py:factory" (relative to the method file); '
    "leave 'learner' out for the built-in tabular Q-learner"
)
METHOD_KEYS = (
    "description",
    "selector",
    "history",
    "agent_history",
    "transfer",
    "settle",
    "selector_kwargs",
    "learner",
)
# Listing order: JAM-QL, its ablations, the baselines; methods users add come after.
SHIPPED_ORDER = (
    "jamql",
    "jamql-no-selection",
    "jamql-no-history",
    "jamql-no-endgame",
    "jamql-selection-only",
    "jamql-scalar",
    "fixed",
    "alternating",
    "random",
    "vote",
    "catch-up",
)


@dataclass(frozen=True)
class Method:
    name: str
    selector: str
    history: tuple[str, ...] = ()  # the mediator's history features
    transfer: float | list[str | float] = 0.0  # beta of mean_deviation, or [rule, strength]
    selector_kwargs: dict = field(default_factory=dict)
    description: str = ""
    agent_history: tuple[str, ...] = ()  # the players' own history features
    learner: str = ""  # the players' learner as the method file names it; "": the built-in TabularQLearner
    settle: str = (
        "end"  # when the transfer is paid: "end" (the end-game transfer) or "stage" (its change as it accrues)
    )
    # A user method's or user selector's origin: "file" (a method file given by path: the run reloads it from
    # there) or "entry_point", "sha256" of the method file; "selector" ("module:Class" or "/abs/file.py:Class"),
    # "selector_file", "selector_sha256"; "learner", "learner_file", "learner_sha256" likewise. Empty for a
    # built-in method.
    source: dict = field(default_factory=dict)

    def record(self) -> dict:
        """The definition a run records and fingerprints; ``learner``, ``source`` if set: built-in runs keep theirs."""
        record = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "source"
            and (f.name != "learner" or self.learner)
            and (f.name != "settle" or self.settle != "end")
        }
        return {**record, "source": self.source} if self.source else record

    def new_selector(self):
        """A fresh instance of the user selector (a method whose ``source`` names one), with its kwargs."""
        return import_object(self.source["selector"])(**self.selector_kwargs)

    def learner_factory(self) -> LearnerFactory:
        """What builds each player's learner: the user factory ``source`` names, or the built-in one."""
        return import_object(self.source["learner"]) if self.learner else TabularQLearner

    @property
    def user_selector(self) -> bool:
        return "selector" in self.source

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
        bad = [key for key, value in asdict(self).items() if not (isinstance(value, int) and value >= 1)]
        if bad:
            raise ValueError(f"[training] {bad} must be integers >= 1; got {asdict(self)}")


@dataclass(frozen=True)
class HyperParams:
    training: TrainingConfig = TrainingConfig()
    agent: QConfig = QConfig(**DEFAULTS["agent"])
    mediator: QConfig = QConfig(**DEFAULTS["mediator"])

    def as_dict(self) -> dict:
        return asdict(self)


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
    valid = [f.name for f in fields(section_obj)]
    for key, value in values.items():
        if key not in valid:
            raise ValueError(f"{where}: unknown key {key!r}{did_you_mean(key, valid)}; valid keys: {sorted(valid)}")
        current = getattr(section_obj, key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (isinstance(current, int) and not isinstance(value, int))
        ):
            raise ValueError(f"{where}.{key} must be a {type(current).__name__}, got {value!r}")
    return replace(
        section_obj, **{k: (float(v) if isinstance(getattr(section_obj, k), float) else v) for k, v in values.items()}
    )


def apply_overrides(hp: HyperParams, data: dict, where: str) -> HyperParams:
    unknown = set(data) - set(HYPERPARAMETER_SECTIONS)
    if unknown:
        raise ValueError(
            f"{where}: unknown sections {sorted(unknown)}; valid sections: {sorted(HYPERPARAMETER_SECTIONS)}"
        )
    return HyperParams(
        **{
            section: _override(getattr(hp, section), data.get(section, {}), f"{where} [{section}]")
            for section in HYPERPARAMETER_SECTIONS
        }
    )


def load_hyperparams(config_file: str | Path | None = None, scenario: str | None = None) -> HyperParams:
    """The shipped defaults, overridden by the ``scenario``'s own tables (if it has any), then by ``config_file``."""
    hp = HyperParams()
    if scenario is not None:
        tables, where = scenario_hyperparameters(scenario)
        hp = apply_overrides(hp, tables, where) if tables else hp
    if config_file is not None:
        hp = apply_overrides(hp, _read_toml(Path(config_file)), str(config_file))
    return hp


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def source_entries(kind: str, target: str, obj, fallback=None) -> dict:
    """``{kind: target, kind_file, kind_sha256}``: the file defining ``obj`` and its sha256, so a run sees it change.

    Code without a source file (a builtin, C code) has the file ``fallback()`` names, or None and nothing to hash.
    """
    try:
        file = inspect.getsourcefile(obj)
    except TypeError:
        file = fallback() if fallback else None
    return {kind: target, f"{kind}_file": file, f"{kind}_sha256": file and _sha256(file)}


def _entry_points(group: str) -> dict:
    """Installed packages' plug-ins of ``group`` by name; none is imported here."""
    return {ep.name: ep for ep in entry_points(group=group)}


@functools.cache
def _module_from_file(path: Path, sha256: str):
    """The Python file ``path`` imported as a module of its own (once per content), so its classes pickle."""
    name = f"_fairlead_user_{hashlib.sha256(f'{path}:{sha256}'.encode()).hexdigest()[:16]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def import_object(target: str):
    """The object ``module:attr`` or ``/abs/file.py:attr`` names (``attr`` may be dotted)."""
    where, _, attr = target.rpartition(":")
    module = _module_from_file(Path(where), _sha256(where)) if where.endswith(".py") else importlib.import_module(where)
    try:
        return functools.reduce(getattr, attr.split("."), module)
    except AttributeError:
        raise AttributeError(f"{where} has no attribute {attr!r}") from None


def _import_plugin(kind: str, name: str, group: str, path: Path, builtin, valid) -> tuple[str, object]:
    """``(target, object)`` a method file's ``selector`` or ``learner`` names, imported.

    ``name``: an entry point's name of ``group``, ``"file.py:attr"`` (relative
    to the method file ``path``) or ``"module:attr"``; anything else is refused
    with ``valid(choices)`` (the ``builtin`` names and the entry points).
    """
    plugins = _entry_points(group)
    if name in plugins:
        target = f"{plugins[name].module}:{plugins[name].attr}"
    else:
        where, _, attr = name.rpartition(":")
        if not where or not attr:
            choices = [*builtin, *plugins]
            raise unknown_name(kind, name, choices, valid=valid(choices))
        target = f"{(path.parent / where).resolve()}:{attr}" if where.endswith(".py") else name
    try:
        return target, import_object(target)
    except Exception as err:  # anything the user's module raises while it is imported
        raise ValueError(f"cannot import {kind} {target!r}: {type(err).__name__}: {err}") from err


def _user_selector(selector: str, kwargs: dict, path: Path) -> dict:
    """Import the user selector a method file names and check it follows the selector protocol.

    Returns its ``source`` entries; a ValueError names the method file and the problem.
    """
    target, cls = _import_plugin(
        "selector",
        selector,
        SELECTOR_GROUP,
        path,
        BUILTIN_SELECTORS,
        lambda choices: f"valid selectors: {', '.join(choices)}; {USER_SELECTOR}",
    )
    protocol = "the selector protocol is reset(agents, rng) and select(view), see docs/mediator.md"
    if not isinstance(cls, type):
        raise ValueError(f"selector {target!r} is not a class but {cls!r}; {protocol}")
    missing = [
        m for m in ("reset", "select") if not callable(getattr(cls, m, None)) or getattr(cls, m) is Selector.select
    ]  # the base class's select only raises
    if missing:
        raise ValueError(f"selector class {target!r} does not define {' or '.join(missing)}; {protocol}")
    try:
        cls(**kwargs)  # bad [selector_kwargs] fail now, not in a worker
    except Exception as err:
        raise ValueError(
            f"selector {target!r} cannot be built with [selector_kwargs] {kwargs}: {type(err).__name__}: {err}"
        ) from err
    return source_entries("selector", target, cls)


def _user_learner(learner: str, path: Path) -> dict:
    """Import the learner factory a method file names and check that what it builds follows the protocol.

    Returns its ``source`` entries; a ValueError names the problem (the caller adds the method file).
    """
    target, factory = _import_plugin(
        "learner",
        learner,
        LEARNER_GROUP,
        path,
        (),
        lambda choices: (
            f"valid learners: the entry points of {LEARNER_GROUP} "
            f"({', '.join(choices) or 'none installed'}); {USER_LEARNER}"
        ),
    )
    if not callable(factory):
        raise ValueError(f"learner {target!r} is not callable but {factory!r}; {LEARNER_PROTOCOL}")

    def call(what: str, code):  # a learner that cannot be built or checkpointed fails now, not in a worker
        try:
            return code()
        except Exception as err:  # anything the user's code raises
            raise ValueError(
                f"learner {target!r} fails {what}: {type(err).__name__}: {err}; {LEARNER_PROTOCOL}"
            ) from err

    built = call("when built as factory(2, QConfig(), rng)", lambda: factory(2, QConfig(), np.random.default_rng(0)))
    missing = [m for m in LEARNER_METHODS if not callable(getattr(built, m, None))]
    if missing:
        raise ValueError(
            f"learner {target!r} built {built!r}, which does not define {', '.join(missing)}; {LEARNER_PROTOCOL}"
        )
    state = call("in state_dict()", built.state_dict)
    if problem := state_problem(state):
        raise ValueError(f"learner {target!r} cannot be checkpointed: its {problem}")
    call("to load its own state_dict()", lambda: built.load_state_dict(state))
    where = target.rpartition(":")[0]  # a callable object (e.g. a functools.partial): the file of the module naming it
    return source_entries(
        "learner",
        target,
        factory,
        lambda: where if where.endswith(".py") else getattr(sys.modules[where], "__file__", None),
    )


def _load_method(path: Path, name: str | None = None, source: dict | None = None) -> Method:
    """One method file, fully checked: every error names the file and the valid choices.

    ``name`` defaults to the file's stem; a ``source`` (a user method's origin) gets the file's sha256.
    """
    data = _read_toml(path, "method file")
    unknown = set(data) - set(METHOD_KEYS)
    if unknown:
        raise ValueError(f"method file {path}: unknown keys {sorted(unknown)}; valid keys: {sorted(METHOD_KEYS)}")
    selector, selector_kwargs = data.get("selector"), data.get("selector_kwargs", {})
    if not isinstance(selector, str):
        problem = "'selector' is missing" if selector is None else f"'selector' must be a string, got {selector!r}"
        raise ValueError(
            f"method file {path}: {problem}; valid selectors: {', '.join(BUILTIN_SELECTORS)}; {USER_SELECTOR}"
        )
    if not isinstance(selector_kwargs, dict):
        raise ValueError(f"method file {path}: [selector_kwargs] must be a table")
    if selector in LEARNED_SELECTORS and selector_kwargs:
        raise ValueError(f'method file {path}: selector "{selector}" takes no [selector_kwargs]')
    if not isinstance(data.get("description", ""), str):
        raise ValueError(f"method file {path}: description must be a string")
    learner = data.get("learner", "")
    if not isinstance(learner, str) or "learner" in data and not learner:
        raise ValueError(
            f"method file {path}: 'learner' must be a non-empty string, got {learner!r}; "
            f"an entry point's name of {LEARNER_GROUP} {USER_LEARNER}"
        )
    source = {**source, "sha256": _sha256(path)} if source else {}
    try:
        if selector not in BUILTIN_SELECTORS:
            source.update(_user_selector(selector, selector_kwargs, path))
        elif selector not in LEARNED_SELECTORS:
            make_selector(selector, **selector_kwargs)
        if learner:
            source.update(_user_learner(learner, path))
        history = parse_history(data.get("history", ()))
        agent_history = parse_agent_history(data.get("agent_history", ()))
        transfer = parse_transfer(data.get("transfer", 0.0)).describe()
        settle = check_settle(data.get("settle", "end"))
    except (TypeError, ValueError) as err:
        raise ValueError(f"method file {path}: {err}") from err
    return Method(
        name or path.stem,
        selector,
        history,
        transfer,
        dict(selector_kwargs),
        data.get("description", ""),
        agent_history,
        learner,
        settle,
        source,
    )


def method_names() -> list[str]:
    """The names of the catalogue's method files, in listing order (no file is read)."""
    names = (p.stem for p in (catalogue_dir("trainers") / "methods").glob("*.toml"))
    return sorted(names, key=lambda n: (SHIPPED_ORDER.index(n) if n in SHIPPED_ORDER else len(SHIPPED_ORDER), n))


def plugin_method_names() -> list[str]:
    """The names of the methods installed packages register (entry points ``fairlead.methods``), unloaded."""
    return sorted(_entry_points(METHOD_GROUP))


def load_methods() -> dict[str, Method]:
    """Every method of the catalogue; a malformed file raises an error that names it."""
    return {name: get_method(name) for name in method_names()}


def get_method(name: str) -> Method:
    """One method: a catalogue name, an entry point's name, or a method file's path (``.toml``).

    Only that method's file is read (a malformed other one does not matter).
    """
    if os.fspath(name).endswith(".toml"):
        path = Path(name).resolve()
        try:
            check_name("method", path.stem)
        except ValueError as err:
            raise ValueError(f"method file {path}: {err}; a method file's name is its stem: rename the file") from None
        if path.stem in method_names():
            raise ValueError(
                f"method file {path}: its name {path.stem!r} (the file's stem) is a built-in method's; rename the file"
            )
        return _load_method(path, source={"file": str(path)})
    names = method_names()
    if name in names:
        check_name("method", name)  # a catalogue file added by hand
        return _load_method(catalogue_dir("trainers") / "methods" / f"{name}.toml")
    plugins = _entry_points(METHOD_GROUP)
    if name not in plugins:
        choices = [*names, *plugins]
        raise unknown_name(
            "method", name, choices, valid=f"valid methods: {', '.join(choices)}; or the path of a method file (.toml)"
        )
    where = f"method {name!r} (entry point {plugins[name].value!r} of {METHOD_GROUP})"
    try:
        check_name("method", name)  # before the package is imported
    except ValueError as err:
        raise ValueError(f"{where}: {err}; rename the entry point") from None
    try:
        path = Path(os.fspath(plugins[name].load()))
    except Exception as err:  # anything the package raises while it is imported
        raise ValueError(f"{where} cannot be loaded: {type(err).__name__}: {err}") from err
    return _load_method(path, name, {"entry_point": plugins[name].value})
