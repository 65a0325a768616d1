"""Wave comparison (issue 6): mapping between codebooks, frozen baseline, changes with verdicts.

Sources of the reference facts: the synthetic R8 wave's built-in changes are documented in
``src/ppp_survey/data/synthetic_r8.yaml`` (its ``changes`` list is read below); the R7 baseline is
the bundled synthetic file (tests/test_baseline.py checks it against the committee document).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.special import ndtri

from conftest import BASELINE, FRAME, REPO
from ppp_survey import compare as cmp
from ppp_survey.analysis import analyse, load_survey
from ppp_survey.compare import baseline as frozen_baseline
from ppp_survey.compare import changes as change_table
from ppp_survey.compare.groups import grouped_baseline
from ppp_survey.compare.wave import wave_indicators
from ppp_survey.ingest.load import load_responses
from ppp_survey.outputs import change_charts as change_plots
from ppp_survey.spec.codebook import parse_codebook
from ppp_survey.spec.frame import load_frame
from ppp_survey.spec.mapping import GroupMap, MappingError, load_mapping, parse_mapping
from ppp_survey.spec.resources import resolve_codebook
from ppp_survey.synth.generator import generate, load_spec

R8_DATA = REPO / "data" / "raw" / "synthetic_r8_responses.xlsx"
R8_FRAME = REPO / "data" / "raw" / "staff_frame_r8.csv"
PACKAGED = REPO / "src" / "ppp_survey" / "data"
COMMITTED_BASELINE = REPO / "data" / "processed" / "baseline_r7"
SIGNIFICANT = ("改善", "悪化", "増加", "減少")


# ------------------------------------------------------------------------------------ fixtures


def frame_of(wave, path: Path = FRAME) -> pd.DataFrame:
    """A wave's staff frame as read."""
    return load_frame(path, wave.codebook)


def wave_of(responses: pd.DataFrame, frame: pd.DataFrame, codebook, **options):
    """A wave of in-memory responses (a simulation's), analysed as the report analyses an export:
    groups pooled, weights made once (``tables=False``: the indicators need no other table)."""
    return cmp.Wave.of(analyse(responses, frame, codebook, tables=False, **options))


@pytest.fixture(scope="module")
def r7():
    return cmp.load_wave(BASELINE, FRAME)


@pytest.fixture(scope="module")
def r8():
    return cmp.load_wave(R8_DATA, R8_FRAME, "codebook_r8.yaml")


@pytest.fixture(scope="module")
def mapping(r7, r8):
    return load_mapping("mapping_r7_r8.yaml", r7.codebook, r8.codebook)


@pytest.fixture(scope="module")
def frozen(r7, tmp_path_factory):
    """R7 frozen to a folder and read back: every comparison below uses only the saved files."""
    folder = tmp_path_factory.mktemp("baseline") / "baseline_r7"
    cmp.freeze_baseline(r7, folder)
    return cmp.load_baseline(folder)


@pytest.fixture(scope="module")
def comparison(frozen, r8, mapping):
    """R8 against the frozen R7: a ChangeTable (rows and how they were judged)."""
    return cmp.compare(frozen, r8, mapping)


@pytest.fixture(scope="module")
def changes(comparison):
    """The change rows."""
    return comparison.rows


@pytest.fixture(scope="module")
def built_in():
    """(indicator, group) → documented change, from synthetic_r8.yaml."""
    return load_spec("synthetic_r8.yaml")["changes"]


def is_built_in(built_in, indicator: str, group: str) -> bool:
    for change in built_in:
        if change["indicator"] != indicator:
            continue
        groups = change["groups"]
        return groups == "all" or group == "全体" or group not in groups.get("all_but", [])
    return False


def false_verdicts(table: pd.DataFrame) -> tuple[int, int]:
    """(significant verdicts, tested rows) over every tested indicator × group (not the response
    rate, not suppressed, not 参考値: 技能労務 has fewer than 30 respondents in both waves)."""
    tested = table[(table["kind"] != "rate") & ~table["suppressed"] & table["p_value"].notna()]
    return int(tested["verdict"].isin(SIGNIFICANT).sum()), len(tested)


# ----------------------------------------------------------------------------- the R8 wave


def test_r8_file_is_the_generator_output(r8):
    """data/raw/synthetic_r8_responses.xlsx is what `python -m ppp_survey.synth --wave r8` writes."""
    spec = load_spec("synthetic_r8.yaml")
    made = generate(spec=spec)
    exported = load_responses(R8_DATA, r8.codebook).responses
    pd.testing.assert_frame_equal(exported, made.responses)
    assert len(exported) == 1465 and frame_of(r8, R8_FRAME)["population"].sum() == 3100  # synthetic_r8.yaml
    import openpyxl

    book = openpyxl.load_workbook(R8_DATA, read_only=True)
    note = [row[0] for row in book["注記"].iter_rows(values_only=True)]
    book.close()
    assert "架空データ" in note[1] and "3,100人中1,465人" in note[1]


def test_finds_the_built_in_changes(changes, built_in, r8, frozen, mapping):
    """Every documented change with check: true is found overall, with the documented verdict,
    whether or not the FPC is used (synthetic_r8.yaml: power >= 99% without it, the default)."""
    for table in (changes, cmp.compare(frozen, r8, mapping, fpc=True).rows):
        overall = table[table["group"] == "全体"].set_index("indicator")
        for change in built_in:
            if change.get("check"):
                assert overall.loc[change["indicator"], "verdict"] == change["verdict"], change["indicator"]
    overall = changes[changes["group"] == "全体"].set_index("indicator")
    assert overall.loc["q6:top2", "difference"] > 0.08  # 28.4% → 41.7% in the generator
    assert overall.loc["rate", "estimate_new"] == pytest.approx(1465 / 3100)  # 47.3%
    assert overall.loc["rate", "estimate_base"] == pytest.approx(1340 / 3138)  # 42.7%, the document's


