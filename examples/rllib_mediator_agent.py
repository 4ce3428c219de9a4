"""RLlib trains the mediator too: Chicken (2 players) with the mediator as a third agent.

``fairlead.mediate(env, mediator_as_agent=True)`` adds the PettingZoo agent
``"mediator"``: at the start of every stage it picks the leader (action ``i``
makes ``player_i`` lead), and its reward at the end of each stage is the change
in fairness (``pairwise_equality``) of the players' own returns, so its episode
return is the final fairness. Its spaces differ from the players'; RLlib's
PettingZoo wrapper allows that, so it simply gets a PPO policy of its own,
next to one policy per player. The training code is ``examples/rllib_chicken.py``
(``train(mediator_as_agent=True)``).

Run (needs ``pip install -e ".[integrations]"``, ~30 s on 2 cores)::

    python examples/rllib_mediator_agent.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling example, when run as a script

import rllib_chicken  # noqa: E402

from fairlead.mediation import MEDIATOR  # noqa: E402


def train(**kwargs) -> dict:
    """``rllib_chicken.train`` with the mediator as a third agent (same keyword arguments and result)."""
    return rllib_chicken.train(mediator_as_agent=True, **kwargs)


def main() -> dict:
    result = train(verbose=True)
    greedy = result["greedy"]
    leaders = [greedy[MEDIATOR]["infos"][t + 1]["last_stage"]["leader"] for t in range(len(greedy[MEDIATOR]["actions"]))]
    print("leaders the trained mediator picked:", leaders)
    print("mediator's return (= final fairness):", round(sum(greedy[MEDIATOR]["rewards"]), 3))
    print("greedy episode, returns before transfer:", result["returns_before_transfer"])
    print(f"fairness (pairwise_equality, before transfer): {result['fairness']:.3f}")
    return result


if __name__ == "__main__":
    main()
