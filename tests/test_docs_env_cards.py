"""The committed docs are up to date: env cards match the docstrings; the protocol page names the protocol."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path

import pytest

import fairlead

REPO = Path(__file__).resolve().parents[1]
CARDS = REPO / "docs" / "envs"
PROTOCOL_PAGE = REPO / "docs" / "stackelberg-protocol.md"


def _load_tool():
    spec = importlib.util.spec_from_file_location("gen_env_cards", REPO / "tools" / "gen_env_cards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_tool()


def test_committed_cards_are_up_to_date(tmp_path):
    assert gen.main(["--out", str(tmp_path)]) == 0
    fresh = {p.name: p.read_text() for p in tmp_path.glob("*.md")}
    committed = {p.name: p.read_text() for p in CARDS.glob("*.md")}
    assert sorted(committed) == sorted(fresh), (
        "docs/envs/ does not hold one card per registered env: run `python tools/gen_env_cards.py`"
    )
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert stale == [], f"stale env cards {stale}: run `python tools/gen_env_cards.py`"
    assert gen.check_cards(CARDS) == []


def test_one_card_per_registered_env():
    files = gen.render_cards()
    assert set(files) == {f"{name}.md" for name in fairlead.list_envs()} | {"index.md"}
    index = files["index.md"]
    for name in fairlead.list_envs():
        card = files[f"{name}.md"]
        module = importlib.import_module(f"fairlead.envs.{name}")
        assert f"`{module.__name__}`" in card.splitlines()[0]  # says where it comes from
        assert re.search(r"^# \S", card, re.M), f"{name}: card needs a '# Title' line"
        for section in ("| Creation", "| Actions", "| Agents", "| Observation", "### Arguments", "### Version History"):
            assert section in card, f"{name}: card lacks {section!r}"
        assert f'fairlead.make("{name}"' in card
        assert f"fairlead/{name[:-3]}-v0" in card  # the PettingZoo registry id
        assert f"]({name}.md)" in index


@pytest.mark.parametrize("name", ["prisoners_dilemma_v0", "chicken_v0", "stag_hunt_v0", "battle_of_sexes_v0"])
def test_matrix_cards_cite_published_payoffs(name):
    card = gen.render_cards()[f"{name}.md"]
    assert re.search(r"(arXiv \d{4}\.\d{4,5}|\b(19|20)\d\d\b)", card), f"{name}: payoffs need a citation"
    assert "### Payoffs" in card


def test_changed_docstring_makes_check_fail(tmp_path, monkeypatch, capsys):
    gen.write_cards(tmp_path)
    assert gen.check_cards(tmp_path) == []
    module = importlib.import_module("fairlead.envs.chicken_v0")
    monkeypatch.setattr(module, "__doc__", module.__doc__ + "\nA new paragraph.\n")
    problems = gen.check_cards(tmp_path)
    assert problems == [f"out of date {tmp_path / 'chicken_v0.md'}"]
    assert gen.main(["--check", "--out", str(tmp_path)]) == 1
    assert "run `python tools/gen_env_cards.py`" in capsys.readouterr().out
    gen.write_cards(tmp_path)
    assert "A new paragraph." in (tmp_path / "chicken_v0.md").read_text()
    assert gen.main(["--check", "--out", str(tmp_path)]) == 0


def test_check_reports_missing_and_unregistered_cards(tmp_path):
    gen.write_cards(tmp_path)
    (tmp_path / "stag_hunt_v0.md").unlink()
    (tmp_path / "old_game_v0.md").write_text("# gone\n")
    problems = gen.check_cards(tmp_path)
    assert f"missing {tmp_path / 'stag_hunt_v0.md'}" in problems
    assert f"not a registered environment {tmp_path / 'old_game_v0.md'}" in problems
    gen.write_cards(tmp_path)  # regenerating removes the stale card and restores the missing one
    assert gen.check_cards(tmp_path) == []
    assert not (tmp_path / "old_game_v0.md").exists()


def test_module_without_docstring_is_an_error(monkeypatch):
    module = importlib.import_module("fairlead.envs.stag_hunt_v0")
    monkeypatch.setattr(module, "__doc__", None)
    with pytest.raises(ValueError, match="fairlead.envs.stag_hunt_v0 has no docstring"):
        gen.render_cards()


# ------------------------------------------------------------------ the protocol page
# (its code blocks run in tests/test_docs.py, with every other page's)
def test_protocol_page_names_every_protocol_attribute():
    """The docstring's list, the page's table and what mediate() requires are one and the same."""
    from fairlead.envs import stackelberg
    from fairlead.mediation.mediator import PROTOCOL

    listed = stackelberg.__doc__.split("Public protocol")[1]
    in_docstring = re.findall(r"^``(\w+)", listed, re.M)
    text = PROTOCOL_PAGE.read_text()
    table = text.split("## The public protocol")[1].split("\n\n```")[0]
    in_table = re.findall(r"^\| `(\w+)", table, re.M)
    assert sorted(in_docstring) == sorted(PROTOCOL), "stackelberg.py's docstring vs mediator.PROTOCOL"
    assert sorted(in_table) == sorted(PROTOCOL), "docs/stackelberg-protocol.md's table vs mediator.PROTOCOL"
    for hook in ("_play_stage", "stage_reward_range", "_reset_game", "_game_features", "_legal_actions"):
        assert hook in text and hook in stackelberg.__doc__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
