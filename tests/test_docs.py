"""Every code block of the documentation runs: README.md and every page under docs/.

Each page's fenced code blocks run in order, in a fresh namespace per page,
with the working directory set to a new temporary directory per page (so a
``fairlead train`` block writes its run there and a later block can read it).

What happens to a block depends on its language (the fence's info string):

=====================  ==========================================================
``python``             executed (statement by statement; bare expressions' values
                       are recorded for the page-specific checks below)
``bash``/``sh``/       every command must be a plain ``fairlead ...`` command (no
``shell``              pipes, redirections, ``&&`` or variables); each runs through
                       ``fairlead.cli.main`` and must exit 0 (``--help`` included)
``toml``/``json``      parsed
no language, ``text``  not code (formulas, printed output): counted, not run
anything else          an error, unless marked
=====================  ==========================================================

Markers: an HTML comment on the line right before the opening fence (invisible
on GitHub and on the site) changes what happens to that one block:

``<!-- docs-test: skip (reason) -->``
    not run; the reason is required. Each skipped block is reported as a
    skipped test (``pytest -ra`` lists them with their reasons).
``<!-- docs-test: needs module[, module...] -->``
    run only when every module imports (an optional extra); otherwise
    reported as skipped, like ``skip``.
``<!-- docs-test: shrink --option value ... -->``
    shell blocks: every ``fairlead train`` command runs with these options
    replacing (or added to) its own, e.g. ``--seeds 2 --episodes 20``, so the
    page can show a real budget while the test trains a tiny one.
``<!-- docs-test: file PATH -->``
    the block's text is written to ``PATH`` in the page's working directory
    (``toml``/``json`` are parsed first), for a later command to read.
``<!-- docs-test: signature -->``
    a ``python`` block of API signatures: import lines are executed, every
    other statement ``name(params) -> annotation`` must match
    ``inspect.signature(name)`` (names, kinds, defaults, return annotation).

The env cards (``docs/envs/``, generated from docstrings, so they carry no
markers) hold one ``python`` block ``<env>.env(...)`` under "Arguments": it is
checked as a signature, against the module's ``raw_env`` (``env(**kwargs)``
forwards to it, which is checked too).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import importlib
import importlib.util
import inspect
import io
import json
import math
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import API_TEST_WARNINGS

import fairlead
from fairlead.cli import build_parser
from fairlead.cli import main as cli_main

pytestmark = pytest.mark.filterwarnings(*API_TEST_WARNINGS)

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
MKDOCS = REPO / "mkdocs.yml"

PYTHON = {"python", "py"}
SHELL = {"bash", "sh", "shell"}
DATA = {"toml", "json"}
TEXT = {"", "text", "txt", "plaintext", "output"}
VERBS = {"skip", "needs", "shrink", "file", "signature"}
SHELL_OPERATORS = set("|&;<>()")

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*?)\s*$")
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<verb>\S+)\s*(?P<arg>.*?)\s*-->\s*$")


def doc_pages() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def rel(path: Path) -> str:
    try:
        return path.relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


# ------------------------------------------------------------------ parsing
@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    verb: str | None = None  # marker
    arg: str = ""

    @property
    def where(self) -> str:
        return f"{rel(self.page)}:{self.line}"


def parse_blocks(text: str, page: Path) -> tuple[list[Block], list[str]]:
    """The fenced code blocks of a Markdown text, and the problems with its markers."""
    lines = text.splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    used_markers: set[int] = set()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        info = opening["info"]
        lang = info.split()[0].strip("{}.").lower() if info else ""
        body, j = [], i + 1
        while j < len(lines):
            closing = re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j])
            if closing:
                break
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j].lstrip())
            j += 1
        else:
            problems.append(f"{rel(page)}:{i + 1}: code block is never closed")
        block = Block(page, i + 1, lang, "\n".join(body) + "\n")
        if i > 0 and (marker := MARKER.match(lines[i - 1])):
            block.verb, block.arg = marker["verb"], marker["arg"]
            used_markers.add(i - 1)
            problems += _marker_problems(block)
        blocks.append(block)
        i = j + 1
    for n, line in enumerate(lines):
        if re.match(r"\s*<!--.*docs-test", line) and n not in used_markers and not _inside(blocks, n + 1):
            problems.append(
                f"{rel(page)}:{n + 1}: docs-test marker {line.strip()!r} is malformed or not on the line "
                "right before a code fence"
            )
    return blocks, problems


def _inside(blocks: list[Block], line: int) -> bool:
    return any(b.line < line <= b.line + b.code.count("\n") + 1 for b in blocks)


def _marker_problems(block: Block) -> list[str]:
    where, verb, arg = block.where, block.verb, block.arg
    if verb not in VERBS:
        return [f"{where}: unknown docs-test marker {verb!r}; valid: {', '.join(sorted(VERBS))}"]
    if verb == "skip" and not re.fullmatch(r"\(\s*\S.*\)", arg):
        return [f"{where}: a skip marker needs a reason: <!-- docs-test: skip (why) -->"]
    if verb == "needs" and not all(re.fullmatch(r"[\w.]+", m.strip()) for m in arg.split(",")):
        return [f"{where}: 'needs' takes comma-separated module names, got {arg!r}"]
    if verb == "shrink" and (block.lang not in SHELL or not arg.startswith("--")):
        return [f"{where}: 'shrink' goes on a shell block and takes options, e.g. shrink --seeds 2 --episodes 20"]
    if verb == "file" and (not arg or block.lang in PYTHON | SHELL):
        return [f"{where}: 'file PATH' goes on a data or text block and needs a path"]
    if verb == "signature" and block.lang not in PYTHON:
        return [f"{where}: 'signature' goes on a python block"]
    return []


def is_env_card_signature(block: Block) -> bool:
    """An env card's "Arguments" block: exactly one call ``<registered env>.env(...)``."""
    if DOCS / "envs" not in block.page.parents or block.lang not in PYTHON:
        return False
    try:
        tree = ast.parse(block.code)
    except SyntaxError:
        return False
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return False
    call = tree.body[0].value
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id in fairlead.list_envs()
        and call.func.attr == "env"
    )


