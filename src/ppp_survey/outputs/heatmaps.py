"""Heatmaps by 職域 for an A4 page: one row per choice, one column for 全体 and each group.

A question with a dozen choices and nine 職域 does not fit 16 cm with the choices as columns (their
headers need several lines of several characters each); with the choices as rows and the groups as
columns it does: the group names are short. Headers are always set across, broken between phrases;
a name with a phrase wider than its column is shortened to the part before its brackets
(「企業（上下水道）」 → 「企業」) and a key under the chart gives it whole. Each column's base n stands
under its header. Cells are drawn by matplotlib's ``pcolormesh``; their text is white or black by the
cell's luminance (:func:`.chart_layout.text_color_on`: one threshold, at least 4.5:1).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ppp_survey.constants import ALL, MARK_RULE_SHORT, MIN_BASE
from ppp_survey.outputs.chart_layout import (
    PAGE_WIDTH_IN,
    SMALL_PT,
    add_footer,
    fit_height,
    fit_left_margin,
    held_groups,
    method_text,
    text_color_on,
)
from ppp_survey.text import p_text, pct, phrases, reference_note, wrap_ja

if TYPE_CHECKING:  # annotations only
    from matplotlib.axes import Axes

ROW_LABEL_WIDTH = 14  # characters per line of a row label (a choice)
ROW_PT = SMALL_PT + 0.5  # row labels
LINE_IN = ROW_PT * 1.2 / 72  # one line of a row label, in inches
CMAP = "Blues"
EMPTY_CELL = "#eeeeee"  # suppressed or empty cells are left uncoloured on this face


def plot_heatmap(
    crosstab,
    *,
    weighted: bool = False,
    ax=None,
    title: str | None = None,
    note: str = "",
    overall: pd.DataFrame | None = None,
    bare: bool = False,
    height: float | None = None,
) -> Axes:
    """Shares by choice (rows) and group (columns) of a :class:`~ppp_survey.survey.tables.Crosstab`,
    with its ▲▼ marks; ``overall``, the question's :func:`~ppp_survey.survey.tables.tally` for
    全体, adds a first column 全体 to compare the groups with. ``bare``: no title and no footer but
    the key of shortened headers (the committee page prints the rest); ``height``: the figure's
    height in inches. Returns the Axes."""
    item = crosstab.item
    grid = heatmap_grid(crosstab, weighted=weighted, overall=overall)
    data, text, groups, notes, bases = grid.data, grid.text, grid.columns, grid.notes, grid.bases
    tests = crosstab.tests
    test_text = "" if item.is_multi else f"　Rao–Scott検定 {p_text(tests['p_value'].iloc[0])}"
    legend = (
        "▲▼：その他の回答者より有意に高い／低い（1%）　△▽：同（5%）"
        f"（{MARK_RULE_SHORT[crosstab.marks]}）　※{reference_note(MIN_BASE)}"
        + ("　x：秘匿（匿名性の確保）" if (text == "x").any() else "")
    )
    n_total = int(bases.drop(index=ALL, errors="ignore")["base_n"].sum())
    return grid_chart(
        data.T,
        text.T,
        rows=[c.label for c in item.choices],
        columns=groups,
        notes=notes,
        vmin=0.0,
        vmax=grid.vmax,
        cmap=CMAP,
        title=title or " ".join(filter(None, [item.number, bracketed(item.label, f"{crosstab.by_label}別")])),
        footer=f"n = {n_total:,}（列見出しの下の数は各列の基数）{test_text}\n{legend}\n{method_text(weighted)}",
        note=note,
        first_apart=overall is not None,
        ax=ax,
        bare=bare,
        height=height,
    )


def bracketed(label: str, extra: str) -> str:
    """``label`` with ``extra`` in brackets, joined to a closing bracket it already has:
    「メリット（複数選択可）」 + 職域別 → 「メリット（複数選択可、職域別）」, never 「…（複数選択可）（職域別）」."""
    if label.endswith("）"):
        return f"{label[:-1]}、{extra}）"
    if label.endswith(")"):
        return f"{label[:-1]}、{extra})"
    return f"{label}（{extra}）"


@dataclass(frozen=True)
class HeatmapGrid:
    """What a heatmap by 職域 shows (the chart and the deck's coloured table): ``data`` (groups ×
    choices, %), each cell's ``text`` (the value and its mark, x held, - none), the ``columns``
    (全体 and the groups), each column's base ``notes`` (※: 参考値), the colour scale's ``vmax``."""

    data: np.ndarray
    text: np.ndarray
    columns: list[str]
    notes: list[str]
    bases: pd.DataFrame
    vmax: float

    def color(self, value: float) -> tuple[float, float, float, float]:
        """The cell colour of a value (RGBA), as the chart draws it."""
        colormap, norm = self._scale
        return colormap(norm(value))

    @functools.cached_property
    def _scale(self) -> tuple[matplotlib.colors.Colormap, matplotlib.colors.Normalize]:
        """The colour map and its range, made once per grid (``matplotlib.colormaps[name]`` returns
        a new copy each time, whose lookup table is built again at its first use)."""
        return matplotlib.colormaps[CMAP], matplotlib.colors.Normalize(vmin=0.0, vmax=self.vmax)


def heatmap_grid(crosstab, *, weighted: bool = False, overall: pd.DataFrame | None = None) -> HeatmapGrid:
    """The cells of :func:`plot_heatmap` (see :class:`HeatmapGrid`)."""
    cells = crosstab.cells
    item = crosstab.item
    if overall is not None:
        whole = overall.assign(group=ALL, mark="", reference=False)
        cells = pd.concat([whole[[c for c in cells.columns if c in whole.columns]], cells], ignore_index=True)
    groups = list(dict.fromkeys(cells["group"]))
    value = cells.assign(v=100 * (cells["estimate"] if weighted else cells["share"]))
    codes = [c.code for c in item.choices]
    grid = value.pivot(index="group", columns="code", values="v").reindex(index=groups, columns=codes)
    marks = value.pivot(index="group", columns="code", values="mark").reindex(index=groups, columns=codes)
    held = held_groups(cells)
    held_grid = np.array([[held.get(g, False)] * grid.shape[1] for g in grid.index], dtype=bool)
    text = np.vectorize(lambda v, m, h: "x" if h else ("-" if not np.isfinite(v) else f"{pct(v / 100)}{m}"))(
        grid.to_numpy(float), marks.fillna("").to_numpy(object), held_grid
    )
    bases = cells.drop_duplicates("group").set_index("group")
    notes = [
        f"{int(bases.loc[g, 'base_n']):,}" + ("※" if bool(bases.loc[g, "reference"]) and not held.get(g) else "")
        for g in groups
    ]
    data = grid.to_numpy(float)
    vmax = max(50.0, float(np.nanmax(data))) if np.isfinite(data).any() else 50.0
    return HeatmapGrid(data, text, [str(g) for g in groups], notes, bases, vmax)


def grid_chart(
    data: np.ndarray,
    text: np.ndarray,
    *,
    rows: list[str],
    columns: list[str],
    notes: list[str],
    vmin: float,
    vmax: float,
    cmap: str,
    title: str,
    footer: str,
    note: str,
    first_apart: bool = False,
    ax=None,
    bare: bool = False,
    height: float | None = None,
) -> Axes:
    """A heatmap (``data``: rows × columns, each cell's ``text``) with row labels at the left, column
    headers and their ``notes`` (bases) on top, title and footer, sized for the page when it makes
    its figure. ``first_apart`` sets the first column (全体) apart by a wider white line; ``bare`` and
    ``height`` as in :func:`plot_heatmap`."""
    own = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 5.0))
        fig.subplots_adjust(right=0.985)
    fig = ax.figure
    draw_heatmap(ax, data, text, vmin=vmin, vmax=vmax, cmap=cmap)
    ax.tick_params(length=0)
    row_labels = _row_labels(ax, rows, columns)
    ax.xaxis.tick_top()
    key = _column_headers(ax, columns, notes)
    if first_apart:
        ax.axvline(1, color="white", lw=3)
    if not bare:
        ax.set_title(title, pad=6)
    if key or not bare:
        add_footer(fig, base="\n".join(x for x in (key, "" if bare else footer) if x), note="" if bare else note)
    if own:
        lines = max((label.count("\n") + 1 for label in row_labels), default=1)
        fit_height(ax, axes_height=len(rows) * max(0.26, lines * LINE_IN + 0.07), total=height)
    return ax


def _row_labels(ax, rows: list[str], columns: list[str]) -> list[str]:
    """Set the row labels (choices) at the left, broken between phrases: :data:`ROW_LABEL_WIDTH`
    characters a line, 2 fewer where the columns need the room for their headers' longest
    phrases. Returns the labels as set."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    need = max((_least_width(str(c)) for c in columns), default=1) * SMALL_PT * fig.dpi / 72
    for width in (ROW_LABEL_WIDTH, ROW_LABEL_WIDTH - 2):
        labels = [wrap_ja(str(r), width) for r in rows]
        ax.set_yticks(np.arange(len(rows)) + 0.5, labels, rotation=0, va="center", fontsize=ROW_PT, linespacing=1.1)
        fit_left_margin(ax)
        room = ax.get_window_extent(renderer).width / max(1, len(columns)) - fig.dpi / 72
        if room >= need:
            break
    return labels


def _column_headers(ax, columns: list[str], notes: list[str]) -> str:
    """Column headers set across with the base under each, broken between phrases to the column's
    width; a name with a phrase wider than its column is shortened (:func:`short_name`). Returns
    the key to the shortened names ('' when none was): 「列見出しの略称：企業＝企業（上下水道）」."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    room = ax.get_window_extent(renderer).width / max(1, len(columns)) - fig.dpi / 72  # 1 pt apart
    width = max(2, int(room / (SMALL_PT * fig.dpi / 72)))  # full-width characters a line of the column holds
    shown, key = [], []
    for c in map(str, columns):
        if max((len(p) for p in phrases(c)), default=0) > width:
            short = short_name(c, width)
            key.append(f"{short}＝{c}")
            c = short
        shown.append(wrap_ja(c, width))
    ticks = np.arange(len(columns)) + 0.5
    ax.set_xticks(ticks, [f"{c}\n{n}" for c, n in zip(shown, notes)], rotation=0, fontsize=SMALL_PT, linespacing=1.15)
    return "列見出しの略称：" + "、".join(key) if key else ""


def _least_width(name: str) -> int:
    """The fewest characters a line of a column header can hold: its longest phrase, or that of the
    part before its brackets (the header is shortened to it)."""
    head = re.split(r"[（(]", name, maxsplit=1)[0].strip()
    return min(max((len(p) for p in phrases(x)), default=1) for x in {name, head or name})


def short_name(name: str, width: int) -> str:
    """A column's short name: the part before its brackets (「企業（上下水道）」 → 「企業」), else its
    first ``width`` characters (the key under the chart gives the name whole)."""
    head = re.split(r"[（(]", name, maxsplit=1)[0].strip()
    return head if head and len(head) <= width else name[:width]


def draw_heatmap(
    ax, data: np.ndarray, text: np.ndarray, *, vmax: float, vmin: float = 0.0, cmap: str = "Blues"
) -> None:
    """The cells as matplotlib's ``pcolormesh`` with each cell's text: white cell borders, no
    spines, the first row at the top, the text in white or black by the cell's luminance
    (:func:`.chart_layout.text_color_on`). NaN cells are masked (uncoloured: the Axes' grey face
    shows) and carry their text (x 秘匿, - no value) in grey.

    The same drawing as seaborn's ``heatmap`` with ``cbar=False`` and no tick labels (what this
    function called before), without importing seaborn (about half a second in each process
    that draws a chart) or the whole-figure draw ``heatmap`` makes to check its tick labels."""
    colormap = matplotlib.colormaps[cmap]
    norm = matplotlib.colors.Normalize(vmin=vmin, vmax=vmax)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.pcolormesh(np.ma.masked_invalid(data), cmap=colormap, norm=norm, linewidths=0.5, edgecolor="white")
    ax.set(xlim=(0, data.shape[1]), ylim=(0, data.shape[0]))
    ax.invert_yaxis()
    ax.set(xticks=[], yticks=[], xlabel="", ylabel="")
    ax.set_facecolor(EMPTY_CELL)
    for (i, j), cell in np.ndenumerate(text):
        if not cell:
            continue
        v = data[i, j]
        color = text_color_on(colormap(norm(v))) if np.isfinite(v) else "#555555"
        ax.text(j + 0.5, i + 0.5, cell, color=color, ha="center", va="center", fontsize=SMALL_PT)
