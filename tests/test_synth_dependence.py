"""The synthetic generator's documented dependence (issue 19, synthetic_r7.yaml `dependence`): willingness
(2-(2) 肯定的回答) depends on 2-(3) ある (log odds ratio 0.7), 2-(6) 肯定的回答 (0.9) and 年代 (30代 −0.2,
40代 −0.35, 50代以上 −0.5 against 20代以下), and the design-based regression finds it.

Inference is about the process that produced the answers, so the design has no finite population
correction: over 200 regenerations (seeds 1000–1199) each effect's 95% interval held the true value
93.0–96.0% of the time (all five at once 80%); with the correction 82–91% (measured).
"""

from __future__ import annotations

import copy

import pytest

from conftest import FRAME
from ppp_survey import load_frame
from ppp_survey.errors import PppSurveyError
from ppp_survey.survey.associations import association_model
from ppp_survey.survey.tables import make_design
from ppp_survey.synth.generator import generate, load_spec

TRUTH = {"q3:choice:1": 0.7, "q6:top2": 0.9, "age=30代": -0.2, "age=40代": -0.35, "age=50代以上": -0.5}


def test_the_spec_documents_the_effects():
    rule = load_spec()["dependence"]["q2"]
    assert rule["log_odds"]["q3"] == {"ある": TRUTH["q3:choice:1"]}
    assert rule["log_odds"]["q6"] == {"感じる": 0.9, "どちらかといえば感じる": 0.9}


def test_only_willingness_changes(codebook):
    spec = load_spec()
    with_dependence = generate(codebook, spec).responses
    without = generate(codebook, {**spec, "dependence": {}}).responses
    changed = [c for c in with_dependence.columns if not with_dependence[c].equals(without[c])]
    assert changed == ["q2"]
    assert (with_dependence["q2"].isna() == without["q2"].isna()).all()  # the same blanks


def test_the_regression_recovers_the_built_in_effects(codebook):
    frame = load_frame(FRAME, codebook)
    responses = generate(codebook).responses  # the bundled seed, 1,340 respondents
    design = make_design(responses, frame, codebook, fpc=False)
    table = association_model(responses, design, codebook).table.set_index("name")
    for name, value in TRUTH.items():
        assert table.loc[name, "ci_low"] <= value <= table.loc[name, "ci_high"], name
    assert table.loc["q6:top2", "ci_low"] > 0 and table.loc["q3:choice:1", "ci_low"] > 0  # found, not just covered


def test_interval_coverage_over_regenerations(codebook):
    frame = load_frame(FRAME, codebook)
    hits = {name: 0 for name in TRUTH}
    runs = 100
    for seed in range(1000, 1000 + runs):
        responses = generate(codebook, seed=seed).responses
        table = association_model(responses, make_design(responses, frame, codebook, fpc=False), codebook).table
        table = table.set_index("name")
        for name, value in TRUTH.items():
            hits[name] += table.loc[name, "ci_low"] <= value <= table.loc[name, "ci_high"]
    for name, count in hits.items():
        assert 0.88 <= count / runs <= 1.0, (name, count)


def test_r8_has_r7s_dependence():
    """The R8 wave draws willingness with R7's log odds ratios (synthetic_r8.yaml), so a regression on
    either wave describes one process and the comparison of q2 has no undocumented change."""
    assert load_spec("synthetic_r8.yaml")["dependence"] == load_spec()["dependence"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["q2"]["log_odds"]["q6"].update({"感じるる": 0.9}),
            r"^架空データの設定 dependence\.q2\.log_odds\.q6: 「感じるる」は2-\(6\)「.*」の選択肢（感じる、.*）にない。"
            r"選択肢の表記どおりに書く$",
        ),
        (
            lambda d: d["q2"]["log_odds"].update({"q4": {"x": 1.0}}),
            r"^架空データの設定 dependence\.q2\.log_odds: 「q4」は単一回答の項目のidではない（あるのは .*q6）。idを直す$",
        ),
        (
            lambda d: d["q2"].update({"favourable": [1, 7]}),
            r"^架空データの設定 dependence\.q2\.favourable: \[1, 7\]に2-\(2\)「.*」の選択肢の番号（1、2、3、4）でないもの",
        ),
        (
            lambda d: d.update({"q9": d.pop("q2")}),
            r"^架空データの設定 dependence\.q9: 「q9」は単一回答の設問のidではない",
        ),
    ],
)
def test_a_mistake_in_the_dependence_is_named(codebook, edit, message):
    """A misspelt label would otherwise add nothing to the log odds, silently."""
    spec = copy.deepcopy(load_spec())
    edit(spec["dependence"])
    with pytest.raises(PppSurveyError, match=message):
        generate(codebook, spec)
