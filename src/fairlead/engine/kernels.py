"""JAM-QL and its baselines as one compiled episode loop: the algorithm, read top to bottom.

``play_episodes`` plays (and, when training, learns) whole episodes of a
mediated Stackelberg matrix or Cournot game in numba's nopython mode. Per stage:

1. the mediator picks the leader: JAM-QL's vector mediator
   ``argmax_l F(G_t + V[t, l, rho_l])`` (``fairlead.rules.fairest_leader``,
   epsilon-greedy while training), or a fixed selector (fixed, round robin,
   random, catch-up);
2. the leader acts, then every follower acts having seen the leader's action,
   each an epsilon-greedy tabular Q-learner over its observation
   ``[role, leader action + 1, stage feature, *own history]``;
3. the stage pays (``fairlead.rules``: the same functions the PettingZoo envs call);
4. each player's previous decision is updated when it next decides (or at the end)::

       Q[s][a] <- Q[s][a] + alpha * (r + gamma * max_a' Q[s'][a'] - Q[s][a])

   with ``r`` everything it was paid in between and no bootstrap at the end;
5. at the end, the zero-sum transfer is added to the last reward (return-based
   ``t_i = -beta (G_i - mean G)`` or action-based ``t_i = -kappa n/(n-1) (u_i - mean u)``),
   and the vector mediator learns ``V[t, l_t, rho_t] <- V + alpha (R_t - V)``,
   ``R_t = r_t + gamma R_{t+1}``, from the episode's stage rewards.

Every random draw comes from the same numpy Generators, in the same order, as
the reference AEC trainer (``fairlead.trainers.jamql``); numba's Generator
methods give numpy's numbers. So a run is byte-identical to the reference
(``tests/test_engine.py``). The rules are compiled from ``fairlead.rules``
itself (:func:`_compiled`), not rewritten here.
"""

from __future__ import annotations

import types

import numba
import numpy as np

from fairlead import rules

# selector codes (what the leader choice of step 1 is)
FIXED, ROUND_ROBIN, RANDOM, CATCH_UP, VECTOR_MEDIATOR = range(5)
# game codes (which ``fairlead.rules`` stage function pays)
SYMMETRIC, BIMATRIX, COURNOT = range(3)
# transfer codes (a strength of 0 is no transfer)
MEAN_DEVIATION, UNFAIR_ADVANTAGE = range(2)
# stage-feature codes (``StackelbergEnv.stage_feature``)
STAGE_INDEX, STAGE_LAST, STAGE_NONE = range(3)


def _compiled(function, *dependencies):
    """``function`` of ``fairlead.rules`` compiled by numba, calling the compiled ``dependencies``."""
    namespace = {**function.__globals__, **{d.__name__: d for d in dependencies}}
    clone = types.FunctionType(function.__code__, namespace, function.__name__, function.__defaults__)
    clone.__qualname__ = function.__qualname__
    return numba.njit(cache=True)(clone)


_block_sum = _compiled(rules._block_sum)
array_sum = _compiled(rules.array_sum, _block_sum)
symmetric_stage_rewards = _compiled(rules.symmetric_stage_rewards)
bimatrix_stage_rewards = _compiled(rules.bimatrix_stage_rewards)
cournot_stage_rewards = _compiled(rules.cournot_stage_rewards)
taken_advantage = _compiled(rules.taken_advantage)
mean_deviation_transfer = _compiled(rules.mean_deviation_transfer, array_sum)
unfair_advantage_transfer = _compiled(rules.unfair_advantage_transfer, array_sum)
fairest_leader = _compiled(rules.fairest_leader, array_sum)
learn_reward_vectors = _compiled(rules.learn_reward_vectors)
reputation_after = _compiled(rules.reputation_after)
linear_epsilon = _compiled(rules.linear_epsilon)
own_history_feature = _compiled(rules.own_history_feature)


@numba.njit(cache=True)
def _greedy(q, p, s):
    """The first action of highest value in ``Q_p[s]`` (numpy's argmax)."""
    best = 0
    for a in range(1, q.shape[2]):
        if q[p, s, a] > q[p, s, best]:
            best = a
    return best


@numba.njit(cache=True)
def _explores(rngs, p, epsilon):
    """Whether player ``p`` explores now: ``rng.random() < epsilon`` on its own generator."""
    return rngs[p].random() < epsilon


@numba.njit(cache=True)
def _state(strides, role, seen, stage_code, history_codes, player, unfair_leads, leads, returns):
    """Flat index of a player's observation ``[role, leader action + 1, stage feature, *own history]``."""
    s = role * strides[0] + seen * strides[1] + stage_code * strides[2]
    for h in range(history_codes.shape[0]):
        s += own_history_feature(history_codes[h], player, unfair_leads, leads, returns) * strides[3 + h]
    return s


