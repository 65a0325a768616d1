# ppp_survey: make help lists the targets. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Exact versions the committed bytes (frozen baseline, gallery) were made with; `make lock` refreshes it.
LOCK   := constraints.txt

.PHONY: help report lint test bench baseline lock clean

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[dev]"
	touch $(STAMP)

report: $(STAMP) ## Regenerate every table and figure from the bundled baseline
	$(BIN)/python -m ppp_survey.report

lint: $(STAMP) ## ruff (lint + format check) and mypy on the package; make test runs it first
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint ## Lint, then the whole test suite (notebooks included), on both cores
	$(BIN)/python -m pytest -n auto --dist loadfile

bench: $(STAMP) ## Benchmark: estimates at n = 1,340 … 1,000,000 vs numpy floor and svy; report and import times
	$(BIN)/python benchmarks/bench.py

.PHONY: readme-numbers
readme-numbers: $(STAMP) ## README の精度・誤り率の数値を測り直す（シミュレーション、2コアで約13分）→ benchmarks/readme_numbers.json
	$(BIN)/python benchmarks/readme_numbers.py

baseline: $(STAMP) ## Regenerate the synthetic (架空) R7, R8 and R9 waves and the frozen R7 and R8 baselines (developers only)
	$(BIN)/python -m ppp_survey.synth --out data/raw
	$(BIN)/python -m ppp_survey.synth --out data/raw --wave r8
	$(BIN)/python -m ppp_survey.synth --out data/raw --wave r9
	rm -rf data/processed/baseline_r7 data/processed/baseline_r8
	$(BIN)/python -m ppp_survey.report --freeze-baseline data/processed/baseline_r7
	cp figures/2-0[0-7]_*.png docs/gallery/  # the charts of section 2 (2-09, the forest plot, is not in the gallery)
	$(BIN)/python -m ppp_survey.report --data data/raw/synthetic_r8_responses.xlsx --frame data/raw/staff_frame_r8.csv \
		--codebook src/ppp_survey/data/codebook_r8.yaml --freeze-baseline data/processed/baseline_r8 --out $$(mktemp -d) --no-paper

lock: ## Refresh constraints.txt: the newest versions pyproject.toml allows, resolved in a throw-away venv (developers only)
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e ".[dev]"
	{ echo "# Exact versions for make (pip install -c constraints.txt). Made by 'make lock' with"; \
	  echo "# $$(.venv-lock/bin/python --version) on $$(uname -sm). Refresh: make lock, then make baseline, make test."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable; } > $(LOCK)
	rm -rf .venv-lock

clean: ## Remove generated outputs (keeps .venv)
	find data/processed figures -type f ! -name .gitkeep -delete
	rm -rf 内部用_公開禁止 .ppp_survey_staging .ppp_survey.lock .ppp_survey.lock.break
