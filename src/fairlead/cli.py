"""The ``fairlead`` command: list, train, eval, demo."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from fairlead.experiments.checkpoint import CheckpointError
from fairlead.experiments.runs import RunDirectoryError, RunSpec, run

DEMO = {"env": "chicken-2p", "seeds": 3, "episodes": 1000}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _methods(text: str) -> tuple[str, ...]:
    from fairlead.trainers.config import load_methods

    return tuple(load_methods()) if text == "all" else tuple(m.strip() for m in text.split(",") if m.strip())


def cmd_list(args) -> None:
    from fairlead import fairness, list_envs, list_scenarios
    from fairlead.trainers.config import load_methods

    what = args.what
    if what in ("all", "envs"):
        print("environments:")
        for name in list_envs():
            print(f"  {name}")
    if what in ("all", "scenarios"):
        print("scenarios (envs/*.toml):")
        for name, sc in list_scenarios().items():
            print(f"  {name:28s} {sc.description}")
    if what in ("all", "methods"):
        print("methods (trainers/methods/*.toml):")
        for name, m in load_methods().items():
            print(f"  {name:22s} {m.description}")
    if what in ("all", "metrics"):
        print(f"fairness metrics (default: {fairness.DEFAULT_METRIC}):")
        for name, metric in fairness.METRICS.items():
            print(f"  {name:20s} {metric.summary}")


def _spec(env: str, methods, seeds: int, episodes: int | None, config, n_agents, max_cycles) -> RunSpec:
    from fairlead.registry import resolve
    from fairlead.trainers.config import load_hyperparams

    overrides = {k: v for k, v in (("n_agents", n_agents), ("max_cycles", max_cycles)) if v is not None}
    env_name, env_kwargs = resolve(env, **overrides)
    hp = load_hyperparams(config)
    if episodes is not None:
        hp = replace(hp, training=replace(hp.training, episodes=episodes))
    return RunSpec(env_name, env_kwargs, tuple(methods), tuple(range(seeds)), hp)


def cmd_train(args) -> None:
    spec = _spec(args.env, args.method, args.seeds, args.episodes, args.config, args.n_agents, args.max_cycles)
    table = run(spec, args.out, resume=args.resume, jobs=args.jobs, progress=not args.no_progress)
    print(table)
    print(f"\nresults in {args.out} (metrics.csv, curves.csv, summary.md)")


def cmd_demo(args) -> None:
    from fairlead.trainers.config import load_methods

    out = args.out or tempfile.mkdtemp(prefix="fairlead-demo-")
    spec = _spec(DEMO["env"], tuple(load_methods()), DEMO["seeds"], DEMO["episodes"], None, None, None)
    print(f"Training {len(spec.methods)} methods x {len(spec.seeds)} seeds on {DEMO['env']} "
          f"({DEMO['episodes']} episodes each); fairness is measured on the env's returns before transfer.")
    table = run(spec, out, jobs=args.jobs, progress=not args.no_progress)
    print(table)
    print(f"\nresults in {out} (metrics.csv, curves.csv, summary.md)")


def cmd_eval(args) -> None:
    from fairlead.experiments.runs import evaluate_run

    print(evaluate_run(Path(args.dir), episodes=args.episodes))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fairlead",
        description="Fair leader selection in Stackelberg multi-agent RL: environments, mediator, JAM-QL.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list environments, scenarios, methods and fairness metrics")
    p.add_argument("what", nargs="?", default="all", choices=["all", "envs", "scenarios", "methods", "metrics"])
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("train", help="train methods over seeds and print the fairness comparison")
    p.add_argument("--env", required=True, help="environment (chicken_v0) or scenario (chicken-4p) or scenario .toml")
    p.add_argument("--method", required=True, type=_methods,
                   help="method name, comma-separated names, or 'all' (see `fairlead list methods`)")
    p.add_argument("--seeds", type=_positive_int, default=10, help="number of seeds, 0..N-1 (default 10)")
    p.add_argument("--episodes", type=_positive_int, help="training episodes per seed (default from trainers/defaults.toml)")
    p.add_argument("--out", required=True, type=Path, help="run directory (must be new, or this run's with --resume)")
    p.add_argument("--config", type=Path, help="TOML overriding trainers/defaults.toml ([training], [agent], [mediator])")
    p.add_argument("--n-agents", type=_positive_int, help="number of players (env option)")
    p.add_argument("--max-cycles", type=_positive_int, help="stages per episode (env option)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    p.add_argument("--jobs", type=_positive_int, help="parallel worker processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="re-evaluate a finished run's greedy policies and print the table")
    p.add_argument("dir", type=Path, help="run directory written by `fairlead train`")
    p.add_argument("--episodes", type=_positive_int, help="greedy evaluation episodes per seed (default: the run's)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("demo", help=f"train every method on {DEMO['env']} ({DEMO['seeds']} seeds) and print the comparison")
    p.add_argument("--out", type=Path, help="run directory (default: a new temporary directory)")
    p.add_argument("--jobs", type=_positive_int, help="parallel worker processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, TypeError, RuntimeError, OSError, RunDirectoryError, CheckpointError) as err:
        print(f"fairlead: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
