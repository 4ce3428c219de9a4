"""Leader selectors: who leads the next stage, decided from a :class:`MediatorView`.

Below the envs (an env's ``leader=`` takes a selector) and the mediator (which
picks each stage's leader with one); users import them from ``fairlead.mediation``.

A selector is anything with the two methods of :class:`Selector`; a plain
callable ``view -> agent name`` works too. The mediated env calls ``reset``
when it is built and at every reset, and ``select`` before every stage.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fairlead.names import unknown_name


@dataclass(frozen=True, eq=False)
class MediatorView:
    """What a selector may look at before a stage (built fresh for every stage)."""

    stage: int
    agents: tuple[str, ...]  # the players, in index order
    returns: dict[str, float]  # the env's own cumulative returns so far (before transfer)
    leaders: tuple[str, ...]  # leader of each past stage
    leader_fair: tuple[bool, ...]  # whether each past stage's leader acted fairly
    observation: np.ndarray  # the mediator observation, discrete encoding
    rng: np.random.Generator  # the mediator's seeded generator
    votes: dict[str, str] | None = None  # voter -> chosen agent, for selectors with a vote phase


class Selector:
    """Base class (and protocol) of leader selectors.

    ``vote_phase = True`` makes the mediated env run a vote phase before each
    stage (every player chooses a leader as an action of its own) and pass the
    votes in ``view.votes``.
    """

    vote_phase: bool = False

    def reset(self, agents: list[str], rng: np.random.Generator) -> None:
        """Start an episode; ``agents`` are the players. Must raise on a bad configuration."""

    def select(self, view: MediatorView) -> str:
        """The name of the agent that leads stage ``view.stage``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def check_agent(choice, agents, what: str, owner) -> str:
    """``choice`` if it names one of ``agents``, else a ValueError naming ``what`` and ``owner``.

    ``owner`` (the selector or policy) is only formatted on failure: this runs before every stage.
    """
    if isinstance(choice, str) and choice in agents:
        return choice
    raise ValueError(f"{what} {owner!r} returned {choice!r}, which is not an agent; valid agents: {list(agents)}")


class FixedSelector(Selector):
    """The same agent leads every stage (default ``player_0``)."""

    def __init__(self, leader: str = "player_0"):
        self.leader = leader

    def reset(self, agents, rng):
        if self.leader not in agents:
            raise ValueError(f"fixed selector: leader {self.leader!r} is not an agent; valid agents: {agents}")

    def select(self, view):
        return self.leader

    def __repr__(self):
        return f"FixedSelector(leader={self.leader!r})"


class RoundRobinSelector(Selector):
    """Stage ``s`` is led by ``player_{s mod n}``: each agent leads ceil or floor of T/n stages."""

    def select(self, view):
        return view.agents[view.stage % len(view.agents)]


class RandomSelector(Selector):
    """A uniformly random leader each stage, drawn from the mediator's seeded generator."""

    def select(self, view):
        return view.agents[int(view.rng.integers(len(view.agents)))]


class CatchUpSelector(Selector):
    """The agent with the lowest cumulative return leads; exact ties go to the lowest index."""

    def select(self, view):
        return view.agents[int(np.argmin([view.returns[a] for a in view.agents]))]


class VoteSelector(Selector):
    """Plurality of the players' votes; a tie is broken uniformly at random (seeded).

    The generator is drawn from only when there is a tie.
    """

    vote_phase = True

    def select(self, view):
        tally = Counter(view.votes.values())  # one pass: counting each agent's votes anew would be O(n**2)
        counts = np.array([tally[a] for a in view.agents])
        tied = np.flatnonzero(counts == counts.max())
        winner = tied[0] if len(tied) == 1 else view.rng.choice(tied)
        return view.agents[int(winner)]


class LearnedSelector(Selector):
    """The leader comes from an external policy: ``policy(observation) -> agent index or name``.

    ``observation`` is the mediator observation (discrete encoding). Any policy
    fits, e.g. the greedy policy of a mediator trained elsewhere, to deploy it
    without training. (JAM-QL does not use this selector: it trains its
    mediator as the ``mediator`` agent of ``mediate(..., mediator_as_agent=True)``,
    whose observation, in the discrete encoding, is the same vector.)
    """

    def __init__(self, policy: Callable[[np.ndarray], int | str] | None = None):
        if not callable(policy):
            raise TypeError(
                f"selector 'learned' needs policy=, a callable observation -> agent index or name; got {policy!r}"
            )
        self.policy = policy

    def select(self, view):
        if view.observation is None:
            raise ValueError(
                "the learned selector reads the mediator observation; use it through "
                "fairlead.mediate(env, selector='learned', policy=...)"
            )
        choice = self.policy(view.observation)
        if isinstance(choice, (int, np.integer)) and not isinstance(choice, bool):
            if 0 <= choice < len(view.agents):
                return view.agents[int(choice)]
            raise ValueError(
                f"learned policy {self.policy!r} returned index {choice}; valid indices are "
                f"0..{len(view.agents) - 1} ({', '.join(view.agents)})"
            )
        return check_agent(choice, view.agents, "learned policy", self.policy)

    def __repr__(self):
        return f"LearnedSelector(policy={self.policy!r})"


class CallableSelector(Selector):
    """Adapts a plain callable ``view -> agent name``."""

    def __init__(self, fn: Callable[[MediatorView], str]):
        self.fn = fn

    def select(self, view):
        return self.fn(view)

    def __repr__(self):
        return f"CallableSelector({self.fn!r})"


SELECTORS: dict[str, type[Selector]] = {
    "fixed": FixedSelector,
    "round_robin": RoundRobinSelector,
    "random": RandomSelector,
    "catch_up": CatchUpSelector,
    "vote": VoteSelector,
    "learned": LearnedSelector,
}


def make_selector(spec, **kwargs) -> Selector:
    """A selector from a name in ``SELECTORS`` (+ its keyword arguments), an instance or a callable."""
    if isinstance(spec, str):
        if spec not in SELECTORS:
            raise unknown_name("selector", spec, SELECTORS)
        cls = SELECTORS[spec]
        accepted = list(inspect.signature(cls).parameters)
        unexpected = sorted(set(kwargs) - set(accepted))
        if unexpected:
            takes = f"only {', '.join(accepted)}" if accepted else "no keyword arguments"
            raise TypeError(f"selector {spec!r} takes {takes}; got {', '.join(unexpected)}")
        return cls(**kwargs)
    if kwargs:
        raise TypeError(
            f"selector keyword arguments ({', '.join(sorted(kwargs))}) only apply to a selector "
            f"given by name ({', '.join(SELECTORS)})"
        )
    if isinstance(spec, type) and issubclass(spec, Selector):
        raise TypeError(f"selector {spec.__name__} is a class; pass an instance, e.g. {spec.__name__}()")
    if isinstance(spec, Selector) or (
        callable(getattr(spec, "select", None)) and callable(getattr(spec, "reset", None))
    ):
        return spec
    if callable(spec):
        return CallableSelector(spec)
    raise TypeError(
        f"selector must be a name ({', '.join(SELECTORS)}), a Selector or a callable view -> agent name; got {spec!r}"
    )
