"""Alternative unfair-lead charges for JAM-QL on resource collection and Chicken (issue 22, probe).

    .venv/bin/python benchmarks/probes_rc/charge_probe.py VARIANT CELL [CELL ...] [--seeds 10] [--method jamql]

VARIANT: one of CHARGES below (``shipped`` is the library's unfair_advantage, kappa 4). CELL: a scenario name
(``resource-collection-2p-strong``) or ``chicken:N:T`` (chicken_v0 with n_agents=N, max_cycles=T and the shipped
defaults). Trains the reference trainer (fairlead.trainers.jamql.Trainer) with the scenario's own hyper-parameters,
the method ``--method`` (default jamql) with its transfer rule replaced by the variant's callable (same strength,
settled stage by stage as jamql ships), seeds 0..S-1, evaluates 50 greedy episodes per seed, and appends one JSON
line per seed to benchmarks/probes_rc/results.jsonl. ``summarise.py`` prints the table with 95% intervals.
Nothing under src/ is changed: a transfer rule is a callable ``(returns, strength, stages) -> transfers`` that
``mediate(transfer=(rule, strength))`` accepts.
"""

import argparse
import json
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np

from fairlead import rules
from fairlead.mediation import transfer as tr
from fairlead.trainers.config import get_method, load_hyperparams
from fairlead.trainers.evaluation import HEADLINE
from fairlead.trainers.jamql import Trainer

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("results.jsonl")
EVAL_EPISODES = 50


def _stage_arrays(stages):
    players = list(stages[0].rewards) if stages else []
    return players, [
        (players.index(s.leader), np.fromiter(s.rewards.values(), float, len(players)), s.leader_fair) for s in stages
    ]


def excess_pool(returns, kappa, stages=()):
    """The leader's pay above an equal split of the stage's pay, on unfair leads, kappa times; the charges go to a
    pool shared equally by every player (the charged leader included): ``t_i = -kappa (e_i - mean e)``,
    ``e_i = sum over i's unfair leads of max(0, r_i - mean_j r_j)`` (mean over all players, not the followers)."""
    players, recs = _stage_arrays(stages)
    e = np.zeros(len(returns))
    for leader, r, fair in recs:
        if not fair:
            e[leader] += max(0.0, r[leader] - r.mean())
    return -kappa * (e - e.mean()) + 0.0


def first_free(returns, kappa, stages=()):
    """The shipped unfair_advantage, except the episode's first unfair lead that took an advantage is not charged
    (a tolerance of one unfair lead per episode)."""
    players, recs = _stage_arrays(stages)
    u = np.zeros(len(returns))
    free = True
    for leader, r, fair in recs:
        a = rules.taken_advantage(r, leader, fair)
        if a > 0 and free:
            free = False
            continue
        u[leader] += a
    out = np.empty(len(returns))
    rules.unfair_advantage_transfer(u, float(kappa), out)
    return out


def heads_charge(returns, kappa, stages=()):
    """Charge the unfair *action*, not the advantage it happened to yield: every unfair lead costs the leader
    ``kappa * A`` with ``A`` the most an unfair lead can take in one stage (here the advantage the stage *would*
    give if the unfair resource were collected, approximated by the largest advantage seen: kappa * 1 unit of the
    env's stage reward range, set in CHARGE_UNIT), shared by the followers."""
    players, recs = _stage_arrays(stages)
    u = np.zeros(len(returns))
    for leader, _r, fair in recs:
        if not fair:
            u[leader] += CHARGE_UNIT[0]
    out = np.empty(len(returns))
    rules.unfair_advantage_transfer(u, float(kappa), out)
    return out


CHARGE_UNIT = [1.0]


def fair_pool(returns, kappa, stages=()):
    """Each unfair leader pays kappa times the advantage it took (as shipped) into a pool that goes to the players
    in proportion to their *fair* leads so far (to the others equally while nobody has led fairly yet), so helping
    an unfair collection earns a follower nothing unless it leads fairly itself."""
    players, recs = _stage_arrays(stages)
    n = len(returns)
    u, f = np.zeros(n), np.zeros(n)
    for leader, r, fair in recs:
        u[leader] += rules.taken_advantage(r, leader, fair)
        f[leader] += 1.0 if fair else 0.0
    if f.sum() == 0:
        out = np.empty(n)
        rules.unfair_advantage_transfer(u, float(kappa), out)
        return out
    return -kappa * u + kappa * u.sum() * f / f.sum() + 0.0


# resource collection only: who stood on a collected unfair resource, per stage (filled by the patched env)
COLLECTORS: dict[int, list[int]] = {}


def patch_collectors():
    from fairlead.envs import resource_collection_v0 as rc

    original = rc.raw_env._play_stage

    def play_stage(self, leader, actions):
        before = self._res.copy()
        out = original(self, leader, actions)
        here = []
        for r in self._kinds[1]:
            on = [i for i in range(len(self._pos)) if tuple(self._pos[i]) == tuple(before[r])]
            if len(on) >= self.cooperation:
                here += on
        COLLECTORS[self.stage] = here
        return out

    rc.raw_env._play_stage = play_stage


