"""Design-based estimates against R ``survey``'s published results.

The stratified design of R's ``apistrat`` example is the design of the staff
survey (strata, N_h from the frame, weights N_h/n_h, FPC):
``dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)``.
Reference numbers are R's saved test output (``tests/api.Rout.save``,
``tests/deff.Rout.save`` of the CRAN package ``survey``), asserted to the
precision R prints them with.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ppp_survey.survey.design import stratified_design
from ppp_survey.survey.estimate import survey_mean, survey_total

# R survey's apistrat, shipped with the tests (origin: tests/data/r-survey-api/README.md).
APISTRAT = Path(__file__).resolve().parent / "data" / "r-survey-api" / "apistrat.csv"


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    return pd.read_csv(APISTRAT)


@pytest.fixture(scope="module")
def dstrat(apistrat: pd.DataFrame):
    population = apistrat.groupby("stype")["fpc"].first()  # fpc column = N_h
    return stratified_design(apistrat, population, strata="stype")


def test_design_matches_r_summary(dstrat) -> None:
    # api.Rout.save, summary(dstrat): obs E 100 / H 50 / M 50; population E 4421, M 1018, H 755.
    sizes = dict(zip(dstrat.strata, dstrat.sample_size.tolist()))
    frame = dict(zip(dstrat.strata, dstrat.population.tolist()))
    assert sizes == {"E": 100, "H": 50, "M": 50}
    assert frame == {"E": 4421.0, "H": 755.0, "M": 1018.0}
    assert dstrat.df == 200 - 3  # degf(dstrat)
    assert dstrat.empty_strata == ()


def test_svymean_api00(apistrat, dstrat) -> None:
    row = survey_mean(apistrat, dstrat, "api00").iloc[0]
    # api.Rout.save: svymean(~api00, dstrat) -> mean 662.29, SE 9.4089
    assert abs(row["estimate"] - 662.29) <= 0.005
    assert abs(row["se"] - 9.4089) <= 0.00005
    assert row["n"] == 200
    assert row["group"] == "全体"


def test_svytotal_enroll(apistrat, dstrat) -> None:
    row = survey_total(apistrat, dstrat, "enroll").iloc[0]
    # api.Rout.save: svytotal(~enroll, dstrat, na.rm=TRUE) -> total 3687178, SE 114642
    assert abs(row["estimate"] - 3687178) <= 0.5
    assert abs(row["se"] - 114642) <= 0.5


def test_wald_interval_uses_design_df(apistrat, dstrat) -> None:
    """Non-0/1 columns: estimate ± t(0.975, n − H)·se (R's confint(svymean) would use z)."""
    row = survey_mean(apistrat, dstrat, "api00").iloc[0]
    q = stats.t.ppf(0.975, 197)
    assert row["ci_low"] == pytest.approx(row["estimate"] - q * row["se"], rel=1e-12)
    assert row["ci_high"] == pytest.approx(row["estimate"] + q * row["se"], rel=1e-12)


def test_fpc_se_ratio_single_stratum(apistrat) -> None:
    """With and without FPC the SE ratio is exactly sqrt(1 − n/N) = sqrt((N − n)/N).

    R's estimator is (1 − n/N)·s²/n with s² on divisor n − 1, so switching
    the FPC off only drops the factor (1 − n/N); sqrt((N − n)/(N − 1)) is the
    factor of the *true* variance written with σ² on divisor N, not of the
    estimator, and is off by a relative ~1/(2N) (1.1e-4 here).
    """
    elementary = apistrat[apistrat["stype"] == "E"].reset_index(drop=True)
    big_n, n = 4421.0, len(elementary)  # api.Rout.save: stratum E, 100 of 4421
    with_fpc = stratified_design(elementary, {"E": big_n}, strata="stype", fpc=True)
    without = stratified_design(elementary, {"E": big_n}, strata="stype", fpc=False)
    exact = math.sqrt(1.0 - n / big_n)
    for estimator, column in ((survey_mean, "api00"), (survey_total, "enroll")):
        se_fpc = estimator(elementary, with_fpc, column)["se"].iloc[0]
        se_none = estimator(elementary, without, column)["se"].iloc[0]
        assert se_fpc / se_none == pytest.approx(exact, rel=1e-12)
        assert se_fpc / se_none != pytest.approx(math.sqrt((big_n - n) / (big_n - 1.0)), rel=1e-6)


# deff.Rout.save (survey package tests), data from Takahiro Tsuchiya:
# kigyo$uriage with srs.w = 100 for 10 firms, des.srs <- svydesign(ids=~1, weights=~srs.w)
KIGYO_URIAGE = [15, 143, 21, 51, 337, 50, 274, 145, 15, 86]


def test_deff_matches_r_deff_true() -> None:
    data = pd.DataFrame({"all": "1", "uriage": KIGYO_URIAGE})
    design = stratified_design(data, {"1": 1000}, strata="all", fpc=False)  # weights 100, no fpc
    mean = survey_mean(data, design, "uriage").iloc[0]
    # deff.Rout.save: svymean(~uriage, des.srs, deff=TRUE) -> mean 113.700, SE 35.626, DEff 1.0101
    assert abs(mean["estimate"] - 113.700) <= 0.0005
    assert abs(mean["se"] - 35.626) <= 0.0005
    assert abs(mean["deff"] - 1.0101) <= 0.00005
    # deff.Rout.save: SE^2 / ((1-10/1000) * svyvar / 10) -> 1.010101 (the definition itself)
    assert mean["deff"] == pytest.approx(1.0 / (1.0 - 10 / 1000), rel=1e-12)
    total = survey_total(data, design, "uriage").iloc[0]
    # deff.Rout.save: svytotal(~uriage, des.srs, deff=TRUE) -> total 113700, SE 35626, DEff 1.0101
    assert abs(total["estimate"] - 113700) <= 0.5
    assert abs(total["se"] - 35626) <= 0.5
    assert abs(total["deff"] - 1.0101) <= 0.00005


def test_domain_by_stratum_equals_stratum_design(apistrat, dstrat) -> None:
    """A stratum as a domain is that stratum's own SRS: same mean and SE."""
    by = survey_mean(apistrat, dstrat, "api00", by="stype").set_index("group")
    for label, big_n in zip(dstrat.strata, dstrat.population):
        part = apistrat[apistrat["stype"] == label].reset_index(drop=True)
        alone = survey_mean(part, stratified_design(part, {label: big_n}, strata="stype"), "api00").iloc[0]
        np.testing.assert_allclose(
            by.loc[label, ["estimate", "se"]].to_numpy(dtype=float), [alone["estimate"], alone["se"]], rtol=1e-12
        )


def test_public_estimation_api_is_exported():
    import ppp_survey

    for name in ("stratified_design", "survey_mean", "survey_total", "survey_difference", "rao_scott", "versus_rest"):
        assert callable(getattr(ppp_survey, name)), name
        assert name in ppp_survey.__all__


def test_svymean_of_a_factor(apistrat, dstrat) -> None:
    """A text column gives one row per level, as R's svymean(~stype, dstrat): the strata's shares
    of the 6,194 schools (4,421, 755, 1,018; api.Rout.save, summary(dstrat)), known without error."""
    table = survey_mean(apistrat, dstrat, "stype").set_index("variable")
    assert list(table.index) == ["stype=E", "stype=H", "stype=M"]
    for level, n_h in (("E", 4421), ("H", 755), ("M", 1018)):
        assert table.loc[f"stype={level}", "estimate"] == pytest.approx(n_h / 6194, rel=1e-12)
        assert table.loc[f"stype={level}", "se"] == pytest.approx(0, abs=1e-9)  # round-off of a zero variance
    # the same as the 0/1 indicator column of one level
    yes = apistrat.assign(yes=(apistrat["sch.wide"] == "Yes").astype(float))
    by_level = survey_mean(apistrat, dstrat, "sch.wide").set_index("variable").loc["sch.wide=Yes"]
    by_hand = survey_mean(yes, dstrat, "yes").iloc[0]
    for col in ("estimate", "se", "ci_low", "ci_high", "n"):
        assert by_level[col] == pytest.approx(by_hand[col], rel=1e-12), col


def test_by_several_columns_is_by_their_combination(apistrat, dstrat) -> None:
    """by=["stype", "sch.wide"] (R's svyby(~api00, ~stype + sch.wide, dstrat, svymean)) equals by one
    column holding the combination; totals too."""
    combined = apistrat.assign(both=apistrat["stype"] + " × " + apistrat["sch.wide"])
    for estimator in (survey_mean, survey_total):
        two = estimator(apistrat, dstrat, "api00", by=["stype", "sch.wide"])
        one = estimator(combined, dstrat, "api00", by="both")
        assert list(two["group"]) == ["E × No", "E × Yes", "H × No", "H × Yes", "M × No", "M × Yes"]
        pd.testing.assert_frame_equal(two.reset_index(drop=True), one.reset_index(drop=True))
