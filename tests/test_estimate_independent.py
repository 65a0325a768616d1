"""Estimates and tests compared with an independent implementation (svy).

A synthetic staff survey is built here (seeded): 9 strata (職域) of unequal
size, about 1,300 respondents of 3,138 staff, a 5-level question turned into
0/1 columns, a multi-select question (Int8 with NA), a 3-level question, a
continuous score, item nonresponse everywhere, and an attribute (age band)
that cuts across the strata.  ``svy`` (0.35) receives the same design:
``Design(stratum=..., wgt=N_h/n_h, pop_size=N_h)`` — svy's ``pop_size`` takes
N_h per row.  With ``drop_nulls=True`` svy treats a missing answer or a
missing ``by`` as out of the domain while keeping the row in the design
(R's ``na.rm=TRUE``/``subset()``), which is the semantics under test.

Conventions on which svy and this package differ on purpose (and R is on
this package's side, see estimate.py / significance.py):

* interval and test df: svy uses the df of the rows in the domain
  (``n_d − H_d``; ``n_d − H_d − 1`` for two-sample t tests); this package
  uses the full design's ``n − H`` (R's ``svyciprop``, ``svychisq``).  The
  tests pass svy's df where an interval or p-value is compared.
* Pearson's X² in the Rao–Scott test: R (and this package) scale the table
  to all rows of the design, svy to the rows in the table's base.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import polars as pl  # test dependency: the [dev] extra installs it
import pytest
import svy
from scipy import stats

from ppp_survey.survey.design import DesignError, stratified_design
from ppp_survey.survey.estimate import survey_difference, survey_mean, survey_total
from ppp_survey.survey.significance import rao_scott, versus_rest

ATOL = 1e-6

STRATA = ("総務", "財政", "市民", "福祉", "環境", "経済", "土木", "教育", "消防")
POPULATION = np.array([820, 540, 410, 360, 300, 260, 210, 138, 100])  # 3,138 staff
RESPONSE = np.array([0.35, 0.45, 0.40, 0.50, 0.38, 0.55, 0.30, 0.60, 0.48])
LEVELS = ("A", "B", "C", "D", "E")
AGES = ("20代", "30代", "40代", "50代以上")
Q1 = [f"q1_{lev}" for lev in LEVELS]
MULTI = ["ms_1", "ms_2", "ms_3"]
BINARY = Q1 + MULTI


def make_survey(seed: int = 20240607) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    n_h = np.round(POPULATION * RESPONSE).astype(int)
    stratum = np.repeat(np.arange(len(STRATA)), n_h)
    n = stratum.size
    age = rng.choice(len(AGES), size=n, p=[0.2, 0.3, 0.3, 0.2])
    logits = rng.normal(size=(len(STRATA), len(LEVELS)))[stratum] + 0.6 * np.eye(4, len(LEVELS))[age]
    prob = np.exp(logits)
    prob /= prob.sum(axis=1, keepdims=True)
    q1 = np.minimum((rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1), len(LEVELS) - 1)
    df = pd.DataFrame(
        {
            "職域": pd.Categorical(np.asarray(STRATA, dtype=object)[stratum], categories=STRATA),
            "age": pd.Categorical(np.asarray(AGES, dtype=object)[age], categories=AGES),
        }
    )
    q1_missing = rng.random(n) < 0.06
    df["q1"] = pd.Categorical(np.where(q1_missing, None, np.asarray(LEVELS, dtype=object)[q1]), categories=LEVELS)
    for k, name in enumerate(Q1):
        df[name] = np.where(q1_missing, np.nan, (q1 == k).astype(float))
    base = rng.random(n)
    ms_missing = rng.random(n) < 0.04
    for name, threshold in zip(MULTI, (0.45, 0.6, 0.3)):
        chosen = pd.array((base + 0.5 * rng.random(n) > threshold + 0.25).astype("int8"), dtype="Int8")
        chosen[ms_missing] = pd.NA
        df[name] = chosen
    q2 = np.where(rng.random(n) < 0.3 + 0.1 * age, 0, rng.integers(1, 3, n))
    df["q2"] = pd.Categorical(np.array(["賛成", "中立", "反対"], dtype=object)[q2], categories=["賛成", "中立", "反対"])
    df.loc[rng.random(n) < 0.05, "q2"] = np.nan
    df.loc[rng.random(n) < 0.03, "age"] = np.nan
    df["score"] = rng.normal(3 + 0.2 * stratum, 1.0)
    df.loc[rng.random(n) < 0.05, "score"] = np.nan
    return df, pd.Series(POPULATION, index=STRATA)


@pytest.fixture(scope="module")
def survey():
    df, population = make_survey()
    return df, stratified_design(df, population, strata="職域")


def _svy_sample(df: pd.DataFrame, design, rows: np.ndarray | None = None):
    """The design in svy: weight N_h/n_h and pop_size N_h per row (optionally only `rows`)."""
    frame = df.copy()
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype(object)
    for name in MULTI:
        frame[name] = frame[name].astype("Float64")
    frame["_w"] = design.weights
    frame["_N"] = design.population[design.codes]
    if rows is not None:
        frame = frame[rows].reset_index(drop=True)
    return svy.Sample(pl.from_pandas(frame), svy.Design(stratum="職域", wgt="_w", pop_size="_N"))


@pytest.fixture(scope="module")
def sample(survey):
    return _svy_sample(*survey)


def _svy_mean(sample, y: str, by: str | None = None, *, total: bool = False) -> pd.DataFrame:
    method = sample.estimation.total if total else sample.estimation.mean
    return method(y, by=by, drop_nulls=True, deff="wor").to_polars().to_pandas()


def test_synthetic_survey_shape(survey) -> None:
    df, design = survey
    assert 1200 <= design.n <= 1400 and design.population.sum() == 3138
    assert len(set(design.sample_size.tolist())) == 9  # unequal n_h
    for name in BINARY + ["score", "age", "q2"]:
        assert 0 < df[name].isna().sum() < 0.1 * len(df)


@pytest.mark.parametrize("column", BINARY + ["score"])
def test_overall_mean_matches_svy(survey, sample, column) -> None:
    df, design = survey
    ours = survey_mean(df, design, column).iloc[0]
    theirs = _svy_mean(sample, column).iloc[0]
    assert ours["n"] == theirs["n"]
    np.testing.assert_allclose(
        ours[["estimate", "se", "deff"]].to_numpy(dtype=float),
        theirs[["est", "se", "deff"]].to_numpy(dtype=float),
        rtol=0,
        atol=ATOL,
    )


@pytest.mark.parametrize("by", ["age", "職域"])
@pytest.mark.parametrize("column", ["q1_A", "q1_D", "ms_2", "score"])
def test_domain_mean_matches_svy(survey, sample, column, by) -> None:
    """Domains cutting across strata (age) and equal to strata (職域)."""
    df, design = survey
    ours = survey_mean(df, design, column, by=by).set_index("group")
    theirs = _svy_mean(sample, column, by=by).set_index(by).loc[list(ours.index)]
    assert ours["n"].tolist() == theirs["n"].tolist()
    for mine, other in (("estimate", "est"), ("se", "se"), ("deff", "deff")):
        np.testing.assert_allclose(ours[mine].to_numpy(float), theirs[other].to_numpy(float), rtol=0, atol=ATOL)


@pytest.mark.parametrize("by", [None, "age"])
@pytest.mark.parametrize("column", ["q1_B", "ms_1", "score"])
def test_total_matches_svy(survey, sample, column, by) -> None:
    df, design = survey
    ours = survey_total(df, design, column, by=by)
    theirs = _svy_mean(sample, column, by=by, total=True)
    if by is not None:
        theirs = theirs.set_index(by).loc[ours["group"].tolist()]
    # Intervals differ by df only (see module docstring); the formula is checked
    # in test_interval_formula_matches_svy.
    for mine, other in (("estimate", "est"), ("se", "se"), ("deff", "deff")):
        np.testing.assert_allclose(ours[mine].to_numpy(float), theirs[other].to_numpy(float), rtol=0, atol=ATOL)


@pytest.mark.parametrize("by", [None, "age"])
def test_interval_formula_matches_svy(survey, sample, by) -> None:
    """Logit intervals (0/1 columns) and Wald intervals, at svy's df per domain."""
    df, design = survey
    for column in ["q1_C", "ms_3", "score"]:
        if column == "score":
            theirs = _svy_mean(sample, column, by=by)
        else:
            theirs = sample.estimation.prop(column, by=by, drop_nulls=True, ci_method="logit")
            theirs = theirs.to_polars().to_pandas()
            theirs = theirs[theirs[column] == 1.0]
        groups = [None] if by is None else list(theirs[by])
        for group, (_, row) in zip(groups, theirs.iterrows()):
            ours = survey_mean(df, design, column, by=by, df=row["df"])
            if group is not None:
                ours = ours[ours["group"] == group]
            ours = ours.iloc[0]
            np.testing.assert_allclose([ours["ci_low"], ours["ci_high"]], [row["lci"], row["uci"]], rtol=0, atol=ATOL)


