"""Change tables for people and change charts: a dumbbell per question and a heatmap by 職域.

They draw the change table of :func:`ppp_survey.compare.changes.compare`; nothing here estimates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ppp_survey.compare.changes import (
    DECREASED,
    IMPROVED,
    INCREASED,
    WORSENED,
    ChangeTable,
)
from ppp_survey.constants import ALL, SUPPRESSED
from ppp_survey.spec.codebook import Polarity
from ppp_survey.text import reference_note, reference_verdict, round_half_up, signed, wrap_ja

if TYPE_CHECKING:  # annotations only
    from matplotlib.axes import Axes


def display_changes(changes: ChangeTable, *, group: str | None = ALL) -> pd.DataFrame:
    """The change table as people read it: % and points rounded half up, Japanese headers."""
    rows = changes.rows
    t = rows if group is None else rows[rows["group"] == group]
    base, new = changes.baseline_wave, changes.wave

    def pts(x) -> np.ndarray:
        return round_half_up(100 * np.asarray(x, float))

    adjusted = {"調整後p値": round_half_up(t["p_adjusted"].to_numpy(float), 3)} if "p_adjusted" in t else {}
    return pd.DataFrame(
        {
            "指標": t["indicator"].to_numpy(),
            "設問": t["title"].to_numpy(),
            "選択肢": t["label"].to_numpy(),
            "職域": t["group"].to_numpy(),
            f"{base}(%)": pts(t["estimate_base"]),
            f"{new}(%)": pts(t["estimate_new"]),
            "差(pt)": pts(t["difference"]),
            "95%CI下限": pts(t["ci_low"]),
            "95%CI上限": pts(t["ci_high"]),
            "p値": round_half_up(t["p_value"].to_numpy(float), 3),
            **adjusted,
            "MDD(pt)": pts(t["mdd"]),
            "判定": t["verdict"].to_numpy(),
            f"基数{base}": t["n_base"].to_numpy(),
            f"基数{new}": t["n_new"].to_numpy(),
        }
    )


# ------------------------------------------------------------------------------------ charts

VERDICT_COLORS = {IMPROVED: "#1f5f99", WORSENED: "#c4532b", INCREASED: "#555555", DECREASED: "#555555"}
BASE_COLOR, NEW_COLOR, NEUTRAL_COLOR = "#9e9e9e", "#1f5f99", "#bdbdbd"


@dataclass(frozen=True)
class ChangeChart:
    """What the charts of one question need: ``dumbbell`` (全体: one row per indicator with both
    estimates, difference and verdict), ``heatmap`` (differences in points, groups × indicators),
    ``marks`` (↑/↓ a significant rise/fall, x 秘匿) and ``improvement`` (the difference signed so that
    positive is better, 0 for items without a direction: the heatmap's colour)."""

    question: str
    title: str
    dumbbell: pd.DataFrame
    heatmap: pd.DataFrame
    marks: pd.DataFrame
    improvement: pd.DataFrame


def change_charts(changes: ChangeTable) -> dict[str, ChangeChart]:
    """Per question (and ``"rate"``), the tables a dumbbell chart and a heatmap by 職域 draw."""
    out = {}
    rows = changes.rows
    for q, t in rows.groupby(rows["question"].replace("", "rate"), sort=False):
        overall = t[t["group"] == ALL]
        dumbbell = overall[
            [
                "indicator",
                "label",
                "kind",
                "direction",
                "estimate_base",
                "estimate_new",
                "difference",
                "ci_low",
                "ci_high",
                "p_value",
                "mdd",
                "verdict",
                "suppressed",
            ]
        ].reset_index(drop=True)
        order_g = list(dict.fromkeys(t["group"]))
        order_i = list(dict.fromkeys(t["label"]))
        sign = t["direction"].map({Polarity.HIGHER_IS_BETTER: 1.0, Polarity.HIGHER_IS_WORSE: -1.0}).fillna(0.0)
        frame = t.assign(
            pt=100 * t["difference"],
            better=100 * t["difference"] * sign,
            mark=[_mark(v, d) for v, d in zip(t["verdict"], t["difference"])],
        )
        grid = {
            c: frame.pivot(index="group", columns="label", values=c).reindex(index=order_g, columns=order_i)
            for c in ("pt", "mark", "better")
        }
        out[q] = ChangeChart(
            question=q,
            title=str(t["title"].iloc[0]),
            dumbbell=dumbbell,
            heatmap=grid["pt"],
            marks=grid["mark"].fillna(""),
            improvement=grid["better"],
        )
    return out


def _mark(verdict: str, difference: float) -> str:
    """The arrow shows the sign of a significant change (↑ up, ↓ down); the colour shows whether
    that is better or worse. x: suppressed."""
    if verdict == SUPPRESSED:
        return "x"
    if verdict in (IMPROVED, WORSENED, INCREASED, DECREASED):
        return "↑" if difference > 0 else "↓"
    return ""


def plot_dumbbell(
    changes: ChangeTable,
    question: str,
    *,
    group: str = ALL,
    ax=None,
    title: str | None = None,
    note: str = "",
    xlabel: str = "推定割合（%）",
    base: str | None = None,
) -> Axes:
    """Both waves' estimates of one question's indicators as a dumbbell chart (one row per indicator).

    Grey dot: baseline; blue dot: new wave; the connecting line is coloured by the verdict (blue 改善,
    red 悪化, grey otherwise), and the difference in points is written at the right (* p < alpha).
    ``changes`` is :func:`compare`'s table; returns the Axes. ``xlabel`` and ``base`` (the footer's
    first line) replace the defaults for charts that are not estimates (response rates).
    """
    import matplotlib.pyplot as plt

    from ppp_survey.outputs.chart_layout import PAGE_WIDTH_IN, SMALL_PT, add_footer, fit_height, fit_left_margin

    rows = changes.rows
    t = rows[(rows["question"].replace("", "rate") == question) & (rows["group"] == group)]
    t = t[~t["suppressed"]].reset_index(drop=True)
    own = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 4.0))
        fig.subplots_adjust(right=0.83)
    fig = ax.figure
    y = np.arange(len(t))[::-1]
    a, b = 100 * t["estimate_base"].to_numpy(float), 100 * t["estimate_new"].to_numpy(float)
    for yi, x0, x1, v in zip(y, a, b, t["verdict"]):
        ax.plot([x0, x1], [yi, yi], color=VERDICT_COLORS.get(v, NEUTRAL_COLOR), lw=2.2, zorder=1)
    wave_base, wave_new = changes.baseline_wave, changes.wave
    ax.scatter(a, y, color=BASE_COLOR, s=28, zorder=2, label=wave_base)
    ax.scatter(b, y, color=NEW_COLOR, s=28, zorder=3, label=wave_new)
    alpha = changes.alpha
    for yi, row in zip(y, t.itertuples()):
        star = "*" if np.isfinite(row.p_value) and row.p_value < alpha else ""
        ax.text(
            1.01,
            yi,
            f"{signed(100 * row.difference)}pt{star} {row.verdict}",
            transform=ax.get_yaxis_transform(),
            va="center",
            ha="left",
            fontsize=SMALL_PT,
            color=VERDICT_COLORS.get(row.verdict, "#555555"),
        )
    renderer = fig.canvas.get_renderer()
    widest = max((x.get_window_extent(renderer).width for x in ax.texts), default=0.0)
    fig.subplots_adjust(right=1 - (widest + 0.12 * fig.dpi) / fig.bbox.width)  # the verdicts fit at the right
    ax.set_yticks(y, [_wrap(lab, 14) for lab in t["label"]], fontsize=SMALL_PT + 0.5)
    ax.set_ylim(-0.6, len(t) - 0.4)
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False, fontsize=SMALL_PT, borderaxespad=0.2)
    ax.set_title(title or f"{t['title'].iloc[0] if len(t) else question}（{group}）", pad=20)
    if base is None:
        n = f"n = {wave_base} {int(t['n_base'].iloc[0]):,}／{wave_new} {int(t['n_new'].iloc[0]):,}　" if len(t) else ""
        base = (
            f"{n}* {int(100 * alpha)}%水準で有意（独立な2回の調査の差）\n"
            f"数値は各回の職員全体の推定値（{changes.weighting}、%）。差の95%信頼区間は集計表（変化）に記載"
        )
    add_footer(fig, base=base, note=note or changes.note)
    fit_left_margin(ax)
    if own:
        lines = max((label.get_text().count("\n") + 1 for label in ax.get_yticklabels()), default=1)
        fit_height(ax, axes_height=max(1, len(t)) * max(0.34, lines * (SMALL_PT + 0.5) * 1.2 / 72 + 0.1))
    return ax