def plan(block: Block) -> tuple[str, str]:
    """(kind, detail): what the test does with the block. Kinds: run, shrunk, signature, data, text, skipped."""
    if block.verb == "skip":
        return "skipped", block.arg.strip()[1:-1].strip()
    if block.verb == "needs":
        missing = [m.strip() for m in block.arg.split(",") if importlib.util.find_spec(m.strip().split(".")[0]) is None]
        if missing:
            return "skipped", f"needs {', '.join(missing)} (not installed)"
    if block.verb == "signature" or is_env_card_signature(block):
        return "signature", ""
    if block.verb == "file":
        return "data", f"written to {block.arg}"
    if block.lang in PYTHON:
        return "run", ""
    if block.lang in SHELL:
        return ("shrunk", block.arg) if block.verb == "shrink" else ("run", "")
    if block.lang in DATA:
        return "data", "parsed"
    if block.lang in TEXT:
        return "text", ""
    raise DocBlockError(
        f"{block.where}: no rule to test a {block.lang!r} block; mark it <!-- docs-test: skip (reason) --> "
        "or use a language the test knows (python, bash, toml, json, text)"
    )


# ------------------------------------------------------------------ running
class DocBlockError(AssertionError):
    pass


@dataclass
class PageRun:
    page: Path
    workdir: Path
    outcomes: list[tuple[Block, str, str]] = field(default_factory=list)
    namespace: dict = field(default_factory=dict)
    values: list[tuple[int, object]] = field(default_factory=list)  # (page line, value) of bare expressions
    stdout: str = ""

    def count(self, *kinds: str) -> int:
        return sum(kind in kinds for _, kind, _ in self.outcomes)


