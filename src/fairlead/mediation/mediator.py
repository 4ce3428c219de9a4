"""``mediate()``: pick every stage's leader, then apply the end-game zero-sum transfer.

The mediated env is itself a PettingZoo AEC env (its ``unwrapped`` is the
mediated env; the env it wraps is ``.env``). It drives the wrapped env only
through the AEC API and the public Stackelberg protocol of ``env.unwrapped``
(``PROTOCOL``, documented in docs/stackelberg-protocol.md), so it works on any
suite env, raw or wrapped, and on any user env that follows that protocol.

Phases of a stage (``phase``; one parallel step each in ``PhaseParallelEnv``):

``"mediate"``  only with ``mediator_as_agent=True``: the ``mediator`` agent picks the leader.
``"vote"``     only with a vote selector: every player, in index order, votes for a leader.
``"lead"``, ``"follow"``  the wrapped env's own phases; ``"done"`` once the game is over.

The mediated env offers the read side of the protocol (``phase``,
``acting_agents``, ``stage``, ``leader`` (None while the leader is being
chosen), ``last_stage``, ``episode_returns`` (before transfer), ``return_scale``,
``max_cycles``, ``obs_encoding``) but no ``set_leader``: the mediator chooses.
Over an env with a global state it has one too (``state()``, ``state_space``).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv

from fairlead.envs.checks import UnknownAgentError, as_int, check_action, check_seed, unknown_agent
from fairlead.envs.stackelberg import quiet_next_step
from fairlead.fairness import DEFAULT_METRIC, METRICS, PAIRWISE_METRICS, check_pairwise_agents
from fairlead.mediation.leader_phase import LeaderPhase, MediatorAgentPhase, SelectorPhase, VotePhase
from fairlead.mediation.observation import (
    DEFAULT_HISTORY,
    AgentHistory,
    LeaderHistory,
    MediatorObservation,
    one_hot,
    parse_agent_history,
    parse_history,
)
from fairlead.mediation.transfer import check_settle, check_transfer_fits, parse_transfer
from fairlead.names import unknown_name
from fairlead.rules import MEDIATOR_RNG_TAG
from fairlead.selectors import MediatorView, Selector, check_agent, make_selector

# the public Stackelberg protocol mediate() requires of env.unwrapped (docs/stackelberg-protocol.md):
# what it needs to build is checked when mediate() is called, all of it after the env's first reset
PROTOCOL = (
    "phase",
    "acting_agents",
    "stage",
    "leader",
    "set_leader",
    "last_stage",
    "episode_returns",
    "return_scale",
    "max_cycles",
    "obs_encoding",
)
NEEDED_TO_BUILD = ("set_leader", "return_scale", "max_cycles", "obs_encoding")


def _mediator_rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(None if seed is None else [seed, MEDIATOR_RNG_TAG])


def _check_protocol(env) -> AECEnv:
    """``env.unwrapped`` if ``env`` is an AEC env whose unwrapped follows the protocol."""
    if isinstance(env, ParallelEnv):
        raise TypeError(
            "mediate() wraps an AEC env, got a parallel env; mediate the AEC env and take "
            "the parallel view with fairlead.envs.parallel.PhaseParallelEnv(mediate(aec_env, ...))"
        )
    if not isinstance(env, AECEnv):
        raise TypeError(f"mediate() needs a PettingZoo AEC env, got {type(env).__name__}")
    game = env.unwrapped
    _require(game, NEEDED_TO_BUILD)
    if game.obs_encoding not in ("discrete", "box"):
        raise ValueError(f"unknown obs_encoding {game.obs_encoding!r}; the mediator supports 'discrete' and 'box'")
    return game


def _require(game, names) -> None:
    """A TypeError naming the protocol attributes in ``names`` that ``game`` lacks."""
    missing = [name for name in names if not hasattr(game, name)]
    if missing:
        raise TypeError(
            f"{type(game).__name__} does not follow the Stackelberg protocol (missing: "
            f"{', '.join(missing)}); mediate() needs a fairlead env or an env with the protocol "
            "of docs/stackelberg-protocol.md (a mediated env cannot be mediated again)"
        )


def _leader_phase(game, selector, mediator_as_agent, metric, selector_kwargs, history) -> LeaderPhase:
    """The leader phase ``mediate()``'s arguments ask for, every argument checked."""
    if not isinstance(mediator_as_agent, bool):
        raise TypeError(f"mediator_as_agent must be True or False, got {mediator_as_agent!r}")
    if not mediator_as_agent:
        if metric is not None:
            raise ValueError("metric= sets the mediator agent's reward; it needs mediator_as_agent=True")
        selector = make_selector("round_robin" if selector is None else selector, **selector_kwargs)
        return VotePhase(selector) if getattr(selector, "vote_phase", False) else SelectorPhase(selector)
    if selector is not None or selector_kwargs:
        raise ValueError(
            "with mediator_as_agent=True the mediator agent's action chooses the leader; "
            f"leave selector unset (got selector={selector!r}, {selector_kwargs or 'no kwargs'})"
        )
    metric = metric or DEFAULT_METRIC
    if metric not in METRICS:
        raise unknown_name("fairness metric", metric, METRICS)
    if metric in PAIRWISE_METRICS:  # the mediator agent is paid by it every stage: refused now, not at stage 1
        check_pairwise_agents(len(game.possible_agents), f"metric {metric!r} (the mediator agent's reward)")
    if METRICS[metric].needs_scale and not game.return_scale > 0:
        unscaled = [name for name, m in METRICS.items() if not m.needs_scale]
        raise ValueError(
            f"metric {metric!r} (the mediator agent's reward) divides by the env's return_scale, "
            f"which is {game.return_scale} here (every stage pays the same); pass metric= "
            f"one of {', '.join(unscaled)}"
        )
    n = len(game.possible_agents)
    observation = MediatorObservation(n, game.max_cycles, game.return_scale, parse_history(history), game.obs_encoding)
    return MediatorAgentPhase(metric, observation, n, game.return_scale)


