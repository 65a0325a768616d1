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
from ppp_survey.compare.wave import Wave, as_wave, wave_indicators
from ppp_survey.constants import ALL, DEFAULT_MIN_GROUP, MIN_BASE, SUPPRESSED
from ppp_survey.errors import PppSurveyError
from ppp_survey.spec.codebook import Codebook, Polarity
from ppp_survey.spec.mapping import GroupMap, Mapping, load_mapping
from ppp_survey.survey.indicators import IndicatorKey, IndicatorKind
from ppp_survey.survey.privacy import POOL_JOIN

IMPROVED, WORSENED, NO_CHANGE = "改善", "悪化", "有意な変化なし"
INCREASED, DECREASED = "増加", "減少"
REFERENCE = "参考値（基数30未満）"
RATE_NOTE = "回答率は職員数フレームに対する全数の計数で標本誤差はない：差は記述的（検定しない）"

#: Columns of :func:`compare`.
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
    used (``fpc``), the base under which a group is 参考値 (``min_base``), what the mapping left out
    (``not_compared``, :data:`NOT_COMPARED_COLUMNS`) and both waves' source notes (``note``).
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
    not_compared: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(NOT_COMPARED_COLUMNS)))
    note: str = ""

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
    min_group: int = DEFAULT_MIN_GROUP,
    min_base: int = MIN_BASE,
) -> ChangeTable:
    """Compare a wave with the baseline, indicator by indicator, 全体 and by 職域.

    Parameters
    ----------
    baseline
        A :class:`Baseline` (:func:`load_baseline`); a Wave or Survey is frozen in memory first.
    survey
        The new wave: a :class:`~ppp_survey.compare.wave.Wave` or an analysed Survey.
    mapping
        :class:`~ppp_survey.spec.mapping.Mapping` between the baseline's codebook and the wave's, a mapping
        file, or ``None`` when the two codebooks must be identical.
    alpha, power
        Test level of the verdict and power of the minimum detectable difference.
    fpc
        Use each wave's finite population correction (see the module notes).
    min_group, min_base
        Anonymity threshold (groups below it in either wave are suppressed) and the base below
        which a group is 参考値 and not tested (30, as the crosstabs of :mod:`ppp_survey.survey.tables`).

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
        ``min_base`` in either wave: verdict 参考値（基数30未満）, no p-value), ``note``
        (declared changes of the item or 職域), ``baseline`` (the baseline's manifest SHA-256).
        The other fields hold the baseline, mapping, alpha, power, fpc and what was not compared.
    """
    if not isinstance(baseline, Baseline):
        baseline = baseline_from_wave(baseline, min_group=min_group)
    wave = as_wave(survey)
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping, baseline.codebook, wave.codebook)
    _check_codebooks(mapping, baseline, wave)
    wave, new_pools = wave.protected(min_group)  # small 職域 pooled before anything is estimated
    groups = compared_groups(mapping.compared_groups, baseline.pools, new_pools)
    new_groups = {lab: g.name for g in groups for lab in g.new}
    new = wave_indicators(wave, groups=new_groups, order=[g.name for g in groups], min_group=min_group)
    old = _grouped_baseline(baseline, groups)
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
    out = _test(grid, alpha=alpha, power=power, min_base=min_base)
    out["baseline"] = baseline.id
    return ChangeTable(
        rows=out[list(CHANGE_COLUMNS)].reset_index(drop=True),
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
        not_compared=mapping.not_compared(),
        note="\n".join(x for x in (baseline.manifest.get("source_note", ""), wave.note) if x),
    )