def run_page(page: Path, workdir: Path) -> PageRun:
    blocks, problems = parse_blocks(page.read_text(), page)
    if problems:
        raise DocBlockError("\n".join(problems))
    result = PageRun(page, workdir, namespace={"__name__": "__docs__"})
    out = io.StringIO()
    with contextlib.chdir(workdir), contextlib.redirect_stdout(out):
        try:
            for block in blocks:
                kind, detail = plan(block)
                result.outcomes.append((block, kind, detail))
                if kind in ("skipped", "text"):
                    continue
                try:
                    if kind == "signature":
                        check_signatures(block, result.namespace)
                    elif kind == "data":
                        write_data(block)
                    elif block.lang in PYTHON:
                        run_python(block, result.namespace, result.values)
                    else:
                        run_shell(block)
                except DocBlockError:
                    raise
                except Exception as err:
                    raise DocBlockError(
                        f"{block.where}: {block.lang} block fails with {type(err).__name__}: {err}\n"
                        f"--- block ---\n{block.code}---"
                    ) from err
        finally:
            result.stdout = out.getvalue()
    return result


def run_python(block: Block, namespace: dict, values: list) -> None:
    tree = ast.parse(block.code, str(block.page))
    ast.increment_lineno(tree, block.line)  # tracebacks cite the page's own line numbers
    for node in tree.body:
        if isinstance(node, ast.Expr):
            values.append((node.lineno, eval(compile(ast.Expression(node.value), str(block.page), "eval"), namespace)))
        else:
            exec(compile(ast.Module([node], []), str(block.page), "exec"), namespace)


def shell_commands(code: str) -> list[list[str]]:
    """The commands of a shell block, one argv per logical line (backslash continuations joined)."""
    commands = []
    for line in re.sub(r"\\\n", " ", code).splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        argv = list(lexer)
        if not argv:
            continue
        if any(set(token) <= SHELL_OPERATORS for token in argv) or any("$" in t or "`" in t for t in argv):
            raise ValueError(f"{line.strip()!r} uses shell syntax; only plain `fairlead ...` commands run")
        if argv[0] != "fairlead":
            raise ValueError(f"{line.strip()!r} is not a `fairlead` command")
        commands.append(argv)
    return commands


def shrink(argv: list[str], overrides: str) -> list[str]:
    """``argv`` of a ``fairlead train`` or ``sweep`` command with the options of ``overrides`` replacing its own."""
    if argv[1:2] not in (["train"], ["sweep"]):
        return argv
    argv = [part for token in argv for part in (token.split("=", 1) if token.startswith("--") else [token])]
    tokens = shlex.split(overrides)
    i = 0
    while i < len(tokens):
        option = tokens[i]
        value = tokens[i + 1] if i + 1 < len(tokens) and not tokens[i + 1].startswith("--") else None
        i += 2 if value is not None else 1
        if option in argv:
            if value is not None:
                argv[argv.index(option) + 1] = value
        else:
            argv += [option] + ([value] if value is not None else [])
    return argv


