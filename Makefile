# Two commands on a fresh machine with python3 >= 3.11 and make:
#   make run   -> .venv with the pinned dependencies, then snakemake --cores 4
#   make test  -> same set-up, then the whole pytest suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORES ?= 4

.PHONY: setup run test lint clean-results bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/snakemake --cores $(CORES)

test: setup lint
	$(BIN)/python -m pytest

# Lint and format checks, as the Snakemake workflow catalog runs them (versions pinned in pyproject)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --cores 1

clean-results:
	rm -rf results .snakemake/incomplete
