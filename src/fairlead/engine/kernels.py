"""JAM-QL and its baselines as one compiled episode loop: the algorithm, read top to bottom.

``play_episodes`` plays (and, when training, learns) whole episodes of a
mediated Stackelberg game (a matrix game, Cournot or resource collection) in
numba's nopython mode. Per stage:

1. the mediator picks the leader: JAM-QL's vector mediator
   ``argmax_l F(G_t + V[t, l, rho_l])`` (``fairlead.rules.fairest_leader``,
   epsilon-greedy while training), the scalar mediator agent (a tabular
   Q-learner over ``[stage, history]`` paid ``F(G_t) - F(G_{t-1})``), the
   players' vote (each votes with its own Q-learner; plurality, ties drawn),
   or a fixed selector (fixed, round robin, random, catch-up);
2. the leader acts, then every follower acts having seen the leader's action,
   each an epsilon-greedy tabular Q-learner over its observation
   ``[role, leader action + 1, stage feature, *own history]``;
3. the stage pays (``fairlead.rules``: the same functions the PettingZoo envs call; on the
   grid, the moves apply at once, resources with enough agents on them pay and respawn);
4. each player's previous decision is updated when it next decides (or at the end)::

       Q[s][a] <- Q[s][a] + alpha * (r + gamma * max_a' Q[s'][a'] - Q[s][a])

   with ``r`` everything it was paid in between and no bootstrap at the end;
5. the zero-sum transfer (return-based ``t_i = -beta (G_i - mean G)`` or action-based
   ``t_i = -kappa n/(n-1) (u_i - mean u)``) is added to the last reward, or, settled stage by stage
   (``settle = "stage"``), its change over each stage is added to that stage's reward;
   and the vector mediator learns ``V[t, l_t, rho_t] <- V + alpha (R_t - V)``,
   ``R_t = r_t + gamma R_{t+1}``, from the episode's stage rewards.

Every random draw is the one the reference AEC trainer (``fairlead.trainers.jamql``)
makes, in the same order, from generators in the same states:
:mod:`fairlead.engine.numpy_random` is numpy's seeding and PCG64 compiled. The
learners' generators arrive as rows of state words (and go back into their
numpy Generators after the call); the ones the reference makes anew every
episode, the env's (resource collection's start cells and respawns) and the
mediated env's (the random selector's and the vote's draws), are seeded here
as the reference seeds them. So a run is byte-identical to the reference
(``tests/test_engine.py``). The rules are compiled from ``fairlead.rules``
itself (:func:`_compiled`), not rewritten here.
"""

from __future__ import annotations

import numba
import numpy as np

from fairlead import rules
from fairlead.compiled import (  # the rules of fairlead.rules, compiled
    apply_moves,
    bimatrix_stage_rewards,
    collected_resources,
    collection_rewards,
    cournot_stage_rewards,
    fairest_leader,
    free_cells,
    leader_heads,
    learn_reward_vectors,
    linear_epsilon,
    mean_deviation_transfer,
    mediator_features,
    own_history_feature,
    pairwise_equality,
    reputation_after,
    resource_features,
    symmetric_stage_rewards,
    taken_advantage,
    unfair_advantage_transfer,
)
from fairlead.engine import numpy_random
from fairlead.rules import MEDIATOR_RNG_TAG  # the mediated env's generator's second word

# selector codes (what the leader choice of step 1 is)
FIXED, ROUND_ROBIN, RANDOM, CATCH_UP, VOTE, VECTOR_MEDIATOR, MEDIATOR_AGENT = range(7)
# game codes (which ``fairlead.rules`` stage function pays)
SYMMETRIC, BIMATRIX, COURNOT, RESOURCES = range(4)
GRID_FEATURES = 5  # resource collection's game features: fair_step, fair_partners, unfair_step, unfair_partners, heads
# transfer codes (a strength of 0 is no transfer)
MEAN_DEVIATION, UNFAIR_ADVANTAGE = range(2)
SETTLE_END, SETTLE_STAGE = range(2)  # when the transfer is paid: all at the end, or its change stage by stage
ENV_RNG, MEDIATED_RNG = range(2)  # rows of an episode's generators
# stage-feature codes (``StackelbergEnv.stage_feature``)
STAGE_INDEX, STAGE_LAST, STAGE_NONE = range(3)


