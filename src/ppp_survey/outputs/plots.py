"""Charts: matplotlib drawing of tables the library has already computed.

Statistics live elsewhere; a plot function takes a tidy table, draws it on ``ax`` (a new figure when
``ax`` is None) and returns the Axes. Japanese text is set in IPAexGothic, the font bundled with
matplotlib-fontja, so charts render with no missing glyph on a machine with no CJK fonts. Styles
apply inside :func:`theme`, which restores the settings it changed: the library never changes global
matplotlib state.
Every chart is drawn at the 16 cm text width of an A4 page with no text under 8 pt
(:mod:`.chart_layout`) and carries its base (n), what its numbers are and a source note;
:mod:`.figure_files` writes the PNG and SVG files.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager

from ppp_survey.outputs.chart_layout import (
    PAGE_WIDTH_IN,
    SMALL_PT,
    SUPPRESSED_TEXT,
    TITLE_PT,
    Segment,
    add_footer,
    fit_height,
    fit_left_margin,
    held_groups,
    label_segments,
    method_text,
)
from ppp_survey.outputs.heatmaps import draw_heatmap, plot_heatmap
from ppp_survey.survey.indicators import favourable_first
from ppp_survey.text import pct, wrap_ja

if TYPE_CHECKING:  # matplotlib >= 3.10 names the rcParams keys; older versions run unchecked
    from matplotlib.axes import Axes
    from matplotlib.transforms import Transform
    from matplotlib.typing import RcKeyType

FONT_FAMILY = "IPAexGothic"
BAR_COLOR = "#2b6a99"
FIGURE_DPI = 300  # print resolution of the PNGs (a chart is 16 cm wide: 1,890 pixels)
PNG_COMPRESS_LEVEL = 2  # zlib level of the PNGs (matplotlib/Pillow default: 6)
__all__ = [
    "BAR_COLOR",
    "FIGURE_DPI",
    "SUPPRESSED_TEXT",
    "add_footer",
    "draw_heatmap",
    "fit_left_margin",
    "plot_heatmap",
    "plot_multi",
    "plot_response_rates",
    "plot_stacked",
    "theme",
]


def font_path() -> Path:
    """Path of IPAexGothic as bundled by matplotlib-fontja (found without importing the package,
    whose import changes matplotlib's global rcParams)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib-fontja is not installed; run 'pip install matplotlib-fontja'")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"


# The package's chart style: the only rcParams theme() sets (and restores after the block).
THEME_RC: dict[RcKeyType, Any] = {
    "font.family": [FONT_FAMILY],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": TITLE_PT,
    "axes.titlelocation": "left",
    "font.size": 9,
    "legend.fontsize": SMALL_PT,
    "figure.dpi": 100,
    "savefig.dpi": FIGURE_DPI,
    "svg.hashsalt": "ppp_survey",
}


@contextlib.contextmanager
def theme() -> Iterator[None]:
    """Apply the package's chart style (Japanese font, quiet axes) for the duration of a block.

    Sets the keys of :data:`THEME_RC` and puts back exactly those. (Not ``plt.rc_context``, which
    reverts every rcParam: Jupyter's inline backend turns interactive mode on when a block's first
    figure loads it, and turning that off on leaving hid every later chart of a notebook.)
    """
    path = str(font_path())
    if path not in {f.fname for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(path)
    before = {key: matplotlib.rcParams[key] for key in THEME_RC}
    matplotlib.rcParams.update(THEME_RC)
    try:
        yield
    finally:
        matplotlib.rcParams.update(before)


RATE_PITCH = 0.36  # inches per bar of the response-rate chart
ROW_PITCH = 0.45  # inches per bar of a stacked chart (room for a two-line label and for labels above a bar)
STACK_HEIGHT = 0.58  # bar height of a stacked chart, in rows
MULTI_PITCH = 0.36  # inches per bar of a multi-select chart
REFERENCE_COLOR = "#c0392b"


def plot_response_rates(rates: pd.DataFrame, *, ax=None, title: str = "職域別の回答率", note: str = "") -> Axes:
    """Horizontal bars of the response rate per 職域, with the overall rate as a reference line.

    ``rates`` is the table of :func:`ppp_survey.survey.rates.response_rates`. Each rate and
    ``回答者数/職員数`` stand in a column right of the plot area, where the reference line never
    crosses them.
    """
    body = rates[rates["domain"].astype(str) != "全体"].iloc[::-1]
    total = rates[rates["domain"].astype(str) == "全体"].iloc[0]
    own = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 4.0))
        fig.subplots_adjust(right=0.78)
    fig = ax.figure
    y = np.arange(len(body))
    values = 100 * body["rate"].to_numpy(dtype=float)
    height = 0.62
    ax.barh(y, values, color=BAR_COLOR, height=height)
    ax.set_yticks(y, body["domain"].astype(str))
    ax.set_ylim(-0.6, len(body) - 1 + height / 2 + 0.55)
    ref = 100 * float(total["rate"])
    ax.axvline(ref, color=REFERENCE_COLOR, lw=1, ls="--", zorder=0.5)
    ax.annotate(
        f"全体 {pct(total['rate'])}%",
        xy=(ref, len(body) - 1 + height / 2),
        xytext=(3, 3),
        textcoords="offset points",
        color=REFERENCE_COLOR,
        ha="left",
        va="bottom",
        fontsize=SMALL_PT,
    )
    column = _points_right_of_axes(ax, 6)
    for yi, r in zip(y, body.itertuples()):
        ax.text(
            1,
            yi,
            f"{pct(r.rate)}%（{r.respondents:,}/{r.population:,}）",
            transform=column,
            va="center",
            fontsize=SMALL_PT,
        )
    ax.text(
        1,
        len(body) - 1 + height / 2,
        "回答率（回答者/職員）",
        transform=column,
        va="bottom",
        fontsize=SMALL_PT,
        color="#444444",
    )
    ax.set_xlim(0, min(100.0, 10 * np.ceil((float(values.max(initial=ref)) + 8) / 10)))
    ax.set_xlabel("回答率（%）")
    ax.set_title(title)
    add_footer(
        fig,
        base=f"n = 職員{int(total['population']):,}人（回答者{int(total['respondents']):,}人）\n数値は回答率（回答者数／職員数）",
        note=note,
    )
    fit_left_margin(ax)
    if own:
        fit_height(ax, axes_height=RATE_PITCH * (ax.get_ylim()[1] - ax.get_ylim()[0]))
    return ax


