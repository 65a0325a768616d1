# ppp_survey: make help lists the targets. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help report test bench baseline clean

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

report: $(STAMP) ## Regenerate every table and figure from the bundled baseline
	$(BIN)/python -m ppp_survey.report

test: $(STAMP) ## Run the whole test suite, notebooks included
	$(BIN)/python -m pytest

bench: $(STAMP) ## Benchmark: estimates at n = 1,340 … 1,000,000 vs numpy floor and svy; report and import times
	$(BIN)/python benchmarks/bench.py

baseline: $(STAMP) ## Regenerate the synthetic (架空) R7 and R8 waves and the frozen R7 baseline (developers only)
	$(BIN)/python -m ppp_survey.synth --out data/raw
	$(BIN)/python -m ppp_survey.synth --out data/raw --wave r8
	rm -rf data/processed/baseline_r7
	$(BIN)/python -m ppp_survey.report --freeze-baseline data/processed/baseline_r7
	cp figures/2-*.png docs/gallery/

clean: ## Remove generated outputs (keeps .venv)
	find data/processed figures -type f ! -name .gitkeep -delete
