"""Helpers of the integration tests: fairlead inside RLlib, Tianshou, TorchRL and SB3/SuperSuit.

(Not a ``conftest.py``: the suite's modules import ``tests/conftest.py`` as
``conftest``, and a second one here would shadow it.)

Every test module here is marked ``integration`` (``pytestmark``; the default
run excludes the marker), and every test skips with a clear reason when the
``integrations`` extra is not installed.
Run them with ``.ci/integrations`` or, in a venv with the extra::

    pytest -m integration tests/integrations -q
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXTRA_HINT = 'the integrations extra is not installed (pip install -e ".[integrations,test]", or run .ci/integrations)'


def require(*modules: str) -> None:
    """Skip the calling test (or fixture) unless every module imports."""
    for module in modules:
        pytest.importorskip(module, reason=f"{module} is missing: {EXTRA_HINT}")


def load_example(name: str):
    """Import ``examples/<name>.py`` as a module (the examples are scripts, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
