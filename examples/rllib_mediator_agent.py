"""RLlib trains the mediator too: Chicken (2 players) with the mediator as an agent of its own.

``fairlead.mediate(env, mediator_as_agent=True)`` adds the PettingZoo agent
``"mediator"``: at the start of every stage it picks the leader (action ``i``
makes ``player_i`` lead), and its reward at the end of each stage is the change
in fairness (``pairwise_equality``) of the players' own returns, so its episode
return is the final fairness. Its spaces differ from the players'; RLlib's
PettingZoo wrapper allows that, so it simply gets a PPO policy of its own,
next to the players' shared policy. The training code is ``examples/rllib_chicken.py``
(``train(mediator_as_agent=True)``), with the same fairness logging
(``FairnessCallback``, RLlib's ``on_episode_end``) and the same baseline:
random play here means random players *and* a mediator picking leaders at
random (``fairlead.integrations.random_play`` on this env).

Run (needs ``pip install -e ".[integrations]"``, about 35 s on 2 cores)::

    python examples/rllib_mediator_agent.py

Measured (seed 0, 40 iterations of 400 AEC steps): random play fairness
0.871, total return 40.8; trained (greedy mediator and players) 0.925 to
1.000 and 50.0 to 53.0 (RLlib's runs vary with ``PYTHONHASHSEED``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling example, when run as a script

import rllib_chicken  # noqa: E402

from fairlead.mediation import MEDIATOR  # noqa: E402


def train(**kwargs) -> dict:
    """``rllib_chicken.train`` with the mediator as an agent (same keyword arguments and result)."""
    return rllib_chicken.train(mediator_as_agent=True, **kwargs)


def main() -> dict:
    result = train(verbose=True)
    greedy = result["greedy"]
    leaders = [greedy[MEDIATOR]["infos"][t + 1]["last_stage"]["leader"] for t in range(len(greedy[MEDIATOR]["actions"]))]
    print("leaders the trained mediator picked (one greedy episode):", leaders)
    print("mediator's return (= final fairness):", round(sum(greedy[MEDIATOR]["rewards"]), 3))
    rllib_chicken.report(result)
    return result


if __name__ == "__main__":
    main()
