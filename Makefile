# Two commands on a fresh machine with python3 >= 3.11 and make:
#   make run   -> .venv with the locked dependencies, then snakemake --cores 4
#   make test  -> same set-up, lint, then the whole pytest suite (make test-fast: no end-to-end)
# The set-up installs requirements.lock (every transitive dependency, exact versions and hashes)
# with uv when it is on PATH (seconds), else with pip (minutes); README "Set-up" has the figures.
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
UV ?= $(shell command -v uv 2>/dev/null)
TORCH_PIN := $(or $(shell sed -n 's/^torch==\([^ ]*\).*/\1/p' $(LOCK) 2>/dev/null),\
	$(shell sed -n 's/^ *"torch==\([^"]*\)".*/\1/p' pyproject.toml))
LOCAL_TORCH := $(firstword $(foreach d,$(FIND_LINKS),$(wildcard $(d)/torch-$(TORCH_PIN)*.whl)))
SOURCES := $(if $(FIND_LINKS),$(foreach d,$(FIND_LINKS),--find-links $(d)))
SOURCES += $(if $(LOCAL_TORCH),,--extra-index-url $(TORCH_INDEX))
UV_SOURCES := $(SOURCES) $(if $(LOCAL_TORCH),,--index-strategy unsafe-best-match)
# uv, unlike pip, installs no bytecode: Python writes it on first import, unless
# PYTHONDONTWRITEBYTECODE is set (as in many containers and CI images). Then every process would
# compile torch, pandas and snakemake from source again (import 3 s -> 9 s, a no-change
# snakemake 3.6 s -> 7-10 s on the 2-core machine), so there uv compiles it once at install.
UV_BYTECODE := $(if $(PYTHONDONTWRITEBYTECODE),--compile-bytecode)
TORCH_HELP := could not install the locked dependencies. If torch==$(TORCH_PIN) is what is \
missing: it is the CPU wheel, found $(if $(LOCAL_TORCH),at $(LOCAL_TORCH),neither in FIND_LINKS \
($(or $(FIND_LINKS),unset)) nor at TORCH_INDEX=$(TORCH_INDEX)); point TORCH_INDEX at a reachable \
PyTorch CPU index or mirror (make setup TORCH_INDEX=https://mirror.example/whl/cpu), or put the \
wheel in a folder and set FIND_LINKS=/that/folder. Never drop the pin: PyPI's torch pulls about \
3 GB of CUDA libraries.

.PHONY: setup run test test-fast test-configs lint gpu-check lock check-python clean-results

check-python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; install Python >= 3.11 (Debian/Ubuntu: apt install python3 python3-venv; or set PYTHON=/path/to/python3.11)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); this project needs >= 3.11 (apt install python3.11 python3.11-venv, then make PYTHON=python3.11)" >&2; exit 1; }
	@test -n "$(UV)" || $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "make: the venv module of $(PYTHON) is missing (Debian/Ubuntu: apt install python3-venv, or python3.11-venv); or install uv (pip install uv)" >&2; exit 1; }

$(STAMP): pyproject.toml $(LOCK)
	@$(MAKE) --no-print-directory check-python
ifneq ($(UV),)
	test -x $(BIN)/python || $(UV) venv --quiet --seed --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet $(UV_BYTECODE) --python $(BIN)/python --require-hashes $(UV_SOURCES) -r $(LOCK) || { echo "make: $(TORCH_HELP)" >&2; exit 1; }
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
else
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes $(SOURCES) -r $(LOCK) || { echo "make: $(TORCH_HELP)" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
endif
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/snakemake --cores $(CORES)

test: setup lint
	$(BIN)/python -m pytest --durations=15

# Unit tests only (no Snakemake build): about a minute
test-fast: setup
	$(BIN)/python -m pytest -m "not slow" --durations=15

# The edge-case configs and a few drawn ones through Snakemake (docs/config-space.md): refused ones
# must stop in one line before any job, accepted ones must build with no RuntimeWarning
test-configs: setup
	$(BIN)/python -m lnpaper.tools.config_sweep --drawn 3 --budget 900

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
	@test -n "$(UV)" || { echo "make lock needs uv: pip install uv" >&2; exit 1; }
	cp $(LOCK) $(LOCK).tmp 2>/dev/null || true
	$(UV) pip compile pyproject.toml --quiet --generate-hashes --no-header --python-version 3.11 \
	    --python-platform x86_64-manylinux_2_28 $(UV_SOURCES) -o $(LOCK).tmp
	{ PYTHONPATH=src $(PYTHON) -m lnpaper.tools.lockfile header pyproject.toml; cat $(LOCK).tmp; } > $(LOCK)
	rm $(LOCK).tmp

clean-results:
	rm -rf results .snakemake/incomplete
