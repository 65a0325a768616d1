"""Issue 19, --calibrate for every table: tallies, crosstabs, Rao–Scott tests, marks and the matrix's
shares on the raked weights.

The estimators count per *sum cell* (:class:`ppp_survey.survey.design.Weighting`); a calibration's
cells are the combinations of the margins' categories. The references here work respondent by
respondent instead: the influence values of each estimate are formed row by row and their variance
is :meth:`Calibration.covariance` (the calibration residuals of every row, then the design's
stratified formula), which tests/test_calibration.py checks against R's code and svy. And
post-stratification on 職域 alone (a calibration without further margins) must give the design's
tables exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import BASELINE, FRAME
from ppp_survey.analysis import analyse, load_survey
from ppp_survey.outputs.captions import DESIGN_NOTE, design_note, source_note, table_notes
from ppp_survey.spec.margins import load_margins
from ppp_survey.survey.calibration import rake
from ppp_survey.survey.estimate import survey_mean, survey_total
from ppp_survey.survey.item_sums import indicators
from ppp_survey.survey.significance import rao_scott
from ppp_survey.survey.tables import crosstab, likert_summary, tally
from ppp_survey.text import WeightsMethod, weights_text

MARGINS = BASELINE.parent / "staff_margins_r7.csv"


pytestmark = pytest.mark.usefixtures("one_process")  # every report of this module: one process (conftest)


@pytest.fixture(scope="module")
def survey():
    return load_survey(BASELINE, FRAME)


@pytest.fixture(scope="module", params=["calibrate", "rake"])
def cal(request, survey):
    a = survey.analysis
    margins = load_margins(MARGINS, a.codebook)
    return rake(a.responses, a.design, margins.merged(a.pools.by_attribute).targets(), variance=request.param)


def _domain_reference(y: np.ndarray, member: np.ndarray, w: np.ndarray, cal) -> tuple[float, float]:
    """Ratio mean of y over the members and its SE, row by row (z_i = 1{member}(y_i − R)/N̂)."""
    nhat = w[member].sum()
    r = float((w * y)[member].sum() / nhat)
    z = np.where(member, (y - r) / nhat, 0.0)
    return r, float(np.sqrt(cal.variances(z[:, None])[0]))


def test_a_calibration_has_cells_of_equal_weight(cal):
    assert cal.n_cells < cal.n
    np.testing.assert_array_equal(cal.cell_weights[cal.cell_codes], cal.weights)
    assert cal.df == cal.design.df


@pytest.mark.parametrize("by", [None, "position", "age"])
def test_shares_by_group_match_the_row_by_row_reference(survey, cal, by):
    a = survey.analysis
    item = a.codebook.item("q1")
    ind = indicators(a.responses, item)
    table = tally(a.responses, cal, item, by=by)
    groups = [None] if by is None else list(a.responses[by].cat.categories)
    worst = 0.0
    for k, col in enumerate(item.option_columns):
        y = ind[col].to_numpy(float)
        answered = ~np.isnan(y)
        for g in groups:
            member = answered if g is None else answered & (a.responses[by] == g).to_numpy()
            if member.sum() == 0:
                continue
            r, se = _domain_reference(np.nan_to_num(y), member, cal.weights, cal)
            row = table[(table["code"] == item.choices[k].code) & (table["group"] == (g if g else "全体"))].iloc[0]
            worst = max(worst, abs(row["estimate"] - r) / r, abs(row["se"] - se) / se)
    assert worst < 1e-10


def test_a_total_matches_the_row_by_row_reference(survey, cal):
    a = survey.analysis
    data = indicators(a.responses, a.codebook.item("q5"))
    out = survey_total(data, cal, list(data.columns))
    z = data.fillna(0.0).to_numpy()
    np.testing.assert_allclose(out["estimate"], cal.weights @ z, rtol=1e-12)
    np.testing.assert_allclose(out["se"] ** 2, cal.variances(z), rtol=1e-10)


def test_the_rao_scott_covariance_matches_the_row_by_row_reference(survey, cal):
    """The covariance of the cell proportions of 2-(2) × 職位 from cell sums equals the one from each
    row's influence values (the only part of the test that depends on the weights' kind)."""
    a = survey.analysis
    r = a.responses["q2"].cat.codes.to_numpy()
    c = a.responses["position"].cat.codes.to_numpy()
    base = (r >= 0) & (c >= 0)
    n_r, n_c = len(a.responses["q2"].cat.categories), len(a.responses["position"].cat.categories)
    cell = np.where(base, r + n_r * c, -1)
    delta = (cell[:, None] == np.arange(n_r * n_c)[None, :]).astype(float)
    w = cal.weights
    nhat = w[base].sum()
    p = (w[:, None] * delta).sum(axis=0) / nhat
    z = np.where(base[:, None], (delta - p) / nhat, 0.0)
    reference = cal.covariance(z)
    # the same from cell sums
    codes, size = cal.cell_codes, cal.n_cells
    linear = np.stack([np.bincount(codes, weights=z[:, j], minlength=size) for j in range(z.shape[1])], axis=1)
    cross = np.zeros((size, z.shape[1], z.shape[1]))
    np.add.at(cross, codes, z[:, :, None] * z[:, None, :])
    np.testing.assert_allclose(cal.covariance_from_sums(linear, cross), reference, rtol=1e-9, atol=1e-15)
    test = rao_scott(a.responses, cal, "position", "q2")
    assert np.isfinite(test.p_value) and test.n == int(base.sum())


def test_post_stratification_gives_the_design_tables_exactly(survey):
    """A calibration to the 職域 alone: every tally, crosstab (marks and tests) and Likert summary
    equals the design's to 1e-12."""
    a = survey.analysis
    post = rake(a.responses, a.design)
    for q in ("q1", "q5", "q6"):
        item = a.codebook.item(q)
        x, y = crosstab(a.responses, post, item, by="age"), crosstab(a.responses, a.design, item, by="age")
        pd.testing.assert_frame_equal(x.cells, y.cells, rtol=1e-12, atol=1e-15)
        pd.testing.assert_frame_equal(x.tests, y.tests, rtol=1e-10, atol=1e-15)
        pd.testing.assert_frame_equal(tally(a.responses, post, item), tally(a.responses, a.design, item), rtol=1e-12)
    item = a.codebook.item("q6")
    pd.testing.assert_frame_equal(
        likert_summary(a.responses, post, item, by="position"),
        likert_summary(a.responses, a.design, item, by="position"),
        rtol=1e-12,
    )


