"""
# Resource collection (grid world, Stackelberg stages)

| Creation           | `fairlead.make("resource_collection_v0")`, `pettingzoo.make("aec", "fairlead/resource_collection-v0")` |
|--------------------|------------------------------------------------------------------|
| Actions            | Discrete(5): 0 = stay, 1 = up, 2 = down, 3 = left, 4 = right (moves off the grid are masked) |
| Parallel API       | Yes (phase-based: 2 parallel steps per stage)                     |
| Agents             | `player_0 .. player_{n-1}`, 2 <= n <= 2,000 (2 and 4 are the reference settings) |
| Observation        | `{"observation": MultiDiscrete([2, 6, max_cycles+1, 5, cooperation, 5, cooperation, 4]) or Box, "action_mask": Box(0,1,(5,),int8)}` (third size 2 with `stage_feature="last"`, 1 with `"none"`) |

Agents walk on a small grid and collect resources, which takes cooperation:
a resource is collected only when at least `cooperation` agents stand on its
cell at the end of a stage. *Fair* resources share their value equally among
all agents; *unfair* resources pay most of their value to the leader of the
stage in which they are collected. Whoever leads therefore profits from
steering the group to unfair resources: the mediator's choice of leader and
the leader's choice of target decide how equal the returns are.

### Stages

Each of the `max_cycles` stages: the leader moves, then the followers move
having seen the leader's move (not each other's); then all moves apply at once
and collection is resolved. Several agents may share a cell; a move off the
grid is illegal (masked).

### Resources, rewards, respawn

There are always `n_fair` fair and `n_unfair` unfair resources, each on its
own cell. When a resource is collected (at least `cooperation` agents on its
cell after the moves), every agent is paid, collector or not:
- fair resource: `fair_value / n` to every agent;
- unfair resource: `unfair_share * unfair_value` to the stage's leader and
  `(1 - unfair_share) * unfair_value / (n - 1)` to every other agent.

Each agent `i` has a preference weight `w_i` for unfair resources that scales
only its own pay from unfair resources (`w_i` times the amounts above); fair
pay is never scaled. Presets: `"neutral"` (every `w_i = 1`), `"mild"` (1.5),
`"strong"` (3: with the defaults, a 2-player follower then earns more from
an unfair resource, 3, than from a fair one, 2); or a list of `n` weights >= 0.
Several resources can be collected in the same stage; each pays as above.

A collected resource respawns immediately, same kind, on a cell drawn
uniformly at random (from the env's seeded generator) among the cells that
hold no agent and no resource. Episode start: agents and resources on distinct
random cells, or the fixed `layout`.

`stage_reward_range = (0, R)` with `R` the most one agent can earn in a stage
(the `min(n_fair + n_unfair, n // cooperation)` best-paying resources for it).

### Fair action of the leader

The leader's move (from its cell at the start of the stage) *heads for*:
1. the kind of resource it ends on, if it ends on one (staying included);
2. otherwise a fair resource if it strictly reduces the leader's Manhattan
   distance to the nearest fair resource;
3. otherwise an unfair resource if it strictly reduces the distance to the
   nearest unfair one;
4. otherwise neither (e.g. waiting on an empty cell).

The move is **unfair** when it heads for an unfair resource that *favours the
leader*, fair otherwise. An unfair resource favours the leader when it pays the
leader more than the mean of what it pays each other agent, preferences
included: `w_L * unfair_share > mean_{j != L} w_j * (1 - unfair_share) / (n - 1)`.
With neutral preferences that holds for every `unfair_share > 1/n`, so every
move towards an unfair resource is unfair while a fair resource is on the grid
(there always is one); it does not hold for a leader whose weight `w_L` is 0,
nor for `unfair_share = 1/n` with equal weights (an equal split). Recorded
per stage as `info["last_stage"]["leader_fair"]`.

### Scripted reference

`fair_resource_policy(observation) -> action` is "everyone heads for the
nearest fair resource": it returns the observation's `fair_step` (the move
towards the nearest fair resource, 0 = stay once on it), whatever the role or
stage, so when every agent plays it the group gathers on the fair resource,
collects it and heads for the respawned one. It reads the discrete
observation only (a `ValueError` otherwise). `scripted_total_return(env,
policy=fair_resource_policy, episodes=100, seed=0)` is the mean total return
(sum over agents) when every agent of `env` plays `policy`, episode `j` reset
with seed `seed + j`; `scripted_returns(...)` gives the per-episode, per-agent
returns. Measured over 500 episodes: 20.8 (2 players), 24.6 (2 players,
strong), 24.5 (4 players), 30.1 (4 players, strong) for the shipped
scenarios; learned play is compared with it (`benchmarks/learnability.py`).
It is a reference for learnability, not an optimum: with the strong
preference, going for unfair resources pays the group more.

### Observations

`obs_encoding="discrete"` (default): int64 vector
`[role, leader_move + 1, stage_feature, fair_step, fair_partners, unfair_step, unfair_partners, leader_heads]`:
- `role`, `leader_move + 1`: as in every fairlead env (role 0 = leader,
  1 = follower; `leader_move + 1` is 0 until the leader has moved).
- `stage_feature`, set by the argument of that name: the stage index
  `0 .. max_cycles` (`"index"`, the default; `max_cycles` only in the final
  observation), a last-stage flag (`"last"`: 1 in the last stage and in the
  final observation, else 0) or always 0 (`"none"`). Its size `S` is
  `max_cycles + 1`, 2 or 1.
- `fair_step` / `unfair_step` (0..4): the move that brings this agent closer
  to the nearest fair / unfair resource (ties: the first in row-major order),
  0 when standing on it; vertical moves first when both axes help equally.
- `fair_partners` / `unfair_partners` (0..cooperation-1): how many other
  agents stand on that resource's cell, capped at `cooperation - 1` (enough to
  collect it by joining).
- `leader_heads`: what the leader's move of this stage heads for (see the
  fair-action rule): 0 = not moved yet, 1 = neither, 2 = a fair resource,
  3 = an unfair resource (an unfair leader move if it favours the leader).

Tabular table size (product of the `MultiDiscrete` sizes):
`2 * 6 * S * 100 * cooperation**2`, independent of `n` and of the grid size:
**52,800** with the defaults for 2 and for 4 players (`max_cycles=10`,
`cooperation=2`, `S = 11`), **9,600** with `stage_feature="last"` and 4,800
with `"none"`. The shipped scenarios (`envs/resource-collection-*.toml`) use
`"last"`: with the stage index a tabular learner must learn every stage
separately, which the default budget does not allow; the last-stage flag keeps
the one stage whose value differs (nothing can be collected after it). After
the default 1,500 training episodes, greedy play with a fixed leader collects
12-38% of the scripted reference's total return (below) with the index and
48-101% with the flag (5 seeds per scenario; `benchmarks/learnability.py`).
The shipped scenarios also train twice the default budget (3,000 episodes,
exploration decaying over 2,000; the `[training]`, `[agent]` and `[mediator]`
tables of their files, the same for every method): with 2 players and the
strong preference JAM-QL's agents then collect 98% of the scripted reference,
against 58% after 1,500 episodes (20 seeds; docs/results.md).
`obs_encoding="box"`: float32 one-hot codes of the same features, length
`S + 2 * cooperation + 22` (37 with the defaults).

`action_mask`: the legal moves of an agent that acts in the current phase;
only action 0 (stay) for an agent that waits (the parallel view ignores its
action). `env.unwrapped.positions` and `env.unwrapped.resources` give the
cells (row, column) for analysis and rendering.

### Global state

`env.state()` (for centralised critics; docs/stackelberg-protocol.md, "Global
state") holds, besides every env's stage, leader, actions and returns, the
whole grid the observations only summarise: the `(row, column)` of every
agent in index order, then of every fair and every unfair resource
(`2 * (n + n_fair + n_unfair)` codes of sizes `rows` and `columns`).

### Arguments

``` python
resource_collection_v0.env(n_agents=2, grid_size=(3, 3), n_fair=1, n_unfair=1,
                           cooperation=2, fair_value=4.0, unfair_value=4.0,
                           unfair_share=0.75, preference="neutral", layout=None,
                           max_cycles=10, stage_feature="index",
                           obs_encoding="discrete", leader="player_0",
                           render_mode=None)
```

- `grid_size`: (rows, columns); needs at least `n + n_fair + n_unfair` cells
  (the default 3 x 3 holds up to 7 agents) and at most 1,000,000 cells
  (`MAX_CELLS`, e.g. 1000 x 1000).
- `n_agents`: 2 .. 2,000 (`MAX_AGENTS`): what an unfair resource pays is an
  `n x n` table (leader x payee), 32 MB at 2,000 agents; more is refused at
  once with a `ValueError`.
- `n_fair`, `n_unfair` >= 1: resources of each kind on the grid.
- `cooperation`: agents needed on a cell to collect, 1..n.
- `fair_value`, `unfair_value` > 0; `unfair_share` in [1/n, 1].
- `preference`: `"neutral"`, `"mild"`, `"strong"` or `n` weights >= 0.
- `layout`: fixed start cells, `{"agents": [[r, c], ...], "fair": [...],
  "unfair": [...]}` with `n`, `n_fair` and `n_unfair` cells (resources on
  distinct cells; agents anywhere); `None` draws them at random each episode.
- `stage_feature`: `"index"`, `"last"` or `"none"` (see Observations).
- `leader`: who leads each stage: an agent name (it always leads), a selector
  (`"round_robin"`, `"random"`, `"catch_up"`, ... or an object), or `None`
  (`set_leader` chooses, as `fairlead.mediate()` does); see "Who leads" in
  docs/stackelberg-protocol.md.

### Version History

* v0: Initial release (fairlead 0.1.0); `stage_feature` added (default
  `"index"`: the observations of earlier releases), `fair_resource_policy`
  and `scripted_returns` added
"""

