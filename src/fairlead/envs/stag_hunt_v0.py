"""
# Iterated Stag Hunt (Stackelberg stages)

| Creation           | `fairlead.make("stag_hunt_v0")`, `pettingzoo.make("aec", "fairlead/stag_hunt-v0")` |
|--------------------|------------------------------------------------------------------|
| Actions            | Discrete(2): 0 = Stag, 1 = Hare                                               |
| Parallel API       | Yes (phase-based: 2 parallel steps per stage)                     |
| Agents             | `player_0 .. player_{n-1}`, any n >= 2 (memory O(n): `matrix_game_v0`'s Many players) |
| Observation        | `{"observation": MultiDiscrete([2, 3, max_cycles+1]) or Box, "action_mask": Box(0,1,(2,),int8)}` (`[2, 3, 2]` with `stage_feature="last"`, `[2, 3, 1]` with `"none"`) |

A coordination game: leading lets one player signal the efficient equilibrium.

### Payoffs

| row \\ column | Stag | Hare |
|---|---|---|
| Stag | 2, 2 | 0, 1 |
| Hare | 1, 0 | 1, 1 |

OpenSpiel's `matrix_sh` payoffs (Lanctot et al., *OpenSpiel*, arXiv
1908.09453). With n > 2 players a player's stage reward is the mean of its
pairwise rewards against the others.

### Stackelberg stage and fair action

Each of the `max_cycles` stages, the leader acts, then the followers act
having seen the leader's action (not each other's); every agent is paid when
the stage completes. Subgame-perfect stage outcome (2 players): both hunt the stag, 2 / 2; every leader action is fair.

Observations, action masks, rewards, the fair-action rule, the leader rule and
the parallel view are those of `matrix_game_v0`, whose card this game shares.

### Arguments

``` python
stag_hunt_v0.env(n_agents=2, max_cycles=10, stage_feature="index", obs_encoding="discrete",
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
    metadata = {**FixedMatrixGameEnv.metadata, "name": "stag_hunt_v0"}
    PAYOFF = [[2.0, 0.0], [1.0, 1.0]]
    action_names = ("Stag", "Hare")


env, parallel_env = make_constructors(raw_env)
