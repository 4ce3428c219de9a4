"""
# Iterated Battle of the Sexes (Stackelberg stages, asymmetric)

| Creation           | `fairlead.make("battle_of_sexes_v0")`, `pettingzoo.make("aec", "fairlead/battle_of_sexes-v0")` |
|--------------------|------------------------------------------------------------------|
| Actions            | Discrete(2): 0 = Bach, 1 = Stravinsky                                               |
| Parallel API       | Yes (phase-based: 2 parallel steps per stage)                     |
| Agents             | `player_0`, `player_1` (2 players: the game is a bimatrix)                                                     |
| Observation        | `{"observation": MultiDiscrete([2, 3, max_cycles+1]) or Box, "action_mask": Box(0,1,(2,),int8)}` (`[2, 3, 2]` with `stage_feature="last"`, `[2, 3, 1]` with `"none"`) |

Coordination with conflicting preferences: the leader picks the venue it prefers.

### Payoffs

| player_0 \\ player_1 | Bach | Stravinsky |
|---|---|---|
| Bach       | 3, 2 | 0, 0 |
| Stravinsky | 0, 0 | 2, 3 |

OpenSpiel's `matrix_bos` payoffs (Lanctot et al., *OpenSpiel*, arXiv
1908.09453). The game is asymmetric: `player_0` prefers Bach and `player_1`
Stravinsky, whoever leads.

### Stackelberg stage and fair action

Each of the `max_cycles` stages, the leader acts, then the followers act
having seen the leader's action (not each other's); every agent is paid when
the stage completes. Subgame-perfect stage outcome: the leader picks its favourite venue and the follower follows (player_0 leading: 3 / 2). Picking one's own favourite is the unfair leader action; picking the other's is fair.

Observations, action masks, rewards, the fair-action rule, the leader rule and
the parallel view are those of `matrix_game_v0`, whose card this game shares.

### Arguments

``` python
battle_of_sexes_v0.env(n_agents=2, max_cycles=10, stage_feature="index", obs_encoding="discrete",
                       leader="player_0", render_mode=None)
```

`stage_feature`: what the observation shows of the stage: `"index"` (the
stage index, the default), `"last"` (a last-stage flag) or `"none"`; see
`matrix_game_v0`.

### Version History

* v0: Initial release (fairlead 0.1.0); `stage_feature` added (default
  `"index"`: the observations of earlier releases)
"""

from __future__ import annotations

from fairlead.envs.matrix import FixedMatrixGameEnv
from fairlead.envs.stackelberg import make_constructors


class raw_env(FixedMatrixGameEnv):
    metadata = {**FixedMatrixGameEnv.metadata, "name": "battle_of_sexes_v0"}
    PAYOFF = [[[3.0, 0.0], [0.0, 2.0]], [[2.0, 0.0], [0.0, 3.0]]]
    action_names = ("Bach", "Stravinsky")


env, parallel_env = make_constructors(raw_env)
