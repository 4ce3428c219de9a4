"""Every Python block of docs/mediator.md runs, in order, and prints what the page says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from conftest import API_TEST_WARNINGS

PAGE = Path(__file__).resolve().parents[1] / "docs" / "mediator.md"

pytestmark = pytest.mark.filterwarnings(*API_TEST_WARNINGS)


def test_mediator_page_runs():
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    assert len(blocks) >= 8
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(PAGE), "exec"), namespace)
    text = out.getvalue()
    assert "['player_2', 'player_0', 'player_2', 'player_0']" in text  # Alternate
    assert "['player_0', 'player_0', 'player_0', 'player_0']" in text  # FirstPlayer
    assert "player_2 {'player_0': 'player_2', 'player_1': 'player_2', 'player_2': 'player_1', " in text
    assert "[11  3  3  3  3  3  3  3  3]\n72171" in text
    assert "[0.09375, -0.09375, 0.25, 0.0]\n[-1. -1.  0.  0.]" in text  # the box encoding's floats
    for after in (
        "6.666666666666666, 'player_1': 4.666666666666666, 'player_2': 4.666666666666666}",
        "{'player_0': 6.0, 'player_1': 6.0, 'player_2': 4.0}",
    ):
        assert after in text  # the transfer rules' outcomes the page states
    assert "[7.0, 4.0] 0.75 0.75" in text
    assert namespace["steps"] == 12
