"""JAM-QL's mediator: learn what each leader does to every agent's return, pick the fairest.

Our formalisation of the paper's *fair leader selection* (the paper's full text
is not available to us). A scalar mediator rewarded by the change in fairness
needs a table over every history it can see (11 * 3^8 = 72,171 states for 4
players, most never visited in a training budget; docs/results.md). This one
learns, for each stage ``t`` and candidate leader ``l`` (and, with the
``reputation`` history feature, the leader's reputation ``rho``: never led, last
lead fair, last lead unfair), an estimate of the **vector** of every agent's
reward from stage ``t`` on::

    V[t, l, rho] <- V[t, l, rho] + alpha * (R_t - V[t, l, rho])
    R_t = r_t + gamma * R_{t+1}        (r_t: the stage's reward vector; R_T = 0)

``gamma = 0`` learns the one-stage reward vector, ``gamma = 1`` (the default)
the vector of returns still to come, so ``G_t + V[t, l]`` predicts every
agent's final return when ``l`` leads now. Before each stage it picks::

    leader_t = argmax_l  F(G_t + V[t, l, rho_l])          (history "returns": on)
    leader_t = argmax_l  F(V[t, l, rho_l])                 (history off)

with ``G_t`` the agents' returns so far (the *history incentive*: the mediator
tracks past rewards, so it hands the lead to whoever it leaves least ahead,
and through ``rho`` it learns that an agent that led unfairly makes the
returns less fair when it leads again). ``F`` is the default fairness metric,
``pairwise_equality``; its order over candidates is that of minus the mean
pairwise gap ``mean_{i<j} |x_i - x_j|``, which is what is computed (no scale
needed). Ties go to the lowest index. While training it explores
epsilon-greedily (its own seeded generator, the ``[mediator]`` schedule).
"""

from __future__ import annotations

import numpy as np

from fairlead import rules
from fairlead.rules import NEVER_LED
from fairlead.selectors import MediatorView, Selector
from fairlead.trainers.qlearning import QConfig


class VectorMediator(Selector):
    """Per-(stage, leader[, reputation]) reward-vector estimates; the fairest predicted leader leads."""

    def __init__(
        self,
        n_players: int,
        max_cycles: int,
        config: QConfig,
        rng: np.random.Generator,
        use_returns: bool = True,
        use_reputation: bool = True,
    ):
        self.config, self.rng = config, rng
        self.use_returns, self.use_reputation = use_returns, use_reputation
        reputations = 3 if use_reputation else 1
        self.values = np.zeros((max_cycles, n_players, reputations, n_players))
        self.epsilon = config.epsilon_start
        self.explore = False

    def begin_episode(self, episode: int) -> None:
        self.epsilon = self.config.epsilon(episode)

    # ------------------------------------------------------------- selection
    def select(self, view: MediatorView) -> str:
        n = len(view.agents)
        if self.explore and self.rng.random() < self.epsilon:
            return view.agents[int(self.rng.integers(n))]
        reputation = self._reputations(view.leaders, view.leader_fair, view.agents)
        returns = np.array([view.returns[a] for a in view.agents])
        leader = rules.fairest_leader(
            self.values[view.stage], reputation, returns, self.use_returns, np.empty(n), np.empty(n * (n - 1) // 2)
        )
        return view.agents[leader]

    def _reputations(self, leaders, leader_fair, agents) -> np.ndarray:
        """Each agent's reputation (index into ``values``' third axis) after the given stages."""
        reputation = np.full(len(agents), NEVER_LED)
        if self.use_reputation:
            for leader, fair in zip(leaders, leader_fair):
                reputation[agents.index(leader)] = rules.reputation_after(fair)
        return reputation

    # -------------------------------------------------------------- learning
    def learn(self, stages, agents) -> None:
        """Monte Carlo update from one training episode's stage records (``rules.learn_reward_vectors``)."""
        agents = list(agents)
        rewards = np.array([[record.rewards[a] for a in agents] for record in stages])
        leaders = [record.leader for record in stages]
        fair = [record.leader_fair for record in stages]
        leader_index = np.array([agents.index(leader) for leader in leaders], dtype=np.int64)
        reputations = np.array(
            [self._reputations(leaders[:t], fair[:t], agents)[leader_index[t]] for t in range(len(stages))],
            dtype=np.int64,
        )
        rules.learn_reward_vectors(
            self.values, rewards, leader_index, reputations, self.config.alpha, self.config.gamma, np.empty(len(agents))
        )

    # ----------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """In the learners' checkpoint layout: ``keys`` are the (stage, leader, reputation) cells."""
        shape = self.values.shape
        keys = np.indices(shape[:3]).reshape(3, -1).T.astype(np.int64)
        return {"keys": keys, "values": self.values.reshape(-1, shape[3]).copy(), "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        values = np.asarray(state["values"], dtype=float)
        if values.size != self.values.size:
            raise ValueError(f"mediator checkpoint holds {values.size} estimates, this run needs {self.values.size}")
        self.values = values.reshape(self.values.shape).copy()
        self.rng.bit_generator.state = state["rng"]

    def __repr__(self) -> str:
        return (
            f"VectorMediator(returns={self.use_returns}, reputation={self.use_reputation}, gamma={self.config.gamma})"
        )
