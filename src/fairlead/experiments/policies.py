"""Score any policy under the evaluation protocol of a trained run, so its numbers sit beside JAM-QL's.

A policy trained elsewhere (RLlib, TorchRL, a script) is a function
``policy(agent, observation) -> action``, or an object (or a class, built with
no arguments) whose ``act(agent, observation)`` is that function. Or it is a
factory ``make_policy(seed)`` returning such a policy for training seed
``seed`` (e.g. loading that seed's checkpoint): each seed's row is then a
separately trained policy, so the interval over seeds means what a trained
run's means; a plain policy is one policy, whose seeds vary only the
evaluation episodes, and the tables say so. It plays the
players' moves of the mediated env, the leader of each stage chosen by a fixed
rule: a selector of ``mediate()`` or the selector of a method whose leader is
not learned. It is scored exactly as a trained run's greedy policies are: the
same env, the same evaluation seeds (``derived_seed(seed, EVAL, j)``), the same
number of episodes and every number of ``metrics.csv``, on the environment's
returns before any transfer.

The output directory holds ``run.json`` (what was scored and how),
``metrics.csv`` and ``summary.md``: the format ``fairlead report`` merges with
trained runs.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np

from fairlead import __version__
from fairlead.experiments.atomic import write_atomic
from fairlead.experiments.comparison import EVALUATION_KIND, RUN_FILE, env_title, kind_of_policy, write_results
from fairlead.experiments.directories import lock_run_dir, refuse_used
from fairlead.names import check_name
from fairlead.registry import make
from fairlead.trainers.config import FIXED_SELECTORS, Method, get_method, import_object, source_entries
from fairlead.trainers.evaluation import summarise
from fairlead.trainers.jamql import EVAL, EpisodeResult, derived_seed, mediated
from fairlead.usercode import UserCodeError, culprits, user_error

OBS_ENCODINGS = ("discrete", "box")


def _import_policy(target: str):
    """The object ``module:attr`` or ``file.py:attr`` names, and the target as recorded (a file's path resolved)."""
    where, _, attr = target.rpartition(":")
    if not where or not attr:
        raise ValueError(
            f"--policy {target!r}: give it as module:function or file.py:function (a function "
            "policy(agent, observation) -> action, an object or class with act(agent, observation), "
            "or a factory make_policy(seed) returning one)"
        )
    if where.endswith(".py"):
        where = str(Path(where).resolve())
        if not Path(where).is_file():
            raise ValueError(f"--policy {target!r}: no file {where}")
    try:
        return import_object(f"{where}:{attr}"), f"{where}:{attr}"
    except Exception as err:  # anything the user's module raises while it is imported
        raise ValueError(f"cannot import policy {target!r}: {type(err).__name__}: {err}") from err


def _as_act(policy, what: str):
    """``act(agent, observation)`` of a policy function, object or class (built without arguments)."""
    if inspect.isclass(policy):
        try:
            policy = policy()
        except Exception as err:
            raise ValueError(
                f"policy class {what} cannot be built without arguments: {type(err).__name__}: {err}"
            ) from err
    act = getattr(policy, "act", policy)
    if not callable(act):
        raise ValueError(
            f"policy {what} is neither a function policy(agent, observation) -> action "
            f"nor an object with act(agent, observation); got {policy!r}"
        )
    return act


def _is_factory(obj) -> bool:
    """A function of one required positional parameter: ``make_policy(seed)`` (a policy takes two)."""
    if inspect.isclass(obj) or not inspect.isfunction(inspect.unwrap(obj)) or hasattr(obj, "act"):
        return False
    required = [
        p
        for p in inspect.signature(obj).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(required) == 1


def load_policy(target: str):
    """``(name, policy_for, source, per_seed)`` for ``--policy target``: ``policy_for(seed)`` is that seed's ``act``.

    ``per_seed``: the target is a factory ``make_policy(seed)``, called once
    per training seed; else one policy plays every seed.
    """
    obj, recorded = _import_policy(target)
    source = source_entries("policy", recorded, inspect.unwrap(obj))
    name = recorded.rpartition(":")[2].rpartition(".")[2]
    if not _is_factory(obj):
        act = _as_act(obj, repr(target))
        return name, lambda seed: act, source, False

    def policy_for(seed: int):
        made = obj(seed)
        if made is None:
            raise ValueError(
                f"policy factory {target!r} returned None for seed {seed}; make_policy(seed) must "
                "return a policy: a function policy(agent, observation) -> action or an object with "
                "act(agent, observation)"
            )
        return _as_act(made, f"{target!r}(seed={seed})")

    return name, policy_for, source, True


def scoring_method(selector: str | None, method: str | None) -> Method:
    """The fixed leader rule (and the players' history features) the policy is scored under."""
    if (selector is None) == (method is None):
        raise ValueError(
            "give the leader rule once: --selector NAME (one of "
            f"{', '.join(FIXED_SELECTORS)}) or --method M (a method whose leader is not learned)"
        )
    if selector is not None:
        if selector not in FIXED_SELECTORS:
            raise ValueError(f"unknown selector {selector!r}; valid selectors: {', '.join(FIXED_SELECTORS)}")
        return Method(selector, selector)
    definition = get_method(method)
    if definition.learned_mediator or definition.vector_mediator:
        raise ValueError(
            f"method {definition.name!r} chooses its leaders with a mediator learned in training, "
            f"which a policy evaluation has not got; score the policy under a fixed rule: --selector "
            f"({', '.join(FIXED_SELECTORS)}) or a method using one (e.g. catch-up, alternating)"
        )
    return definition


def play(
    env, act, players: list[str], env_seed: int, policy: str, context: str | None = None, source: dict | None = None
) -> EpisodeResult:
    """One episode of ``act`` on the mediated ``env``; an illegal action is refused with where it happened.

    Whatever ``act`` raises (SystemExit too, not KeyboardInterrupt) is raised as
    a UserCodeError naming ``context`` (default ``policy <policy>``: say the
    seed), the code of ``source`` (``load_policy``'s), the agent and the stage.
    """
    env.reset(seed=env_seed)
    final_info = None
    for agent in env.agent_iter():
        observation, _, terminated, truncated, info = env.last()
        if terminated or truncated:
            final_info = final_info or info
            env.step(None)
            continue
        try:
            action = act(agent, observation)
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # anything the user's policy raises
            blamed = user_error(
                err, context or f"policy {policy}", culprits(source or {"policy": policy}), certain=True
            )
            raise UserCodeError(f"{blamed} (for {agent} at stage {env.unwrapped.stage})") from None
        mask = observation["action_mask"]
        try:
            legal = bool(mask[int(action)]) and int(action) == action
        except (TypeError, ValueError, IndexError, OverflowError):
            legal = False
        if not legal:
            raise ValueError(
                f"policy {policy} chose action {action!r} for {agent} at stage "
                f"{env.unwrapped.stage}; the legal actions are {np.flatnonzero(mask).tolist()}"
            )
        env.step(int(action))
    return EpisodeResult.from_play(env, final_info, players)


def evaluate_policy(
    env_name: str,
    env_kwargs: dict,
    policy: str,
    seeds,
    episodes: int,
    selector: str | None = None,
    method: str | None = None,
    obs_encoding: str = "discrete",
    name: str | None = None,
) -> tuple[list[dict], dict]:
    """``(rows, record)``: one ``metrics.csv`` row per seed, and what was scored (``run.json``)."""
    if obs_encoding not in OBS_ENCODINGS:
        raise ValueError(f"unknown observation encoding {obs_encoding!r}; valid: {', '.join(OBS_ENCODINGS)}")
    if episodes < 1 or not seeds:
        raise ValueError("a policy evaluation needs at least one seed and one episode")
    if name is not None:
        check_name("policy", name)  # before the policy's code is imported
    rule = scoring_method(selector, method)
    default_name, policy_for, source, per_seed = load_policy(policy)
    if name is None:
        try:
            name = check_name("policy", default_name)
        except ValueError as err:
            raise ValueError(f"{err}; the policy is named after its function or class: name it with --name") from None
    rows = []
    for seed in seeds:
        context = f"policy {name}, seed {seed}"
        try:
            act = policy_for(seed)
        except (KeyboardInterrupt, ValueError):
            raise
        except BaseException as err:  # anything the user's factory raises
            raise user_error(
                err, f"{context} (building it: make_policy({seed}))", culprits(source), certain=True
            ) from None
        base = make(env_name, **{**env_kwargs, "obs_encoding": obs_encoding})
        env = mediated(base, rule, seed)
        players = list(base.possible_agents)
        played = [play(env, act, players, derived_seed(seed, EVAL, j), name, context, source) for j in range(episodes)]
        rows.append({"method": name, "seed": seed, **summarise(played, players, base.unwrapped.return_scale)})
    record = {
        "fairlead": __version__,
        "kind": EVALUATION_KIND,
        "env": env_name,
        "env_kwargs": env_kwargs,
        "name": name,
        "source": source,
        "per_seed": per_seed,
        "leader_rule": rule.record(),
        "obs_encoding": obs_encoding,
        "seeds": list(seeds),
        "eval_episodes": episodes,
    }
    return rows, record


def evaluate_into(out: Path, env_name: str, env_kwargs: dict, policy: str, seeds, episodes: int, **options) -> str:
    """Score ``policy`` (see :func:`evaluate_policy` for ``options``) into the new or empty directory ``out``.

    Writes run.json, metrics.csv, summary.md and the figures once every seed
    is scored; returns the summary table.
    """
    out = Path(out)
    refuse_used(out)
    rows, record = evaluate_policy(env_name, env_kwargs, policy, seeds, episodes, **options)
    out.mkdir(parents=True, exist_ok=True)
    with lock_run_dir(out):
        refuse_used(out)  # again: another command may have written there while this one played
        title = (
            f"{env_title(env_name, env_kwargs)} - policy {record['name']} ({policy}; {kind_of_policy(record)}) under "
            f"{record['leader_rule']['name']}, {len(seeds)} seeds"
        )
        table = write_results(out, rows, [], [record["name"]], title)
        write_atomic(out / RUN_FILE, json.dumps(record, indent=2, default=list))  # last: marks it complete
        return table
