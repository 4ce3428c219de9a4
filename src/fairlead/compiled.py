"""The rules of :mod:`fairlead.rules` compiled by numba, for the engine's kernel and the evaluation's loops.

Each is the very function of ``fairlead.rules`` (its code object), compiled
with numba and calling the compiled versions of the rules it calls, so the
compiled and the plain Python paths give the same floats bit for bit. This
module sits just above ``rules``: the engine (``fairlead.engine.kernels``)
and the trainers' evaluation both use it, and neither reaches into the other.
"""

from __future__ import annotations

import types

import numba

from fairlead import rules


def _compiled(function, *dependencies, inline="never"):
    """``function`` of ``fairlead.rules`` compiled by numba, calling the compiled ``dependencies``.

    ``inline="always"`` for the rules of every stage: numba counts a reference for every array passed to a
    function it does not inline (resource collection's rules inlined play a quarter faster). Not the sums
    (``array_sum``) they call: inlined there, they take the first compilation from 29 s to 45 s.
    """
    namespace = {**function.__globals__, **{d.__name__: d for d in dependencies}}
    clone = types.FunctionType(function.__code__, namespace, function.__name__, function.__defaults__)
    clone.__qualname__ = function.__qualname__
    return numba.njit(cache=True, inline=inline)(clone)


_block_sum = _compiled(rules._block_sum)
array_sum = _compiled(rules.array_sum, _block_sum)
mean_pairwise_gap = _compiled(rules.mean_pairwise_gap, array_sum)
pairwise_equality = _compiled(rules.pairwise_equality, mean_pairwise_gap)
symmetric_stage_rewards = _compiled(rules.symmetric_stage_rewards, inline="always")
bimatrix_stage_rewards = _compiled(rules.bimatrix_stage_rewards, inline="always")
cournot_stage_rewards = _compiled(rules.cournot_stage_rewards, inline="always")
taken_advantage = _compiled(rules.taken_advantage, inline="always")
mean_deviation_transfer = _compiled(rules.mean_deviation_transfer, array_sum)
unfair_advantage_transfer = _compiled(rules.unfair_advantage_transfer, array_sum)
fairest_leader = _compiled(rules.fairest_leader, mean_pairwise_gap, inline="always")
beyond_scale = _compiled(rules.beyond_scale, inline="always")
trajectory_fairness = _compiled(rules.trajectory_fairness, beyond_scale, pairwise_equality, array_sum)
learn_reward_vectors = _compiled(rules.learn_reward_vectors, inline="always")
reputation_after = _compiled(rules.reputation_after, inline="always")
linear_epsilon = _compiled(rules.linear_epsilon, inline="always")
own_history_feature = _compiled(rules.own_history_feature, inline="always")
mediator_features = _compiled(rules.mediator_features, array_sum)
step_toward = _compiled(rules.step_toward, inline="always")
nearest_resource = _compiled(rules.nearest_resource, inline="always")
agents_on = _compiled(rules.agents_on, inline="always")
resource_features = _compiled(rules.resource_features, nearest_resource, agents_on, step_toward, inline="always")
_distance = _compiled(rules._distance, nearest_resource, inline="always")
leader_heads = _compiled(rules.leader_heads, _distance, inline="always")
apply_moves = _compiled(rules.apply_moves, inline="always")
collected_resources = _compiled(rules.collected_resources, agents_on, inline="always")
collection_rewards = _compiled(rules.collection_rewards, inline="always")
free_cells = _compiled(rules.free_cells, inline="always")
