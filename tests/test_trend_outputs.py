"""Trend outputs (issue 29): the sheets, CSVs and charts of ``--history``, and what they publish.

The anonymity property of tests/test_disclosure.py holds for the three-wave run: swapping a small
職域's members with members of its pool partner in the current wave leaves every published file
byte-identical. (A swap in an earlier wave changes nothing the trend reads: its frozen baseline is
byte-identical, which tests/test_disclosure.py checks.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import REPO
from ppp_survey.analysis import analyse
from ppp_survey.report.cli import main
from ppp_survey.report.trends import history_folders
from ppp_survey.spec.frame import load_frame
from ppp_survey.spec.resources import resolve_codebook
from ppp_survey.synth.forms import write_export
from ppp_survey.synth.generator import generate, load_spec

RAW = REPO / "data" / "raw"
PROCESSED = REPO / "data" / "processed"
R9_FRAME = RAW / "staff_frame_r9.csv"
HISTORY = ["--history", str(PROCESSED / "baseline_r7"), "--history", str(PROCESSED / "baseline_r8")]
SMALL = ("技能労務", 3)


def _published(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and "内部用_公開禁止" not in p.parts and "内部用" not in p.name  # the ledger is internal
    }


def _small_r9() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The R9 wave with a 3-person 技能労務 (pooled for anonymity), and its free text."""
    cb = resolve_codebook("codebook_r9.yaml")
    spec = load_spec("synthetic_r9.yaml")
    spec["respondents"]["技能労務"] = SMALL[1]
    spec["respondents"]["一般行政"] += 27 - SMALL[1]
    survey = generate(cb, spec)
    return survey.responses, survey.free_text


def _swap(responses: pd.DataFrame, cb, small: str, partner: str) -> pd.DataFrame:
    """Exchange the 職域 of the small group's members and as many of its partner's, chosen among those
    who answered every question (no base changes) so that the small group's answers to 2-(2) change."""
    stratum = cb.stratum.id
    complete = np.ones(len(responses), dtype=bool)
    for q in cb.questions_of_type("sa", "likert", "ma"):
        cols = q.option_columns if q.is_multi else [q.id]
        complete &= responses[cols].notna().all(axis=1).to_numpy()
    mine = np.flatnonzero((responses[stratum] == small).to_numpy() & complete)
    answers = responses[cb.item("q2").id].astype(str).to_numpy()
    candidates = np.flatnonzero((responses[stratum] == partner).to_numpy() & complete)
    answer = next(a for a in pd.Series(answers[candidates]).value_counts().index if (answers[mine] != a).any())
    theirs = [i for i in candidates if answers[i] == answer][: len(mine)]
    assert len(theirs) == len(mine) > 0
    out = responses.copy()
    out.loc[out.index[mine], stratum] = partner
    out.loc[out.index[theirs], stratum] = small
    return out


pytestmark = [
    pytest.mark.usefixtures("one_process"),
    pytest.mark.report,
]  # one process (conftest); left out of make quick


@pytest.fixture(scope="module")
def swapped_runs(tmp_path_factory):
    """The three-wave report (R7, R8 frozen; R9 with a pooled 3-person 職域), committee paper
    included, on the wave and on the wave with the small group's members swapped with its pool
    partner's."""
    cb = resolve_codebook("codebook_r9.yaml")
    first, free_text = _small_r9()
    pools = analyse(first, load_frame(R9_FRAME, cb), cb, tables=False).pools.by_attribute[cb.stratum.id]
    ((pool, members),) = [(p, m) for p, m in pools.items() if SMALL[0] in m]
    partner = next(m for m in members if m != SMALL[0])
    second = _swap(first, cb, SMALL[0], partner)
    runs = []
    for side, responses in (("a", first), ("b", second)):
        folder = tmp_path_factory.mktemp(f"trend-{side}")
        data = write_export(responses, free_text, cb, folder / "export.xlsx")
        out = folder / "out"
        args = ["--data", str(data), "--frame", str(R9_FRAME), "--codebook", "codebook_r9.yaml", "--out", str(out)]
        assert main([*args, *HISTORY]) == 0
        runs.append(out)
    return first, second, pool, runs


def test_the_small_groups_answers_differ(swapped_runs):
    first, second, _, _ = swapped_runs
    a = first.loc[first["domain"] == SMALL[0], "q2"].astype(str).value_counts().sort_index()
    b = second.loc[second["domain"] == SMALL[0], "q2"].astype(str).value_counts().sort_index()
    assert not a.equals(b)


def test_no_published_trend_byte_depends_on_who_is_in_a_small_group(swapped_runs):
    """Trend tables, sheets, charts (and every other published file, the committee paper and deck
    with their 経年変化 page and slide included) are byte-identical; the pool is one group of the
    trend in every wave, under its pool label."""
    _, _, pool, (a, b) = swapped_runs
    pa, pb = _published(a), _published(b)
    trend_files = [p for p in pa if "trends_" in p or "経年_" in p or "kpi_trend" in p]
    assert len(trend_files) >= 20
    assert {"figures/報告書.html", "figures/報告書.pptx"} <= pa.keys()
    assert pa.keys() == pb.keys()
    assert [p for p in pa if pa[p] != pb[p]] == []
    groups = pd.read_csv(a / "data" / "processed" / "trends_by_group.csv", encoding="utf-8-sig")
    assert pool in set(groups["職域"]) and SMALL[0] not in set(groups["職域"])