def bystanders(returns, kappa, stages=()):
    """The shipped charge, but paid to the players who did *not* help collect the unfair resource (equally); to
    every other player as shipped when everybody helped (2 players) or no unfair resource was collected."""
    players, recs = _stage_arrays(stages)
    n = len(returns)
    t = np.zeros(n)
    for rec, (leader, r, fair) in zip(stages, recs):
        a = rules.taken_advantage(r, leader, fair)
        if a == 0:
            continue
        helpers = set(COLLECTORS.get(rec.stage, [])) | {leader}
        payees = [i for i in range(n) if i not in helpers] or [i for i in range(n) if i != leader]
        charge = kappa * n / (n - 1) * a * (n - 1) / n  # = kappa * a, as the shipped rule charges a lone taker
        t[leader] -= charge
        for i in payees:
            t[i] += charge / len(payees)
    return t + 0.0


def _fair_split(returns, kappa, stages, to_helpers):
    players, recs = _stage_arrays(stages)
    n = len(returns)
    u = np.zeros(n)
    t = np.zeros(n)
    for rec, (leader, r, fair) in zip(stages, recs):
        if not fair:
            u[leader] += rules.taken_advantage(r, leader, fair)
            continue
        a = rules.taken_advantage(r, leader, False)  # what a *fair* leader came out ahead of the followers' mean
        if a == 0:
            continue
        helpers = [i for i in COLLECTORS.get(rec.stage, []) if i != leader] if to_helpers else []
        payees = helpers or [i for i in range(n) if i != leader]
        t[leader] -= a * (n - 1) / n  # down to the mean of the stage's pay
        for i in payees:
            t[i] += a * (n - 1) / n / len(payees)
    out = np.empty(n)
    rules.unfair_advantage_transfer(u, float(kappa), out)
    return out + t + 0.0


def fair_split(returns, kappa, stages=()):
    """The shipped charge on unfair leads, plus: what a *fair* leader comes out ahead of the followers' mean in a
    stage (4 players: followers collected the unfair resource while it headed for the fair one) is shared equally
    (kappa 1: the leader keeps the stage's mean pay), so the followers who collect an unfair resource under a fair
    lead earn from it. Chicken: a fair (swerving) leader is never ahead, so nothing changes there."""
    return _fair_split(returns, kappa, stages, False)


def fair_split_helpers(returns, kappa, stages=()):
    """As fair_split, but the fair leader's surplus goes to the followers who collected the unfair resource."""
    return _fair_split(returns, kappa, stages, True)


for _rule in (fair_split, fair_split_helpers, excess_pool, first_free, heads_charge, fair_pool, bystanders):
    _rule.max_strength = tr.MAX_KAPPA  # a strength kappa as unfair_advantage's, not a beta in [0, 1]

CHARGES = {
    "shipped": tr.unfair_advantage,
    "excess_pool": excess_pool,
    "first_free": first_free,
    "heads_charge": heads_charge,
    "fair_pool": fair_pool,
    "bystanders": bystanders,
    "fair_split": fair_split,
    "fair_split_helpers": fair_split_helpers,
}


def cell_setup(cell):
    if cell.startswith("chicken:"):
        _, n, t = cell.split(":")
        return "chicken_v0", {"n_agents": int(n), "max_cycles": int(t)}, load_hyperparams()
    data = tomllib.loads((ROOT / "envs" / f"{cell}.toml").read_text())
    return data["env"], data["kwargs"], load_hyperparams(scenario=cell)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=sorted(CHARGES) + ["none"])
    parser.add_argument("cells", nargs="+")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--method", default="jamql")
    parser.add_argument("--kappa", type=float, default=None)
    args = parser.parse_args()
    base = get_method(args.method)
    if args.variant == "none":
        method = base
    else:
        kappa = args.kappa if args.kappa is not None else float(base.transfer[1])
        method = replace(base, transfer=(CHARGES[args.variant], kappa), settle="stage")
    if args.variant in ("bystanders", "fair_split_helpers"):
        patch_collectors()
    for cell in args.cells:
        env_name, kwargs, hp = cell_setup(cell)
        if args.variant == "heads_charge":
            from fairlead import make

            CHARGE_UNIT[0] = float(make(env_name, **kwargs).unwrapped.stage_reward_range[1])
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            started = time.perf_counter()
            trainer = Trainer(env_name, kwargs, method, hp, seed)
            trainer.train(hp.training.episodes)
            s = trainer.evaluate_summary(EVAL_EPISODES)
            row = {
                "variant": args.variant,
                "method": args.method,
                "kappa": args.kappa,
                "cell": cell,
                "seed": seed,
                "fair_action_rate": s["fair_action_rate"],
                "total_return": s["total_return"],
                "fairness": s[HEADLINE],
                "seconds": round(time.perf_counter() - started, 1),
            }
            with OUT.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
