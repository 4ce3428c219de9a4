"""Table of benchmarks/probes_rc/results.jsonl: mean and 95% t-interval half-width per (variant, method, kappa, cell).

.venv/bin/python benchmarks/probes_rc/summarise.py
"""

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

rows = [json.loads(line) for line in Path(__file__).with_name("results.jsonl").read_text().splitlines() if line.strip()]
groups = defaultdict(list)
for r in rows:
    groups[(r["variant"], r["method"], r.get("kappa"), r["cell"])].append(r)


def ci(x):
    x = np.asarray(x, float)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return f"{x.mean():7.3f} ± {half:5.3f}"


print(
    f"{'variant':<14}{'method':<12}{'kappa':<7}{'cell':<32}{'seeds':>5}  {'fair-action rate':<17} {'total return':<17} fairness"
)
for (v, m, k, c), rs in sorted(groups.items(), key=lambda kv: (kv[0][3], kv[0][0], kv[0][1], str(kv[0][2]))):
    print(
        f"{v:<14}{m:<12}{str(k):<7}{c:<32}{len(rs):>5}  {ci([r['fair_action_rate'] for r in rs]):<17} "
        f"{ci([r['total_return'] for r in rs]):<17} {ci([r['fairness'] for r in rs])}"
    )


def ratio(variant, cell, method="jamql", base=("none", "alternating"), boot=20000):
    """Total return of (variant, method) over alternating's on ``cell``: ratio of means, 95% bootstrap interval."""
    x = np.array([r["total_return"] for r in rows if (r["variant"], r["method"], r["cell"]) == (variant, method, cell)])
    y = np.array([r["total_return"] for r in rows if (r["variant"], r["method"], r["cell"]) == (*base, cell)])
    if len(x) < 2 or len(y) < 2:
        return
    rng = np.random.default_rng(0)
    b = [rng.choice(x, len(x)).mean() / rng.choice(y, len(y)).mean() for _ in range(boot)]
    print(
        f"{variant:<20}{cell:<32} total / alternating's: {x.mean() / y.mean():.3f} "
        f"[{np.percentile(b, 2.5):.3f}, {np.percentile(b, 97.5):.3f}] ({len(x)} vs {len(y)} seeds)"
    )


print()
for v, c in sorted(
    {(r["variant"], r["cell"]) for r in rows if r["method"] == "jamql" and r["cell"].startswith("resource")}
):
    ratio(v, c)