@numba.njit(cache=True, inline="always")
def _greedy(q, p, s, legal):
    """The first legal action (bit ``a`` of ``legal`` set) of highest value in ``Q_p[s]`` (numpy's argmax)."""
    best = -1
    for a in range(q.shape[2]):
        if (legal >> a) & 1 and (best < 0 or q[p, s, a] > q[p, s, best]):
            best = a
    return best


@numba.njit(cache=True, inline="always")
def _legal_action(legal, index):
    """The ``index``-th legal action (``rng.choice(np.flatnonzero(mask))`` draws the index)."""
    a = 0
    while True:
        if (legal >> a) & 1:
            if index == 0:
                return a
            index -= 1
        a += 1


@numba.njit(cache=True, inline="always")
def _count_legal(legal):
    count = 0
    while legal:
        count += legal & 1
        legal >>= 1
    return count


@numba.njit(cache=True, inline="always")
def _explores(rngs, p, epsilon):
    """Whether learner ``p`` explores now: ``rng.random() < epsilon`` on its own generator."""
    return numpy_random.random(rngs, p) < epsilon


@numba.njit(cache=True, inline="always")
def _decide(q, visited, p, s, legal, paid, last_state, last_action, rngs, epsilon, alpha, gamma, explore, learn):
    """One AEC decision of learner ``p`` in state ``s`` (legal actions: the bits of ``legal``): update its previous decision, then act.

    ``paid[p]`` is what it was paid since it last acted (``env.last()``'s reward)::

        Q[s_prev][a_prev] <- Q[s_prev][a_prev] + alpha * (paid + gamma * max_a' Q[s][a'] - Q[s_prev][a_prev])
    """
    if learn and last_state[p] >= 0:
        target = paid[p] + gamma * q[p, s, _greedy(q, p, s, legal)]
        old = q[p, last_state[p], last_action[p]]
        q[p, last_state[p], last_action[p]] = old + alpha * (target - old)
        visited[p, last_state[p]] = True
    if explore and _explores(rngs, p, epsilon):
        a = _legal_action(
            legal, numpy_random.integers(rngs, p, _count_legal(legal))
        )  # epsilon-greedy: a random legal action
    else:
        a = _greedy(q, p, s, legal)
    last_state[p], last_action[p], paid[p] = s, a, 0.0
    return a


@numba.njit(cache=True, inline="always")
def _final_update(q, visited, p, paid, last_state, last_action, alpha):
    """The last decision's update: the game is over, no bootstrap."""
    old = q[p, last_state[p], last_action[p]]
    q[p, last_state[p], last_action[p]] = old + alpha * (paid[p] - old)
    visited[p, last_state[p]] = True


@numba.njit(cache=True, inline="always")
def _state(strides, role, seen, stage_code, game_features, history_codes, player, unfair_leads, leads, returns, flag):
    """Flat index of a player's observation ``[role, leader action + 1, stage feature, *game features,
    *own history[, vote flag]]``."""
    s = role * strides[0] + seen * strides[1] + stage_code * strides[2]
    g = game_features.shape[1]
    for f in range(g):
        s += game_features[player, f] * strides[3 + f]
    for h in range(history_codes.shape[0]):
        s += own_history_feature(history_codes[h], player, unfair_leads, leads, returns) * strides[3 + g + h]
    if flag >= 0:
        s += flag * strides[3 + g + history_codes.shape[0]]
    return s


@numba.njit(cache=True, inline="always")
def _transfer(transfer, returns, advantages, strength, out):
    """The zero-sum transfer of the stages so far (a strength of 0: none)."""
    if transfer == MEAN_DEVIATION and strength != 0.0:
        mean_deviation_transfer(returns, strength, out)
    elif transfer == UNFAIR_ADVANTAGE and strength != 0.0:
        unfair_advantage_transfer(advantages, strength, out)
    else:
        out[:] = 0.0


