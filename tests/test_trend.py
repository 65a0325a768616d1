"""Trends across waves (issue 29): the comparison generalised to a history of frozen baselines.

Reference facts: the synthetic R9 wave's drifts are documented in
``src/ppp_survey/data/synthetic_r9.yaml`` (its ``changes`` and ``trends`` lists are read below); the
R7 and R8 waves are the bundled synthetic files, R8 frozen in ``data/processed/baseline_r8``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import BASELINE, FRAME, REPO
from ppp_survey import compare as cmp
from ppp_survey.analysis import analyse
from ppp_survey.compare.trend import TrendError, trend, trend_groups, wls_slope
from ppp_survey.compare.wave import wave_indicators
from ppp_survey.constants import ALL, MIN_BASE
from ppp_survey.spec.codebook import load_codebook
from ppp_survey.spec.frame import load_frame
from ppp_survey.spec.mapping import load_mapping
from ppp_survey.survey.associations import indicator
from ppp_survey.survey.design import stratified_design
from ppp_survey.survey.multiplicity import adjust_p_values
from ppp_survey.survey.regression import survey_glm
from ppp_survey.synth.generator import generate, load_spec

RAW = REPO / "data" / "raw"
SIGNIFICANT = ("改善", "悪化", "増加", "減少")
MAPPINGS = ["mapping_r7_r8.yaml", "mapping_r8_r9.yaml"]


@pytest.fixture(scope="module")
def waves():
    """The bundled R7, R8 and R9 exports, each analysed as the report does."""
    return [
        cmp.load_wave(BASELINE, FRAME),
        cmp.load_wave(RAW / "synthetic_r8_responses.xlsx", RAW / "staff_frame_r8.csv", "codebook_r8.yaml"),
        cmp.load_wave(RAW / "synthetic_r9_responses.xlsx", RAW / "staff_frame_r9.csv", "codebook_r9.yaml"),
    ]


@pytest.fixture(scope="module")
def bundled(waves):
    """The trend a user gets from the bundled frozen baselines R7 and R8 and the R9 export."""
    history = [cmp.load_baseline(REPO / "data" / "processed" / f"baseline_{w}") for w in ("r7", "r8")]
    return trend(history, waves[2], MAPPINGS)


@pytest.fixture(scope="module")
def in_memory(waves):
    """The bundled R7 and R8 exports frozen in memory (baseline_from_wave), read only: shared by the
    tests that freeze them."""
    return [cmp.baseline.baseline_from_wave(w) for w in waves[:2]]


@pytest.fixture(scope="module")
def in_memory_trend(in_memory, waves):
    """The trend of the in-memory R7 and R8 baselines and the R9 export (the stacked-regression tests')."""
    return trend(in_memory, waves[2], MAPPINGS)


def test_bundled_r8_baseline_is_the_r8_export_frozen(in_memory):
    """data/processed/baseline_r8 holds what freezing the bundled R8 export gives (make baseline)."""
    frozen = cmp.load_baseline(REPO / "data" / "processed" / "baseline_r8")
    fresh = in_memory[1]
    pd.testing.assert_frame_equal(frozen.indicators, fresh.indicators, check_exact=False, rtol=1e-10)


def test_two_waves_are_the_comparison(waves, in_memory):
    """With one baseline the trend's change rows are the two-wave comparison's, row for row."""
    base = in_memory[0]
    pair = cmp.compare(base, waves[1], MAPPINGS[0]).rows
    table = trend([base], waves[1], MAPPINGS[:1])
    assert set(table.changes["step"]) == {"consecutive"}
    both = pair.merge(table.changes, on=["indicator", "group"], suffixes=("", "_t"), validate="one_to_one")
    assert len(both) == len(pair) == len(table.changes)
    for a, b in (("difference", "difference_t"), ("se_diff", "se_diff_t"), ("p_value", "p_value_t")):
        np.testing.assert_allclose(both[a].to_numpy(float), both[b].to_numpy(float), rtol=1e-9, equal_nan=True)
    assert (both["verdict"] == both["verdict_t"]).all()
    # two points are on a line: the trend's slope is the change
    slope = table.trends.merge(pair, on=["indicator", "group"])
    np.testing.assert_allclose(slope["slope"], slope["difference"], rtol=1e-9, atol=1e-12, equal_nan=True)


def test_chain_follows_only_what_every_link_maps(bundled):
    """q5's choice 14 was added in R8: in no R7 row, so not in the trend; the renamed 職域 is followed."""
    assert bundled.waves == ("R7", "R8", "R9")
    assert "q5:opt:14" not in set(bundled.trends["indicator"])
    assert "q5:opt:14" in set(bundled.not_followed["item"])
    water = next(g for g in bundled.groups if g.name == "上下水道局")
    assert water.members == (("企業（上下水道）",), ("上下水道局",), ("上下水道局",))
    est = bundled.estimates
    assert (est.groupby(["indicator", "group"]).size() == 3).all()
    steps = bundled.changes.groupby("step")["to_wave"].unique().to_dict()
    assert sorted(steps["consecutive"]) == ["R8", "R9"] and list(steps["first_last"]) == ["R9"]


def test_a_pool_of_any_wave_joins_its_members_in_every_wave(waves):
    """技能労務 pooled with 教育・保育 in R8 only: the trend publishes them as one group in all waves."""
    cbs = [w.codebook for w in waves]
    links = [load_mapping(m, a, b) for m, a, b in zip(MAPPINGS, cbs, cbs[1:])]
    pool = "技能労務＋教育・保育"
    groups = trend_groups(links, [{}, {pool: ("技能労務", "教育・保育")}, {}])
    joined = [g for g in groups if "技能労務" in g.name]
    assert len(joined) == 1 and joined[0].name == pool
    assert joined[0].members == (("技能労務", "教育・保育"), (pool,), ("技能労務", "教育・保育"))
    assert "匿名性のため統合" in joined[0].note
    assert len(groups) == 8


def test_every_wave_weighted_alike(waves, in_memory):
    base, r8 = in_memory
    raked = replace(base, manifest={**base.manifest, "method": {**base.manifest["method"], "raked_to": ["position"]}})
    with pytest.raises(cmp.BaselineError, match="ウェイトの作り方"):
        trend([raked, r8], waves[2], MAPPINGS)
    with pytest.raises(TrendError, match="対応表は隣り合う回の組ごとに1つ"):
        trend([base, r8], waves[2], MAPPINGS[:1])
    with pytest.raises(TrendError, match="古い順に並べ直す"):
        cbs = [w.codebook for w in waves]
        swapped = [load_mapping(MAPPINGS[1], cbs[1], cbs[2]), load_mapping(MAPPINGS[0], cbs[0], cbs[1])]
        trend([base, r8], waves[2], swapped)


# ---------------------------------------------------------------- WLS = stacked design-based regression


def _stacked(waves, keys: list[str]):
    """The three waves' respondents stacked: the 0/1 indicator, the wave as a number, strata wave × 職域."""
    parts, population = [], {}
    for t, (w, key) in enumerate(zip(waves, keys)):
        a = w.analysis
        stratum = a.codebook.stratum.id
        y = indicator(a.responses, a.codebook, key).to_numpy()
        parts.append(pd.DataFrame({"y": y, "wave": float(t), "stratum": [f"{t}:{h}" for h in a.responses[stratum]]}))
        population.update({f"{t}:{h}": float(n) for h, n in zip(a.design.strata, a.design.population)})
    data = pd.concat(parts, ignore_index=True)
    return data, stratified_design(data, population, strata="stratum", fpc=False)


@pytest.mark.parametrize("key", ["q6:top2", "q3:choice:1", "q2:top2", "q7:opt:1"])
def test_trend_slope_is_the_stacked_survey_glm(waves, in_memory_trend, key):
    """The trend test is the design-based regression on the stacked waves (svyglm: y ~ wave, the 0/1
    indicator, strata wave × 職域, no FPC), computed from the frozen estimates: the same slope (to
    1e-8) and the same standard error to 1e-3 (relative) — the regression centres a wave's answers at
    the fitted line, the wave's estimate at its own mean, and with item nonresponse (1% of answers
    blank) the blanks' zeros add a term in (p̂_t − fitted)² to its variance (measured: 1e-5).
    Weighting the waves by precision (1/V_t, wls_slope's default) instead gives the same slope only
    when the waves' values lie on a line: q7 option 1 (a step from R7 to R8, then flat) is then half a
    standard error away, the others within 0.2 (q3: 0.14, its R8 → R9 step drawn smaller than R7 → R8)."""
    table = in_memory_trend
    est = table.estimates[(table.estimates["indicator"] == key) & (table.estimates["group"] == "全体")]
    data, design = _stacked(waves, est["indicator_wave"].tolist())
    fit = survey_glm(data, design, "y", ["wave"], family="gaussian")
    b_glm, se_glm = float(fit.coefficients[1]), float(np.sqrt(fit.cov[1, 1]))
    answered = data["y"].notna().to_numpy()
    n_hat = np.bincount(data["wave"].to_numpy(int)[answered], weights=design.row_weights[answered])
    np.testing.assert_allclose(est["nhat"].to_numpy(float), n_hat, rtol=1e-9)
    row = table.trends[(table.trends["indicator"] == key) & (table.trends["group"] == "全体")].iloc[0]
    assert row["slope"] == pytest.approx(b_glm, rel=1e-8, abs=1e-12)
    assert row["se"] == pytest.approx(se_glm, rel=1e-3)
    x, p, v = est["position"].to_numpy(float), est["estimate"].to_numpy(float), est["se"].to_numpy(float) ** 2
    precision, _ = wls_slope(x, p, v)
    assert abs(precision - b_glm) < (0.6 if key == "q7:opt:1" else 0.2) * se_glm


# ------------------------------------------------------------------------------ the bundled R9


def _listed(entries) -> set[str]:
    return {e["indicator"] for e in entries}


def test_documented_r9_drifts_are_found_and_nothing_else(bundled):
    """synthetic_r9.yaml: every ``check`` drift is found in 全体 with its verdict — the R8 → R9 change
    at 5%, the R7 → R9 trend even after Holm's adjustment — and no other 全体 row (indicators
    documented in neither list) is flagged after Holm's adjustment over 全体's tested rows (the family
    a reader scans; unadjusted, about 5% of ~50 rows would be by chance)."""
    spec = load_spec("synthetic_r9.yaml")
    changes = bundled.changes[(bundled.changes["group"] == "全体") & (bundled.changes["to_wave"] == "R9")]
    step = changes[changes["step"] == "consecutive"].set_index("indicator")
    trends = bundled.trends[bundled.trends["group"] == "全体"].set_index("indicator")
    for entry in spec["changes"]:
        if entry.get("check"):
            assert step.loc[entry["indicator"], "verdict"] == entry["verdict"], entry
    holm_trend = pd.Series(adjust_p_values(trends["p_value"].to_numpy(float), "holm"), index=trends.index)
    for entry in spec["trends"]:
        if entry.get("check"):
            assert (
                holm_trend[entry["indicator"]] < 0.05 and trends.loc[entry["indicator"], "verdict"] == entry["verdict"]
            )
    holm_step = pd.Series(adjust_p_values(step["p_value"].to_numpy(float), "holm"), index=step.index)
    quiet_step = [k for k in step.index if k not in _listed(spec["changes"]) and k != "rate"]
    quiet_trend = [k for k in trends.index if k not in _listed(spec["trends"]) and k != "rate"]
    assert len(quiet_step) >= 40 and len(quiet_trend) >= 35
    assert not (holm_step[quiet_step] < 0.05).any(), holm_step[quiet_step].sort_values().head()
    assert not (holm_trend[quiet_trend] < 0.05).any(), holm_trend[quiet_trend].sort_values().head()


def test_adjusted_verdicts_read_adjusted_p_values(bundled, waves):
    history = [cmp.load_baseline(REPO / "data" / "processed" / f"baseline_{w}") for w in ("r7", "r8")]
    holm = trend(history, waves[2], MAPPINGS, adjust="holm")
    tested = holm.trends["p_value"].notna()
    expected = adjust_p_values(holm.trends["p_value"].to_numpy(float), "holm")
    np.testing.assert_allclose(holm.trends["p_adjusted"], expected, equal_nan=True)
    assert (
        holm.trends.loc[tested, "verdict"].isin(SIGNIFICANT).sum() < bundled.trends["verdict"].isin(SIGNIFICANT).sum()
    )
    assert bundled.trends["p_adjusted"].isna().all()


# ------------------------------------------------------------------------ null histories (size)


def _null_history(h: int, codebook, spec, frame) -> list:
    """History ``h``'s three waves: independent regenerations of R7 (seeds 30001 + 3h + t), analysed as
    the report does."""
    return [
        cmp.Wave.of(analyse(generate(codebook, spec, seed=30001 + 3 * h + t).responses, frame, codebook, tables=False))
        for t in range(3)
    ]


def _wave_arrays(rows: pd.DataFrame, rates: pd.DataFrame, keys: pd.MultiIndex) -> dict[str, np.ndarray]:
    """What :func:`trend` reads of one wave's indicator rows (全体 and each 職域), on the rows ``keys``:
    estimate and SE without FPC (NaN where suppressed), base, suppressed, and ``N̂`` (Σ N_h m_h/n_h
    over the group's strata; the staff count for a response rate)."""
    per_stratum = rates.iloc[:-1]  # the last row is 全体
    weight = dict(zip(per_stratum["domain"].astype(str), per_stratum["population"] / per_stratum["respondents"]))
    rows = rows.set_index(["indicator", "group"])
    by = rows[rows.index.get_level_values("group") != ALL]
    nhat = by["base_n"].to_numpy(float)
    nhat = np.where(by["kind"] == "rate", nhat, nhat * by.index.get_level_values("group").map(weight).to_numpy(float))
    total = pd.Series(nhat, index=by.index).groupby(level="indicator", sort=False).sum()
    nhat = pd.concat(
        [pd.Series(nhat, index=by.index), total.set_axis(pd.MultiIndex.from_product([total.index, [ALL]]))]
    )
    rows = rows.reindex(keys)
    assert rows["base_n"].notna().all(), "a row of the trend is missing in a wave"
    held = rows["suppressed"].to_numpy(bool)
    return {
        "estimate": np.where(held, np.nan, rows["estimate"].to_numpy(float)),
        "se": np.where(held, np.nan, rows["se_nofpc"].to_numpy(float)),
        "n": rows["base_n"].to_numpy(float),
        "nhat": nhat.reindex(keys).to_numpy(float),
        "held": held,
    }


def _null_tests(w: dict[str, np.ndarray], rate: np.ndarray, descriptive: np.ndarray, alpha: float = 0.05):
    """The consecutive-change and trend tests of :func:`trend` (defaults: no FPC, each row at 5%) on
    many histories at once: arrays (history, wave, row) → per test (p-values, flagged), each
    (history, [step,] row). A row is tested where its p-value is a number; flagged where the verdict
    is 改善/悪化/増加/減少 (p < α, the row having a direction)."""
    from scipy.special import ndtr

    def judge(value, se, small, held):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, value / se, np.where(value == 0, 0.0, np.inf * np.sign(value)))
        p = np.where(rate | small | held | ~np.isfinite(value), np.nan, 2 * ndtr(-np.abs(z)))
        return p, (p < alpha) & ~descriptive

    est, se, n, nhat, held = (w[k] for k in ("estimate", "se", "n", "nhat", "held"))
    # consecutive changes: independent cross-sections, var(diff) = se_a² + se_b²
    diff = est[:, 1:] - est[:, :-1]
    se_diff = np.sqrt(se[:, :-1] ** 2 + se[:, 1:] ** 2)
    small = ~rate & ((n[:, :-1] < MIN_BASE) | (n[:, 1:] < MIN_BASE))
    step = (diff, se_diff, *judge(diff, se_diff, small, held[:, :-1] | held[:, 1:]))
    # the trend: least squares through the waves' estimates weighted by N̂ (wls_slope), var = Σ c_t² V_t
    x = np.arange(est.shape[1], dtype=float)[None, :, None]
    xc = x - np.sum(nhat * x, axis=1, keepdims=True) / np.sum(nhat, axis=1, keepdims=True)
    c = nhat * xc / np.sum(nhat * xc**2, axis=1, keepdims=True)
    any_held = held.any(axis=1)
    slope = np.where(any_held, np.nan, np.sum(c * est, axis=1))
    se_slope = np.sqrt(np.where(any_held, np.nan, np.sum(c**2 * se**2, axis=1)))
    line = (slope, se_slope, *judge(slope, se_slope, ~rate & (n < MIN_BASE).any(axis=1), any_held))
    return {"consecutive": step, "trend": line}


