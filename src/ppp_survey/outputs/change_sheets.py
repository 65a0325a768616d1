"""The wave comparison as people read it: Excel sheets, charts and the KPI table's next-year column.

:mod:`ppp_survey.compare` computes the change table; this module lays it out for the report
(``python -m ppp_survey.report --compare BASELINE``):

* :func:`change_sheets` — workbook sheets 変化（全体）, 変化（職域別）, 比較対象外;
* :func:`change_figure_plan` — a dumbbell chart per question (全体) and a heatmap of the changes by
  職域, named after the question's chart (``変化_2-06_….png``, ``変化_2-06_…_職域別.png``);
* :func:`kpi_progress` — the policy matrix's KPI table with the baseline taken from the frozen
  baseline and the next-year column filled from the new wave.

Suppressed groups (below the anonymity threshold in either wave) stay ``x`` in every output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ppp_survey.compare.baseline import Baseline
from ppp_survey.compare.changes import SUPPRESSED, ChangeTable
from ppp_survey.constants import ALL
from ppp_survey.outputs.change_charts import (
    change_charts,
    display_changes,
    plot_change_heatmap,
    plot_dumbbell,
)
from ppp_survey.outputs.xlsx import P_FORMAT, Block, Sheet
from ppp_survey.policy.kpi import kpi_frame
from ppp_survey.spec.codebook import Codebook
from ppp_survey.spec.matrix import PolicyMatrix
from ppp_survey.survey.multiplicity import Adjust
from ppp_survey.text import ROUNDING_NOTE, SIGNED_FORMAT, reference_note

if TYPE_CHECKING:  # annotations only
    from matplotlib.axes import Axes

SUPPRESSED_MARK = "x"


def method_note(changes: ChangeTable) -> str:
    """One paragraph on how the changes were judged."""
    fpc = (
        "各回とも有限母集団修正あり（その年の職員全体の値を比べる）"
        if changes.fpc
        else "有限母集団修正なし（回答を生む過程の変化を問う超母集団の推測）"
    )
    return (
        f"{changes.baseline_wave}と{changes.wave}を独立な2回の調査として比較した。"
        f"各回を{changes.weighting}で推定し（{fpc}）、差の標準誤差は√(SE₁²+SE₂²)。"
        f"判定は{int(100 * changes.alpha)}%水準の両側検定と設問の向き（極性）による：改善／悪化／有意な変化なし、"
        f"向きのない項目は増加／減少。MDDは検出力80%で見つけられる最小の差。{_adjust_text(changes)}"
        "回答率は全数の計数で、差は記述的。"
        f"基準値：{changes.baseline_description}。"
    )


def _change_formats(table: pd.DataFrame) -> dict[str, str]:
    """Excel formats of a change table's number columns: % and points with one decimal (87.0, not
    87), the difference signed, p-values with three decimals or <0.001, bases whole."""
    formats = {}
    for col in table.columns:
        if col.endswith("(%)") or col.startswith("95%CI") or col == "MDD(pt)":
            formats[col] = "0.0"
        elif col == "差(pt)":
            formats[col] = SIGNED_FORMAT
        elif col in ("p値", "調整後p値"):
            formats[col] = P_FORMAT
        elif col.startswith("基数"):
            formats[col] = "#,##0"
    return formats


def _adjust_text(changes: ChangeTable) -> str:
    if changes.adjust == Adjust.BH:
        tested = int(np.isfinite(changes.rows["p_adjusted"].to_numpy(float)).sum())
        return (
            f"多重比較：検定した{tested}行すべてについてBenjamini–Hochberg法で調整したp値（調整後p値）で判定する"
            f"（偽発見率{int(100 * changes.alpha)}%）。"
        )
    return "指標ごとに検定しており多重比較の調整はしない（変化のない項目の約5%が偶然に有意になる）。"


def _publishable(display: pd.DataFrame, rows: pd.DataFrame, *, p_text: bool = True) -> pd.DataFrame:
    """Suppressed rows: every value column shows x (never 0 or blank)."""
    held = rows["suppressed"].to_numpy(bool)
    out = display.astype(object).copy()
    values = [c for c in out.columns if c not in ("指標", "設問", "選択肢", "職域", "判定")]
    out.loc[held, values] = SUPPRESSED_MARK
    out.loc[held, "判定"] = SUPPRESSED
    if not p_text:
        return out
    out.loc[(rows["p_value"] < 0.001).to_numpy() & ~held, "p値"] = "<0.001"
    if "調整後p値" in out.columns:
        out.loc[(rows["p_adjusted"] < 0.001).to_numpy() & ~held, "調整後p値"] = "<0.001"
    return out


def change_tables(changes: ChangeTable, *, p_text: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(全体, 職域別) change tables for publishing: Japanese headers, % rounded half up, x where held;
    p-values under 0.001 as the text '<0.001' (``p_text=False``: numbers, for a sheet that formats them)."""
    rows = changes.rows
    overall = rows[rows["group"] == ALL]
    groups = rows[rows["group"] != ALL]
    return (
        _publishable(display_changes(changes.with_rows(overall), group=None), overall, p_text=p_text),
        _publishable(display_changes(changes.with_rows(groups), group=None), groups, p_text=p_text),
    )


def held_note(min_base: int) -> str:
    """The note on x and 参考値 under every table that sets waves side by side."""
    return f"x: 匿名性のため秘匿（いずれかの回で基数が閾値未満）。{reference_note(min_base)}。"


