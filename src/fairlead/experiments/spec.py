"""What a run is: its environment, methods, seeds and hyper-parameters, and their fingerprint.

:class:`RunSpec` is what ``fairlead train`` asks for; ``run.json`` records it,
and :func:`load_spec` reads it back, checking the plug-in files its methods
name before anything is imported (a run directory is data, not code).
:func:`spec_differences` says, option by option, why one run cannot extend another.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from fairlead.experiments.comparison import EVALUATION_KIND, RUN_FILE
from fairlead.experiments.directories import RunDirectoryError
from fairlead.registry import env_module, make
from fairlead.trainers.config import HyperParams, apply_overrides, get_method

MAX_SEEDS = 100_000  # seeds a run (and each sweep cell, and `fairlead evaluate`) may have: 0..MAX_SEEDS-1 at most


def check_seed_count(count) -> int:
    """``count`` (seeds ``0 .. count-1``) if it is a whole number in 1..MAX_SEEDS: checked before anything is allocated."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SEEDS:
        raise ValueError(f"expected a number of seeds from 1 to {MAX_SEEDS:,} (MAX_SEEDS), got {count!r}")
    return count


@dataclass(frozen=True)
class RunSpec:
    """A run. ``methods`` may be given as names or method-file paths (``.toml``); it then holds the names."""

    env: str
    env_kwargs: dict
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    hp: HyperParams = field(default_factory=HyperParams)

    def __post_init__(self):
        env_module(self.env)  # clear error for unknown names
        # unknown names and malformed method files fail here; each file is read once per spec
        definitions = [get_method(str(m)) for m in self.methods]
        object.__setattr__(self, "methods", tuple(d.name for d in definitions))
        object.__setattr__(self, "definitions", {d.name: d for d in definitions})
        if not self.methods or not self.seeds:
            raise ValueError("a run needs at least one method and one seed")
        if len(self.seeds) > MAX_SEEDS:
            raise ValueError(f"a run takes at most {MAX_SEEDS:,} seeds (MAX_SEEDS), got {len(self.seeds):,}")
        origin = {}
        for d in definitions:  # two method files of one stem, or a file named like an entry-point method
            where = d.source.get("file", d.name)
            if origin.setdefault(d.name, where) != where:
                raise ValueError(
                    f"{origin[d.name]} and {where} both define method {d.name!r} (a method file's "
                    "name is its stem); rename one"
                )
        for kind, values in (("method", self.methods), ("seed", self.seeds)):
            twice = [v for v, count in Counter(values).items() if count > 1]
            if twice:
                raise ValueError(f"{kind} {', '.join(map(str, twice))} given more than once; give each {kind} once")
        scale = make(self.env, **self.env_kwargs).unwrapped.return_scale  # env options checked now, not in a worker
        if not scale > 0:
            raise ValueError(
                f"environment {self.env} with options {self.env_kwargs} pays every agent the same "
                f"in every stage (return_scale {scale}): fairness cannot be measured on it; "
                "choose payoffs that differ"
            )
        object.__setattr__(self, "fingerprint", _hash(self.as_dict()))

    def seed_fingerprint(self, method: str) -> str:
        """What a (method, seed) run's files depend on: the env, the hyper-parameters, the method's definition."""
        return _hash(
            {
                "env": self.env,
                "env_kwargs": self.env_kwargs,
                "hyperparameters": self.hp.as_dict(),
                "method": self.definitions[method].record(),
            }
        )

    def extended(self, other: RunSpec) -> RunSpec:
        """This run with ``other``'s methods and seeds added (its settings must be this run's: :func:`spec_differences`)."""
        methods = self.method_args + tuple(a for m, a in zip(other.methods, other.method_args) if m not in self.methods)
        seeds = self.seeds + tuple(s for s in other.seeds if s not in self.seeds)
        return RunSpec(self.env, self.env_kwargs, methods, seeds, self.hp)

    @property
    def method_args(self) -> tuple[str, ...]:
        """The methods as to give them again: a method file by its path (as run.json records it), others by name."""
        return tuple(d.source.get("file", m) for m, d in self.definitions.items())

    def as_dict(self) -> dict:
        return {
            "env": self.env,
            "env_kwargs": self.env_kwargs,
            "methods": {m: d.record() for m, d in self.definitions.items()},
            "seeds": list(self.seeds),
            "hyperparameters": self.hp.as_dict(),
        }

    def fields(self) -> dict:
        """Every setting and method definition as a flat ``name: value`` table, to say where two runs disagree."""
        return {
            "env": self.env,
            **{f"env_kwargs.{k}": v for k, v in self.env_kwargs.items()},
            **{f"methods.{m}.{k}": v for m, d in self.definitions.items() for k, v in _flat(d.record()).items()},
            **{f"{section}.{k}": v for section, values in self.hp.as_dict().items() for k, v in values.items()},
        }


# The `fairlead train` option behind a field, else behind its prefix (env_kwargs.*, methods.*), else --config.
OPTIONS = {
    "env": "--env",
    "env_kwargs.n_agents": "--n-agents",
    "env_kwargs.max_cycles": "--max-cycles",
    "training.episodes": "--episodes or --config",
    "env_kwargs": "--env",
    "methods": "--method",
}


def _hash(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=list).encode()).hexdigest()[:16]


