"""Wave comparison: what changed since the frozen baseline, for whom, and whether it is beyond chance.

Workflow::

    from ppp_survey import compare as cmp
    r7 = cmp.load_wave("data/raw/synthetic_r7_responses.xlsx", "data/raw/staff_frame_r7.csv")
    cmp.freeze_baseline(r7, "data/processed/baseline_r7")          # once; never recomputed later
    base = cmp.load_baseline("data/processed/baseline_r7")          # reads only the frozen files
    r8 = cmp.load_wave("data/raw/synthetic_r8_responses.xlsx", "data/raw/staff_frame_r8.csv", "codebook_r8.yaml")
    mapping = cmp.load_mapping("mapping_r7_r8.yaml", base.codebook, r8.codebook)
    changes = cmp.compare(base, r8, mapping)                        # the tidy change table

**Frozen baseline.** :func:`freeze_baseline` writes the old wave's indicators (every choice share,
top-2 box, multi-select option and response rate, 全体 and by 職域), its response rates, a copy of
its codebook and a ``manifest.json`` with the SHA-256 of its inputs and of every file. The
baseline is named by the SHA-256 of its manifest; :func:`load_baseline` refuses a folder whose
files no longer match it, and the change table carries that name (column ``baseline``), so a
comparison says exactly which baseline it used and stays the same when code or data change later.

**Method.** The two waves are independent cross-sections, each estimated on its own stratified
design (strata = 職域, weights N_h/n_h, finite population correction); ``var(diff) = se_base² +
se_new²``. The difference's 95% interval and two-sided p-value use the normal distribution (each
wave has more than 1,000 design degrees of freedom). The verdict is read at ``alpha`` (5%) against
the item's polarity: 改善 / 悪化 / 有意な変化なし; for items without a direction (polarity
``neutral``, わからない, その他, 特にない) 増加 / 減少 / 有意な変化なし. Beside it, the minimum
detectable difference ``MDD = (z_{1-α/2} + z_{power}) · se_diff`` (80% power): a true change smaller
than the MDD would often go unnoticed. A response rate is a census count of the frame, known
without sampling error, so its change is descriptive (no test; verdict 増加（記述）/減少（記述）).
Every indicator is tested at 5% on its own: with ~50 indicators about 2–3 will be flagged by chance
even when nothing changed.

**FPC or not.** With ``fpc=False`` (default) the question is whether the process that generates
the answers changed (superpopulation inference; Graubard & Korn 2002, Statistical Science
17(1):73–96): a year apart, staff and their attitudes are not one fixed finite population, and a
change is about the attitudes, not about who happened to be on the payroll. With ``fpc=True`` the
estimand is each wave's *finite* staff population as it answered on the day. Comparing two
independently generated waves when nothing changed, ``fpc=True`` flagged 13.8% of tested rows
over 30 regenerations of R7, the default 5.4%; ``fpc=True`` holds 5.2% only when both waves are
respondents of one fixed synthetic staff population (tests/test_compare.py bounds both).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri  # not scipy.stats: slow to import

from ppp_survey.compare.baseline import Baseline, baseline_from_wave
from ppp_survey.compare.groups import compared_groups, grouped_baseline
from ppp_survey.compare.wave import Wave, wave_indicators
from ppp_survey.constants import ALL, MIN_BASE, SUPPRESSED
from ppp_survey.errors import BaselineError, PppSurveyError
from ppp_survey.spec.codebook import Codebook, Polarity
from ppp_survey.spec.mapping import Mapping, load_mapping
from ppp_survey.spec.schema import file_label
from ppp_survey.survey.indicators import IndicatorKey, IndicatorKind
from ppp_survey.survey.multiplicity import Adjust, adjust_p_values
from ppp_survey.text import WeightsForm, WeightsMethod, reference_verdict, weights_text

IMPROVED, WORSENED, NO_CHANGE = "改善", "悪化", "有意な変化なし"
INCREASED, DECREASED = "増加", "減少"
REFERENCE = reference_verdict(MIN_BASE)  # the default; a table's own: reference_verdict(ChangeTable.min_base)
RATE_NOTE = "回答率は職員数フレームに対する全数の計数で標本誤差はない：差は記述的（検定しない）"

#: Columns of :func:`compare`.
#: Multiplicity adjustments of a comparison's verdicts (:func:`compare`'s ``adjust``).
ADJUSTMENTS = (Adjust.NONE, Adjust.BH)
CHANGE_COLUMNS = (
    "indicator",
    "question",
    "title",
    "label",
    "kind",
    "group",
    "direction",
    "estimate_base",
    "estimate_new",
    "difference",
    "ci_low",
    "ci_high",
    "p_value",
    "mdd",
    "verdict",
    "n_base",
    "n_new",
    "se_base",
    "se_new",
    "se_diff",
    "suppressed",
    "note",
    "indicator_base",
    "baseline",
)

#: Columns of :attr:`ChangeTable.not_compared`.
NOT_COMPARED_COLUMNS = ("item", "old", "new", "status", "reason")


@dataclass(frozen=True)
class ChangeTable:
    """The result of :func:`compare`: the change rows and how they were judged.

    ``rows`` has :data:`CHANGE_COLUMNS`, one row per indicator × group. The other fields say what
    was compared with what: the frozen baseline (``baseline`` is its manifest SHA-256,
    ``baseline_description`` one line on it), the two waves' names, the mapping file and its
    SHA-256, the test's ``alpha`` and ``power``, whether each wave's finite population correction was
    used (``fpc``), the base under which a group is 参考値 (``min_base``), the multiplicity adjustment
    of the verdicts (``adjust``: ``none`` or ``bh``, see :func:`compare`), what the mapping left out
    (``not_compared``, :data:`NOT_COMPARED_COLUMNS`), both waves' source notes (``note``) and how each
    wave was weighted (``weighting``: 職域による事後層化, or the raking).
    """

    rows: pd.DataFrame
    baseline: str
    baseline_description: str
    baseline_wave: str
    wave: str
    mapping: str | None
    mapping_sha256: str | None
    alpha: float = 0.05
    power: float = 0.80
    fpc: bool = False
    min_base: int = MIN_BASE
    adjust: Adjust = Adjust.NONE
    not_compared: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(NOT_COMPARED_COLUMNS)))
    note: str = ""
    weighting: str = weights_text(WeightsMethod(), WeightsForm.CHANGE)

    def with_rows(self, rows: pd.DataFrame) -> ChangeTable:
        """The same comparison with other rows (a subset, or rows derived from these)."""
        return replace(self, rows=rows)

    def __len__(self) -> int:
        return len(self.rows)


def compare(
    baseline,
    survey,
    mapping: Mapping | str | Path | None = None,
    *,
    alpha: float = 0.05,
    power: float = 0.80,
    fpc: bool = False,
    min_base: int = MIN_BASE,
    adjust: Adjust | str = Adjust.NONE,
) -> ChangeTable:
    """Compare a wave with the baseline, indicator by indicator, 全体 and by 職域.

    Parameters
    ----------
    baseline
        A :class:`Baseline` (:func:`load_baseline`); a Wave or Survey is frozen in memory first.
    survey
        The new wave: a :class:`~ppp_survey.compare.wave.Wave`, an analysed Survey or an Analysis
        (its published, pooled groups and its weights: nothing is pooled or weighted again).
    mapping
        :class:`~ppp_survey.spec.mapping.Mapping` between the baseline's codebook and the wave's, a mapping
        file, or ``None`` when the two codebooks must be identical.
    alpha, power
        Test level of the verdict and power of the minimum detectable difference.
    fpc
        Use each wave's finite population correction (see the module notes).
    min_base
        The base below which a group is 参考値 and not tested (30, as the crosstabs of
        :mod:`ppp_survey.survey.tables`).
    adjust
        ``"none"`` (default): each row judged at ``alpha`` (about 5% of unchanged rows are flagged);
        ``"bh"``: the verdicts read the Benjamini–Hochberg adjusted p-values over every tested row of
        the comparison (false discovery rate ``alpha``; column ``p_adjusted``).

    Returns
    -------
    ChangeTable
        ``rows``: :data:`CHANGE_COLUMNS`, one row per indicator × group (全体 first, then the mapped 職域):
        ``indicator`` (new wave's key, e.g. ``q6:top2``; ``indicator_base`` the baseline's),
        ``question``, ``title``, ``label``, ``kind`` (choice/top2/option/rate), ``direction``
        (higher_is_better / higher_is_worse / neutral / descriptive), both estimates (fractions),
        ``difference`` = new − base with its 95% ``ci_low``/``ci_high``, ``p_value``, ``mdd``,
        ``verdict``, bases ``n_base``/``n_new`` (answered; staff for ``rate``), SEs, ``suppressed``
        (a group under the anonymity threshold in either wave: values NaN, verdict 秘匿; a base under
        ``min_base`` in either wave: verdict text.reference_verdict(min_base), no p-value), ``note``
        (declared changes of the item or 職域), ``baseline`` (the baseline's manifest SHA-256).
        The other fields hold the baseline, mapping, alpha, power, fpc and what was not compared.
    """
    adjust = Adjust(adjust)
    if adjust not in ADJUSTMENTS:
        raise ValueError(
            f"adjust must be one of {', '.join(repr(a.value) for a in ADJUSTMENTS)} for a comparison, got {adjust.value!r}"
        )
    if not isinstance(baseline, Baseline):
        baseline = baseline_from_wave(baseline)
    wave = Wave.of(survey)
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping, baseline.codebook, wave.codebook)
    _check_codebooks(mapping, baseline, wave)
    _check_weights(baseline, wave)
    groups = compared_groups(mapping.compared_groups, baseline.pools, wave.pools)
    merged = [g.name for g in groups if len(g.old) > 1]
    if baseline.raked_to and merged:
        raise BaselineError(
            f"基準値（{baseline.wave}）はレイキング後のウェイトで凍結されているため、匿名性のために統合した職域"
            f"（{'、'.join(merged)}）の推定を基準値の職域別の数値から作れない。--calibrate を外して比べる"
        )
    new_groups = {lab: g.name for g in groups for lab in g.new}
    new = wave_indicators(wave, groups=new_groups, order=[g.name for g in groups])
    old = grouped_baseline(baseline, groups)
    se = "se" if fpc else "se_nofpc"
    group_note = {g.name: g.note for g in groups}
    added = [g.name for g in mapping.groups if g.status == "added"]
    if added:
        group_note[ALL] = f"{wave.label}の全体には{baseline.wave}に対応のない職域（{'・'.join(added)}）を含む"
    names = [ALL, *[g.name for g in groups]]
    pairs = pd.DataFrame([{**p["row"], "indicator_base": p["old"], "item_note": p["note"]} for p in _pairs(mapping)])
    grid = pairs.merge(pd.DataFrame({"group": names}), how="cross")
    sides = {"base": old, "new": new}
    for side, key in (("base", "indicator_base"), ("new", "indicator")):
        t = sides[side][["indicator", "group", "estimate", se, "base_n", "suppressed"]].rename(
            columns={
                "indicator": key,
                "estimate": f"estimate_{side}",
                se: f"se_{side}",
                "base_n": f"n_{side}",
                "suppressed": f"held_{side}",
            }
        )
        grid = grid.merge(t, on=[key, "group"], how="inner", validate="one_to_one")
    grid["suppressed"] = grid["held_base"] | grid["held_new"]
    grid["note"] = [
        "；".join(x for x in (item, group_note.get(g, "")) if x) for item, g in zip(grid["item_note"], grid["group"])
    ]
    out = _test(grid, alpha=alpha, power=power, min_base=min_base, adjust=adjust)
    out["baseline"] = baseline.id
    columns = [*CHANGE_COLUMNS, *(["p_adjusted"] if adjust is not Adjust.NONE else [])]
    return ChangeTable(
        rows=out[columns].reset_index(drop=True),
        baseline=baseline.id,
        baseline_description=baseline.describe(),
        baseline_wave=baseline.wave,
        wave=wave.label,
        mapping=mapping.path,
        mapping_sha256=mapping.sha256,
        alpha=alpha,
        power=power,
        fpc=fpc,
        min_base=min_base,
        adjust=adjust,
        not_compared=mapping.not_compared(),
        note="\n".join(x for x in (baseline.manifest.get("source_note", ""), wave.note) if x),
        weighting=_weighting(wave),
    )


def _method(codebook: Codebook, margins: tuple[str, ...], bounds: tuple[float, float] | None) -> WeightsMethod:
    """How a wave was weighted, from its margins' attribute ids (as a frozen baseline records them)."""
    labels = tuple(next((a.label for a in codebook.attributes if a.id == m), m) for m in margins)
    return WeightsMethod(labels, bounds if margins else None)


def _weighting(wave: Wave) -> str:
    """How both waves' estimates were weighted (they must agree: :func:`_check_weights`), for the notes."""
    return weights_text(_method(wave.codebook, wave.raked_to, wave.bounds), WeightsForm.CHANGE)


def _check_weights(baseline: Baseline, wave: Wave) -> None:
    """Both waves weighted alike: a change must not come from a change of method (raked vs 職域 weights)."""
    old = (baseline.raked_to, baseline.rake_bounds)
    new = (wave.raked_to, wave.bounds)
    if old == new:
        return

    def said(codebook: Codebook, method: tuple[tuple[str, ...], tuple[float, float] | None]) -> str:
        return weights_text(_method(codebook, *method), WeightsForm.LABEL)

    raise BaselineError(
        f"基準値（{baseline.wave}）の推定は{said(baseline.codebook, old)}、今回（{wave.label}）は"
        f"{said(wave.codebook, new)}で、方法が違うため比べられない。"
        "基準値を今回と同じ指定（--margins・--calibrate・--rake-bounds）で凍結し直すか、今回の指定を基準値に合わせる"
    )


def _check_codebooks(mapping: Mapping, baseline: Baseline, wave: Wave) -> None:
    for side, cb, mine in (("old", mapping.old, baseline.codebook), ("new", mapping.new, wave.codebook)):
        if _fingerprint(cb) != _fingerprint(mine):
            what = f"基準値（{baseline.wave}）" if side == "old" else f"今回の調査（{wave.label}）"
            which = "前回" if side == "old" else "今回"
            raise PppSurveyError(
                f"対応表 {file_label(mapping.path)}: {which}側のコードブック（survey.id: {cb.survey.id}）が"
                f"{what}のコードブック（survey.id: {mine.survey.id}）と違う。"
                "基準値と今回の調査のコードブックで対応表を読み込み直す"
            )


def _fingerprint(cb: Codebook) -> tuple:
    return (
        cb.survey.id,
        tuple(
            (it.id, it.type, it.text, it.polarity, tuple((c.code, c.label, c.score) for c in it.choices))
            for it in cb.items
        ),
    )


def _pairs(mapping: Mapping) -> list[dict]:
    """(old key, new key, fixed columns) of every comparable indicator, in the new codebook's order."""
    out = [
        {
            "old": "rate",
            "new": "rate",
            "note": RATE_NOTE,
            "row": {
                "indicator": "rate",
                "question": "",
                "title": "回答率",
                "label": "回答率",
                "kind": "rate",
                "direction": "descriptive",
            },
        }
    ]
    for q in mapping.questions:
        if q.status != "same":
            continue
        old_id, new_id = q.ids()
        qo, qn = mapping.old.item(old_id), mapping.new.item(new_id)
        note = "；".join(q.caveats)
        head = {"question": qn.id, "title": qn.label}
        if q.top2:
            direction = "neutral" if q.polarity == "neutral" else "higher_is_better"  # top-2 = favourable end
            out.append(
                {
                    "old": str(IndicatorKey(IndicatorKind.TOP2, qo.id)),
                    "new": str(IndicatorKey(IndicatorKind.TOP2, qn.id)),
                    "note": note,
                    "row": {
                        **head,
                        "indicator": str(IndicatorKey(IndicatorKind.TOP2, qn.id)),
                        "label": "肯定的回答（上位2区分）",
                        "kind": IndicatorKind.TOP2,
                        "direction": direction,
                    },
                }
            )
        for c in q.choices:
            if c.status != "same":
                continue
            choice = qn.choice(c.codes()[1])
            out.append(
                {
                    "old": str(IndicatorKey.of_choice(qo, c.old)),
                    "new": str(IndicatorKey.of_choice(qn, c.new)),
                    "note": note,
                    "row": {
                        **head,
                        "indicator": str(IndicatorKey.of_choice(qn, c.new)),
                        "label": choice.label,
                        "kind": IndicatorKey.of_choice(qn, c.new).kind,
                        "direction": _direction(qn, choice, q.polarity),
                    },
                }
            )
    return out


def _direction(item, choice, polarity: str) -> str:
    """Which way is better for the share of one choice, from the item's polarity.

    Multi-select options follow the item's polarity, except その他 and 特にない (no direction).
    Single-answer choices: only the two ends of the scale have a direction (the top-scored choice
    moves with the item's polarity, the bottom-scored one against it). A middle category has
    none: 「どちらかといえば重要である」 falling while 「重要である」 rises is a move toward the positive
    end, not a worsening; such rows get 増加/減少 and the top-2 / bottom-2 indicators carry the
    verdict. Choices without a score (わからない) have no direction either.
    """
    if polarity == "neutral":
        return "neutral"
    if item.is_multi:
        return "neutral" if (choice.other or choice.exclusive) else polarity
    scores = [c.score for c in item.choices if c.score is not None]
    if choice.score is None or not scores:
        return "neutral"
    if choice.score not in (max(scores), min(scores)) or max(scores) == min(scores):
        return "neutral"
    return polarity if choice.score == max(scores) else Polarity(polarity).opposite()


def _test(out: pd.DataFrame, *, alpha: float, power: float, min_base: int, adjust: Adjust) -> pd.DataFrame:
    z_a, z_p = float(ndtri(1 - alpha / 2)), float(ndtri(power))
    out = out.copy()
    held = out["suppressed"].to_numpy(bool)
    for col in ("estimate_base", "estimate_new", "se_base", "se_new"):
        out[col] = out[col].astype(float).where(~held)
    diff = out["estimate_new"] - out["estimate_base"]
    se = np.sqrt(out["se_base"] ** 2 + out["se_new"] ** 2)
    rate = (out["kind"] == "rate").to_numpy()
    small = ~rate & ((out["n_base"] < min_base) | (out["n_new"] < min_base)).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.inf * np.sign(diff)))
    p = np.where(rate | small | ~np.isfinite(diff), np.nan, 2 * ndtr(-np.abs(z)))
    out["difference"] = diff
    out["se_diff"] = se
    out["ci_low"] = np.where(rate, np.nan, diff - z_a * se)  # a census count: no interval
    out["ci_high"] = np.where(rate, np.nan, diff + z_a * se)
    out["p_value"] = p
    judged = p
    if adjust is Adjust.BH:
        judged = out["p_adjusted"] = adjust_p_values(np.where(held, np.nan, p), Adjust.BH)
    out["mdd"] = np.where(rate, np.nan, (z_a + z_p) * se)
    out["verdict"] = [
        reference_verdict(min_base) if (sm and not h) else _verdict(d, pv, direction, h, alpha)
        for d, pv, direction, h, sm in zip(diff, judged, out["direction"], held, small)
    ]
    return out