def run_fairlead(argv: list[str]) -> tuple[int, str]:
    """Run ``fairlead ARGS`` in-process; (exit status, stderr). stdout goes to the current sys.stdout."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            status = cli_main(argv[1:])
        except SystemExit as exit_:  # --help, and argparse's own errors
            status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return status, err.getvalue()


def run_shell(block: Block) -> None:
    commands = shell_commands(block.code)
    if block.verb == "shrink":
        if not any(argv[1:2] in (["train"], ["sweep"]) for argv in commands):
            raise DocBlockError(f"{block.where}: a shrink marker on a block without `fairlead train` or `sweep`")
        commands = [shrink(argv, block.arg) for argv in commands]
    for argv in commands:
        status, stderr = run_fairlead(argv)
        if status != 0:
            raise DocBlockError(f"{block.where}: `{shlex.join(argv)}` exits with {status}:\n{stderr}")


def write_data(block: Block) -> None:
    if block.lang == "toml":
        tomllib.loads(block.code)
    elif block.lang == "json":
        json.loads(block.code)
    if block.verb == "file":
        path = Path(block.arg)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.code)


# ------------------------------------------------------------------ signatures
def _statements(code: str) -> list[str]:
    """Logical statements of a signature block: comments dropped, bracketed continuations joined."""
    statements, current, depth = [], [], 0
    for line in code.splitlines():
        line = _drop_comment(line)
        if not line.strip() and depth == 0:
            continue
        current.append(line.strip())
        depth += line.count("(") + line.count("[") - line.count(")") - line.count("]")
        if depth == 0:
            statements.append(" ".join(current))
            current = []
    if current:
        raise ValueError(f"unbalanced brackets in {' '.join(current)!r}")
    return statements


def _drop_comment(line: str) -> str:
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#":
            return line[:i].rstrip()
    return line


def _documented_parameters(params: list[ast.arg], defaults: list, kind, namespace) -> list[tuple]:
    padded = [None] * (len(params) - len(defaults)) + list(defaults)
    return [
        (p.arg, kind, inspect.Parameter.empty if d is None else eval(ast.unparse(d), namespace))
        for p, d in zip(params, padded, strict=True)
    ]


def check_signatures(block: Block, namespace: dict) -> None:
    checked = 0
    for statement in _statements(block.code):
        if statement.startswith(("import ", "from ")):
            exec(statement, namespace)
            continue
        match = re.fullmatch(r"([\w.]+)\((.*)\)\s*(?:->\s*(.+))?", statement)
        if not match:
            raise DocBlockError(f"{block.where}: {statement!r} is not a signature `name(params) -> annotation`")
        name, params, returns = match.groups()
        arguments = ast.parse(f"def _f({params}): pass").body[0].args
        P = inspect.Parameter
        documented = [
            *_documented_parameters(arguments.posonlyargs, [], P.POSITIONAL_ONLY, namespace),
            *_documented_parameters(arguments.args, arguments.defaults, P.POSITIONAL_OR_KEYWORD, namespace),
            *([(arguments.vararg.arg, P.VAR_POSITIONAL, P.empty)] if arguments.vararg else []),
            *_documented_parameters(
                arguments.kwonlyargs, [d for d in arguments.kw_defaults], P.KEYWORD_ONLY, namespace
            ),
            *([(arguments.kwarg.arg, P.VAR_KEYWORD, P.empty)] if arguments.kwarg else []),
        ]
        target = _signature_target(name, namespace)
        signature = inspect.signature(target)
        actual = [(p.name, p.kind, p.default) for p in signature.parameters.values()]
        if documented != actual:
            raise DocBlockError(
                f"{block.where}: documented signature of {name} differs from the code\n"
                f"  documented: ({params})\n  code:       {signature}"
            )
        if returns is not None:
            annotation = signature.return_annotation
            code_returns = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
            if returns.replace(" ", "") != code_returns.replace(" ", ""):
                raise DocBlockError(f"{block.where}: {name} returns {code_returns!r} in the code, not {returns!r}")
        checked += 1
    if not checked:
        raise DocBlockError(f"{block.where}: a signature block without any signature")


def _signature_target(name: str, namespace: dict):
    """The callable a documented name stands for. ``<env>.env`` forwards ``**kwargs`` to ``<env>.raw_env``."""
    head, _, attr = name.rpartition(".")
    if head in fairlead.list_envs() and head not in namespace and attr == "env":
        module = importlib.import_module(f"fairlead.envs.{head}")
        parameters = inspect.signature(module.raw_env).parameters.values()
        if all(p.default is not inspect.Parameter.empty for p in parameters):
            assert type(module.env().unwrapped) is module.raw_env  # env() really builds raw_env
        return module.raw_env
    return eval(name, namespace)


# ------------------------------------------------------------------ running every page
PAGES = doc_pages()


@pytest.fixture(scope="module")
def page_run(tmp_path_factory):
    """``page_run(page)``: the page's blocks run once per test session; later calls reuse the result."""
    runs: dict[Path, PageRun | BaseException] = {}

    def get(page: Path) -> PageRun:
        if page not in runs:
            workdir = tmp_path_factory.mktemp(re.sub(r"\W+", "-", rel(page)))
            try:
                runs[page] = run_page(page, workdir)
            except DocBlockError as err:
                runs[page] = err
        result = runs[page]
        if isinstance(result, BaseException):
            raise DocBlockError(f"{rel(page)} has a failing block:\n{result}") from result
        return result

    return get


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_page_code_blocks_run(page, page_run):
    run = page_run(page)
    blocks, _ = parse_blocks(page.read_text(), page)
    assert len(run.outcomes) == len(blocks)  # every block got a verdict: none silently ignored


