"""Trends as people read them: workbook sheets 経年変化, the published CSVs, the KPI table with a
column per wave, and the list of trend charts.

:mod:`ppp_survey.compare.trend` computes the trend table; this module lays it out for the report
(``python -m ppp_survey.report --history BASELINE …``):

* :func:`trend_tables` — the 全体 and 職域別 tables (``trends_overall.csv``, ``trends_by_group.csv``):
  each wave's estimate and 95% CI, each change (consecutive and first → last) with its p-value and
  verdict, the slope per wave with its interval, p-value and verdict, each wave's base;
* :func:`trend_sheets` — sheets 経年変化（全体）, 経年変化（職域別）, 経年変化の対象外 (and KPIの推移);
* :func:`kpi_trend` — the policy matrix's KPI table with a column per wave and the slope;
* :func:`trend_figure_plan` — a trend line per headline indicator (全体 and the chosen groups), a
  heatmap of its changes by 職域, and for a multi-select question a heatmap of its options
  (``経年_2-06_….png``, ``経年_2-06_…_職域別.png``).

Suppressed groups (below the anonymity threshold in a wave) stay ``x`` in every output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ppp_survey.compare.trend import TrendTable
from ppp_survey.compare.trend_stats import CONSECUTIVE
from ppp_survey.constants import ALL, SUPPRESSED
from ppp_survey.outputs.change_sheets import held_note
from ppp_survey.outputs.trend_charts import plot_trend, plot_trend_heatmap, plot_trend_summary, step_label
from ppp_survey.outputs.xlsx import P_FORMAT, Block, Sheet
from ppp_survey.policy.kpi import kpi_frame
from ppp_survey.spec.codebook import Codebook
from ppp_survey.spec.matrix import PolicyMatrix
from ppp_survey.survey.multiplicity import Adjust
from ppp_survey.text import ROUNDING_NOTE, SIGNED_FORMAT, round_half_up

__all__ = [
    "kpi_trend",
    "kpi_trend_display",
    "trend_figure_name",
    "trend_figure_plan",
    "trend_method_note",
    "trend_sheets",
    "trend_summary",
    "trend_tables",
]

MARK = "x"
SLOPE = "傾き(pt/回)"


def trend_method_note(table: TrendTable) -> str:
    """One paragraph on how the trend was judged."""
    fpc = "有限母集団修正あり" if table.fpc else "有限母集団修正なし（回答を生む過程の変化を問う）"
    adjust = {
        Adjust.NONE: "行ごとに5%水準で判定し、多重比較の調整はしない（変化のない項目の約5%が偶然に有意になる）。",
        Adjust.HOLM: "多重比較：変化の行・傾きの行それぞれの全体についてHolm法で調整したp値（調整後p値）で判定する。",
        Adjust.BH: "多重比較：変化の行・傾きの行それぞれの全体についてBenjamini–Hochberg法で調整したp値（調整後p値）で判定する"
        f"（偽発見率{int(100 * table.alpha)}%）。",
    }[table.adjust]
    return (
        f"{'・'.join(table.waves)}を独立な{len(table.waves)}回の調査として比べた。各回を{table.weighting}で推定し（{fpc}）、"
        "隣り合う回の差と最初→最後の差の標準誤差は√(SE₁²+SE₂²)、両側の正規検定。"
        "傾きは各回の推定値に、各回が代表する職員数で重み付けた最小二乗の直線を当てた1回あたりの変化"
        "（回×職域を層とする積み重ねデータの計画に基づく回帰と同じ推定量）で、分散は各回の分散から求める。"
        f"判定は設問の向き（極性）による：改善／悪化／有意な変化なし、向きのない項目は増加／減少。{adjust}"
        "回答率は全数の計数で、差と傾きは記述的。対応表のすべての回で同じ項目とされた指標だけを追う。"
        f"基準値：{'；'.join(table.baselines)}。"
    )


def _pts(x) -> np.ndarray:
    return round_half_up(100 * np.asarray(x, float))


def _display(table: TrendTable, groups: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The wide table of the rows ``groups`` (trend rows), its suppressed mask and the raw p-values."""
    keys = ["indicator", "group"]
    est = table.estimates.set_index([*keys, "wave"])
    ch = table.changes.set_index([*keys, "step", "to_wave"])
    idx = pd.MultiIndex.from_frame(groups[keys])
    out = {
        "指標": groups["indicator"].to_numpy(),
        "設問": groups["title"].to_numpy(),
        "選択肢": groups["label"].to_numpy(),
        "職域": groups["group"].to_numpy(),
    }
    for w in table.waves:
        e = est.xs(w, level="wave").reindex(idx)
        out[f"{w}(%)"] = _pts(e["estimate"])
        out[f"{w} 95%CI下限"] = _pts(e["ci_low"])
        out[f"{w} 95%CI上限"] = _pts(e["ci_high"])
    pvals: dict[str, np.ndarray] = {}
    steps = table.changes.drop_duplicates(["step", "from_wave", "to_wave"])
    for step, a, b in zip(steps["step"], steps["from_wave"], steps["to_wave"]):
        c = ch.xs((step, b), level=["step", "to_wave"]).reindex(idx)
        name = step_label(step, a, b)
        out[f"{name} 差(pt)"] = _pts(c["difference"])
        out[f"{name} p値"] = round_half_up(c["p_value"].to_numpy(float), 3)
        pvals[f"{name} p値"] = c["p_value"].to_numpy(float)
        if table.adjust != Adjust.NONE:
            out[f"{name} 調整後p値"] = round_half_up(c["p_adjusted"].to_numpy(float), 3)
            pvals[f"{name} 調整後p値"] = c["p_adjusted"].to_numpy(float)
        out[f"{name} 判定"] = c["verdict"].to_numpy()
    out[SLOPE] = _pts(groups["slope"])
    out[f"{SLOPE} 95%CI下限"] = _pts(groups["ci_low"])
    out[f"{SLOPE} 95%CI上限"] = _pts(groups["ci_high"])
    out["傾き p値"] = round_half_up(groups["p_value"].to_numpy(float), 3)
    pvals["傾き p値"] = groups["p_value"].to_numpy(float)
    if table.adjust != Adjust.NONE:
        out["傾き 調整後p値"] = round_half_up(groups["p_adjusted"].to_numpy(float), 3)
        pvals["傾き 調整後p値"] = groups["p_adjusted"].to_numpy(float)
    out["傾き 判定"] = groups["verdict"].to_numpy()
    for w in table.waves:
        e = est.xs(w, level="wave").reindex(idx)
        out[f"基数{w}"] = e["n"].to_numpy()
    display = pd.DataFrame(out)
    held = groups["suppressed"].to_numpy(bool)
    return display, held, pd.DataFrame(pvals)


