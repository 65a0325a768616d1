"""The forest plot of odds ratios: what it draws (points at the odds ratios, intervals, the line at 1,
log scale), its labels and its footer (base n, weights, source note), checked on the artists."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from ppp_survey import stratified_design
from ppp_survey.outputs.regression_charts import odds_ratio_labels, plot_odds_ratios
from ppp_survey.survey.indicators import top2
from ppp_survey.survey.regression import survey_glm
from ppp_survey.survey.tables import make_design
from ppp_survey.text import Coverage, source_note

NAMES = {"domain": "職域", "position": "職位", "age": "年代"}


@pytest.fixture(scope="module")
def fitted(baseline, frame, codebook):
    r = baseline.responses
    positive = [c.label for c in top2(codebook.item("q2"))]
    data = r.assign(willing=np.where(r["q2"].isna(), np.nan, r["q2"].isin(positive).astype(float)))
    design = make_design(r, frame, codebook)
    return survey_glm(data, design, "willing", ["domain", "position", "age"], family="binomial")


def test_forest_plot_draws_odds_ratios_with_intervals(fitted, codebook):
    note = source_note(codebook, Coverage(3138, 1340), synthetic=True)
    ax = plot_odds_ratios(fitted, names=NAMES, title="意欲ありのオッズ比（95%信頼区間）", note=note)
    ax.figure.canvas.draw()
    rows = fitted.table[fitted.table["term"] != "(Intercept)"]
    k = len(rows)
    assert k == 8 + 3 + 3
    assert ax.get_xscale() == "log"
    points = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    assert sorted(points[:, 0]) == pytest.approx(sorted(rows["odds_ratio"]), rel=1e-12)
    (lines,) = [c for c in ax.collections if hasattr(c, "get_segments") and len(c.get_segments()) == k]
    ends = np.array([[s[0][0], s[1][0]] for s in lines.get_segments()])
    np.testing.assert_allclose(np.sort(ends[:, 0]), np.sort(rows["or_ci_low"]), rtol=1e-12)
    np.testing.assert_allclose(np.sort(ends[:, 1]), np.sort(rows["or_ci_high"]), rtol=1e-12)
    assert any(np.allclose(line.get_xdata(), 1.0) for line in ax.get_lines())  # the reference line at 1
    labels = [t.get_text().replace("\n", "") for t in ax.get_yticklabels()]  # long labels break at phrases
    assert labels == odds_ratio_labels(fitted, NAMES)
    assert labels[0] == "職域（基準: 一般行政）: 税務" and labels[-1] == "年代（基準: 20代以下）: 50代以上"
    texts = " ".join(t.get_text() for t in ax.figure.texts)
    assert f"n = {fitted.n:,}" in texts and f"{fitted.n_dropped:,}人を除く" in texts and note in texts
    assert "架空データ" in texts and "ロジスティック回帰" in texts
    assert "オッズ比" in ax.get_title(loc="left") and "95%" in ax.get_title(loc="left")
    assert "対数目盛" in ax.get_xlabel()
    values = [t.get_text() for t in ax.texts]
    first = rows.iloc[0]
    assert f"{first['odds_ratio']:.2f}（{first['or_ci_low']:.2f}～{first['or_ci_high']:.2f}）" in values


def test_forest_plot_draws_on_a_given_axes_and_refuses_a_linear_model(fitted):
    fig, ax = plt.subplots()
    assert plot_odds_ratios(fitted, ax=ax) is ax
    fig.canvas.draw()  # every Japanese label renders (a missing glyph is an error in this suite)
    assert ax.get_title(loc="left") == "willingのオッズ比（95%信頼区間）"
    data = pd.DataFrame({"y": np.arange(40.0), "x": np.arange(40.0) % 7, "s": ["a", "b"] * 20})
    design = stratified_design(data, {"a": 100, "b": 100}, strata="s")
    with pytest.raises(ValueError, match="logistic"):
        plot_odds_ratios(survey_glm(data, design, "y", ["x"]))