def test_cross_cutting_domain_is_not_a_filtered_subset(survey, sample) -> None:
    """Why domain estimation matters: re-running the design on the filtered rows is wrong.

    The filtered data look like a smaller stratified sample (n_h of the
    domain instead of the stratum's n_h, centred on the domain's own stratum
    means), which ignores that the domain's size in each stratum is random.
    """
    df, design = survey
    ours = survey_mean(df, design, "q1_A", by="age").set_index("group").loc["20代"]
    naive = _svy_sample(df, design, rows=(df["age"] == "20代").to_numpy())  # filtered rows
    naive_row = naive.estimation.mean("q1_A", drop_nulls=True).to_polars().to_pandas().iloc[0]
    domain_row = _svy_mean(sample, "q1_A", by="age").set_index("age").loc["20代"]
    # Same point estimate (same weights) ...
    assert ours["estimate"] == pytest.approx(naive_row["est"], abs=1e-12)
    # ... domain SE agrees with svy's domain estimation ...
    assert ours["se"] == pytest.approx(domain_row["se"], abs=ATOL)
    # ... and differs from the filtered-subset SE by far more than rounding (15% here).
    assert abs(ours["se"] / naive_row["se"] - 1.0) > 0.05


def _explicit_difference_se(df: pd.DataFrame, design, a: str, b: str, domain: np.ndarray | None = None) -> float:
    """Textbook linearisation, respondent by respondent (independent of the sums code).

    Respondents outside `domain` keep z = 0 but stay in their stratum.
    """
    w = design.weights
    ya = np.array(df[a].to_numpy(dtype=float, na_value=np.nan))
    yb = np.array(df[b].to_numpy(dtype=float, na_value=np.nan))
    if domain is not None:
        ya[~domain] = np.nan
        yb[~domain] = np.nan
    z = np.zeros(len(df))
    ma, mb = ~np.isnan(ya), ~np.isnan(yb)
    ra = np.sum(w[ma] * ya[ma]) / np.sum(w[ma])
    rb = np.sum(w[mb] * yb[mb]) / np.sum(w[mb])
    z[ma] += (ya[ma] - ra) / np.sum(w[ma])
    z[mb] -= (yb[mb] - rb) / np.sum(w[mb])
    u = w * z
    variance = 0.0
    for h, (big_n, n_h) in enumerate(zip(design.population, design.sample_size)):
        uh = u[design.codes == h]
        variance += (1 - n_h / big_n) * n_h * np.var(uh, ddof=1)
    return float(np.sqrt(variance))


