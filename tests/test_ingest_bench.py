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
    from ppp_survey.constants import ALL
    from ppp_survey.synth.generator import allocate, load_spec

    monkeypatch.chdir(REPO)  # the frame is read from data/raw, as make bench runs it
    bench.worker_export(3_000, tmp_path)
    codebook = load_codebook(tmp_path / "codebook.yaml")
    frame = load_frame(tmp_path / "frame.csv", codebook)  # its total is the codebook's population
    loaded = load_responses(tmp_path / "export.csv", codebook)
    assert loaded.report.n_read == loaded.report.n_accepted == 3_000
    rates = response_rates(loaded.responses, frame, codebook)
    assert codebook.survey.respondents == 3_000
    # one row per 職域 and 全体; each 職域 has the spec's count scaled to 3,000 (largest remainder),
    # within its scaled staff count; the total is the codebook's population, the rate R7's 42.7%
    expected = allocate({str(k): int(v) for k, v in load_spec()["respondents"].items()}, 3_000)
    assert rates["domain"].astype(str).tolist() == [*codebook.stratum.labels, ALL]
    body, total = rates.iloc[:-1], rates.iloc[-1]
    assert dict(zip(body["domain"].astype(str), body["respondents"])) == expected
    assert (body["respondents"] <= body["population"]).all()
    assert total["respondents"] == 3_000 and total["population"] == codebook.survey.population
    assert total["population"] == body["population"].sum()
    # the frame is R7's × 3,000/1,340, rounded per 職域 (raised in 0.1% steps if a 職域 fell short)
    assert total["rate"] == pytest.approx(1340 / 3138, abs=0.002)


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
