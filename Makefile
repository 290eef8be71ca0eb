# Two commands on a fresh machine with python3 >= 3.11 and make:
#   make run   -> .venv with the locked dependencies, then snakemake --cores 4
#   make test  -> same set-up, lint, then the whole pytest suite (make test-fast: no Snakemake run)
# The set-up installs requirements.lock (every transitive dependency, exact versions and hashes)
# with uv (seconds): the one on PATH, else uv bootstrapped once from PyPI (requirements-uv.lock,
# pinned with hashes) into a per-user folder; pip (minutes) only where uv cannot be had.
# docs/performance.md has the figures.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
CORES ?= 4
# torch is locked as the CPU wheel (2.13.0+cpu), which PyPI does not carry. It comes from a
# folder of wheels when that holds it (FIND_LINKS, default: pip's own find-links setting), else
# from the PyPI-compatible index TORCH_INDEX (the PyTorch CPU index, or a mirror of it).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
FIND_LINKS ?= $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
UV_PIN := $(shell sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements-uv.lock)
# one bootstrapped uv per user and version, shared by every clone (make setup UV_BOOT=DIR to move it)
UV_BOOT ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/lnpaper/uv-$(UV_PIN)
# uv on PATH, else the bootstrapped one; `make setup UV=` forces pip
UV ?= $(or $(shell command -v uv 2>/dev/null),$(UV_BOOT)/bin/uv)
TORCH_PIN := $(or $(shell sed -n 's/^torch==\([^ ]*\).*/\1/p' $(LOCK) 2>/dev/null),\
	$(shell sed -n 's/^ *"torch==\([^"]*\)".*/\1/p' pyproject.toml))
LOCAL_TORCH := $(firstword $(foreach d,$(FIND_LINKS),$(wildcard $(d)/torch-$(TORCH_PIN)*.whl)))
SOURCES := $(if $(FIND_LINKS),$(foreach d,$(FIND_LINKS),--find-links $(d)))
SOURCES += $(if $(LOCAL_TORCH),,--extra-index-url $(TORCH_INDEX))
UV_SOURCES := $(SOURCES) $(if $(LOCAL_TORCH),,--index-strategy unsafe-best-match)
# uv, unlike pip, installs no bytecode: Python writes it on first import, unless
# PYTHONDONTWRITEBYTECODE is set (as in many containers and CI images). Then every process would
# compile torch, pandas and snakemake from source again (import 3 s -> 9 s). uv's
# --compile-bytecode compiles all 30 000 modules (60 CPU-s); importing what the pipeline and the
# tests use once, with writing allowed, compiles only those (20 CPU-s), and later processes read it.
# The second line is what the `snakemake` command itself imports beyond snakemake.api (its
# command line, profiles, the report plugin's docutils and jinja2): without it every Snakemake
# start, a no-change rerun included, compiles about 100 modules again (0.3 CPU-s of about 2.5).
WARM_IMPORTS := torch, pandas, pyarrow.parquet, numpy, scipy.stats, matplotlib.pyplot, sklearn, \
	mlflow.tracking, snakemake.api, jsonschema, yaml, filelock, pytest, \
	snakemake.cli, snakemake.profiles, snakemake.storage, snakemake.report.html_reporter, \
	smart_open, yte, platformdirs, argparse_dataclass
TORCH_HELP := could not install the locked dependencies. If torch==$(TORCH_PIN) is what is \
missing: it is the CPU wheel, found $(if $(LOCAL_TORCH),at $(LOCAL_TORCH),neither in FIND_LINKS \
($(or $(FIND_LINKS),unset)) nor at TORCH_INDEX=$(TORCH_INDEX)); point TORCH_INDEX at a reachable \
PyTorch CPU index or mirror (make setup TORCH_INDEX=https://mirror.example/whl/cpu), or put the \
wheel in a folder and set FIND_LINKS=/that/folder. Never drop the pin: PyPI's torch pulls about \
3 GB of CUDA libraries.

.PHONY: setup bootstrap-uv run test test-fast test-configs lint gpu-check lock check-python \
	clean-results server-setup mlflow-server mlflow-server-stop

check-python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; install Python >= 3.11 (Debian/Ubuntu: apt install python3 python3-venv; or set PYTHON=/path/to/python3.11)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); this project needs >= 3.11 (apt install python3.11 python3.11-venv, then make PYTHON=python3.11)" >&2; exit 1; }
	@test -x "$(UV)" || $(PYTHON) -m pip --version >/dev/null 2>&1 || $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "make: the venv module of $(PYTHON) is missing (Debian/Ubuntu: apt install python3-venv, or python3.11-venv); or install uv (pip install uv)" >&2; exit 1; }