class MediatedEnv(AECEnv):
    """A Stackelberg env whose leaders are chosen by a mediator; build it with :func:`mediate`.

    It owns the leader choice of the env it wraps (``env.unwrapped.leader_selector``
    is set to None, so the env waits for ``set_leader``); the choice itself is
    made by a :mod:`~fairlead.mediation.leader_phase`.
    """

    def __init__(
        self, env: AECEnv, phase: LeaderPhase, transfer, history, agent_history, seed: int | None, settle: str = "end"
    ):
        super().__init__()
        self._game = env.unwrapped  # mediate() has checked it
        self._protocol_checked = False  # all of PROTOCOL, after the first reset
        if hasattr(self._game, "leader_selector"):
            self._game.leader_selector = None  # this env chooses; its own rule would only be overridden
        self.env = env
        self.players = list(env.possible_agents)
        self._player_names = tuple(self.players)  # what a selector's view lists
        self.player_index = {p: i for i, p in enumerate(self.players)}
        self._leader_history = LeaderHistory(len(self.players))
        self.leader_phase = phase
        self.selector = getattr(phase, "selector", None)
        self.mediator_as_agent = isinstance(phase, MediatorAgentPhase)
        self.metric = phase.metric.name if self.mediator_as_agent else DEFAULT_METRIC
        self.possible_agents = self.players + list(phase.agents)
        self.transfer = parse_transfer(transfer)
        check_transfer_fits(self.transfer, self._game)
        self.settle = check_settle(settle)
        self.history = parse_history(history)
        self.agent_history = AgentHistory(self.players, parse_agent_history(agent_history))
        self._rng = _mediator_rng(check_seed(seed))
        self.mediator_observation = getattr(phase, "observation", None) or MediatorObservation(
            len(self.players), self.max_cycles, self._game.return_scale, self.history, self.obs_encoding
        )
        self.metadata = {**env.metadata, "name": f"mediated_{env.metadata['name']}"}
        self.render_mode = getattr(env, "render_mode", None)
        self._init_spaces()
        self._init_state_space()
        self.agents: list[str] = []
        self.rewards, self._cumulative_rewards, self.infos = {}, {}, {}
        self.terminations, self.truncations = {}, {}
        self.agent_selection = None
        self._phase: str | None = None  # the leader phase's name while it runs, else None
        self._new_episode()
        phase.reset(list(self.players), self._rng)  # fail early on a bad configuration

    def _init_spaces(self) -> None:
        inner_action = self.env.action_space(self.players[0])
        if not isinstance(inner_action, spaces.Discrete):
            raise TypeError(f"the mediator needs Discrete player actions, got {inner_action}")
        self._inner_actions = int(inner_action.n)
        self._n_actions = self.leader_phase.player_actions(self._inner_actions, len(self.players))
        self._play_mask = np.arange(self._n_actions) < self._inner_actions  # a vote index is no play action
        # discrete features appended to every player's observation: own history, then the phase flag
        self._extra_nvec = np.append(self.agent_history.nvec, [2] if self.leader_phase.player_flag else [])
        self._extra_nvec = self._extra_nvec.astype(np.int64)
        if len(self._extra_nvec):
            inner_obs = self.env.observation_space(self.players[0])["observation"]
            if isinstance(inner_obs, spaces.MultiDiscrete):
                obs = spaces.MultiDiscrete(np.append(inner_obs.nvec, self._extra_nvec), dtype=np.int64)
            else:
                width = int(self._extra_nvec.sum())
                low, high = (
                    np.append(bound, np.full(width, edge)).astype(inner_obs.dtype)
                    for bound, edge in ((inner_obs.low, 0), (inner_obs.high, 1))
                )
                obs = spaces.Box(low, high, dtype=inner_obs.dtype)
            obs_space = spaces.Dict({"observation": obs, "action_mask": spaces.Box(0, 1, (self._n_actions,), np.int8)})
            self._observation_spaces = dict.fromkeys(self.players, obs_space)
            self._action_spaces = dict.fromkeys(self.players, spaces.Discrete(self._n_actions))
        else:
            self._observation_spaces = {p: self.env.observation_space(p) for p in self.players}
            self._action_spaces = {p: self.env.action_space(p) for p in self.players}
        for agent in self.leader_phase.agents:
            self._observation_spaces[agent] = self.leader_phase.observation_space
            self._action_spaces[agent] = self.leader_phase.action_space

    def _init_state_space(self) -> None:
        """Box of ``state()``: the wrapped env's state, the mediator's observation, the players' part.

        Built only over a wrapped env whose ``state_space`` is a flat Box (every
        fairlead env's); without one the mediated env has no ``state_space``
        either (``hasattr`` is False, as PettingZoo's converters test).
        """
        inner = getattr(self.env, "state_space", None)
        if not (isinstance(inner, spaces.Box) and len(inner.shape) == 1):
            return
        per_player = list(self.agent_history.nvec) * len(self.players)
        self._state_nvec = np.array(([2] if self.leader_phase.name else []) + per_player, dtype=np.int64)
        mediator = self.mediator_observation.space
        if isinstance(mediator, spaces.MultiDiscrete):
            mediator_low, mediator_high = np.zeros(len(mediator.nvec)), mediator.nvec - 1
        else:
            mediator_low, mediator_high = mediator.low, mediator.high
        own_high = self._state_nvec - 1 if self.obs_encoding == "discrete" else np.ones(self._state_nvec.sum())
        self.state_space = spaces.Box(
            np.concatenate([inner.low, mediator_low, np.zeros(len(own_high))]).astype(np.float32),
            np.concatenate([inner.high, mediator_high, own_high]).astype(np.float32),
            dtype=np.float32,
        )

    def _new_episode(self) -> None:
        self.returns = np.zeros(len(self.players))  # the wrapped env's own returns, before transfer
        self.stage_records: list = []  # the wrapped env's StageRecord of each completed stage
        self._leader_history.reset()  # their leaders, as the mediator observes them
        self.agent_history.reset()
        self._settled = np.zeros(len(self.players))  # the transfer paid so far (settle="stage")
        self._final: dict[str, dict[str, float]] = {}

    # ------------------------------------------------------------ protocol
    @property
    def phase(self) -> str:
        return self._phase or self._game.phase

    @property
    def acting_agents(self) -> list[str]:
        if self._phase == "vote":
            return list(self.players)
        if self._phase:
            return list(self.leader_phase.agents)
        return list(self._game.acting_agents)

    @property
    def stage(self) -> int:
        return self._game.stage

    @property
    def leader(self) -> str | None:
        return None if self._phase else self._game.leader

    @property
    def last_stage(self):
        return self._game.last_stage

    @property
    def episode_returns(self) -> dict[str, float]:
        """The wrapped env's own returns so far (sum of its rewards), before any transfer."""
        return {p: float(r) for p, r in zip(self.players, self.returns)}

    @property
    def return_scale(self) -> float:
        return self._game.return_scale

    @property
    def max_cycles(self) -> int:
        return self._game.max_cycles

    @property
    def obs_encoding(self) -> str:
        return self._game.obs_encoding

    # ------------------------------------------------------------- AEC API
    def observation_space(self, agent):
        return self._observation_spaces[agent]

    def action_space(self, agent):
        return self._action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        if check_seed(seed) is not None:
            self._rng = _mediator_rng(seed)
        self.env.reset(seed=seed, options=options)
        if not self._protocol_checked:
            _require(self._game, PROTOCOL)
            self._protocol_checked = True
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self._new_episode()
        self.leader_phase.reset(list(self.players), self._rng)
        self._begin_stage()

    def observe(self, agent):
        if agent in self.leader_phase.agents:
            return self.leader_phase.observe(self)
        try:
            inner = self.env.observe(agent)
        except UnknownAgentError:  # the game's error names only the players
            raise unknown_agent(agent, self.possible_agents) from None
        mask = np.zeros(self._n_actions, np.int8)
        if self._phase:
            self.leader_phase.player_mask(mask, len(self.players))
        else:
            mask[: self._inner_actions] = inner["action_mask"]
        obs = inner["observation"]
        if len(self._extra_nvec):
            extra = self.agent_history.features(agent, self.returns)
            if self.leader_phase.player_flag:
                extra.append(int(self._phase is not None))
            obs = (
                np.append(obs, extra)
                if self.obs_encoding == "discrete"
                else np.concatenate([obs, one_hot(np.asarray(extra), self._extra_nvec).astype(obs.dtype)])
            )
        return {"observation": obs, "action_mask": mask}

    def step(self, action):
        agent = self.agent_selection
        if self.terminations.get(agent) or self.truncations.get(agent):
            self._was_dead_step(action)
            return
        if not self.agents:
            raise RuntimeError("the episode is over or has not started; call reset() before step()")
        if self._phase:
            leader = self.leader_phase.step(self, agent, action)
            if leader is not None:
                self._start_play(leader)
            else:
                self._sync_infos()
            rewards = dict.fromkeys(self.agents, 0.0)
        else:
            action = check_action(agent, action, self._play_mask)
            if quiet_next_step(self.env):  # a follower's step mid-stage: rewards stay 0, infos as they are
                self.env.step(action)
                self.agent_selection = self.env.agent_selection
                self._cumulative_rewards[agent] = 0.0  # O(1), where the full path costs O(n) per step
                return
            rewards = self._play(agent, action)
        self.rewards = rewards
        self._cumulative_rewards[agent] = 0.0
        self._accumulate_rewards()

    def state(self) -> np.ndarray:
        """The global state (docs/mediator.md, "Global state"); computed only when asked, never by ``step``.

        The wrapped env's state, then the mediator's observation (what the
        ``mediator`` agent observes, or selectors see), then whether the leader
        is being chosen now (with a vote or the mediator agent) and every
        player's own-history features (``agent_history``), in the env's encoding.
        """
        if not hasattr(self, "state_space"):
            raise NotImplementedError(
                f"{self.metadata['name']} has no global state: the env it wraps has no flat Box state_space"
            )
        codes = [int(self._phase is not None)] if self.leader_phase.name else []
        for p in self.players:
            codes += self.agent_history.features(p, self.returns)
        codes = np.array(codes, dtype=np.int64)
        own = codes if self.obs_encoding == "discrete" else one_hot(codes, self._state_nvec)
        mediator = self.mediator_observation.encode(*self.observation_inputs())
        return np.concatenate([self.env.state(), mediator, own]).astype(np.float32)

    def render(self):
        text = self.env.render()
        if text is None:
            return None
        leaders = ", ".join(r.leader for r in self.stage_records) or "none yet"
        lines = [text, f"mediator ({self.leader_phase!r}): phase {self.phase}; leaders so far: {leaders}"]
        if self._final:
            lines.append("transfer: " + ", ".join(f"{p}={t:+g}" for p, t in self._final["transfer"].items()))
        return "\n".join(lines)

    def close(self):
        self.env.close()

    # ------------------------------------------------------------- stages
    def _begin_stage(self) -> None:
        leader = self.leader_phase.begin(self)
        if leader is None:
            self._phase = self.leader_phase.name
            self._sync_infos()
        else:
            self._start_play(leader)

    def _start_play(self, leader: str) -> None:
        self._game.set_leader(leader)
        self._phase = None
        self.agent_selection = self.env.agent_selection
        self._sync_infos()

    def ask(self, selector, votes: dict[str, str] | None = None) -> str:
        """The leader ``selector`` chooses now (what a leader phase calls)."""
        history = self._leader_history
        view = MediatorView(
            stage=self.stage,
            agents=self._player_names,
            returns=self.episode_returns,
            leaders=tuple(history.names),
            leader_fair=tuple(history.fair),
            observation=self.mediator_observation.features_of(self.stage, self.returns, history),
            rng=self._rng,
            votes=votes,
        )
        return check_agent(selector.select(view), self.players, "selector", selector)

    def _play(self, agent: str, action: int) -> dict[str, float]:
        stage = self.stage
        self.env.step(action)
        rewards = dict.fromkeys(self.agents, 0.0)
        played = self.env.rewards
        for p in self.players:
            rewards[p] = float(played[p])
        if self.stage == stage:
            self.agent_selection = self.env.agent_selection
            self._sync_infos()
            return rewards
        self.returns += [rewards[p] for p in self.players]
        record = self.last_stage
        self.stage_records.append(record)
        self._leader_history.add(record.leader, self.player_index[record.leader], record.leader_fair)
        self.agent_history.record(record)
        rewards.update(self.leader_phase.stage_rewards(self))
        if self._game.phase == "done":
            self._finish(rewards)
        else:
            if self.settle == "stage" and self.transfer.strength != 0.0:
                self._pay_transfer(rewards)
            self._begin_stage()
        return rewards

    def _pay_transfer(self, rewards: dict[str, float]) -> np.ndarray:
        """Pay the change in the transfer of the stages so far (all of it, unless settled stage by stage)."""
        transfer = self.transfer(self.returns, self.stage_records)
        change = transfer - self._settled
        for p, c in zip(self.players, change.tolist()):
            rewards[p] += c
        self._settled = transfer
        return transfer

    def _finish(self, rewards: dict[str, float]) -> None:
        """The zero-sum transfer (what is left to pay of it), paid with the last stage's rewards."""
        before = self.episode_returns
        transfer = dict(zip(self.players, map(float, self._pay_transfer(rewards))))
        self._final = {
            "leaders": [r.leader for r in self.stage_records],
            "returns_before_transfer": before,
            "transfer": transfer,
            "returns_after_transfer": {p: before[p] + transfer[p] for p in self.players},
        }
        self.terminations = dict.fromkeys(self.agents, True)
        self._sync_infos()
        while self.env.agents:  # the wrapped env's agents step out with None, as AEC requires
            self.env.step(None)
        self.agent_selection = self.agents[0]

    # ---------------------------------------------------------- helpers
    def _next_step_quiet(self) -> bool:
        """Whether the next step changes no reward and no info (see ``quiet_next_step``): a follower's mid-stage."""
        return self._phase is None and type(self).step is MediatedEnv.step and quiet_next_step(self.env)

    def observation_inputs(self) -> tuple:
        """What the mediator observation is built from: stage, returns, past leaders, their fairness."""
        history = self._leader_history
        return self.stage, self.returns, list(history.indices), list(history.fair)

    def _sync_infos(self) -> None:
        common = {
            "stage": self.stage,
            "leader": self.leader,
            **self.leader_phase.info(self._phase is not None),
            **self._final,
        }
        inner = self.env.infos
        for p in self.players:
            self.infos[p] = {**inner[p], **common}
        last = inner[self.players[0]].get("last_stage")
        for agent in self.leader_phase.agents:
            self.infos[agent] = {**({"last_stage": last} if last else {}), **common}

    def agent_index(self, agent: str, action, what: str) -> int:
        """``action`` as a player index, else an error naming ``agent``'s ``what`` and the valid choices."""
        n = len(self.players)
        index = as_int(action)
        if index is not None and 0 <= index < n:
            return index
        valid = f"0..{n - 1} ({', '.join(self.players)})"  # only for the error: O(n) to build
        if index is None:
            raise TypeError(f"{agent}'s {what} must be an agent index in {valid}, got {action!r}")
        raise ValueError(f"{agent}'s {what} {index} is not an agent; valid choices are {valid}")