@numba.njit(cache=True)
def play_episodes(
    # the game
    game,
    payoff,
    cournot,
    fair,
    max_cycles,
    stage_feature,
    return_scale,  # payoff: (1 or 2, k, k)
    # resource collection: [rows, cols, n_fair, cooperation], pay (row 0: fair, 1 + l: unfair when l leads), whether
    # an unfair resource favours each leader, the legal moves of each cell, the fixed start cells (agents', then
    # resources') or none (drawn every episode)
    grid,
    grid_pay,
    favours,
    move_masks,
    layout,
    n_resources,
    # the mediator
    selector,
    fixed_leader,
    use_returns,
    use_reputation,
    transfer,
    strength,
    settle,
    history_codes,
    mediator_codes,
    tolerance,
    # the learners: hyper-parameters [alpha, gamma, epsilon_start, epsilon_end, epsilon_decay_episodes]
    q,
    visited,
    strides,
    agent_hp,
    rngs,
    values,
    q_mediator,
    visited_mediator,
    strides_mediator,
    mediator_hp,
    mediator_rngs,
    # what to do (from training episode first_episode on; episode j's generators are seeded by
    # [*seed_words, stream, first + j], as the reference's derived_seed), and where to write what happened
    explore,
    learn,
    first_episode,
    seed_words,
    stream,
    first,
    out_returns,
    out_after,
    out_leaders,
    out_fair,
    out_actions,
    out_rewards,
):
    n, k = fair.shape
    game_features = np.zeros((n, GRID_FEATURES if game == RESOURCES else 0), np.int64)
    legal = np.full(n, (1 << k) - 1, np.int64)  # each player's legal moves, as bits
    vote_legal = (1 << n) - 1
    positions, resources = np.zeros((n, 2), np.int64), np.zeros((n_resources, 2), np.int64)
    collected, free, cells = (
        np.zeros(n_resources, np.int64),
        np.zeros(grid[0] * grid[1], np.int64),
        np.zeros(n + n_resources, np.int64),
    )
    entropy, env_entropy = np.zeros(seed_words.shape[0] + 2, np.uint64), np.zeros(1, np.uint64)
    entropy[: seed_words.shape[0]], entropy[-2] = seed_words, stream
    episode_rngs = np.zeros((2, numpy_random.STATE_WORDS), np.uint64)  # rows: the env's, the mediated env's
    mediated_entropy = np.array([0, MEDIATOR_RNG_TAG], np.uint64)
    n_game_features, n_history = game_features.shape[1], history_codes.shape[0]
    alpha, gamma = agent_hp[0], agent_hp[1]
    symmetric_payoff = payoff[0]  # a view made once: views made in the loop cost reference counting
    fair_pay, unfair_pay = grid_pay[0], grid_pay[1:]
    heads = rules.NOT_MOVED
    returns, reward, paid, actions = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, np.int64)
    counts, transfers, advantages, settled = np.zeros(k, np.int64), np.zeros(n), np.zeros(n), np.zeros(n)
    leads, unfair_leads, reputation = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    last_state, last_action = np.zeros(n, np.int64), np.zeros(n, np.int64)
    predicted, gaps, to_come = np.zeros(n), np.zeros(max(1, n * (n - 1) // 2)), np.zeros(n)
    stage_rewards = np.zeros((max_cycles, n))
    leaders, reputations = np.zeros(max_cycles, np.int64), np.zeros(max_cycles, np.int64)
    no_reputation, votes, tally = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    features = np.zeros(1 + mediator_codes.shape[0] * n, np.int64)
    mediator_paid, mediator_state, mediator_action = np.zeros(1), np.zeros(1, np.int64), np.zeros(1, np.int64)

    for e in range(out_returns.shape[0]):
        agent_epsilon = linear_epsilon(first_episode + e, agent_hp[2], agent_hp[3], agent_hp[4])
        mediator_epsilon = linear_epsilon(first_episode + e, mediator_hp[2], mediator_hp[3], mediator_hp[4])
        returns[:], advantages[:], paid[:], settled[:] = 0.0, 0.0, 0.0, 0.0
        leads[:], unfair_leads[:], reputation[:], last_state[:] = 0, 0, rules.NEVER_LED, -1
        mediator_state[0], mediator_paid[0], fairness_before = -1, 0.0, 0.0
        # the episode's env generator, default_rng(derived_seed(seed, stream, episode)), and the mediated env's
        if selector == RANDOM or selector == VOTE or game == RESOURCES:
            entropy[-1] = first + e
            env_entropy[0] = numpy_random.seed_sequence_words(entropy, 1)[0]
        if selector == RANDOM or selector == VOTE:
            mediated_entropy[0] = env_entropy[0]
            numpy_random.seed_generator(mediated_entropy, episode_rngs, MEDIATED_RNG)
        if game == RESOURCES:  # the start cells: the layout's, or distinct random cells (as the env's _reset_game)
            numpy_random.seed_generator(env_entropy, episode_rngs, ENV_RNG)
            if layout.shape[0]:
                positions[:], resources[:] = layout[:n], layout[n:]
            else:
                numpy_random.choice_without_replacement(episode_rngs, ENV_RNG, grid[0] * grid[1], cells)
                for i in range(n + n_resources):
                    row, col = cells[i] // grid[1], cells[i] % grid[1]
                    if i < n:
                        positions[i, 0], positions[i, 1] = row, col
                    else:
                        resources[i - n, 0], resources[i - n, 1] = row, col
        for t in range(max_cycles):
            if stage_feature == STAGE_INDEX:
                stage_code = t
            elif stage_feature == STAGE_LAST:
                stage_code = 1 if t >= max_cycles - 1 else 0
            else:
                stage_code = 0
            if game == RESOURCES:  # what each player sees of the grid, and where it may move
                for p in range(n):
                    resource_features(positions, resources, grid[2], grid[3], p, game_features[p])
                    game_features[p, 4] = rules.NOT_MOVED
                    legal[p] = 0
                    for a in range(k):
                        legal[p] |= np.int64(move_masks[positions[p, 0], positions[p, 1], a]) << a

            # 1. who leads: the mediator, the players' vote or a selector
            if selector == FIXED:
                leader = fixed_leader
            elif selector == ROUND_ROBIN:
                leader = t % n
            elif selector == RANDOM:
                leader = numpy_random.integers(episode_rngs, MEDIATED_RNG, n)
            elif selector == CATCH_UP:
                leader = 0
                for p in range(1, n):
                    if returns[p] < returns[leader]:
                        leader = p
            elif selector == VOTE:  # every player, in index order, votes for a leader (actions 0..n-1)
                for p in range(n):
                    s = _state(
                        strides, 1, 0, stage_code, game_features, history_codes, p, unfair_leads, leads, returns, 1
                    )
                    votes[p] = _decide(
                        q,
                        visited,
                        p,
                        s,
                        vote_legal,
                        paid,
                        last_state,
                        last_action,
                        rngs,
                        agent_epsilon,
                        agent_hp[0],
                        agent_hp[1],
                        explore,
                        learn,
                    )
                tally[:] = 0
                for p in range(n):
                    tally[votes[p]] += 1
                most = tally.max()
                tied = 0
                for candidate in range(n):
                    tied += tally[candidate] == most
                pick = 0 if tied == 1 else numpy_random.integers(episode_rngs, MEDIATED_RNG, tied)  # a tie is drawn
                for leader in range(n):  # the pick-th of the most voted, in index order
                    if tally[leader] == most:
                        if pick == 0:
                            break
                        pick -= 1
            elif selector == MEDIATOR_AGENT:  # the mediator agent's Q-learner over [stage, history]
                mediator_features(t, returns, leads, reputation, mediator_codes, tolerance, features)
                s = 0
                for f in range(features.shape[0]):
                    s += features[f] * strides_mediator[f]
                leader = _decide(
                    q_mediator,
                    visited_mediator,
                    0,
                    s,
                    vote_legal,
                    mediator_paid,
                    mediator_state,
                    mediator_action,
                    mediator_rngs,
                    mediator_epsilon,
                    mediator_hp[0],
                    mediator_hp[1],
                    explore,
                    learn,
                )
            elif explore and numpy_random.random(mediator_rngs, 0) < mediator_epsilon:
                leader = numpy_random.integers(mediator_rngs, 0, n)
            else:  # JAM-QL's vector mediator: argmax_l F(G_t + V[t, l, rho_l])
                leader = fairest_leader(
                    values[t], reputation if use_reputation else no_reputation, returns, use_returns, predicted, gaps
                )
            leaders[t] = leader
            reputations[t] = reputation[leader] if use_reputation else rules.NEVER_LED

            # 2. the leader acts, then the followers (index order), having seen the leader's action
            for turn in range(n):
                if turn == 0:
                    p, role, seen = leader, 0, 0
                else:
                    p, role, seen = (turn - 1 if turn - 1 < leader else turn), 1, actions[leader] + 1
                # its state, [role, leader action + 1, stage feature, *game features, *own history(, vote flag 0)],
                # and _decide, written out (numba counts a reference for every array passed to a function: 2x
                # slower): update the player's previous decision, then act epsilon-greedily
                s = role * strides[0] + seen * strides[1] + stage_code * strides[2]
                for f in range(n_game_features):
                    s += game_features[p, f] * strides[3 + f]
                for h in range(n_history):
                    feature = own_history_feature(history_codes[h], p, unfair_leads, leads, returns)
                    s += feature * strides[3 + n_game_features + h]
                allowed, before = legal[p], last_state[p]
                a = _greedy(q, p, s, allowed)
                if (
                    learn and before >= 0
                ):  # Q[s_prev][a_prev] += alpha (paid + gamma max_a' Q[s][a'] - Q[s_prev][a_prev])
                    old = q[p, before, last_action[p]]
                    q[p, before, last_action[p]] = old + alpha * (paid[p] + gamma * q[p, s, a] - old)
                    visited[p, before] = True
                    if before == s:  # the update may have changed the greedy action
                        a = _greedy(q, p, s, allowed)
                if explore and numpy_random.random(rngs, p) < agent_epsilon:
                    a = _legal_action(allowed, numpy_random.integers(rngs, p, _count_legal(allowed)))
                last_state[p], last_action[p], paid[p] = s, a, 0.0
                actions[p] = a
                if turn == 0 and game == RESOURCES:  # the followers see what the leader's move heads for
                    heads = leader_heads(positions, resources, grid[2], leader, actions[leader])
                    for f in range(n):
                        if f != leader:
                            game_features[f, 4] = heads

            # 3. the stage pays
            if game == SYMMETRIC:
                symmetric_stage_rewards(symmetric_payoff, actions, counts, reward)
            elif game == BIMATRIX:
                bimatrix_stage_rewards(payoff, actions, reward)
            elif game == COURNOT:
                cournot_stage_rewards(cournot[0], cournot[1], cournot[2], actions, reward)
            else:  # the moves apply at once; resources with enough agents on them pay, then respawn on free cells
                apply_moves(positions, actions)
                count = collected_resources(positions, resources, grid[3], collected)
                collection_rewards(collected, count, grid[2], fair_pay, unfair_pay, leader, reward)
                for c in range(count):
                    cell = free[
                        numpy_random.integers(episode_rngs, ENV_RNG, free_cells(positions, resources, grid[1], free))
                    ]
                    resources[collected[c], 0], resources[collected[c], 1] = cell // grid[1], cell % grid[1]
            if game == RESOURCES:
                leader_fair = not (heads == rules.HEADS_UNFAIR and favours[leader])
            else:
                leader_fair = fair[leader, actions[leader]]
            advantage = taken_advantage(reward, leader, leader_fair)
            for p in range(n):
                returns[p] = returns[p] + reward[p]
                stage_rewards[t, p] = reward[p]
            advantages[leader] += advantage
            leads[leader] += 1
            if advantage > 0:
                unfair_leads[leader] += 1
            reputation[leader] = reputation_after(leader_fair)
            if selector == MEDIATOR_AGENT:  # its reward: the change in fairness, F(G_t) - F(G_{t-1}), F(G_0) = 0
                fairness_now = pairwise_equality(returns, return_scale, gaps)
                mediator_paid[0] = mediator_paid[0] + (fairness_now - fairness_before)
                fairness_before = fairness_now
            if t < max_cycles - 1:
                if settle == SETTLE_STAGE and strength != 0.0:  # pay the transfer's change as it accrues
                    _transfer(transfer, returns, advantages, strength, transfers)
                    for p in range(n):
                        paid[p] = paid[p] + (reward[p] + (transfers[p] - settled[p]))
                        settled[p] = transfers[p]
                else:
                    for p in range(n):
                        paid[p] = paid[p] + reward[p]
            if out_leaders.shape[0]:
                out_leaders[e, t], out_fair[e, t] = leader, leader_fair
                out_actions[e, t] = actions
                out_rewards[e, t] = stage_rewards[t]

        # 5. the transfer (what is left to pay of it), with the last reward; the final updates; the mediator learns
        _transfer(transfer, returns, advantages, strength, transfers)
        for p in range(n):
            paid[p] = paid[p] + (reward[p] + (transfers[p] - settled[p]))
            if learn:  # the last decision's update: the game is over, no bootstrap
                old = q[p, last_state[p], last_action[p]]
                q[p, last_state[p], last_action[p]] = old + alpha * (paid[p] - old)
                visited[p, last_state[p]] = True
            out_returns[e, p] = returns[p]
            out_after[e, p] = returns[p] + transfers[p]
        if learn and selector == MEDIATOR_AGENT:
            _final_update(
                q_mediator, visited_mediator, 0, mediator_paid, mediator_state, mediator_action, mediator_hp[0]
            )
        if learn and selector == VECTOR_MEDIATOR:
            learn_reward_vectors(values, stage_rewards, leaders, reputations, mediator_hp[0], mediator_hp[1], to_come)
