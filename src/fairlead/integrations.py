"""Small adapters between fairlead environments and third-party MARL libraries.

fairlead envs are plain PettingZoo envs; most libraries take them as they are.
This module holds only the adapters a library actually needs (see
``docs/libraries/`` for each library's page, and the reasons below):

=========================  ==============================================================
library                    what to use
=========================  ==============================================================
RLlib                      :func:`rllib_env` (AEC env -> RLlib ``MultiAgentEnv`` whose
                           observations follow RLlib's masking convention
                           ``{"observations", "action_mask"}``)
Tianshou                   nothing: ``tianshou.env.PettingZooEnv(env)`` works as it is
                           (mediator as a selector, not as an agent;
                           ``n_step_return_horizon >= n_agents`` credits the leader)
TorchRL                    :func:`torchrl_env` (parallel view whose infos are numbers only,
                           which TorchRL's ``PettingZooWrapper`` needs to build its specs)
SB3 via SuperSuit          :func:`sb3_vec_env` (parallel view -> one ``Box`` per agent with
                           the action mask folded in -> SuperSuit vector env, seedable)
SuperSuit's AEC wrappers   nothing (observation wrappers need a ``Box``: fold the dict first,
                           see ``docs/libraries/supersuit.md``)
=========================  ==============================================================

The wrappers themselves (:class:`ObservationKeyWrapper`, :class:`NumericInfoParallelEnv`,
:class:`FlatBoxParallelEnv`) need nothing beyond the core dependencies; the
``*_env`` helpers import the library they target when called, so
``import fairlead`` (and this module) never needs the ``integrations`` extra.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.wrappers import BaseWrapper

__all__ = [
    "FlatBoxParallelEnv",
    "NumericInfoParallelEnv",
    "ObservationKeyWrapper",
    "episode_fairness",
    "policy_play",
    "random_play",
    "rllib_env",
    "sb3_vec_env",
    "torchrl_env",
]


def episode_fairness(info: dict, scale: float, metric: str | None = None) -> float:
    """The fairness of a finished episode from an agent's last ``info`` (or a dict of every agent's), before transfer.

    Every library hands the env's infos to its logging hooks (RLlib's
    ``on_episode_end``, Tianshou's and TorchRL's collectors, SB3's callbacks);
    a mediated env's terminal info holds ``returns_before_transfer``, which is
    what fairness is measured on. ``scale`` is ``env.unwrapped.return_scale``
    (the default metric, ``pairwise_equality``, needs it).
    """
    from fairlead.fairness import DEFAULT_METRIC, fairness

    if "returns_before_transfer" not in info:  # the parallel API's infos: one per agent
        info = next((i for i in info.values() if isinstance(i, dict) and "returns_before_transfer" in i), info)
    if "returns_before_transfer" not in info:
        raise ValueError(
            "no 'returns_before_transfer' in the info: pass the last info of a finished episode of a "
            "mediated env (fairlead.mediate), or the dict of every agent's"
        )
    returns = list(info["returns_before_transfer"].values())
    metric = metric or DEFAULT_METRIC
    return fairness(returns, metric, **({"scale": scale} if metric == DEFAULT_METRIC else {}))


def policy_play(env: AECEnv, act, episodes: int = 20, seed: int = 0) -> dict[str, float]:
    """Mean ``fairness`` (default metric) and ``total_return`` of ``act`` on the mediated AEC ``env``, before transfer.

    ``act(agent, observation) -> action`` plays every agent (a mediator agent
    too, if the env has one) on episodes seeded ``seed, seed + 1, ...``; an
    illegal action is refused with the agent and stage
    (:func:`fairlead.experiments.policies.play`, what ``fairlead evaluate``
    plays). For reading a policy trained in a library against
    :func:`random_play`.
    """
    from fairlead.experiments.policies import play
    from fairlead.fairness import fairness

    scale, players = env.unwrapped.return_scale, list(env.unwrapped.players)
    played = [play(env, act, players, seed + episode, getattr(act, "__name__", "act")) for episode in range(episodes)]
    return {
        "fairness": float(np.mean([fairness(e.returns, scale=scale) for e in played])),
        "total_return": float(np.mean([e.returns.sum() for e in played])),
    }


def random_play(env: AECEnv, episodes: int = 100, seed: int = 0) -> dict[str, float]:
    """The baseline every trained result is read against: :func:`policy_play` of uniformly random legal actions.

    The actions are drawn from a generator seeded ``seed``. A trained policy
    that does not beat random play on fairness or total return has learned
    nothing useful.
    """
    rng = np.random.default_rng(seed)
    return policy_play(
        env, lambda agent, observation: int(rng.choice(np.flatnonzero(observation["action_mask"]))), episodes, seed
    )


def against_random(random: dict, trained: dict, trained_label: str) -> str:
    """The table the examples print: random play (:func:`random_play`, 100 episodes) beside a trained result."""
    return "\n".join(
        [
            f"{'':28s}{'fairness':>10s}{'total return':>14s}",
            f"{'random play (100 episodes)':28s}{random['fairness']:10.3f}{random['total_return']:14.1f}",
            f"{trained_label:28s}{trained['fairness']:10.3f}{trained['total_return']:14.1f}",
        ]
    )


def _require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f'{module} is not installed; install the integrations extra: pip install -e ".[integrations]"'
        ) from err


def _check_box(space: spaces.Space, agent: str, why: str) -> spaces.Box:
    if not isinstance(space, spaces.Box):
        raise TypeError(
            f"{agent}'s observation is {space}; {why} needs the float Box encoding: "
            "build the env with obs_encoding='box', e.g. fairlead.make('chicken_v0', obs_encoding='box')"
        )
    return space


def _parallel_view(env) -> ParallelEnv:
    """``env`` if it is a parallel env, else fairlead's phase-based parallel view of it."""
    if isinstance(env, ParallelEnv):
        return env
    if isinstance(env, AECEnv):
        from fairlead.envs.parallel import PhaseParallelEnv

        return PhaseParallelEnv(env)
    raise TypeError(f"expected a PettingZoo AEC or parallel env, got {type(env).__name__}")