def _skipped_blocks() -> list[tuple[Block, str]]:
    skipped = []
    for page in PAGES:
        blocks, _ = parse_blocks(page.read_text(), page)
        for block in blocks:
            try:
                kind, detail = plan(block)
            except DocBlockError:
                continue  # reported by test_page_code_blocks_run
            if kind == "skipped":
                skipped.append((block, detail))
    return skipped


@pytest.mark.parametrize("block, reason", _skipped_blocks(), ids=lambda x: x.where if isinstance(x, Block) else "")
def test_skipped_block(block, reason):
    """One skipped test per block that does not run, so `pytest -ra` lists each with its reason."""
    pytest.skip(f"{block.where} ({block.lang}): {reason}")


def test_block_counts(page_run):
    """Every code block of the docs is run or checked, except the few marked ones."""
    runs = [page_run(page) for page in PAGES]
    total = sum(len(r.outcomes) for r in runs)
    counted = {
        kind: sum(r.count(kind) for r in runs) for kind in ("run", "shrunk", "signature", "data", "text", "skipped")
    }
    assert sum(counted.values()) == total
    python_run = sum(1 for r in runs for b, kind, _ in r.outcomes if kind == "run" and b.lang in PYTHON)
    shell_run = sum(1 for r in runs for b, kind, _ in r.outcomes if kind in ("run", "shrunk") and b.lang in SHELL)
    assert python_run >= 20 and shell_run >= 5, counted
    assert counted["signature"] >= len(fairlead.list_envs())  # one per env card at least
    marked_skip = sum(1 for r in runs for b, _, _ in r.outcomes if b.verb == "skip")  # not `needs`: extras
    assert marked_skip <= 0.2 * (total - counted["text"]), f"too many blocks marked skip: {counted}"


# ------------------------------------------------------------------ the harness itself
def _run_text(tmp_path, text: str, name: str = "page.md") -> PageRun:
    page = tmp_path / name
    page.write_text(text)
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    return run_page(page, workdir)


def test_python_blocks_share_one_namespace_per_page_and_run_in_a_temporary_directory(tmp_path):
    run = _run_text(tmp_path, "```python\nimport os\nx = 2\n```\n\ntext\n\n```python\nx * 21\nos.getcwd()\n```\n")
    assert [v for _, v in run.values] == [42, str(tmp_path / "work")]
    assert [line for line, _ in run.values] == [9, 10]  # page line numbers
    other = _run_text(tmp_path, "```python\nprint('x' in dir())\n```\n", "other.md")
    assert other.stdout == "False\n"  # a fresh namespace per page


def test_a_failing_block_names_its_page_and_line(tmp_path):
    with pytest.raises(DocBlockError, match=r"page\.md:5: python block fails with ZeroDivisionError"):
        _run_text(tmp_path, "# T\n\nText.\n\n```python\n1 / 0\n```\n")


