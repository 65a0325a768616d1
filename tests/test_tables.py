"""GT and クロス集計 tables: counts reconcile, marks follow the tests, conventions hold."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from ppp_survey.survey.design import stratified_design
from ppp_survey.survey.item_sums import indicators
from ppp_survey.survey.tables import (
    crosstab,
    display_crosstab,
    display_tally,
    gt_table,
    likert_summary,
    make_design,
    option_difference,
    table_notes,
    tally,
)


@pytest.fixture(scope="module")
def design(baseline, frame, codebook):
    return make_design(baseline.responses, frame, codebook)


def test_gt_counts_reconcile(baseline, design, codebook):
    gt = gt_table(baseline.responses, design, codebook)
    assert set(gt["question"]) == {q.id for q in codebook.questions if q.type != "text"}
    for qid, t in gt.groupby("question"):
        item = codebook.item(qid)
        assert (t["base_n"] + t["no_answer_n"] == 1340).all()
        if item.is_multi:
            ticks = baseline.responses[item.option_columns].dropna()
            assert t["n"].tolist() == ticks.sum().astype(int).tolist()
        else:
            assert t["n"].sum() == t["base_n"].iloc[0]
            assert t["n"].tolist() == baseline.responses[qid].value_counts().reindex(item.labels).tolist()
        np.testing.assert_allclose(t["share"], t["n"] / t["base_n"])
        assert ((t["ci_low"] <= t["estimate"]) & (t["estimate"] <= t["ci_high"])).all()
        assert ((t["ci_low"] >= 0) & (t["ci_high"] <= 1)).all()


def test_display_tally_mt_and_rounding(baseline, design, codebook):
    item = codebook.item("q5")
    shown = display_tally(tally(baseline.responses, design, item), item)
    body = shown.iloc[: len(item.choices)]
    assert shown.iloc[len(item.choices)]["選択肢"].startswith("M.T.")
    assert shown.iloc[len(item.choices)]["%"] == pytest.approx(body["%"].sum())
    assert shown.iloc[len(item.choices)]["%"] > 100  # multi-select: more than 100%
    # half-up rounding of the plain share, computed exactly from the counts: floor(10·100·n/base + 1/2) / 10
    t = tally(baseline.responses, design, item)
    exact = [math.floor(Fraction(1000 * n, base) + Fraction(1, 2)) / 10 for n, base in zip(t["n"], t["base_n"])]
    np.testing.assert_allclose(body["%"], exact, atol=1e-9)


def test_fpc_makes_the_se_visibly_smaller_than_srs(baseline, design, codebook):
    """43% of staff answered: the FPC cuts the SE of a share near 50% by about a quarter."""
    t = tally(baseline.responses, design, codebook.item("q4"))
    row = t.iloc[(t["estimate"] - 0.5).abs().argmin()]
    srs = np.sqrt(row["share"] * (1 - row["share"]) / row["base_n"])  # textbook, no FPC
    assert 0.4 < row["estimate"] < 0.6
    assert row["se"] / srs < 0.85
    assert row["se"] / srs == pytest.approx(np.sqrt(1 - 1340 / 3138), abs=0.06)


def test_willingness_crosstab_marks(baseline, design, codebook):
    ct = crosstab(baseline.responses, design, codebook.item("q2"), by="domain")
    assert ct.tests["p_value"].iloc[0] < 0.01  # willingness differs by 職域 (2-(8))
    cells = ct.cells
    small = cells[cells["group"] == "技能労務"]
    assert small["reference"].all() and (small["mark"] == "").all()  # 24 respondents: 参考値
    tested = cells[~cells["reference"]]
    for row in tested.itertuples():
        if row.p_value < 0.01:
            assert row.mark == ("▲" if row.difference > 0 else "▼")
        elif row.p_value < 0.05:
            assert row.mark == ("△" if row.difference > 0 else "▽")
        else:
            assert row.mark == ""
    shown = display_crosstab(ct)
    assert shown.loc[shown["domain"] == "技能労務", "備考"].item() == "参考値"
    notes = table_notes(ct)
    assert notes[0].startswith("Rao–Scott検定 F(") and any("▲/▼" in n for n in notes)


def _planted(rng, n_per=200, lift=0.0):
    """Three strata; group A of a cross-cutting attribute answers 'はい' more often by `lift`."""
    strata = np.repeat(["s1", "s2", "s3"], n_per)
    group = rng.choice(["A", "B", "C"], size=strata.size)
    p = 0.4 + lift * (group == "A")
    answer = np.where(rng.random(strata.size) < p, "はい", "いいえ")
    data = pd.DataFrame(
        {"stratum": strata, "group": pd.Categorical(group), "q": pd.Categorical(answer, categories=["はい", "いいえ"])}
    )
    design = stratified_design(data, {"s1": 600, "s2": 500, "s3": 400}, strata="stratum")
    return data, design


class _Item:
    """A minimal single-answer item for planted data."""

    from ppp_survey.spec.codebook import Choice, Item

    item = Item(id="q", label="q", text="q", type="sa", choices=(Choice(1, "はい"), Choice(2, "いいえ")))


def test_marks_follow_a_planted_difference(rng):
    data, design = _planted(rng, lift=0.3)
    ct = crosstab(data, design, _Item.item, by="group")
    a = ct.cells[(ct.cells["group"] == "A") & (ct.cells["label"] == "はい")].iloc[0]
    assert a["mark"] == "▲" and a["p_value"] < 0.01


def test_no_marks_without_a_significant_table(rng):
    data, design = _planted(rng, lift=0.0)
    ct = crosstab(data, design, _Item.item, by="group")
    if ct.tests["p_value"].iloc[0] >= 0.05:
        assert (ct.cells["mark"] == "").all()  # protected: no table effect, no cell marks
    else:  # pragma: no cover - the seeded data have no effect; keep the test honest if the seed changes
        pytest.skip("seeded null data happened to be significant")


def test_likert_summary_boxes(baseline, design, codebook):
    item = codebook.item("q6")
    s = likert_summary(baseline.responses, design, item).set_index("measure")
    answered = baseline.responses["q6"].dropna()
    assert s.loc["肯定的回答", "unweighted"] == pytest.approx(answered.isin(item.labels[:2]).mean())
    assert s.loc["否定的回答", "unweighted"] == pytest.approx(answered.isin(item.labels[2:4]).mean())
    scores = answered.astype(object).map({c.label: c.score for c in item.choices}).dropna()
    assert s.loc["平均点", "unweighted"] == pytest.approx(scores.mean())
    assert s.loc["肯定的回答", "estimate"] < 0.5  # 2-(8): 相談しやすい雰囲気がない


def test_option_difference_counts_the_covariance(baseline, design, codebook):
    item = codebook.item("q5")
    diff = option_difference(baseline.responses, design, item, 7, 4).iloc[0]
    t = tally(baseline.responses, design, item).set_index("code")
    assert diff["estimate"] == pytest.approx(t.loc[7, "estimate"] - t.loc[4, "estimate"])
    naive = np.hypot(t.loc[7, "se"], t.loc[4, "se"])  # as if two independent samples
    assert diff["se"] != pytest.approx(naive, rel=0.01)


def test_indicators_keep_item_nonresponse(baseline, codebook):
    ind = indicators(baseline.responses, codebook.item("q1"))
    missing = baseline.responses["q1"].isna()
    assert ind[missing].isna().all().all() and (ind[~missing].sum(axis=1) == 1).all()
