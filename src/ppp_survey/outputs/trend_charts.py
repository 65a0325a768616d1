"""Trend charts: a line per indicator over the waves with its 95% band, and heatmaps of the changes.

They draw the trend table of :func:`ppp_survey.compare.trend.trend`; nothing here estimates. Every
chart names its base (n per wave), what its numbers are and the source note, and labels the waves as
their codebooks name them (``R7``, ``R8``, … with the month each was fielded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ppp_survey.compare.changes import DECREASED, IMPROVED, INCREASED, WORSENED
from ppp_survey.compare.trend import TrendTable
from ppp_survey.compare.trend_stats import FIRST_LAST
from ppp_survey.constants import ALL, SUPPRESSED
from ppp_survey.spec.codebook import Polarity
from ppp_survey.text import p_text, signed, wrap_ja

if TYPE_CHECKING:  # annotations only
    from matplotlib.axes import Axes

__all__ = ["plot_trend", "plot_trend_heatmap", "plot_trend_summary", "step_label", "trend_grid", "wave_ticks"]

LINE_COLORS = ("#1f5f99", "#c4532b", "#3a8a3a", "#7b4f9e", "#b8860b", "#555555")
SIGNIFICANT = (IMPROVED, WORSENED, INCREASED, DECREASED)
SLOPE = "傾き（1回あたり）"


def wave_ticks(table: TrendTable) -> list[str]:
    """Each wave's name and when it was fielded, as the x axis shows them: ``R7\\n2025年7月``."""
    out = []
    for wave, period in zip(table.waves, table.periods):
        year, month = period.split("-")
        out.append(f"{wave}\n{int(year)}年{int(month)}月")
    return out


def step_label(step: str, from_wave: str, to_wave: str) -> str:
    """A change's column name: ``R7→R8``; first → last ``R7→R9（全期間）``."""
    return f"{from_wave}→{to_wave}" + ("（全期間）" if step == FIRST_LAST else "")


def plot_trend(
    table: TrendTable,
    indicator: str,
    *,
    groups: list[str] | tuple[str, ...] = (ALL,),
    ax=None,
    title: str | None = None,
    note: str = "",
) -> Axes:
    """One indicator over the waves: a line per group (全体 and the groups asked for), each wave's
    estimate with its 95% confidence band, the value at each point; the footer gives each wave's base,
    the slope per wave with its p-value and verdict, and the source note. Suppressed values are
    left out (a gap). Returns the Axes."""
    import matplotlib.pyplot as plt

    from ppp_survey.outputs.chart_layout import PAGE_WIDTH_IN, SMALL_PT, add_footer, fit_height

    est = table.estimates[table.estimates["indicator"] == indicator]
    if est.empty:
        raise ValueError(f"indicator {indicator!r} is not in the trend table")
    own = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 3.2))
        fig.subplots_adjust(left=0.09, right=0.80)
    fig = ax.figure
    x = np.arange(len(table.waves))
    trends = table.trends[table.trends["indicator"] == indicator].set_index("group")
    lines, bases = [], []
    for i, group in enumerate(groups):
        part = est[est["group"] == group].sort_values("position")
        if part.empty:
            continue
        color = LINE_COLORS[i % len(LINE_COLORS)]
        y = 100 * part["estimate"].to_numpy(float)
        low, high = 100 * part["ci_low"].to_numpy(float), 100 * part["ci_high"].to_numpy(float)
        ax.fill_between(x, low, high, color=color, alpha=0.15, lw=0)
        ax.plot(x, y, color=color, marker="o", lw=2, ms=5, label=group)
        for xi, yi in zip(x, y):
            if np.isfinite(yi):
                ax.annotate(
                    f"{yi:.1f}",
                    (xi, yi),
                    textcoords="offset points",
                    xytext=(0, 6 if i % 2 == 0 else -13),
                    ha="center",
                    fontsize=SMALL_PT,
                    color=color,
                )
        row = trends.loc[group] if group in trends.index else None
        if row is not None:
            lines.append(_slope_text(group, row))
        n = [f"{w} {int(v):,}" if not h else f"{w} x" for w, v, h in zip(part["wave"], part["n"], part["suppressed"])]
        bases.append(f"{group}: " + "／".join(n))
    first = est.iloc[0]
    ax.set_xticks(x, wave_ticks(table))
    ax.set_xlim(-0.4, len(x) - 0.6)
    ax.set_ylim(0, 100)
    ax.set_ylabel("推定割合（%）")
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=SMALL_PT)
    ax.set_title(title or f"{first['title']}：{_wrap(first['label'], 30)}（{table.first}～{table.last}）", pad=8)
    what = "rate" == first["kind"]
    numbers = (
        "数値は回答率（回答者数／職員数、%）：全数の計数のため帯はなく、傾きは記述的"
        if what
        else f"数値は各回の職員全体の推定値（{table.weighting}、%）、帯は95%信頼区間"
        f"（{'有限母集団修正あり' if table.fpc else '有限母集団修正なし'}）"
    )
    base = "\n".join(
        ["n（回答者数）= " + "　".join(bases) if not what else "n（職員数）= " + "　".join(bases), numbers, *lines]
    )
    add_footer(fig, base=base, note=note or table.note)
    if own:
        fit_height(ax, axes_height=2.3)
    return ax