def test_unmarked_commands_that_cannot_run_are_errors(tmp_path):
    with pytest.raises(DocBlockError, match="is not a `fairlead` command"):
        _run_text(tmp_path, "```bash\npip install fairlead\n```\n")
    with pytest.raises(DocBlockError, match="uses shell syntax"):
        _run_text(tmp_path, "```bash\nfairlead list | head\n```\n")
    with pytest.raises(DocBlockError, match="no rule to test a 'yaml' block"):
        _run_text(tmp_path, "```yaml\na: 1\n```\n")
    with pytest.raises(DocBlockError, match="`fairlead list nonsense` exits with 2"):
        _run_text(tmp_path, "```bash\nfairlead list nonsense\n```\n")


def test_markers(tmp_path):
    run = _run_text(
        tmp_path,
        (
            "<!-- docs-test: skip (installs the package) -->\n```bash\npip install fairlead\n```\n"
            "<!-- docs-test: needs no_such_module_xyz, json -->\n```python\nimport no_such_module_xyz\n```\n"
            "<!-- docs-test: needs json -->\n```python\nimport json\nvalue = json.dumps([1])\n```\n"
            "<!-- docs-test: file conf/x.toml -->\n```toml\n[training]\nepisodes = 3\n```\n"
            "```python\nopen('conf/x.toml').read()\n```\n"
            "```\nnot code\n```\n"
        ),
    )
    assert [(kind, detail) for _, kind, detail in run.outcomes] == [
        ("skipped", "installs the package"),
        ("skipped", "needs no_such_module_xyz (not installed)"),
        ("run", ""),
        ("data", "written to conf/x.toml"),
        ("run", ""),
        ("text", ""),
    ]
    assert run.namespace["value"] == "[1]"
    assert run.values[-1][1] == "[training]\nepisodes = 3\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("<!-- docs-test: skip -->\n```bash\nx\n```\n", "needs a reason"),
        ("<!-- docs-test: skipp (typo) -->\n```bash\nx\n```\n", "unknown docs-test marker 'skipp'"),
        ("<!-- docs-test: skip (why) -->\n\n```bash\nx\n```\n", "not on the line right before a code fence"),
        ("<!-- docs-test: shrink --seeds 1 -->\n```python\nx\n```\n", "'shrink' goes on a shell block"),
        ("```python\nx = 1\n", "never closed"),
    ],
)
def test_malformed_markers_are_errors(tmp_path, text, message):
    with pytest.raises(DocBlockError, match=message):
        _run_text(tmp_path, text)


def test_shrink_replaces_and_adds_train_options():
    argv = ["fairlead", "train", "--env", "chicken-4p", "--seeds=10", "--out", "runs/x"]
    assert shrink(argv, "--seeds 2 --episodes 20 --no-progress") == [
        "fairlead",
        "train",
        "--env",
        "chicken-4p",
        "--seeds",
        "2",
        "--out",
        "runs/x",
        "--episodes",
        "20",
        "--no-progress",
    ]
    assert shrink(["fairlead", "eval", "runs/x"], "--seeds 2") == ["fairlead", "eval", "runs/x"]


def test_shrunk_train_and_eval_run_in_the_page_directory(tmp_path):
    run = _run_text(
        tmp_path,
        (
            "<!-- docs-test: shrink --seeds 1 --episodes 3 --jobs 1 --no-progress -->\n"
            "```bash\nfairlead train --env chicken_v0 --max-cycles 2 --method fixed \\\n    --seeds 50 --out runs/a\n"
            "fairlead eval runs/a --episodes 2   # greedy re-evaluation\n```\n"
        ),
    )
    assert (tmp_path / "work" / "runs" / "a" / "eval.csv").exists()
    assert "| fixed | 1 |" in run.stdout
    assert run.outcomes[0][1:] == ("shrunk", "--seeds 1 --episodes 3 --jobs 1 --no-progress")