def _points_right_of_axes(ax, points: float) -> Transform:
    """A transform: x in axes coordinates moved ``points`` to the right, y in data."""
    from matplotlib.transforms import ScaledTranslation, blended_transform_factory

    return blended_transform_factory(ax.transAxes, ax.transData) + ScaledTranslation(
        points / 72, 0, ax.figure.dpi_scale_trans
    )


# ------------------------------------------------------------------------ charts of section 2

LIKERT_POSITIVE = ["#1f5f99", "#7fb2dc"]  # strong, weak
LIKERT_NEGATIVE = ["#e8a07d", "#c4532b"]  # weak, strong
NEUTRAL_COLOR = "#d9d9d9"
OFFSCALE_COLOR = "#bdbdbd"
STACK_COLORS = ["#1f5f99", "#7fb2dc", "#e8a07d", "#c4532b", "#8c8c8c", "#bdbdbd"]


def _values(table: pd.DataFrame, weighted: bool) -> np.ndarray:
    return 100 * (table["estimate"] if weighted else table["share"]).to_numpy(dtype=float)


def _row_label(group: str, base: int) -> str:
    return f"{group}\n（n={base:,}）"


def _base_text(table: pd.DataFrame) -> str:
    first = table.iloc[0]
    text = f"n = {int(first['base_n']):,}"
    if int(first["no_answer_n"]):
        text += f"（無回答{int(first['no_answer_n']):,}人を除く）"
    return text


def _likert_limits(lefts: list[float], rights: list[float]) -> tuple[float, float]:
    """x limits of a diverging chart: zero in place, each side as long as its longest bar needs
    (in steps of 10, at least 20), so that the segments are as wide as the page allows."""

    def side(extent: float) -> float:
        return float(max(20, 10 * np.ceil((extent + 6) / 10)))

    return -min(100.0, side(max(lefts, default=0.0))), min(100.0, side(max(rights, default=0.0)))