def test_difference_same_respondents_matches_svy_paired_ttest(survey, sample) -> None:
    """Multi-select options share their missing rows: mean(a) − mean(b) = mean(a − b)."""
    df, design = survey
    for a, b in (("ms_1", "ms_2"), ("ms_1", "ms_3"), ("ms_2", "ms_3")):
        ours = survey_difference(df, design, a, b).iloc[0]
        test = sample.categorical.ttest(a, y_pair=b, drop_nulls=True)
        assert ours["estimate"] == pytest.approx(test.diff[0].diff, abs=ATOL)
        assert ours["se"] == pytest.approx(test.diff[0].se, abs=ATOL)
        statistic = ours["estimate"] / ours["se"]
        assert statistic == pytest.approx(test.stats.t, abs=ATOL)
        assert 2 * stats.t.sf(abs(statistic), test.stats.df) == pytest.approx(test.stats.p_value, abs=ATOL)
        # the covariance matters: ignoring it gives a different SE
        separate = survey_mean(df, design, [a, b])["se"].to_numpy()
        assert abs(ours["se"] - np.hypot(*separate)) > 0.1 * ours["se"]


def test_difference_with_own_missingness_matches_explicit_linearisation(survey) -> None:
    df, design = survey
    ours = survey_difference(df, design, ["q1_A", "ms_1"], ["ms_1", "score"])
    means = survey_mean(df, design, ["q1_A", "ms_1", "score"]).set_index("variable")["estimate"]
    expected_est = [means["q1_A"] - means["ms_1"], means["ms_1"] - means["score"]]
    np.testing.assert_allclose(ours["estimate"], expected_est, rtol=0, atol=1e-12)
    expected_se = [
        _explicit_difference_se(df, design, "q1_A", "ms_1"),
        _explicit_difference_se(df, design, "ms_1", "score"),
    ]
    np.testing.assert_allclose(ours["se"], expected_se, rtol=1e-10)
    assert list(ours.columns) == ["variable_a", "variable_b", "group", "estimate", "se", "ci_low", "ci_high", "p_value"]
    by_age = survey_difference(df, design, "q1_A", "ms_1", by="age").set_index("group")
    for group in AGES:
        inside = (df["age"] == group).to_numpy()
        expected = _explicit_difference_se(df, design, "q1_A", "ms_1", domain=inside)
        assert by_age.loc[group, "se"] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("column", ["q1_A", "ms_2"])
