"""Iterated matrix games played as Stackelberg stages (shared by the matrix-game modules)."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from fairlead.envs.checks import check_action_names, check_finite_returns, check_int, real_array
from fairlead.envs.stackelberg import StackelbergEnv
from fairlead.rules import bimatrix_stage_rewards, symmetric_stage_rewards
from fairlead.solver import check_compositions, follower_response, payoff_tensor, symmetric_follower_response


def parse_payoff(payoff, n_agents: int) -> tuple[np.ndarray, bool]:
    """Validate a payoff: a k x k symmetric-game matrix, or a 2 x k x k bimatrix.

    Returns the array and whether it is a bimatrix.
    """
    array = real_array("payoff", payoff)
    if array.ndim == 2 and array.shape[0] == array.shape[1] >= 2:
        bimatrix = False
    elif array.ndim == 3 and array.shape[0] == 2 and array.shape[1] == array.shape[2] >= 2:
        bimatrix = True
        if n_agents != 2:
            raise ValueError(
                f"a bimatrix payoff (shape 2 x k x k) is for 2 players, got n_agents={n_agents}; "
                "use a k x k symmetric matrix for more players"
            )
    else:
        raise ValueError(
            "payoff must be a k x k matrix (symmetric game: payoff[i][j] is the reward for "
            "playing i against j) or a 2 x k x k bimatrix (row player's, column player's "
            f"rewards), with k >= 2; got shape {array.shape}"
        )
    return array, bimatrix


# Rewards remembered per action profile (the hot path of a few players, whose profiles repeat) are bounded by
# their total size, profiles times players: with many players profiles rarely repeat and each costs O(n).
PAYOFF_CACHE_ENTRIES = 1 << 20


class MatrixGameEnv(StackelbergEnv):
    """Stage game given by a payoff matrix (see ``matrix_game_v0`` for the env card).

    A leader's action is *fair* when, after the followers' equilibrium reply to
    it (:func:`fairlead.solver.follower_response`, pessimistic tie-break), the
    leader earns no more than the followers' mean: it did not use the first
    move to come out ahead. A leader action that leaves the followers no pure
    equilibrium counts as fair. A stage costs O(n k) and the fair-action rule of
    a symmetric game counts actions (:func:`fairlead.solver.symmetric_follower_response`),
    so many players need no ``k**n`` payoff tensor.
    """

    def __init__(
        self,
        payoff,
        n_agents: int = 2,
        max_cycles: int = 10,
        action_names: tuple[str, ...] | None = None,
        stage_feature: str = "index",
        obs_encoding: str = "discrete",
        leader="player_0",
        render_mode: str | None = None,
    ):
        n_agents = check_int("n_agents", n_agents, 2)
        self.payoff, self.bimatrix = parse_payoff(payoff, n_agents)
        k = self.payoff.shape[-1]
        if action_names is not None:
            self.action_names = check_action_names(action_names, k)
        super().__init__(n_agents, k, max_cycles, (), obs_encoding, leader, render_mode, stage_feature=stage_feature)
        check_finite_returns(self, "payoff")
        if not self.bimatrix:
            check_compositions(k, n_agents)  # at construction, not at the first stage
        self._fair = np.full((n_agents, k), -1, dtype=np.int8)  # -1: not yet computed
        self._counts = np.zeros(k, dtype=np.int64)  # scratch space of symmetric_stage_rewards
        self._payoff_cache: dict[tuple[int, ...], list[float]] = {}  # profile -> rewards (hot path)

    def stage_payoff(self, actions) -> np.ndarray:
        """Every agent's reward for one action profile (indexed by agent): ``fairlead.rules``."""
        actions = np.asarray(actions, dtype=np.int64)
        out = np.empty(len(actions))
        if self.bimatrix:
            bimatrix_stage_rewards(self.payoff, actions, out)
        else:
            symmetric_stage_rewards(self.payoff, actions, self._counts, out)
        return out

    @cached_property
    def payoff_tensor(self) -> np.ndarray:
        """``stage_payoff`` tabulated over all profiles (k**n entries: built on first use)."""
        return payoff_tensor(self.stage_payoff, len(self.possible_agents), self.num_actions)

    def leader_action_is_fair(self, leader: int, action: int) -> bool:
        if self._fair[leader, action] < 0:
            if self.bimatrix:
                profile, at = follower_response(self.payoff_tensor, leader, action), leader
            else:  # symmetric: the same for every leader; the profile has the leader as agent 0
                profile, at = symmetric_follower_response(self.payoff, len(self._fair), action), 0
            if profile is None:
                fair = True
            else:
                rewards = self.stage_payoff(profile)
                fair = rewards[at] <= np.delete(rewards, at).mean() + 1e-9
            self._fair[leader if self.bimatrix else slice(None), action] = fair
        return bool(self._fair[leader, action])

    def fair_actions(self) -> np.ndarray:
        """``fair[leader, action]``: the fair-action rule for every leader and action (what the engine reads)."""
        for leader in range(self._fair.shape[0]):
            for action in range(self._fair.shape[1]):
                self.leader_action_is_fair(leader, action)
        return self._fair.astype(bool)

    def _play_stage(self, leader, actions):
        profile = tuple(actions.tolist())
        rewards = self._payoff_cache.get(profile)
        if rewards is None:
            rewards = self.stage_payoff(actions).tolist()
            if len(self._payoff_cache) * len(profile) < PAYOFF_CACHE_ENTRIES:  # bounded: O(n) however long it runs
                self._payoff_cache[profile] = rewards
        return rewards, self.leader_action_is_fair(leader, profile[leader])

    @property
    def stage_reward_range(self):
        return float(self.payoff.min()), float(self.payoff.max())


class FixedMatrixGameEnv(MatrixGameEnv):
    """A named matrix game: subclasses set ``PAYOFF`` and ``action_names`` as class attributes."""

    PAYOFF: list

    def __init__(
        self,
        n_agents: int = 2,
        max_cycles: int = 10,
        stage_feature: str = "index",
        obs_encoding: str = "discrete",
        leader="player_0",
        render_mode: str | None = None,
    ):
        super().__init__(
            self.PAYOFF,
            n_agents,
            max_cycles,
            self.action_names,
            stage_feature=stage_feature,
            obs_encoding=obs_encoding,
            leader=leader,
            render_mode=render_mode,
        )