def test_null_histories_flag_about_five_percent():
    """20 histories of three independent regenerations of R7 (nothing drifts; seeds 30001–30060, used by
    no other test): the consecutive-change and trend tests flag 2.5–7.5% of their tested rows. Rows of
    one history are correlated (choices of a question, 職域 within 全体, two changes sharing a wave), so
    one history's rate ranges widely; pooled over 20 it is near 5% (benchmarks/sim_trends.py: 100
    histories, see benchmarks/RESULTS_trends.md). 2.5% so that intervals made too wide fail too.

    Every history is generated and analysed, its first two waves frozen in memory (baseline_from_wave)
    and the third's indicators made as :func:`trend` makes them (wave_indicators); the tests then run on
    all 20 histories in one array pass (:func:`_null_tests`). :func:`trend` itself runs on the first and
    the last history: its estimates, changes and trends equal the array pass's to 1e-12, row for row,
    and it flags and tests the same rows. A history with a 職域 pooled in a wave would be judged by
    :func:`trend` alone (its groups differ); with these seeds none is."""
    spec = load_spec()  # R7's
    codebook = load_codebook()
    frame = load_frame(FRAME, codebook)
    labels = codebook.stratum.labels
    histories = 20
    hits = {"consecutive": [0, 0], "trend": [0, 0]}
    checked = {0, histories - 1}  # the histories trend() itself runs on
    tables, arrays = {}, {}
    for h in range(histories):
        waves = _null_history(h, codebook, spec, frame)
        frozen = [cmp.baseline.baseline_from_wave(w) for w in waves[:2]]
        pooled = any(w.pools for w in waves)
        if pooled or h in checked or not arrays:
            tables[h] = trend(frozen, waves[2])
        if pooled:  # groups of its own: counted from trend's table
            step = tables[h].changes[tables[h].changes["step"] == "consecutive"]
            for name, rows in (("consecutive", step), ("trend", tables[h].trends)):
                tested = rows["p_value"].notna()
                hits[name][0] += int(rows.loc[tested, "verdict"].isin(SIGNIFICANT).sum())
                hits[name][1] += int(tested.sum())
            continue
        if not arrays:  # the rows of every history whose groups are the 職域: indicator × group
            checked.add(h)
            first = tables[h].trends
            keys = pd.MultiIndex.from_frame(first[["indicator", "group"]])
            rate = (first["kind"] == "rate").to_numpy()
            descriptive = (first["direction"] == "descriptive").to_numpy()
        current = waves[2].analysis
        rows = [*(b.indicators for b in frozen), wave_indicators(waves[2], groups={g: g for g in labels}, order=labels)]
        rates = [*(b.rates for b in frozen), current.rates.assign(domain=current.rates["domain"].astype(str))]
        arrays[h] = [_wave_arrays(r, q, keys) for r, q in zip(rows, rates)]
    order = list(arrays)
    stacked = {k: np.stack([[w[k] for w in arrays[h]] for h in order]) for k in arrays[order[0]][0]}
    tests = _null_tests(stacked, rate, descriptive)
    for h in sorted(checked & set(arrays)):  # trend's own numbers, row for row
        table, i = tables[h], order.index(h)
        for col in ("estimate", "se", "n", "nhat"):
            mine = stacked[col][i].T.reshape(-1)  # trend's order: row, then wave
            np.testing.assert_allclose(table.estimates[col].to_numpy(float), mine, rtol=1e-12, atol=1e-12, err_msg=col)
        step = table.changes[table.changes["step"] == "consecutive"]
        assert (pd.MultiIndex.from_frame(step[["indicator", "group"]]) == keys.append(keys)).all()
        assert (pd.MultiIndex.from_frame(table.trends[["indicator", "group"]]) == keys).all()
        for name, rows, columns in (
            ("consecutive", step, ("difference", "se_diff", "p_value")),
            ("trend", table.trends, ("slope", "se", "p_value")),
        ):
            mine = [a[i].reshape(-1) for a in tests[name]]
            for col, got in zip(columns, mine):
                np.testing.assert_allclose(rows[col].to_numpy(float), got, rtol=1e-12, atol=1e-12, err_msg=col)
            assert (rows["verdict"].isin(SIGNIFICANT).to_numpy() == mine[3]).all(), name
    for name, (_, _, p, flagged) in tests.items():
        hits[name][0] += int(flagged.sum())
        hits[name][1] += int(np.isfinite(p).sum())
    for name, (flagged, tested) in hits.items():
        assert tested > 4000, (name, tested)
        assert 0.025 <= flagged / tested <= 0.075, (name, flagged, tested)
