# Two entry points: `make run` (the whole DVC pipeline) and `make test` (the test suite).
# Both bootstrap a virtual environment with the pinned dependencies on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
WITH_VENV := PATH="$(CURDIR)/$(BIN):$$PATH"

.PHONY: run run-full test bench tables venv clean-venv git-identity

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

# transformers, for the parity test only
$(TEST_STAMP): $(STAMP) requirements-test.lock
	$(BIN)/python -m pip install -q -r requirements-test.lock
	touch $@

# `dvc exp run` needs a git identity; set a repository-local one only where none is configured.
git-identity:
	@git config user.email >/dev/null || git config user.email "mtbert@localhost"
	@git config user.name >/dev/null || git config user.name "mtbert"

run: $(STAMP) git-identity
	$(BIN)/mtbert run

# The full-scale profile as a DVC experiment (profiles/full.yaml applied with -S); EXTRA adds more -S flags.
run-full: $(STAMP) git-identity
	$(WITH_VENV) $(BIN)/dvc exp run $$($(BIN)/mtbert profile profiles/full.yaml) $(EXTRA)

test: $(TEST_STAMP)
	$(WITH_VENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

# The speed benchmark (reports/performance.md); the standard loop it compares against needs transformers. Needs the
# pipeline's data (make run first). BENCH_ARGS: e.g. --shapes minilm --steps 3
bench: $(TEST_STAMP)
	$(BIN)/mtbert bench $(BENCH_ARGS)

# Every report's tables beside the published numbers (reports/tables/): runs each table study's (variant, seed) with no
# result for this commit's pipeline code and budget at PROFILE (cpu | gpu), then renders. EXECUTOR (docs/usage.md):
# dvc (default, one at a time), queue (WORKERS=N through DVC's queue), local (one submitit job per GPU present, or
# WORKERS=N CPU jobs), slurm (one SLURM job per run: profiles/tables/resources.yaml; SLURM_PARTITION, SLURM_ACCOUNT),
# direct (dvc.yaml's stages without DVC, WORKERS=N at once).
# DRY=1: every variant for a couple of steps per stage at PROFILE's settings, no result written; the table of
# ok / error, peak memory and projected time goes to reports/tables/dry-run.<profile>.md.
# PILOT=1: first only one run of each kind of arm, and the whole profile's wall time projected from them
# (reports/tables/pilot.<profile>.md); the runs count towards the full run.
PROFILE ?= cpu
tables: $(STAMP) git-identity
	$(BIN)/mtbert tables $(if $(DRY),dry-run,run) --profile $(PROFILE) $(if $(EXECUTOR),--executor $(EXECUTOR)) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(PILOT),--pilot)

clean-venv:
	rm -rf $(VENV)
