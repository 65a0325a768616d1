# ppp_survey: make help でターゲットの一覧。すべて .venv の中で動く（初回に自動で作成）。
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Exact versions the committed bytes (frozen baseline, gallery) were made with; `make lock` refreshes it.
LOCK   := constraints.txt

.PHONY: help report lab notebooks lint test quick bench baseline lock clean

help: ## この一覧を表示する
	@echo "使い方: make <ターゲット>"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The pinned set installs with uv where it can be had (the whole step about 11 s on a fresh clone
# instead of pip's 45 s; the same versions, from $(LOCK)), else with pip.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	if $(BIN)/python -m pip install --quiet "uv>=0.5" >/dev/null 2>&1 \
	    && $(BIN)/uv pip install --quiet --python $(BIN)/python -c $(LOCK) -e ".[dev]"; then :; else \
	    echo "uv が使えないため pip で入れます（数十秒かかります）"; \
	    $(BIN)/python -m pip install --quiet --upgrade pip \
	    && $(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[dev]"; fi
	touch $(STAMP)

report: $(STAMP) ## 同梱の架空データから集計表・図・報告書（HTML/PDF/PowerPoint）を作り直す
	$(BIN)/python -m ppp_survey.report

lab: $(STAMP) ## JupyterLab で notebooks/ を開く（ブラウザで http://localhost:8888 ）
	$(BIN)/jupyter lab --notebook-dir=notebooks

NOTEBOOKS_HTML := figures/notebooks

notebooks: $(STAMP) ## notebooks/ のノートブックをすべて実行し、結果つきの HTML を figures/notebooks/ に書く（実行せずに読める）
	mkdir -p $(NOTEBOOKS_HTML)
	$(BIN)/jupyter nbconvert --to html --execute --ExecutePreprocessor.timeout=600 \
		--output-dir $(NOTEBOOKS_HTML) notebooks/*.ipynb

lint: $(STAMP) ## 検査: ruff（書き方と整形）と mypy（型）。make test が最初に実行する
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint ## 検査のあと、すべてのテスト（ノートブックを含む）を全コアで実行する
	$(BIN)/python -m pytest -n auto --dist loadfile

quick: $(STAMP) ## 編集中の早い確認: 報告書を丸ごと作るテスト（report 印）を除いて実行する（make test の代わりにはならない）
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not report"

bench: $(STAMP) ## 性能測定: n = 1,340～1,000,000 の推定時間（numpy・svy と比較）、報告書と import の時間
	$(BIN)/python benchmarks/bench.py

.PHONY: readme-numbers
readme-numbers: $(STAMP) ## README の精度・誤り率の数値を測り直す（シミュレーション、2コアで約13分）→ benchmarks/readme_numbers.json
	$(BIN)/python benchmarks/readme_numbers.py

baseline: $(STAMP) ## 架空データ（R7・R8・R9）と凍結した R7・R8 基準値、図のギャラリーを作り直す（開発者向け）
	$(BIN)/python -m ppp_survey.synth --out data/raw
	$(BIN)/python -m ppp_survey.synth --out data/raw --wave r8
	$(BIN)/python -m ppp_survey.synth --out data/raw --wave r9
	rm -rf data/processed/baseline_r7 data/processed/baseline_r8
	$(BIN)/python -m ppp_survey.report --freeze-baseline data/processed/baseline_r7
	cp figures/2-0[0-7]_*.png docs/gallery/  # the charts of section 2 (2-09, the forest plot, is not in the gallery)
	$(BIN)/python -m ppp_survey.report --data data/raw/synthetic_r8_responses.xlsx --frame data/raw/staff_frame_r8.csv \
		--codebook src/ppp_survey/data/codebook_r8.yaml --freeze-baseline data/processed/baseline_r8 --out $$(mktemp -d) --no-paper

lock: ## constraints.txt を更新: pyproject.toml が許す最新版を使い捨ての venv で解決（開発者向け）
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e ".[dev]"
	{ echo "# Exact versions for make (pip install -c constraints.txt). Made by 'make lock' with"; \
	  echo "# $$(.venv-lock/bin/python --version) on $$(uname -sm). Refresh: make lock, then make baseline, make test."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable; } > $(LOCK)
	rm -rf .venv-lock

clean: ## 作成した出力を消す（.venv は残す）
	find data/processed figures -type f ! -name .gitkeep -delete
	rm -rf 内部用_公開禁止 .ppp_survey_staging .ppp_survey.lock .ppp_survey.lock.break
