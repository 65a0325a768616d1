"""The policy matrix read the other way: from each finding to the 現状 and 取組 it speaks to
(:func:`reverse_view`), and the KPI table (:func:`kpi_table`: for each 取組, the indicators that
should move if it works, with their baseline). Computed on the same design-based estimates as
:mod:`.evidence`; the sheets and HTML page are :mod:`ppp_survey.outputs.matrix_sheets`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ppp_survey.analysis import Analysis
from ppp_survey.policy.evidence import association_by, describe, odds_ratio_text
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.matrix import Indicator, PolicyMatrix
from ppp_survey.spec.matrix_file import check_codebook
from ppp_survey.survey.associations import key_label
from ppp_survey.survey.indicators import MEASURE_LABEL, IndicatorKey, IndicatorKind, Measure
from ppp_survey.text import pct

__all__ = ["KPI_COLUMNS", "REVERSE_COLUMNS", "kpi_frame", "kpi_table", "levers", "reverse_view"]

REVERSE_COLUMNS = (
    "finding_id",
    "finding",
    "rank",
    "question",
    "code",
    "label",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "p_value",
    "link",
    "link_id",
    "link_text",
    "via",
)
#: Columns of :func:`kpi_table`.
KPI_COLUMNS = (
    "initiative_id",
    "取組",
    "goal_ids",
    "situation_ids",
    "indicator_id",
    "indicator",
    "indicator_key",
    "question",
    "statistic",
    "group",
    "baseline",
    "ci_low",
    "ci_high",
    "n",
    "next_value",
    "lever",
)


def reverse_view(matrix: PolicyMatrix, analysis: Analysis) -> pd.DataFrame:
    """For each finding the package reports, the 現状 and 取組 it speaks to.

    Findings come from the matrix file: the top options of a multi-select question (ranked by the
    design-based estimate; その他 and 特にない are not ranked) and the association of a question with
    an attribute (the 職域 spread of q2). Links are those of ``option_links`` / the finding, plus the
    取組 reached from a linked 現状 through its 具体像.

    Returns
    -------
    DataFrame
        :data:`REVERSE_COLUMNS`, one row per (finding or option, linked 現状 or 取組): ``rank`` of the
        option (0 for an association), ``value``/``ci_low``/``ci_high``/``n`` the option's estimate
        (for an association: the spread, highest minus lowest 肯定的回答 of the groups with base ≥
        ``min_base``, named in ``label``), ``p_value`` (association), ``link`` 現状 or 取組,
        ``via`` 直接 or 現状→具体像→取組.
    """
    codebook = analysis.codebook
    matrix = check_codebook(matrix, codebook)  # bound to this codebook: its codes, from the labels
    rows = []
    for f in matrix.findings:
        item = codebook.item(f.question)
        if f.kind == "top_options":
            t = analysis.tally(item.id)
            skip = {c.code for c in item.choices if c.other or c.exclusive}
            t = t[~t["code"].isin(skip)].sort_values(["estimate", "code"], ascending=[False, True]).head(f.top)
            for rank, r in enumerate(t.itertuples(), start=1):
                link = next((lk for lk in matrix.option_links if lk.question == f.question and lk.code == r.code), None)
                head = {
                    "finding_id": f.id,
                    "finding": f.title,
                    "rank": rank,
                    "question": f.question,
                    "code": r.code,
                    "label": r.label,
                    "value": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "n": r.base_n,
                    "p_value": np.nan,
                }
                if link is None:
                    rows.append({**head, **UNLINKED})
                    continue
                rows += [{**head, **x} for x in _linked(matrix, link.situations, link.initiatives)]
        else:
            by = association_by(f)
            tests = analysis.crosstabs[(item.id, by)].tests
            spread = _spread(analysis, item, by, max(matrix.min_base, analysis.min_group))
            head = {
                "finding_id": f.id,
                "finding": f.title,
                "rank": 0,
                "question": f.question,
                "code": pd.NA,
                **spread,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "n": int(tests["n"].iloc[0]),
                "p_value": float(tests["p_value"].iloc[0]),
            }
            rows += [{**head, **x} for x in _linked(matrix, f.situations, f.initiatives)]
    return pd.DataFrame(rows, columns=list(REVERSE_COLUMNS))


#: The link columns of an option that has no entry in option_links.
UNLINKED = {"link": "", "link_id": "", "link_text": "（マトリクスに対応づけなし：option_links に追加する）", "via": ""}


def _spread(analysis: Analysis, item: Item, by: str, min_base: int) -> dict:
    """Highest − lowest share (肯定的回答 for likert, first choice otherwise) over the published
    groups with base ≥ min_base (suppressed groups never enter it)."""
    if item.type == "likert":
        t = analysis.likert_for(item.id, Measure.TOP2, by=by).rename(columns={"base_n": "n"})
        what = MEASURE_LABEL[Measure.TOP2]
    else:
        t = analysis.crosstabs[(item.id, by)].cells
        t = t[t["code"] == item.choices[0].code].rename(columns={"base_n": "n"})
        what = f"「{item.choices[0].label}」"
    t = t[(t["n"] >= min_base) & ~t["suppressed"].astype(bool)]
    if t.empty:
        return {"label": "", "value": np.nan}
    hi, lo = t.loc[t["estimate"].idxmax()], t.loc[t["estimate"].idxmin()]
    label = f"{what} 最高：{hi['group']} {pct(hi['estimate']) + '%'}、最低：{lo['group']} {pct(lo['estimate']) + '%'}"
    return {"label": label, "value": float(hi["estimate"] - lo["estimate"])}


def _linked(matrix: PolicyMatrix, situations: tuple[str, ...], initiatives: tuple[str, ...]) -> list[dict]:
    out = [{"link": "現状", "link_id": s, "link_text": matrix.situation(s).text, "via": "直接"} for s in situations]
    seen = set(initiatives)
    out += [{"link": "取組", "link_id": i, "link_text": matrix.initiative(i).text, "via": "直接"} for i in initiatives]
    goals = {g for s in situations for g in matrix.situation(s).goals}
    for x in matrix.initiative_list:
        if x.id not in seen and goals.intersection(x.goals):
            out.append({"link": "取組", "link_id": x.id, "link_text": x.text, "via": "現状→具体像→取組"})
            seen.add(x.id)
    return out


def kpi_frame(matrix: PolicyMatrix, codebook: Codebook) -> pd.DataFrame:
    """The KPI table's rows without values: each 取組 with the indicators that should show its effect.

    A 取組's indicators are those of the 現状 answered by the 具体像 it serves (each measured
    quantity once per 取組). Columns: :data:`KPI_COLUMNS` up to ``statistic``. Used by
    :func:`kpi_table` (values from a wave) and by the wave comparison (values from a frozen
    baseline and the new wave).
    """
    matrix = check_codebook(matrix, codebook)  # bound to this codebook: its codes, from the labels
    rows = []
    for x in matrix.initiative_list:
        sits = [s for s in matrix.situation_list if set(s.goals) & set(x.goals)]
        chosen: dict[tuple, list] = {}
        for s in sits:
            for ind in s.indicators:
                chosen.setdefault(ind.signature, [ind, []])[1].append(s.id)
        for ind, sit_ids in chosen.values():
            rows.append(
                {
                    "initiative_id": x.id,
                    "取組": x.text,
                    "goal_ids": ",".join(x.goals),
                    "situation_ids": ",".join(sit_ids),
                    "indicator_id": ind.id,
                    "indicator": describe(ind, codebook, min_base=matrix.min_base),
                    "indicator_key": _key(ind, codebook),
                    "question": ind.question,
                    "statistic": ind.statistic,
                }
            )
    return pd.DataFrame(rows, columns=list(KPI_COLUMNS[: KPI_COLUMNS.index("statistic") + 1]))


def kpi_table(matrix: PolicyMatrix, evidence: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """KPIs for each 取組: the indicators that should move if it works, their baseline, and a blank for next year.

    A 取組's indicators are those of the 現状 answered by the 具体像 it serves (each measured
    quantity once per 取組). ``next_value`` is NaN, to be filled by the wave comparison; for shares
    and top-2 boxes over 全体, ``indicator_key`` is the comparison's key (``q5:opt:3``,
    ``q3:choice:2``, ``q6:top2``), so ``compare.kpi_values(changes)[key]`` fills it.

    Returns
    -------
    DataFrame
        :data:`KPI_COLUMNS`, one row per (取組, indicator): ``baseline`` with ``ci_low``/``ci_high``
        and ``n`` from ``evidence`` (:func:`~ppp_survey.policy.evidence.evaluate`; an association's baseline
        is its p-value, without CI; an adjusted association's its odds ratio), ``lever`` the 取組's
        lever (:func:`levers`; '' where it has none), the same on every row of the 取組.
    """
    evidence = evidence.set_index("indicator_id")
    out = kpi_frame(matrix, codebook)
    out["indicator"] = evidence.loc[out["indicator_id"], "indicator"].to_numpy()
    for col, src in (
        ("group", "group"),
        ("baseline", "value"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
        ("n", "n"),
    ):
        out[col] = evidence.loc[out["indicator_id"], src].to_numpy()
    out["next_value"] = np.nan
    found = levers(matrix, evidence.reset_index(), codebook)
    out["lever"] = [found.get(i, "") for i in out["initiative_id"]]
    return out[list(KPI_COLUMNS)]


def levers(matrix: PolicyMatrix, evidence: pd.DataFrame, codebook: Codebook) -> dict[str, str]:
    """The lever each 取組 pulls, as the data show it: for each 取組 that serves a 具体像 of a
    現状 with an adjusted association (``statistic: adjusted``), the term and its odds ratio with the
    95% interval, e.g. 「2-(6) 肯定的回答：オッズ比 2.45（1.82–3.30）」 (several joined by 「；」; the
    interval as :func:`~ppp_survey.policy.evidence.evaluate` found it, 「推定できない」 without one).
    取組 without such a 現状 are not in the mapping."""
    matrix = check_codebook(matrix, codebook)  # the terms as keys of this codebook
    found = evidence.set_index("indicator_id")
    out: dict[str, str] = {}
    for x in matrix.initiative_list:
        texts: list[str] = []
        for s in matrix.situation_list:
            if not set(s.goals) & set(x.goals):
                continue
            for ind in s.indicators:
                if ind.statistic != "adjusted" or ind.term is None:
                    continue
                e = found.loc[ind.id]
                value = (
                    odds_ratio_text(e["value"], e["ci_low"], e["ci_high"])
                    if np.isfinite([e["value"], e["ci_low"], e["ci_high"]]).all()
                    else "推定できない"
                )
                text = f"{key_label(codebook, ind.term)}：{value}"
                if text not in texts:
                    texts.append(text)
        if texts:
            out[x.id] = "；".join(texts)
    return out


def _key(ind: Indicator, codebook: Codebook) -> str:
    """The wave comparison's indicator key (ppp_survey.compare.wave.indicator_key), '' where it has none."""
    if ind.in_every:
        return ""
    if ind.statistic == Measure.TOP2:
        return str(IndicatorKey(IndicatorKind.TOP2, ind.question))
    if ind.statistic == "share" and len(ind.codes) == 1:
        return str(IndicatorKey.of_choice(codebook.item(ind.question), ind.codes[0]))
    return ""