class _ParallelWrapper(ParallelEnv):
    """A parallel env passed through, except what a subclass changes in observations or infos."""

    def __init__(self, env: ParallelEnv):
        self.env = env
        self.metadata = env.metadata
        self.possible_agents = list(env.possible_agents)
        self.render_mode = getattr(env, "render_mode", None)
        self.agents: list[str] = []

    @property
    def unwrapped(self):
        return self.env.unwrapped

    def observation_space(self, agent):
        return self.env.observation_space(agent)

    def action_space(self, agent):
        return self.env.action_space(agent)

    def _observations(self, observations: dict) -> dict:
        return observations

    def _infos(self, infos: dict) -> dict:
        return infos

    def reset(self, seed=None, options=None):
        observations, infos = self.env.reset(seed=seed, options=options)
        self.agents = list(self.env.agents)
        return self._observations(observations), self._infos(infos)

    def step(self, actions):
        observations, rewards, terminations, truncations, infos = self.env.step(actions)
        self.agents = list(self.env.agents)
        return self._observations(observations), rewards, terminations, truncations, self._infos(infos)

    def render(self):
        return self.env.render()

    def close(self):
        self.env.close()

    def state(self):
        return self.env.state()

    @property
    def state_space(self):
        """The global state's space (TorchRL's and BenchMARL's centralised critics look for it)."""
        return self.env.state_space