def plot_change_heatmap(
    changes: ChangeTable, question: str, *, ax=None, title: str | None = None, note: str = ""
) -> Axes:
    """Differences (points) of one question's indicators by 職域: colour blue = better, red = worse.

    Items without a direction are left uncoloured; arrows ↑/↓: a rise/fall significant at the 5%
    level (the colour says whether it is better or worse); x 秘匿. Returns the Axes.
    """

    from ppp_survey.outputs.heatmaps import grid_chart

    chart = change_charts(changes)[question]
    grid, better, marks = chart.heatmap, chart.improvement, chart.marks
    text = np.vectorize(lambda v, m: "x" if m == "x" else ("-" if not np.isfinite(v) else f"{signed(v)}{m}"))(
        grid.to_numpy(float), marks.to_numpy(object)
    )
    finite = np.isfinite(better.to_numpy(float))
    limit = max(5.0, float(np.nanmax(np.abs(better.to_numpy(float)))) if finite.any() else 5.0)
    table = changes.rows
    of_question = table["question"].replace("", "rate") == question
    reference = set(table.loc[(table["verdict"] == reference_verdict(changes.min_base)) & of_question, "group"])
    rows = table[of_question].drop_duplicates("group").set_index("group")
    notes = [
        (
            ""
            if not np.isfinite(float(rows.loc[g, "n_base"]))
            else f"{int(rows.loc[g, 'n_base']):,}\n→{int(rows.loc[g, 'n_new']):,}"
        )
        + ("※" if g in reference else "")
        for g in grid.index
    ]
    return grid_chart(
        better.to_numpy(float).T,
        text.T,
        rows=[str(c) for c in grid.columns],
        columns=[str(g) for g in grid.index],
        notes=notes,
        vmin=-limit,
        vmax=limit,
        cmap="RdBu",
        title=title or f"{chart.title}：{changes.baseline_wave}→{changes.wave}の変化（職域別、ポイント）",
        footer=f"列見出しの下は基数 n（{changes.baseline_wave}→{changes.wave}）。数値は差（ポイント、職員全体の推定値どうし）。\n"
        "色: 青=改善方向、赤=悪化方向（方向のない項目は無色）。"
        "↑上昇 ↓低下（5%水準で有意。改善か悪化かは色）。"
        f"※{reference_note(changes.min_base)}。" + ("x: 秘匿" if (marks.to_numpy(object) == "x").any() else ""),
        note=note or changes.note,
        first_apart=ALL in grid.index and list(grid.index)[0] == ALL,
        ax=ax,
    )


def _wrap(label: str, width: int = 22) -> str:
    """A label broken into lines of about ``width`` characters at Japanese phrase boundaries."""
    return wrap_ja(str(label), width)