def _check_codebooks(mapping: Mapping, baseline: Baseline, wave: Wave) -> None:
    for side, cb, mine in (("old", mapping.old, baseline.codebook), ("new", mapping.new, wave.codebook)):
        if _fingerprint(cb) != _fingerprint(mine):
            what = f"baseline {baseline.wave}" if side == "old" else f"wave {wave.label}"
            raise PppSurveyError(
                f"mapping {mapping.path}: its {side} codebook ({cb.survey.id}) is not the codebook of "
                f"the {what} ({mine.survey.id}); load the mapping with the baseline's and the wave's "
                "codebooks"
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


def _test(out: pd.DataFrame, *, alpha: float, power: float, min_base: int) -> pd.DataFrame:
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
    out["mdd"] = np.where(rate, np.nan, (z_a + z_p) * se)
    out["verdict"] = [
        REFERENCE if (sm and not h) else _verdict(d, pv, direction, h, alpha)
        for d, pv, direction, h, sm in zip(diff, p, out["direction"], held, small)
    ]
    return out


def _verdict(diff: float, p: float, direction: str, held: bool, alpha: float) -> str:
    if held:
        return SUPPRESSED
    if direction == "descriptive":
        return "変化なし（記述）" if diff == 0 else (f"{INCREASED}（記述）" if diff > 0 else f"{DECREASED}（記述）")
    if not np.isfinite(p) or p >= alpha:
        return NO_CHANGE
    if direction == "neutral":
        return INCREASED if diff > 0 else DECREASED
    return IMPROVED if (diff > 0) == (direction == "higher_is_better") else WORSENED


def compared_groups(
    groups: list[GroupMap], old_pools: dict[str, tuple[str, ...]], new_pools: dict[str, tuple[str, ...]]
) -> list[GroupMap]:
    """The groups a comparison publishes: the mapping's groups of 職域, merged where a pool of
    either wave joins them (a pool is never split: every published group is a union of whole
    published groups of both waves). ``old``/``new`` of the result name the waves' published
    groups (pool labels where pooled); a merged group is named by joining its members' names.
    """
    old_of = {m: label for label, members in old_pools.items() for m in members}
    new_of = {m: label for label, members in new_pools.items() for m in members}
    if not old_of and not new_of:
        return groups
    parent = list(range(len(groups)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[tuple[str, str], int] = {}
    for i, g in enumerate(groups):
        keys = [("old", old_of.get(x, x)) for x in g.old] + [("new", new_of.get(x, x)) for x in g.new]
        for key in keys:
            if key in seen:
                parent[root(i)] = root(seen[key])
            else:
                seen[key] = i
    out = []
    for r in dict.fromkeys(root(i) for i in range(len(groups))):
        members = [g for i, g in enumerate(groups) if root(i) == r]
        pooled = any(x in old_of for g in members for x in g.old) or any(x in new_of for g in members for x in g.new)
        if not pooled:
            out.extend(members)
            continue
        old = tuple(dict.fromkeys(old_of.get(x, x) for g in members for x in g.old))
        new = tuple(dict.fromkeys(new_of.get(x, x) for g in members for x in g.new))
        note = "；".join(
            x
            for x in (*(g.note for g in members), f"匿名性のため統合（{POOL_JOIN.join(g.name for g in members)}）")
            if x
        )
        out.append(GroupMap(name=POOL_JOIN.join(g.name for g in members), old=old, new=new, note=note))
    return out


def _grouped_baseline(baseline: Baseline, groups: list[GroupMap]) -> pd.DataFrame:
    """The baseline's indicators for the mapping's groups: 全体, single 職域 renamed, merged 職域 combined."""
    ind = baseline.indicators
    parts = [ind[ind["group"] == ALL]]
    for g in groups:
        if len(g.old) == 1:
            parts.append(ind[ind["group"] == g.old[0]].assign(group=g.name))
        else:
            parts.append(_combine_strata(ind[ind["group"].isin(g.old)], baseline.rates, g.old, g.name))
    return pd.concat(parts, ignore_index=True)


def _combine_strata(rows: pd.DataFrame, rates: pd.DataFrame, labels: tuple[str, ...], name: str) -> pd.DataFrame:
    """Estimates for a union of whole strata from the per-stratum estimates (exact linearisation).

    For a domain D made of strata h: ``R_D = Σ N̂_h R_h / Σ N̂_h`` with ``N̂_h = N_h m_h / n_h``
    (``m_h`` answered), and ``V(R_D) = Σ_h [(N̂_h/N̂_D)² V_h + c_h w_h² m_h (1 − m_h/n_h) (R_h − R_D)² / N̂_D²]``,
    ``c_h = (1 − f_h) n_h/(n_h − 1)`` (no FPC: ``f_h = 0``), ``w_h = N_h/n_h``. The second term comes
    from item nonresponse; it is zero when everyone in the strata answered. This is the variance the
    design-based estimator gives for that domain on the full design.
    """
    r = rates.set_index(rates["domain"].astype(str))
    big_n = r.loc[list(labels), "population"].to_numpy(float)
    small_n = r.loc[list(labels), "respondents"].to_numpy(float)
    w = big_n / small_n
    out = []
    for _key, part in rows.groupby("indicator", sort=False):
        part = part.set_index("group").loc[list(labels)]
        first = part.iloc[0]
        row = {c: first[c] for c in ("indicator", "question", "kind", "code", "label")}
        row["group"] = name
        if first["kind"] == "rate":
            pop, resp = int(part["base_n"].sum()), int(part["n"].sum())
            row.update(
                base_n=pop,
                n=resp,
                share=resp / pop,
                estimate=resp / pop,
                se=0.0,
                se_nofpc=0.0,
                ci_low=resp / pop,
                ci_high=resp / pop,
                suppressed=False,
            )
            out.append(row)
            continue
        m = part["base_n"].to_numpy(float)
        est = part["estimate"].to_numpy(float)
        nhat = w * m
        total = nhat.sum()
        estimate = float(np.sum(nhat * est) / total)
        delta = est - estimate
        extra = m * (1 - m / small_n) * delta**2 * w**2
        ses = {}
        for col, f in (("se", small_n / big_n), ("se_nofpc", 0.0)):
            c = (1 - f) * small_n / (small_n - 1)
            v = np.sum((nhat / total) ** 2 * part[col].to_numpy(float) ** 2 + c * extra / total**2)
            ses[col] = float(np.sqrt(v))
        suppressed = bool(part["suppressed"].any())
        row.update(
            base_n=int(m.sum()),
            n=float(part["n"].sum()),
            share=float(part["n"].sum() / m.sum()),
            estimate=estimate,
            se=ses["se"],
            se_nofpc=ses["se_nofpc"],
            ci_low=np.nan,
            ci_high=np.nan,
            suppressed=suppressed,
        )
        if suppressed:
            row.update({c: np.nan for c in ("n", "share", "estimate", "se", "se_nofpc")})
        out.append(row)
    return pd.DataFrame(out)


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