def test_no_other_changes_beyond_chance(frozen, r8, mapping, built_in):
    """Rows without a built-in change: significant verdicts at the rate chance allows.

    The R8 wave is a fresh draw of the generator (a process, not a fixed staff population), so the
    matching inference is the default, without the FPC (see test_default_false_change_rate). Bound: at most 10%
    of the ~380 tested rows; the expected rate is 5%, the rows are positively correlated (choices of one
    question, 職域 within 全体), so the spread is wider than a binomial's (per draw, 3.7–7.6% in 30
    regenerations of R7, measured while writing this test), and 10% is still below the ~14% that
    FPC-based intervals give on such fresh draws (11.7–16.7% in the same 30 regenerations).
    """
    table = cmp.compare(frozen, r8, mapping).rows  # the default: no FPC on the change
    others = table[[not is_built_in(built_in, i, g) for i, g in zip(table["indicator"], table["group"])]]
    hits, rows = false_verdicts(others)
    assert rows > 350
    assert hits / rows <= 0.10, (hits, rows)
    overall = others[others["group"] == "全体"]
    hits_overall, rows_overall = false_verdicts(overall)
    assert hits_overall <= 5, overall[overall["verdict"].isin(SIGNIFICANT)]  # 5% of 42 is 2.1; P(≥6) < 2%


def test_default_false_change_rate(frozen, r7):
    """The default comparison holds its 5% when nothing changed (issue 16): R7 against 20 independent
    regenerations of R7 (seeds 101…2020, the same unchanged generator), 20 × 486 = 9,720 tested rows
    (54 indicators × 全体 + 8 職域; 技能労務 is 参考値). The false 改善/悪化/増加/減少 rate must lie in
    [2.5%, 7.5%]: rows of one comparison are correlated (choices of a question, 職域 within 全体), so
    a single comparison ranged 3.7–7.6% over 30 seeds, but the pooled rate of 20 is close to 5%; 2.5%
    so that intervals made too wide would fail too. With the FPC the same draws gave 13.8%."""
    hits = rows = 0
    spec, frame = load_spec(), frame_of(r7)  # read once: each regeneration gets the same parameters and frame
    for seed in range(101, 2121, 101):
        fresh = wave_of(generate(r7.codebook, spec, seed=seed).responses, frame, r7.codebook)
        h, n = false_verdicts(cmp.compare(frozen, fresh).rows)
        hits, rows = hits + h, rows + n
    assert rows == 9720
    assert 0.025 <= hits / rows <= 0.075, (hits, rows)


