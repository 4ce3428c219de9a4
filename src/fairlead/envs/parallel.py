"""A phase-based parallel view of any environment that follows the Stackelberg protocol.

PettingZoo's ``aec_to_parallel`` takes every agent's action at once and so
cannot express "followers see the leader's action". Here one parallel step is
one *phase*: the agents in ``acting_agents`` act (the leader alone, then all
followers at once; a mediated env adds its own phases, such as the mediator's
choice or a vote). Every live agent receives an action and an observation each
step; an agent that waits has only action 0 marked in its ``action_mask`` and
its action is ignored. A stage therefore takes ``len(phases per stage)`` steps
(2 for a plain env), and the episode ``max_cycles`` times that.

A step is all or nothing: every acting agent's action is checked (range and
action mask) before any is applied, so an illegal action raises and leaves the
phase as it was, to be stepped again with corrected actions.

``state()`` and ``state_space`` are the AEC env's (the global state changes
only when a phase ends, so it is the same in both views).
"""

from __future__ import annotations

from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv

from fairlead.envs.checks import check_action


class PhaseParallelEnv(ParallelEnv):
    """Parallel view over a Stackelberg AEC env (plain, wrapped or mediated)."""

    def __init__(self, aec_env: AECEnv):
        self.aec_env = aec_env
        self.metadata = aec_env.metadata
        self.possible_agents = list(aec_env.possible_agents)
        self.render_mode = aec_env.render_mode
        self.agents: list[str] = []

    def observation_space(self, agent):
        return self.aec_env.observation_space(agent)

    def action_space(self, agent):
        return self.aec_env.action_space(agent)

    @property
    def max_cycles(self) -> int:
        return self.aec_env.unwrapped.max_cycles

    @max_cycles.setter
    def max_cycles(self, value) -> None:
        # parallel_api_test assigns this as its own step budget; the horizon is
        # fixed at construction, so the assignment is deliberately ignored.
        pass

    def reset(self, seed=None, options=None):
        self.aec_env.reset(seed=seed, options=options)
        self.agents = list(self.aec_env.agents)
        return self._observations(), {a: dict(self.aec_env.infos[a]) for a in self.agents}

    def step(self, actions):
        env = self.aec_env
        if not self.agents:
            raise RuntimeError("the episode is over; call reset() before step()")
        from fairlead.envs.stackelberg import quiet_next_step  # imported here: stackelberg imports this module

        acting = list(env.acting_agents)
        unknown = sorted(set(actions) - set(self.agents))
        if unknown:
            raise ValueError(f"actions given for {unknown}, which are not live agents; live agents: {self.agents}")
        missing = [a for a in acting if a not in actions]
        if missing:
            raise ValueError(f"phase {env.phase!r} needs actions from {acting}; missing {missing}")
        for agent in acting:
            self._check_action(agent, actions[agent])
        rewards = dict.fromkeys(self.agents, 0.0)
        for agent in acting:
            if env.agent_selection != agent:
                raise RuntimeError(f"AEC order broke the phase: expected {agent}, env selects {env.agent_selection}")
            if quiet_next_step(env):  # a follower's step mid-stage pays nothing: adding its 0s is O(n) for nothing
                env.step(actions[agent])
                continue
            env.step(actions[agent])
            for a in self.agents:
                rewards[a] += env.rewards.get(a, 0.0)
        observations = self._observations()
        terminations = {a: bool(env.terminations[a]) for a in self.agents}
        truncations = {a: bool(env.truncations[a]) for a in self.agents}
        infos = {a: dict(env.infos[a]) for a in self.agents}
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        return observations, rewards, terminations, truncations, infos

    def _check_action(self, agent: str, action) -> None:
        """Raise the error stepping ``agent``'s ``action`` would raise, before anything is applied."""
        if isinstance(self.aec_env.action_space(agent), spaces.Discrete):  # else the env checks it when stepped
            check_action(
                agent,
                action,
                self.aec_env.observe(agent)["action_mask"],
                getattr(self.aec_env.unwrapped, "action_names", ()),
                "; no action of this phase was applied",
            )

    def _observations(self):
        return {a: self.aec_env.observe(a) for a in self.aec_env.agents}

    def render(self):
        return self.aec_env.render()

    def close(self):
        self.aec_env.close()

    @property
    def state_space(self):
        """The AEC env's; an AttributeError (``hasattr`` False, as PettingZoo's converters test) if it has none."""
        return self.aec_env.state_space

    def state(self):
        """The AEC env's global state: a parallel step ends a phase, where the two views agree."""
        return self.aec_env.state()


def parallel_wrapper_fn(env_fn):
    """Build ``parallel_env(**kwargs)`` from an ``env(**kwargs)`` constructor."""

    def parallel_env(**kwargs):
        return PhaseParallelEnv(env_fn(**kwargs))

    parallel_env.__doc__ = f"Phase-based parallel view of ``{env_fn.__module__}.env``."
    return parallel_env