def spec_differences(recorded: RunSpec, asked: RunSpec) -> list[str]:
    """Why ``asked`` cannot extend ``recorded``: one line per differing setting, naming the option that sets it.

    The methods and seeds may differ (a run grows by them), but not the
    definition of a method both name.
    """
    shared = set(recorded.methods) & set(asked.methods)
    old, new = (
        {k: v for k, v in spec.fields().items() if not k.startswith("methods.") or k.split(".")[1] in shared}
        for spec in (recorded, asked)
    )

    def show(values: dict, key: str) -> str:
        return repr(values[key]) if key in values else "unset"

    lines = []
    for key in dict.fromkeys([*old, *new]):
        if show(old, key) != show(new, key):
            option = OPTIONS.get(key, OPTIONS.get(key.partition(".")[0], "--config"))
            lines.append(f"{key} ({option}): recorded {show(old, key)}, asked {show(new, key)}")
    return lines


def load_spec(out: Path, trust_plugins: bool = False) -> RunSpec:
    """The RunSpec recorded in a run directory.

    A run directory is data: the plug-in files its methods name (method files,
    selectors, learners) are checked before any is imported: each must be
    there with the sha256 recorded, and none may lie inside ``out`` unless
    ``trust_plugins`` (the user has read them).
    """
    try:
        record = json.loads((out / RUN_FILE).read_text())
        if isinstance(record, dict) and record.get("kind") == EVALUATION_KIND:
            raise RunDirectoryError(
                f"{out} holds a policy evaluation (`fairlead evaluate`), not a trained run: it "
                "cannot be resumed, grown or re-evaluated; evaluate again into a new --out, or "
                f"compare it with runs: `fairlead report RUN {out} --out DIR`"
            )
        hp = apply_overrides(HyperParams(), record["hyperparameters"], str(out / RUN_FILE))
        # a method file given by path is read again from there; the others by name
        methods = tuple(d.get("source", {}).get("file", m) for m, d in record["methods"].items())
        recorded = (record["env"], record["env_kwargs"], methods, tuple(record["seeds"]), hp)
        _check_plugin_files(out, record["methods"], trust_plugins)
    except (FileNotFoundError, NotADirectoryError) as err:
        raise RunDirectoryError(f"{out} is not a run directory (no {RUN_FILE})") from err
    except RunDirectoryError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise RunDirectoryError(f"{out / RUN_FILE} is unreadable or malformed ({err})") from err
    try:
        spec = RunSpec(*recorded)
    except (ValueError, TypeError) as err:
        raise RunDirectoryError(f"the run recorded in {out / RUN_FILE} cannot be set up: {err}") from err
    if spec.fingerprint != record.get("fingerprint"):
        raise _changed(
            out, "; ".join(_method_changes(record["methods"], spec)) or "method or hyper-parameter definitions"
        )
    return spec


PLUGIN_FILES = (("file", "sha256"), ("selector_file", "selector_sha256"), ("learner_file", "learner_sha256"))


def _check_plugin_files(out: Path, methods: dict, trust_plugins: bool) -> None:
    """Refuse, before anything is imported, a recorded plug-in file that is gone, changed, or inside ``out``."""
    for name, definition in methods.items():
        source = definition.get("source", {})
        for file_key, sha_key in PLUGIN_FILES:
            if not source.get(file_key):
                continue
            path = Path(source[file_key])
            what = CHANGES[f"source.{sha_key}"].format_map(defaultdict(str, source))
            if not path.is_file():
                raise RunDirectoryError(
                    f"method {name!r} of {out} was read from {path}, which is gone; "
                    "put the file back to resume or evaluate this run"
                )
            if not trust_plugins and path.resolve().is_relative_to(out.resolve()):
                raise RunDirectoryError(
                    f"method {name!r} of {out} runs code from inside the run directory ({what}); a run "
                    "directory is data, and resuming or evaluating it would run that file: read it, then give "
                    "--trust-plugins to run it (or put your own copy outside and train into a new --out)"
                )
            if source.get(sha_key) and hashlib.sha256(path.read_bytes()).hexdigest() != source[sha_key]:
                raise _changed(out, f"method {name!r} changed: {what}")


def _changed(out: Path, changes: str) -> RunDirectoryError:
    return RunDirectoryError(
        f"{out} was trained with definitions that have changed since ({changes}); its "
        "checkpoints cannot be resumed or evaluated as the same run: restore them, or train "
        "into a new --out"
    )


CHANGES = {
    "source.sha256": "the content of {file}{entry_point}",
    "source.selector": "the selector's import path",
    "source.selector_sha256": "the selector's source file {selector_file}",
    "source.learner": "the learner's import path",
    "source.learner_sha256": "the learner's source file {learner_file}",
}  # what a user method's change means


def _flat(definition: dict) -> dict:
    """A method's record with its ``source`` entries as keys ``source.<key>``."""
    source = definition.get("source", {})
    return {**{k: v for k, v in definition.items() if k != "source"}, **{f"source.{k}": v for k, v in source.items()}}


def _method_changes(recorded: dict, spec: RunSpec) -> list[str]:
    """``method 'x' changed: what`` for each method whose definition differs from the one recorded."""
    lines = []
    for name, definition in spec.definitions.items():
        old, new = recorded.get(name, {}), json.loads(json.dumps(definition.record(), default=list))
        paths = defaultdict(str, {**old.get("source", {}), **new.get("source", {})})
        old_flat, new_flat = _flat(old), _flat(new)
        changed = [
            CHANGES.get(k, k).format_map(paths)
            for k in dict.fromkeys([*old_flat, *new_flat])
            if old_flat.get(k) != new_flat.get(k)
        ]
        if changed:
            lines.append(f"method {name!r} changed: {', '.join(changed)}")
    return lines
