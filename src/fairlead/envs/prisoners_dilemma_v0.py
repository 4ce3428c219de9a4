"""
# Iterated Prisoner's Dilemma (Stackelberg stages)

| Creation           | `fairlead.make("prisoners_dilemma_v0")`, `pettingzoo.make("aec", "fairlead/prisoners_dilemma-v0")` |
|--------------------|------------------------------------------------------------------|
| Actions            | Discrete(2): 0 = Cooperate, 1 = Defect                                               |
| Parallel API       | Yes (phase-based: 2 parallel steps per stage)                     |
| Agents             | `player_0 .. player_{n-1}`, any n >= 2 (memory O(n): `matrix_game_v0`'s Many players) |
| Observation        | `{"observation": MultiDiscrete([2, 3, max_cycles+1]) or Box, "action_mask": Box(0,1,(2,),int8)}` (`[2, 3, 2]` with `stage_feature="last"`, `[2, 3, 1]` with `"none"`) |

Cooperation against the temptation to defect, with one player committing first.

### Payoffs

| row \\ column | Cooperate | Defect |
|---|---|---|
| Cooperate | 3, 3 | 0, 5 |
| Defect    | 5, 0 | 1, 1 |

Axelrod's payoffs T=5, R=3, P=1, S=0 (R. Axelrod, *The Evolution of
Cooperation*, Basic Books 1984). With n > 2 players a player's stage reward is
the mean of its pairwise rewards against the others.

### Stackelberg stage and fair action

Each of the `max_cycles` stages, the leader acts, then the followers act
having seen the leader's action (not each other's); every agent is paid when
the stage completes. Subgame-perfect stage outcome (any leader): both defect, 1 / 1. Committing first gives no advantage in the one-shot stage; the leader's exposure is that cooperating first invites exploitation (0 / 5), which counts as a fair action.

Observations, action masks, rewards, the fair-action rule, the leader rule and
the parallel view are those of `matrix_game_v0`, whose card this game shares.

### Arguments

``` python
prisoners_dilemma_v0.env(n_agents=2, max_cycles=10, stage_feature="index", obs_encoding="discrete",
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
    metadata = {**FixedMatrixGameEnv.metadata, "name": "prisoners_dilemma_v0"}
    PAYOFF = [[3.0, 0.0], [5.0, 1.0]]
    action_names = ("Cooperate", "Defect")


env, parallel_env = make_constructors(raw_env)
