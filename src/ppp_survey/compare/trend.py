"""Trends across any number of waves: the wave comparison generalised, not a third pipeline.

A *history* is several frozen baselines (oldest first: R7, R8, …) and the current wave; consecutive
waves are linked by the mapping between their codebooks (R7→R8, R8→R9, …)::

    from ppp_survey import compare as cmp
    history = [cmp.load_baseline("data/processed/baseline_r7"), cmp.load_baseline("data/processed/baseline_r8")]
    r9 = cmp.load_wave("data/raw/synthetic_r9_responses.xlsx", "data/raw/staff_frame_r9.csv", "codebook_r9.yaml")
    table = cmp.trend(history, r9, ["mapping_r7_r8.yaml", "mapping_r8_r9.yaml"])

**What is followed.** An indicator is followed across the chain only where every link's mapping
says it is the same item (a choice added in R8 has no R7 value: it is in the R8→R9 comparison, not
in the trend; :attr:`TrendTable.not_followed` lists what was left out). The groups are the
mappings' groups of 職域 joined across every link and wherever a pool of *any* wave joins them
(:func:`trend_groups`, the n-wave :func:`~ppp_survey.compare.groups.compared_groups`): a pool is
never split, so each published group is a union of whole published groups of every wave, and a
group must exist in every wave. Every wave must be weighted alike (the same ``--margins`` raking
and bounds, or none: the rule of :func:`~ppp_survey.compare.compare`). Nothing is pooled, raked or
read again: the frozen baselines give their own estimates (merged 職域 combined exactly by
:func:`~ppp_survey.compare.groups.combine_strata`) and the current wave its analysis's.

**Estimates.** Each wave's estimate with its standard error (no FPC by default, ``fpc=True`` the
FPC: the same choice and reasons as :func:`~ppp_survey.compare.compare`) and the 95% logit interval
on that standard error.

**Changes.** Between consecutive waves and first → last (three waves or more): the two-wave
comparison's test — independent cross-sections, ``var(diff) = se_a² + se_b²``, two-sided normal
test, verdict by the item's polarity (改善／悪化／有意な変化なし, 増加／減少 without a direction;
response rates descriptive; a base under ``min_base`` in either wave 参考値). ``adjust="holm"`` or
``"bh"`` judges the verdicts on Holm / Benjamini–Hochberg adjusted p-values over every tested change
row (column ``p_adjusted``); the trend rows are adjusted as a family of their own.

**Trend test: weighted least squares on the wave estimates — the design-based regression on the
stacked waves.** With waves at positions ``x_t = 0, 1, …`` (evenly spaced, e.g. yearly; the slope is
per wave) and estimates ``p_t``, the slope is ``b = Σ c_t p_t`` with ``c_t = N̂_t (x_t − x̄) / S``,
``x̄ = Σ N̂_t x_t / Σ N̂_t``, ``S = Σ N̂_t (x_t − x̄)²``: the least-squares line through the waves'
estimates, each wave weighted by ``N̂_t``, the staff its answers represent (``Σ N_h m_h/n_h`` over
the group's strata, ``m_h`` answered; the frozen per-職域 rows give it; with raked weights too,
so the slope stays a fixed linear combination of the estimates with a design-based variance). The waves are independent
cross-sections, so ``var(b) = Σ c_t² V_t`` from the waves' variances ``V_t``; ``z = b/√var(b)``,
two-sided normal p-value, verdict as for a change (response rates: descriptive, no test).

That is the design-based regression on the stacked waves — ``y ~ wave`` with the wave as a number,
strata wave × 職域, each wave's weights (:func:`~ppp_survey.survey.regression.survey_glm`,
``family="gaussian"`` on the 0/1 indicator: a linear probability model) — computed from the frozen
estimates, so the baselines are never re-read from raw data: its slope is this ``Σ c_t p_t`` (the
weighted least-squares fit of individual answers puts each wave's weight ``N̂_t`` on that wave's
mean), and its sandwich variance this ``Σ c_t² V_t`` up to a term of item nonresponse (the regression
centres a wave's answers at the fitted line, the wave's estimate at its own mean; the blanks' zeros
then weigh in: 1e-5 of the variance on the bundled waves). tests/test_trend.py checks both on the
bundled R7, R8, R9. Weighting the waves by their precision ``1/V_t`` instead (:func:`wls_slope`'s
default) estimates the same slope when the waves' values lie on a line, and another one when they
do not (q7 option 1, a step between R7 and R8: half a standard error apart); the regression's
weighting is used so that the two agree.

**Size.** On 100 null histories (three independent regenerations of R7 each; nothing drifts) the
consecutive-change test flagged 5.0% of 97,200 tested rows, first → last 4.8% and the trend test 4.9%
of 48,600 (benchmarks/sim_trends.py, benchmarks/RESULTS_trends.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ppp_survey.compare.baseline import Baseline, baseline_from_wave
from ppp_survey.compare.changes import compare
from ppp_survey.compare.groups import grouped_baseline
from ppp_survey.compare.trend_stats import (
    CHANGE_STEP_COLUMNS,
    KEY_COLUMNS,
    TREND_COLUMNS,
    change_rows,
    trend_rows,
    wls_slope,
)
from ppp_survey.compare.wave import Wave, wave_indicators
from ppp_survey.constants import ALL, MIN_BASE
from ppp_survey.errors import BaselineError, TrendError
from ppp_survey.spec.mapping import GroupMap, Mapping, load_mapping
from ppp_survey.survey.indicators import IndicatorKey, IndicatorKind
from ppp_survey.survey.kernels import logit_interval
from ppp_survey.survey.multiplicity import Adjust
from ppp_survey.survey.privacy import POOL_JOIN
from ppp_survey.text import WeightsForm, WeightsMethod, weights_text

__all__ = [
    "CHANGE_STEP_COLUMNS",
    "ESTIMATE_COLUMNS",
    "TREND_COLUMNS",
    "TrendError",
    "TrendGroup",
    "TrendTable",
    "trend",
    "trend_groups",
    "wls_slope",
]

_META = KEY_COLUMNS
#: Columns of :attr:`TrendTable.estimates` (one row per indicator × group × wave).
ESTIMATE_COLUMNS = (
    *_META,
    "wave",
    "position",
    "indicator_wave",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "n",
    "nhat",
    "suppressed",
)


@dataclass(frozen=True)
class TrendGroup:
    """A group of 職域 followed across every wave: its published labels in each wave (pool labels
    where pooled), shown as ``name``."""

    name: str
    members: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class TrendTable:
    """The result of :func:`trend`: each wave's estimates, the changes and the linear trends.

    ``estimates`` (:data:`ESTIMATE_COLUMNS`), ``changes`` (:data:`CHANGE_STEP_COLUMNS`; ``step``
    ``consecutive`` or ``first_last``) and ``trends`` (:data:`TREND_COLUMNS`; ``slope`` per wave, as
    a fraction) share the key columns: ``indicator`` (the current wave's key), ``question``, ``title``,
    ``label``, ``kind``, ``direction``, ``group``. ``waves`` are the waves' names oldest first
    (codebook ``survey.wave``), ``periods`` when each was fielded, ``baselines`` one line on each
    frozen baseline, ``mappings`` each link's mapping file and SHA-256.
    """

    estimates: pd.DataFrame
    changes: pd.DataFrame
    trends: pd.DataFrame
    waves: tuple[str, ...]
    periods: tuple[str, ...]
    baselines: tuple[str, ...]
    mappings: tuple[tuple[str, str], ...]
    groups: tuple[TrendGroup, ...]
    alpha: float = 0.05
    fpc: bool = False
    min_base: int = MIN_BASE
    adjust: Adjust = Adjust.NONE
    weighting: str = weights_text(WeightsMethod(), WeightsForm.CHANGE)
    note: str = ""
    not_followed: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["link", "item", "status", "reason"])
    )

    @property
    def first(self) -> str:
        return self.waves[0]

    @property
    def last(self) -> str:
        return self.waves[-1]


def trend(
    history: Sequence,
    wave,
    mappings: Sequence[Mapping | str | Path | None] | None = None,
    *,
    alpha: float = 0.05,
    fpc: bool = False,
    min_base: int = MIN_BASE,
    adjust: Adjust | str = Adjust.NONE,
) -> TrendTable:
    """Trend tables of every indicator followed across ``history`` (oldest first) and ``wave``.

    Parameters
    ----------
    history
        The earlier waves, oldest first: frozen :class:`~ppp_survey.compare.baseline.Baseline`
        (:func:`~ppp_survey.compare.load_baseline`), or waves / analyses frozen in memory.
    wave
        The current wave (:class:`~ppp_survey.compare.wave.Wave`, an analysed Survey or an Analysis).
    mappings
        One per link (``len(history)``): the mapping between each wave's codebook and the next one's
        (a :class:`~ppp_survey.spec.mapping.Mapping`, a file, a packaged name, or ``None`` for
        identical codebooks). ``None``: every link's codebooks must be identical.
    alpha, fpc, min_base
        As :func:`~ppp_survey.compare.compare`.
    adjust
        ``"none"`` (each row at ``alpha``), ``"holm"`` or ``"bh"`` (adjusted over every tested change
        row, and separately over every tested trend row).

    Returns
    -------
    TrendTable
    """
    adjust = Adjust(adjust)
    olds = [h if isinstance(h, Baseline) else baseline_from_wave(h) for h in history]
    if not olds:
        raise TrendError("経年変化には基準値が1つ以上必要（--history に凍結した基準値のフォルダを古い順に指定する）")
    current = Wave.of(wave)
    codebooks = [b.codebook for b in olds] + [current.codebook]
    links = _links(codebooks, list(mappings) if mappings is not None else [None] * len(olds))
    _check_weights(olds, current)
    # the last link through the two-wave comparison: its checks, and each row's title, label and direction
    last = compare(olds[-1], current, links[-1], alpha=alpha, fpc=fpc, min_base=min_base)
    meta = last.rows[["indicator", "question", "title", "label", "kind", "direction"]].drop_duplicates("indicator")
    chain = _chain(links, meta["indicator"].tolist())
    pools = [b.pools for b in olds] + [current.pools]
    groups = trend_groups(links, pools)
    merged = [g.name for g in groups if any(len(m) > 1 for m, b in zip(g.members, olds) if b.raked_to)]
    if merged:
        raise BaselineError(
            f"基準値はレイキング後のウェイトで凍結されているため、統合した職域（{'、'.join(merged)}）の推定を"
            "基準値の職域別の数値から作れない。--calibrate を外して経年変化を求める"
        )
    se = "se" if fpc else "se_nofpc"
    names = [ALL, *[g.name for g in groups]]
    parts = []
    sources: list[Baseline | Wave] = [*olds, current]
    for t, source in enumerate(sources):
        if isinstance(source, Baseline):
            rows = grouped_baseline(source, [GroupMap(g.name, g.members[t], ()) for g in groups])
        else:
            own = {lab: g.name for g in groups for lab in g.members[t]}
            rows = wave_indicators(source, groups=own, order=[g.name for g in groups])
        frozen = source if isinstance(source, Baseline) else baseline_from_wave(source)
        rows = rows.merge(_represented(frozen, groups, t), on=["indicator", "group"], how="left", validate="one_to_one")
        keys = pd.DataFrame({"indicator": list(chain), "indicator_wave": [k[t] for k in chain.values()]})
        rows = rows[rows["group"].isin(names)].rename(columns={"indicator": "indicator_wave"})
        part = keys.merge(rows, on="indicator_wave", how="inner", validate="one_to_many")
        parts.append(
            part.assign(wave=codebooks[t].survey.wave, position=t, se=part[se].astype(float), n=part["base_n"])
        )
    est = pd.concat(parts, ignore_index=True).merge(meta, on="indicator", how="left", suffixes=("_x", ""))
    est = est.drop(columns=[c for c in est.columns if c.endswith("_x")])
    est = _order(est, meta["indicator"].tolist(), names).reset_index(drop=True)
    held = est["suppressed"].astype(bool).to_numpy()
    for col in ("estimate", "se"):
        est[col] = est[col].astype(float).where(~held)
    low, high = logit_interval(est["estimate"].to_numpy(float), est["se"].to_numpy(float), float(ndtri(1 - alpha / 2)))
    est["ci_low"], est["ci_high"] = np.where(held, np.nan, low), np.where(held, np.nan, high)
    est["suppressed"] = held
    estimates = est[list(ESTIMATE_COLUMNS)]
    waves = tuple(cb.survey.wave for cb in codebooks)
    return TrendTable(
        estimates=estimates,
        changes=change_rows(estimates, len(waves), alpha=alpha, min_base=min_base, adjust=adjust),
        trends=trend_rows(estimates, alpha=alpha, min_base=min_base, adjust=adjust),
        waves=waves,
        periods=tuple(f"{cb.survey.fielded_from:%Y-%m}" for cb in codebooks),
        baselines=tuple(b.describe() for b in olds),
        mappings=tuple((m.path, m.sha256) for m in links),
        groups=tuple(groups),
        alpha=alpha,
        fpc=fpc,
        min_base=min_base,
        adjust=adjust,
        weighting=last.weighting,
        note="\n".join(
            dict.fromkeys(x for x in [b.manifest.get("source_note", "") for b in olds] + [current.note] if x)
        ),
        not_followed=_not_followed(links, chain, meta["indicator"].tolist()),
    )


# ------------------------------------------------------------------------------ chain, groups


def _links(codebooks, given: list) -> list[Mapping]:
    if len(given) != len(codebooks) - 1:
        raise TrendError(
            f"対応表は隣り合う回の組ごとに1つ（{len(codebooks) - 1}個）必要だが、{len(given)}個が指定された。"
            "古い順に「R7→R8、R8→R9…」の対応表を並べる"
        )
    out = []
    for old, new, m in zip(codebooks, codebooks[1:], given):
        if not isinstance(m, Mapping):
            m = load_mapping(m, old, new)
        elif (m.old.survey.id, m.new.survey.id) != (old.survey.id, new.survey.id):
            raise TrendError(
                f"対応表 {m.path or '（名前なし）'} は {m.old.survey.id}→{m.new.survey.id} の対応表で、"
                f"{old.survey.wave}→{new.survey.wave}（{old.survey.id}→{new.survey.id}）の対応表ではない。古い順に並べ直す"
            )
        out.append(m)
    return out


def _key_pairs(mapping: Mapping) -> dict[str, str]:
    """``{new key: old key}`` of every indicator the mapping says is the same item (response rate included)."""
    out = {"rate": "rate"}
    for q in mapping.questions:
        if q.status != "same":
            continue
        qo, qn = mapping.old.item(q.ids()[0]), mapping.new.item(q.ids()[1])
        if q.top2:
            out[str(IndicatorKey(IndicatorKind.TOP2, qn.id))] = str(IndicatorKey(IndicatorKind.TOP2, qo.id))
        for c in q.choices:
            if c.status == "same":
                old, new = c.codes()
                out[str(IndicatorKey.of_choice(qn, new))] = str(IndicatorKey.of_choice(qo, old))
    return out


def _chain(links: list[Mapping], last_keys: list[str]) -> dict[str, tuple[str, ...]]:
    """``{current key: (key in wave 0, …, current key)}`` for the indicators every link follows."""
    pairs = [_key_pairs(m) for m in links]
    out = {}
    for key in last_keys:
        keys = [key]
        for p in reversed(pairs):
            if keys[0] not in p:
                break
            keys.insert(0, p[keys[0]])
        if len(keys) == len(links) + 1:
            out[key] = tuple(keys)
    return out


def trend_groups(links: list[Mapping], pools: list[dict[str, tuple[str, ...]]]) -> list[TrendGroup]:
    """The groups a trend publishes: every link's groups of 職域 (status ``same``) joined across the
    links, and wherever a pool of any wave joins them (a pool is never split). A group must exist
    in every wave; its ``members`` are each wave's published labels (pool labels where pooled).
    Named by the last link's groups (joined with ＋ where several were joined); ordered as the
    current wave's 職域. With two waves these are :func:`~ppp_survey.compare.groups.compared_groups`'s
    groups (in the current wave's order)."""
    published = [{m: label for label, members in p.items() for m in members} for p in pools]
    parent: dict[tuple[int, str], tuple[int, str]] = {}

    def root(node: tuple[int, str]) -> tuple[int, str]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    entries: list[tuple[int, GroupMap, tuple[int, str]]] = []
    for t, m in enumerate(links):
        for g in m.compared_groups:
            nodes = [(t, published[t].get(x, x)) for x in g.old] + [(t + 1, published[t + 1].get(x, x)) for x in g.new]
            for node in nodes:
                parent[root(node)] = root(nodes[0])
            entries.append((t, g, nodes[0]))
    comps: dict[tuple[int, str], list[tuple[int, GroupMap]]] = {}
    for t, g, node in entries:
        comps.setdefault(root(node), []).append((t, g))
    n = len(links) + 1
    order = {lab: i for i, lab in enumerate(links[-1].new.stratum.labels)}
    out = []
    for r, found in comps.items():
        nodes = [x for x in parent if root(x) == r]
        members = tuple(tuple(dict.fromkeys(lab for w, lab in nodes if w == t)) for t in range(n))
        last = [g for t, g in found if t == n - 2]
        if not all(members) or not last:
            continue  # not in every wave: not followed
        pooled = any(lab in pools[t] for t in range(n) for lab in members[t])
        notes = [g.note for _, g in found if g.note]
        if pooled:
            notes.append(f"匿名性のため統合（{POOL_JOIN.join(g.name for g in last)}）")
        name = POOL_JOIN.join(g.name for g in last) if len(last) > 1 else last[0].name
        raw = [m for lab in members[-1] for m in pools[-1].get(lab, (lab,))]
        out.append(
            (min(order.get(x, len(order)) for x in raw), TrendGroup(name, members, "；".join(dict.fromkeys(notes))))
        )
    return [g for _, g in sorted(out, key=lambda x: x[0])]


def _check_weights(olds: list[Baseline], wave: Wave) -> None:
    """Every wave weighted alike (the rule of the two-wave comparison): a trend must not come from a
    change of method."""
    for b in olds:
        if (b.raked_to, b.rake_bounds) != (wave.raked_to, wave.bounds):
            raise BaselineError(
                f"基準値（{b.wave}）と今回（{wave.label}）でウェイトの作り方（--margins・--calibrate・--rake-bounds）が"
                "違うため、経年変化を求められない。すべての回を同じ指定で凍結し直すか、今回の指定を基準値に合わせる"
            )


def _represented(frozen: Baseline, groups: list[TrendGroup], t: int) -> pd.DataFrame:
    """``N̂`` of every indicator × group of wave ``t``: the staff its answers represent,
    ``Σ N_h m_h / n_h`` over the group's strata (``m_h`` answered; the stacked regression's weight of
    the wave), from the per-職域 rows and rates of the wave frozen (``indicator, group, nhat``)."""
    rates = frozen.rates.iloc[:-1]
    weight = dict(zip(rates["domain"].astype(str), rates["population"] / rates["respondents"]))
    per = frozen.indicators[frozen.indicators["group"] != ALL]
    rate = (per["kind"] == "rate").to_numpy()  # a census count: the wave's staff
    per = per.assign(nhat=np.where(rate, per["base_n"], per["base_n"] * per["group"].map(weight)))
    parts = [per.groupby("indicator", sort=False)["nhat"].sum().reset_index().assign(group=ALL)]
    for g in groups:
        mine = per[per["group"].isin(g.members[t])]
        parts.append(mine.groupby("indicator", sort=False)["nhat"].sum().reset_index().assign(group=g.name))
    return pd.concat(parts, ignore_index=True)


def _order(table: pd.DataFrame, indicators: list[str], groups: list[str]) -> pd.DataFrame:
    rank_i = {k: i for i, k in enumerate(indicators)}
    rank_g = {k: i for i, k in enumerate(groups)}
    return (
        table.assign(_g=table["group"].map(rank_g), _i=table["indicator"].map(rank_i))
        .sort_values(["_g", "_i", "position"], kind="stable")
        .drop(columns=["_g", "_i"])
    )


def _not_followed(links: list[Mapping], chain: dict, last_keys: list[str]) -> pd.DataFrame:
    rows = []
    for m in links:
        link = f"{m.old.survey.wave}→{m.new.survey.wave}"
        for r in m.not_compared().itertuples():
            rows.append({"link": link, "item": r.item, "status": r.status, "reason": r.reason})
    for key in last_keys:
        if key not in chain:
            rows.append(
                {"link": "", "item": key, "status": "not_followed", "reason": "前の回の対応表で同じ項目とされていない"}
            )
    return pd.DataFrame(rows, columns=["link", "item", "status", "reason"])