def test_calibrate_puts_every_table_on_the_raked_weights(survey):
    """analyse(..., calibrate=True): the 全体 shares are the raked ones of the weights comparison, the
    crosstabs, tests and the matrix's shares use them, and the notes say so."""
    a = survey.analysis
    margins = load_margins(MARGINS, a.source_codebook or a.codebook)
    loaded = survey.loaded
    plain = analyse(loaded.responses, survey.frame, a.source_codebook, margins=margins)
    raked = analyse(loaded.responses, survey.frame, a.source_codebook, margins=margins, calibrate=True)
    assert not plain.calibrated and raked.calibrated and raked.weights is raked.calibration
    comparison = raked.weights_comparison.set_index(["question", "code"])
    for q in ("q1", "q2", "q3"):
        gt = raked.gt[raked.gt["question"] == q].set_index("code")
        np.testing.assert_allclose(gt["estimate"], comparison.loc[q].loc[gt.index, "estimate_calibrated"], rtol=1e-12)
        plain_gt = plain.gt[plain.gt["question"] == q].set_index("code")
        np.testing.assert_allclose(plain_gt["estimate"], comparison.loc[q].loc[gt.index, "estimate_strata"], rtol=1e-12)
    # a crosstab by 職位 and the matrix's share: on the raked weights, not the design's
    cells = raked.crosstabs[("q2", "position")].cells
    reference = survey_mean(
        indicators(raked.responses, raked.codebook.item("q2")).assign(position=raked.responses["position"]),
        raked.calibration,
        "q2_1",
        by="position",
    )
    np.testing.assert_allclose(cells[cells["code"] == 1]["estimate"], reference["estimate"], rtol=1e-12)
    share = raked.share_of_any("q2", (1, 2))
    assert share["estimate"].iloc[0] == pytest.approx(comparison.loc[("q2", 0), "estimate_calibrated"], rel=1e-12)
    assert not np.allclose(
        raked.crosstabs[("q2", "position")].cells["estimate"], plain.crosstabs[("q2", "position")].cells["estimate"]
    )
    assert "レイキング" in source_note(raked, synthetic=True) and "レイキング" not in source_note(plain, synthetic=True)
    assert design_note(raked.weights.method) in table_notes(raked.crosstabs[("q2", "position")])
    assert "職域・職位・年代の職員数" in design_note(raked.weights.method)
    assert DESIGN_NOTE in table_notes(plain.crosstabs[("q2", "position")])


