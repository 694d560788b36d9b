# Everything a newcomer needs: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MO := locale/fr/LC_MESSAGES/django.mo
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test lint audit format serve worker bench bench-peer cluster-test redis-cluster-test clean

install: $(STAMP) $(MO)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...).")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

# The compiled French catalogue (README "Languages"): built from the .po by polib, in pure Python (no msgfmt).
$(MO): locale/fr/LC_MESSAGES/django.po $(STAMP)
	$(BIN)/python tools/compile_messages.py

# The issuer follows the port served (`make run PORT=8110`): discovery, `iss` and `aud` name it, and the other
# environments' issuers (<slug>.localhost:<port>) derive from it. A DCR_ISSUER in the environment wins.
run: export DCR_ISSUER ?= http://127.0.0.1:$(PORT)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

# The suite in two parts: most tests on TEST_JOBS processes (pytest-xdist; each worker has its own
# test database and Redis database), then the tests marked `serial` alone. Exit code 5 (nothing
# selected, e.g. by PYTEST_ARGS) is not a failure of the second part.
TEST_JOBS ?= auto
test: install
	$(BIN)/python -m pytest -n $(TEST_JOBS) -m "not serial" $(PYTEST_ARGS) || test $$? -eq 5
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS) || test $$? -eq 5

# The hot-path store on a Redis Cluster of the tests' own (tests/redis_cluster/: Debian's redis-server, three
# primaries and three replicas on 127.0.0.1:7100-7105): `make test` runs its quick part; this adds a primary
# killed under load and a slot moved under load. Prints the failover's and the move's figures.
redis-cluster-test: install
	DCR_REDIS_CLUSTER_FULL=1 $(BIN)/python -m pytest -p no:xdist -s tests/redis_cluster $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	DJANGO_SETTINGS_MODULE=dcr_project.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/vulture
	$(BIN)/python tools/house_limits.py
	$(BIN)/python tools/i18n_check.py
	@$(MAKE) --no-print-directory audit

# Known vulnerabilities in the pinned dependencies, from PyPI's vulnerability data (per-release JSON API).
# Where that API cannot be reached, a loud warning instead of a failure: nothing was audited then.
AUDIT_PROBE := https://pypi.org/pypi/django/5.2/json
audit: install
	@if $(BIN)/python -c 'import urllib.request; urllib.request.urlopen("$(AUDIT_PROBE)", timeout=10)' >/dev/null 2>&1; then \
		echo "$(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip --strict"; \
		$(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip --strict --progress-spinner off; \
	else \
		echo "WARNING: pip-audit skipped: PyPI's vulnerability API ($(AUDIT_PROBE)) is not reachable;" >&2; \
		echo "WARNING: requirements.lock was NOT audited. Run 'make audit' where pypi.org is reachable." >&2; \
	fi

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# granian (dcr_project/serve.py): WEB_CONCURRENCY worker processes (default 2, one per core), keep-alive,
# slow clients held by Rust I/O rather than by a worker. No access log: the JSON request log
# (core/request_log.py) already has a line per request. `python -m dcr_project.serve --help` lists the limits.
serve: install
	DJANGO_SETTINGS_MODULE=dcr_project.settings.production $(BIN)/python manage.py collectstatic --noinput -v 0
	DJANGO_SETTINGS_MODULE=dcr_project.settings.production $(BIN)/python -m dcr_project.serve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/celery -A dcr_project worker --beat --loglevel INFO --concurrency $${CELERY_CONCURRENCY:-2}

bench: install
	$(BIN)/python -m bench

# Ours (make serve itself) side by side with panva's oidc-provider (bench/peer/, pinned by its
# package-lock.json; needs Node.js 20+ and npm), alternating under the same wrk; writes bench/results/peer.md.
bench-peer: install
	cd bench/peer && npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m bench.peer_bench

# Two web nodes (network namespaces, 2 web workers each) sharing a PostgreSQL and a Redis of the
# harness's own, under load while a TAM revokes applications, Redis stops, PostgreSQL restarts and workers
# die (tests/cluster/; needs root). Prints the table and writes bench/results/cluster.md; `make test` runs
# a reduced scenario.
cluster-test: install
	$(BIN)/python -m tests.cluster

clean:
	rm -rf $(VENV) staticfiles db.sqlite3

# Coverage-guided fuzzing with atheris (not in CI): each target of tests/fuzz/ runs FUZZ_SECONDS; the
# corpus grows in FUZZ_DIR between runs. A crash stops the run and leaves its input in
# FUZZ_DIR/<target>/crash-*: fix the cause and keep the input as a regression test.
.PHONY: fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= statement device_info
FUZZ_DIR ?= $(VENV)/fuzz
ATHERIS := atheris==3.0.0
fuzz: install
	@$(BIN)/python -c 'import atheris' 2>/dev/null || $(BIN)/python -m pip install -q --disable-pip-version-check $(ATHERIS)
	@for target in $(FUZZ_TARGETS); do \
		echo "== fuzz $$target for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/$$target/log)"; \
		mkdir -p $(FUZZ_DIR)/$$target/corpus; \
		if $(BIN)/python -m tests.fuzz.fuzz_$$target $(FUZZ_DIR)/$$target/corpus -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(FUZZ_DIR)/$$target/ -print_final_stats=1 > $(FUZZ_DIR)/$$target/log 2>&1; then \
			grep -E '^(Done|stat::number_of_executed_units|#[0-9]+\s+DONE)' $(FUZZ_DIR)/$$target/log; \
		else \
			tail -n 40 $(FUZZ_DIR)/$$target/log; echo "fuzz $$target: crash, input in $(FUZZ_DIR)/$$target/"; exit 1; \
		fi; \
	done