$(STAMP): pyproject.toml $(LOCK) requirements-uv.lock
	@$(MAKE) --no-print-directory check-python
	@if [ -n "$(UV)" ] && [ ! -x "$(UV)" ]; then $(MAKE) --no-print-directory bootstrap-uv; fi
	@if [ -n "$(UV)" ] && [ -x "$(UV)" ]; then \
	    set -x; \
	    test -x $(BIN)/python || $(UV) venv --quiet --seed --python $(PYTHON) $(VENV); \
	    $(UV) pip install --quiet --python $(BIN)/python --require-hashes $(UV_SOURCES) -r $(LOCK) || { echo "make: $(TORCH_HELP)" >&2; exit 1; }; \
	    $(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .; \
	    if [ -n "$$PYTHONDONTWRITEBYTECODE" ]; then \
	        env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -c "import $(WARM_IMPORTS)"; fi; \
	else \
	    set -x; \
	    test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	    $(BIN)/python -m pip install --quiet --require-hashes $(SOURCES) -r $(LOCK) || { echo "make: $(TORCH_HELP)" >&2; exit 1; }; \
	    $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .; \
	fi
	touch $(STAMP)

# uv from PyPI with pip, at the pinned version and hashes, into UV_BOOT (a few seconds, once per
# user). Written to a temporary folder and renamed, so two clones bootstrapping at once leave one
# good copy. Where PyPI or pip fails, the set-up goes on with pip and says so.
bootstrap-uv:
	@tmp="$(UV_BOOT).tmp.$$$$"; mkdir -p "$$(dirname "$(UV_BOOT)")"; \
	if $(PYTHON) -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
	    --require-hashes --no-deps --target "$$tmp" -r requirements-uv.lock >"$$tmp.log" 2>&1 \
	    && "$$tmp/bin/uv" --version >/dev/null 2>&1; then \
	    mv -T "$$tmp" "$(UV_BOOT)" 2>/dev/null || rm -rf "$$tmp"; \
	    echo "make: uv $(UV_PIN) installed from PyPI into $(UV_BOOT)"; \
	else \
	    echo "make: could not install uv $(UV_PIN) from PyPI ($$(tail -n 1 "$$tmp.log")); installing with pip instead (minutes, not seconds)" >&2; \
	    rm -rf "$$tmp"; \
	fi; \
	rm -f "$$tmp.log"

setup: $(STAMP)

# The results cache shared by this user's checkouts (README "Results cache"): a folder given in
# SNAKEMAKE_OUTPUT_CACHE (a team's or a cluster's shared one) or the per-user default
run: setup
	SNAKEMAKE_OUTPUT_CACHE="$${SNAKEMAKE_OUTPUT_CACHE:-$$HOME/.cache/lnpaper/snakemake-cache}" \
		$(BIN)/snakemake --cores $(CORES) --cache

# The tests run in parallel (pytest-xdist), one worker per core: whole files to a worker
# (--dist loadfile), so a file's module fixtures are made once, and the one tiny build is shared
# by all workers (tests/conftest.py). make test TEST_WORKERS=1 runs them one at a time.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

test: setup lint
	$(PYTEST)

# Everything outside tests/e2e/ (those are marked slow): no Snakemake build and no Snakemake
# start, about 1 CPU-minute (tests/tools/test_fast_tests_build_nothing.py keeps it so)
test-fast: setup
	$(PYTEST) -m "not slow"

# The edge-case configs and a few drawn ones through Snakemake (docs/config-space.md): refused ones
# must stop in one line before any job, accepted ones must build with no RuntimeWarning. Budget:
# 900 CPU-s (all jobs together), so one free core runs it in 15 minutes; it prints its wall time,
# CPU seconds and the load
test-configs: setup
	$(BIN)/python -m lnpaper.tools.config_sweep --drawn 4 --budget 900

# Lint and format checks, as the Snakemake workflow catalog runs them (versions pinned in pyproject)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --cores 1

# The tiny config on cuda and on cpu, science outputs compared within stated tolerances; on a
# machine without CUDA it says so and exits 0
gpu-check: setup
	$(BIN)/python -m lnpaper.tools.gpu_check

# Regenerate the lock after editing the dependencies in pyproject.toml (needs uv and the network).
# uv keeps the versions of the current lock where they still fit (it reads its -o file first).
lock:
	@if [ -n "$(UV)" ] && [ ! -x "$(UV)" ]; then $(MAKE) --no-print-directory bootstrap-uv; fi
	@test -x "$(UV)" || { echo "make lock needs uv: pip install uv" >&2; exit 1; }
	cp $(LOCK) $(LOCK).tmp 2>/dev/null || true
	$(UV) pip compile pyproject.toml --quiet --generate-hashes --no-header --python-version 3.11 \
	    --python-platform x86_64-manylinux_2_28 $(UV_SOURCES) -o $(LOCK).tmp
	{ PYTHONPATH=src $(PYTHON) -m lnpaper.tools.lockfile header pyproject.toml; cat $(LOCK).tmp; } > $(LOCK)
	rm $(LOCK).tmp

clean-results:
	rm -rf results .snakemake/incomplete

# A team's MLflow tracking server on a local PostgreSQL (docs/team-store.md). Its driver
# (psycopg) comes from a second lock, installed here only: the default set-up stays as it is.
# PostgreSQL itself is Debian's package: apt-get install postgresql.
SERVER_LOCK := requirements-server.lock
SERVER_STAMP := $(VENV)/.server-installed-stamp
MLFLOW_SERVER_DIR ?= .mlflow-server
MLFLOW_HOST ?= 127.0.0.1
MLFLOW_PORT ?= 5050
PG_PORT ?= 55432
TEAM_SERVER := $(BIN)/python -m lnpaper.tools.team_server --dir $(MLFLOW_SERVER_DIR)

$(SERVER_STAMP): $(STAMP) $(SERVER_LOCK)
ifneq ($(UV),)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r $(SERVER_LOCK)
else
	$(BIN)/python -m pip install --quiet --require-hashes -r $(SERVER_LOCK)
endif
	touch $(SERVER_STAMP)

server-setup: $(SERVER_STAMP)

mlflow-server: server-setup
	$(TEAM_SERVER) --host $(MLFLOW_HOST) --port $(MLFLOW_PORT) --pg-port $(PG_PORT) start

mlflow-server-stop:
	$(TEAM_SERVER) stop
