"""The ``fairlead`` command: list, train, merge, eval, evaluate, report, reproduce, sweep, demo."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
import threading
from pathlib import Path

from fairlead import api, fairness, list_envs, list_scenarios
from fairlead.api import DEFAULT_SEEDS
from fairlead.engine import ENGINES
from fairlead.experiments.policies import FIXED_SELECTORS, OBS_ENCODINGS
from fairlead.experiments.report import KINDS
from fairlead.experiments.reproduce import reproduce
from fairlead.experiments.runs import BACKENDS, RUN_FILE, evaluate_run, merge_shards
from fairlead.experiments.spec import check_seed_count
from fairlead.experiments.sweep import SWEEP_FILE
from fairlead.trainers.config import METHOD_GROUP, get_method, method_names, plugin_method_names

# Chicken with 4 players: where the methods differ (on 2 players jamql, alternating and catch-up all tie at 1.000)
DEMO = {"env": "chicken-4p", "methods": "jamql,catch-up,alternating,vote,random,fixed", "seeds": 5, "episodes": 1500}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _seeds(text: str) -> int:
    """--seeds N: seeds 0..N-1, with N in 1..MAX_SEEDS (checked before anything is allocated or written)."""
    try:
        return check_seed_count(_positive_int(text))  # the API's own check
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the workers stop and the run stays resumable."""


def _terminate(signum, frame):
    raise _Terminated()


LIST_WIDTH = 100  # `fairlead list` fits this many columns


def _columns(rows: list[tuple[str, str]]) -> list[str]:
    """``name  description`` rows, names in one aligned column, descriptions wrapped to fit LIST_WIDTH."""
    indent = 2 + max((len(name) for name, _ in rows), default=0) + 2
    lines = []
    for name, text in rows:
        wrapped = textwrap.wrap(text, LIST_WIDTH - indent, break_long_words=False, break_on_hyphens=False) or [""]
        lines.append(f"  {name:{indent - 4}s}  {wrapped[0]}".rstrip())
        lines += [" " * indent + more for more in wrapped[1:]]
    return lines


def cmd_list(args) -> None:
    def method_row(name: str, clash: bool = False) -> tuple[str, str]:
        """A method and its description, or UNUSABLE and why: one bad method file breaks no other row."""
        try:
            if clash:
                raise ValueError("an entry point with a built-in method's name (the built-in one is used); rename it")
            return name, get_method(name).description
        except ValueError as err:
            return name, f"UNUSABLE: {err}"

    what = args.what
    if what in ("all", "envs"):
        print("environments:")
        for name in list_envs():
            print(f"  {name}")
    if what in ("all", "scenarios"):
        print("scenarios (envs/*.toml):")
        print("\n".join(_columns([(name, sc.description) for name, sc in list_scenarios().items()])))
    if what in ("all", "methods"):
        print("methods (trainers/methods/*.toml):")
        builtin = method_names()
        print("\n".join(_columns([method_row(name) for name in builtin])))
        plugins = plugin_method_names()
        if plugins:
            print(f"methods of installed packages (entry points {METHOD_GROUP}):")
            print("\n".join(_columns([method_row(name, clash=name in builtin) for name in plugins])))
    if what in ("all", "metrics"):
        print(f"fairness metrics (default: {fairness.DEFAULT_METRIC}):")
        print("\n".join(_columns([(name, metric.summary) for name, metric in fairness.METRICS.items()])))


def _train_dir(args) -> Path:
    """The run directory: ``--resume DIR`` or ``--out DIR`` (both only if they agree)."""
    resume_dir = Path(args.resume) if isinstance(args.resume, str) else None
    if resume_dir is not None and args.out is not None and args.out != resume_dir:
        raise ValueError(
            f"--resume {resume_dir} and --out {args.out} name different directories; "
            "give the run directory once, as --resume DIR"
        )
    if resume_dir is None and args.out is None:
        raise ValueError("train needs --out DIR for a new run, or --resume DIR to continue one")
    return resume_dir or args.out


def _shard(text: str) -> tuple[int, int]:
    """``i/n``: shard ``i`` (0-based, as Slurm's array task ids) of ``n``."""
    i, slash, n = text.partition("/")
    if not (slash and i.isdigit() and n.isdigit() and int(i) < int(n)):
        raise argparse.ArgumentTypeError(f"expected i/n with 0 <= i < n (shard i of n, e.g. 0/4), got {text!r}")
    return int(i), int(n)


