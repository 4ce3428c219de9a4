"""The Stackelberg stage protocol that every fairlead environment follows.

A game is ``max_cycles`` stages. In each stage one agent, the *leader*, acts
first; then every other agent, a *follower*, acts having seen the leader's
action but not the other followers' actions of the same stage (followers are
simultaneous among themselves even though the AEC API asks them one by one).
Rewards arrive when the stage completes. The end of the game is a termination:
the horizon is part of the game and, with the default ``stage_feature="index"``,
the stage index is observable (``"last"`` shows only whether this is the last
stage, ``"none"`` hides the stage: see :data:`STAGE_FEATURES`).

Subclasses describe one stage game through hooks (``_play_stage``, the
property ``stage_reward_range``, optionally ``_reset_game``, ``_game_features``,
``_game_state`` and ``_legal_actions``); this module owns the turn order, the
observations, the global state, validation and bookkeeping.

Global state (``state()``, ``state_space``, for centralised critics): a float32
vector, the codes ``[stage, leader + 1, leader_action + 1, *(last_actions + 1),
*game_state]`` (their sizes are ``state_nvec``; 0 = none yet) as numbers
(``obs_encoding="discrete"``) or one-hot (``"box"``), then every agent's return
so far. It changes only when a phase ends, so followers' actions of the stage
being played stay hidden, as in their observations (docs/stackelberg-protocol.md,
"Global state").

Public protocol: what wrappers such as the mediator may use, nothing private.
It is the list ``fairlead.mediation.mediator.PROTOCOL`` that ``mediate()``
requires; docs/stackelberg-protocol.md says what else an env written without
this base class needs in order to be mediated.

``phase``             ``"lead"``, ``"follow"`` or ``"done"``.
``acting_agents``     the agents that act in the current phase, in AEC order.
``stage``             index of the stage being played (``max_cycles`` when over).
``leader``            the current stage's leader (None while it is still to be chosen).
``set_leader(agent)`` choose the leader of the current stage, in an env whose leaders
                      are chosen from outside (``leader=None``; ``mediate()`` sets
                      this), while ``phase == "lead"`` (before the leader has acted).
``last_stage``        :class:`StageRecord` of the last completed stage, or None.
``episode_returns``   the environment's own returns so far, per agent.
``return_scale``      spread of attainable episode returns (for fairness).
``max_cycles``        the number of stages of a game.
``obs_encoding``      ``"discrete"`` (int ``MultiDiscrete`` observations) or
                      ``"box"`` (float ``Box``); the mediator encodes its own
                      observation the same way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers

from fairlead.envs.checks import check_action, check_int, check_seed, unknown_agent
from fairlead.envs.parallel import parallel_wrapper_fn
from fairlead.names import unknown_name
from fairlead.selectors import SELECTORS, FixedSelector, MediatorView, check_agent, make_selector

OBS_ENCODINGS = ("discrete", "box")
# What the third observation feature shows of the stage (its size in ``obs_nvec``):
#   "index": the stage index 0..max_cycles (max_cycles + 1 values; the default),
#   "last":  1 in the last stage (and once the game is over), else 0 (2 values),
#   "none":  always 0 (1 value): the observation does not depend on the stage.
# A tabular learner's table grows with the feature's size; which one a scenario
# needs is a property of the game (envs/*.toml say why they choose one).
STAGE_FEATURES = ("index", "last", "none")
ROLE_LEADER, ROLE_FOLLOWER = 0, 1


@dataclass(frozen=True)
class StageRecord:
    """What happened in one completed stage."""

    stage: int
    leader: str
    actions: dict[str, int]
    rewards: dict[str, float]
    leader_fair: bool = field(default=True)

    def as_dict(self) -> dict:
        return {
            "stage": self.stage,
            "leader": self.leader,
            "actions": self.actions,
            "rewards": self.rewards,
            "leader_fair": self.leader_fair,
        }


def check_stage_feature(value) -> str:
    """Validate the ``stage_feature`` argument, naming the valid choices in the error."""
    if not isinstance(value, str) or value not in STAGE_FEATURES:
        raise ValueError(
            f"unknown stage_feature {value!r}; choose one of {', '.join(map(repr, STAGE_FEATURES))} "
            "('index': the stage index, 'last': a last-stage flag, 'none': no stage feature)"
        )
    return value


class StackelbergEnv(AECEnv):
    """Base class of every fairlead environment (see the module docstring).

    Observations are ``{"observation": obs, "action_mask": mask}``. With
    ``obs_encoding="discrete"`` ``obs`` is an int64 ``MultiDiscrete`` feature
    vector ``[role, leader_action + 1, stage_feature, *game_features]`` (role 0 =
    leader, 1 = follower; leader_action + 1 is 0 until the leader has acted;
    ``stage_feature`` is, by the argument of that name, the stage index running
    to ``max_cycles`` = game over (``"index"``), a last-stage flag (``"last"``)
    or always 0 (``"none"``)), so a tabular learner can index a table of shape
    ``nvec`` with it. The layout never changes: game features start at index 3. With ``obs_encoding="box"`` ``obs`` is the
    float32 concatenation of the one-hot codes of those same features.
    ``action_mask`` marks the legal actions of an agent that acts in the
    current phase; an agent that waits sees only action 0 marked (the parallel
    view ignores a waiting agent's action).
    """

    metadata = {
        "render_modes": ["ansi"],
        "name": "stackelberg_v0",
        # not True: PettingZoo's aec_to_parallel would take every action at once, so followers
        # would never see the leader's; parallel_env() is the phase-based parallel view
        "is_parallelizable": False,
        "render_fps": 1,
    }
    action_names: tuple[str, ...] = ()

    def __init__(
        self,
        n_agents: int,
        num_actions: int,
        max_cycles: int,
        game_feature_sizes: tuple[int, ...] = (),
        obs_encoding: str = "discrete",
        leader="player_0",
        render_mode: str | None = None,
        stage_feature: str = "index",
        game_state_sizes: tuple[int, ...] = (),
    ):
        super().__init__()
        self._rng = np.random.default_rng()
        n_agents = check_int("n_agents", n_agents, 2)
        num_actions = check_int("num_actions", num_actions, 2)
        self.max_cycles = check_int("max_cycles", max_cycles, 1)
        if obs_encoding not in OBS_ENCODINGS:
            raise ValueError(f"unknown obs_encoding {obs_encoding!r}; choose one of {OBS_ENCODINGS}")
        self.stage_feature = check_stage_feature(stage_feature)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"unknown render_mode {render_mode!r}; choose one of {self.metadata['render_modes']} or None"
            )
        self.possible_agents = [f"player_{i}" for i in range(n_agents)]
        self._agent_names = tuple(self.possible_agents)  # what a selector's view lists
        self.agent_name_mapping = {a: i for i, a in enumerate(self.possible_agents)}
        self.leader_selector = self._leader_selector(leader)
        self.num_actions = num_actions
        self.obs_encoding = obs_encoding
        self.render_mode = render_mode

        self.obs_nvec = np.array([2, num_actions + 1, self._stage_feature_size(), *game_feature_sizes], dtype=np.int64)
        self._onehot_offsets = np.concatenate([[0], np.cumsum(self.obs_nvec)[:-1]])
        if obs_encoding == "discrete":
            obs_space = spaces.MultiDiscrete(self.obs_nvec, dtype=np.int64)
        else:
            obs_space = spaces.Box(0.0, 1.0, (int(self.obs_nvec.sum()),), np.float32)
        self._observation_space = spaces.Dict(
            {
                "observation": obs_space,
                "action_mask": spaces.Box(0, 1, (num_actions,), np.int8),
            }
        )
        self._action_space = spaces.Discrete(num_actions)
        self.state_nvec = np.array(
            [self.max_cycles + 1, n_agents + 1, num_actions + 1, *[num_actions + 1] * n_agents, *game_state_sizes],
            dtype=np.int64,
        )
        self._state_offsets = np.concatenate([[0], np.cumsum(self.state_nvec)[:-1]])
        self._wait_mask = np.zeros(num_actions, np.int8)
        self._wait_mask[0] = 1
        self._all_legal = np.ones(num_actions, np.int8)
        # a stage's turn order is the leader, then the followers by index (``_turn_agent``): computed turn
        # by turn, never tabulated, so that memory stays O(n) however many agents play (no n x n table)
        self._lead: int | None = None  # index of the current stage's leader (None: not chosen yet)
        self._rewards_clear = False  # rewards are all 0 and already accumulated (see ``step``)
        self.stage = 0
        self.phase = "done"

    def _leader_selector(self, leader):
        """The selector that chooses every stage's leader, or None: chosen from outside (set_leader)."""
        if leader is None:
            return None
        if isinstance(leader, str) and leader not in SELECTORS:
            if leader not in self.possible_agents:
                agents = f"{self.possible_agents[0]}..{self.possible_agents[-1]}"
                raise unknown_name(
                    "leader rule",
                    leader,
                    [*self.possible_agents, *SELECTORS],
                    valid=(
                        f"choose an agent name ({agents}: it always leads), a selector "
                        f"({', '.join(SELECTORS)}), a Selector object, or None (set_leader chooses)"
                    ),
                )
            leader = FixedSelector(leader)
        selector = make_selector(leader)
        if getattr(selector, "vote_phase", False):
            raise ValueError(
                f"leader rule {selector!r} needs a vote phase, which only the mediator runs; "
                "use fairlead.mediate(env, selector=...)"
            )
        selector.reset(list(self.possible_agents), self._rng)  # a bad configuration fails now
        return selector

    def _stage_feature_size(self) -> int:
        return {"index": self.max_cycles + 1, "last": 2, "none": 1}[self.stage_feature]

    def _stage_feature_value(self) -> int:
        """The observation's stage feature now (see ``STAGE_FEATURES``)."""
        if self.stage_feature == "index":
            return self.stage
        if self.stage_feature == "last":
            return int(self.stage >= self.max_cycles - 1)
        return 0

    # ------------------------------------------------------------------ hooks
    def _reset_game(self, rng: np.random.Generator) -> None:
        """Reset game-specific state at the start of an episode."""

    def _game_features(self, agent_index: int) -> tuple[int, ...]:
        """Game-specific discrete features of ``agent_index``'s observation."""
        return ()

    def _game_state(self) -> np.ndarray:
        """Game-specific discrete part of the global state (sizes: ``game_state_sizes``)."""
        return np.zeros(0, np.int64)

    def _legal_actions(self, agent_index: int) -> np.ndarray:
        """int8 mask of the actions ``agent_index`` may take now."""
        return self._all_legal

    def _play_stage(self, leader: int, actions: np.ndarray) -> tuple[np.ndarray, bool]:
        """Apply one stage: return (per-agent rewards, whether the leader acted fairly)."""
        raise NotImplementedError

    @property
    def stage_reward_range(self) -> tuple[float, float]:
        """Lowest and highest reward any agent can get in one stage."""
        raise NotImplementedError

    # --------------------------------------------------------------- protocol
    @property
    def return_scale(self) -> float:
        low, high = self.stage_reward_range
        return float(self.max_cycles * (high - low))

    @property
    def leader(self) -> str | None:
        return None if self._lead is None else self.possible_agents[self._lead]

    @property
    def acting_agents(self) -> list[str]:
        if self._lead is None:
            return []
        if self.phase == "lead":
            return [self.leader]
        if self.phase == "follow":
            lead, agents = self._lead, self.possible_agents
            return agents[:lead] + agents[lead + 1 :]
        return []

    @property
    def episode_returns(self) -> dict[str, float]:
        return dict(zip(self.possible_agents, self._returns))

    @property
    def leader_action(self) -> int | None:
        """The current stage leader's action once it has acted (what followers see), else None."""
        return int(self._actions[self._lead]) if self.phase == "follow" else None

    def set_leader(self, agent: str) -> None:
        if agent not in self.agent_name_mapping:
            raise ValueError(f"cannot make {agent!r} the leader; valid agents are {self.possible_agents}")
        if self.leader_selector is not None:
            raise RuntimeError(
                f"this env chooses its leaders itself ({self.leader_selector!r}); build it with "
                "leader=None to choose every stage's leader with set_leader"
            )
        if self.phase != "lead":
            raise RuntimeError(
                f"the leader can only be set before the leader acts (phase 'lead'); the current phase is {self.phase!r}"
            )
        self._set_order(self.agent_name_mapping[agent])

    # ------------------------------------------------------------- AEC API
    @functools.cached_property
    @np.errstate(over="ignore")  # returns beyond float32's range: that side of the box is unbounded
    def state_space(self) -> spaces.Box:
        """The space of ``state()``; built on first use, as a game knows its reward range only once built.

        Returns lie between ``max_cycles`` times the lowest and the highest stage
        reward (and 0, where every episode starts), widened by one float32 step
        so that rounding a float64 sum to float32 never leaves the box.
        """
        codes_high = self.state_nvec - 1 if self.obs_encoding == "discrete" else np.ones(self.state_nvec.sum())
        low, high = self.stage_reward_range
        bounds = np.float32([min(0.0, self.max_cycles * low), max(0.0, self.max_cycles * high)])
        returns_low, returns_high = np.nextafter(bounds, np.float32([-np.inf, np.inf]))
        n = len(self.possible_agents)
        return spaces.Box(
            np.concatenate([np.zeros(len(codes_high)), np.full(n, returns_low)]).astype(np.float32),
            np.concatenate([codes_high, np.full(n, returns_high)]).astype(np.float32),
            dtype=np.float32,
        )

    def state(self) -> np.ndarray:
        """The global state (see the module docstring); computed only when asked, never by ``step``."""
        leader = -1 if self._lead is None else self._lead
        seen = self._actions[leader] + 1 if self.phase == "follow" else 0
        last = (
            np.zeros(len(self.possible_agents), np.int64)
            if self.last_stage is None  # 0: none yet
            else np.fromiter(self.last_stage.actions.values(), np.int64) + 1
        )
        codes = np.concatenate([[self.stage, leader + 1, seen], last, self._game_state()])
        if self.obs_encoding == "discrete":
            head = codes.astype(np.float32)
        else:
            head = np.zeros(int(self.state_nvec.sum()), np.float32)
            head[self._state_offsets + codes] = 1.0
        return np.concatenate([head, np.asarray(self._returns, np.float32)])

    def observation_space(self, agent):
        return self._observation_space

    def action_space(self, agent):
        return self._action_space

    def reset(self, seed: int | None = None, options: dict | None = None):
        if check_seed(seed) is not None:
            self._rng = np.random.default_rng(seed)
        n = len(self.possible_agents)
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self._returns = [0.0] * n
        self._actions = np.zeros(n, dtype=np.int64)
        self.stage = 0
        self.last_stage: StageRecord | None = None
        self.stage_records: list[StageRecord] = []  # every completed stage of this episode
        self._leaders, self._leader_fair = [], []  # their leaders and fairness, for the leader rule's view
        if self.leader_selector is not None:
            self.leader_selector.reset(list(self.possible_agents), self._rng)
        self._reset_game(self._rng)
        self._begin_stage()

    def _begin_stage(self) -> None:
        if self.leader_selector is None:  # set_leader chooses: until then nobody leads or acts
            self._set_order(None)
            return
        view = MediatorView(
            self.stage,
            self._agent_names,
            self.episode_returns,
            tuple(self._leaders),
            tuple(self._leader_fair),
            observation=None,
            rng=self._rng,
        )
        choice = check_agent(self.leader_selector.select(view), self._agent_names, "leader rule", self.leader_selector)
        self._set_order(self.agent_name_mapping[choice])

    def _set_order(self, leader: int | None) -> None:
        self._lead = leader
        self._turn = 0
        self._rewards_clear = False
        self.phase = "lead"
        name = None if leader is None else self.possible_agents[leader]
        self.agent_selection = name or self.possible_agents[0]
        for info in self.infos.values():
            info["stage"] = self.stage
            info["leader"] = name

    def observe(self, agent):
        try:
            i = self.agent_name_mapping[agent]
        except (KeyError, TypeError):  # TypeError: unhashable
            raise unknown_agent(agent, self.possible_agents) from None
        leader = -1 if self._lead is None else self._lead  # -1: not chosen yet, all follow
        following = self.phase == "follow"
        seen = self._actions[leader] + 1 if following else 0
        features = (
            ROLE_LEADER if i == leader else ROLE_FOLLOWER,
            seen,
            self._stage_feature_value(),
            *self._game_features(i),
        )
        if self.obs_encoding == "discrete":
            obs = np.array(features, dtype=np.int64)
        else:
            obs = np.zeros(self._observation_space["observation"].shape, np.float32)
            obs[self._onehot_offsets + np.asarray(features)] = 1.0
        acting = (i == leader) != following if self.phase != "done" and leader >= 0 else False
        mask = self._legal_actions(i) if acting else self._wait_mask
        return {"observation": obs, "action_mask": mask.copy()}

    def step(self, action):
        agent = self.agent_selection
        if self.terminations.get(agent) or self.truncations.get(agent):
            return self._was_dead_step(action)
        if not self.agents:
            raise RuntimeError("the episode is over; call reset() before step()")
        if self._lead is None:
            raise RuntimeError(
                f"stage {self.stage} has no leader yet: this env's leaders are chosen from "
                "outside (leader=None); call set_leader(agent) first"
            )
        i = self.agent_name_mapping[agent]
        self._actions[i] = check_action(agent, action, self._legal_actions(i), self.action_names)
        self._cumulative_rewards[agent] = 0.0
        self._turn += 1
        if self._turn == 1:
            self.phase = "follow"
        if self._turn < len(self.possible_agents):
            self.agent_selection = self.possible_agents[self._turn_agent(self._turn)]
            if self._rewards_clear:  # clearing and accumulating all-zero rewards again would change nothing:
                return  # skipping them keeps a stage O(n), not O(n) per step (O(n**2) per stage)
            self._clear_rewards()
            self._rewards_clear = True
        else:
            self._complete_stage()
        self._accumulate_rewards()

    def _next_step_quiet(self) -> bool:
        """Whether the next step is a follower's that completes nothing: it changes no reward and no info.

        True from the second step of a stage's play to its last but one: the
        rewards were cleared (all 0) and accumulated at the leader's step. A
        wrapper that knows this (the mediator, the parallel view; through
        :func:`quiet_next_step`) skips its O(n) per-step bookkeeping, so a
        stage costs O(n), not O(n**2), with the same results.
        """
        return (
            self.phase == "follow"
            and self._rewards_clear
            and self._turn + 1 < len(self.possible_agents)
            and type(self).step is StackelbergEnv.step
        )  # a subclass's own step may pay or inform

    def _turn_agent(self, turn: int) -> int:
        """Index of the agent that acts at ``turn`` of the stage: the leader (0), then the followers by index."""
        if turn == 0:
            return self._lead
        return turn - 1 if turn <= self._lead else turn

    def _complete_stage(self) -> None:
        leader = self._lead
        payoff, fair = self._play_stage(leader, self._actions)
        payoff = payoff.tolist() if isinstance(payoff, np.ndarray) else [float(r) for r in payoff]
        agents = self.possible_agents
        self._returns = [g + r for g, r in zip(self._returns, payoff)]
        self.rewards = dict(zip(agents, payoff))
        self.last_stage = StageRecord(
            self.stage, agents[leader], dict(zip(agents, self._actions.tolist())), dict(self.rewards), bool(fair)
        )
        self.stage_records.append(self.last_stage)
        self._leaders.append(self.last_stage.leader)
        self._leader_fair.append(self.last_stage.leader_fair)
        record = self.last_stage.as_dict()  # one shared, read-only record for every agent's info
        for info in self.infos.values():
            info["last_stage"] = record
        self.stage += 1
        if self.stage >= self.max_cycles:
            self.phase = "done"
            self.terminations = dict.fromkeys(self.agents, True)
            returns = self.episode_returns  # one shared, read-only dict for every agent's info (not n copies)
            for agent in self.agents:
                self.infos[agent]["stage"] = self.stage
                self.infos[agent]["episode_returns"] = returns
            self.agent_selection = self.agents[0]
        else:
            self._begin_stage()

    # -------------------------------------------------------------- render
    def render(self):
        if self.render_mode is None:
            import gymnasium

            gymnasium.logger.warn("render() called without a render_mode; use 'ansi'")
            return None
        lines = [f"{self.metadata['name']}  stage {self.stage}/{self.max_cycles}  phase {self.phase}"]
        if self.last_stage is not None:
            s = self.last_stage
            names = self.action_names
            acts = ", ".join(f"{a}={names[x] if names else x}" for a, x in s.actions.items())
            rews = ", ".join(f"{a}={r:g}" for a, r in s.rewards.items())
            lines.append(f"last stage {s.stage}: leader {s.leader}  actions {acts}  rewards {rews}")
        lines.append("returns: " + ", ".join(f"{a}={r:g}" for a, r in self.episode_returns.items()))
        return "\n".join(lines)

    def close(self):
        pass


class StrictOrderEnforcingWrapper(wrappers.OrderEnforcingWrapper):
    """PettingZoo's order checks, except that stepping a finished episode is an error, not a warning."""

    def step(self, action):
        if self._has_reset and not self.agents:
            raise RuntimeError("the episode is over; call reset() before step()")
        super().step(action)


# wrappers that pass rewards and infos through untouched: quiet_next_step looks through them
TRANSPARENT_WRAPPERS = (StrictOrderEnforcingWrapper, wrappers.OrderEnforcingWrapper)


def quiet_next_step(env) -> bool:
    """Whether ``env``'s next step changes no reward and no info (a follower's step mid-stage, see
    ``StackelbergEnv._next_step_quiet``); False whenever that is not known, e.g. under a user's wrapper."""
    while type(env) in TRANSPARENT_WRAPPERS:
        env = env.env
    quiet = getattr(env, "_next_step_quiet", None)
    return quiet is not None and quiet()


def make_constructors(raw_env_cls):
    """``env()`` and ``parallel_env()`` for a module, following PettingZoo's classic envs.

    The raw env validates actions itself with errors that name the valid
    choices, so PettingZoo's ``AssertOutOfBoundsWrapper`` (a bare assert) is
    not applied on top.
    """

    def env(**kwargs):
        return StrictOrderEnforcingWrapper(raw_env_cls(**kwargs))

    env.__doc__ = f"{raw_env_cls.metadata['name']} with PettingZoo's order checks."
    return env, parallel_wrapper_fn(env)
