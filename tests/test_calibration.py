"""Raking (ppp_survey.survey.calibration) against R's documented algorithms and svy's raking.

References:

* R ``survey``: ``rake()`` (R/survey.R) post-stratifies on each margin in turn; its variance
  (``svyrecvar`` in R/multistage.R, branch ``"raking"``) sweeps ten times over the margins, each
  sweep centring ``x/w`` within the categories of a margin (``x - psw*apply(x/psw, 2, ave, margin)``).
  ``calibrate(..., calfun = "raking")`` (R/grake.R) stores ``qr(mm*whalf)`` (``whalf = sqrt(d)``) and
  ``svyrecvar`` replaces ``x`` by ``qr.resid(qr, x/(g*whalf))*g*whalf``. Both are coded below with
  plain numpy (QR for calibrate, sweeps for rake), sharing nothing with the module.
* svy 0.35 (``Sample.weighting.rake``, a dev dependency; ``pop_size=`` takes N_h as R's ``fpc=``):
  its raking variance is R's ``rake()`` (ten sweeps), to 1e-15 on apistrat.

Where they differ: R's ``rake()``/svy centre with unweighted means, R's ``calibrate()`` with the
design-weighted projection. The module's default is R's ``calibrate()`` (``variance="calibrate"``);
``variance="rake"`` reproduces R's ``rake()`` and svy. Measured on apistrat: the SE of mean(api00)
raked to stype + sch.wide is 9.269647 (calibrate) vs 9.272959 (rake, svy), 3.6e-4 relative; with a
tilted comp.imp margin added 9.233229 vs 9.241756 (9.2e-4). On the bundled baseline raked to 職域 +
職位 + 年代 the SEs of the shares of 2-(1)–(3) differ by at most 0.29% (q1=重要である; see
``test_calibrate_and_rake_variances_differ_little``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
import svy

from conftest import REPO
from ppp_survey import stratified_design, survey_mean
from ppp_survey.spec.margins import load_margins
from ppp_survey.survey.calibration import CalibrationError, calibrated_mean, rake
from ppp_survey.survey.tables import make_design
from test_margins import ILLUSTRATIVE

APISTRAT = REPO / "tests" / "data" / "r-survey-api" / "apistrat.csv"
REL = 1e-6


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api():
    data = pd.read_csv(APISTRAT)
    design = stratified_design(data, data.groupby("stype")["fpc"].first(), strata="stype")
    return data, design


@pytest.fixture(scope="module")
def api_margins(api):
    """sch.wide from apistrat's own weighted totals (issue 19) and a comp.imp margin tilted by 10%, so
    that the weights really move."""
    data, design = api
    d = pd.Series(design.weights, index=data.index)
    own = d.groupby(data["sch.wide"]).sum()
    tilted = d.groupby(data["comp.imp"]).sum()
    tilted["Yes"] *= 1.1
    tilted *= d.sum() / tilted.sum()
    return {"own": {"sch.wide": own}, "tilted": {"sch.wide": own, "comp.imp": tilted}}


@pytest.fixture(scope="module")
def base_design(baseline, frame, codebook):
    return make_design(baseline.responses, frame, codebook)


@pytest.fixture(scope="module")
def base_margins(tmp_path_factory, codebook):
    path = tmp_path_factory.mktemp("margins") / "staff_margins_r7.csv"
    path.write_text(ILLUSTRATIVE, encoding="utf-8")
    return load_margins(path, codebook).targets()


# ---------------------------------------------------------------------------
# independent references (plain numpy, R's algorithms)
# ---------------------------------------------------------------------------


def stratified_var(strata: np.ndarray, population: dict, x: np.ndarray) -> float:
    """R's onestrat: Σ_h (1 − n_h/N_h)·n_h/(n_h − 1)·Σ (x − x̄_h)²."""
    total = 0.0
    for h in np.unique(strata):
        xh = x[strata == h]
        n = len(xh)
        total += (1 - n / population[h]) * n / (n - 1) * np.sum((xh - xh.mean()) ** 2)
    return total


