"""The grid of docs/results.md in one command: one run directory per setting and one combined summary.

``fairlead reproduce --out DIR`` trains every method on the page's eight
settings with the shipped hyper-parameters (each scenario's own tables
included) and the page's seeds, into ``DIR/<scenario>/``, then writes
``DIR/summary.md``: the claims table, every setting's summary table and how
long each setting took. Every run directory is an ordinary one (resumable,
growable, reportable), so reproducing again into the same ``DIR`` trains only
what is missing. ``--quick`` trains ``QUICK`` seeds and episodes for a first
look: its numbers say nothing about the claims.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from fairlead.experiments.atomic import write_atomic
from fairlead.experiments.claims import claims_table
from fairlead.experiments.directories import RunDirectoryError
from fairlead.experiments.runs import run_all
from fairlead.experiments.spec import RunSpec
from fairlead.registry import resolve
from fairlead.trainers.config import load_hyperparams, method_names

# (scenario, seeds): docs/results.md's settings, the headline ones with 20 seeds
GRID = (
    ("chicken-4p", 20),
    ("chicken-2p", 20),
    ("resource-collection-2p-strong", 20),
    ("resource-collection-4p-strong", 20),
    ("prisoners-dilemma-2p", 10),
    ("prisoners-dilemma-4p", 10),
    ("resource-collection-2p", 10),
    ("resource-collection-4p", 10),
)
QUICK = {"seeds": 2, "episodes": 100}
SUMMARY = "summary.md"


def grid_specs(quick: bool = False) -> dict[str, RunSpec]:
    """The run of every setting, by scenario name."""
    specs = {}
    for scenario, seeds in GRID:
        env_name, env_kwargs = resolve(scenario)
        hp = load_hyperparams(scenario=scenario)
        if quick:
            seeds = QUICK["seeds"]
            hp = replace(hp, training=replace(hp.training, episodes=QUICK["episodes"]))
        specs[scenario] = RunSpec(env_name, env_kwargs, tuple(method_names()), tuple(range(seeds)), hp)
    return specs


def check_grid_dir(out: Path) -> None:
    """Refuse an ``out`` that is not a new directory or an earlier grid's, before anything is written."""
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(
            f"--out {out} is a file; reproduce needs a directory (a new one, or the --out of "
            "an earlier reproduce to complete)"
        )
    foreign = sorted(p.name for p in out.iterdir() if p.name not in {*dict(GRID), SUMMARY}) if out.is_dir() else []
    if foreign:
        raise RunDirectoryError(
            f"--out {out} holds {', '.join(foreign)}, which no reproduce wrote; give a new "
            "directory (reproduce writes one run directory per setting and summary.md)"
        )


def reproduce(
    out: str | Path, quick: bool = False, jobs: int | None = None, progress: bool = True, engine: str = "auto"
) -> str:
    """Train the grid into ``out`` (see the module docstring); returns the combined summary.

    Every setting's (method, seed) pairs share one pool of workers (``runs.run_all``).
    """
    out = Path(out)
    check_grid_dir(out)
    started = time.perf_counter()
    specs = grid_specs(quick)
    done = run_all(
        [(spec, out / scenario) for scenario, spec in specs.items()], jobs=jobs, progress=progress, engine=engine
    )
    took = time.perf_counter() - started
    size = (
        f"quick ({QUICK['seeds']} seeds, {QUICK['episodes']} episodes: a first look, not the claims)"
        if quick
        else "the grid of docs/results.md"
    )
    timings = ", ".join(f"{scenario} {seconds:.1f} s" for scenario, (_, seconds) in zip(specs, done))
    summary = (
        "\n\n".join(
            [
                f"# fairlead reproduce: {size}",
                f"Took {took:.0f} s; engine {engine}. Worker time per setting (training and reports): {timings}.",
                "## Claims\n\n" + claims_table(out / scenario for scenario, _ in GRID[:4]),
                *(
                    f"## {scenario} ({len(spec.seeds)} seeds, {spec.hp.training.episodes} episodes)\n\n{table}"
                    for (scenario, spec), (table, _) in zip(specs.items(), done)
                ),
            ]
        )
        + "\n"
    )
    write_atomic(out / SUMMARY, summary)
    return summary