from __future__ import annotations

import math

import numpy as np

from fairlead import rules
from fairlead.envs.checks import check_finite_returns, check_int, check_real, real_array
from fairlead.envs.stackelberg import StackelbergEnv, make_constructors
from fairlead.names import unknown_name

MOVES = ("stay", "up", "down", "left", "right")
STAY, UP, DOWN, LEFT, RIGHT = rules.STAY, rules.UP, rules.DOWN, rules.LEFT, rules.RIGHT  # indices into MOVES
PREFERENCES = {"neutral": 1.0, "mild": 1.5, "strong": 3.0}
MAX_CELLS = 1_000_000  # grid cells at most: the per-cell tables stay a few MB (the card's Arguments)
# agents at most: what an unfair resource pays is an n x n table (leader x payee, preference-weighted, the one
# the compiled engine reads too), 32 MB at 2,000 agents and quadratic in n beyond (the card's Arguments)
MAX_AGENTS = 2_000
# values of the ``leader_heads`` feature
NOT_MOVED, HEADS_NEITHER, HEADS_FAIR, HEADS_UNFAIR = (
    rules.NOT_MOVED,
    rules.HEADS_NEITHER,
    rules.HEADS_FAIR,
    rules.HEADS_UNFAIR,
)
# positions in the discrete observation (after role, leader_move + 1, stage_feature)
FAIR_STEP, FAIR_PARTNERS, UNFAIR_STEP, UNFAIR_PARTNERS, LEADER_HEADS = range(3, 8)