def plot_trend_summary(
    table: TrendTable, lines: dict[str, str], *, ax=None, title: str | None = None, note: str = "", bare: bool = False
) -> Axes:
    """The headline indicators of 全体 on one chart (a page's or a slide's summary): ``lines`` maps an
    indicator to its legend label (e.g. ``{"q6:top2": "2-(6) 肯定的回答"}``); each line with its 95%
    band, the slope and verdict in the legend, each wave's base in the footer. ``bare``: no title and
    no footer (the committee paper's page says them, :func:`trend_summary_notes`). Returns the Axes."""
    import matplotlib.pyplot as plt

    from ppp_survey.outputs.chart_layout import PAGE_WIDTH_IN, SMALL_PT, add_footer, fit_height

    own = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 3.4))
        fig.subplots_adjust(left=0.09, right=0.62)
    fig = ax.figure
    x = np.arange(len(table.waves))
    est = table.estimates[table.estimates["group"] == ALL]
    trends = table.trends[table.trends["group"] == ALL].set_index("indicator")
    bases = []
    for i, (key, label) in enumerate(lines.items()):
        part = est[est["indicator"] == key].sort_values("position")
        if part.empty:
            continue
        color = LINE_COLORS[i % len(LINE_COLORS)]
        ax.fill_between(
            x,
            100 * part["ci_low"].to_numpy(float),
            100 * part["ci_high"].to_numpy(float),
            color=color,
            alpha=0.12,
            lw=0,
        )
        row = trends.loc[key]
        slope = f"{signed(100 * float(row['slope']))}pt／回、{row['verdict']}"
        ax.plot(
            x,
            100 * part["estimate"].to_numpy(float),
            color=color,
            marker="o",
            lw=2,
            ms=4,
            label=f"{_wrap(label, 16)}\n（{slope}）",
        )
        bases.append(f"{label.split(' ')[0]} " + "／".join(f"{int(v):,}" for v in part["n"]))
    ax.set_xticks(x, wave_ticks(table))
    ax.set_xlim(-0.3, len(x) - 0.7)
    ax.set_ylim(0, 100)
    ax.set_ylabel("推定割合（%）")
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=SMALL_PT, labelspacing=0.9)
    if bare:
        return ax
    ax.set_title(title or f"主な指標の推移（全体、{table.first}～{table.last}）", pad=8)
    add_footer(fig, base="\n".join(trend_summary_notes(table, bases)), note=note or table.note)
    if own:
        fit_height(ax, axes_height=2.4)
    return ax


def trend_summary_notes(table: TrendTable, bases: list[str]) -> list[str]:
    """The summary chart's footer lines: each headline indicator's base per wave, what the numbers are."""
    return [
        f"n（回答者数、{'／'.join(table.waves)}）: " + "　".join(bases),
        f"数値は各回の職員全体の推定値（{table.weighting}、%）、帯は95%信頼区間。"
        "傾きは1回あたりの変化（5%水準の検定による判定）",
    ]


def summary_bases(table: TrendTable, lines: dict[str, str]) -> list[str]:
    """Each headline indicator's base per wave, as the summary chart's footer names them."""
    est = table.estimates[table.estimates["group"] == ALL]
    out = []
    for key, label in lines.items():
        part = est[est["indicator"] == key].sort_values("position")
        if not part.empty:
            out.append(f"{label.split(' ')[0]} " + "／".join(f"{int(v):,}" for v in part["n"]))
    return out


def _slope_text(group: str, row: pd.Series) -> str:
    if row["verdict"] == SUPPRESSED:
        return f"{group}の傾き: x（秘匿）"
    slope = f"{signed(100 * float(row['slope']))}pt／回"
    if not np.isfinite(float(row["p_value"])):
        return f"{group}の{SLOPE}: {slope}（{row['verdict']}）"
    return f"{group}の{SLOPE}: {slope}（{p_text(float(row['p_value']))}、{row['verdict']}）"


