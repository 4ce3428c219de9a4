"""The compiled training engine: the reference trainer's runs, byte for byte, in compiled episode loops.

``fairlead train --engine {auto,compiled,reference}``: ``reference`` is the AEC
trainer (``fairlead.trainers.jamql.Trainer``), which plays any env that follows
the Stackelberg protocol through PettingZoo's API; ``compiled`` plays whole
episodes in numba (:mod:`fairlead.engine.kernels`, the algorithm in one
function) with the same random draws and the same float arithmetic, so
``metrics.csv``, ``curves.csv`` and checkpoints are identical; ``auto`` (the
default) takes the compiled engine when it supports the env and method
(:func:`unsupported`) and the reference otherwise.

What the compiled engine plays today: the matrix games (any payoff, any n),
Cournot and resource collection; every shipped selector (fixed, round robin, random, catch-up, the vote,
JAM-QL's vector mediator and the scalar mediator agent of ``jamql-scalar``);
every history feature; both transfer rules; the built-in tabular learner.
Users' selectors, learners and envs run on the reference.
"""

from __future__ import annotations

import functools
import json

import numpy as np

from fairlead.registry import env_module, make
from fairlead.trainers.config import HyperParams, Method

ENGINES = ("auto", "compiled", "reference")
ENGINE_SELECTORS = ("fixed", "round_robin", "random", "catch_up", "vote", "vector_mediator", "mediator")
MAX_TABLE = 10**7  # entries of the mediator agent's dense Q-table the engine allocates (80 MB)
ENGINE_TRANSFERS = ("mean_deviation", "unfair_advantage")


def game_of(env_name: str, env_kwargs: dict):
    """The unwrapped env the engine reads a game's rules from (made once per process and options; never stepped)."""
    try:
        key = json.dumps(env_kwargs, sort_keys=True, default=list)
    except TypeError:  # an option json cannot hold: made anew
        return _game(env_name, env_kwargs)
    return _cached_game(env_name, key)


def _game(env_name: str, env_kwargs: dict):
    return make(env_name, **{**env_kwargs, "obs_encoding": "discrete"}).unwrapped


@functools.lru_cache(maxsize=64)
def _cached_game(env_name: str, key: str):
    return _game(env_name, json.loads(key))


def unsupported(env_name: str, env_kwargs: dict, method: Method) -> str | None:
    """Why the compiled engine cannot train ``method`` on this env (None: it can)."""
    from fairlead.envs.cournot_v0 import raw_env as Cournot
    from fairlead.envs.matrix import MatrixGameEnv
    from fairlead.envs.resource_collection_v0 import raw_env as ResourceCollection

    game = env_module(env_name).raw_env
    if not issubclass(game, (MatrixGameEnv, Cournot, ResourceCollection)):
        return (
            f"the compiled engine plays the matrix games, Cournot and resource collection, not {game.metadata['name']}"
        )
    if method.selector not in ENGINE_SELECTORS or method.user_selector:
        return f"method {method.name}'s selector {method.selector!r} runs on the reference trainer"
    if method.learner:
        return f"method {method.name}'s learner {method.learner!r} (a user learner) runs on the reference trainer"
    transfer = method.transfer
    if isinstance(transfer, list) and transfer[0] not in ENGINE_TRANSFERS:
        return f"method {method.name}'s transfer rule {transfer[0]!r} runs on the reference trainer"
    if method.learned_mediator:  # a dense table over every mediator observation: (T + 1) * 3**(2n) for jamql-scalar
        from fairlead.mediation.observation import MediatorObservation

        env = game_of(env_name, env_kwargs)
        n = len(env.possible_agents)
        entries = (
            int(
                np.prod(
                    MediatorObservation(n, env.max_cycles, env.return_scale, method.history, "discrete").nvec.astype(
                        float
                    )
                )
            )
            * n
        )
        if entries > MAX_TABLE:
            return (
                f"method {method.name}'s mediator agent would need a dense table of {entries:.3g} entries "
                f"(more than {MAX_TABLE:.0e}); it runs on the reference trainer"
            )
    return None


def make_trainer(env_name: str, env_kwargs: dict, method: Method, hp: HyperParams, seed: int, engine: str = "auto"):
    """The trainer ``engine`` asks for: the compiled one when it can (``auto``), else the reference."""
    from fairlead.trainers.jamql import Trainer

    check_engine(engine)
    if engine == "reference":
        return Trainer(env_name, env_kwargs, method, hp, seed)
    reason = unsupported(env_name, env_kwargs, method)
    if reason is None:
        from fairlead.engine.trainer import CompiledTrainer

        return CompiledTrainer(env_name, env_kwargs, method, hp, seed)
    if engine == "compiled":
        raise ValueError(f"--engine compiled: {reason}; use --engine auto or reference")
    return Trainer(env_name, env_kwargs, method, hp, seed)


def compile_ahead() -> None:
    """Compile the engine's kernel (or load it from numba's cache) in this process.

    One kernel plays every game, method and number of players, so this once
    lets worker processes started next load it from the cache instead of
    compiling it each at the same time.
    """
    from fairlead.engine.trainer import CompiledTrainer
    from fairlead.trainers.config import get_method

    CompiledTrainer("chicken_v0", {"max_cycles": 1}, get_method("fixed"), HyperParams(), 0).train(1)


COMPILING = "compiling the training engine (first run only, about 30 s)"


def compiled_in_cache() -> bool:
    """Whether numba's cache holds the engine compiled for this CPU, so a run need not compile it first.

    Reads numba's cache index (not a public API): if that fails, True, so a
    run says nothing rather than something wrong.
    """
    from fairlead.engine import kernels

    try:
        dispatcher = kernels.play_episodes
        target = dispatcher.targetctx.codegen().magic_tuple()  # type: ignore[attr-defined]
        return any(key[1] == target for key in dispatcher._cache._cache_file._load_index())  # type: ignore[attr-defined]
    except Exception:  # numba's internals changed
        return True


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}")
    return engine