def model_matrix(data: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """R's model.matrix(~a + b + ...): intercept and treatment dummies."""
    blocks = [np.ones((len(data), 1))]
    for c in columns:
        dummies = pd.get_dummies(data[c].astype(str)).to_numpy(float)
        blocks.append(dummies[:, 1:])
    return np.hstack(blocks)


def r_calibrate_x(x: np.ndarray, d: np.ndarray, w: np.ndarray, mm: np.ndarray) -> np.ndarray:
    """svyrecvar, greg_calibration branch: qr.resid(qr(mm*whalf), x/(g*whalf))*g*whalf."""
    whalf, g = np.sqrt(d), w / d
    q, _ = np.linalg.qr(mm * whalf[:, None])
    u = x / (g * whalf)
    return (u - q @ (q.T @ u)) * g * whalf


def r_rake_x(x: np.ndarray, w: np.ndarray, margins: list[np.ndarray]) -> np.ndarray:
    """svyrecvar, raking branch: for(iterations in 1:10) for(margin) x <- x - psw*ave(x/psw, margin)."""
    x = x.copy()
    for _ in range(10):
        for m in margins:
            u = pd.Series(x / w)
            x = x - w * u.groupby(m).transform("mean").to_numpy()
    return x


def ipf(d: np.ndarray, margins: list[np.ndarray], targets: list[dict]) -> np.ndarray:
    """Plain IPF (R's rake: postStratify on each margin in turn) to a tight tolerance."""
    w = d.copy()
    for _ in range(1000):
        for m, t in zip(margins, targets):
            sums = pd.Series(w).groupby(m).sum()
            w = w * (pd.Series(m).map(t) / pd.Series(m).map(sums)).to_numpy()
        err = max(np.max(np.abs(pd.Series(w).groupby(m).sum() / pd.Series(t) - 1)) for m, t in zip(margins, targets))
        if err < 1e-13:
            return w
    raise AssertionError("reference IPF did not converge")


# ---------------------------------------------------------------------------
# post-stratification = the current estimator
# ---------------------------------------------------------------------------


COLUMNS = ["q1", "q2", "q3", "q4_1", "q5_3", "q5_13", "q7_6"]


@pytest.mark.parametrize("by", [None, "domain", "position", ["position", "age"]])
def test_post_stratification_on_the_strata_equals_survey_mean(baseline, base_design, by):
    cal = rake(baseline.responses, base_design)
    assert cal.iterations == 0 and cal.max_error < 1e-14
    np.testing.assert_array_equal(cal.weights, base_design.weights)
    ours = calibrated_mean(baseline.responses, cal, COLUMNS, by=by)
    theirs = survey_mean(baseline.responses, base_design, COLUMNS, by=by)
    assert ours[["variable", "group"]].astype(str).equals(theirs[["variable", "group"]].astype(str))
    np.testing.assert_array_equal(ours["n"], theirs["n"])
    for column in ("unweighted", "estimate", "se", "ci_low", "ci_high", "deff"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-12, atol=0, err_msg=column)


@pytest.mark.parametrize("variance", ["calibrate", "rake"])
def test_post_stratification_equals_survey_mean_on_apistrat(api, variance):
    data, design = api
    cal = rake(data, design, variance=variance)
    ours = calibrated_mean(data, cal, ["api00", "ell", "sch.wide"], by="awards")
    theirs = survey_mean(data, design, ["api00", "ell", "sch.wide"], by="awards")
    for column in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------
# the margins are met; the weights are R's / svy's raking weights
# ---------------------------------------------------------------------------


def test_raking_reproduces_every_margin_on_the_baseline(baseline, base_design, base_margins, frame):
    r = baseline.responses
    cal = rake(r, base_design, base_margins)
    w = pd.Series(cal.weights, index=r.index)
    by_domain = w.groupby(r["domain"].astype(str)).sum()
    staff = frame.set_index(frame["domain"].astype(str))["population"]
    assert np.max(np.abs(by_domain / staff - 1)) <= 1e-9
    for column, totals in base_margins.items():
        # 無回答 keeps its design-weighted count; the stated categories share the rest in proportion
        na = r[column].isna().to_numpy()
        na_total = base_design.weights[na].sum()
        expected = totals * (3138 - na_total) / 3138
        got = w[~na].groupby(r.loc[~na, column].astype(str)).sum()
        assert np.max(np.abs(got.reindex(expected.index) / expected - 1)) <= 1e-9, column
        assert w[na].sum() == pytest.approx(na_total, rel=1e-9)
    assert cal.max_error <= 1e-10 and 0 < cal.iterations < 50
    assert abs(cal.weights.sum() - 3138) <= 1e-9 * 3138
    table = cal.margin_table()
    assert table["relative_error"].max() == pytest.approx(cal.max_error)


@pytest.mark.parametrize("case", ["own", "tilted"])
def test_weights_are_the_ipf_solution(api, api_margins, case):
    data, design = api
    cal = rake(data, design, api_margins[case])
    columns = ["stype", *api_margins[case]]
    targets = [data.groupby("stype")["fpc"].first().to_dict(), *(m.to_dict() for m in api_margins[case].values())]
    reference = ipf(design.weights, [data[c].to_numpy() for c in columns], targets)
    np.testing.assert_allclose(cal.weights, reference, rtol=1e-9)
    if case == "own":  # apistrat's own totals: the design weights already meet them
        assert cal.iterations == 0


# ---------------------------------------------------------------------------
# variances: R's rake (= svy) and R's calibrate
# ---------------------------------------------------------------------------


def svy_raked(data: pd.DataFrame, design, controls: dict, columns: list[str]):
    frame = data[columns].copy()
    frame["_w"] = design.weights
    frame["_N"] = design.population[design.codes]
    sample = svy.Sample(pl.from_pandas(frame), svy.Design(stratum=design.stratum_column, wgt="_w", pop_size="_N"))
    return sample.weighting.rake(controls=controls, tol=1e-13, max_iter=1000)


@pytest.mark.parametrize("case", ["own", "tilted"])
def test_apistrat_means_and_ses_match_svy_raking(api, api_margins, case):
    """svy's raking on apistrat (stype + sch.wide from apistrat's own weighted totals; and with a tilted
    comp.imp margin): weights 1e-9, means and SEs 1e-6 relative with ``variance="rake"`` (R's rake)."""
    data, design = api
    margins = api_margins[case]
    controls = {"stype": data.groupby("stype")["fpc"].first().to_dict()} | {k: v.to_dict() for k, v in margins.items()}
    raked = svy_raked(data, design, controls, ["stype", "sch.wide", "comp.imp", "api00", "ell", "meals"])
    cal = rake(data, design, margins, variance="rake", tol=1e-13)
    np.testing.assert_allclose(cal.weights, raked.data["rk_wgt"].to_numpy(), rtol=1e-9)
    ours = calibrated_mean(data, cal, ["api00", "ell", "meals"])
    for _, row in ours.iterrows():
        theirs = raked.estimation.mean(row["variable"]).to_polars()
        assert row["estimate"] == pytest.approx(theirs["est"][0], rel=REL)
        assert row["se"] == pytest.approx(theirs["se"][0], rel=REL)


def test_baseline_shares_and_ses_match_svy_raking(baseline, base_design, base_margins):
    """The baseline raked to 職域 + 職位 + 年代 (無回答 as a category with the module's targets): every
    share of 2-(1)–(3), overall and by 職域, against svy's raking to 1e-6 relative (``variance="rake"``)."""
    r = baseline.responses
    cal = rake(r, base_design, base_margins, variance="rake", tol=1e-13)
    frame = pd.DataFrame({"domain": r["domain"].astype(str)})
    controls = {"domain": dict(zip(cal.margins[0].labels, cal.margins[0].targets))}
    for m in cal.margins[1:]:
        frame[m.column] = r[m.column].astype(object).where(r[m.column].notna(), "無回答").astype(str)
        controls[m.column] = dict(zip(m.labels, m.targets))
    ours = calibrated_mean(r, cal, ["q1", "q2", "q3"])
    ours_by = calibrated_mean(r, cal, ["q1", "q2", "q3"], by="domain")
    for name in ours["variable"]:
        question, label = name.split("=")
        frame[name] = np.where(r[question].isna(), np.nan, (r[question] == label).astype(float))
    raked = svy_raked(frame, base_design, controls, list(frame.columns))
    np.testing.assert_allclose(cal.weights, raked.data["rk_wgt"].to_numpy(), rtol=1e-9)
    for _, row in ours.iterrows():
        theirs = raked.estimation.mean(row["variable"], drop_nulls=True).to_polars()
        assert row["estimate"] == pytest.approx(theirs["est"][0], rel=REL)
        assert row["se"] == pytest.approx(theirs["se"][0], rel=REL)
    for name in ["q2=意欲がある", "q3=ある"]:
        theirs = raked.estimation.mean(name, by="domain", drop_nulls=True).to_polars().to_pandas().set_index("domain")
        mine = ours_by[ours_by["variable"] == name]
        theirs = theirs.loc[mine["group"].astype(str)]
        np.testing.assert_allclose(mine["estimate"], theirs["est"], rtol=REL)
        np.testing.assert_allclose(mine["se"], theirs["se"], rtol=REL)


@pytest.mark.parametrize("case", ["own", "tilted"])
@pytest.mark.parametrize("variance", ["calibrate", "rake"])
def test_apistrat_ses_match_r_formulas(api, api_margins, case, variance):
    """SE of the raked mean and total of api00 and ell from R's own variance code, transcribed."""
    data, design = api
    margins = api_margins[case]
    cal = rake(data, design, margins, variance=variance, tol=1e-13)
    w, d = cal.weights, design.weights
    population = data.groupby("stype")["fpc"].first().to_dict()
    columns = ["stype", *margins]
    for name in ["api00", "ell"]:
        y = data[name].to_numpy(float)
        n_hat = w.sum()
        mean = (w * y).sum() / n_hat
        for x in (w * (y - mean) / n_hat, w * y):  # a mean (ratio) and a total
            if variance == "calibrate":
                xr = r_calibrate_x(x, d, w, model_matrix(data, columns))
            else:
                xr = r_rake_x(x, w, [data[c].to_numpy() for c in columns])
            expected = np.sqrt(stratified_var(data["stype"].to_numpy(), population, xr))
            got = np.sqrt(cal.variances(x / w)[0])
            assert got == pytest.approx(expected, rel=1e-9)


def test_a_calibrated_share_has_no_variance(baseline, base_design, base_margins):
    """The share of a category the weights were raked to is fixed by the margins: SE 0 (R's calibrate);
    R's ten sweeps of rake() leave a small remainder."""
    r = baseline.responses.assign(young=(baseline.responses["age"] == "20代以下").astype(float))
    r.loc[baseline.responses["age"].isna(), "young"] = 0.0  # 無回答 counts as "not 20代以下" here
    cal = rake(r, base_design, base_margins)
    row = calibrated_mean(r, cal, "young").iloc[0]
    target = cal.margins[2].targets[0] / cal.weights.sum()
    assert row["estimate"] == pytest.approx(target, rel=1e-9)
    assert row["se"] < 1e-9
    rake_se = calibrated_mean(r, rake(r, base_design, base_margins, variance="rake"), "young").iloc[0]["se"]
    assert rake_se < 1e-3 * calibrated_mean(r, rake(r, base_design), "young").iloc[0]["se"]


def test_calibrate_and_rake_variances_differ_little(baseline, base_design, base_margins):
    """Measured: the two residuals give SEs within 0.29% of each other for every share of 2-(1)–(3)
    (largest for q1=重要である); the bound leaves room for a regenerated baseline."""
    r = baseline.responses
    a = calibrated_mean(r, rake(r, base_design, base_margins), ["q1", "q2", "q3"])
    b = calibrated_mean(r, rake(r, base_design, base_margins, variance="rake"), ["q1", "q2", "q3"])
    np.testing.assert_array_equal(a["estimate"], b["estimate"])
    difference = np.max(np.abs(a["se"] / b["se"] - 1))
    assert 1e-6 < difference < 0.01


# ---------------------------------------------------------------------------
# bounds, missing answers, errors
# ---------------------------------------------------------------------------


def tilted(api, factor: float) -> dict:
    data, design = api
    d = pd.Series(design.weights, index=data.index)
    sw = d.groupby(data["sch.wide"]).sum()
    sw["Yes"] *= factor
    sw *= d.sum() / sw.sum()
    ci = d.groupby(data["comp.imp"]).sum()
    ci["Yes"] *= 1.1
    ci *= d.sum() / ci.sum()
    return {"sch.wide": sw, "comp.imp": ci}


def test_bounds_hold_and_the_solution_is_truncated_raking(api):
    """R's calibrate(calfun = "raking", bounds = c(L, U)): g = clip(exp(x'η), L, U) meeting the margins.
    Checked by its defining properties: bounds, margins, and log g additive over the margins where free."""
    data, design = api
    margins = tilted(api, 0.9)
    free = rake(data, design, margins)
    assert free.g.max() > 1.3  # the upper bound below binds
    cal = rake(data, design, margins, bounds=(0.8, 1.12))
    g = cal.g
    assert g.min() >= 0.8 - 1e-12 and g.max() <= 1.12 + 1e-12 and np.isclose(g.max(), 1.12)
    for column in ["stype", "sch.wide", "comp.imp"]:
        target = (data.groupby("stype")["fpc"].first() if column == "stype" else margins[column]).sort_index()
        got = pd.Series(cal.weights).groupby(data[column].to_numpy()).sum().sort_index()
        np.testing.assert_allclose(got.to_numpy(), target.to_numpy(), rtol=1e-9)
    inside = (g > 0.8 + 1e-9) & (g < 1.12 - 1e-9)
    mm = model_matrix(data[inside].reset_index(drop=True), ["stype", "sch.wide", "comp.imp"])
    coef = np.linalg.lstsq(mm, np.log(g[inside]), rcond=None)[0]
    assert np.max(np.abs(mm @ coef - np.log(g[inside]))) < 1e-9
    loose = rake(data, design, margins, bounds=(0.1, 10.0))  # bounds that do not bind: plain raking
    np.testing.assert_allclose(loose.weights, free.weights, rtol=1e-9)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [((0.95, 1.05), "調整係数の範囲 0.95～1.05倍（--rake-bounds / bounds）では"), ((0.85, 1.2), "収束しない")],
)
def test_bounds_that_cannot_be_met(api, bounds, message):
    data, design = api
    with pytest.raises(CalibrationError, match=message):
        rake(data, design, tilted(api, 0.9), bounds=bounds)


