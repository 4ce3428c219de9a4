"""Users' own learners: a method file's ``learner`` factory trains the players, is checkpointed, resumed, recorded."""

import itertools
import json
from importlib.metadata import EntryPoint

import numpy as np
import pytest

from fairlead.cli import main
from fairlead.experiments import spec as specs
from fairlead.experiments.checkpoint import load_checkpoint, save_checkpoint
from fairlead.experiments.directories import RunDirectoryError
from fairlead.experiments.runs import prepare_run_dir, run, train_seed
from fairlead.experiments.spec import RunSpec, load_spec
from fairlead.mediation import MEDIATOR
from fairlead.trainers import config
from fairlead.trainers.config import HyperParams, TrainingConfig, get_method
from fairlead.trainers.jamql import Trainer
from fairlead.trainers.qlearning import TabularQLearner

ENV, ENV_KWARGS = "chicken_v0", {"max_cycles": 3}
HP = HyperParams(
    training=TrainingConfig(episodes=40, eval_episodes=5, log_every=10, curve_episodes=2, checkpoint_every=10)
)
BOLTZMANN = '''
import functools

import numpy as np


class Boltzmann:
    """Q-learning that explores by softmax over Q / temperature (cooling per episode) instead of epsilon-greedy."""

    def __init__(self, num_actions, config, rng, start_temperature=2.0):
        self.num_actions, self.config, self.rng = num_actions, config, rng
        self.start_temperature = self.temperature = start_temperature
        self.q = {}
        self.visits = {}

    def begin_episode(self, episode):
        self.temperature = max(0.05, self.start_temperature * 0.9 ** episode)

    def act(self, state, mask, explore):
        legal = np.flatnonzero(mask)
        values = self.q.get(state, np.zeros(self.num_actions))[legal]
        if not explore:
            return int(legal[np.argmax(values)])
        weights = np.exp((values - values.max()) / self.temperature)
        return int(self.rng.choice(legal, p=weights / weights.sum()))

    def update(self, state, action, reward, next_state, next_mask, done):
        target = reward
        if not done:
            target += self.config.gamma * self.q.get(next_state, np.zeros(self.num_actions))[
                np.flatnonzero(next_mask)].max()
        row = self.q.setdefault(state, np.zeros(self.num_actions))
        row[action] += self.config.alpha * (target - row[action])
        key = ",".join(map(str, state))
        self.visits[key] = self.visits.get(key, 0) + 1

    def state_dict(self):
        states = sorted(self.q)
        return {"q": np.array([self.q[s] for s in states]).reshape(len(states), self.num_actions),
                "states": [list(s) for s in states],
                "schedule": {"temperature": self.temperature, "visits": dict(self.visits), "note": None},
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        self.q = {tuple(s): np.array(row) for s, row in zip(state["states"], state["q"])}
        self.temperature = state["schedule"]["temperature"]
        self.visits = dict(state["schedule"]["visits"])
        self.rng.bit_generator.state = state["rng"]


def boltzmann(num_actions, config, rng):
    return Boltzmann(num_actions, config, rng)


cool = functools.partial(Boltzmann, start_temperature=0.5)  # a callable object as the factory
'''
METHOD = 'selector = "{selector}"\nagent_history = ["unfair_leads"]\n'
_modules = itertools.count()


@pytest.fixture
def user(tmp_path):
    """A user's folder: learners.py, boltzmann.toml (its learner by file) and tabular.toml (the same, built-in)."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "learners.py").write_text(BOLTZMANN)
    (folder / "boltzmann.toml").write_text(
        METHOD.format(selector="round_robin") + 'learner = "learners.py:boltzmann"\n'
    )
    (folder / "tabular.toml").write_text(METHOD.format(selector="round_robin"))
    return folder


def trained(method_file, episodes=40, seed=0) -> Trainer:
    trainer = Trainer(ENV, ENV_KWARGS, get_method(method_file), HP, seed)
    for _ in range(episodes):
        trainer.train_episode()
    return trainer


def q_tables(trainer) -> dict:
    return {a: {s: v.tolist() for s, v in learner.q.items()} for a, learner in trainer.learners.items()}


def checkpoint_state(path):
    """A checkpoint's trainer state, whatever the fingerprint of its run."""
    with np.load(path) as data:
        fingerprint = json.loads(str(data["header"]))["fingerprint"]
    return load_checkpoint(path, fingerprint)[0]


