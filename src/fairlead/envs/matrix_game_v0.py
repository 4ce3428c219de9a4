"""
# Matrix game (user payoff)

| Creation           | `fairlead.make("matrix_game_v0", payoff=...)`, `pettingzoo.make("aec", "fairlead/matrix_game-v0", payoff=...)` |
|--------------------|------------------------------------------------------------------|
| Actions            | Discrete(k)                                                       |
| Parallel API       | Yes (phase-based: 2 parallel steps per stage)                     |
| Agents             | `player_0 .. player_{n-1}`, any n >= 2 (bimatrix: n = 2)          |
| Observation        | `{"observation": MultiDiscrete([2, k+1, max_cycles+1]) or Box, "action_mask": Box(0,1,(k,),int8)}` (stage feature of size 2 with `stage_feature="last"`, 1 with `"none"`) |

An iterated matrix game of `max_cycles` stages, each a Stackelberg stage: the
leader acts, then the followers act having seen the leader's action (not
each other's), then every agent is paid.

### Payoffs

`payoff` is either
- a `k x k` matrix of a **symmetric** game: `payoff[i][j]` is the reward for
  playing `i` against an opponent playing `j`. Any number of players: with
  `n > 2` a player's stage reward is the mean of its pairwise rewards against
  each other player, `r_p = mean_{q != p} payoff[a_p][a_q]`, computed from how
  many players play each action: a stage costs O(n k), never a `k**n` table.
- a `2 x k x k` **bimatrix** for two players: `payoff[0][i][j]` is
  `player_0`'s reward and `payoff[1][i][j]` is `player_1`'s when `player_0`
  plays `i` and `player_1` plays `j` (whoever leads).

### Observations

`obs_encoding="discrete"` (default): int64 `MultiDiscrete([2, k+1, S])`
= `[role, leader_action + 1, stage_feature]`: role 0 = leader, 1 = follower;
`leader_action + 1` is 0 until the leader has acted this stage (the leader's
action is what followers see). What `stage_feature` shows of the stage is the
argument of that name:
- `"index"` (default): the stage index `0 .. max_cycles` (`max_cycles` only in
  the final observation), `S = max_cycles + 1` values;
- `"last"`: 1 in the last stage (and in the final observation), else 0, `S = 2`;
- `"none"`: always 0, `S = 1`: the observation does not depend on the stage.

The layout never changes (the stage feature is always at index 2). A tabular
learner indexes a table of `2 (k+1) S` entries: `2 (k+1) (max_cycles+1)` by
default (66 for 2 actions and 10 stages), `4 (k+1)` with `"last"`, `2 (k+1)`
with `"none"`. A learner that keys on the stage index learns every stage
separately (ten times the states over 10 stages); without it, it cannot play
differently in different stages (e.g. followers taking turns by stage).
`obs_encoding="box"`: the float32 concatenation of the one-hot codes of the
same three features (length `2 + k + 1 + S`).

`action_mask`: all `k` actions for an agent that acts in the current phase;
only action 0 for an agent that waits (the parallel view ignores its action).

### Rewards

Each agent's stage reward arrives when the stage completes (after the last
follower acts). The game ends by termination after `max_cycles` stages.
`env.unwrapped.return_scale = max_cycles * (max(payoff) - min(payoff))` bounds
the spread of episode returns (used by the default fairness metric).

### Fair action of the leader

A leader's action is fair when, after the followers' equilibrium reply to it
(`fairlead.solver.follower_response`, pessimistic tie-break), the leader
earns no more than the followers' mean: it did not use the first move to come
out ahead. Recorded per stage as `info["last_stage"]["leader_fair"]`.
In a symmetric game the followers' equilibria are found among their action
counts (`fairlead.solver.symmetric_follower_response`), `C(n - 2 + k, k - 1)`
of them: 64 players with 2 actions have 64, with 4 actions 45,760. More than
200,000 (e.g. 64 players with 6 actions) is refused at construction with a
`ValueError`.

### Many players

Memory and time grow linearly with the number of players `n`: the turn
order of a stage is computed turn by turn (no `n x n` table), a stage costs
O(n k), a follower's step that completes nothing costs O(1) (also in the
parallel view and the mediated env), and the fair-action rule enumerates the
followers' action counts, never their profiles. With 2 actions 100,000
players are built, reset and play a stage in about 2 s and 80 MB
(`benchmarks/bench_many_players.py`). An episode keeps its stage records
(`env.unwrapped.stage_records`, what the transfer rules read): O(n) per
stage, O(n max_cycles) per episode. The limits, each refused at once with a
`ValueError` that says why:
- more than 200,000 follower action counts (above): with 2 actions, more
  than 200,000 players;
- the pairwise fairness metrics (`pairwise_equality`, the default,
  `equality` and `mean_abs_difference`) compare all `n (n - 1) / 2` pairs of
  returns, so they, and a `mediator_as_agent` paid by one, take at most
  5,000 players (`fairlead.fairness.MAX_PAIRWISE_AGENTS`); the others
  (`cv`, `jain`, `min_max_ratio`, `max_min_gap`, `ggf`, `alpha_fair`) take any
  number;
- `env.unwrapped.payoff_tensor` (`k**n * n` entries, for `fairlead.solver`'s
  general solver) is refused beyond 10**8 entries
  (`fairlead.solver.MAX_TENSOR_ENTRIES`); a symmetric game never needs it.

### Arguments

``` python
matrix_game_v0.env(payoff, n_agents=2, max_cycles=10, action_names=None,
                   stage_feature="index", obs_encoding="discrete",
                   leader="player_0", render_mode=None)
```

`stage_feature`: what the observation shows of the stage, `"index"`,
`"last"` or `"none"` (see Observations); anything else is a `ValueError`
naming the choices.

`leader`: who leads each stage: an agent name (it always leads), a selector
(`"round_robin"`, `"random"`, `"catch_up"`, ... or an object), or `None`
(`set_leader` chooses, as `fairlead.mediate()` does); see "Who leads" in
docs/stackelberg-protocol.md.

### Version History

* v0: Initial release (fairlead 0.1.0); `stage_feature` added (default
  `"index"`: the observations of earlier releases); many players without a
  `k**n` payoff tensor (same rewards and fair actions); memory and time linear
  in the number of players, limits stated (see Many players)
"""

from __future__ import annotations

from fairlead.envs.matrix import MatrixGameEnv
from fairlead.envs.stackelberg import make_constructors


class raw_env(MatrixGameEnv):
    metadata = {**MatrixGameEnv.metadata, "name": "matrix_game_v0"}


env, parallel_env = make_constructors(raw_env)