# --------------------------------------------------------------------------- RLlib
class ObservationKeyWrapper(BaseWrapper):
    """AEC wrapper: ``{"observation", "action_mask"}`` -> ``{key, "action_mask"}``.

    Why: RLlib's action-masking RL module
    (``ray.rllib.examples.rl_modules.classes.action_masking_rlm``) reads the
    keys ``"observations"`` and ``"action_mask"``; PettingZoo (and fairlead)
    use ``"observation"``. The mask stays int8 (PettingZoo's convention,
    ``action_space.sample(mask)``); RLlib's module takes ``log(mask)``, which
    torch computes in float. Rewards, turn order and every other attribute
    pass through unchanged (``wrapped.phase``, ``wrapped.unwrapped.last_stage``, ...).
    """

    def __init__(self, env: AECEnv, key: str = "observations"):
        super().__init__(env)
        self.key = key
        self._spaces: dict[str, spaces.Dict] = {}

    def observation_space(self, agent):
        if agent not in self._spaces:  # one object per agent, as api_test requires
            inner = self.env.observation_space(agent)
            self._spaces[agent] = spaces.Dict({self.key: inner["observation"], "action_mask": inner["action_mask"]})
        return self._spaces[agent]

    def observe(self, agent):
        obs = self.env.observe(agent)
        return {self.key: obs["observation"], "action_mask": obs["action_mask"]}

    def __str__(self) -> str:
        return f"{type(self).__name__}<{self.env}>"


def rllib_env(env: AECEnv):
    """An RLlib ``MultiAgentEnv`` over a fairlead AEC env (plain or mediated).

    Uses RLlib's own ``PettingZooEnv`` (the AEC wrapper, which reads rewards
    with ``last()``, so a leader's payoff, paid when the followers complete
    the stage, reaches the leader at its next turn) on top of
    :class:`ObservationKeyWrapper`. Train with an RL module that applies the
    mask, e.g. ``ActionMaskingTorchRLModule`` (see ``examples/rllib_chicken.py``).
    Every agent, the mediator agent included, keeps its own spaces.
    """
    wrappers = _require("ray.rllib.env.wrappers.pettingzoo_env")
    for agent in env.possible_agents:
        _check_box(env.observation_space(agent)["observation"], agent, "RLlib's default networks")
    return wrappers.PettingZooEnv(ObservationKeyWrapper(env))


# --------------------------------------------------------------------------- TorchRL
class NumericInfoParallelEnv(_ParallelWrapper):
    """Parallel-env wrapper whose infos hold numbers only, with the same keys every step.

    Why: TorchRL's ``PettingZooWrapper`` builds one tensor spec per info key
    from the first reset's infos and writes every later info value into it,
    so strings (the ``"leader"`` name), nested dicts (``"last_stage"``,
    ``"returns_before_transfer"``) and keys that appear only at the end break
    it. This wrapper replaces each agent's info with:

    ``stage``            the stage index (float)
    ``leader``           index of the current stage's leader in ``possible_agents``, -1 while
                         it is being chosen
    ``episode_return``   the agent's own cumulative return before any transfer
                         (``env.unwrapped.episode_returns``); 0 for a mediator agent

    so fairness can be measured from the final step's ``episode_return``.
    """

    def __init__(self, env: ParallelEnv):
        super().__init__(env)
        self._index = {a: i for i, a in enumerate(self.possible_agents)}

    def _infos(self, infos: dict) -> dict:
        # fairlead's parallel view keeps its AEC env public as ``aec_env``; its unwrapped
        # env (the game, or the mediated env) offers the protocol's ``episode_returns``
        returns = getattr(getattr(self.env, "aec_env", self.env).unwrapped, "episode_returns", {})
        return {
            agent: {
                "stage": float(info.get("stage", 0)),
                "leader": float(self._index.get(info.get("leader"), -1)),
                "episode_return": float(returns.get(agent, 0.0)),
            }
            for agent, info in infos.items()
        }


def torchrl_env(env, **kwargs):
    """A TorchRL ``PettingZooWrapper`` over the phase-based parallel view of ``env``.

    ``env`` is a fairlead AEC env (plain or mediated; its parallel view is
    taken) or a parallel view. ``kwargs`` go to ``PettingZooWrapper`` (e.g.
    ``seed``, ``group_map``, ``device``). Observations become
    ``(group, "observation", "observation")`` and ``(group, "action_mask")``;
    agents ``player_*`` form the group ``"player"`` and the mediator agent,
    if any, its own group ``"mediator"``.
    """
    pettingzoo_lib = _require("torchrl.envs.libs.pettingzoo")
    with warnings.catch_warnings():
        # TorchRL warns on any PettingZoo but 1.24.3; tests/integrations checks 1.27 with fairlead
        warnings.filterwarnings("ignore", message="PettingZoo in TorchRL is tested")
        return pettingzoo_lib.PettingZooWrapper(NumericInfoParallelEnv(_parallel_view(env)), **kwargs)


