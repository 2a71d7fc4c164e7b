# One command to run the demo, one to run the tests; both build their own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-faults lint format docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# The fault suite (tests/faults, docs/reliability.md): a real prefork worker subprocess,
# broker outages, killed processes; on SQLite, then on a throwaway PostgreSQL cluster
# (needs the server binaries: apt-get install postgresql).
test-faults: $(STAMP)
	NOTIFY_TASKS_TEST_DB=sqlite $(BIN)/python -m pytest -m faults --durations=5 tests/faults
	NOTIFY_TASKS_TEST_DB=postgresql $(BIN)/python -m pytest -m faults --durations=5 tests/faults

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

demo: $(STAMP)
	$(BIN)/python example_project/run_demo.py

clean:
	rm -rf $(VENV) .tox dist build
