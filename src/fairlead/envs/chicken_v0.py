# noqa: D212, D415
"""
# Iterated Chicken (Stackelberg stages)

| Creation           | `fairlead.make("chicken_v0")`, `pettingzoo.make("aec", "fairlead/chicken-v0")` |
|--------------------|------------------------------------------------------------------|
| Actions            | Discrete(2): 0 = Dare, 1 = Chicken                                               |
| Parallel API       | Yes (phase-based: 2 parallel steps per stage)                     |
| Agents             | `player_0 .. player_{n-1}`, any n >= 2                                                     |
| Observation        | `{"observation": MultiDiscrete([2, 3, max_cycles+1]) or Box, "action_mask": Box(0,1,(2,),int8)}` |

The textbook first-mover advantage: whoever commits to daring first wins the stage.

### Payoffs

| row \\ column | Dare | Chicken |
|---|---|---|
| Dare    | 0, 0 | 4, 1 |
| Chicken | 1, 4 | 3, 3 |

OpenSpiel's `matrix_cd` (Dare/Chicken) payoffs (Lanctot et al., *OpenSpiel*,
arXiv 1908.09453, `open_spiel/games/matrix_games.cc`). With n > 2 players a
player's stage reward is the mean of its pairwise rewards against the others.

### Stackelberg stage and fair action

Each of the `max_cycles` stages, the leader acts, then the followers act
having seen the leader's action (not each other's); every agent is paid when
the stage completes. Subgame-perfect stage outcome (2 players): the leader dares, the follower swerves, 4 / 1. Daring is the unfair leader action; swerving first (Chicken) is fair.

Observations, action masks, rewards, the fair-action rule, the leader rule and
the parallel view are those of `matrix_game_v0`, whose card this game shares.

### Arguments

``` python
chicken_v0.env(n_agents=2, max_cycles=10, obs_encoding="discrete", leader="player_0", render_mode=None)
```

### Version History

* v0: Initial release (fairlead 0.1.0)
"""

from __future__ import annotations

from fairlead.envs.matrix import FixedMatrixGameEnv
from fairlead.envs.stackelberg import make_constructors


class raw_env(FixedMatrixGameEnv):
    metadata = {**FixedMatrixGameEnv.metadata, "name": "chicken_v0"}
    PAYOFF = [[0.0, 4.0], [1.0, 3.0]]
    action_names = ('Dare', 'Chicken')


env, parallel_env = make_constructors(raw_env)
