# Makefile → `o2v` CLI (jobs/cli) → library functions. No logic lives here beyond wiring.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
O2V := $(PY) -m jobs
# The backend every stack command uses: local (default) or aws (the CLI reads BACKEND; BUCKET_NAME too).
BACKEND ?= local
export BACKEND
# What `make train` trains (the CLI reads them; unset means its defaults): a MovieLens release, the
# profile set (tuned | workshop), the protocol (holdout | workshop), a comma-separated model subset, and
# REFIT=0 to keep the first job's model instead of training again on train + validation.
export DATASET PROFILE PROTOCOL MODELS REFIT
# Set to e.g. https://download.pytorch.org/whl/cpu to get a CPU-only torch on Linux.
TORCH_INDEX ?=
TORCH_SPEC := torch==2.13.0

VENV_READY := $(VENV)/.installed
BENCH_READY := $(VENV)/.installed-bench

# The venv is (re)built whenever pyproject.toml changes; every target that runs Python depends on it.
$(VENV_READY): pyproject.toml
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
		echo "$(VENV) was made with Python < 3.11: rebuilding it with $(PYTHON)"; rm -rf $(VENV); fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
		f"Python >= 3.11 is needed, $(PYTHON) is {sys.version.split()[0]}: run make PYTHON=python3.11 ...")' \
		|| { rm -rf $(VENV); exit 1; }
	@if [ -n "$(TORCH_INDEX)" ]; then $(PY) -m pip install --quiet --index-url $(TORCH_INDEX) $(TORCH_SPEC); fi
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(BENCH_READY): $(VENV_READY)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@touch $@

.PHONY: help venv test lint format data stats demo plan apply train report test-events destroy env status \
	bench bench-ingest bench-model bench-serving bench-load ci-clean clean

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

demo: apply train test-events ## The whole workshop on this machine: apply, train, then send the test events
	@echo
	@echo "The stack is up. Talk to it with boto3 or the aws CLI:  eval \"\$$(make -s env)\""
	@echo "Tear it down with:  make destroy"

plan: $(VENV_READY) ## BACKEND=aws: terraform plan of the whole stack (builds the zips; changes nothing; DATASET=)
	$(O2V) plan

apply: $(VENV_READY) ## Bring the stack up (local cloud, or terraform apply on AWS), upload the release's data, deploy both functions (DATASET=)
	$(O2V) apply

train: $(VENV_READY) ## Train, evaluate, register and gate the models; deploy the approved ones (DATASET= PROFILE= PROTOCOL= MODELS= REFIT=)
	$(O2V) train

report: $(VENV_READY) ## Write the latest evaluation report of each endpoint to .work/reports/ and name it
	$(O2V) models report

test-events: $(VENV_READY) ## Invoke the functions with every event in events/ and print the answers
	$(O2V) test-events

destroy: $(VENV_READY) ## Delete what apply and train created (local cloud and its state, or terraform destroy)
	$(O2V) destroy

env: $(VENV_READY) ## Print export lines for boto3 and the aws CLI: eval "$(make -s env)"
	@$(O2V) env

status: $(VENV_READY) ## Is the local cloud running, and are its services ready?
	$(O2V) cloud status

bench: bench-ingest bench-model bench-serving bench-load ## Run every benchmark (writes benchmarks/results/)

bench-ingest: $(VENV_READY) ## Benchmark ingestion on a synthetic 25 M-row ratings file
	$(PY) -m benchmarks.bench_ingest

bench-model: $(BENCH_READY) ## Object2Vec vs SVD++, KNNBaseline, SVD, PureSVD on ml-100k over seeds 0-2, plus cost on synthetic ml-25m-sized ids (slow)
	$(PY) -m benchmarks.bench_model

bench-serving: $(BENCH_READY) ## Latency, throughput and memory of the local stack (its own throw-away stack)
	$(PY) -m benchmarks.bench_serving

bench-load: $(VENV_READY) ## 16 signed clients, 20,000 mixed requests, a worker killed mid-run (its own local cloud)
	$(PY) -m benchmarks.bench_load

ci-clean: ## Run .ci/run on a fresh copy of the committed tree (what CI sees), with its own venv
	scripts/check-clean-clone

clean: ## Remove the venv and everything the toolkit wrote in .work/ (not downloaded datasets)
	rm -rf $(VENV) .work