def _verdict(diff: float, p: float, direction: str, held: bool, alpha: float) -> str:
    if held:
        return SUPPRESSED
    if direction == "descriptive":
        if abs(diff) < 1e-12:  # a rate counted twice the same way may differ in the last bit
            return "変化なし（記述）"
        return f"{INCREASED}（記述）" if diff > 0 else f"{DECREASED}（記述）"
    if not np.isfinite(p) or p >= alpha:
        return NO_CHANGE
    if direction == "neutral":
        return INCREASED if diff > 0 else DECREASED
    return IMPROVED if (diff > 0) == (direction == "higher_is_better") else WORSENED


# ------------------------------------------------------------------------------ KPI, display


def kpi_values(changes: ChangeTable, *, group: str = ALL, key: str = "indicator") -> dict[str, float]:
    """The new wave's value of every compared indicator: ``{"q6:top2": 0.41, "rate": 0.473, …}``.

    Values are fractions (design-based estimates; the response rate as counted). ``key="indicator_base"``
    keys them by the baseline's indicator ids instead (they differ only where a question was renamed).
    Suppressed groups are left out.
    """
    t = changes.rows
    rows = t[(t["group"] == group) & ~t["suppressed"]]
    return {str(k): float(v) for k, v in zip(rows[key], rows["estimate_new"])}
