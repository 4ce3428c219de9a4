"""The tabular Q-learner: its update equation, exploration, masks and checkpoints; the learner protocol."""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairlead.trainers.qlearning import LEARNER_METHODS, Learner, QConfig, TabularQLearner, state_problem


def learner(seed=0, **cfg):
    return TabularQLearner(3, QConfig(**cfg), np.random.default_rng(seed))


def test_update_follows_the_q_learning_equation():
    q = learner(alpha=0.5, gamma=0.9)
    q.q[(1,)] = np.array([2.0, 4.0, 8.0])
    q.update((0,), 1, reward=1.0, next_state=(1,), next_mask=np.array([1, 1, 0]), done=False)
    # target = 1 + 0.9 * max over legal {2, 4} = 4.6; Q = 0 + 0.5 * (4.6 - 0)
    assert q.values((0,))[1] == pytest.approx(2.3)
    q.update((0,), 1, reward=1.0, next_state=(1,), next_mask=np.array([1, 1, 1]), done=True)
    # terminal: no bootstrap; Q = 2.3 + 0.5 * (1 - 2.3)
    assert q.values((0,))[1] == pytest.approx(1.65)


def test_greedy_ties_go_to_the_lowest_legal_action_and_do_not_grow_the_table():
    q = learner(epsilon_start=0.0, epsilon_end=0.0)
    assert q.act((5,), np.array([0, 1, 1]), explore=False) == 1
    assert q.act((5,), np.array([1, 1, 1]), explore=True) == 0
    assert q.q == {}
    with pytest.raises(ValueError):
        q.values((5,))[0] = 1.0  # unseen-state row is read-only


@settings(max_examples=50, deadline=None)
@given(mask=st.lists(st.booleans(), min_size=3, max_size=3).filter(any), seed=st.integers(0, 2**32 - 1))
def test_never_chooses_a_masked_action(mask, seed):
    q = learner(seed)
    q.q[(0,)] = np.array([9.0, 5.0, 7.0])
    mask = np.array(mask, dtype=np.int8)
    for explore in (True, False):
        for _ in range(20):
            assert mask[q.act((0,), mask, explore)]


def test_epsilon_schedule_is_linear_then_flat():
    cfg = QConfig(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_episodes=10)
    assert [round(cfg.epsilon(e), 6) for e in (0, 5, 10, 50)] == [1.0, 0.55, 0.1, 0.1]


def test_state_dict_round_trip_restores_table_and_generator():
    a = learner(seed=3)
    for s in range(5):
        a.update((s, 1), s % 3, float(s), (s + 1, 1), np.ones(3), done=False)
    a.rng.random()
    b = learner(seed=99)
    b.load_state_dict(a.state_dict())
    assert a.q.keys() == b.q.keys()
    assert all(np.array_equal(a.q[k], b.q[k]) for k in a.q)
    assert a.rng.random() == b.rng.random()


@pytest.mark.parametrize(
    "bad", [{"alpha": 0.0}, {"alpha": 1.5}, {"gamma": -0.1}, {"epsilon_end": 2.0}, {"epsilon_decay_episodes": 0}]
)
def test_bad_hyperparameters_are_named(bad):
    with pytest.raises(ValueError, match=list(bad)[0]):
        QConfig(**bad)


def test_the_tabular_learner_is_a_factory_of_the_learner_protocol_the_trainer_checks():
    protocol = {name for name, value in vars(Learner).items() if inspect.isfunction(value) and name[0] != "_"}
    assert set(LEARNER_METHODS) == protocol  # what a user learner is checked for is what the protocol says
    for name in protocol:
        expected = list(inspect.signature(getattr(Learner, name)).parameters)
        assert list(inspect.signature(getattr(TabularQLearner, name)).parameters) == expected, name
    assert list(inspect.signature(TabularQLearner).parameters) == ["num_actions", "config", "rng"]
    assert state_problem(learner().state_dict()) is None


def test_a_state_a_checkpoint_cannot_restore_is_named():
    assert state_problem({"a": np.zeros(2), "b": {"c": [1, 2.5, None, "x", True]}}) is None
    assert state_problem({"b": {"c": [1, {2}]}}) == (
        "state_dict()['b']['c'][1] is of type set: a value must be a numpy array or JSON "
        "(None, bool, int, float, str, list, dict)"
    )
    assert state_problem({"index": 1}).startswith("state_dict() has the key 'index'")
    assert state_problem({3: 1}).startswith("state_dict() has the key 3; keys must be strings")
    assert state_problem([1]) == "state_dict() returned a list, not a dict"