@pytest.mark.report
def test_rake_bounds_keep_every_factor_and_are_recorded(survey, tmp_path, capsys):
    """--rake-bounds L,U: every raked weight within L–U times its 職域 weight, every margin still met,
    the limits said on screen and in the manifest; a wrong value or one without --margins stops with
    one Japanese line (exit 2)."""
    import json

    from ppp_survey.report.cli import main

    a = survey.analysis
    margins = load_margins(MARGINS, a.source_codebook or a.codebook)
    bounded = analyse(survey.loaded.responses, survey.frame, a.source_codebook, margins=margins, bounds=(0.7, 1.4))
    g = bounded.calibration.g
    assert g.min() >= 0.7 - 1e-12 and g.max() <= 1.4 + 1e-12 and (g.min() <= 0.7 + 1e-9 or g.max() >= 1.4 - 1e-9)
    assert bounded.calibration.margin_table()["relative_error"].max() < 1e-9
    out = tmp_path / "out"
    argv = ["--margins", str(MARGINS), "--calibrate", "--rake-bounds", "0.7,1.4", "--out", str(out), "--tables-only"]
    assert main(argv) == 0
    assert "調整係数 0.7～1.4倍" in capsys.readouterr().err
    manifest = json.loads((out / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["options"]["rake_bounds"] == "(0.7, 1.4)"
    for bad, message in (
        (["--rake-bounds", "2,3"], "0 < 下限 ≤ 1 ≤ 上限"),
        (["--rake-bounds", "abc"], "読めない"),
        (["--rake-bounds", "0.99,1.01"], "職位「"),
    ):
        assert main(["--margins", str(MARGINS), *bad, "--out", str(tmp_path / "x"), "--no-paper"]) == 2
        last = capsys.readouterr().err.splitlines()[-1]  # bounds that cannot be met stop the run after its notices
        assert last.startswith("エラー: ") and message in last, last
    assert main(["--rake-bounds", "0.5,2", "--out", str(tmp_path / "y")]) == 2
    assert "--rake-bounds には --margins" in capsys.readouterr().err


@pytest.mark.report
def test_every_output_of_a_raked_run_says_raked_and_plain_charts_do_not(survey, tmp_path):
    """--calibrate: the matrix page, the workbook's sheets (matrix, KPI, findings, crosstabs, 説明)
    state the raking, never the 職域-only method; charts of plain respondent shares carry no weights
    statement (no weight touches them), --weighted charts do."""
    import html
    import zipfile

    from ppp_survey.report.cli import figure_plan, main

    out = tmp_path / "out"
    assert main(["--margins", str(MARGINS), "--calibrate", "--out", str(out), "--no-paper"]) == 0
    page = (out / "figures" / "2-08_政策マトリクス.html").read_text(encoding="utf-8")
    raked_note = weights_text(WeightsMethod(("職位", "年代")), "note")  # the margins of MARGINS
    assert raked_note in page and DESIGN_NOTE not in page and "事後層化" not in page
    with zipfile.ZipFile(out / "data" / "processed" / "集計表_架空データ.xlsx") as z:
        book = html.unescape("".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")))
    assert raked_note in book and DESIGN_NOTE not in book

    a = survey.analysis
    margins = load_margins(MARGINS, a.source_codebook or a.codebook)
    raked = analyse(survey.loaded.responses, survey.frame, a.source_codebook, margins=margins, calibrate=True)
    note, plain = source_note(raked, synthetic=True), source_note(raked, synthetic=True, weights=False)
    assert "レイキング" in note and "レイキング" not in plain

    def footer(plan, name):
        from ppp_survey.outputs.plots import theme

        with theme():
            return " ".join(t.get_text() for t in dict(plan)[name]().figure.texts)

    chart = "2-01_官民連携の重要性.png"
    shares = figure_plan(raked, weighted=False, note=plain, plain_note=plain)
    assert "レイキング" not in footer(shares, chart) and "レイキング" not in footer(shares, "2-00_職域別回答率.png")
    weighted = figure_plan(raked, weighted=True, note=note, plain_note=plain)
    assert "レイキング" in footer(weighted, chart) and "レイキング" not in footer(weighted, "2-00_職域別回答率.png")