def test_versus_rest_matches_svy_two_sample_ttest(survey, column) -> None:
    """Group vs the other groups = svyttest(y ~ 1{group}) with missing age out of both."""
    df, design = survey
    ours = versus_rest(df, design, column, by="age").set_index("group")
    for group in AGES:
        row = ours.loc[group]
        test = _svy_group_ttest(survey, column, group)
        assert abs(row["difference"]) == pytest.approx(abs(test.diff[0].diff), abs=ATOL)
        assert row["se"] == pytest.approx(test.diff[0].se, abs=ATOL)
        assert abs(row["statistic"]) == pytest.approx(abs(test.stats.t), abs=ATOL)
        assert 2 * stats.t.sf(abs(row["statistic"]), test.stats.df) == pytest.approx(test.stats.p_value, abs=ATOL)
        means = survey_mean(df, design, column, by="age").set_index("group")["estimate"]
        assert row["estimate_group"] == pytest.approx(means[group], abs=1e-12)


def _svy_group_ttest(survey, column: str, group: str):
    df, design = survey
    frame = pd.DataFrame(
        {
            "職域": df["職域"].astype(object),
            "y": df[column].astype("Float64"),
            "_g": np.where(df["age"].isna(), np.nan, (df["age"] == group).astype(float)),
            "_w": design.weights,
            "_N": design.population[design.codes],
        }
    )
    sample = svy.Sample(pl.from_pandas(frame), svy.Design(stratum="職域", wgt="_w", pop_size="_N"))
    return sample.categorical.ttest("y", group="_g", drop_nulls=True)


@pytest.mark.parametrize(("row", "col"), [("q2", "age"), ("q1", "q2"), ("q1", "職域")])
def test_rao_scott_matches_svy(survey, sample, row, col) -> None:
    df, design = survey
    ours = rao_scott(df, design, row, col)
    domain = pl.col(row).is_not_null() & pl.col(col).is_not_null()
    theirs = sample.categorical.tabulate(row, col, where=domain, drop_nulls=True).stats
    base = ours.n
    assert ours.df == theirs.chisq.df
    # First-order Rao–Scott: same p-value (svy reports the Pearson X² beside it).
    assert ours.chisq_p_value == pytest.approx(theirs.chisq.p_value, abs=ATOL)
    # Pearson X²: R scales the table to all design rows, svy to the table's base.
    assert ours.pearson * base / design.n == pytest.approx(theirs.chisq.value, abs=ATOL)
    # Second-order F and its numerator df do not depend on that scaling.
    assert ours.f == pytest.approx(theirs.f.value, abs=ATOL)
    assert ours.df_num == pytest.approx(theirs.f.df_num, abs=ATOL)
    # Denominator df: d·(n − H) of the full design (R) vs d·(n_base − H_base) (svy).
    strata_in_base = len(np.unique(design.codes[(df[row].notna() & df[col].notna()).to_numpy()]))
    assert theirs.f.df_den == pytest.approx(ours.df_num * (base - strata_in_base), abs=ATOL)
    assert ours.df_den == pytest.approx(ours.df_num * design.df, abs=1e-9)
    svy_p = stats.f.sf(ours.f, ours.df_num, theirs.f.df_den)
    assert svy_p == pytest.approx(theirs.f.p_value, abs=ATOL)


# ---------------------------------------------------------------------------
# behaviour the comparisons do not cover
# ---------------------------------------------------------------------------


def test_output_columns(survey) -> None:
    df, design = survey
    expected = ["variable", "group", "n", "unweighted", "estimate", "se", "ci_low", "ci_high", "deff"]
    assert list(survey_mean(df, design, Q1).columns) == expected
    assert list(survey_total(df, design, Q1, by="age").columns) == expected
    out = versus_rest(df, design, Q1, by="age")
    assert list(out.columns) == [
        "variable",
        "group",
        "estimate_group",
        "estimate_rest",
        "difference",
        "se",
        "statistic",
        "p_value",
    ]
    assert len(out) == len(Q1) * len(AGES)