# --------------------------------------------------------------------------- SB3 / SuperSuit
class FlatBoxParallelEnv(_ParallelWrapper):
    """Parallel-env wrapper: each agent observes one float32 ``Box`` = observation ++ action mask.

    Why: SuperSuit's ``pettingzoo_env_to_vec_env_v1`` (the route to SB3)
    stacks observations into one array, so it needs a plain ``Box`` with the
    same space for every agent; SB3's PPO/DQN know nothing of masks. Folding
    the mask into the observation keeps "is it my turn" visible to the
    policy. The mask is not enforced: with fairlead's phase-based view an
    agent that waits may send any action (it is ignored), but an acting agent
    must pick a legal one, so use this route for envs where every action is
    legal when acting (the matrix games, Cournot), or a masking learner.

    Raises if the agents' spaces differ (e.g. with ``mediator_as_agent=True``:
    use a selector instead) or the observation is not a ``Box``
    (``obs_encoding="box"``).
    """

    def __init__(self, env: ParallelEnv):
        super().__init__(env)
        first = env.observation_space(self.possible_agents[0])
        for agent in self.possible_agents:
            space = env.observation_space(agent)
            if space != first or env.action_space(agent) != env.action_space(self.possible_agents[0]):
                raise ValueError(
                    f"every agent needs the same spaces for a vector env, but {agent}'s differ from "
                    f"{self.possible_agents[0]}'s; with the mediator as an agent use a selector "
                    "instead (fairlead.mediate(env, selector=...))"
                )
        obs = _check_box(first["observation"], self.possible_agents[0], "a flat vector env")
        mask = first["action_mask"]
        self._space = spaces.Box(
            np.concatenate([obs.low.astype(np.float32), np.zeros(mask.shape, np.float32)]),
            np.concatenate([obs.high.astype(np.float32), np.ones(mask.shape, np.float32)]),
            dtype=np.float32,
        )

    def observation_space(self, agent):
        return self._space

    def _observations(self, observations: dict) -> dict:
        return {
            a: np.concatenate([o["observation"].astype(np.float32), o["action_mask"].astype(np.float32)])
            for a, o in observations.items()
        }


def sb3_vec_env(env, num_envs: int = 1):
    """An SB3 ``VecEnv`` (via SuperSuit) over the phase-based parallel view of ``env``.

    ``env`` is a fairlead AEC env (plain, or mediated with a selector) built
    with ``obs_encoding="box"``, or its parallel view. Every player becomes
    one slot of the vector env (``num_envs`` copies of the game:
    ``n_players * num_envs`` slots, copy by copy), so an SB3 learner trains
    one shared policy for all players. Close it when done (``vec_env.close()``).

    SuperSuit's SB3 wrapper has no working ``seed()`` (its ``ConcatVecEnv``
    lacks one, so ``PPO(..., seed=0)`` raises ``AttributeError``); the
    returned env implements it: the seed is used by the next ``reset()``.
    """
    _require("stable_baselines3")
    import supersuit
    from supersuit.vector import sb3_vector_wrapper as sb3_wrapper

    vec = supersuit.pettingzoo_env_to_vec_env_v1(FlatBoxParallelEnv(_parallel_view(env)))
    concat = supersuit.concat_vec_envs_v1(vec, num_envs, num_cpus=0, base_class="gymnasium")

    class SeedableSB3VecEnv(sb3_wrapper.SB3VecEnvWrapper):
        """SuperSuit's SB3 wrapper plus ``seed()``."""

        _next_seed: int | None = None

        def seed(self, seed=None):
            self._next_seed = seed
            return [None if seed is None else seed + i for i in range(self.num_envs)]

        def reset(self, seed=None, options=None):
            seed, self._next_seed = (self._next_seed if seed is None else seed), None
            observations, self.reset_infos = self.venv.reset(seed=seed, options=options)
            return observations

    return SeedableSB3VecEnv(concat)
