"""Adjusted associations (ppp_survey.survey.associations): indicator keys become the 0/1 columns the
tables use, and the model is survey_glm on them (checked against survey_glm on hand-made columns)."""

from __future__ import annotations

import numpy as np
import pytest

from ppp_survey.spec.margins import load_margins
from ppp_survey.survey.associations import (
    DEFAULT_TERMS,
    adjusted_association,
    association_model,
    canonical_key,
    indicator,
    key_label,
)
from ppp_survey.survey.calibration import rake
from ppp_survey.survey.regression import survey_glm
from ppp_survey.survey.tables import likert_summary, make_design
from test_margins import ILLUSTRATIVE


@pytest.fixture(scope="module")
def design(baseline, frame, codebook):
    return make_design(baseline.responses, frame, codebook)


def test_indicator_columns(baseline, codebook, design):
    r = baseline.responses
    top = indicator(r, codebook, "q6:top2")
    assert top.isna().sum() == r["q6"].isna().sum()
    assert top.sum() == r["q6"].isin(["感じる", "どちらかといえば感じる"]).sum()  # わからない counts as 0
    # the same share as the tables' 肯定的回答
    summary = likert_summary(r, design, codebook.item("q6"))
    row = summary[summary["measure"] == "top2"].iloc[0]  # Measure.TOP2
    assert top.mean() == pytest.approx(row["unweighted"], rel=1e-12)
    assert indicator(r, codebook, "q3:choice:1").sum() == (r["q3"] == "ある").sum()
    np.testing.assert_array_equal(indicator(r, codebook, "q5:opt:3"), r["q5_3"].to_numpy(dtype=float, na_value=np.nan))
    for bad, error in [("q9:top2", KeyError), ("q3:top2", ValueError), ("q2:choice:9", KeyError), ("q2", ValueError)]:
        with pytest.raises(error):
            indicator(r, codebook, bad)


def test_labels(codebook):
    assert key_label(codebook, "position") == "職位"
    assert key_label(codebook, "q6:top2") == "2-(6) 肯定的回答"
    assert key_label(codebook, "q3:choice:1") == "2-(3) ある"


@pytest.mark.parametrize("calibrated", [False, True])
def test_willingness_model_on_the_baseline(baseline, codebook, design, tmp_path, calibrated):
    r = baseline.responses
    weights = design
    if calibrated:
        path = tmp_path / "m.csv"
        path.write_text(ILLUSTRATIVE, encoding="utf-8")
        weights = rake(r, design, load_margins(path, codebook).targets())
    result = association_model(r, weights, codebook)
    # the default terms name 2-(3) by its label; the model names every term by this codebook's code
    assert result.response == "q2:top2" and [t.name for t in result.terms] == [
        canonical_key(codebook, t) for t in DEFAULT_TERMS
    ]
    assert "q3:choice:1" in [t.name for t in result.terms] and "q3:choice:ある" in DEFAULT_TERMS
    data = r[["domain", "position", "age"]].assign(
        y=np.where(r["q2"].isna(), np.nan, r["q2"].isin(["意欲がある", "どちらかといえば意欲がある"]).astype(float)),
        exp=np.where(r["q3"].isna(), np.nan, (r["q3"] == "ある").astype(float)),
        easy=np.where(r["q6"].isna(), np.nan, r["q6"].isin(["感じる", "どちらかといえば感じる"]).astype(float)),
    )
    by_hand = survey_glm(data, weights, "y", ["domain", "position", "age", "exp", "easy"], family="binomial")
    np.testing.assert_array_equal(result.coefficients, by_hand.coefficients)
    np.testing.assert_array_equal(result.se, by_hand.se)
    lever = adjusted_association(result, "q6:top2")
    row = result.table[result.table["term"] == "q6:top2"].iloc[0]
    assert lever.odds_ratio == pytest.approx(np.exp(row["coefficient"]))
    assert lever.ci_low < lever.odds_ratio < lever.ci_high and lever.p_value == row["p_value"]
    assert lever.controls == ("domain", "position", "age", "q3:choice:1") and lever.n == result.n
    with pytest.raises(KeyError):
        adjusted_association(result, "domain")  # eight coefficients: not one odds ratio


def test_analysis_fits_each_model_once_on_its_process_weights():
    """Analysis.association_for: the default model is the one analyse fitted; another (response, terms)
    is fitted once on the design without FPC and kept."""
    from conftest import BASELINE, FRAME
    from ppp_survey.analysis import load_survey

    s = load_survey(BASELINE, FRAME)
    a = s.analysis
    assert a.association is not None
    assert a.association_for(a.association.response, a.association_terms) is a.association
    other = a.association_for("q2:top2", ("domain", "q6:top2"))
    assert other is a.association_for("q2:top2", ["domain", "q6:top2"])
    assert other.fpc is False and [t.name for t in other.terms] == ["domain", "q6:top2"]


def test_the_default_model_is_fitted_only_on_the_questions_it_names(tmp_path):
    """The default model names the packaged questionnaire's questions by id (q2 willingness, q3, q6):
    on an own codebook whose q2 is another question (here 2-(1) importance, numbered q2), it is not
    fitted on that question: the analysis says why and has no association model; on the packaged
    codebook, and on one whose ids are the packaged questions, it is fitted."""
    import re

    from conftest import BASELINE, FRAME, REPO
    from ppp_survey import load_codebook, load_frame, load_responses
    from ppp_survey.analysis import analyse
    from ppp_survey.survey.associations import default_model_misfit

    text = (REPO / "src" / "ppp_survey" / "data" / "codebook_r7.yaml").read_text(encoding="utf-8")
    swapped = re.sub(r"(?m)^(  - id: )q([12])$", lambda m: f"{m[1]}q{3 - int(m[2])}", text)
    assert swapped.count("id: q1\n") == text.count("id: q1\n") == 1 and swapped != text
    path = tmp_path / "codebook_own.yaml"
    path.write_text(swapped, encoding="utf-8")
    own = load_codebook(path)
    assert own.item("q2").label == load_codebook().item("q1").label
    assert "q2" in default_model_misfit(own) and default_model_misfit(load_codebook()) is None
    said: list[str] = []
    loaded = load_responses(BASELINE, own)
    analysis = analyse(loaded.responses, load_frame(FRAME, own), own, progress=said.append)
    assert analysis.association is None
    assert any("関連要因の回帰は省略" in line and "q2" in line for line in said), said
    packaged = load_codebook()
    fitted = analyse(load_responses(BASELINE, packaged).responses, load_frame(FRAME, packaged), packaged)
    assert fitted.association is not None