def test_missing_answers(baseline, base_design, base_margins):
    r = baseline.responses
    cal = rake(r, base_design, base_margins)
    position = cal.margins[1]
    assert position.labels[-1] == "無回答" and position.missing == int(r["position"].isna().sum()) > 0
    with pytest.raises(CalibrationError, match="無回答の回答者が15人"):
        rake(r, base_design, base_margins, missing="error")


def test_errors_are_one_line_and_actionable(api):
    data, design = api
    d = pd.Series(design.weights, index=data.index)
    own = d.groupby(data["awards"]).sum()
    cases = [
        ({"awards": own.drop("Yes")}, "回答「Yes」が周辺分布（No）にない"),
        ({"awards": pd.concat([own, pd.Series({"Maybe": 10.0})])}, "区分「Maybe」（職員10人）に回答者がいない"),
        ({"awards": own * 1.01}, "合計 6,256人が職員数フレームの合計"),
        ({"awards": own.rename({"No": "Yes", "Yes": "No"}) * 0 - 1}, "正の数ではない"),
        ({"nothing": own}, "「nothing」がデータの列にない"),
        ({"stype": own}, "層（職域）"),
    ]
    for margins, message in cases:
        with pytest.raises(CalibrationError, match=message) as info:
            rake(data, design, margins)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="bounds"):
        rake(data, design, {}, bounds=(1.1, 2.0))


