"""
# Stackelberg quantity competition (Cournot with discrete quantities)

| Creation           | `fairlead.make("cournot_v0")`, `pettingzoo.make("aec", "fairlead/cournot-v0")` |
|--------------------|------------------------------------------------------------------|
| Actions            | Discrete(q_max+1): the quantity produced, 0..q_max               |
| Parallel API       | Yes (phase-based: 2 parallel steps per stage)                     |
| Agents             | `player_0 .. player_{n-1}`, any n >= 2                            |
| Observation        | `{"observation": MultiDiscrete([2, q_max+2, max_cycles+1]) or Box, "action_mask": Box(0,1,(q_max+1,),int8)}` (stage feature of size 2 with `stage_feature="last"`, 1 with `"none"`) |

The textbook first-mover advantage (von Stackelberg 1934): firms sell one good;
each stage the leader commits to a quantity, then the followers choose theirs
having seen it (not each other's). Committing first to a large quantity pushes
the followers back and earns the leader more than simultaneous (Cournot) play.

### Stage game

Every agent picks an integer quantity `q_i` in `0..q_max`. With total
quantity `Q = sum_i q_i` the price is `P = max(0, a - b Q)` and agent `i`'s
stage reward is its profit `(P - c) q_i` (negative when the price is below
the unit cost `c`). `env.unwrapped.stage_payoff(actions)` gives every agent's
profit for a profile and `env.unwrapped.payoff_tensor` tabulates it over all
`(q_max+1)**n` profiles (built on first use: 13**4 profiles for 4 players with
the defaults) for `fairlead.solver.stackelberg_outcome`.

Closed forms (continuous quantities; Cournot 1838, von Stackelberg 1934):
Cournot `q = (a-c)/((n+1)b)` each; Stackelberg leader `q_L = (a-c)/2b`, each of
the n-1 followers `(a-c)/(2bn)`; for 2 players profits `(a-c)^2/8b` (leader)
and `(a-c)^2/16b` (follower). On the integer grid with the defaults (a=12,
b=1, c=0) and the solver's pessimistic tie-break (weak Stackelberg: among tied
follower replies, the one worst for the leader) the 2-player outcome is the
textbook leader 6, follower 3, profits 18 and 9; the optimistic tie-break
gives leader 7, follower 2, profits 21 and 6. A follower's best reply to
`q_L` is `(a-c-b q_L)/2b` rounded down or up (both tie at a half-integer);
when that is below 1 no quantity earns a positive profit, and with `c = 0`
every quantity then ties at 0 (a=12: leader quantities 11 and 12).

Those ties matter for learning: neither tied reply dominates, so which one a
trained follower settles on is an accident of training, and the leader's best
quantity (6 or 7 for a=12) varies from seed to seed. With a non-integer
`(a-c)/b` the follower never ties. The scenario `envs/cournot-2p.toml` uses
`a = 12.5`, `q_max = 7` and `stage_feature="none"`: the outcome is leader 6,
follower 3, profits 21 and 10.5 (2:1, as in the closed form) under both
tie-breaks, and `fairlead.solver`'s module docstring says which tie-break
learned play matches in each game.

With n > 2 and the leader at `(a-c)/2b`, the followers' integer equilibria
are not unique. In every one where the price exceeds the cost, each follower's
quantity is within 2 of the continuous `(a-c)/(2bn)` (each best reply is the
continuous one rounded), and within 1 for `a-c = 12`, `b = 1`, n = 3 and 4.
With `c = 0` the followers also have *flooded* equilibria at price 0, where
producing is free and every quantity is a best reply; the pessimistic
tie-break selects them (e.g. n = 3: leader 6, followers 0 and 5), so use
`c > 0` to compare with the closed forms for n > 2.

### Observations

`obs_encoding="discrete"` (default): int64 `[role, leader_quantity + 1, stage_feature]`
(role 0 = leader, 1 = follower; `leader_quantity + 1` is 0 until the leader has
acted this stage). `stage_feature` is set by the argument of that name: the
stage index `0 .. max_cycles` (`"index"`, the default; `max_cycles` only in
the final observation), a last-stage flag (`"last"`: 1 in the last stage and
in the final observation, else 0) or always 0 (`"none"`); its size `S` is
`max_cycles + 1`, 2 or 1. Tabular table size `2 (q_max+2) S`, for any number
of players: 308 with the defaults, 56 with `"last"`, 28 with `"none"`.
`obs_encoding="box"`: float32 one-hot codes of the same features (length
`q_max + 4 + S`: 27 with the defaults).

`action_mask`: every quantity for an agent that acts in the current phase;
only action 0 for an agent that waits (the parallel view ignores its action).

### Rewards

Each agent's profit arrives when the stage completes. The game ends by
termination after `max_cycles` stages. `stage_reward_range` is exact: the
lowest profit is that of producing into a market where all others produce
`q_max`, the highest the monopoly profit on the grid (others produce 0).

### Fair action of the leader

The leader acts fairly when it produces no more than its symmetric Cournot
share: `q_L <= q_fair` with `q_fair = min(q_max, round((a-c)/((n+1)b)))`,
rounded to the nearest integer, halves up (a=12, b=1, c=0: 4 for 2 players,
3 for 3, 2 for 4, since 12/5 = 2.4). `env.unwrapped.fair_quantity` holds it.

### Many players

As in `matrix_game_v0` (its card's Many players): memory and time grow
linearly with `n` (a stage costs O(n), the fair quantity is a closed form),
and the pairwise fairness metrics take at most 5,000 players
(`fairlead.fairness.MAX_PAIRWISE_AGENTS`). Only `payoff_tensor`, for the
general solver, has `(q_max+1)**n * n` entries, refused beyond 10**8
(`fairlead.solver.MAX_TENSOR_ENTRIES`).

### Arguments

``` python
cournot_v0.env(n_agents=2, a=12.0, b=1.0, c=0.0, q_max=12, max_cycles=10,
               stage_feature="index", obs_encoding="discrete", leader="player_0",
               render_mode=None)
```

`a`, `b`: inverse demand `P = a - b Q` (`b > 0`); `c >= 0`: unit cost, `a > c`;
`q_max >= 1`: the largest quantity. `stage_feature`: `"index"`, `"last"` or
`"none"` (see Observations).

`leader`: who leads each stage: an agent name (it always leads), a selector
(`"round_robin"`, `"random"`, `"catch_up"`, ... or an object), or `None`
(`set_leader` chooses, as `fairlead.mediate()` does); see "Who leads" in
docs/stackelberg-protocol.md.

### Version History

* v0: Initial release (fairlead 0.1.0); `stage_feature` added (default
  `"index"`: the observations of earlier releases)
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from fairlead.envs.checks import check_finite_returns, check_int, check_real
from fairlead.envs.stackelberg import StackelbergEnv, make_constructors
from fairlead.rules import cournot_stage_rewards
from fairlead.solver import payoff_tensor


class raw_env(StackelbergEnv):
    metadata = {**StackelbergEnv.metadata, "name": "cournot_v0"}

    @np.errstate(over="ignore", invalid="ignore")  # huge values: check_finite_returns explains
    def __init__(
        self,
        n_agents: int = 2,
        a: float = 12.0,
        b: float = 1.0,
        c: float = 0.0,
        q_max: int = 12,
        max_cycles: int = 10,
        stage_feature: str = "index",
        obs_encoding: str = "discrete",
        leader="player_0",
        render_mode: str | None = None,
    ):
        self.a, self.b, self.c = check_real("a", a), check_real("b", b), check_real("c", c)
        if self.b <= 0:
            raise ValueError(f"b (slope of the inverse demand P = a - bQ) must be > 0, got {b}")
        if self.c < 0:
            raise ValueError(f"c (unit cost) must be >= 0, got {c}")
        if self.a <= self.c:
            raise ValueError(
                f"a (demand intercept) must exceed c (unit cost), got a={a}, c={c}: "
                "otherwise no quantity sells above cost"
            )
        self.q_max = check_int("q_max", q_max, 1)
        super().__init__(
            n_agents,
            self.q_max + 1,
            max_cycles,
            (),
            obs_encoding,
            leader,
            render_mode,
            stage_feature=stage_feature,
        )
        n = len(self.possible_agents)
        cournot = (self.a - self.c) / ((n + 1) * self.b)
        self.fair_quantity = math.floor(min(self.q_max, cournot + 0.5 + 1e-9))  # cournot may be inf
        q = np.arange(self.q_max + 1)
        crowded = self._profit(q, q + (n - 1) * self.q_max)
        alone = self._profit(q, q)
        self._reward_range = (float(crowded.min()), float(alone.max()))
        check_finite_returns(self, "a, b, c or q_max")

    def price(self, total_quantity) -> float:
        """Market price for a total quantity (never negative)."""
        return max(0.0, self.a - self.b * total_quantity)

    def _profit(self, quantities: np.ndarray, totals: np.ndarray) -> np.ndarray:
        return (np.maximum(0.0, self.a - self.b * totals) - self.c) * quantities

    def stage_payoff(self, actions) -> np.ndarray:
        """Every agent's profit when agent ``i`` produces ``actions[i]``: ``fairlead.rules``."""
        out = np.empty(len(actions))
        cournot_stage_rewards(self.a, self.b, self.c, np.asarray(actions, dtype=np.int64), out)
        return out

    @cached_property
    def payoff_tensor(self) -> np.ndarray:
        """``stage_payoff`` over all profiles, for the solver ((q_max+1)**n * n entries; built on first use)."""
        return payoff_tensor(self.stage_payoff, len(self.possible_agents), self.num_actions)

    def _play_stage(self, leader, actions):
        return self.stage_payoff(actions), actions[leader] <= self.fair_quantity

    @property
    def stage_reward_range(self):
        return self._reward_range

    def render(self):
        text = super().render()
        if text is not None and self.last_stage is not None:
            total = sum(self.last_stage.actions.values())
            text += (
                f"\nlast price {self.price(total):g} for total quantity {total}; "
                f"fair leader quantity <= {self.fair_quantity}"
            )
        return text


env, parallel_env = make_constructors(raw_env)
