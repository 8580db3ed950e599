# Makefile → `o2v` CLI (jobs/cli) → library functions. No logic lives here beyond wiring.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
O2V := $(PY) -m jobs
# Set to e.g. https://download.pytorch.org/whl/cpu to get a CPU-only torch on Linux.
TORCH_INDEX ?=
TORCH_SPEC := torch==2.13.0

VENV_READY := $(VENV)/.installed
BENCH_READY := $(VENV)/.installed-bench

# The venv is (re)built whenever pyproject.toml changes; every target that runs Python depends on it.
$(VENV_READY): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if [ -n "$(TORCH_INDEX)" ]; then $(PY) -m pip install --quiet --index-url $(TORCH_INDEX) $(TORCH_SPEC); fi
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(BENCH_READY): $(VENV_READY)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@touch $@

.PHONY: help venv test lint format data stats bench bench-ingest bench-model clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-14s %s\n", $$1, $$2}'

venv: $(VENV_READY) ## Create or update the project venv (.venv)

test: lint ## Lint (ruff) and run the whole test suite
	$(PY) -m pytest

lint: $(VENV_READY) ## Check style with ruff
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV_READY) ## Reformat the code with ruff
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

data: $(VENV_READY) ## Fetch MovieLens (checksummed) and write Object2Vec channels for every task and protocol
	$(O2V) data prepare

stats: $(VENV_READY) ## Print dataset statistics
	$(O2V) data stats

bench: bench-ingest bench-model ## Run every benchmark (writes benchmarks/results/)

bench-ingest: $(VENV_READY) ## Benchmark ingestion on a synthetic 25 M-row ratings file
	$(PY) -m benchmarks.bench_ingest

bench-model: $(BENCH_READY) ## Train every profile on ml-100k and compare with baselines (slow: the workshop profiles)
	$(PY) -m benchmarks.bench_model

clean: ## Remove the venv and everything the toolkit wrote in .work/ (not downloaded datasets)
	rm -rf $(VENV) .work
