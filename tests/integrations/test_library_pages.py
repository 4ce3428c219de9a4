"""Every Python block of docs/libraries/*.md runs, with the libraries installed.

``tests/test_docs.py`` runs every docs block in the default suite, but skips
those marked ``<!-- docs-test: needs module, ... -->`` when a module is
missing, which is the case for the library pages outside the integrations
venv. This test runs them where the extra is installed: each page's Python
blocks in order, in one namespace per page, in a temporary directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from integration_support import require  # tests/integrations/integration_support.py

pytestmark = pytest.mark.integration

NEEDS = re.compile(r"<!--\s*docs-test:\s*needs\s+(?P<modules>[^>]*?)\s*-->\s*\n```python\n")
BLOCK = re.compile(r"(?P<marker><!--[^\n]*-->\s*\n)?```python\n(?P<code>.*?)\n```", re.S)


def python_blocks(page: Path) -> list[tuple[list[str], str]]:
    """(modules the block needs, code) for every ``python`` block of the page."""
    blocks = []
    for match in BLOCK.finditer(page.read_text()):
        marker = match.group("marker") or ""
        needs = NEEDS.match(marker + "```python\n")
        modules = [m.strip() for m in needs.group("modules").split(",")] if needs else []
        blocks.append((modules, match.group("code")))
    return blocks


# benchmarl.md's block needs BenchMARL, which has its own venv: tests/with_benchmarl runs it (.ci/benchmarl)
PAGES = [
    p
    for p in sorted((Path(__file__).resolve().parents[2] / "docs" / "libraries").glob("*.md"))
    if python_blocks(p) and p.name != "benchmarl.md"
]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_library_page_blocks_run(page, tmp_path, monkeypatch, capsys):
    blocks = python_blocks(page)
    for modules, _ in blocks:
        require(*modules)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for index, (_, code) in enumerate(blocks):
        exec(compile(code, f"{page.name} block {index + 1}", "exec"), namespace)
    capsys.readouterr()