def trend_grid(
    table: TrendTable, *, indicator: str | None = None, question: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str], list[str], list[str]]:
    """The heatmap's grid: rows are the groups of one ``indicator`` (全体 first), or the indicators
    of one ``question`` in 全体; columns each step's change and the slope (points). Returns
    ``(values, improvement, marks, rows, columns, bases)``: ``improvement`` is the value signed so
    that positive is better (0 for items without a direction), ``marks`` ↑/↓ a significant rise/fall,
    x suppressed."""
    ch, tr = table.changes, table.trends
    if indicator is not None:
        ch, tr = ch[ch["indicator"] == indicator], tr[tr["indicator"] == indicator]
        row_of = "group"
    else:
        ch = ch[(ch["question"].replace("", "rate") == question) & (ch["group"] == ALL)]
        tr = tr[(tr["question"].replace("", "rate") == question) & (tr["group"] == ALL)]
        row_of = "label"
    steps = ch.assign(column=[step_label(s, a, b) for s, a, b in zip(ch["step"], ch["from_wave"], ch["to_wave"])])
    long = pd.concat(
        [
            steps[[row_of, "column", "difference", "verdict", "direction"]].rename(columns={"difference": "value"}),
            tr.assign(column=SLOPE)[[row_of, "column", "slope", "verdict", "direction"]].rename(
                columns={"slope": "value"}
            ),
        ],
        ignore_index=True,
    )
    sign = long["direction"].map({Polarity.HIGHER_IS_BETTER: 1.0, Polarity.HIGHER_IS_WORSE: -1.0}).fillna(0.0)
    long = long.assign(
        pt=100 * long["value"].astype(float),
        better=100 * long["value"].astype(float) * sign,
        mark=[_mark(v, d) for v, d in zip(long["verdict"], long["value"].astype(float))],
    )
    rows = list(dict.fromkeys(long[row_of]))
    columns = list(dict.fromkeys(long["column"]))
    grid = {
        c: long.pivot(index=row_of, columns="column", values=c).reindex(index=rows, columns=columns)
        for c in ("pt", "better", "mark")
    }
    est = table.estimates
    est = (
        est[est["indicator"] == indicator]
        if indicator is not None
        else est[est["indicator"].isin(tr["indicator"]) & (est["group"] == ALL)]
    )
    bases = []
    for r in rows:
        part = est[est[row_of] == r].sort_values("position")
        bases.append("→".join("x" if h else f"{int(v):,}" for v, h in zip(part["n"], part["suppressed"])))
    return grid["pt"], grid["better"], grid["mark"].fillna(""), rows, columns, bases


def _mark(verdict: str, value: float) -> str:
    if verdict == SUPPRESSED:
        return "x"
    if verdict in SIGNIFICANT:
        return "↑" if value > 0 else "↓"
    return ""


def plot_trend_heatmap(
    table: TrendTable,
    *,
    indicator: str | None = None,
    question: str | None = None,
    ax=None,
    title: str | None = None,
    note: str = "",
) -> Axes:
    """Changes across the waves as a heatmap: for one ``indicator`` by group (rows 全体 and each 職域),
    or for the indicators of one ``question`` (全体); columns each consecutive change, first → last and
    the slope per wave (points). Colour: blue better, red worse (uncoloured without a direction);
    ↑/↓ significant at 5%; x 秘匿. Returns the Axes."""
    from ppp_survey.outputs.heatmaps import grid_chart

    if (indicator is None) == (question is None):
        raise ValueError("give either indicator= or question=")
    pt, better, marks, rows, columns, bases = trend_grid(table, indicator=indicator, question=question)
    text = np.vectorize(lambda v, m: "x" if m == "x" else ("-" if not np.isfinite(v) else f"{signed(v)}{m}"))(
        pt.to_numpy(float), marks.to_numpy(object)
    )
    values = better.to_numpy(float)
    limit = max(5.0, float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 5.0)
    est = table.estimates
    head = est[est["indicator"] == indicator].iloc[0] if indicator is not None else None
    if title is None:
        if head is not None:
            title = f"{head['title']}：{head['label']}の変化（{table.first}～{table.last}、職域別、ポイント）"
        else:
            title = f"{est[est['question'].replace('', 'rate') == question]['title'].iloc[0]}：{table.first}～{table.last}の変化（全体、ポイント）"
    key = (
        "数値は差（ポイント、職員全体の推定値どうし）と傾き（1回あたりのポイント）。"
        "色: 青=改善方向、赤=悪化方向（方向のない項目は無色）。↑上昇 ↓低下（5%水準で有意）。"
        + ("x: 秘匿" if (marks.to_numpy(object) == "x").any() else "")
    )
    if indicator is not None:  # 職域 as columns (全体 first, set apart), their bases under the headers
        return grid_chart(
            values.T,
            text.T,
            rows=columns,
            columns=rows,
            notes=[b.rsplit("→", 1)[-1] for b in bases],
            vmin=-limit,
            vmax=limit,
            cmap="RdBu",
            title=title,
            footer=f"列見出しの下は{table.last}の基数 n（各回の基数は集計表「経年変化」に記載）。{key}",
            note=note or table.note,
            first_apart=bool(rows) and rows[0] == ALL,
            ax=ax,
        )
    return grid_chart(
        values,
        text,
        rows=[_wrap(r, 18) for r in rows],
        columns=columns,
        notes=["" for _ in columns],
        vmin=-limit,
        vmax=limit,
        cmap="RdBu",
        title=title,
        footer=f"基数 n（全体、{'→'.join(table.waves)}）: {bases[0] if bases else ''}。{key}",
        note=note or table.note,
        ax=ax,
    )


def _wrap(label: str, width: int = 22) -> str:
    return wrap_ja(str(label), width)
