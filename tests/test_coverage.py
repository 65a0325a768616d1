"""A 職域 without respondents changes the population the estimates represent; every output says so
(issue 16): the source note, the screen and the manifest."""

from __future__ import annotations

import json

import pytest

from conftest import FRAME
from ppp_survey.outputs.captions import source_note
from ppp_survey.report.cli import main
from ppp_survey.synth.forms import to_forms_frame

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)


def test_an_empty_domain_is_named_everywhere(baseline, codebook, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")  # one process: the same files (the paper included)
    rows = baseline.responses[baseline.responses["domain"].astype(str) != "教育・保育"].reset_index(drop=True)
    free = baseline.free_text[baseline.free_text["respondent_id"].isin(rows["respondent_id"])]
    path = tmp_path / "回答_教育保育なし_synthetic.csv"
    path.write_bytes(to_forms_frame(rows, free, codebook).to_csv(index=False).encode("utf-8"))
    assert main(["--data", str(path), "--frame", str(FRAME), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    # staff frame (data/raw/staff_frame_r7.csv): 3,138 in all, 教育・保育 90
    assert "推定は職員3,048人を代表" in err and "教育・保育" in err
    manifest = json.loads((tmp_path / "out" / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["coverage"] == {"population": 3138, "covered": 3048, "no_respondents": ["教育・保育"]}
    # the source note of the matrix page (and of every chart and sheet: one note per run)
    page = next((tmp_path / "out" / "figures").glob("*.html")).read_text(encoding="utf-8")
    assert "推定は職員3,048人を代表（教育・保育は回答なし）" in page
    # and the committee paper (an output too)
    paper = (tmp_path / "out" / "figures" / "報告書.html").read_text(encoding="utf-8")
    assert "推定は職員3,048人を代表（教育・保育は回答なし）" in paper


def test_full_coverage_says_nothing_more(baseline, frame, codebook):
    from ppp_survey.analysis import analyse

    note = source_note(analyse(baseline.responses, frame, codebook), synthetic=True)
    assert note == "R7.7.18～31実施 職員3,138人中1,340人回答（回答率42.7%）　※架空データ"
