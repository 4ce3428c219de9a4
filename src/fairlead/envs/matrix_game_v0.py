# noqa: D212, D415
"""
# Matrix game (user payoff)

| Creation           | `fairlead.make("matrix_game_v0", payoff=...)`, `pettingzoo.make("aec", "fairlead/matrix_game-v0", payoff=...)` |
|--------------------|------------------------------------------------------------------|
| Actions            | Discrete(k)                                                       |
| Parallel API       | Yes (phase-based: 2 parallel steps per stage)                     |
| Agents             | `player_0 .. player_{n-1}`, any n >= 2 (bimatrix: n = 2)          |
| Observation        | `{"observation": MultiDiscrete or Box, "action_mask": Box(0,1,(k,),int8)}` |

An iterated matrix game of `max_cycles` stages, each a Stackelberg stage: the
leader acts, then the followers act having seen the leader's action (not
each other's), then every agent is paid.

### Payoffs

`payoff` is either
- a `k x k` matrix of a **symmetric** game: `payoff[i][j]` is the reward for
  playing `i` against an opponent playing `j`. Any number of players: with
  `n > 2` a player's stage reward is the mean of its pairwise rewards against
  each other player, `r_p = mean_{q != p} payoff[a_p][a_q]`.
- a `2 x k x k` **bimatrix** for two players: `payoff[0][i][j]` is
  `player_0`'s reward and `payoff[1][i][j]` is `player_1`'s when `player_0`
  plays `i` and `player_1` plays `j` (whoever leads).

### Observations

`obs_encoding="discrete"` (default): int64 `MultiDiscrete([2, k+1, max_cycles+1])`
= `[role, leader_action + 1, stage]`: role 0 = leader, 1 = follower;
`leader_action + 1` is 0 until the leader has acted this stage (the leader's
action is what followers see); `stage` reaches `max_cycles` only in the final
observation. A tabular learner indexes a table of `2 (k+1) (max_cycles+1)`
entries. `obs_encoding="box"`: the float32 concatenation of the one-hot codes
of the same three features (length `2 + k + 1 + max_cycles + 1`).

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

### Arguments

``` python
matrix_game_v0.env(payoff, n_agents=2, max_cycles=10, action_names=None,
                   obs_encoding="discrete", leader="player_0", render_mode=None)
```

`leader`: the built-in leader rule when no mediator is used: an agent name
(that agent always leads) or `"round_robin"`. A wrapper (the mediator) sets
the leader of each stage through `env.unwrapped.set_leader(agent)`.

### Version History

* v0: Initial release (fairlead 0.1.0)
"""

from __future__ import annotations

from fairlead.envs.matrix import MatrixGameEnv
from fairlead.envs.stackelberg import make_constructors


class raw_env(MatrixGameEnv):
    metadata = {**MatrixGameEnv.metadata, "name": "matrix_game_v0"}


env, parallel_env = make_constructors(raw_env)
