"""Sheets and display tables of the raking and the adjusted associations (outputs.calibration_sheets):
they show the survey layer's numbers (rounded half up), with Japanese headers, and write to a workbook
and a PNG."""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest
from PIL import Image

from ppp_survey.outputs.calibration_sheets import (
    ASSOCIATION_FIGURE,
    association_display,
    association_figure_plan,
    calibration_note,
    calibration_sheets,
    margins_display,
    term_tests_display,
    weights_display,
)
from ppp_survey.outputs.chart_layout import PAGE_WIDTH_IN
from ppp_survey.outputs.figure_files import save_figures
from ppp_survey.outputs.plots import BAR_COLOR, FIGURE_DPI
from ppp_survey.outputs.xlsx import write_workbook
from ppp_survey.spec.margins import load_margins
from ppp_survey.survey.associations import association_model, key_label
from ppp_survey.survey.calibration import rake
from ppp_survey.survey.tables import make_design
from ppp_survey.survey.weights_comparison import compare_weights
from ppp_survey.text import Coverage, source_note
from ppp_survey.workers import Workers
from test_margins import ILLUSTRATIVE


@pytest.fixture(scope="module")
def pieces(baseline, frame, codebook, tmp_path_factory):
    r = baseline.responses
    design = make_design(r, frame, codebook)
    path = tmp_path_factory.mktemp("m") / "m.csv"
    path.write_text(ILLUSTRATIVE, encoding="utf-8")
    cal = rake(r, design, load_margins(path, codebook).targets())
    comparison = compare_weights(r, cal, [codebook.item(q) for q in ("q1", "q2", "q3")])
    model = association_model(r, cal, codebook)
    names = {t.name: key_label(codebook, t.name) for t in model.terms}
    return cal, comparison, model, names


def test_display_tables_show_the_numbers(pieces):
    cal, comparison, model, names = pieces
    margins = margins_display(cal, {"position": "職位"})
    assert len(margins) == 9 + 5 + 5 and "職位" in set(margins["属性"])
    assert margins["相対誤差"].max() <= 1e-10
    weights = weights_display(comparison)
    assert weights["職域別ウェイト(%)"].iloc[0] == pytest.approx(round(100 * comparison["estimate_strata"].iloc[0], 1))
    assert np.max(np.abs(weights["差(ポイント)"] - 100 * comparison["difference"])) <= 0.05 + 1e-9  # one decimal
    coefficients = association_display(model, names)
    assert len(coefficients) == len(model.names) - 1
    assert coefficients["説明変数"].iloc[-1] == "2-(6) 肯定的回答"
    assert np.max(np.abs(coefficients["オッズ比"] - model.table["odds_ratio"].to_numpy()[1:])) <= 0.005 + 1e-9
    tests = term_tests_display(model, names)
    assert tests["説明変数"].tolist() == ["職域", "職位", "年代", "2-(3) ある", "2-(6) 肯定的回答"]
    assert "レイキング" in calibration_note(cal) and "calibrate" in calibration_note(cal)


def test_sheets_write_to_a_workbook_and_the_forest_plot_to_png(pieces, codebook, tmp_path):
    cal, comparison, model, names = pieces
    note = source_note(codebook, Coverage(3138, 1340), synthetic=True)
    sheets = calibration_sheets(source_note=note, cal=cal, comparison=comparison, association=model, names=names)
    assert [s.name for s in sheets] == ["レイキング", "関連要因"]
    book = write_workbook(tmp_path / "book.xlsx", sheets, banner="架空データ")
    wb = openpyxl.load_workbook(book)
    text = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    assert "全体の推定: 職域別ウェイトとレイキング後" in text and "係数とオッズ比" in text and note in text
    assert calibration_sheets(source_note=note) == []
    written = save_figures(association_figure_plan(model, names=names, note=note), tmp_path, workers=Workers(1))
    (path,) = [p for p in written if p.suffix == ".png"]  # (save_figures writes an SVG beside it)
    assert path.name == ASSOCIATION_FIGURE
    with Image.open(path) as image:  # a 16 cm wide chart at print resolution, not an empty canvas
        assert image.format == "PNG" and image.width == int(PAGE_WIDTH_IN * FIGURE_DPI)  # 1,889.8 → 1,889
        assert image.info["dpi"] == pytest.approx((FIGURE_DPI, FIGURE_DPI), abs=0.01)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(np.int32)
    rgb = pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2]
    for colour in (BAR_COLOR, "#c0392b"):  # the filled points, the dashed line at 1
        assert (rgb == int(colour[1:], 16)).any(), colour
    assert 0.02 < (rgb != 0xFFFFFF).mean() < 0.3  # ink: 5% of the pixels (axes, text, points)
    # the points of the chart (its SVG twin): one per coefficient, filled where the 95% interval
    # excludes 1 (12 of 16 here), open elsewhere; plus one of each in the legend
    rows = model.table.iloc[1:]
    clear = int(((rows["or_ci_low"] > 1) | (rows["or_ci_high"] < 1)).sum())
    svg = path.with_suffix(".svg").read_text(encoding="utf-8")
    assert svg.count(f'style="fill: {BAR_COLOR}; stroke: {BAR_COLOR}"') == clear + 1
    assert svg.count('style="fill: #ffffff; stroke: #767676"') == len(rows) - clear + 1
