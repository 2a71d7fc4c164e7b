# One command to run the demo, one to run the tests; both build their own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BROWSER_STAMP := $(VENV)/.installed-browser
MARIADB_STAMP := $(VENV)/.installed-mariadb
# The benchmarks' own virtualenv: the peers they compare against stay out of $(VENV).
BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCHMARKS ?= email_throughput worker_memory request_path first_message realtime_fanout reports rendering
# Debian's package; Playwright drives it instead of downloading a browser of its own.
CHROMIUM ?= /usr/bin/chromium
# The real Centrifugo server for the realtime tests and the demo, built from its Go module
# into a cache directory git ignores (docs/realtime.md: build time, disk use, other ways).
CENTRIFUGO_VERSION := v6.9.1
CENTRIFUGO_DIR := $(CURDIR)/.cache/centrifugo
CENTRIFUGO := $(CENTRIFUGO_DIR)/centrifugo
# go install leaves the version at 0.0.0; the release builds stamp it the same way.
CENTRIFUGO_LDFLAGS := -X github.com/centrifugal/centrifugo/v6/internal/build.Version=$(patsubst v%,%,$(CENTRIFUGO_VERSION))

.PHONY: demo test test-faults test-browser bench soak lint format docs clean centrifugo release-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[beat]' --group dev
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# A no-op when the binary is there and reports the pinned version.
centrifugo:
	@if [ -x $(CENTRIFUGO) ] && $(CENTRIFUGO) version 2>/dev/null | grep -q '$(patsubst v%,%,$(CENTRIFUGO_VERSION))'; then \
		echo "centrifugo $(CENTRIFUGO_VERSION) is already built: $(CENTRIFUGO)"; \
	elif ! command -v go >/dev/null; then \
		echo "No 'go' on PATH, so Centrifugo $(CENTRIFUGO_VERSION) cannot be built here. Either install Go 1.26+"; \
		echo "(https://go.dev/dl/) and run 'make centrifugo' again, or download a release binary from"; \
		echo "https://github.com/centrifugal/centrifugo/releases/tag/$(CENTRIFUGO_VERSION) and put it at $(CENTRIFUGO)."; \
		exit 1; \
	else \
		echo "Building centrifugo $(CENTRIFUGO_VERSION) into $(CENTRIFUGO_DIR) (first build: minutes, a few hundred MB of Go modules)"; \
		mkdir -p $(CENTRIFUGO_DIR) && \
		GOBIN=$(CENTRIFUGO_DIR) CGO_ENABLED=0 GOFLAGS=-trimpath go install -v -ldflags '$(CENTRIFUGO_LDFLAGS)' github.com/centrifugal/centrifugo/v6@$(CENTRIFUGO_VERSION) && \
		$(CENTRIFUGO) version; \
	fi

$(BROWSER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e . --group browser
	touch $(BROWSER_STAMP)

# The demo stack (run_demo.py on free ports) checked through Flower's API and in Chromium.
test-browser: $(BROWSER_STAMP)
	@test -x $(CHROMIUM) || { echo "No Chromium at $(CHROMIUM): apt-get install chromium, or set CHROMIUM=/path/to/it"; exit 1; }
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -m browser tests/browser

# The fault suite (tests/faults, docs/reliability.md): a real prefork worker subprocess,
# broker outages, killed processes. With Redis on SQLite, a throwaway PostgreSQL cluster and a
# throwaway MariaDB server (with the outbox and digest SQL there); then with RabbitMQ on each
# of the three, and the integration tests. .ci/install-servers installs the Debian packages.
# Each pass starts its own servers on free ports; they mostly wait (on workers, deadlines,
# visibility timeouts), so FAULT_JOBS of them run at once (2: about half the time of one
# after another on 2 cores), each pass's output printed whole when it ends.
FAULT_JOBS ?= 2
FAULT_PASSES = faults-rabbitmq-integration faults-rabbitmq-mariadb faults-rabbitmq-postgresql \
	faults-rabbitmq-sqlite faults-redis-mariadb faults-redis-postgresql faults-redis-sqlite
FAULT_TESTS = -m faults tests/faults
FAULT_TESTS_mariadb = -m "not browser" tests/faults tests/test_outbox.py tests/test_reports_digest.py
# (not .PHONY: make skips pattern rules for phony targets; no such files exist)

test-faults: $(MARIADB_STAMP)
	bash .ci/install-servers
	$(MAKE) --no-print-directory -j $(FAULT_JOBS) --output-sync=target $(FAULT_PASSES)

faults-redis-%:
	NOTIFY_TASKS_TEST_DB=$* $(BIN)/python -m pytest --durations=5 $(or $(FAULT_TESTS_$*),$(FAULT_TESTS))

faults-rabbitmq-integration:
	NOTIFY_TASKS_TEST_BROKER=rabbitmq $(BIN)/python -m pytest -m integration

faults-rabbitmq-%:
	NOTIFY_TASKS_TEST_BROKER=rabbitmq NOTIFY_TASKS_TEST_DB=$* \
		$(BIN)/python -m pytest --durations=5 $(FAULT_TESTS)

# Django's MySQL driver for NOTIFY_TASKS_TEST_DB=mariadb, built against libmariadb-dev.
$(MARIADB_STAMP): $(STAMP)
	bash .ci/install-servers
	$(BIN)/python -m pip install --quiet -e . --group mariadb
	touch $(MARIADB_STAMP)

# bench/soak.py (docs/benchmarks.md): 100,000 notifications through a prefork worker on
# PostgreSQL, killed five times. Long: not part of .ci/run. SOAK_ARGS="--count 20000" etc. (docs/benchmarks.md: passed, 444 s on 2 busy cores)
soak: $(STAMP)
	bash .ci/install-servers
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . --group bench
	touch $(BENCH_STAMP)

# Every script in bench/ (docs/benchmarks.md), in the bench venv; the email ones start a
# throwaway PostgreSQL cluster too (apt-get install postgresql). BENCHMARKS=... picks some.
bench: $(BENCH_STAMP)
	@for name in $(BENCHMARKS); do \
		echo "==> bench/$$name.py"; \
		$(BENCH_VENV)/bin/python bench/$$name.py || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# .ci/release-check: sdist and wheel, twine check, the wheel in a fresh venv of every
# supported Python (pyenv), the README's project checked clean and one email sent by a worker.
release-check: $(STAMP)
	bash .ci/release-check

demo: $(STAMP)
	$(BIN)/python example_project/run_demo.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) .tox dist build
