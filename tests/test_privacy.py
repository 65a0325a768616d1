"""Anonymity: small groups never published (with complementary suppression), free text kept out,
real data kept out of git, outputs written atomically."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import FRAME, REPO
from ppp_survey import generate, load_codebook, write_export
from ppp_survey.files import atomic_output
from ppp_survey.report.cli import main
from ppp_survey.survey.privacy import PRIMARY, SECONDARY, UNIFORM, suppressed_groups
from ppp_survey.synth.generator import load_spec

SMALL = "技能労務"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A synthetic export in which 技能労務 has 3 respondents, run through the whole report."""
    cb = load_codebook()
    spec = load_spec()
    spec["respondents"][SMALL] = 3
    spec["respondents"]["一般行政"] += 21  # keep 1,340 respondents
    survey = generate(cb, spec)
    folder = tmp_path_factory.mktemp("small")
    data = write_export(survey.responses, survey.free_text, cb, folder / "small_synthetic.xlsx")
    out = folder / "out"
    assert main(["--data", str(data), "--frame", str(FRAME), "--out", str(out)]) == 0
    return survey, out


def test_suppression_rule():
    bases = pd.Series({"a": 100, "b": 3, "c": 40, "d": 12, "e": 0})
    assert suppressed_groups(bases, 10) == {"b": PRIMARY, "d": SECONDARY}  # the next smallest, not the empty one
    assert suppressed_groups(pd.Series({"a": 5, "b": 4, "c": 50}), 10) == {"a": PRIMARY, "b": PRIMARY}
    assert suppressed_groups(pd.Series({"a": 50, "b": 40}), 10) == {}


def test_three_respondents_are_published_nowhere(small_run, codebook):
    survey, out = small_run
    processed = out / "data" / "processed"
    cells = pd.read_csv(processed / "crosstab_cells.csv", encoding="utf-8-sig", dtype=str)
    by_domain = cells[cells["by"] == "domain"]
    small = by_domain[by_domain["group"] == SMALL]
    assert len(small) and (small[["n", "share", "estimate", "se", "ci_low", "ci_high"]] == "x").all().all()
    for qid, table in by_domain.groupby("question"):
        held = table.loc[table["share"] == "x", "group"].unique()
        # never exactly one suppressed group: the 全体 row minus the others would give it back
        assert SMALL in held and len(held) >= 2, qid
    likert = pd.read_csv(processed / "likert_summary.csv", encoding="utf-8-sig", dtype=str)
    assert (likert.loc[(likert["by"] == "domain") & (likert["group"] == SMALL), "estimate"] == "x").all()
    audit = pd.read_csv(processed / "suppression_audit.csv", encoding="utf-8-sig")
    assert ((audit["group"] == SMALL) & (audit["reason"] == PRIMARY)).sum() == len(
        codebook.questions_of_type("sa", "likert", "ma")
    )

    wb = load_workbook(processed / "集計表_架空データ.xlsx")
    ws = wb["クロス集計（職域）"]
    rows = [r for r in ws.iter_rows(values_only=True) if r[0] == SMALL]
    assert rows and all(all(v == "x" for v in r[3:] if v is not None) for r in rows)
    assert "秘匿" in wb.sheetnames

    # the policy matrix: no group below the threshold is shown with a value (evidence, findings, page)
    evidence = pd.read_csv(processed / "policy_matrix_evidence.csv", encoding="utf-8-sig", dtype=str)
    assert SMALL not in set(evidence["集団"])
    findings = pd.read_csv(processed / "policy_matrix_findings.csv", encoding="utf-8-sig", dtype=str)
    assert not findings["選択肢・内容"].fillna("").str.contains(SMALL).any()
    page = (out / "figures" / "2-08_政策マトリクス.html").read_text(encoding="utf-8")
    assert f"{SMALL}：" not in page  # a group's value is printed as 「職域：値」


