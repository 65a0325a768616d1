"""GT and クロス集計 tables: counts reconcile, marks follow the tests, conventions hold."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from ppp_survey.constants import MarkRule
from ppp_survey.outputs.captions import table_notes
from ppp_survey.outputs.display_tables import display_crosstab, display_tally
from ppp_survey.survey.design import stratified_design
from ppp_survey.survey.item_sums import indicators
from ppp_survey.survey.tables import (
    crosstab,
    gt_table,
    likert_summary,
    make_design,
    option_difference,
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


def _by_hand(responses, frame, codebook):
    """Each respondent's stratum, the weight N_h/n_h, and the stratified SRSWOR variance of a
    weighted total Σ w_i u_i written out: Σ_h (1 − f_h)·n_h/(n_h − 1)·Σ_{i∈h} (w_h u_i − w_h ū_h)²
    with f_h = n_h/N_h (f_h = 0 without the FPC)."""
    strata = responses[codebook.stratum.id].astype(str).to_numpy()
    population = dict(zip(frame["domain"].astype(str), frame["population"].astype(float)))
    labels, n_h = np.unique(strata, return_counts=True)
    n = dict(zip(labels, n_h))
    weight = np.array([population[h] / n[h] for h in strata])

    def se(u, *, fpc=True):
        total = 0.0
        for h in labels:
            z = weight[strata == h] * u[strata == h]
            f = n[h] / population[h] if fpc else 0.0
            total += (1 - f) * n[h] / (n[h] - 1) * np.sum((z - z.mean()) ** 2)
        return np.sqrt(total)

    fractions = np.array([n[h] / population[h] for h in labels])
    return weight, se, fractions


def _ratio_influence(y, weight):
    """The linearised ratio mean Σ w y / Σ w (over those who answered; NaN: did not): its influence
    values u_i = a_i (y_i − R) / Σ w a, and R."""
    answered = ~np.isnan(y)
    y = np.where(answered, y, 0.0)
    total = np.sum(weight * answered)
    ratio = np.sum(weight * y) / total
    return answered * (y - ratio) / total, ratio


def test_fpc_makes_the_se_visibly_smaller_than_srs(baseline, design, frame, codebook):
    """43% of staff answered: the FPC cuts the SE of a share near 50% by about a quarter.

    Reference: the stratified ratio estimator's linearised SE computed by hand with numpy (the
    formulas in _by_hand), with and without the FPC; the same sums in another order, so equal to
    rounding (rel 1e-9). Without the FPC the SE is 4.5% above the textbook √(p(1 − p)/n) (the weights'
    design effect), which is why the ratio to it is not √(1 − 1340/3138) = 0.757 but 0.814."""
    item = codebook.item("q4")
    t = tally(baseline.responses, design, item)
    at = (t["estimate"] - 0.5).abs().argmin()
    row = t.iloc[at]
    srs = np.sqrt(row["share"] * (1 - row["share"]) / row["base_n"])  # textbook, no FPC
    assert 0.4 < row["estimate"] < 0.6
    assert row["se"] / srs < 0.85
    weight, se, fractions = _by_hand(baseline.responses, frame, codebook)
    column = baseline.responses[item.option_column(item.choice(int(row["code"])))]
    u, ratio = _ratio_influence(column.to_numpy(dtype=float, na_value=np.nan), weight)
    assert row["estimate"] == pytest.approx(ratio, rel=1e-12)
    assert row["se"] == pytest.approx(se(u), rel=1e-9)
    without = tally(baseline.responses, make_design(baseline.responses, frame, codebook, fpc=False), item).iloc[at]
    assert without["se"] == pytest.approx(se(u, fpc=False), rel=1e-9)
    # the FPC's factor on the variance is a mean of the strata's 1 − f_h weighted by their variance
    # terms, so the SE's lies between the smallest and largest √(1 − f_h) (0.69 and 0.89 here): 0.78
    factor = row["se"] / without["se"]
    assert np.sqrt(1 - fractions.max()) <= factor <= np.sqrt(1 - fractions.min())
    assert 0.7 < factor < 0.8  # about a quarter off


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


def _no_difference():
    """Data built to have no group difference: three strata of 120, 180 and 240 answering はい at
    25%, 50% and 75%; in every stratum half are group A, a third B and a sixth C, and each group
    answers はい at its stratum's share exactly. Every group's weighted share is then the rest's."""
    rows = []
    for stratum, size, share in (("s1", 120, 0.25), ("s2", 180, 0.5), ("s3", 240, 0.75)):
        for group, part in (("A", 1 / 2), ("B", 1 / 3), ("C", 1 / 6)):
            n = round(size * part)
            yes = round(n * share)
            rows += [(stratum, group, "はい")] * yes + [(stratum, group, "いいえ")] * (n - yes)
    data = pd.DataFrame(rows, columns=["stratum", "group", "q"])
    data = data.assign(group=pd.Categorical(data["group"]), q=pd.Categorical(data["q"], categories=["はい", "いいえ"]))
    return data, stratified_design(data, {"s1": 600, "s2": 500, "s3": 400}, strata="stratum")