def fair_resource_policy(observation) -> int:
    """Scripted reference policy: head for the nearest fair resource, wait on it.

    Returns the observation's ``fair_step`` feature: the move towards the
    nearest fair resource (always legal), 0 (stay) when standing on it. The
    same rule for every agent and every role, whatever the stage, so when
    everybody plays it the group gathers on the fair resource, collects it
    (``cooperation`` agents on its cell), then heads for the respawned one.

    ``observation``: the env's discrete observation (``obs_encoding="discrete"``),
    either the ``{"observation", "action_mask"}`` dict or its feature vector.
    """
    obs = observation["observation"] if isinstance(observation, dict) else observation
    obs = np.asarray(obs)
    if obs.ndim != 1 or obs.dtype.kind not in "iu" or len(obs) != LEADER_HEADS + 1:
        raise ValueError(
            "fair_resource_policy needs resource_collection_v0's discrete observation (an integer "
            f"vector of length {LEADER_HEADS + 1}; make the env with obs_encoding='discrete'), "
            f"got {obs.dtype} of shape {obs.shape}"
        )
    return int(obs[FAIR_STEP])


def scripted_returns(env, policy=fair_resource_policy, episodes: int = 100, seed: int = 0) -> np.ndarray:
    """Every agent's episode return when every agent plays ``policy``, one row per episode.

    ``env``: a fairlead AEC env (wrapped or raw) with discrete observations;
    episode ``j`` is reset with seed ``seed + j``. ``policy(observation) ->
    action`` sees what a learner sees (the dict of ``env.last()``).
    ``scripted_total_return`` averages the row sums.
    """
    episodes = check_int("episodes", episodes, 1)
    returns = []
    for j in range(episodes):
        env.reset(seed=seed + j)
        for _agent in env.agent_iter():
            obs, _, terminated, truncated, _ = env.last()
            env.step(None if terminated or truncated else policy(obs))
        totals = env.unwrapped.episode_returns
        returns.append([totals[a] for a in env.unwrapped.possible_agents])
    return np.array(returns)


