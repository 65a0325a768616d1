"""The benchmark's end-to-end export is one the report accepts (a second or two; the timings are `make bench`)."""

from __future__ import annotations

import importlib.util

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("ppp_bench_e2e", REPO / "benchmarks" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scaled_export_loads_with_its_frame_and_codebook(bench, tmp_path, monkeypatch):
    from ppp_survey import load_codebook, load_frame, load_responses, response_rates

    monkeypatch.chdir(REPO)  # the frame is read from data/raw, as make bench runs it
    bench.worker_export(3_000, tmp_path)
    codebook = load_codebook(tmp_path / "codebook.yaml")
    frame = load_frame(tmp_path / "frame.csv", codebook)  # its total is the codebook's population
    loaded = load_responses(tmp_path / "export.csv", codebook)
    assert loaded.report.n_read == loaded.report.n_accepted == 3_000
    rates = response_rates(loaded.responses, frame, codebook)
    assert len(rates)
    assert codebook.survey.respondents == 3_000


def test_e2e_table_and_growth(bench):
    steps = dict.fromkeys(bench.E2E_STEPS, 1.0)
    rows = [
        {"n": n, "mb": n / 1e4, "load": n / 1e5, "load_rss": 100.0, "report": 2 * n / 1e5, "report_rss": 200.0}
        for n in (10_000, 100_000, 1_000_000)
    ]
    for r in rows:
        r["steps"] = steps
    lines = bench.e2e_table(rows)
    assert len(lines) == 2 + 3 + 2
    assert lines[-1].startswith("growth 1,000,000/100,000 (×10 n): loader ×10.0 time, report ×10.0 time")