def test_signature_blocks_are_compared_with_the_code(tmp_path):
    ok = (
        "<!-- docs-test: signature -->\n```python\nfrom fairlead.fairness import fairness, DEFAULT_METRIC\n"
        "fairness(returns, metric=DEFAULT_METRIC, *, scale=None, **params) -> float\n```\n"
    )
    assert _run_text(tmp_path, ok).outcomes[0][1] == "signature"
    for old, new, message in [
        ("scale=None", "scale=1.0", "differs from the code"),
        ("*, scale", "scale", "differs from the code"),
        ("-> float", "-> int", "returns 'float' in the code"),
    ]:
        with pytest.raises(DocBlockError, match=message):
            _run_text(tmp_path, ok.replace(old, new))
    card = (
        "chicken_v0.env(n_agents=2, max_cycles=10, stage_feature='index', obs_encoding='discrete',\n"
        "    leader='player_0', render_mode=None)\n"
    )
    block = Block(DOCS / "envs" / "chicken_v0.md", 36, "python", card)  # an env card's Arguments block
    assert plan(block) == ("signature", "")
    check_signatures(block, {})
    block.code = card.replace("max_cycles=10", "max_cycles=5")
    with pytest.raises(DocBlockError, match="differs from the code"):
        check_signatures(block, {})
    assert plan(Block(DOCS / "quickstart.md", 1, "python", card)) == ("run", "")  # only on env cards


# ------------------------------------------------------------------ what the pages show
def _values(run: PageRun) -> list:
    return [v for _, v in run.values if v is not None]


def test_protocol_page_prints_what_it_says(page_run):
    run = page_run(DOCS / "stackelberg-protocol.md")
    assert run.count("run") >= 7
    printed = run.stdout
    assert "[0 0 0]" in printed and "[1 1 0]" in printed  # the observations the page shows
    assert "[1, 1, 0]" in printed
    assert "\n4\n" in printed  # parallel view: 2 steps per stage * 2 stages
    assert "['player_0']" in printed
    # the coordination example is a real, working stage game
    meet = run.namespace["env"](n_agents=3, max_cycles=1)
    meet.reset()
    for action in (1, 1, 0):
        meet.step(action)
    assert meet.unwrapped.last_stage.rewards == {"player_0": 0.5, "player_1": 1.0, "player_2": 0.0}
    assert meet.unwrapped.return_scale == 1.0


def test_fairness_page_values_are_the_stated_ones(page_run):
    run = page_run(DOCS / "fairness.md")
    assert run.namespace["scale"] == 40.0
    values = _values(run)
    assert values[:4] == [0.75, pytest.approx(0.8), 2.0, 6.0]
    stated = {"pairwise_equality": 0.75, "cv": 5.0, "max_min_gap": 10.0, "mean_abs_difference": 10.0, "ggf": -1.0}
    metrics = values[4]
    assert {k: v for k, v in metrics.items() if not math.isnan(v)} == pytest.approx(stated)
    assert {k for k, v in metrics.items() if math.isnan(v)} == {"equality", "jain", "min_max_ratio", "alpha_fair"}


def test_readme_quick_start(page_run):
    run = page_run(REPO / "README.md")
    info = run.namespace["info"]
    before, after = info["returns_before_transfer"], info["returns_after_transfer"]
    assert sum(after.values()) == pytest.approx(sum(before.values()))  # the transfer is zero-sum
    assert run.count("shrunk") == 1 and (run.workdir / "runs" / "chicken4" / "eval.csv").exists()


def test_home_page_example(page_run):
    run = page_run(DOCS / "index.md")
    assert len(run.namespace["returns"]) == 3
    assert 0.0 <= float(run.stdout.split()[-1]) <= 1.0  # the printed fairness


def test_quickstart_page(page_run):
    run = page_run(DOCS / "quickstart.md")
    ns = run.namespace
    assert set(ns["returns"]) == {"player_0", "player_1"}
    assert 0.0 <= ns["score"] <= 1.0
    assert ns["score"] == fairlead.fairness.fairness(list(ns["before"].values()), scale=5 * (4 - 0))  # 5 stages
    assert set(ns["by_method"]) == {"jamql", "fixed", "catch-up"}
    assert "fairness metrics (default: pairwise_equality)" in run.stdout