def plot_stacked(  # noqa: C901 (draws one chart; branches are the two kinds of scale)
    table: pd.DataFrame,
    item,
    *,
    weighted: bool = False,
    ax=None,
    title: str | None = None,
    note: str = "",
    bare: bool = False,
    height: float | None = None,
) -> Axes:
    """100% stacked horizontal bars of a single-answer question, one bar per group.

    Likert items (``item.type == "likert"``) diverge around the neutral point: the positive half
    of the scale to the right of zero, the negative half to the left, off-scale answers (わからない)
    in a column at the right. Other single-answer items stack from zero. ``table`` is a
    :func:`ppp_survey.survey.tables.tally` result with the groups to show (全体 first). Every
    segment carries its value: inside where it fits, else just above the bar
    (:func:`.chart_layout.label_segments`). ``bare``: no title and no footer (the committee page
    prints them); ``height``: the figure's height in inches (a page's free area).
    """
    groups = list(dict.fromkeys(table["group"]))
    own = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 5.0))
        fig.subplots_adjust(right=0.86 if item.type == "likert" else 0.97)
    fig = ax.figure
    y = np.arange(len(groups))[::-1]
    likert = item.type == "likert"
    if likert:
        ordered = favourable_first(item)
        half = len(ordered) // 2
        positive, negative = ordered[:half], ordered[len(ordered) - half :]
        neutral = ordered[half : len(ordered) - half]
        offscale = [c for c in item.choices if c.score is None]
        # drawn from the most negative (leftmost) to the most positive
        segments = [*negative[::-1], *neutral, *positive[::-1]]
        colors = {
            **{c.code: col for c, col in zip(negative, LIKERT_NEGATIVE)},  # weak, strong
            **{c.code: NEUTRAL_COLOR for c in neutral},
            **{c.code: col for c, col in zip(positive, LIKERT_POSITIVE[: len(positive)])},
        }
    else:
        negative, neutral, offscale = [], [], []
        segments = list(item.choices)
        colors = {c.code: STACK_COLORS[k % len(STACK_COLORS)] for k, c in enumerate(item.choices)}
    held = held_groups(table)
    values: dict = {}  # group → {code: value}, in one pass rather than a filter per group
    for g, code, v in zip(table["group"].tolist(), table["code"].tolist(), _values(table, weighted).tolist()):
        values.setdefault(g, {})[code] = v
    shown = [(yi, g) for yi, g in zip(y, groups) if not held.get(g, False)]
    rows = {g: values[g] for _, g in shown}
    starts = {}  # (group, code) → left end of the segment
    lefts, rights = [], []
    for _, g in shown:
        v = rows[g]
        left = -sum(v[c.code] for c in negative) - sum(v[c.code] for c in neutral) / 2 if likert else 0.0
        lefts.append(-left)
        for c in segments:
            starts[g, c.code] = left
            left += v[c.code]
        rights.append(left)
    # one barh per choice across the groups (rows never overlap: the same picture as one bar at a time)
    handles = []
    for c in segments:
        if not shown:
            break
        bar = ax.barh(
            [yi for yi, _ in shown],
            [rows[g][c.code] for _, g in shown],
            left=[starts[g, c.code] for _, g in shown],
            color=colors[c.code],
            height=STACK_HEIGHT,
            label=c.label,
            edgecolor="white",
            linewidth=0.5,
        )
        if shown[0][0] == y[0]:
            handles.append((c, bar))
    for yi, g in zip(y, groups):
        if held.get(g, False):  # anonymity: a small group is not drawn
            ax.text(
                0.5,
                yi,
                SUPPRESSED_TEXT,
                ha="center",
                va="center",
                fontsize=SMALL_PT,
                color="#555555",
                transform=ax.get_yaxis_transform(),
            )
            continue
        for k, c in enumerate(offscale):
            ax.text(
                1.02 + 0.07 * k,
                yi,
                f"{pct(rows[g][c.code] / 100)}%",
                transform=ax.get_yaxis_transform(),
                va="center",
                ha="left",
                fontsize=SMALL_PT,
                color="#444444",
            )
    bases = table.drop_duplicates("group").set_index("group")["base_n"]
    ax.set_yticks(y, [_row_label(g, int(bases[g])) for g in groups])
    top = len(groups) - 1 + STACK_HEIGHT / 2 + (1 - STACK_HEIGHT)  # a row's room above the first bar
    ax.set_ylim(-0.5, top)
    if likert:  # the zero line through each bar only: a label set above a bar never sits on it
        ys = np.array([yi for yi, _ in shown], dtype=float)
        ax.vlines(np.zeros(len(ys)), ys - STACK_HEIGHT / 2, ys + STACK_HEIGHT / 2, color="#333333", lw=0.8, zorder=3)
        lo, hi = _likert_limits(lefts, rights)
        ax.set_xlim(lo, hi)
        ax.xaxis.set_major_locator(matplotlib.ticker.MultipleLocator(20 if hi - lo > 100 else 10))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{abs(v):g}"))
        for k, c in enumerate(offscale):  # header of the off-scale column, above the first row
            ax.text(
                1.02 + 0.07 * k,
                y[0] + STACK_HEIGHT / 2,
                c.label,
                transform=ax.get_yaxis_transform(),
                ha="left",
                va="bottom",
                fontsize=SMALL_PT,
                color="#444444",
            )
    else:
        ax.set_xlim(0, 100)
    ax.set_xlabel("%（左: 否定的／右: 肯定的）" if likert else "%")
    _legend_and_title(ax, handles, "" if bare else title or item.heading)
    if not bare:
        add_footer(fig, base=f"{_base_text(table)}\n{method_text(weighted)}", note=note)
    fit_left_margin(ax)
    if own:
        fit_height(ax, axes_height=ROW_PITCH * (top + 0.5), total=height)
    label_segments(
        ax,
        [
            Segment(starts[g, c.code], rows[g][c.code], yi, STACK_HEIGHT, pct(rows[g][c.code] / 100), colors[c.code])
            for yi, g in shown
            for c in segments
            if rows[g][c.code] > 0
        ],
    )
    return ax