@pytest.mark.parametrize("rule", [MarkRule.HOLM, MarkRule.BH, MarkRule.PROTECTED])
def test_no_marks_without_a_difference(rule):
    """No group differs, so no cell is marked under any rule (the default Holm first): every cell
    is tested (bases 90 to 270), its difference is 0, and its p-value (adjusted under Holm and BH)
    is 1; the table's Rao–Scott test sees no association either."""
    data, design = _no_difference()
    ct = crosstab(data, design, _Item.item, by="group", marks=rule)
    cells = ct.cells
    assert len(cells) == 6 and not cells["reference"].any()
    np.testing.assert_allclose(cells["difference"], 0.0, atol=1e-12)
    np.testing.assert_allclose(cells["p_value"], 1.0)  # Yates: a zero difference scores z = 0
    assert ct.tests["p_value"].iloc[0] > 0.99
    assert (cells["mark"] == "").all()


def test_likert_summary_boxes(baseline, design, codebook):
    item = codebook.item("q6")
    s = likert_summary(baseline.responses, design, item).set_index("measure")
    answered = baseline.responses["q6"].dropna()
    assert s.loc["top2", "unweighted"] == pytest.approx(answered.isin(item.labels[:2]).mean())
    assert s.loc["bottom2", "unweighted"] == pytest.approx(answered.isin(item.labels[2:4]).mean())
    scores = answered.astype(object).map({c.label: c.score for c in item.choices}).dropna()
    assert s.loc["mean", "unweighted"] == pytest.approx(scores.mean())
    assert s.loc["top2", "estimate"] < 0.5  # 2-(8): 相談しやすい雰囲気がない


def test_option_difference_counts_the_covariance(baseline, design, frame, codebook):
    item = codebook.item("q5")
    diff = option_difference(baseline.responses, design, item, 7, 4).iloc[0]
    t = tally(baseline.responses, design, item).set_index("code")
    assert diff["estimate"] == pytest.approx(t.loc[7, "estimate"] - t.loc[4, "estimate"])
    # reference: the linearised SE of R_7 − R_4 by hand, u_i = u_i(7) − u_i(4) (one respondent's
    # two ticks together: the covariance counted), rel 1e-9 as in test_fpc_...
    weight, se, _ = _by_hand(baseline.responses, frame, codebook)
    ticks = [
        baseline.responses[item.option_column(item.choice(c))].to_numpy(dtype=float, na_value=np.nan) for c in (7, 4)
    ]
    (u7, _), (u4, _) = (_ratio_influence(y, weight) for y in ticks)
    assert diff["se"] == pytest.approx(se(u7 - u4), rel=1e-9)
    naive = np.hypot(se(u7), se(u4))  # as if two independent samples: 4% above (the ticks correlate)
    assert naive == pytest.approx(np.hypot(t.loc[7, "se"], t.loc[4, "se"]), rel=1e-9)
    assert diff["se"] < naive / 1.03


def test_indicators_keep_item_nonresponse(baseline, codebook):
    ind = indicators(baseline.responses, codebook.item("q1"))
    missing = baseline.responses["q1"].isna()
    assert ind[missing].isna().all().all() and (ind[~missing].sum(axis=1) == 1).all()