def test_a_user_learner_trains_the_players_instead_of_the_tabular_one(user):
    method = get_method(user / "boltzmann.toml")
    assert method.learner == "learners.py:boltzmann"
    assert method.source["learner"] == f"{user / 'learners.py'}:boltzmann"
    assert method.source["learner_file"] == str(user / "learners.py") and len(method.source["learner_sha256"]) == 64
    assert method.record()["learner"] == "learners.py:boltzmann"
    assert "learner" not in get_method(user / "tabular.toml").record()
    mine, builtin = trained(user / "boltzmann.toml"), trained(user / "tabular.toml")
    assert all(type(learner).__name__ == "Boltzmann" for learner in mine.learners.values())
    assert mine.learners["player_0"].temperature == max(0.05, 2.0 * 0.9**39)  # its own schedule ran
    assert sum(mine.learners["player_0"].visits.values()) > 0
    assert q_tables(mine) != q_tables(builtin)  # softmax exploration visits other states and actions
    again = trained(user / "boltzmann.toml")  # it draws only from the trainer's generators: reproducible
    assert q_tables(again) == q_tables(mine)
    assert q_tables(trained(user / "boltzmann.toml", seed=1)) != q_tables(mine)


def test_the_explicit_built_in_factory_gives_the_default_q_tables(user):
    (user / "explicit.toml").write_text(
        METHOD.format(selector="round_robin") + 'learner = "fairlead.trainers.qlearning:TabularQLearner"\n'
    )
    explicit = get_method(user / "explicit.toml")
    assert explicit.source["learner"] == "fairlead.trainers.qlearning:TabularQLearner"
    assert explicit.source["learner_file"].endswith("fairlead/trainers/qlearning.py")
    assert q_tables(trained(user / "explicit.toml")) == q_tables(trained(user / "tabular.toml"))


def test_with_a_learned_mediator_the_players_get_the_user_learner_and_the_mediator_the_tabular_one(user):
    (user / "scalar.toml").write_text('selector = "mediator"\nhistory = ["returns"]\nlearner = "learners.py:cool"\n')
    trainer = trained(user / "scalar.toml", episodes=5)
    assert type(trainer.learners[MEDIATOR]) is TabularQLearner
    assert [type(trainer.learners[p]).__name__ for p in trainer.players] == ["Boltzmann", "Boltzmann"]
    assert trainer.learners["player_0"].start_temperature == 0.5
    # a functools.partial has no source file of its own: the file that names it is hashed
    assert get_method(user / "scalar.toml").source["learner_file"] == str(user / "learners.py")


def test_a_run_with_a_user_learner_checkpoints_its_state_and_resumes_byte_identically(tmp_path, user):
    spec = RunSpec(ENV, ENV_KWARGS, (str(user / "boltzmann.toml"), "alternating"), (0, 1), HP)
    run(spec, tmp_path / "whole", jobs=2, progress=False)
    prepare_run_dir(spec, tmp_path / "cut", resume=False)
    for seed in spec.seeds:
        assert train_seed(spec, "boltzmann", seed, tmp_path / "cut", stop_after=17) == {}  # interrupted mid-run
    state = checkpoint_state(tmp_path / "cut" / "boltzmann" / "seed_0" / "checkpoint.npz")
    assert state["episode"] == 17
    assert set(state["learners"]["player_0"]) == {"q", "states", "schedule", "rng"}
    assert state["learners"]["player_0"]["schedule"]["note"] is None
    run(spec, tmp_path / "cut", resume=True, jobs=1, progress=False)
    for path in sorted((tmp_path / "whole").rglob("*")):
        if path.is_file() and path.suffix != ".npz":  # a checkpoint's zip entries carry their time of writing
            assert (tmp_path / "cut" / path.relative_to(tmp_path / "whole")).read_bytes() == path.read_bytes(), path
    for seed in spec.seeds:
        whole, cut = (
            checkpoint_state(tmp_path / d / "boltzmann" / f"seed_{seed}" / "checkpoint.npz") for d in ("whole", "cut")
        )
        restored = Trainer(ENV, ENV_KWARGS, spec.definitions["boltzmann"], HP, seed)
        restored.load_state_dict(whole)  # the checkpoint restores the user learners' every field
        assert restored.learners["player_1"].visits == whole["learners"]["player_1"]["schedule"]["visits"] != {}
        for agent in whole["learners"]:
            assert np.array_equal(whole["learners"][agent].pop("q"), cut["learners"][agent].pop("q"))
        assert whole == cut