def mediate(
    env: AECEnv,
    selector: str | Selector | None = None,
    transfer=0.0,
    history=DEFAULT_HISTORY,
    mediator_as_agent: bool = False,
    metric: str | None = None,
    seed: int | None = None,
    agent_history=(),
    settle: str = "end",
    **selector_kwargs,
) -> MediatedEnv:
    """Wrap a Stackelberg env so that a mediator picks every stage's leader (see docs/mediator.md).

    ``selector``: a name (``"fixed"`` (``leader=``, default ``player_0``),
    ``"round_robin"`` (the default), ``"random"``, ``"catch_up"``, ``"vote"``,
    ``"learned"`` (``policy=``: any external policy, mediator observation ->
    leader, e.g. a trained mediator's greedy policy)), a :class:`Selector` or a callable
    ``view -> agent name``; extra keyword arguments go to a named selector.
    ``transfer``: end-game transfer strength ``beta`` in [0, 1] (rule
    ``t_i = -beta (G_i - mean G)``), or a pair ``(rule, strength)`` whose rule
    is a name (``"mean_deviation"``, ``"unfair_advantage"``: ``t_i = -kappa n/(n-1)
    (u_i - mean u)``, u_i the advantage player i took while leading unfairly)
    or a callable ``(returns, strength[, stages]) -> transfers`` (zero-sum);
    a rule alone, name or callable, is refused: it needs its strength. ``history``: mediator observation features, a tuple from
    ``("returns", "leaders", "reputation")``, ``()`` or None for none.
    ``agent_history``: features of each player's own past appended to its
    observation, from ``("unfair_leads", "leads", "rank")``.
    ``settle``: when the transfer is paid: ``"end"`` (default), all of it
    with the last stage's rewards; ``"stage"``, after every stage the change
    in the transfer of the stages so far (an unfair lead is charged in the
    stage that earns it; the payments add up to the same transfer).
    ``mediator_as_agent``: add the agent ``"mediator"`` whose action is the
    leader and whose reward is the change in fairness (``metric``, default
    ``pairwise_equality``) of the players' returns; ``selector`` must then be
    left unset. ``seed`` seeds the mediator's random choices until
    ``reset(seed=...)`` reseeds them.
    """
    phase = _leader_phase(_check_protocol(env), selector, mediator_as_agent, metric, selector_kwargs, history)
    return MediatedEnv(env, phase, transfer, history, agent_history, seed, settle)
