"""RLlib trains the mediator too: the recipe of examples/rllib_chicken.py with the mediator as an agent of its own.

``fairlead.mediate(env, mediator_as_agent=True)`` adds the agent ``"mediator"``:
at the start of every stage it picks the leader (action ``i`` makes
``player_i`` lead), rewarded by the change in fairness, so its episode return
is the final fairness. Its spaces differ from the players'; RLlib allows that,
so it gets a PPO policy of its own next to the players' shared one. Random
play here means random players *and* a mediator picking leaders at random.

    pip install -e ".[integrations]"
    python examples/rllib_mediator_agent.py        # about 40 s on 2 cores
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling recipe
import rllib_chicken

if __name__ == "__main__":
    rllib_chicken.main(mediator_as_agent=True)
