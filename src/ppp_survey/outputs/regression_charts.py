"""The forest plot of a logistic regression: odds ratios with 95% confidence intervals.

It draws a :class:`~ppp_survey.survey.regression.RegressionResult` (computed in the survey layer):
one row per coefficient except the intercept, the odds ratio as a point and its interval as a line
on a log scale, a reference line at 1 (no association), the value and interval printed at the right.
Rows of a factor name its reference level (「職位（基準: 係員）: 係長級」). The footer gives the base
(n, and how many were left out for a missing answer), the weights and the source note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker

from ppp_survey.outputs.captions import weights_label
from ppp_survey.outputs.chart_layout import PAGE_WIDTH_IN, SMALL_PT, fit_height
from ppp_survey.outputs.plots import BAR_COLOR, FONT_FAMILY, add_footer, fit_left_margin, theme
from ppp_survey.survey.regression import INTERCEPT, Family, RegressionResult
from ppp_survey.text import wrap_ja

if TYPE_CHECKING:  # annotations only
    from matplotlib.axes import Axes

__all__ = ["odds_ratio_labels", "plot_odds_ratios"]

_GREY = "#767676"  # 4.5:1 on white
ROW_PITCH = 0.32  # inches per coefficient
#: What the chart's numbers are (its footer says it, as every chart's does).
NUMBERS = "数値はオッズ比（95%信頼区間）。1より大きいほど、その区分・回答の職員に肯定的回答が多い"


def odds_ratio_labels(result: RegressionResult, names: Mapping[str, str] | None = None) -> list[str]:
    """Row labels of the forest plot, in the table's order (intercept left out)."""
    names = dict(names or {})
    reference = {t.name: t.reference for t in result.terms if t.kind == "factor"}
    labels = []
    for term, level in zip(result.table["term"], result.table["level"]):
        if term == INTERCEPT:
            continue
        label = names.get(term, term)
        labels.append(f"{label}（基準: {reference[term]}）: {level}" if term in reference else label)
    return labels


def _value_text(ratio: float, low: float, high: float) -> str:
    return f"{ratio:.2f}（{low:.2f}～{high:.2f}）"


def plot_odds_ratios(
    result: RegressionResult,
    *,
    ax=None,
    names: Mapping[str, str] | None = None,
    title: str | None = None,
    note: str = "",
) -> Axes:
    """Forest plot of the odds ratios of a logistic :func:`~ppp_survey.survey.regression.survey_glm`.

    Parameters
    ----------
    result : RegressionResult
        A ``family="binomial"`` fit.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    names : mapping, optional
        Display names of the terms (``{"position": "職位"}``); default the column names.
    title : str, optional
        Default: 「{response}のオッズ比（95%信頼区間）」.
    note : str
        The source note (e.g. :func:`ppp_survey.outputs.captions.source_note`), printed under the base.

    Returns
    -------
    matplotlib Axes
    """
    if result.family != Family.BINOMIAL:
        raise ValueError("plot_odds_ratios draws a logistic regression (family='binomial')")
    rows = result.table[result.table["term"] != INTERCEPT]
    labels = [wrap_ja(label, 16) for label in odds_ratio_labels(result, names)]
    k = len(rows)
    with theme():
        own = ax is None
        if ax is None:
            fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 4.0))
            fig.subplots_adjust(right=0.72)
        fig = ax.figure
        y = np.arange(k)[::-1]
        ratio = rows["odds_ratio"].to_numpy(float)
        low, high = rows["or_ci_low"].to_numpy(float), rows["or_ci_high"].to_numpy(float)
        clear = (low > 1.0) | (high < 1.0)  # the interval excludes 1
        ax.hlines(y, low, high, color=np.where(clear, BAR_COLOR, _GREY), lw=1.6)
        ax.scatter(ratio[clear], y[clear], color=BAR_COLOR, s=28, zorder=3, label="95%信頼区間が1を含まない")
        ax.scatter(
            ratio[~clear], y[~clear], facecolor="white", edgecolor=_GREY, s=28, zorder=3, label="95%信頼区間が1を含む"
        )
        ax.axvline(1.0, color="#c0392b", lw=1, ls="--")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_yticks(y, labels, fontfamily=FONT_FAMILY, fontsize=SMALL_PT)  # also on an Axes made outside theme()
        ax.tick_params(axis="x", labelsize=SMALL_PT)
        ax.set_ylim(-0.8, k - 0.2)
        ax.set_xlabel("オッズ比（対数目盛）", fontfamily=FONT_FAMILY, fontsize=SMALL_PT + 1)
        for yy, r, lo, hi in zip(y, ratio, low, high):
            ax.annotate(
                _value_text(r, lo, hi),
                xy=(1.0, yy),
                xycoords=("axes fraction", "data"),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=SMALL_PT,
            )
        ax.set_title(title or f"{result.response}のオッズ比（95%信頼区間）", pad=26, fontfamily=FONT_FAMILY)
        ax.legend(
            loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False, fontsize=SMALL_PT, borderaxespad=0.2
        )
        base = f"n = {result.n:,}" + (f"（無回答等 {result.n_dropped:,}人を除く）" if result.n_dropped else "")
        method = "デザインベースの標準誤差" + ("" if result.fpc else "（有限母集団修正なし）")
        add_footer(
            fig, base=f"{base}\n{NUMBERS}\nロジスティック回帰、{weights_label(result.method)}、{method}", note=note
        )
        if own:
            fit_left_margin(ax)
            fit_height(ax, axes_height=ROW_PITCH * k + 0.3)
    return ax