def cmd_train(args) -> None:
    out = _train_dir(args)
    try:
        result = api.train(
            out,
            args.env,
            args.method,
            seeds=args.seeds,
            episodes=args.episodes,
            config=args.config,
            n_agents=args.n_agents,
            max_cycles=args.max_cycles,
            resume=bool(args.resume),
            jobs=args.jobs,
            progress=not args.no_progress,
            shard=args.shard,
            backend=args.backend,
            address=args.address,
            engine=args.engine,
            trust_plugins=args.trust_plugins,
        )
    except KeyboardInterrupt as err:
        if not (out / RUN_FILE).exists():
            raise
        raise type(err)(f"continue with `fairlead train --resume {out}`") from None
    print(result.table)
    figures = sorted(p.name for p in out.glob("*.png"))
    print(f"\nresults in {out} ({', '.join(['metrics.csv', 'curves.csv', 'summary.md', *figures])})")


def cmd_demo(args) -> None:
    out = args.out
    methods = DEMO["methods"].split(",")
    print(
        f"Training JAM-QL and {len(methods) - 1} baselines x {DEMO['seeds']} seeds on {DEMO['env']} "
        f"({DEMO['episodes']} episodes each) into {out}; fairness is measured on the env's returns before transfer."
    )
    train = ["train", "--env", DEMO["env"], "--method", DEMO["methods"], "--seeds", str(DEMO["seeds"])]
    train += ["--episodes", str(DEMO["episodes"]), "--out", str(out)]  # exactly `fairlead train` with these
    train += (["--jobs", str(args.jobs)] if args.jobs else []) + (["--no-progress"] if args.no_progress else [])
    cmd_train(build_parser().parse_args(train))
    figures = sorted(out.glob("*.png"))
    print(
        "\nWhat to look for: the fairness of the returns (higher is fairer) and the fair-action rate, the share "
        "of stages whose leader did not take the first-mover advantage."
    )
    if figures:
        print("The figures:\n" + "\n".join(f"  {path}" for path in figures))
    else:
        print(f'No figures: they need matplotlib (pip install "fairlead[plot]"); {out / "summary.md"} says how.')


def cmd_reproduce(args) -> None:
    print(reproduce(args.out, quick=args.quick, jobs=args.jobs, progress=not args.no_progress, engine=args.engine))
    print(f"run directories and summary.md in {args.out}")


def cmd_sweep(args) -> None:
    try:
        print(
            api.sweep(
                args.out,
                args.env,
                args.grid,
                args.method,
                seeds=args.seeds,
                config=args.config,
                episodes=args.episodes,
                jobs=args.jobs,
                progress=not args.no_progress,
                shard=args.shard,
                backend=args.backend,
                address=args.address,
                engine=args.engine,
            ).table
        )
    except KeyboardInterrupt as err:
        if not (args.out / SWEEP_FILE).exists():
            raise
        raise type(err)(f"continue with `fairlead sweep --out {args.out}`") from None
    print(f"cell run directories, sweep.csv and summary.md in {args.out}")


def cmd_merge(args) -> None:
    print(merge_shards(args.shard_dir, args.out, trust_plugins=args.trust_plugins))
    print(f"\nthe whole run in {args.out}")


def cmd_eval(args) -> None:
    print(
        evaluate_run(args.dir, episodes=args.episodes, progress=not args.no_progress, trust_plugins=args.trust_plugins)
    )


def cmd_evaluate(args) -> None:
    print(
        api.evaluate(
            args.out,
            args.env,
            args.policy,
            selector=args.selector,
            method=args.method,
            seeds=args.seeds,
            episodes=args.episodes,
            n_agents=args.n_agents,
            max_cycles=args.max_cycles,
            obs_encoding=args.obs_encoding,
            name=args.name,
        ).table
    )
    print(
        f"\nresults in {args.out} (metrics.csv, summary.md); compare with a run: "
        f"`fairlead report RUN {args.out} --out DIR`"
    )