def _publishable(display: pd.DataFrame, held: np.ndarray, pvals: pd.DataFrame, *, p_text: bool) -> pd.DataFrame:
    """Suppressed rows show x in every value column and 秘匿 as verdicts; p < 0.001 as text for CSVs."""
    out = display.astype(object).copy()
    verdicts = [c for c in out.columns if c.endswith("判定")]
    values = [c for c in out.columns if c not in ("指標", "設問", "選択肢", "職域", *verdicts)]
    out.loc[held, values] = MARK
    out.loc[held, verdicts] = SUPPRESSED
    if p_text:
        for col in pvals.columns:
            out.loc[(pvals[col].to_numpy() < 0.001) & ~held, col] = "<0.001"
    return out


def trend_tables(table: TrendTable, *, p_text: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(全体, 職域別) trend tables for publishing: Japanese headers, % and points rounded half up,
    x where held; p-values under 0.001 as '<0.001' (``p_text=False``: numbers, for a sheet)."""
    tr = table.trends
    parts = []
    for rows in (tr[tr["group"] == ALL], tr[tr["group"] != ALL]):
        display, held, pvals = _display(table, rows.reset_index(drop=True))
        parts.append(_publishable(display, held, pvals, p_text=p_text))
    return parts[0], parts[1]


def _formats(table: pd.DataFrame) -> dict[str, str]:
    formats = {}
    for col in table.columns:
        if col.endswith("(%)") or "95%CI" in col:
            formats[col] = "0.0"
        elif col.endswith("差(pt)") or col == SLOPE:
            formats[col] = SIGNED_FORMAT
        elif col.endswith("p値"):
            formats[col] = P_FORMAT
        elif col.startswith("基数"):
            formats[col] = "#,##0"
    return formats


def trend_sheets(
    table: TrendTable, *, source_note: str, kpi: pd.DataFrame | None = None, codebook: Codebook | None = None
) -> list[Sheet]:
    """Workbook sheets of the trend: 経年変化（全体） (with ``codebook``, the current wave's, the
    headline summary :func:`trend_summary` first), 経年変化（職域別）, 経年変化の対象外, and with
    ``kpi`` (:func:`kpi_trend`) KPIの推移."""
    overall, groups = (t.drop(columns="指標") for t in trend_tables(table, p_text=False))
    notes = (
        source_note or table.note,
        trend_method_note(table),
        held_note(table.min_base),
        ROUNDING_NOTE,
    )
    nf = table.not_followed
    left = pd.DataFrame(
        {
            "対応表": nf["link"].astype(str),
            "項目": nf["item"].astype(str),
            "状態": nf["status"].astype(str),
            "理由": nf["reason"].astype(str),
        }
    )
    span = f"{table.first}～{table.last}"
    blocks = [Block(f"経年変化（全体、{span}）", overall, _formats(overall), notes=notes)]
    if codebook is not None:
        summary = trend_summary(table, codebook)
        blocks.insert(0, Block(f"主な指標の推移（全体、{span}）", summary, _formats(summary)))
    sheets = [
        Sheet("経年変化（全体）", tuple(blocks), widths={1: 30, 2: 40}),
        Sheet(
            "経年変化（職域別）",
            (Block(f"経年変化（職域別、{span}）", groups, _formats(groups), notes=notes),),
            widths={1: 30, 2: 40},
        ),
        Sheet(
            "経年変化の対象外",
            (Block("経年変化で追わなかった項目と理由（対応表による）", left),),
            widths={2: 16, 4: 60},
        ),
    ]
    if kpi is not None:
        shown = kpi_trend_display(kpi, table)
        sheets.append(
            Sheet(
                "KPIの推移",
                (Block(f"KPIの推移（全体、{span}）", shown, _formats(shown), notes=notes[:2]),),
                widths={2: 40, 3: 40},
            )
        )
    return sheets


# ------------------------------------------------------------------------------------------ KPI


def kpi_trend(matrix: PolicyMatrix, table: TrendTable, codebook: Codebook) -> pd.DataFrame:
    """The policy matrix's KPI rows (:func:`~ppp_survey.policy.kpi.kpi_frame` on ``codebook``, the
    codebook of the wave the matrix is written for: its keys are looked up in every wave's keys)
    with each wave's 全体 value, the slope per wave, its p-value and verdict. Indicators the trend
    does not follow (by-職域 rules, associations, means, items not in every wave) stay blank with
    the verdict 比較対象外."""
    out = kpi_frame(matrix, codebook)
    est = table.estimates[table.estimates["group"] == ALL]
    tr = table.trends[table.trends["group"] == ALL].set_index("indicator")
    key_of = dict(zip(est["indicator_wave"], est["indicator"]))
    current = [key_of.get(k) if k else None for k in out["indicator_key"]]
    values = est.set_index(["indicator", "wave"])
    for w in table.waves:
        out[w] = [float(values.loc[(k, w), "estimate"]) if k is not None else np.nan for k in current]
    for col in ("slope", "p_value"):
        out[col] = [float(tr.loc[k, col]) if k is not None else np.nan for k in current]
    out["verdict"] = [str(tr.loc[k, "verdict"]) if k is not None else "比較対象外" for k in current]
    return out


def kpi_trend_display(kpi: pd.DataFrame, table: TrendTable) -> pd.DataFrame:
    """The KPI table with a column per wave (%), the slope (points per wave), its p-value and verdict."""
    out = pd.DataFrame(
        {
            "取組ID": kpi["initiative_id"].to_numpy(),
            "具体的な取組": kpi["取組"].to_numpy(),
            "調査指標": kpi["indicator"].to_numpy(),
            "比較キー": kpi["indicator_key"].to_numpy(),
        }
    )
    for w in table.waves:
        out[f"{w}(%)"] = _pts(kpi[w])
    out[SLOPE] = _pts(kpi["slope"])
    out["傾き p値"] = round_half_up(kpi["p_value"].to_numpy(float), 3)
    out["傾き 判定"] = kpi["verdict"].to_numpy()
    return out


# ------------------------------------------------------------------------------------- figures


def trend_figure_name(chart_name: str) -> str:
    """``2-06_….png`` → ``経年_2-06_….png``."""
    return f"経年_{chart_name}"


def headline(table: TrendTable, codebook: Codebook) -> dict[str, str]:
    """``{question: indicator}`` drawn as a line: the top-2 box of a scale, the top-scored choice of
    another single-answer question (its first choice without scores); multi-select questions have none."""
    out = {}
    keys = set(table.trends["indicator"])
    for q in dict.fromkeys(table.trends["question"]):
        if not q:
            continue
        item = codebook.item(q)
        if item.is_multi:
            continue
        if f"{q}:top2" in keys:
            out[q] = f"{q}:top2"
            continue
        scored = [c for c in item.choices if c.score is not None]
        choice = max(scored, key=lambda c: float(c.score or 0)) if scored else item.choices[0]
        if f"{q}:choice:{choice.code}" in keys:
            out[q] = f"{q}:choice:{choice.code}"
    return out


def headline_labels(table: TrendTable, codebook: Codebook) -> dict[str, str]:
    """``{indicator: "2-(6) 肯定的回答（上位2区分）"}`` of the headline indicators (:func:`headline`)."""
    est = table.estimates.drop_duplicates("indicator").set_index("indicator")
    return {
        key: " ".join(filter(None, [codebook.item(q).number, str(est.loc[key, "label"])]))
        for q, key in headline(table, codebook).items()
    }


def trend_summary(table: TrendTable, codebook: Codebook) -> pd.DataFrame:
    """The headline indicators of 全体 in one small table (for the committee paper or a slide):
    指標, each wave's % , the slope (points per wave) and its verdict; held values x."""
    tr = table.trends[table.trends["group"] == ALL].set_index("indicator")
    est = table.estimates[table.estimates["group"] == ALL].set_index(["indicator", "wave"])
    rows = []
    for key, label in headline_labels(table, codebook).items():
        row: dict[str, object] = {"設問": est.loc[(key, table.last), "title"], "指標": label}
        for w in table.waves:
            v = est.loc[(key, w)]
            row[f"{w}(%)"] = MARK if v["suppressed"] else float(round_half_up(100 * float(v["estimate"])))
        held = bool(tr.loc[key, "suppressed"])
        row[SLOPE] = MARK if held else float(round_half_up(100 * float(tr.loc[key, "slope"])))
        row["判定"] = tr.loc[key, "verdict"]
        rows.append(row)
    return pd.DataFrame(rows)


def trend_figure_plan(
    table: TrendTable,
    codebook: Codebook,
    name_of: Callable,
    *,
    note: str = "",
    groups: Sequence[str] = (ALL,),
) -> list[tuple[str, Callable]]:
    """(file name, draw function) for every trend chart: the response rate's line; per single-answer
    question its headline indicator's line (``groups``: 全体 and the groups asked for) and the heatmap
    of its changes by 職域; per multi-select question the heatmap of its options' changes (全体).
    ``codebook`` is the current wave's; ``name_of(item, suffix)`` names the question's own chart."""
    plan: list[tuple[str, Callable]] = [
        (trend_figure_name("2-00_職域別回答率.png"), lambda: plot_trend(table, "rate", note=note)),
    ]
    lines = headline(table, codebook)
    plan.append(
        (trend_figure_name("概要.png"), lambda: plot_trend_summary(table, headline_labels(table, codebook), note=note))
    )
    by = f"_{codebook.stratum.label}別"
    for q in dict.fromkeys(table.trends["question"]):
        if not q:
            continue
        item = codebook.item(q)
        if q in lines:
            key = lines[q]
            plan.append(
                (trend_figure_name(name_of(item)), lambda k=key: plot_trend(table, k, groups=list(groups), note=note))
            )
            plan.append(
                (trend_figure_name(name_of(item, by)), lambda k=key: plot_trend_heatmap(table, indicator=k, note=note))
            )
        else:
            plan.append(
                (trend_figure_name(name_of(item)), lambda q=q: plot_trend_heatmap(table, question=q, note=note))
            )
    return plan


def consecutive_steps(table: TrendTable) -> list[str]:
    """The names of the consecutive changes (``R7→R8``, ``R8→R9``)."""
    ch = table.changes[table.changes["step"] == CONSECUTIVE].drop_duplicates(["from_wave", "to_wave"])
    return [step_label(CONSECUTIVE, a, b) for a, b in zip(ch["from_wave"], ch["to_wave"])]