def test_a_changed_learner_file_is_another_run(tmp_path, user, capsys):
    out = tmp_path / "run"
    spec = RunSpec(
        ENV,
        ENV_KWARGS,
        (str(user / "boltzmann.toml"),),
        (0,),
        HyperParams(training=TrainingConfig(episodes=5, eval_episodes=2, log_every=5, curve_episodes=1)),
    )
    run(spec, out, jobs=1, progress=False)
    recorded = json.loads((out / "run.json").read_text())["methods"]["boltzmann"]
    assert recorded["learner"] == "learners.py:boltzmann"
    assert recorded["source"]["learner_sha256"] == spec.definitions["boltzmann"].source["learner_sha256"]
    (user / "learners.py").write_text(BOLTZMANN.replace("0.9 ** episode", "0.8 ** episode"))
    changed = RunSpec(ENV, ENV_KWARGS, (str(user / "boltzmann.toml"),), (0,), spec.hp)
    assert changed.fingerprint != spec.fingerprint
    with pytest.raises(RunDirectoryError) as info:
        load_spec(out)
    what = specs.CHANGES.get("source.learner_sha256", "source.learner_sha256").format(learner_file=user / "learners.py")
    assert f"method 'boltzmann' changed: {what}" in str(info.value)
    assert main(["eval", str(out), "--no-progress"]) == 2
    assert f"method 'boltzmann' changed: {what}" in capsys.readouterr().err


BAD = {
    "gone": ('learner = "gone.py:make"', "cannot import learner '{user}/gone.py:make': FileNotFoundError"),
    "no module": (
        'learner = "no_such_module_xyz:make"',
        "cannot import learner 'no_such_module_xyz:make': ModuleNotFoundError: No module named 'no_such_module_xyz'",
    ),
    "no attribute": ('learner = "learners.py:bolzmann"', "{user}/learners.py has no attribute 'bolzmann'"),
    "no colon": (
        'learner = "boltzman"',
        "unknown learner 'boltzman'; valid learners: the entry points of "
        "fairlead.learners (none installed); or a factory of yours, as "
        '"module:factory" or "file.py:factory" (relative to the method file)',
    ),
    "empty": ('learner = ""', "'learner' must be a non-empty string, got ''"),
    "not a string": ("learner = 3", "'learner' must be a non-empty string, got 3"),
    "not callable": (
        'learner = "bad.py:X"',
        "learner '{user}/bad.py:X' is not callable but 3; the learner protocol is factory(num_actions, config, rng)",
    ),
    "no update": (
        'learner = "bad.py:NoUpdate"',
        "built NoUpdate(), which does not define update, load_state_dict; the learner protocol is",
    ),
    "factory raises": (
        'learner = "bad.py:raises"',
        "learner '{user}/bad.py:raises' fails when built as factory(2, "
        "QConfig(), rng): RuntimeError: needs a GPU; the learner protocol",
    ),
    "a set": (
        'learner = "bad.py:with_a_set"',
        "learner '{user}/bad.py:with_a_set' cannot be checkpointed: its "
        "state_dict()['seen'] is of type set: a value must be a numpy array "
        "or JSON",
    ),
    "a tuple deep down": (
        'learner = "bad.py:with_a_tuple"',
        "its state_dict()['meta']['pairs'][1] is of type tuple (use a list)",
    ),
    "an int key": ('learner = "bad.py:with_an_int_key"', "its state_dict()['counts'] has a key 1 that is not a string"),
    "object array": ('learner = "bad.py:with_objects"', "its state_dict()['q'] is a numpy array of dtype object"),
    "reserved key": (
        'learner = "bad.py:with_index"',
        "state_dict() has the key 'index'; keys must be strings other than 'index'",
    ),
    "not a dict": ('learner = "bad.py:with_a_list"', "its state_dict() returned a list, not a dict"),
    "state raises": ('learner = "bad.py:state_raises"', "fails in state_dict(): KeyError"),
    "load fails": ('learner = "bad.py:load_fails"', "fails to load its own state_dict(): ValueError: wrong size"),
}
BAD_LEARNERS = """
import numpy as np

from learners import Boltzmann

X = 3


class NoUpdate:
    def __init__(self, *args):
        pass

    def __repr__(self):
        return "NoUpdate()"

    begin_episode = act = state_dict = lambda self, *args: {}


def raises(num_actions, config, rng):
    raise RuntimeError("needs a GPU")


class WithState(Boltzmann):
    extra = {}

    def state_dict(self):
        return {**super().state_dict(), **self.extra}


def with_state(**extra):
    return lambda *args: type("Odd", (WithState,), {"extra": extra})(*args)


with_a_set = with_state(seen={1, 2})
with_a_tuple = with_state(meta={"pairs": [[1, 2], (3, 4)]})
with_an_int_key = with_state(counts={1: 2})
with_objects = with_state(q=np.array([None, 1], dtype=object))
with_index = with_state(index=0)
with_a_list = lambda *args: type("L", (WithState,), {"state_dict": lambda self: [1]})(*args)
state_raises = lambda *args: type("S", (WithState,), {"state_dict": lambda self: {}["q"]})(*args)


def load_fails(*args):
    def load_state_dict(self, state):
        raise ValueError("wrong size")
    return type("F", (WithState,), {"load_state_dict": load_state_dict})(*args)
"""


