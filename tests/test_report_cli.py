"""The command line: outputs written from the bundled baseline; user errors are one line, exit 2."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from ppp_survey.files import sha256_file

from ppp_survey.report import main
from conftest import BASELINE, FRAME, REPO


def run_report(tmp_path, *extra):
    return main(["--data", str(BASELINE), "--frame", str(FRAME), "--out", str(tmp_path), *extra])


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The report run twice on the same inputs into two folders."""
    first, second = tmp_path_factory.mktemp("run1"), tmp_path_factory.mktemp("run2")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert run_report(first) == 0
    assert run_report(second) == 0
    return first, second, err.getvalue()


def test_report_is_byte_for_byte_reproducible(two_runs):
    first, second, _ = two_runs
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) == 25  # 8 CSV tables + workbook + 15 charts + manifest
    assert sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file()) == files
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_report_writes_tables_chart_and_manifest(two_runs, tmp_path, capsys):
    tmp_path = two_runs[0]
    rates = pd.read_csv(tmp_path / "data" / "processed" / "response_rates.csv", encoding="utf-8-sig")
    assert rates.iloc[-1].tolist() == ["全体", 3138, 1340, 42.7]
    summary = pd.read_csv(tmp_path / "data" / "processed" / "validation_summary.csv", encoding="utf-8-sig")
    assert summary["件数"].iloc[:3].tolist() == [1340, 1340, 0]
    assert (tmp_path / "figures" / "2-00_職域別回答率.png").stat().st_size > 10_000
    manifest = json.loads((tmp_path / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True
    assert len(manifest["inputs"]["data"]["sha256"]) == 64
    assert any(o["path"].endswith("2-00_職域別回答率.png") for o in manifest["outputs"])
    assert len(manifest["outputs"]) == 24
    for out in manifest["outputs"]:
        assert sha256_file(tmp_path / out["path"]) == out["sha256"]
    assert (tmp_path / "data" / "processed" / "集計表_架空データ.xlsx").is_file()


def test_progress_is_shown(two_runs):
    err = two_runs[2]
    assert "[1/5]" in err and "採用1,340行" in err and "[4/5]" in err

def test_user_error_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("ID,何か\n1,2\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "ppp_survey.report", "--data", str(bad), "--frame", str(FRAME),
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == proc.stderr.strip().count("\n") + 1  # ends with the one message line
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("エラー: ") and "列がありません" in last
    assert "Traceback" not in proc.stderr


def test_missing_frame_is_one_line(tmp_path, capsys):
    assert main(["--data", str(BASELINE), "--frame", str(tmp_path / "none.csv"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("エラー: frame") and "file not found" in err[-1]
