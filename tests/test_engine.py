"""The compiled engine gives the reference trainer's results byte for byte, and says what it cannot play."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from support import tree_digest

from fairlead.cli import main
from fairlead.engine import make_trainer, numpy_random, unsupported
from fairlead.engine.trainer import CompiledTrainer
from fairlead.experiments import runs
from fairlead.experiments.runs import train_seed
from fairlead.experiments.spec import RunSpec
from fairlead.trainers.config import HyperParams, Method, TrainingConfig, get_method, method_names
from fairlead.trainers.evaluation import summarise
from fairlead.trainers.jamql import Trainer

ENGINE_METHODS = tuple(method_names())  # every shipped method
SMALL = HyperParams(
    training=TrainingConfig(episodes=60, eval_episodes=4, log_every=20, curve_episodes=2, checkpoint_every=30)
)


def same_state(a: dict, b: dict) -> bool:
    if a["episode"] != b["episode"] or list(a["learners"]) != list(b["learners"]):
        return False
    for agent, x in a["learners"].items():
        y = b["learners"][agent]
        if x["rng"] != y["rng"] or any(
            x[key].shape != y[key].shape or x[key].dtype != y[key].dtype or not np.array_equal(x[key], y[key])
            for key in ("keys", "values")
        ):
            return False
    return True


@pytest.mark.parametrize(
    "env,kwargs",
    [
        ("chicken_v0", {"n_agents": 4}),
        ("cournot_v0", {"a": 12.5}),
        ("matrix_game_v0", {"payoff": [[[3.0, 0.0], [0.5, 2.0]], [[2.0, 0.25], [0.0, 3.0]]], "stage_feature": "last"}),
        ("resource_collection_v0", {"n_agents": 3, "preference": "strong", "max_cycles": 6}),
    ],
)
def test_compiled_and_reference_runs_are_byte_identical(tmp_path, env, kwargs):
    spec = RunSpec(env, kwargs, ENGINE_METHODS, (0, 1), SMALL)
    for engine in ("reference", "compiled"):
        runs.run(spec, tmp_path / engine, jobs=1, progress=False, engine=engine)
    assert tree_digest(tmp_path / "reference") == tree_digest(tmp_path / "compiled")


def test_a_run_cut_by_one_engine_resumes_on_the_other_to_the_same_bytes(tmp_path):
    spec = RunSpec("chicken_v0", {}, ("jamql", "random"), (3,), SMALL)
    runs.run(spec, tmp_path / "whole", jobs=1, progress=False, engine="reference")
    cut = tmp_path / "cut"
    runs.prepare_run_dir(spec, cut, resume=False)
    for method in spec.methods:
        assert train_seed(spec, method, 3, cut, stop_after=37, engine="compiled") == {}
    runs.run(spec, cut, resume=True, jobs=1, progress=False, engine="reference")
    assert tree_digest(cut) == tree_digest(tmp_path / "whole")


games = st.integers(2, 3).flatmap(
    lambda k: st.fixed_dictionaries(
        {
            "payoff": st.lists(
                st.lists(st.integers(-3, 5).map(float), min_size=k, max_size=k), min_size=k, max_size=k
            ).filter(lambda p: len({x for row in p for x in row}) > 1),
            "n_agents": st.integers(2, 4),
            "max_cycles": st.integers(1, 5),
            "stage_feature": st.sampled_from(["index", "last", "none"]),
        }
    )
)
methods = st.builds(
    lambda selector, history, agent_history, transfer, settle: Method(
        "m",
        selector,
        history,
        transfer,
        {"leader": "player_1"} if selector == "fixed" else {},
        "",
        agent_history,
        settle=settle,
    ),
    st.sampled_from(["fixed", "round_robin", "random", "catch_up", "vote", "vector_mediator", "mediator"]),
    st.sampled_from(
        [
            (),
            ("returns",),
            ("reputation",),
            ("returns", "reputation"),
            ("leaders",),
            ("returns", "leaders", "reputation"),
        ]
    ),
    st.sampled_from([(), ("unfair_leads",), ("leads", "rank"), ("unfair_leads", "leads", "rank")]),
    st.sampled_from([0.0, 0.5, 1.0, ["unfair_advantage", 0.0], ["unfair_advantage", 2.5]]),
    st.sampled_from(["end", "stage"]),
)


@settings(max_examples=40, deadline=None)
@given(games, methods, st.integers(0, 2**31))
def test_the_engine_plays_and_learns_as_the_reference_on_any_matrix_game(game, method, seed):
    """Same Q-tables, generators, mediator estimates and evaluation episodes (every stage record) after training."""
    assume(unsupported("matrix_game_v0", game, method) is None)  # the mediator agent's table may be too large
    reference = Trainer("matrix_game_v0", game, method, HyperParams(), seed)
    compiled = CompiledTrainer("matrix_game_v0", game, method, HyperParams(), seed)
    for trainer in (reference, compiled):
        trainer.train(25)
    assert same_state(reference.state_dict(), compiled.state_dict())
    played = reference.evaluate(3, offset=5), compiled.evaluate(3, offset=5)
    for a, b in zip(*played):
        assert a.stages == b.stages and a.leaders == b.leaders and a.leader_fair == b.leader_fair
        assert np.array_equal(a.returns, b.returns) and np.array_equal(
            a.returns_after_transfer, b.returns_after_transfer
        )
    np.testing.assert_equal(
        summarise(played[0], reference.players, reference.return_scale),
        summarise(played[1], compiled.players, compiled.return_scale),
    )  # NaN: undefined


grids = st.integers(2, 4).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "n_agents": st.just(n),
            "grid_size": st.sampled_from([(3, 3), (2, 4), (4, 3), (1, 9)]),
            "n_fair": st.integers(1, 2),
            "n_unfair": st.integers(1, 2),
            "cooperation": st.integers(1, n),
            "unfair_share": st.floats(1 / n, 1.0),
            "preference": st.sampled_from(["neutral", "strong", [0.0] + [2.0] * (n - 1)]),
            "max_cycles": st.integers(1, 6),
            "stage_feature": st.sampled_from(["index", "last", "none"]),
        }
    )
)


@settings(max_examples=25, deadline=None)
@given(grids, methods, st.integers(0, 2**31), st.booleans())
def test_the_engine_plays_and_learns_as_the_reference_on_any_resource_collection(grid, method, seed, fixed_layout):
    """The grid's moves, collections and respawns (the env's generator) as the env plays them, on any grid."""
    if fixed_layout:  # agents stacked on the first cell, resources along the last row
        n, rows, cols = grid["n_agents"], *grid["grid_size"]
        cells = [[rows - 1 - i // cols, cols - 1 - i % cols] for i in range(grid["n_fair"] + grid["n_unfair"])]
        grid["layout"] = {"agents": [[0, 0]] * n, "fair": cells[: grid["n_fair"]], "unfair": cells[grid["n_fair"] :]}
    assume(unsupported("resource_collection_v0", grid, method) is None)
    reference = Trainer("resource_collection_v0", grid, method, HyperParams(), seed)
    compiled = CompiledTrainer("resource_collection_v0", grid, method, HyperParams(), seed)
    for trainer in (reference, compiled):
        trainer.train(15)
    assert same_state(reference.state_dict(), compiled.state_dict())
    for a, b in zip(reference.evaluate(3, offset=2), compiled.evaluate(3, offset=2)):
        assert a.stages == b.stages and np.array_equal(a.returns_after_transfer, b.returns_after_transfer)


@pytest.mark.parametrize("n", [30, 64])
def test_the_engine_trains_many_players(n):
    trainer = make_trainer("chicken_v0", {"n_agents": n, "max_cycles": 5}, get_method("jamql"), HyperParams(), 0)
    assert isinstance(trainer, CompiledTrainer)
    trainer.train(50)
    (episode,) = trainer.evaluate(1)
    assert len(episode.returns) == n and len(episode.leaders) == 5


def test_what_the_engine_cannot_play_goes_to_the_reference_or_is_refused_with_the_reason(tmp_path, capsys):
    (tmp_path / "mine.py").write_text(
        "from fairlead.mediation import Selector\n\n\n"
        "class Last(Selector):\n"
        "    def select(self, view):\n"
        "        return view.agents[-1]\n"
    )
    (tmp_path / "mine.toml").write_text('selector = "mine.py:Last"\n')
    mine = get_method(tmp_path / "mine.toml")
    assert "selector" in unsupported("resource_collection_v0", {}, mine)
    assert "dense table of 3.79e+09 entries" in unsupported("chicken_v0", {"n_agents": 8}, get_method("jamql-scalar"))
    assert isinstance(make_trainer("resource_collection_v0", {}, mine, HyperParams(), 0), Trainer)
    assert isinstance(make_trainer("resource_collection_v0", {}, get_method("vote"), HyperParams(), 0), CompiledTrainer)
    assert (
        main(
            [
                "train",
                "--env",
                "resource-collection-2p",
                "--method",
                str(tmp_path / "mine.toml"),
                "--seeds",
                "1",
                "--episodes",
                "5",
                "--engine",
                "compiled",
                "--out",
                str(tmp_path / "run"),
                "--no-progress",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "--engine compiled: method mine's selector" in err and "runs on the reference trainer" in err
    assert "--engine auto" in err and not (tmp_path / "run").exists()


def test_an_unknown_engine_is_refused_naming_the_choices(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown engine 'fast'; valid engines: auto, compiled, reference"):
        runs.run(RunSpec("chicken_v0", {}, ("jamql",), (0,), SMALL), tmp_path / "r", engine="fast")
    assert not (tmp_path / "r").exists()
    with pytest.raises(SystemExit):
        main(["train", "--env", "chicken-2p", "--method", "jamql", "--engine", "fast", "--out", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert "--engine: invalid choice: 'fast'" in err and "compiled" in err and not (tmp_path / "c").exists()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=6), st.integers(1, 60), st.data())
def test_the_compiled_generators_are_numpys(entropy, population, data):
    """Seeding (SeedSequence, PCG64), raw and bounded draws and choice without replacement give numpy's numbers."""
    words = np.array(entropy, np.uint64)
    assert np.array_equal(
        numpy_random.seed_sequence_words(words, 3).astype(np.uint32), np.random.SeedSequence(entropy).generate_state(3)
    )
    mine, numpys = np.zeros((1, numpy_random.STATE_WORDS), np.uint64), np.random.default_rng(entropy)
    numpy_random.seed_generator(words, mine, 0)
    assert np.array_equal(mine[0], numpy_random.state_row(numpys))
    size = data.draw(st.integers(1, population))
    chosen = np.zeros(size, np.int64)
    numpy_random.choice_without_replacement(mine, 0, population, chosen)
    assert np.array_equal(chosen, numpys.choice(population, size, replace=False))
    for high in data.draw(st.lists(st.integers(1, 2**32 - 1), max_size=8)):
        assert numpy_random.integers(mine, 0, high) == numpys.integers(0, high)
        assert numpy_random.random(mine, 0) == numpys.random()
    assert numpy_random.next_uint64(mine, 0) == numpys.bit_generator.random_raw()
    copy = np.random.default_rng(0)
    numpy_random.set_state(copy, mine[0])
    assert copy.bit_generator.state == numpys.bit_generator.state


@pytest.mark.parametrize("population, size", [(10_050, 300), (10_050, 201), (20_000, 3)])
def test_choice_without_replacement_from_a_large_population_is_numpys(population, size):
    """Over 10,000 numpy shuffles the tail of the population when more than a fiftieth is drawn."""
    mine, numpys = np.zeros((1, numpy_random.STATE_WORDS), np.uint64), np.random.default_rng(7)
    mine[0] = numpy_random.state_row(numpys)
    chosen = np.zeros(size, np.int64)
    numpy_random.choice_without_replacement(mine, 0, population, chosen)
    assert np.array_equal(chosen, numpys.choice(population, size, replace=False))
    assert np.array_equal(mine[0], numpy_random.state_row(numpys))