@numba.njit(cache=True)
def play_episodes(
    # the game
    game, payoff, cournot, fair, max_cycles, stage_feature,  # payoff: (1, k, k) symmetric or (2, k, k) bimatrix
    # the mediator
    selector, fixed_leader, random_leaders, use_returns, use_reputation, transfer, strength, history_codes,
    # the learners: hyper-parameters [alpha, gamma, epsilon_start, epsilon_end, epsilon_decay_episodes]
    q, visited, strides, agent_hp, rngs, values, mediator_hp, mediator_rng,
    # what to do (from training episode first_episode on), and where to write what happened (one row per episode)
    explore, learn, first_episode, out_returns, out_after, out_leaders, out_fair, out_actions, out_rewards,
):
    n, k = q.shape[0], q.shape[2]
    symmetric_payoff = payoff[0]  # a view made once: views made in the loop cost reference counting
    agent_alpha, agent_gamma, mediator_alpha, mediator_gamma = agent_hp[0], agent_hp[1], mediator_hp[0], mediator_hp[1]
    returns, reward_now, actions = np.zeros(n), np.zeros(n), np.zeros(n, np.int64)
    counts, transfers, advantages = np.zeros(k, np.int64), np.zeros(n), np.zeros(n)
    leads, unfair_leads, reputation = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    last_state, last_action = np.zeros(n, np.int64), np.zeros(n, np.int64)
    predicted, gaps, to_come = np.zeros(n), np.zeros(max(1, n * (n - 1) // 2)), np.zeros(n)
    stage_rewards = np.zeros((max_cycles, n))
    leaders, reputations = np.zeros(max_cycles, np.int64), np.zeros(max_cycles, np.int64)
    no_reputation = np.zeros(n, np.int64)

    for e in range(out_returns.shape[0]):
        agent_epsilon = linear_epsilon(first_episode + e, agent_hp[2], agent_hp[3], agent_hp[4])
        mediator_epsilon = linear_epsilon(first_episode + e, mediator_hp[2], mediator_hp[3], mediator_hp[4])
        returns[:] = 0.0
        advantages[:] = 0.0
        leads[:] = 0
        unfair_leads[:] = 0
        reputation[:] = rules.NEVER_LED
        last_state[:] = -1
        for t in range(max_cycles):
            # 1. who leads: the mediator or a selector
            if selector == FIXED:
                leader = fixed_leader
            elif selector == ROUND_ROBIN:
                leader = t % n
            elif selector == RANDOM:
                leader = random_leaders[e, t]
            elif selector == CATCH_UP:
                leader = 0
                for p in range(1, n):
                    if returns[p] < returns[leader]:
                        leader = p
            elif explore and mediator_rng.random() < mediator_epsilon:
                leader = mediator_rng.integers(0, n)
            else:  # argmax_l F(G_t + V[t, l, rho_l])
                leader = fairest_leader(values[t], reputation if use_reputation else no_reputation, returns,
                                        use_returns, predicted, gaps)
            leaders[t] = leader
            reputations[t] = reputation[leader] if use_reputation else rules.NEVER_LED

            # 2. the leader acts, then the followers (index order), having seen the leader's action
            if stage_feature == STAGE_INDEX:
                stage_code = t
            elif stage_feature == STAGE_LAST:
                stage_code = 1 if t >= max_cycles - 1 else 0
            else:
                stage_code = 0
            for turn in range(n):
                if turn == 0:
                    p, role, seen = leader, 0, 0
                else:
                    p, role, seen = (turn - 1 if turn - 1 < leader else turn), 1, actions[leader] + 1
                s = _state(strides, role, seen, stage_code, history_codes, p, unfair_leads, leads, returns)
                if learn and last_state[p] >= 0:  # 4. the previous decision's update, bootstrapped from s
                    target = reward_now[p] + agent_gamma * q[p, s, _greedy(q, p, s)]  # max_a' Q[s'][a']
                    old = q[p, last_state[p], last_action[p]]
                    q[p, last_state[p], last_action[p]] = old + agent_alpha * (target - old)
                    visited[p, last_state[p]] = True
                if explore and _explores(rngs, p, agent_epsilon):
                    a = rngs[p].integers(0, k)
                else:
                    a = _greedy(q, p, s)
                actions[p] = a
                last_state[p], last_action[p] = s, a

            # 3. the stage pays
            if game == SYMMETRIC:
                symmetric_stage_rewards(symmetric_payoff, actions, counts, reward_now)
            elif game == BIMATRIX:
                bimatrix_stage_rewards(payoff, actions, reward_now)
            else:
                cournot_stage_rewards(cournot[0], cournot[1], cournot[2], actions, reward_now)
            leader_fair = fair[leader, actions[leader]]
            advantage = taken_advantage(reward_now, leader, leader_fair)
            for p in range(n):
                returns[p] = returns[p] + reward_now[p]
                stage_rewards[t, p] = reward_now[p]
                reward_now[p] = 0.0 + reward_now[p]  # what env.last() pays: the cumulative reward since acting
            advantages[leader] += advantage
            leads[leader] += 1
            if advantage > 0:
                unfair_leads[leader] += 1
            reputation[leader] = reputation_after(leader_fair)
            if out_leaders.shape[0]:
                out_leaders[e, t], out_fair[e, t] = leader, leader_fair
                out_actions[e, t] = actions
                out_rewards[e, t] = stage_rewards[t]

        # 5. the end-game transfer, paid with the last reward; the final updates; the mediator learns
        if transfer == MEAN_DEVIATION and strength != 0.0:
            mean_deviation_transfer(returns, strength, transfers)
        elif transfer == UNFAIR_ADVANTAGE and strength != 0.0:
            unfair_advantage_transfer(advantages, strength, transfers)
        else:
            transfers[:] = 0.0
        for p in range(n):
            final_reward = 0.0 + (stage_rewards[max_cycles - 1, p] + transfers[p])
            if learn:
                old = q[p, last_state[p], last_action[p]]
                q[p, last_state[p], last_action[p]] = old + agent_alpha * (final_reward - old)
                visited[p, last_state[p]] = True
            out_returns[e, p] = returns[p]
            out_after[e, p] = returns[p] + transfers[p]
        if learn and selector == VECTOR_MEDIATOR:
            learn_reward_vectors(values, stage_rewards, leaders, reputations, mediator_alpha, mediator_gamma,
                                 to_come)