def test_calibration_result_is_frozen(api, api_margins):
    data, design = api
    cal = rake(data, design, api_margins["tilted"])
    with pytest.raises(ValueError):
        cal.weights[0] = 1.0
    with pytest.raises(AttributeError):
        cal.iterations = 3  # type: ignore[misc]
    assert cal.aux_matrix().shape == (200, 3 + 2 + 2)
    np.testing.assert_allclose(cal.aux_matrix().T @ cal.weights, np.concatenate([m.targets for m in cal.margins]))


def test_compare_weights_puts_both_estimates_side_by_side(baseline, base_design, base_margins, codebook):
    from ppp_survey.survey.weights_comparison import COMPARISON_COLUMNS, compare_weights

    r = baseline.responses
    cal = rake(r, base_design, base_margins)
    items = [codebook.item(q) for q in ("q1", "q2", "q3")]
    table = compare_weights(r, cal, items)
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    assert len(table) == (5 + 1) + (4 + 1) + 2  # choices, and 肯定的回答 for the two Likert questions
    strata = survey_mean(r, base_design, ["q1", "q2", "q3"])
    calibrated = calibrated_mean(r, cal, ["q1", "q2", "q3"])
    choices = table[table["code"] > 0]
    np.testing.assert_array_equal(choices["estimate_strata"], strata["estimate"])
    np.testing.assert_array_equal(choices["ci_high_calibrated"], calibrated["ci_high"])
    top = table[(table["question"] == "q2") & (table["code"] == 0)].iloc[0]
    assert top["label"] == "肯定的回答"
    share = choices[(choices["question"] == "q2") & choices["label"].isin(["意欲がある", "どちらかといえば意欲がある"])]
    assert top["estimate_calibrated"] == pytest.approx(share["estimate_calibrated"].sum(), rel=1e-12)
    np.testing.assert_allclose(table["difference"], table["estimate_calibrated"] - table["estimate_strata"])