def cmd_report(args) -> None:
    print(api.report(args.run, args.out, interval=args.interval, metric=args.metric).table)
    print(f"\nreport in {args.out / 'report.md'}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fairlead",
        description="Fair leader selection in Stackelberg multi-agent RL: environments, mediator, JAM-QL.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list environments, scenarios, methods and fairness metrics")
    p.add_argument(
        "what",
        nargs="?",
        default="all",
        choices=["all", "envs", "scenarios", "methods", "metrics"],
        help="what to list (default: all)",
    )
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "train",
        help="train methods over seeds and print the fairness comparison",
        usage="fairlead train --env ENV --method METHOD --out DIR [options]\n"
        "       fairlead train --resume DIR [options]",
    )
    p.add_argument(
        "--env", help="environment (chicken_v0) or scenario (chicken-4p) or scenario .toml; required for a new run"
    )
    p.add_argument(
        "--method",
        help="method name or path of a method .toml file, comma-separated ones, or 'all' "
        "(see `fairlead list methods`); required for a new run",
    )
    p.add_argument(
        "--seeds", type=_seeds, help=f"number of seeds, 0..N-1 (default {DEFAULT_SEEDS}, or the resumed run's)"
    )
    p.add_argument(
        "--episodes",
        type=_positive_int,
        help="training episodes per seed (default from trainers/defaults.toml, or the resumed run's)",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="run directory: a new one (must not exist, or be empty), or a run "
        "to add methods and seeds to (same env and hyper-parameters)",
    )
    p.add_argument(
        "--config", type=Path, help="TOML overriding trainers/defaults.toml ([training], [agent], [mediator])"
    )
    p.add_argument("--n-agents", type=_positive_int, help="number of players (env option)")
    p.add_argument("--max-cycles", type=_positive_int, help="stages per episode (env option)")
    p.add_argument(
        "--resume",
        nargs="?",
        const=True,
        metavar="DIR",
        help="continue the interrupted run in DIR (or in --out) with its recorded options; "
        "options given too must agree with them",
    )
    p.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="train only shard I of N (0 <= I < N) of the (method, seed) pairs; `fairlead merge` joins "
        "the shards' directories into the whole run",
    )
    p.add_argument(
        "--jobs",
        type=_positive_int,
        help="parallel worker processes (default: the CPUs this process "
        "may use); with --backend ray and no --address: the CPUs "
        "of the local Ray instance",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="local",
        help="local worker processes (default), or Ray tasks (the ray extra)",
    )
    p.add_argument(
        "--address",
        help="with --backend ray: the address of a running Ray cluster (default: start a local instance for this run)",
    )
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="auto (default): the compiled engine where it plays the env and method, else the reference "
        "AEC trainer; compiled: refuse what it cannot play; reference: the AEC trainer. Same results",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--trust-plugins",
        action="store_true",
        help="run the plug-in files (selectors, learners, method files) that the recorded run names "
        "inside its own directory; read them first (docs/cli.md, 'Run directories are data')",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "reproduce",
        help="train the whole grid of docs/results.md (8 settings, every method) and write one combined summary",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory of the grid: one run directory per setting (an existing grid is completed, not retrained)",
    )
    p.add_argument("--quick", action="store_true", help="2 seeds and 100 episodes per setting: a first look")
    p.add_argument(
        "--jobs", type=_positive_int, help="parallel worker processes (default: the CPUs this process may use)"
    )
    p.add_argument("--engine", choices=ENGINES, default="auto", help="as for train")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser(
        "sweep",
        help="train methods over a grid of environment arguments and draw where each claim holds",
        usage="fairlead sweep --env ENV --grid KEY=VALUES [KEY=VALUES ...] --method METHOD --out DIR [options]\n"
        "       fairlead sweep --out DIR [options]",
    )
    p.add_argument("--env", help="environment or scenario, as for train; required for a new sweep")
    p.add_argument(
        "--grid",
        nargs="+",
        metavar="KEY=VALUES",
        help="environment arguments and their values, e.g. n_agents=3,4,5 max_cycles=6,10 (numbers, "
        "words, or lists of numbers: grid_size=[3,3],[4,4]); a cell per combination; required for "
        "a new sweep",
    )
    p.add_argument("--method", help="methods, as for train; required for a new sweep")
    p.add_argument(
        "--seeds",
        type=_seeds,
        help=f"number of seeds per cell, 0..N-1 (default {DEFAULT_SEEDS}, or the recorded sweep's)",
    )
    p.add_argument("--episodes", type=_positive_int, help="training episodes per seed, as for train")
    p.add_argument("--config", type=Path, help="TOML overriding trainers/defaults.toml, as for train")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="sweep directory: a new one, or a sweep to complete or grow (more methods or seeds)",
    )
    p.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="train only the cells I, I+N, I+2N, ... (shards may train into one --out at the same "
        "time); the command without --shard then writes the reports",
    )
    p.add_argument("--jobs", type=_positive_int, help="parallel worker processes, as for train")
    p.add_argument("--backend", choices=BACKENDS, default="local", help="local (default) or ray, as for train")
    p.add_argument("--address", help="with --backend ray: a running Ray cluster's address, as for train")
    p.add_argument("--engine", choices=ENGINES, default="auto", help="as for train")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("merge", help="join the directories of a run's shards (train --shard I/N) into the whole run")
    p.add_argument("shard_dir", nargs="+", type=Path, metavar="SHARD_DIR", help="every shard's run directory")
    p.add_argument("--out", type=Path, required=True, help="directory of the whole run (must not exist, or be empty)")
    p.add_argument(
        "--trust-plugins",
        action="store_true",
        help="run the plug-in files (selectors, learners, method files) that the recorded run names "
        "inside its own directory; read them first (docs/cli.md, 'Run directories are data')",
    )
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("eval", help="re-evaluate a finished run's greedy policies and print the table")
    p.add_argument("dir", type=Path, help="run directory written by `fairlead train`")
    p.add_argument("--episodes", type=_positive_int, help="greedy evaluation episodes per seed (default: the run's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--trust-plugins",
        action="store_true",
        help="run the plug-in files (selectors, learners, method files) that the recorded run names "
        "inside its own directory; read them first (docs/cli.md, 'Run directories are data')",
    )
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "evaluate",
        help="score any policy under the evaluation protocol of a trained run",
        usage="fairlead evaluate --env ENV --policy TARGET (--selector NAME | --method M) --out DIR [options]",
    )
    p.add_argument("--env", required=True, help="environment or scenario, as for train")
    p.add_argument(
        "--policy",
        required=True,
        metavar="TARGET",
        help="module:function or file.py:function, policy(agent, observation) -> action; or an object "
        "or class with act(agent, observation); or a factory make_policy(seed) returning training "
        "seed seed's policy",
    )
    p.add_argument("--selector", help=f"the leader rule: {', '.join(FIXED_SELECTORS)}")
    p.add_argument(
        "--method",
        help="or a method (name or .toml) whose leader rule and history features to use; "
        "its leader must not be learned",
    )
    p.add_argument(
        "--seeds",
        type=_seeds,
        default=DEFAULT_SEEDS,
        help=f"number of seeds, 0..N-1, as a trained run's (default {DEFAULT_SEEDS})",
    )
    p.add_argument(
        "--episodes",
        type=_positive_int,
        help="evaluation episodes per seed (default: the scenario's eval_episodes, as a trained run)",
    )
    p.add_argument("--n-agents", type=_positive_int, help="number of players (env option)")
    p.add_argument("--max-cycles", type=_positive_int, help="stages per episode (env option)")
    p.add_argument(
        "--obs-encoding",
        default="discrete",
        choices=OBS_ENCODINGS,
        help="the observations the policy gets (default discrete, as the trainer's)",
    )
    p.add_argument("--name", help="the policy's name in the tables (default: the function's or class's name)")
    p.add_argument("--out", type=Path, required=True, help="output directory (must not exist, or be empty)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("report", help="merge finished runs and policy evaluations into one report with figures")
    p.add_argument("run", nargs="+", type=Path, metavar="RUN", help="run directories (train or evaluate), one scenario")
    p.add_argument("--out", type=Path, required=True, help="directory for report.md and its figures")
    p.add_argument(
        "--interval",
        choices=KINDS,
        default="bootstrap",
        help="95%% interval over seeds: percentile bootstrap (default) or Student-t",
    )
    p.add_argument(
        "--metric",
        help="the headline column of the table and the figures' first panels: any number of metrics.csv "
        "(e.g. fairness_jain, total_return; default: fairness_pairwise_equality)",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "demo",
        help=f"train JAM-QL and the baselines on {DEMO['env']} ({DEMO['seeds']} seeds), "
        "print the comparison and draw it",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("fairlead-demo"),
        help="run directory (default: fairlead-demo in the current directory; run again, it is reused)",
    )
    p.add_argument(
        "--jobs", type=_positive_int, help="parallel worker processes (default: the CPUs this process may use)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; exit status 0, 2 on an error, 128 + signal number when interrupted (Ctrl-C: 130)."""
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        args.func(args)
        sys.stdout.flush()
    except KeyboardInterrupt as err:
        print("fairlead: interrupted" + (f"; {err}" if str(err) else ""), file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(err, _Terminated) else signal.SIGINT)
    except BrokenPipeError:  # the reader went away (`fairlead list | head -1`): python docs, "Note on SIGPIPE"
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, TypeError, RuntimeError, OSError) as err:  # the package's own errors are ValueErrors
        print(f"fairlead: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
