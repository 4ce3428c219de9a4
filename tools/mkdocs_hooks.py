"""MkDocs hooks of the documentation site (listed under ``hooks:`` in mkdocs.yml).

GitHub-flavoured Markdown needs ``\\|`` for a pipe inside a table cell, even in
a code span (``| `|G_i - G_j\\|` |``), and shows ``|``; Python-Markdown keeps
the backslash inside code spans. This hook drops it, so tables read the same
on GitHub and on the site.
"""

from __future__ import annotations

import re

_CELL = re.compile(r"(<t[dh][^>]*>)(.*?)(</t[dh]>)", re.S)
_CODE = re.compile(r"(<code[^>]*>)(.*?)(</code>)", re.S)


def unescape_table_pipes(html: str) -> str:
    def cell(match: re.Match) -> str:
        code = _CODE.sub(lambda c: c[1] + c[2].replace("\\|", "|") + c[3], match[2])
        return match[1] + code + match[3]

    return _CELL.sub(cell, html)


def on_page_content(html: str, **kwargs) -> str:
    return unescape_table_pipes(html)