@pytest.mark.parametrize("line, message", list(BAD.values()), ids=list(BAD))
def test_a_bad_user_learner_is_refused_with_the_method_file_path(tmp_path, user, monkeypatch, line, message):
    (user / "bad.py").write_text(BAD_LEARNERS)
    monkeypatch.syspath_prepend(user)  # bad.py imports learners.py
    (user / "m.toml").write_text(METHOD.format(selector="round_robin") + line + "\n")
    with pytest.raises(ValueError) as info:
        get_method(user / "m.toml")
    assert str(info.value).startswith(f"method file {user / 'm.toml'}: ")
    assert message.format(user=user) in str(info.value)


def test_a_bad_learner_stops_the_cli_before_anything_is_written(tmp_path, user, capsys):
    (user / "m.toml").write_text(METHOD.format(selector="round_robin") + 'learner = "learners.py:Nope"\n')
    assert (
        main(
            [
                "train",
                "--env",
                ENV,
                "--method",
                str(user / "m.toml"),
                "--seeds",
                "1",
                "--episodes",
                "5",
                "--out",
                str(tmp_path / "run"),
                "--no-progress",
            ]
        )
        == 2
    )
    assert (
        f"method file {user / 'm.toml'}: cannot import learner '{user / 'learners.py'}:Nope': AttributeError: "
        f"{user / 'learners.py'} has no attribute 'Nope'"
    ) in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_state_that_turns_unsaveable_in_training_is_refused_by_the_checkpoint(tmp_path, user):
    (user / "later.py").write_text(
        BOLTZMANN
        + """

class Later(Boltzmann):
    def state_dict(self):
        return {**super().state_dict(), "last": (1, 2)} if self.q else super().state_dict()
"""
    )
    (user / "later.toml").write_text(METHOD.format(selector="round_robin") + 'learner = "later.py:Later"\n')
    trainer = trained(user / "later.toml", episodes=1)  # fine at load time (empty table), not once it learned
    with pytest.raises(
        ValueError,
        match=r"cannot checkpoint the learner of player_0 in .*c\.npz: its "
        r"state_dict\(\)\['last'\] is of type tuple \(use a list\)",
    ):
        save_checkpoint(tmp_path / "c.npz", "abc", trainer.state_dict(), [])
    assert not (tmp_path / "c.npz").exists()


def test_an_entry_point_names_a_learner_factory(tmp_path, user, monkeypatch):
    package = f"fairlead_learners_{next(_modules)}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text(BOLTZMANN)
    monkeypatch.syspath_prepend(tmp_path)
    groups = {config.LEARNER_GROUP: {"softmax": f"{package}:boltzmann"}}
    monkeypatch.setattr(
        config, "entry_points", lambda group: [EntryPoint(n, v, group) for n, v in groups.get(group, {}).items()]
    )
    (user / "ep.toml").write_text(METHOD.format(selector="round_robin") + 'learner = "softmax"\n')
    method = get_method(user / "ep.toml")
    assert method.learner == "softmax" and method.source["learner"] == f"{package}:boltzmann"
    assert method.source["learner_file"] == str(tmp_path / package / "__init__.py")
    assert q_tables(trained(user / "ep.toml", episodes=10)) == q_tables(trained(user / "boltzmann.toml", episodes=10))
    (user / "typo.toml").write_text(METHOD.format(selector="round_robin") + 'learner = "sofmax"\n')
    with pytest.raises(
        ValueError,
        match=r"unknown learner 'sofmax' \(did you mean 'softmax'\?\); valid learners: "
        r"the entry points of fairlead.learners \(softmax\)",
    ):
        get_method(user / "typo.toml")
