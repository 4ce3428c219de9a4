"""Shared test helpers: the suite of environments every generic test runs on."""

from __future__ import annotations

import fairlead

# Required or interesting keyword arguments per environment; every registered
# environment is covered (a new module gets the generic tests automatically).
EXAMPLE_KWARGS = {
    "matrix_game_v0": [
        {"payoff": [[2.0, -1.0, 0.5], [3.0, 0.0, -2.0], [1.0, 1.0, 1.0]]},
        {"payoff": [[[3, 0], [5, 1]], [[3, 5], [0, 1]]]},
    ],
}


def suite_configs(n_agents=(2, 4)):
    """(name, kwargs) for every registered env, with 2 and 4 players where allowed."""
    configs = []
    for name in fairlead.list_envs():
        for kwargs in EXAMPLE_KWARGS.get(name, [{}]):
            for n in n_agents:
                bimatrix = name == "battle_of_sexes_v0" or (
                    "payoff" in kwargs and len(kwargs["payoff"]) == 2
                    and isinstance(kwargs["payoff"][0][0], list)
                )
                if bimatrix and n != 2:
                    continue
                configs.append((name, {**kwargs, "n_agents": n}))
    return configs


def config_id(config):
    name, kwargs = config
    extra = "-bimatrix" if "payoff" in kwargs and isinstance(kwargs["payoff"][0][0], list) else ""
    return f"{name}{extra}-{kwargs.get('n_agents', 2)}p"