# ------------------------------------------------------------------ the command-line page
def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_cli_page_documents_every_command_and_option():
    text = (DOCS / "cli.md").read_text()
    parser = build_parser()
    # options on lines of other programs (Ray's CLI, Slurm directives) are theirs, not fairlead's
    ours = "\n".join(line for line in text.splitlines() if not re.match(r"\s*(ray|#SBATCH|sbatch|srun)\b", line))
    documented = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", ours))
    known = {"--help"}
    for name, sub in _subcommands(parser).items():
        assert re.search(rf"^## `fairlead {name}", text, re.M), f"cli.md: no section for `fairlead {name}`"
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if action.option_strings:
                option = action.option_strings[-1]
                known.add(option)
                assert option in text, f"cli.md does not document `fairlead {name} {option}`"
                rows = [row for row in text.splitlines() if row.startswith(f"| `{option}")]
                assert rows, f"cli.md: {option} needs a row in the options table of `fairlead {name}`"
                if action.default not in (None, False):
                    assert any(f"`{action.default}`" in row for row in rows), (
                        f"cli.md: the row of {option} must give its default `{action.default}`"
                    )
            else:
                assert action.dest.upper() in text, f"cli.md does not document `fairlead {name} {action.dest.upper()}`"
                for choice in action.choices or ():
                    assert f"`{choice}`" in text, f"cli.md does not list `{choice}` for `fairlead {name}`"
    stale = documented - known
    assert not stale, f"cli.md documents options that `fairlead` does not have: {sorted(stale)}"


def test_cli_page_runs_every_command(page_run):
    run = page_run(DOCS / "cli.md")
    commands = [shell_commands(b.code) for b, kind, _ in run.outcomes if b.lang in SHELL and kind in ("run", "shrunk")]
    ran = {argv[1] for block in commands for argv in block}
    assert ran >= set(_subcommands(build_parser())) - {"demo"}
    options = {token for block in commands for argv in block for token in argv if token.startswith("--")}
    assert {"--config", "--resume", "--n-agents", "--max-cycles", "--jobs", "--episodes"} <= options
    with (run.workdir / "runs" / "quick" / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["method"] for r in rows} == {"jamql", "catch-up"} and len(rows) == 4


# ------------------------------------------------------------------ links and the site's nav
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """The text without fenced blocks and inline code."""
    text = re.sub(r"^(\s*)(`{3,}|~{3,}).*?^\1\2\s*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_relative_links_point_to_existing_files(page):
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL, or an anchor on the same page
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{rel(page)}: broken link {target}"
        if DOCS in page.parents:
            assert DOCS in path.parents, f"{rel(page)}: {target} is outside docs/, so the site cannot serve it"


def test_link_check_catches_a_broken_link(tmp_path):
    assert LINK.findall(_prose('[a](x.md) `[b](y.md)` ![img](i.png) [c](d/e.md#top "t")\n```\n[f](g.md)\n```\n')) == [
        "x.md",
        "d/e.md#top",
    ]


def test_every_page_is_in_the_site_nav():
    """mkdocs.yml lists every page (a new env card or library page needs a nav entry) and nothing else."""
    nav = set(re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w./-]+\.md)\s*$", MKDOCS.read_text(), re.M))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages - nav == set(), "pages missing from the nav in mkdocs.yml"
    assert nav - pages == set(), "nav entries in mkdocs.yml without a page"


def test_site_hook_shows_pipes_in_table_code_as_github_does():
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", REPO / "tools" / "mkdocs_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    html = '<table><tr><td>a \\| b <code>\\|G\\|</code></td></tr></table><p><code class="x">c \\| d</code></p>'
    assert hooks.on_page_content(html) == (
        '<table><tr><td>a \\| b <code>|G|</code></td></tr></table><p><code class="x">c \\| d</code></p>'
    )
    assert "- tools/mkdocs_hooks.py" in MKDOCS.read_text()  # the site uses it