def _legend_and_title(ax, handles, title: str) -> None:
    """The legend above the plot area in as few rows as fit the page's width, the title above it."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    labels = [c.label for c, _ in handles]
    room = (1 - ax.get_position().x0) * fig.bbox.width
    legend = None
    for ncol in dict.fromkeys(-(-len(handles) // rows) for rows in range(1, len(handles) + 1)):  # 4 → 4, 2, 1
        if legend is not None:
            legend.remove()
        legend = ax.legend(
            [h for _, h in handles],
            labels,
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            ncol=ncol,
            frameon=False,
            fontsize=SMALL_PT,
            borderaxespad=0.3,
            handlelength=1.4,
            columnspacing=1.2,
        )
        if legend.get_window_extent(renderer).width <= room * 0.98:
            break
    height = legend.get_window_extent(renderer).height * 72 / fig.dpi if legend is not None else 0.0
    if title:
        ax.set_title(title, pad=height + 4)


def plot_multi(
    table: pd.DataFrame,
    item,
    *,
    weighted: bool = False,
    ax=None,
    title: str | None = None,
    note: str = "",
    bare: bool = False,
    height: float | None = None,
) -> Axes:
    """Horizontal bars of a multi-select question, ranked by % of respondents (その他/特にない last).

    ``table`` is a :func:`ppp_survey.survey.tables.tally` result for one group. With ``weighted=True`` the
    bars are the design-based estimates with 95% CI whiskers. ``bare`` and ``height`` as in
    :func:`plot_stacked`.
    """
    t = table.reset_index(drop=True)
    special = {c.code for c in item.choices if c.other or c.exclusive}
    value = _values(t, weighted)
    main = sorted((i for i in range(len(t)) if t.loc[i, "code"] not in special), key=lambda i: -value[i])
    rest = [i for i in range(len(t)) if t.loc[i, "code"] in special]
    order = main + rest
    own = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 5.0))
        fig.subplots_adjust(right=0.95)
    fig = ax.figure
    y = np.arange(len(order))[::-1]
    v = value[order]
    colors = [BAR_COLOR if i in main else OFFSCALE_COLOR for i in order]
    xerr = None
    if weighted:
        lo = 100 * t["ci_low"].to_numpy(float)[order]
        hi = 100 * t["ci_high"].to_numpy(float)[order]
        xerr = np.vstack([v - lo, hi - v])
    ax.barh(y, v, color=colors, height=0.66, xerr=xerr, error_kw={"ecolor": "#333333", "lw": 0.8, "capsize": 2})
    ax.set_yticks(y, [_wrap(t.loc[i, "label"], 15) for i in order], fontsize=SMALL_PT + 0.5)
    ax.set_ylim(-0.6, len(order) - 0.4)
    top = float(np.nanmax(v if xerr is None else v + xerr[1])) if len(v) else 100
    ends = v if xerr is None else v + xerr[1]
    for yi, val, end in zip(y, v, ends):
        ax.annotate(
            f"{pct(val / 100)}%", (end, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=SMALL_PT
        )
    ax.set_xlim(0, max(10.0, top * 1.18))
    ax.set_xlabel("回答者に占める割合（%）" if not weighted else "職員全体の推定値（%）")
    if not bare:
        ax.set_title(title or item.heading)
        add_footer(fig, base=f"{_base_text(t)}　複数回答\n{method_text(weighted, whiskers=True)}", note=note)
    fit_left_margin(ax)
    if own:
        fit_height(ax, axes_height=MULTI_PITCH * len(order), total=height)
    return ax


def _wrap(label: str, width: int = 7) -> str:
    """A label broken into lines of about ``width`` characters at Japanese phrase boundaries."""
    return wrap_ja(str(label), width)
