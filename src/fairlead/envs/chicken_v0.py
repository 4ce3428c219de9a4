"""
# Iterated Chicken (Stackelberg stages)

| Creation           | `fairlead.make("chicken_v0")`, `pettingzoo.make("aec", "fairlead/chicken-v0")` |
|--------------------|------------------------------------------------------------------|
| Actions            | Discrete(2): 0 = Dare, 1 = Chicken                                               |
| Parallel API       | Yes (phase-based: 2 parallel steps per stage)                     |
| Agents             | `player_0 .. player_{n-1}`, any n >= 2 (memory O(n): `matrix_game_v0`'s Many players) |
| Observation        | `{"observation": MultiDiscrete([2, 3, max_cycles+1]) or Box, "action_mask": Box(0,1,(2,),int8)}` (`[2, 3, 2]` with `stage_feature="last"`, `[2, 3, 1]` with `"none"`) |

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

With 3 players the outcome depends on a tie-break. Once the leader dares, a
follower whose co-follower swerves earns 2 whether it dares, (0 + 4) / 2, or
swerves, (1 + 3) / 2; so (Dare, Chicken), (Chicken, Dare) and (Chicken,
Chicken) are all equilibria of the followers. `fairlead.solver.stackelberg_outcome`
picks (Dare, Chicken) with its default pessimistic tie-break (leader 2,
followers 2 and 1) and (Chicken, Chicken) with `tie_break="optimistic"`
(leader 4, followers 2 and 2). Swerving weakly dominates daring for these
followers (against a daring co-follower it earns 1, daring 0), so learners
that ever see the other follower dare, e.g. while it explores, prefer to
swerve: trained with a fixed leader they reach the **optimistic** outcome,
and that is the tie-break to compare learned play with
(`tests/test_learnability.py`). With 4 players both tie-breaks agree: the
leader and exactly one follower dare (8/3 each; the swervers 5/3), so the
three followers must agree on which of them dares; with the stage index in
their observation (`stage_feature="index"`, the default and the choice of
`envs/chicken-4p.toml`) they can take turns by stage.

Observations, action masks, rewards, the fair-action rule, the leader rule and
the parallel view are those of `matrix_game_v0`, whose card this game shares.

### Arguments

``` python
chicken_v0.env(n_agents=2, max_cycles=10, stage_feature="index", obs_encoding="discrete",
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
    metadata = {**FixedMatrixGameEnv.metadata, "name": "chicken_v0"}
    PAYOFF = [[0.0, 4.0], [1.0, 3.0]]
    action_names = ("Dare", "Chicken")


env, parallel_env = make_constructors(raw_env)