def _bh_by_hand(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg by its definition: q_(i) = min over j >= i of p_(j) · m / j, capped at 1."""
    order = np.argsort(p)
    m = len(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m)
    out[order] = q
    return out


def test_fdr_option_judges_on_bh_adjusted_p_values(frozen, r7, r8, mapping, built_in):
    """``adjust="bh"`` (``--change-fdr``): the verdicts read Benjamini–Hochberg q-values over every
    tested row; the built-in changes are still found overall, and on fresh draws of an unchanged
    generator almost nothing is flagged (BH keeps the chance of any false verdict near 5% per
    comparison when nothing changed, against about 5% of all rows without it)."""
    plain = cmp.compare(frozen, r8, mapping).rows
    bh = cmp.compare(frozen, r8, mapping, adjust="bh")
    rows = bh.rows
    assert bh.adjust == "bh" and "p_adjusted" not in plain
    pd.testing.assert_series_equal(rows["p_value"], plain["p_value"])
    tested = rows["p_value"].notna() & ~rows["suppressed"]
    assert np.allclose(rows.loc[tested, "p_adjusted"], _bh_by_hand(rows.loc[tested, "p_value"].to_numpy()))
    assert rows.loc[~tested, "p_adjusted"].isna().all()
    flagged = rows["verdict"].isin(SIGNIFICANT)
    assert (plain.loc[flagged, "verdict"] == rows.loc[flagged, "verdict"]).all()  # a subset of the plain verdicts
    assert flagged.sum() < plain["verdict"].isin(SIGNIFICANT).sum()
    overall = rows[rows["group"] == "全体"].set_index("indicator")
    found = [
        c["indicator"] for c in built_in if c.get("check") and overall.loc[c["indicator"], "verdict"] == c["verdict"]
    ]
    assert len(found) == sum(1 for c in built_in if c.get("check")), found
    hits = n = 0
    spec, frame = load_spec(), frame_of(r7)
    for seed in (101, 202, 303, 404, 505):
        fresh = wave_of(generate(r7.codebook, spec, seed=seed).responses, frame, r7.codebook)
        h, k = false_verdicts(cmp.compare(frozen, fresh, adjust="bh").rows)
        hits, n = hits + h, n + k
    assert n == 5 * 486 and hits <= 5, hits  # without the adjustment about 120 of these 2,430 rows
    with pytest.raises(ValueError, match="adjust"):
        cmp.compare(frozen, r8, mapping, adjust="holm")


def test_fpc_on_fresh_draws_flags_too_many(frozen, r7):
    """Why the FPC is not the default: on two regenerations the FPC's false-change rate is well above
    5% (13.8% over 30 seeds when this was measured)."""
    hits = rows = 0
    spec, frame = load_spec(), frame_of(r7)
    for seed in (101, 202):
        fresh = wave_of(generate(r7.codebook, spec, seed=seed).responses, frame, r7.codebook)
        h, n = false_verdicts(cmp.compare(frozen, fresh, fpc=True).rows)
        hits, rows = hits + h, rows + n
    assert hits / rows > 0.09, (hits, rows)


def test_null_same_population(r7):
    """The FPC's case (--fpc-change: each wave as its finite staff population) when nothing changed: two
    independent sets of respondents (R7's n per 職域) from one synthetic staff population of
    3,138 (the frame's N per 職域, made by the generator). Same bound and reasons as above; measured
    5.2% (2.7–7.4% per draw) over 30 populations while writing this test."""
    spec = load_spec()
    frame = frame_of(r7)
    population = dict(zip(frame["domain"].astype(str), frame["population"]))
    sizes = {k: int(v) for k, v in spec["respondents"].items()}
    rng = np.random.default_rng(20260716)
    hits = rows = 0
    for seed in (11, 12):
        staff = generate(r7.codebook, {**spec, "respondents": population}, seed=seed).responses
        domain = staff["domain"].astype(str).to_numpy()

        def respondents(staff=staff, domain=domain):
            picked = np.concatenate(
                [rng.choice(np.flatnonzero(domain == k), n, replace=False) for k, n in sizes.items()]
            )
            return wave_of(staff.iloc[np.sort(picked)].reset_index(drop=True), frame, r7.codebook)

        h, n = false_verdicts(cmp.compare(respondents(), respondents(), fpc=True).rows)
        hits, rows = hits + h, rows + n
    assert rows == 972
    assert 0.01 <= hits / rows <= 0.10, (hits, rows)


# --------------------------------------------------------------------------- the change table


def test_change_table_columns_and_method(changes, frozen):
    assert list(changes.columns) == list(cmp.CHANGE_COLUMNS)
    row = changes[(changes["indicator"] == "q6:top2") & (changes["group"] == "全体")].iloc[0]
    # var(diff) = se_base² + se_new² (independent cross-sections); by default without the FPC
    assert row["se_diff"] == pytest.approx(np.hypot(row["se_base"], row["se_new"]))
    base = frozen.indicators.set_index(["indicator", "group"]).loc[("q6:top2", "全体")]
    assert row["se_base"] == base["se_nofpc"] and row["estimate_base"] == base["estimate"]
    z = ndtri(0.975)
    assert row["ci_low"] == pytest.approx(row["difference"] - z * row["se_diff"])
    assert row["mdd"] == pytest.approx((ndtri(0.975) + ndtri(0.8)) * row["se_diff"])  # 2.80 · se_diff
    assert row["mdd"] == pytest.approx(2.8016 * row["se_diff"], rel=1e-4)
    rate = changes[changes["indicator"] == "rate"]
    assert rate["p_value"].isna().all() and (rate["se_diff"] == 0).all() and rate["mdd"].isna().all()
    assert rate["verdict"].str.endswith("（記述）").all() and rate["note"].str.contains("標本誤差はない").all()
    # 全体 and every mapped 職域, with R8's name for the renamed one
    assert list(dict.fromkeys(changes["group"])) == [
        "全体",
        "一般行政",
        "税務",
        "福祉",
        "保健・医療",
        "技術",
        "消防",
        "上下水道局",
        "技能労務",
        "教育・保育",
    ]
    assert len(changes) == 55 * 10
    # 技能労務 (24 respondents in R7, 26 in R8): 参考値, not tested (the crosstabs' rule, base < 30)
    small = changes[(changes["group"] == "技能労務") & (changes["kind"] != "rate")]
    assert (small["verdict"] == "参考値（基数30未満）").all() and small["p_value"].isna().all()
    assert small["difference"].notna().all()


def test_verdicts_follow_polarity(changes):
    overall = changes[changes["group"] == "全体"].set_index("indicator")
    direction = overall["direction"]
    assert direction["q6:top2"] == "higher_is_better"
    assert direction["q6:choice:4"] == "higher_is_worse"  # 感じない: fewer is better
    assert direction["q6:choice:5"] == "neutral"  # わからない has no score
    assert direction["q5:opt:7"] == "higher_is_worse"  # q5 polarity higher_is_worse
    assert direction["q5:opt:13"] == "neutral"  # 特にない
    assert direction["q7:opt:1"] == "neutral"  # q7 polarity neutral
    assert direction["q3:choice:2"] == "higher_is_worse"  # ない (score 0)
    # fewer difficulties is 改善, more is 悪化; neutral items only 増加/減少
    assert overall.loc["q5:opt:7", "difference"] < 0 and overall.loc["q5:opt:7", "verdict"] == "改善"
    assert overall.loc["q5:opt:6", "difference"] > 0 and overall.loc["q5:opt:6", "verdict"] == "悪化"
    neutral = changes[changes["direction"] == "neutral"]
    assert set(neutral["verdict"]) <= {"増加", "減少", "有意な変化なし", "秘匿", "参考値（基数30未満）"}


def test_declared_changes_are_compared_with_a_note(comparison, changes, mapping):
    q1 = changes[changes["indicator"] == "q1:top2"]
    assert q1["note"].str.contains("設問文変更").all()  # declared in mapping_r7_r8.yaml
    assert not changes["indicator"].str.startswith("q5:opt:14").any()  # added choice: R8 only
    assert (
        changes.loc[changes["question"] == "q5", "note"]
        .str.contains("選択肢「官民連携指針の内容や運用がわかりにくい」を追加")
        .all()
    )
    water = changes[changes["group"] == "上下水道局"]
    assert water["note"].str.contains("R7: 企業（上下水道）").all()
    missing = comparison.not_compared
    assert list(missing["item"]) == ["q5:14"] and list(missing["status"]) == ["added"]


def _top2_by_hand(responses: pd.DataFrame, frame: pd.DataFrame, favourable: list[str], domain=None) -> float:
    """The 職域-weighted share choosing a favourable answer among those who answered q6, written out:
    Σ_h (N_h/n_h)·(favourable in h) / Σ_h (N_h/n_h)·(answered in h), over one 職域 or all."""
    staff = dict(zip(frame["domain"].astype(str), frame["population"].astype(float)))
    top = total = 0.0
    for h, part in responses.groupby(responses["domain"].astype(str), observed=True):
        if domain is not None and h != domain:
            continue
        weight = staff[h] / len(part)  # N_h / n_h (every respondent of 職域 h)
        answered = part["q6"].notna()
        top += weight * part.loc[answered, "q6"].isin(favourable).sum()
        total += weight * answered.sum()
    return top / total


def test_kpi_values(comparison, r8):
    """The new wave's KPI values are the design-based estimates, checked against the estimator
    written out by hand on the R8 export (not against the change table they come from)."""
    kpi = cmp.kpi_values(comparison)
    assert {"q6:top2", "q5:opt:3", "q3:choice:1", "rate"} <= set(kpi)
    assert kpi["rate"] == pytest.approx(1465 / 3100)
    raw = load_responses(R8_DATA, r8.codebook).responses
    frame = frame_of(r8, R8_FRAME)
    favourable = ["感じる", "どちらかといえば感じる"]  # q6's top-2 (codebook_r8.yaml)
    assert kpi["q6:top2"] == pytest.approx(_top2_by_hand(raw, frame, favourable), rel=1e-12)
    assert cmp.kpi_values(comparison, group="消防")["q6:top2"] == pytest.approx(
        _top2_by_hand(raw, frame, favourable, "消防"), rel=1e-12
    )


def test_small_groups_are_pooled(frozen, r8, mapping):
    """A 職域 below the anonymity threshold in a wave is compared only inside its pool: the new
    wave's 技能労務 (26 respondents) with min_group 30 is merged with the next smallest 職域, and the
    comparison publishes that union for both waves, never 技能労務 alone."""
    r8_30 = cmp.load_wave(R8_DATA, R8_FRAME, "codebook_r8.yaml", min_group=30)  # 技能労務: 24 (R7) / 26 (R8)
    table = cmp.compare(frozen, r8_30, mapping)
    rows = table.rows
    groups = list(dict.fromkeys(rows["group"]))
    assert "技能労務" not in groups
    (pool,) = [g for g in groups if "技能労務" in g.split("＋")]
    joined = rows[rows["group"] == pool]
    assert not joined["suppressed"].any() and joined["estimate_new"].notna().all()
    assert joined["note"].str.contains("匿名性のため統合").all()
    assert "q6:top2" in cmp.kpi_values(table, group=pool)


def test_indicators_are_the_published_estimates(r7):
    """wave_indicators computes in one pass what the wave's own tables publish: the crosstab by 職域
    (choice shares, multi-select options) and the Likert summary (肯定的回答), on the same weights."""
    analysis = r7.analysis
    ind = wave_indicators(r7, groups={lab: lab for lab in analysis.codebook.stratum.labels})
    for qid in ("q1", "q5", "q6"):
        item = analysis.codebook.item(qid)
        t = analysis.tally(qid, by="domain")
        part = "opt" if item.is_multi else "choice"
        mine = ind.set_index(["indicator", "group"]).loc[
            [(f"{qid}:{part}:{c}", g) for c, g in zip(t["code"], t["group"])]
        ]
        np.testing.assert_allclose(mine["estimate"], t["estimate"], rtol=1e-12)
        np.testing.assert_allclose(mine["se"], t["se"], rtol=1e-12)
        np.testing.assert_array_equal(mine["base_n"], t["base_n"])
        np.testing.assert_array_equal(mine["n"], t["n"])
    top = analysis.likert_for("q6", "top2").iloc[0]
    mine = ind.set_index(["indicator", "group"]).loc[("q6:top2", "全体")]
    assert mine["estimate"] == pytest.approx(top["estimate"], rel=1e-12) and mine["se"] == pytest.approx(
        top["se"], rel=1e-12
    )
    assert mine["se_nofpc"] > mine["se"]  # the FPC (43% answered) shrinks the standard error


def test_merged_strata_equal_the_domain_estimate(r7, frozen):
    """A merged 職域 (税務 + 福祉) combined from the frozen per-職域 rows equals the design-based
    domain estimate on the R7 respondents (exact linearisation, item nonresponse included)."""
    merged = "税務・福祉"
    combined = grouped_baseline(frozen, [GroupMap(name=merged, old=("税務", "福祉"), new=(merged,))])
    combined = combined[combined["group"] == merged].set_index("indicator")
    groups = {lab: (merged if lab in ("税務", "福祉") else lab) for lab in r7.codebook.stratum.labels}
    direct = wave_indicators(r7, groups=groups)
    direct = direct[direct["group"] == merged].set_index("indicator").loc[combined.index]
    for col in ("estimate", "se", "se_nofpc", "base_n", "n"):
        np.testing.assert_allclose(combined[col].astype(float), direct[col].astype(float), rtol=1e-9, err_msg=col)


# ------------------------------------------------------------------------ refusals (mapping)


def edited_codebook(tmp_path: Path, old: str, new: str) -> Path:
    text = (PACKAGED / "codebook_r8.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "codebook_r8_edited.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_changed_question_text_without_mapping_is_refused(tmp_path, r7):
    old = "庁内で官民連携について相談しやすい雰囲気や仕組みがあると感じますか。"
    new = "総合窓口を含め、庁内で官民連携について相談しやすい雰囲気や仕組みがあると感じますか。"
    edited = edited_codebook(tmp_path, f"text: {old}", f"text: {new}")
    with pytest.raises(MappingError) as err:
        load_mapping("mapping_r7_r8.yaml", r7.codebook, edited)
    message = str(err.value)
    assert re.match(r"対応表 mapping_r7_r8\.yaml（同梱） \d+行目 questions: 設問2-\(6\)", message)  # file, line, place
    assert "（id: q6）" in message and "設問文が変わった" in message
    assert old in message and new in message  # both wordings, so the analyst sees what changed
    assert "text_changed" in message  # and how to declare it if it is the same item


def test_declared_text_change_is_accepted(tmp_path, r7):
    old = "庁内で官民連携について相談しやすい雰囲気や仕組みがあると感じますか。"
    edited = edited_codebook(tmp_path, f"text: {old}", f"text: 総合窓口を含め、{old}")
    raw = yaml.safe_load((PACKAGED / "mapping_r7_r8.yaml").read_text(encoding="utf-8"))
    raw["questions"].append({"id": "q6", "text_changed": "総合窓口への言及を追加"})
    m = parse_mapping(raw, r7.codebook, resolve_codebook(edited))
    q6 = next(q for q in m.questions if q.new == "q6")
    assert q6.status == "same" and any("総合窓口への言及を追加" in c for c in q6.caveats)


@pytest.mark.parametrize(
    "edit, expected",
    [
        # a choice relabelled without a declaration
        (
            ("{code: 2, label: どちらかといえば感じる, score: 3}", "{code: 2, label: やや感じる, score: 3}"),
            [
                "対応表 mapping_r7_r8.yaml（同梱） ",
                "行目 questions: ",
                "（id: q6）",
                "選択肢 2→2",
                "どちらかといえば感じる",
                "やや感じる",
            ],
        ),
        # a Likert score changed
        (
            ("{code: 1, label: 意欲がある, score: 4}", "{code: 1, label: 意欲がある, score: 5}"),
            ["対応表 mapping_r7_r8.yaml（同梱） ", "行目 questions: ", "（id: q2）", "score 4.0 → 5.0"],
        ),
        # a type changed: never the same item
        (
            ("    type: sa\n    polarity: higher_is_better\n", "    type: likert\n    polarity: higher_is_better\n"),
            [
                "対応表 mapping_r7_r8.yaml（同梱） ",
                "行目 questions: ",
                "（id: q3）",
                "回答形式が変わった",
                "単一回答（type: sa）",
            ],
        ),
    ],
)
def test_other_undeclared_changes_are_refused(tmp_path, r7, edit, expected):
    with pytest.raises(MappingError) as err:
        load_mapping("mapping_r7_r8.yaml", r7.codebook, edited_codebook(tmp_path, *edit))
    for text in expected:
        assert text in str(err.value)


def test_mapping_must_declare_added_choices_and_renamed_strata(r7, r8):
    raw = yaml.safe_load((PACKAGED / "mapping_r7_r8.yaml").read_text(encoding="utf-8"))
    no_choice = {**raw, "questions": [q for q in raw["questions"] if q["id"] != "q5"]}
    with pytest.raises(
        MappingError,
        match=r"^対応表 <mapping> questions: 設問2-\(5\).*（id: q5）.*選択肢 14「官民連携指針の内容や運用がわかりにくい」がR8で新しい",
    ):
        parse_mapping(no_choice, r7.codebook, r8.codebook)
    with pytest.raises(
        MappingError, match=r"^対応表 <mapping> strata: R7の職域「企業（上下水道）」がR8の職域（.*）になく"
    ):
        parse_mapping({**raw, "strata": []}, r7.codebook, r8.codebook)
    with pytest.raises(
        MappingError, match="^対応表 <mapping> from: 「from: r8」がコードブックの survey.id「r7」と合わない"
    ):
        parse_mapping({**raw, "from": "r8", "to": "r7"}, r7.codebook, r8.codebook)
    with pytest.raises(
        MappingError,
        match=r"^対応表 <mapping> questions\[\d+\]: 「q9」はR7の設問のidにない（あるのは q1、q2、.*）。idを直す$",
    ):
        parse_mapping(
            {**raw, "questions": [*raw["questions"], {"id": "q9", "status": "removed"}]}, r7.codebook, r8.codebook
        )
    with pytest.raises(
        MappingError,
        match="^対応表 （対応表なし） strata: R7の職域「企業（上下水道）」.*（--mapping で対応表ファイルを指定する）$",
    ):  # no mapping file
        load_mapping(None, r7.codebook, r8.codebook)


def test_not_comparable_question_is_left_out(frozen, r8):
    raw = yaml.safe_load((PACKAGED / "mapping_r7_r8.yaml").read_text(encoding="utf-8"))
    raw["questions"].append({"id": "q4", "status": "not_comparable", "reason": "選択肢を全面改定（例）"})
    m = parse_mapping(raw, frozen.codebook, r8.codebook)
    table = cmp.compare(frozen, r8, m)
    assert "q4" not in set(table.rows["question"]) and "q6" in set(table.rows["question"])
    left = table.not_compared.set_index("item")
    assert left.loc["q4", "status"] == "not_comparable" and left.loc["q4", "reason"] == "選択肢を全面改定（例）"


def test_codebook_without_a_file_is_frozen_as_yaml(r7):
    """A codebook built in memory is written to the baseline as YAML that reads back the same."""
    from ppp_survey.spec.resources import codebook_source

    raw = yaml.safe_load((PACKAGED / "codebook_r7.yaml").read_text(encoding="utf-8"))
    in_memory = parse_codebook(raw, name="<in memory>")
    name, text = codebook_source(in_memory)
    again = parse_codebook(yaml.safe_load(text.decode("utf-8")), name=name)
    assert change_table._fingerprint(again) == change_table._fingerprint(r7.codebook)
    assert again.survey == in_memory.survey and again.items == in_memory.items


def test_merge_split_added_removed_strata(r7):
    """The strata schema: a merge, an added and a removed 職域 (a made-up new organisation)."""
    raw = yaml.safe_load((PACKAGED / "codebook_r7.yaml").read_text(encoding="utf-8"))
    raw["survey"]["id"] = "r9"
    choices = raw["attributes"][0]["choices"]
    choices[1:3] = [{"code": 2, "label": "税務・福祉"}]  # 税務 + 福祉 merged
    choices[-1] = {"code": 9, "label": "こども部"}  # 教育・保育 removed, こども部 new
    new = parse_codebook(raw, name="r9")
    mapping = {
        "schema_version": 1,
        "from": "r7",
        "to": "r9",
        "strata": [
            {"from": ["税務", "福祉"], "to": "税務・福祉"},
            {"from": "教育・保育", "status": "removed"},
            {"to": "こども部", "status": "added"},
        ],
    }
    m = parse_mapping(mapping, r7.codebook, new)
    by_name = {g.name: g for g in m.groups}
    assert by_name["税務・福祉"].old == ("税務", "福祉") and by_name["税務・福祉"].status == "same"
    assert by_name["こども部"].status == "added" and by_name["教育・保育"].status == "removed"
    assert [g.name for g in m.compared_groups][:2] == ["一般行政", "税務・福祉"]


# ----------------------------------------------------------------------------- frozen baseline


def test_baseline_round_trip(r7, r8, mapping, frozen, comparison, changes, monkeypatch):
    """Saved, then compared from the saved files only; the comparison names the manifest hash."""
    manifest = frozen.folder / "manifest.json"
    assert frozen.id == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert (changes["baseline"] == frozen.id).all() and comparison.baseline == frozen.id
    assert frozen.id[:12] in comparison.baseline_description
    # Nothing of R7 is recomputed: loading again with the R7 loaders disabled gives the same table.
    import ppp_survey.compare.wave
    import ppp_survey.ingest.load

    def refuse(*args, **kwargs):
        raise AssertionError("the baseline must not be recomputed")

    monkeypatch.setattr(ppp_survey.ingest.load, "load_responses", refuse)
    monkeypatch.setattr(ppp_survey.compare.wave, "load_wave", refuse)
    again = cmp.compare(cmp.load_baseline(frozen.folder), r8, mapping).rows
    pd.testing.assert_frame_equal(again, changes, check_exact=True)
    monkeypatch.undo()
    # The frozen numbers are the R7 numbers exactly (CSV written and read with round-trip precision).
    memory = cmp.compare(frozen_baseline.baseline_from_wave(r7), r8, mapping).rows
    pd.testing.assert_frame_equal(memory.drop(columns="baseline"), changes.drop(columns="baseline"), check_exact=True)
    assert (memory["baseline"] == "in-memory").all()
    # Inputs are recorded with their hashes
    recorded = json.loads(manifest.read_text(encoding="utf-8"))["inputs"]
    assert recorded["frame"]["sha256"] == hashlib.sha256(FRAME.read_bytes()).hexdigest()
    # never the export: its hash is a function of every answer (issue 28)
    assert "data" not in recorded and hashlib.sha256(BASELINE.read_bytes()).hexdigest() not in manifest.read_text()


def test_frozen_baseline_is_protected(r7, frozen, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(frozen.folder, copy)
    assert cmp.load_baseline(copy).id == frozen.id  # the name does not depend on where it lives
    assert cmp.freeze_baseline(r7, copy) == copy / "manifest.json"  # same results: nothing to do
    fresh = wave_of(generate(r7.codebook, seed=7).responses, frame_of(r7), r7.codebook)
    with pytest.raises(cmp.BaselineError, match="^基準値フォルダ copy: このフォルダには別の凍結済み基準値がある"):
        cmp.freeze_baseline(fresh, copy)
    indicators = copy / "indicators.csv"
    indicators.write_bytes(indicators.read_bytes().replace(b"0.", b"0.9", 1))
    with pytest.raises(
        cmp.BaselineError, match="^基準値フォルダ copy: indicators.csv の中身が manifest.json の SHA-256 と合わない"
    ):
        cmp.load_baseline(copy)


def test_committed_baseline_is_the_bundled_r7(r7):
    """data/processed/baseline_r7 is intact and was frozen from the bundled R7 files."""
    committed = cmp.load_baseline(COMMITTED_BASELINE)
    assert committed.wave == "R7" and committed.manifest["synthetic"] is True
    assert committed.manifest["inputs"] == {k: {"file": f.file, "sha256": f.sha256} for k, f in r7.inputs.items()}
    assert committed.manifest["source_note"] == "R7.7.18～31実施 職員3,138人中1,340人回答（回答率42.7%）　※架空データ"


def test_a_survey_freezes_like_a_wave(r7):
    """freeze_baseline / compare also take an analysed Survey (load_survey's result) or its Analysis."""
    survey = load_survey(BASELINE, FRAME)
    expected = frozen_baseline.baseline_from_wave(r7).indicators
    pd.testing.assert_frame_equal(frozen_baseline.baseline_from_wave(survey).indicators, expected)
    pd.testing.assert_frame_equal(frozen_baseline.baseline_from_wave(survey.analysis).indicators, expected)


# ------------------------------------------------------------------------------------ charts


def test_chart_data_and_plots(comparison):
    from ppp_survey.outputs import plots

    charts = change_plots.change_charts(comparison)
    assert set(charts) == {"rate", "q1", "q2", "q3", "q4", "q5", "q6", "q7"}
    q6 = charts["q6"]
    assert list(q6.dumbbell["indicator"]) == ["q6:top2", *[f"q6:choice:{c}" for c in range(1, 6)]]
    assert q6.heatmap.shape == (10, 6) and q6.heatmap.index[0] == "全体"
    assert q6.improvement.loc["全体", "感じない"] == pytest.approx(
        -q6.heatmap.loc["全体", "感じない"]
    )  # fewer = better
    assert q6.marks.loc["全体", "肯定的回答（上位2区分）"] == "↑"
    with plots.theme():
        ax = change_plots.plot_dumbbell(comparison, "q6")
        assert len(ax.collections) == 2 and len(ax.collections[1].get_offsets()) == 6  # R7 and R8 dots
        assert ax.get_legend_handles_labels()[1] == ["R7", "R8"]
        ax = change_plots.plot_change_heatmap(comparison, "q5")
        assert len(ax.get_xticklabels()) == 10  # a column per group (the indicators are the rows)


def test_middle_categories_have_no_verdict_and_arrows_show_the_sign(comparison, changes, r8):
    """Issue 16: only the ends of a scale (and top-2 / bottom-2, multi-select options) are judged
    改善/悪化; a middle category such as 「どちらかといえば重要である」 gets 増加/減少. Heatmap arrows
    show the sign of a significant change, whatever its verdict."""
    for item in r8.codebook.questions_of_type("likert"):
        scores = [c.score for c in item.choices if c.score is not None]
        for c in item.choices:
            rows = changes[changes["indicator"] == f"{item.id}:choice:{c.code}"]
            if c.score is None or c.score not in (max(scores), min(scores)):
                assert not rows["verdict"].isin(["改善", "悪化"]).any(), (item.id, c.label)
    for q, chart in change_plots.change_charts(comparison).items():
        marks, pts = chart.marks.to_numpy(object), chart.heatmap.to_numpy(float)
        for m, d in zip(marks.ravel(), pts.ravel()):
            if m in ("↑", "↓"):
                assert (m == "↑") == (d > 0), (q, m, d)


def test_change_charts_round_half_up_like_the_tables(comparison):
    """Chart labels round half up, as the tables do (f"{x:+.1f}" would round 0.25 to 0.2)."""
    from ppp_survey.outputs import plots
    from ppp_survey.text import round_half_up

    chart = next(iter(change_plots.change_charts(comparison).values()))
    with plots.theme():
        ax = change_plots.plot_change_heatmap(comparison, chart.question)
    shown = {t.get_text() for t in ax.texts}
    for v in chart.heatmap.to_numpy(float).ravel():
        if np.isfinite(v):
            assert any(s.startswith(f"{round_half_up(v):+.1f}") for s in shown), v


# ------------------------------------------------------------------ raked weights (issue 19, --calibrate)


def _scaled_margins_file(margins, total: int, path: Path) -> Path:
    """The R7 margins scaled to another wave's staff total (largest remainder), written as a margins
    file, as a personnel section would give them for that year."""
    lines = ["属性,区分,職員数"]
    for m in margins:
        exact = np.array(m.counts, dtype=float) * total / m.total
        counts = np.floor(exact).astype(int)
        counts[np.argsort(-(exact - counts))[: total - counts.sum()]] += 1
        lines += [f"{m.label},{c},{k}" for c, k in zip(m.categories, counts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


R7_MARGINS = REPO / "data" / "raw" / "staff_margins_r7.csv"


@pytest.fixture(scope="module")
def raked(r7, r8, tmp_path_factory):
    """R7 and R8, each raked to its own margins (R8's: R7's scaled to its 3,100 staff)."""
    from ppp_survey.spec.margins import load_margins

    m7 = load_margins(R7_MARGINS, r7.codebook)
    path = _scaled_margins_file(m7, 3100, tmp_path_factory.mktemp("margins") / "staff_margins_r8.csv")
    return (
        cmp.load_wave(BASELINE, FRAME, margins=R7_MARGINS, calibrate=True),
        cmp.load_wave(R8_DATA, R8_FRAME, "codebook_r8.yaml", margins=path, calibrate=True),
    )


def test_waves_weighted_differently_are_not_compared(frozen, raked, r8, mapping):
    """A change must not come from a change of method: a raked wave against a baseline frozen with
    the 職域 weights (and the reverse) is refused in one Japanese line."""
    r7_raked, r8_raked = raked
    with pytest.raises(
        cmp.BaselineError,
        match=r"^基準値（R7）の推定は職域別の事後層化ウェイト（職員数÷回答者数）、今回（R8）はレイキング後のウェイト（職域・職位・年代別の職員数に一致）",
    ):
        cmp.compare(frozen, r8_raked, mapping)
    raked_baseline = frozen_baseline.baseline_from_wave(r7_raked)
    assert raked_baseline.raked_to == ("position", "age") and frozen.raked_to == ()
    with pytest.raises(cmp.BaselineError, match="方法が違うため比べられない"):
        cmp.compare(raked_baseline, r8, mapping)


def test_raked_waves_compare_their_raked_estimates(raked, r7, r8, mapping):
    """Both waves raked: the 全体 estimates of the change table are each wave's raked estimates
    (the tables' estimator on the calibration), and they differ from the 職域-weighted ones."""
    r7_raked, r8_raked = raked
    baseline = frozen_baseline.baseline_from_wave(r7_raked)
    assert "raked to 職域 and position, age" in baseline.manifest["method"]["estimates"]
    table = cmp.compare(baseline, r8_raked, mapping)
    assert table.weighting == "職域・職位・年代の職員数に合わせたレイキング"
    from ppp_survey.outputs.change_sheets import method_note

    assert "各回を職域・職位・年代の職員数に合わせたレイキングで推定し" in method_note(table)
    rows = table.rows
    overall = rows[(rows["group"] == "全体") & (rows["kind"] != "rate")].set_index("indicator")
    checked = 0
    for wave, column in ((r7_raked, "estimate_base"), (r8_raked, "estimate_new")):
        a = wave.analysis  # the report's analysis of the wave: raked once, its tables published
        gt = a.gt[a.gt["question"] == "q1"]
        for code, estimate in zip(gt["code"], gt["estimate"]):
            key = f"q1:choice:{code}"
            if key in overall.index:
                assert overall.loc[key, column] == pytest.approx(estimate, rel=1e-12)
                checked += 1
    assert checked >= 6
    plain = cmp.compare(frozen_baseline.baseline_from_wave(r7), r8, mapping).rows
    plain = plain[(plain["group"] == "全体") & (plain["kind"] != "rate")].set_index("indicator")
    assert not np.allclose(overall["estimate_new"], plain.loc[overall.index, "estimate_new"])


# ------------------------------------------------ one protected analysis per wave (issue 26)


def _published_estimates(analysis) -> pd.DataFrame:
    """The run's own published estimates of every choice and option share, 全体 and by 職域:
    ``indicator, group, estimate`` read from its 単純集計 and crosstabs (Analysis.tally)."""
    rows = []
    for item in analysis.questions:
        part = "opt" if item.is_multi else "choice"
        t = analysis.tally(item.id, by=analysis.codebook.stratum.id)
        rows += [
            {"indicator": f"{item.id}:{part}:{c}", "group": g, "estimate": e}
            for c, g, e in zip(t["code"], t["group"], t["estimate"])
        ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("calibrate", [False, True], ids=["design", "raked"])
def test_change_table_shows_the_published_estimates(calibrate, tmp_path):
    """The change table's baseline and new estimates of every published group (a pool of 職域
    included: min_group 30 pools 技能労務) are the same runs' published estimates, to 1e-12, with
    the 職域 weights and with the raked ones (the comparison estimates on the analysis's weights)."""
    options = {"margins": R7_MARGINS, "calibrate": True} if calibrate else {}
    wave = cmp.load_wave(BASELINE, FRAME, min_group=30, **options)
    assert wave.pools, "a pooled 職域 is part of what is checked"
    cmp.freeze_baseline(wave, tmp_path / "base")
    table = cmp.compare(cmp.load_baseline(tmp_path / "base"), wave).rows
    published = _published_estimates(wave.analysis)
    merged = table.merge(published, on=["indicator", "group"], how="inner", validate="one_to_one")
    assert len(merged) == len(table[table["kind"].isin(["choice", "option"])]) > 400
    assert set(merged["group"]) == {"全体", *wave.analysis.codebook.stratum.labels}
    # 1e-12 absolute on a fraction: the frozen baseline's CSV carries 12 significant digits
    np.testing.assert_allclose(merged["estimate_base"], merged["estimate"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(merged["estimate_new"], merged["estimate"], rtol=0, atol=1e-15)


@pytest.mark.report
def test_raking_runs_once_per_wave(raked, tmp_path, monkeypatch):
    """--margins --calibrate with --freeze-baseline and --compare: the weights are raked once per
    run (the report's analysis); the frozen baseline and the comparison use them as they are.

    One run does both (its baseline: R7 raked, frozen from the module's wave, ``raked``), in one
    process (``PPP_SURVEY_JOBS=1``), so the count covers every step of the run: the tables, the
    charts, the committee paper, the comparison and the freezing."""
    import ppp_survey.survey.calibration as calibration
    from ppp_survey.report.cli import main

    calls = []
    original = calibration.margins_of
    monkeypatch.setattr(calibration, "margins_of", lambda *a, **k: calls.append(1) or original(*a, **k))
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    cmp.freeze_baseline(raked[0], tmp_path / "base")  # a raked wave is frozen with its weights as they are
    assert len(calls) == 0
    common = ["--margins", str(R7_MARGINS), "--calibrate", "--data", str(BASELINE), "--frame", str(FRAME)]
    frozen_again = tmp_path / "again"
    assert main([*common, "--out", str(tmp_path / "b"), "--compare", str(tmp_path / "base"),
                 "--freeze-baseline", str(frozen_again)]) == 0  # fmt: skip
    assert len(calls) == 1
    # the run froze the weights it published: the same baseline, byte for byte (manifest included:
    # one wave, one source note, one baseline id), as the module's raked R7 wave frozen by the library
    files = sorted(p.name for p in (tmp_path / "base").iterdir())
    assert files == sorted(p.name for p in frozen_again.iterdir()) and "manifest.json" in files
    for name in files:
        assert (frozen_again / name).read_bytes() == (tmp_path / "base" / name).read_bytes(), name
