"""The shared "unknown name" helper: suggestions ignore case and -/_, and every message lists the choices."""

from hypothesis import given
from hypothesis import strategies as st

from fairlead.names import did_you_mean, unknown_name

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=3, max_size=12)


@given(st.lists(NAMES, min_size=1, max_size=8, unique_by=lambda s: s.lower().replace("_", "-")), st.data())
def test_a_valid_name_in_another_case_suggests_itself(choices, data):
    name = data.draw(st.sampled_from(choices))
    assert did_you_mean(name.upper(), choices) == f" (did you mean {name!r}?)"


def test_examples_from_the_cli():
    assert did_you_mean("JAMQL", ["jamql", "fixed"]) == " (did you mean 'jamql'?)"
    assert did_you_mean("CHICKEN_2P", ["chicken-2p", "chicken-4p"]) == " (did you mean 'chicken-2p'?)"
    assert did_you_mean("zzzz", ["jamql", "fixed"]) == ""


def test_unknown_name_lists_the_choices():
    err = unknown_name("selector", "round-robin", ["fixed", "round_robin"])
    assert isinstance(err, ValueError)
    assert str(err) == (
        "unknown selector 'round-robin' (did you mean 'round_robin'?); valid selectors: fixed, round_robin"
    )
    assert str(unknown_name("rule", "x", ["a"], valid="or pass a callable")) == "unknown rule 'x'; or pass a callable"