def scripted_total_return(env, policy=fair_resource_policy, episodes: int = 100, seed: int = 0) -> float:
    """Mean over ``episodes`` of the total return (sum over agents) when every agent plays ``policy``."""
    return float(scripted_returns(env, policy, episodes, seed).sum(axis=1).mean())


def _preference_weights(preference, n: int) -> np.ndarray:
    choices = f"choose one of {', '.join(map(repr, PREFERENCES))} or give {n} weights >= 0"
    if isinstance(preference, str):
        if preference not in PREFERENCES:
            raise unknown_name("preference preset", preference, PREFERENCES, valid=choices)
        return np.full(n, PREFERENCES[preference])
    try:
        weights = real_array("preference", preference)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{err}; {choices}") from None
    if weights.shape != (n,):
        raise ValueError(f"preference needs one weight per agent ({n}), got {preference!r}")
    if np.any(weights < 0):
        raise ValueError(f"preference weights must be >= 0, got {preference!r}")
    return weights


class raw_env(StackelbergEnv):
    metadata = {**StackelbergEnv.metadata, "name": "resource_collection_v0"}
    action_names = MOVES

    @np.errstate(over="ignore", invalid="ignore")  # huge values: check_finite_returns explains
    def __init__(
        self,
        n_agents: int = 2,
        grid_size: tuple[int, int] = (3, 3),
        n_fair: int = 1,
        n_unfair: int = 1,
        cooperation: int = 2,
        fair_value: float = 4.0,
        unfair_value: float = 4.0,
        unfair_share: float = 0.75,
        preference: str | list[float] = "neutral",
        layout: dict | None = None,
        max_cycles: int = 10,
        stage_feature: str = "index",
        obs_encoding: str = "discrete",
        leader="player_0",
        render_mode: str | None = None,
    ):
        n = check_int("n_agents", n_agents, 2)
        if n > MAX_AGENTS:
            raise ValueError(
                f"n_agents={n:,} is more than resource_collection_v0 allows ({MAX_AGENTS:,}, MAX_AGENTS): "
                "its unfair resources' pay is an n x n table (leader x payee), whose memory grows as "
                "n**2; use at most 2,000 agents (the matrix games and cournot_v0 take many more)"
            )
        try:
            rows, cols = grid_size
        except (TypeError, ValueError):
            raise ValueError(f"grid_size must be (rows, columns), got {grid_size!r}") from None
        self.rows, self.cols = check_int("grid rows", rows, 1), check_int("grid columns", cols, 1)
        if self.rows * self.cols > MAX_CELLS:
            raise ValueError(
                f"grid_size {self.rows}x{self.cols} has {self.rows * self.cols:,} cells, more than "
                f"the {MAX_CELLS:,} allowed (MAX_CELLS, e.g. grid_size=(1000, 1000))"
            )
        self.n_fair = check_int("n_fair", n_fair, 1)
        self.n_unfair = check_int("n_unfair", n_unfair, 1)
        n_resources = self.n_fair + self.n_unfair
        needed = n + n_resources
        if self.rows * self.cols < needed:
            side = math.isqrt(needed - 1) + 1
            raise ValueError(
                f"grid_size {self.rows}x{self.cols} has {self.rows * self.cols} cells, too few for "
                f"{n} agents plus {n_resources} resources (each needs its own cell at the start "
                f"and for respawns): use at least {needed} cells, e.g. grid_size=({side}, {side})"
            )
        self.cooperation = check_int("cooperation", cooperation, 1)
        if self.cooperation > n:
            raise ValueError(
                f"cooperation={cooperation} exceeds n_agents={n}: no resource could be collected; choose 1..{n}"
            )
        fair_value = check_real("fair_value", fair_value, positive=True)
        unfair_value = check_real("unfair_value", unfair_value, positive=True)
        share = check_real("unfair_share", unfair_share, positive=True)
        if not 1 / n <= share <= 1:
            raise ValueError(
                f"unfair_share must be in [1/n, 1] = [{1 / n:g}, 1] (the leader's part of an "
                f"unfair resource), got {unfair_share}"
            )
        self.preference_weights = _preference_weights(preference, n)
        c = self.cooperation
        super().__init__(
            n,
            len(MOVES),
            max_cycles,
            (5, c, 5, c, 4),
            obs_encoding,
            leader,
            render_mode,
            stage_feature=stage_feature,
            game_state_sizes=(self.rows, self.cols) * needed,
        )
        self._kinds = (np.arange(self.n_fair), np.arange(self.n_fair, n_resources))
        self._layout = None if layout is None else self._parse_layout(layout, n)
        self._fair_pay = np.full(n, fair_value / n)
        unfair_pay = np.full((n, n), (1 - share) * unfair_value / (n - 1))
        np.fill_diagonal(unfair_pay, share * unfair_value)
        self._unfair_pay = unfair_pay * self.preference_weights  # row: leader, column: payee
        others_mean = (self._unfair_pay.sum(axis=1) - np.diag(self._unfair_pay)) / (n - 1)
        self._unfair_favours_leader = np.diag(self._unfair_pay) > others_mean  # per leader
        per_resource = [fair_value / n] * self.n_fair + [self._unfair_pay.max()] * self.n_unfair
        best = sorted(per_resource, reverse=True)[: min(n_resources, n // c)]
        self._reward_range = (0.0, float(sum(best)))
        check_finite_returns(self, "fair_value, unfair_value or preference")
        self._move_masks = np.ones((self.rows, self.cols, len(MOVES)), np.int8)
        self._move_masks[0, :, UP] = self._move_masks[-1, :, DOWN] = 0
        self._move_masks[:, 0, LEFT] = self._move_masks[:, -1, RIGHT] = 0

    def _parse_layout(self, layout, n: int) -> dict[str, np.ndarray]:
        counts = {"agents": n, "fair": self.n_fair, "unfair": self.n_unfair}
        form = "{'agents': [[row, col], ...], 'fair': [...], 'unfair': [...]}"
        if not isinstance(layout, dict) or set(layout) != set(counts):
            raise ValueError(f"layout must be a dict {form}, got {layout!r}")
        parsed = {}
        for key, count in counts.items():
            cells = np.asarray(layout[key])
            if cells.shape != (count, 2) or not np.issubdtype(cells.dtype, np.integer):
                raise ValueError(f"layout[{key!r}] must list {count} cells [row, col] of integers, got {layout[key]!r}")
            if np.any(cells < 0) or np.any(cells >= (self.rows, self.cols)):
                raise ValueError(
                    f"layout[{key!r}] has a cell outside the {self.rows}x{self.cols} grid: {layout[key]!r}"
                )
            parsed[key] = cells.astype(np.int64)
        resources = np.concatenate([parsed["fair"], parsed["unfair"]])
        if len(np.unique(resources, axis=0)) < len(resources):
            raise ValueError(f"layout puts two resources on one cell: {resources.tolist()}")
        return parsed

    # ------------------------------------------------------------- state
    @property
    def positions(self) -> dict[str, tuple[int, int]]:
        """Each agent's cell (row, column), for analysis and scripted play."""
        return {a: (int(r), int(c)) for a, (r, c) in zip(self.possible_agents, self._pos)}

    @property
    def resources(self) -> dict[str, list[tuple[int, int]]]:
        """The cells of the fair and of the unfair resources."""
        return {
            kind: [(int(r), int(c)) for r, c in self._res[idx]] for kind, idx in zip(("fair", "unfair"), self._kinds)
        }

    def _reset_game(self, rng):
        self._spawn_rng = rng
        if self._layout is not None:
            self._pos = self._layout["agents"].copy()
            self._res = np.concatenate([self._layout["fair"], self._layout["unfair"]])
            return
        n = len(self.possible_agents)
        cells = rng.choice(self.rows * self.cols, n + self.n_fair + self.n_unfair, replace=False)  # distinct
        grid = np.stack(np.divmod(cells, self.cols), axis=1)
        self._pos, self._res = grid[:n], grid[n:]

    # ------------------------------------------------------------- hooks
    def _game_features(self, agent_index):
        features = np.zeros(4, np.int64)
        rules.resource_features(self._pos, self._res, self.n_fair, self.cooperation, agent_index, features)
        leader_move = self.leader_action
        heads = (
            NOT_MOVED
            if leader_move is None
            else rules.leader_heads(
                self._pos, self._res, self.n_fair, self.agent_name_mapping[self.leader], leader_move
            )
        )
        return (*features.tolist(), heads)

    def _game_state(self):
        return np.concatenate([self._pos, self._res]).ravel()  # (row, col) of each agent, then each resource

    def _legal_actions(self, agent_index):
        row, col = self._pos[agent_index]
        return self._move_masks[row, col]

    def _play_stage(self, leader, actions):
        heads = rules.leader_heads(self._pos, self._res, self.n_fair, leader, actions[leader])
        self._pos = self._pos.copy()  # a new array each stage: earlier ``positions`` stay as they were
        rules.apply_moves(self._pos, actions)
        collected = np.zeros(len(self._res), np.int64)
        count = rules.collected_resources(self._pos, self._res, self.cooperation, collected)
        rewards = np.zeros(len(self.possible_agents))
        rules.collection_rewards(collected, count, self.n_fair, self._fair_pay, self._unfair_pay, leader, rewards)
        for r in collected[:count]:
            self._respawn(r)
        return rewards, not (heads == HEADS_UNFAIR and self._unfair_favours_leader[leader])

    def _respawn(self, r: int) -> None:
        free = np.zeros(self.rows * self.cols, np.int64)
        count = rules.free_cells(self._pos, self._res, self.cols, free)
        cell = self._spawn_rng.choice(free[:count])
        self._res[r] = divmod(int(cell), self.cols)

    @property
    def stage_reward_range(self):
        return self._reward_range

    # ------------------------------------------------------------- render
    def render(self):
        text = super().render()
        if text is None:
            return None
        marks = [[""] * self.cols for _ in range(self.rows)]
        agents = [[[] for _ in range(self.cols)] for _ in range(self.rows)]
        for kind, mark in zip(self._kinds, "FU"):
            for row, col in self._res[kind]:
                marks[row][col] = mark
        for i, (row, col) in enumerate(self._pos):
            agents[row][col].append(str(i))
        cells = [[(mark + ",".join(here)) or "." for mark, here in zip(*lines)] for lines in zip(marks, agents)]
        width = max(len(cell) for line in cells for cell in line)
        grid = "\n".join(" ".join(cell.ljust(width) for cell in line).rstrip() for line in cells)
        return f"{text}\n{grid}\n(F fair resource, U unfair resource, i = player_i)"


env, parallel_env = make_constructors(raw_env)