def change_sheets(changes: ChangeTable, *, source_note: str) -> list[Sheet]:
    """Workbook sheets of the comparison: 変化（全体）, 変化（職域別）, 比較対象外."""
    # people read the sheets: the question and choice name the row (the CSVs keep the 指標 key for joining)
    overall, groups = (t.drop(columns="指標") for t in change_tables(changes, p_text=False))
    notes = (
        source_note,
        method_note(changes),
        held_note(changes.min_base),
        ROUNDING_NOTE,
    )
    not_compared = changes.not_compared
    nc = pd.DataFrame(
        {
            "項目": not_compared["item"].astype(str),
            "基準": not_compared["old"].astype(str),
            "今回": not_compared["new"].astype(str),
            "状態": not_compared["status"].astype(str),
            "理由": not_compared["reason"].astype(str),
        }
    )
    formats = _change_formats(overall)
    return [
        Sheet("変化（全体）", (Block("経年変化（全体）", overall, formats, notes=notes),), widths={1: 30, 2: 40}),
        Sheet("変化（職域別）", (Block("経年変化（職域別）", groups, formats, notes=notes),), widths={1: 30, 2: 40}),
        Sheet(
            "比較対象外", (Block("比較しなかった項目と理由（マッピングファイルによる）", nc),), widths={1: 16, 5: 60}
        ),
    ]


def kpi_progress(
    matrix: PolicyMatrix, baseline: Baseline, changes: ChangeTable, *, levers: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The KPI table of the baseline's matrix with next year's value beside the baseline.

    Rows come from :func:`ppp_survey.policy.evidence.kpi_frame` on the baseline's codebook. Indicators with
    a comparison key (shares and top-2 boxes over 全体) take their baseline value, CI and base from
    the frozen baseline and ``next_value``, ``difference``, ``p_value`` and ``verdict`` from the
    change table; the others (by-職域 rules, associations, means) stay blank with the verdict
    比較対象外. ``levers`` (:func:`ppp_survey.policy.kpi.levers` of this wave's evidence) fills the
    column ``lever`` (「てこ（関連要因）」); without it the column is empty.
    """
    out = kpi_frame(matrix, baseline.codebook)
    base = baseline.indicators[baseline.indicators["group"] == ALL].set_index("indicator")
    new = changes.rows[changes.rows["group"] == ALL].set_index("indicator_base")
    cols: dict[str, list[float | str]] = {
        "group": [],
        "baseline": [],
        "ci_low": [],
        "ci_high": [],
        "n": [],
        "next_value": [],
        "difference": [],
        "p_value": [],
        "verdict": [],
    }
    for key in out["indicator_key"]:
        b = base.loc[key] if key and key in base.index else None
        c = new.loc[key] if key and key in new.index else None
        held = c is not None and bool(c["suppressed"])
        cols["group"].append(ALL)
        cols["baseline"].append(float(b["estimate"]) if b is not None and not held else np.nan)
        cols["ci_low"].append(float(b["ci_low"]) if b is not None and not held else np.nan)
        cols["ci_high"].append(float(b["ci_high"]) if b is not None and not held else np.nan)
        cols["n"].append(float(b["base_n"]) if b is not None else np.nan)
        for col, src in (("next_value", "estimate_new"), ("difference", "difference"), ("p_value", "p_value")):
            cols[col].append(float(c[src]) if c is not None and not held else np.nan)
        cols["verdict"].append(str(c["verdict"]) if c is not None else "比較対象外")
    for col, values in cols.items():
        out[col] = values
    out["lever"] = [(levers or {}).get(i, "") for i in out["initiative_id"]]
    return out


def change_figure_name(chart_name: str) -> str:
    """``2-06_….png`` → ``変化_2-06_….png``."""
    return f"変化_{chart_name}"


def change_figure_plan(
    changes: ChangeTable, codebook: Codebook, name_of: Callable, *, note: str
) -> list[tuple[str, Callable]]:
    """(file name, draw function) for every change chart: a dumbbell per question (全体) and a
    heatmap by 職域; ``name_of(item, suffix)`` names the question's own chart (report.figure_name)."""
    plan: list[tuple[str, Callable]] = []
    charts = change_charts(changes)
    by = f"_{codebook.stratum.label}別"
    for q in charts:
        if q == "rate":
            plan.append((change_figure_name("2-00_職域別回答率.png"), lambda: plot_rate_change(changes, note=note)))
            continue
        item = codebook.item(q)
        plan.append((change_figure_name(name_of(item)), lambda q=q: plot_dumbbell(changes, q, note=note)))
        plan.append((change_figure_name(name_of(item, by)), lambda q=q: plot_change_heatmap(changes, q, note=note)))
    return plan


def plot_rate_change(changes: ChangeTable, *, note: str = "") -> Axes:
    """Response rates of both waves by 職域 as a dumbbell chart (one row per group, 全体 first).

    Rates are census counts of the frame, so the differences are descriptive (no test).
    """
    rows = changes.rows[changes.rows["kind"] == "rate"]
    table = changes.with_rows(rows.assign(label=rows["group"].astype(str), group=ALL, question="rate_by_group"))
    title = f"回答率：{changes.baseline_wave}→{changes.wave}（職域別）"
    total = rows[rows["group"] == ALL]
    counts = ""
    if len(total):
        t = total.iloc[0]
        counts = f"全体の職員数 {int(t['n_base']):,}→{int(t['n_new']):,}人。"
    return plot_dumbbell(
        table,
        "rate_by_group",
        title=title,
        note=note,
        xlabel="回答率（%）",
        base=f"{counts}回答率＝回答者数／職員数（全数の計数のため差は記述的で、検定はしない）",
    )
