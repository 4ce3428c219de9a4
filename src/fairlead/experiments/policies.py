"""Score any policy under the evaluation protocol of a trained run, so its numbers sit beside JAM-QL's.

A policy trained elsewhere (RLlib, TorchRL, a script) is a function
``policy(agent, observation) -> action``, or an object (or a class, built with
no arguments) whose ``act(agent, observation)`` is that function. It plays the
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
from fairlead.experiments.comparison import EVALUATION_KIND, RUN_FILE, write_results
from fairlead.experiments.directories import lock_run_dir, refuse_used
from fairlead.names import check_name
from fairlead.registry import make
from fairlead.trainers.config import FIXED_SELECTORS, Method, get_method, import_object, source_entries
from fairlead.trainers.evaluation import summarise
from fairlead.trainers.jamql import EVAL, EpisodeResult, derived_seed, mediated
from fairlead.usercode import UserCodeError, culprits, user_error

OBS_ENCODINGS = ("discrete", "box")


def load_policy(target: str):
    """``(name, act, source)`` for the policy ``module:attr`` or ``file.py:attr``: ``act(agent, observation)``."""
    where, _, attr = target.rpartition(":")
    if not where or not attr:
        raise ValueError(f"--policy {target!r}: give it as module:function or file.py:function (a function "
                         "policy(agent, observation) -> action, or an object or class with act(agent, observation))")
    if where.endswith(".py"):
        where = str(Path(where).resolve())
        if not Path(where).is_file():
            raise ValueError(f"--policy {target!r}: no file {where}")
    try:
        policy = import_object(f"{where}:{attr}")
    except Exception as err:  # anything the user's module raises while it is imported
        raise ValueError(f"cannot import policy {target!r}: {type(err).__name__}: {err}") from err
    if inspect.isclass(policy):
        try:
            policy = policy()
        except Exception as err:
            raise ValueError(f"policy class {target!r} cannot be built without arguments: "
                             f"{type(err).__name__}: {err}") from err
    act = getattr(policy, "act", policy)
    if not callable(act):
        raise ValueError(f"policy {target!r} is neither a function policy(agent, observation) -> action "
                         f"nor an object with act(agent, observation); got {policy!r}")
    return attr.rpartition(".")[2], act, source_entries("policy", f"{where}:{attr}", inspect.unwrap(act))


def scoring_method(selector: str | None, method: str | None) -> Method:
    """The fixed leader rule (and the players' history features) the policy is scored under."""
    if (selector is None) == (method is None):
        raise ValueError("give the leader rule once: --selector NAME (one of "
                         f"{', '.join(FIXED_SELECTORS)}) or --method M (a method whose leader is not learned)")
    if selector is not None:
        if selector not in FIXED_SELECTORS:
            raise ValueError(f"unknown selector {selector!r}; valid selectors: {', '.join(FIXED_SELECTORS)}")
        return Method(selector, selector)
    definition = get_method(method)
    if definition.learned_mediator or definition.vector_mediator:
        raise ValueError(f"method {definition.name!r} chooses its leaders with a mediator learned in training, "
                         f"which a policy evaluation has not got; score the policy under a fixed rule: --selector "
                         f"({', '.join(FIXED_SELECTORS)}) or a method using one (e.g. catch-up, alternating)")
    return definition


def play(env, act, players: list[str], env_seed: int, policy: str, context: str | None = None,
         source: dict | None = None) -> EpisodeResult:
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
            blamed = user_error(err, context or f"policy {policy}", culprits(source or {"policy": policy}),
                                certain=True)
            raise UserCodeError(f"{blamed} (for {agent} at stage {env.unwrapped.stage})") from None
        mask = observation["action_mask"]
        try:
            legal = bool(mask[int(action)]) and int(action) == action
        except (TypeError, ValueError, IndexError, OverflowError):
            legal = False
        if not legal:
            raise ValueError(f"policy {policy} chose action {action!r} for {agent} at stage "
                             f"{env.unwrapped.stage}; the legal actions are {np.flatnonzero(mask).tolist()}")
        env.step(int(action))
    return EpisodeResult.from_play(env, final_info, players)


def evaluate_policy(env_name: str, env_kwargs: dict, policy: str, seeds, episodes: int,
                    selector: str | None = None, method: str | None = None, obs_encoding: str = "discrete",
                    name: str | None = None) -> tuple[list[dict], dict]:
    """``(rows, record)``: one ``metrics.csv`` row per seed, and what was scored (``run.json``)."""
    if obs_encoding not in OBS_ENCODINGS:
        raise ValueError(f"unknown observation encoding {obs_encoding!r}; valid: {', '.join(OBS_ENCODINGS)}")
    if episodes < 1 or not seeds:
        raise ValueError("a policy evaluation needs at least one seed and one episode")
    if name is not None:
        check_name("policy", name)  # before the policy's code is imported
    rule = scoring_method(selector, method)
    default_name, act, source = load_policy(policy)
    if name is None:
        try:
            name = check_name("policy", default_name)
        except ValueError as err:
            raise ValueError(f"{err}; the policy is named after its function or class: name it with --name") from None
    rows = []
    for seed in seeds:
        base = make(env_name, **{**env_kwargs, "obs_encoding": obs_encoding})
        env = mediated(base, rule, seed)
        players = list(base.possible_agents)
        played = [play(env, act, players, derived_seed(seed, EVAL, j), name, f"policy {name}, seed {seed}", source)
                  for j in range(episodes)]
        rows.append({"method": name, "seed": seed, **summarise(played, players, base.unwrapped.return_scale)})
    record = {"fairlead": __version__, "kind": EVALUATION_KIND, "env": env_name, "env_kwargs": env_kwargs,
              "name": name, "source": source, "leader_rule": rule.record(), "obs_encoding": obs_encoding,
              "seeds": list(seeds), "eval_episodes": episodes}
    return rows, record


def evaluate_into(out: Path, env_name: str, env_kwargs: dict, policy: str, seeds, episodes: int,
                  **options) -> str:
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
        title = (f"{env_name} {env_kwargs} - policy {record['name']} ({policy}) under "
                 f"{record['leader_rule']['name']}, {len(seeds)} seeds")
        table = write_results(out, rows, [], [record["name"]], title)
        write_atomic(out / RUN_FILE, json.dumps(record, indent=2, default=list))  # last: marks it complete
        return table