def test_suppressed_groups_are_not_drawn(small_run, frame, codebook):
    from ppp_survey.analysis import analyse
    from ppp_survey.outputs import plots

    survey, _ = small_run
    analysis = analyse(survey.responses, frame, codebook)
    item = codebook.item("q2")
    with plots.theme():
        ax = plots.plot_stacked(analysis.tally("q2", by="domain"), item)
        ticks = {t.get_text().split("（")[0]: y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
        drawn_rows = {round(p.get_y() + p.get_height() / 2, 3) for p in ax.patches}
        assert round(float(ticks[SMALL]), 3) not in drawn_rows
        assert any(t.get_text().startswith("x") for t in ax.texts)
        heat = plots.plot_heatmap(analysis.crosstabs[("q2", "domain")])
        masked = np.ma.getmaskarray(heat.collections[0].get_array()).reshape(len(codebook.stratum.labels), -1)
        assert masked[codebook.stratum.labels.index(SMALL)].all()  # no colour, no number: only the x


def _all_text(folder: Path) -> str:
    """Every text an output folder publishes: CSV/JSON as text, workbooks' XML parts."""
    parts = []
    for path in folder.rglob("*"):
        if path.suffix in (".csv", ".json"):
            parts.append(path.read_text(encoding="utf-8-sig"))
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                parts += [z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")]
    return "\n".join(parts)


def test_free_text_stays_out_unless_asked(small_run, tmp_path):
    survey, out = small_run
    texts = set(survey.free_text["text"])
    assert texts
    published = _all_text(out)
    assert not [t for t in texts if t in published]
    data = next(out.parent.glob("*.xlsx"))
    assert main(["--data", str(data), "--frame", str(FRAME), "--out", str(tmp_path), "--export-free-text"]) == 0
    internal = tmp_path / "data" / "processed" / "internal" / "自由記述_内部用_公開禁止.csv"
    assert set(pd.read_csv(internal, encoding="utf-8-sig")["text"]) == texts


def test_threshold_below_three_is_refused(tmp_path, capsys):
    from conftest import BASELINE

    assert main(["--data", str(BASELINE), "--frame", str(FRAME), "--out", str(tmp_path), "--min-group", "2"]) == 2
    assert "at least 3" in capsys.readouterr().err


def test_pooling_small_groups(small_run, frame, codebook):
    from ppp_survey.analysis import analyse

    survey, _ = small_run
    analysis = analyse(survey.responses, frame, codebook, pool=True)
    groups = set(analysis.crosstabs[("q2", "domain")].cells["group"])
    assert SMALL not in groups and "その他" in groups


def test_uniform_answers_are_flagged(frame, codebook):
    from ppp_survey.analysis import analyse

    survey = generate(codebook)
    responses = survey.responses.copy()
    responses.loc[responses["domain"] == "教育・保育", "q3"] = "ない"  # everyone in the group gives one answer
    analysis = analyse(responses, frame, codebook)
    flags = analysis.audit[(analysis.audit["reason"] == UNIFORM) & (analysis.audit["question"] == "q3")]
    assert "教育・保育" in set(flags["group"])


def test_nobody_ticking_an_option_is_flagged_for_multi_select_only(frame, codebook):
    from ppp_survey.analysis import analyse

    survey = generate(codebook)
    responses = survey.responses.copy()
    group = responses["domain"] == "教育・保育"
    q4 = codebook.item("q4")
    answered = group & responses[q4.option_columns[0]].notna()
    responses.loc[answered, q4.option_columns[0]] = 0  # nobody in the group ticks the first option
    analysis = analyse(responses, frame, codebook)
    flags = analysis.audit[(analysis.audit["reason"] == UNIFORM) & (analysis.audit["by"] == "domain")]
    assert "教育・保育" in set(flags.loc[flags["question"] == "q4", "group"])
    # a single-answer choice nobody gave is not a disclosure of everyone's answer
    q2 = analysis.crosstabs[("q2", "domain")].cells
    zero = set(q2.loc[(q2["share"] == 0.0) & (q2["base_n"] > 0), "group"])
    full = set(q2.loc[q2["share"] == 1.0, "group"])
    assert set(flags.loc[flags["question"] == "q2", "group"]) == full
    assert zero - full  # the synthetic data do have 0% single-answer cells (技能労務 on q2)


def test_interrupted_write_leaves_nothing(tmp_path):
    target = tmp_path / "table.csv"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half a table", encoding="utf-8")
            raise RuntimeError("interrupted")
    assert not target.exists() and not list(tmp_path.iterdir())


def test_real_data_is_ignored_by_git():
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0

    for real in (
        "data/raw/回答_本番.xlsx",
        "data/raw/export.csv",
        "data/processed/集計表.xlsx",
        "data/processed/internal/自由記述_内部用_公開禁止.csv",
        "figures/2-01_官民連携の重要性.png",
        "figures/2-08_政策マトリクス.html",
    ):
        assert ignored(real), real
    # no chart is tracked: a report on real data into the default folders leaves git clean
    tracked = subprocess.run(["git", "ls-files", "figures"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert tracked in ([], ["figures/.gitkeep"]), tracked
    assert ignored("data/processed/baseline_r8/manifest.json")  # a real wave's frozen baseline
    for synthetic in (
        "data/raw/synthetic_r7_responses.xlsx",
        "data/raw/staff_frame_r7.csv",
        "data/raw/synthetic_r8_responses.xlsx",
        "data/raw/staff_frame_r8.csv",
        "data/processed/baseline_r7/manifest.json",
        "data/processed/baseline_r7/indicators.csv",
    ):
        assert not ignored(synthetic), synthetic
