"""The command line: outputs written from the bundled baseline; user errors are one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from ppp_survey.report import main
from conftest import BASELINE, FRAME, REPO


def run_report(tmp_path, *extra):
    return main(["--data", str(BASELINE), "--frame", str(FRAME), "--out", str(tmp_path), *extra])


def test_report_writes_tables_chart_and_manifest(tmp_path, capsys):
    assert run_report(tmp_path) == 0
    rates = pd.read_csv(tmp_path / "data" / "processed" / "response_rates.csv", encoding="utf-8-sig")
    assert rates.iloc[-1].tolist() == ["全体", 3138, 1340, 42.7]
    summary = pd.read_csv(tmp_path / "data" / "processed" / "validation_summary.csv", encoding="utf-8-sig")
    assert summary["件数"].iloc[:3].tolist() == [1340, 1340, 0]
    assert (tmp_path / "figures" / "2-00_職域別回答率.png").stat().st_size > 10_000
    manifest = json.loads((tmp_path / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True
    assert len(manifest["inputs"]["data"]["sha256"]) == 64
    assert any(o["path"].endswith("2-00_職域別回答率.png") for o in manifest["outputs"])
    err = capsys.readouterr().err
    assert "[1/4]" in err and "採用1,340行" in err


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
