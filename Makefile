# Shortcuts for the commands in README.md (each sets up .venv itself).
VENV := .venv

.PHONY: demo test test-slow lint bench cards docs

demo:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q ".[plot]" && $(VENV)/bin/fairlead demo

test:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e ".[test]" && $(VENV)/bin/pytest -q

test-slow:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e ".[test]" && $(VENV)/bin/pytest -q -m slow

# ruff (lint and format check), the import layers (lint-imports) and mypy, configured in pyproject.toml; CI runs it first
lint:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e ".[test]" && $(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports && $(VENV)/bin/mypy

bench:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e ".[test,bench]" && $(VENV)/bin/python benchmarks/bench_turns.py

cards:
	$(VENV)/bin/python tools/gen_env_cards.py

# The documentation site, into site/; warnings are errors.
docs:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e ".[docs]" && $(VENV)/bin/mkdocs build --strict --site-dir site
