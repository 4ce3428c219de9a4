"""Packaging: no pygame at import or use, CI runs README's test command, pyproject's script and dependencies."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]

# Run first in the child interpreter: records every attempt to import pygame, whether
# or not pygame is installed and whether or not the importer catches the ImportError.
_SPY = """
import importlib.abc, json, sys

class _PygameSpy(importlib.abc.MetaPathFinder):
    attempts = []

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pygame":
            self.attempts.append(name)
        return None  # let the real finders do the import

sys.meta_path.insert(0, _PygameSpy())
"""
_REPORT = """
print(json.dumps({"attempts": _PygameSpy.attempts, "loaded": "pygame" in sys.modules}))
"""

_USE_EVERYTHING = """
import contextlib, io
import pettingzoo
import fairlead
import fairlead.cli
from fairlead import integrations
from fairlead.envs.parallel import PhaseParallelEnv

def play(env):
    env.reset(seed=0)
    for agent in env.agent_iter():
        obs, _, terminated, truncated, _ = env.last()
        env.step(None if terminated or truncated else env.action_space(agent).sample(obs["action_mask"]))
    env.render()
    env.close()

def play_parallel(par):
    obs, _ = par.reset(seed=0)
    while par.agents:
        obs, *_ = par.step({a: par.action_space(a).sample(obs[a]["action_mask"]) for a in par.agents})
    par.render()
    par.close()

for name in fairlead.list_envs():
    kw = {"render_mode": "ansi", **({"payoff": [[1, 0], [0, 1]]} if name == "matrix_game_v0" else {})}
    env_id = f"fairlead/{name.removesuffix('_v0')}-v0"
    play(fairlead.make(name, **kw))
    play_parallel(fairlead.make(name, parallel=True, **kw))
    play(pettingzoo.make("aec", env_id, **kw))
    play_parallel(pettingzoo.make("parallel", env_id, **kw))
    play(fairlead.mediate(fairlead.make(name, **kw), selector="catch_up", transfer=0.5))
    play(fairlead.mediate(fairlead.make(name, **kw), mediator_as_agent=True))
    play_parallel(PhaseParallelEnv(fairlead.mediate(fairlead.make(name, **kw))))
    play(integrations.ObservationKeyWrapper(fairlead.make(name, **kw)))
    box = {**kw, "obs_encoding": "box"}
    play_parallel(integrations.NumericInfoParallelEnv(fairlead.make(name, parallel=True, **box)))
    integrations.FlatBoxParallelEnv(fairlead.make(name, parallel=True, **box)).reset(seed=0)
with contextlib.redirect_stdout(io.StringIO()):
    assert fairlead.cli.main(["list"]) == 0
"""


def _pygame_imports(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; what it tried to import of pygame, and whether it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _SPY + textwrap.dedent(code) + _REPORT],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "PYGAME_HIDE_SUPPORT_PROMPT": "1"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_using_every_env_never_imports_pygame():
    assert _pygame_imports(_USE_EVERYTHING) == {"attempts": [], "loaded": False}


def test_pygame_spy_sees_an_indirect_import():
    """The check above can fail: PettingZoo's own rps_v2 imports pygame, and the spy sees it."""
    report = _pygame_imports("try:\n    from pettingzoo.classic import rps_v2\nexcept Exception:\n    pass\n")
    assert report["attempts"][:1] == ["pygame"]


# ----------------------------------------------------------------------- CI and README
def _readme_test_command() -> str:
    readme = (REPO / "README.md").read_text()
    section = re.search(r"^## The two commands\n(.*?)(?=^## )", readme, re.M | re.S)
    assert section, "README.md has no '## The two commands' section"
    blocks = re.findall(r"^```bash\n(.*?)^```", section.group(1), re.M | re.S)
    assert len(blocks) == 2, f"expected 2 bash blocks in 'The two commands', found {len(blocks)}"
    return blocks[1].strip()


def test_ci_runs_readme_test_command_verbatim():
    command = _readme_test_command()
    assert "\n" not in command and command.endswith("pytest -q"), command
    ci = REPO / ".ci" / "run"
    assert os.access(ci, os.X_OK), ".ci/run must be executable"
    lines = [line.strip() for line in ci.read_text().splitlines()]
    assert lines[0].startswith("#!") and "bash" in lines[0]
    assert "set -euo pipefail" in lines  # a failing command fails CI
    assert command in lines, f".ci/run does not run README's test command {command!r}"


# --------------------------------------------------------------------------- pyproject
def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_console_script_points_at_the_cli(capsys):
    target = _pyproject()["project"]["scripts"]["fairlead"]
    assert target == "fairlead.cli:main"
    module, _, attr = target.partition(":")
    main = getattr(__import__(module, fromlist=[attr]), attr)
    assert main(["list", "envs"]) == 0
    assert "chicken_v0" in capsys.readouterr().out


def test_core_dependencies():
    deps = {(r := Requirement(line)).name.lower(): r for line in _pyproject()["project"]["dependencies"]}
    assert {"pettingzoo", "gymnasium", "numpy", "supersuit"} <= set(deps)
    pz = deps["pettingzoo"].specifier
    assert pz.contains("1.27.0") and not pz.contains("1.26.1"), f"pettingzoo{pz} must mean >= 1.27"
    # the MARL libraries and pygame stay out of the core install
    assert not {"pygame", "torch", "ray", "tianshou", "torchrl", "stable-baselines3"} & set(deps)


def test_the_license_file_is_the_license_pyproject_names_and_the_citation_file_cites_paper_and_version():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert (REPO / "LICENSE").read_text().splitlines()[0] == f"{project['license']['text']} License"
    citation = (REPO / "CITATION.cff").read_text()
    assert re.search(rf'^version: "{re.escape(project["version"])}"$', citation, re.M)
    assert "arXiv:2508.02421" in citation and "Emergence of Fair Leaders via Mediators" in citation
    assert re.search(r"^license: MIT$", citation, re.M) and re.search(r"^cff-version: 1\.2\.0$", citation, re.M)


def test_an_env_user_imports_neither_the_mediator_nor_the_trainers():
    code = (
        "import sys, fairlead.envs.chicken_v0; "
        "print(sorted(m for m in sys.modules if m.startswith(('fairlead.mediation', 'fairlead.trainers', "
        "'fairlead.engine', 'fairlead.experiments'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