def test_trend_outputs_say_what_they_are(swapped_runs):
    """The workbook has the 経年変化 sheets; the tables carry each wave's value, CI, changes, slope and
    bases; the trend charts exist for the response rate and every question."""
    _, _, _, (a, _) = swapped_runs
    book = load_workbook(next((a / "data" / "processed").glob("集計表*.xlsx")), read_only=True)
    assert {"経年変化（全体）", "経年変化（職域別）", "経年変化の対象外", "KPIの推移"} <= set(book.sheetnames)
    overall = pd.read_csv(a / "data" / "processed" / "trends_overall.csv", encoding="utf-8-sig")
    for col in (
        "R7(%)",
        "R9 95%CI上限",
        "R7→R8 差(pt)",
        "R8→R9 判定",
        "R7→R9（全期間） p値",
        "傾き(pt/回)",
        "傾き 判定",
        "基数R9",
    ):
        assert col in overall.columns, col
    assert "q5:opt:14" not in set(overall["指標"])  # added in R8: not followed from R7
    figures = {p.name for p in (a / "figures").glob("経年_*.png")}
    assert {"経年_2-00_職域別回答率.png", "経年_概要.png"} <= figures and len(figures) == 13
    summary = pd.read_csv(a / "data" / "processed" / "trends_summary.csv", encoding="utf-8-sig")
    assert list(summary.columns) == ["設問", "指標", "R7(%)", "R8(%)", "R9(%)", "傾き(pt/回)", "判定"]
    assert len(summary) == 4  # the top-2 box of 2-(1), 2-(2), 2-(6) and 2-(3)'s ある
    kpi = pd.read_csv(a / "data" / "processed" / "policy_matrix_kpi_trend.csv", encoding="utf-8-sig")
    assert {"R7(%)", "R8(%)", "R9(%)", "傾き 判定"} <= set(kpi.columns)


def test_history_may_be_a_folder_of_baselines(tmp_path):
    """``--history data/processed`` takes the baseline folders in it (not the report's own manifest),
    oldest wave first."""
    (tmp_path / "manifest.json").write_text('{"format": "ppp_survey report"}', encoding="utf-8")
    for name in ("b_r8", "a_r9", "c_r7"):
        source = PROCESSED / f"baseline_{'r7' if name == 'c_r7' else 'r8'}"
        (tmp_path / name).mkdir()
        for f in source.iterdir():
            (tmp_path / name / f.name).write_bytes(f.read_bytes())
    (tmp_path / "a_r9" / "manifest.json").write_text(
        (PROCESSED / "baseline_r8" / "manifest.json").read_text(encoding="utf-8").replace("2026-07-16", "2027-07-15"),
        encoding="utf-8",
    )
    assert [p.name for p in history_folders((tmp_path,))] == ["c_r7", "b_r8", "a_r9"]
    assert history_folders((PROCESSED / "baseline_r7",)) == [PROCESSED / "baseline_r7"]


def test_a_wrong_history_folder_is_one_line(tmp_path, capsys):
    args = [
        "--data",
        str(RAW / "synthetic_r9_responses.xlsx"),
        "--frame",
        str(R9_FRAME),
        "--codebook",
        "codebook_r9.yaml",
    ]
    assert main([*args, "--out", str(tmp_path / "out"), "--history", str(tmp_path / "nowhere"), "--no-paper"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("エラー: --history nowhere: フォルダが見つからない") and "\n" not in err


def test_the_paper_and_the_deck_carry_the_trend(swapped_runs):
    """With --history the committee paper has a 経年変化 page (in its contents) and the deck a
    slide, both with the headline indicators' values of every wave (trends_summary.csv). The run is
    the first of :func:`swapped_runs` (the synthetic R9 wave, its 技能労務 cut to 3, with R7 and R8)."""
    import html as html_module

    from pptx import Presentation

    out = swapped_runs[3][0]
    summary = pd.read_csv(out / "data" / "processed" / "trends_summary.csv", encoding="utf-8-sig")
    heading = "経年変化（R7→R8→R9、全体）"
    page = html_module.unescape((out / "figures" / "報告書.html").read_text(encoding="utf-8"))
    assert page.count(heading) >= 2  # the contents list and the page
    deck = Presentation(str(out / "figures" / "報告書.pptx"))
    (slide,) = [s for s in deck.slides if s.shapes.title is not None and s.shapes.title.text == heading]
    (table,) = [sh.table for sh in slide.shapes if sh.has_table]
    cells = [[c.text for c in row.cells] for row in table.rows]
    for r in summary.to_dict("records"):
        values = [f"{float(r[f'{w}(%)']):.1f}" for w in ("R7", "R8", "R9")]
        assert " → ".join(f"{v}%" for v in values) in page, values  # the page's line of the indicator
        assert any(row[1] == r["指標"] and row[2:5] == values for row in cells), (r["指標"], cells)
