# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
DEMO_DIR ?= mlpages-demo

.PHONY: demo test test-fast lint pytest venv pipeline data site bench bench-remote bench-scale ci-local clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src  # as an installed package has them (PYTHONDONTWRITEBYTECODE)
	touch $(STAMP)

venv: $(STAMP)

## The main job: a sandbox repository with weeks of real pipeline runs, and its site.
demo: $(STAMP)
	$(BIN)/mlpages demo $(DEMO_DIR)

## Lint (the same checks as pre-commit) and then the whole test suite.
test: lint pytest

lint: $(STAMP)
	$(BIN)/pre-commit run --all-files --show-diff-on-failure

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

## The inner loop: every test but those that run the real dvc (slow) or drive Chromium (browser).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not slow and not browser"

## This repository's own pipeline: deterministic raw data, then `dvc repro`.
data: $(STAMP)
	$(BIN)/python -m mlpages.pipeline.generate --out data/raw --truth data/events.json
	$(BIN)/dvc add data/raw -q

pipeline: data
	$(BIN)/dvc repro

## The report site of this repository.
site: $(STAMP)
	$(BIN)/mlpages build . --out site

## Continuous training: the steps the GitHub workflows run (scripts/ct.sh; see docs/ci.md).
.PHONY: ct-train ct-register ct-push ct-pr ct-promote ct-rollback ct-site
ct-train ct-register ct-push ct-pr ct-promote ct-rollback ct-site: $(STAMP)
	scripts/ct.sh $(@:ct-%=%)

## The train.yml and pr.yml sequences against a temporary clone with a local bare origin, then
## the workflow files themselves under nektos/act (tests/workflows/).
ci-local: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests/test_ci_local.py tests/test_workflows.py tests/workflows

bench: $(STAMP) bench-scale
	$(BIN)/python benchmarks/bench_history.py
	$(BIN)/python benchmarks/bench_site.py

## DVC-cached outputs in an HTTP remote with 20 ms latency: mlpages build vs dvc fetch -A + exp show.
bench-remote: $(STAMP)
	$(BIN)/python benchmarks/bench_remote.py

## Long histories (issue 18): the MDOcean-shaped repository (generated once, cached under
## benchmarks/out/scale/repos), 10,000 commits, and the 300-commit pipeline vs `dvc exp show -A`.
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py

clean:
	rm -rf site $(DEMO_DIR) .mlpages-cache
