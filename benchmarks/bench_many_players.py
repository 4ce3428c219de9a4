"""Time and peak memory of chicken_v0 with many players: construction, reset and one whole stage.

Issue 23 (item 8): the env cards promise any number of players, and building
``fairlead.make("chicken_v0", n_agents=10_000)`` took 3.9 GB and 11 s (an
``n x n`` turn-order table; 100,000 players ran out of memory). Every
per-stage structure is now O(n), so both numbers should grow about as ``n``:
the ratios against ``n = 1,000`` printed here should be near ``n / 1,000``
(10 and 100), not its square.

For each ``n`` (a fresh Python process each, so one size's memory never counts
against the next) the script builds the env, resets it and plays one stage:
the leader, then all ``n - 1`` followers, each taking the first legal action
of its ``action_mask`` (the stage then completes: rewards, the fair-action
rule, the stage record). It runs the measured code twice, once timed
(wall-clock, ``time.perf_counter``) and once under ``tracemalloc`` for the
peak of Python-allocated memory (numpy arrays included; the interpreter and
the imports are not), since tracing slows the code down.

    python benchmarks/bench_many_players.py                     # n = 1,000, 10,000, 100,000; plain AEC env
    python benchmarks/bench_many_players.py --view mediated     # fairlead.mediate(..., selector="round_robin")
    python benchmarks/bench_many_players.py --view parallel     # the phase-based parallel view: 2 steps a stage
    python benchmarks/bench_many_players.py --sizes 1000 30000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc

SIZES = (1_000, 10_000, 100_000)
VIEWS = ("aec", "parallel", "mediated")


def one_stage(n: int, view: str) -> None:
    """Build chicken_v0 with ``n`` players (in ``view``), reset it and play its first stage."""
    import numpy as np

    import fairlead

    if view == "parallel":
        env = fairlead.make("chicken_v0", n_agents=n, parallel=True)
        observations, _ = env.reset(seed=0)
        for _ in range(2):  # the leader's phase, then the followers'
            observations, *_ = env.step({a: int(np.flatnonzero(o["action_mask"])[0]) for a, o in observations.items()})
        assert env.aec_env.unwrapped.stage == 1
        return
    env = fairlead.make("chicken_v0", n_agents=n)
    if view == "mediated":
        env = fairlead.mediate(env, selector="round_robin")
    env.reset(seed=0)
    for _ in range(n):
        mask = env.observe(env.agent_selection)["action_mask"]
        env.step(int(np.flatnonzero(mask)[0]))
    assert env.unwrapped.stage == 1


def measure_here(n: int, view: str) -> dict:
    """Seconds of one (untraced) run, then the peak traced memory of a second, in this process."""
    import fairlead  # noqa: F401  (imports are not what is measured)

    start = time.perf_counter()
    one_stage(n, view)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    one_stage(n, view)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"n": n, "seconds": seconds, "peak_bytes": peak}


def measure(n: int, view: str) -> dict:
    """``measure_here`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n), "--view", view], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=list(SIZES),
        help="numbers of players; ratios are against the first (default 1000 10000 100000)",
    )
    parser.add_argument(
        "--view",
        choices=VIEWS,
        default="aec",
        help="the plain AEC env (default), its parallel view, or the mediated env",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure_here(args.child, args.view)))
        return 0
    if any(n < 2 for n in args.sizes):
        parser.error("--sizes must be numbers of players >= 2")

    print(f"chicken_v0 ({args.view}): construction + reset + one stage (n turns), fresh process per n")
    print(f"{'players':>9} {'seconds':>9} {'x time':>8} {'peak MB':>9} {'x memory':>9} {'x n':>6}")
    base = None
    for n in args.sizes:
        row = measure(n, args.view)
        base = base or row
        print(
            f"{n:>9,} {row['seconds']:>9.3f} {row['seconds'] / base['seconds']:>8.1f} "
            f"{row['peak_bytes'] / 1e6:>9.1f} {row['peak_bytes'] / base['peak_bytes']:>9.1f} "
            f"{n / base['n']:>6.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