def test_int8_with_na_equals_float_with_nan(survey) -> None:
    df, design = survey
    as_float = df.assign(ms_1=df["ms_1"].astype("float64"))
    pd.testing.assert_frame_equal(
        survey_mean(df, design, "ms_1", by="age"), survey_mean(as_float, design, "ms_1", by="age")
    )


def test_unweighted_is_share_of_respondents(survey) -> None:
    df, design = survey
    row = survey_mean(df, design, "q1_A").iloc[0]
    answered = df["q1_A"].dropna()
    assert row["n"] == len(answered) and row["unweighted"] == pytest.approx(answered.mean(), abs=1e-15)


def test_zero_and_full_shares_get_clopper_pearson_intervals_without_warnings(survey) -> None:
    """0% and 100% cells have SE 0, but their interval does not collapse to [p, p] (issue 16): it is
    Korn–Graubard's with the base n as the effective size, i.e. Clopper–Pearson on x = 0 or n of n,
    computed here independently by statsmodels' proportion_confint(method="beta")."""
    from statsmodels.stats.proportion import proportion_confint

    df, design = survey
    data = df.assign(never=0.0, always=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = survey_mean(data, design, ["never", "always"], by="age")
    assert (out["se"] == 0).all()
    for row in out.itertuples():
        x = 0 if row.variable == "never" else row.n
        low, high = proportion_confint(x, row.n, alpha=0.05, method="beta")
        assert row.ci_low == pytest.approx(low, abs=1e-12) and row.ci_high == pytest.approx(high, abs=1e-12)
        assert row.ci_low < row.ci_high


def test_korn_graubard_matches_clopper_pearson_on_the_effective_size(survey) -> None:
    """ci="beta" is R's svyciprop(method="beta"): n_eff = p(1−p)/se² · (t(n−1)/t(df))², then
    Clopper–Pearson on (n_eff·p, n_eff), here through statsmodels' independent beta quantiles."""
    from scipy import stats as st
    from statsmodels.stats.proportion import proportion_confint

    df, design = survey
    out = survey_mean(df, design, "q1_A", by="age", ci="beta")
    for row in out.itertuples():
        p, se = row.estimate, row.se
        n_eff = p * (1 - p) / se**2 * (st.t.ppf(0.025, design.n - 1) / st.t.ppf(0.025, design.df)) ** 2
        low, high = proportion_confint(n_eff * p, n_eff, alpha=0.05, method="beta")
        assert row.ci_low == pytest.approx(low, rel=1e-9) and row.ci_high == pytest.approx(high, rel=1e-9)


def test_logit_interval_stays_in_unit_interval(survey) -> None:
    df, design = survey
    rare = df.assign(rare=np.where(np.arange(len(df)) % 1000 == 0, 1.0, 0.0))
    row = survey_mean(rare, design, "rare").iloc[0]
    assert 0 < row["ci_low"] < row["estimate"] < row["ci_high"] < 1
    wald = survey_mean(rare, design, "rare", ci="wald").iloc[0]
    assert wald["ci_low"] < 0  # why the logit interval is the default


def test_empty_stratum_contributes_nothing(survey) -> None:
    df, design = survey
    frame = dict(zip(design.strata, design.population))
    widened = stratified_design(df, {**frame, "議会": 40}, strata="職域")
    assert widened.empty_strata == ("議会",)
    assert widened.df == design.df and widened.covered_population == design.population.sum()
    pd.testing.assert_frame_equal(survey_mean(df, widened, Q1, by="age"), survey_mean(df, design, Q1, by="age"))


def test_design_errors(survey) -> None:
    df, _ = survey
    frame = dict(zip(STRATA, POPULATION))
    with pytest.raises(DesignError, match="^回答データ 列「職域」: 「消防」が職員数フレーム（母集団）にない"):
        stratified_design(df, {k: v for k, v in frame.items() if k != "消防"}, strata="職域")
    with pytest.raises(
        DesignError, match=r"^職域「消防」: 回答者\d+人が職員数フレームの職員数10人より多い（n_h > N_h）"
    ):
        stratified_design(df, {**frame, "消防": 10}, strata="職域")
    one = pd.concat([df, df.iloc[[0]].assign(職域="議会")], ignore_index=True)
    with pytest.raises(DesignError, match="^職域「議会」の回答者が1人で、ばらつきを推定できない"):
        stratified_design(one, {**frame, "議会": 40}, strata="職域")
    assert issubclass(DesignError, ValueError)
    with pytest.raises(ValueError, match="rows"):
        survey_mean(df.iloc[:-1], stratified_design(df, frame, strata="職域"), "q1_A")
