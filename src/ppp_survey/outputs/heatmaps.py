"""Heatmaps by 職域 for an A4 page: one row per choice, one column for 全体 and each group.

A question with a dozen choices and nine 職域 does not fit 16 cm with the choices as columns (their
headers need several lines of several characters each); with the choices as rows and the groups as
columns it does: the group names are short and, where one does not fit its column, every header is
set vertically (縦書き). Each column's base n stands under its header. Cells are drawn by seaborn's
``heatmap``; their text is white or dark grey, whichever contrasts more with the cell.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ppp_survey.constants import ALL, MARK_RULE_SHORT
from ppp_survey.outputs.chart_layout import (
    PAGE_WIDTH_IN,
    SMALL_PT,
    add_footer,
    fit_height,
    fit_left_margin,
    held_groups,
    method_text,
    tategaki,
    text_color_on,
)
from ppp_survey.text import p_text, pct, wrap_ja

ROW_LABEL_WIDTH = 14  # characters per line of a row label (a choice)
HEADER_WIDTH = 4  # characters per line of a horizontal column header (a group)
ROW_PT = SMALL_PT + 0.5  # row labels
LINE_IN = ROW_PT * 1.2 / 72  # one line of a row label, in inches
EMPTY_CELL = "#eeeeee"  # suppressed or empty cells are left uncoloured on this face


def plot_heatmap(
    crosstab,
    *,
    weighted: bool = False,
    ax=None,
    title: str | None = None,
    note: str = "",
    overall: pd.DataFrame | None = None,
):
    """Shares by choice (rows) and group (columns) of a :class:`~ppp_survey.survey.tables.Crosstab`,
    with its ▲▼ marks; ``overall``, the question's :func:`~ppp_survey.survey.tables.tally` for
    全体, adds a first column 全体 to compare the groups with. Returns the Axes."""
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
    tests = crosstab.tests
    test_text = "" if item.is_multi else f"Rao–Scott検定 {p_text(tests['p_value'].iloc[0])}　"
    legend = (
        "▲▼: その他の回答者より有意に高い/低い(1%) △▽: 同(5%)"
        f"（{MARK_RULE_SHORT[crosstab.marks]}）　※基数30未満は参考値（検定なし）"
        + ("　x: 秘匿（匿名性の確保）" if (text == "x").any() else "")
    )
    n_total = int(bases.drop(index=ALL, errors="ignore")["base_n"].sum())
    return grid_chart(
        data.T,
        text.T,
        rows=[c.label for c in item.choices],
        columns=groups,
        notes=notes,
        vmin=0.0,
        vmax=max(50.0, float(np.nanmax(data))) if np.isfinite(data).any() else 50.0,
        cmap="Blues",
        title=title or f"{item.number} {item.label}（{crosstab.by_label}別）",
        footer=f"n = {n_total:,}（列見出しの下の数は各列の基数）　{test_text}\n{legend}\n{method_text(weighted)}",
        note=note,
        first_apart=overall is not None,
        ax=ax,
    )


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
):
    """A heatmap (``data``: rows × columns, each cell's ``text``) with row labels at the left, column
    headers and their ``notes`` (bases) on top, title and footer, sized for the page when it makes
    its figure. ``first_apart`` sets the first column (全体) apart by a wider white line."""
    own = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 5.0))
        fig.subplots_adjust(right=0.985)
    fig = ax.figure
    draw_heatmap(ax, data, text, vmin=vmin, vmax=vmax, cmap=cmap)
    row_labels = [wrap_ja(str(r), ROW_LABEL_WIDTH) for r in rows]
    ax.set_yticks(np.arange(len(rows)) + 0.5, row_labels, rotation=0, va="center", fontsize=ROW_PT, linespacing=1.1)
    ax.tick_params(length=0)
    fit_left_margin(ax)
    ax.xaxis.tick_top()
    _column_headers(ax, columns, notes)
    if first_apart:
        ax.axvline(1, color="white", lw=3)
    ax.set_title(title, pad=6)
    add_footer(fig, base=footer, note=note)
    if own:
        lines = max((label.count("\n") + 1 for label in row_labels), default=1)
        fit_height(ax, axes_height=len(rows) * max(0.26, lines * LINE_IN + 0.07))
    return ax


def _column_headers(ax, columns: list[str], notes: list[str]) -> None:
    """Column headers with the base under each: horizontal (broken at phrase boundaries) when
    every one fits its column, else all vertical (縦書き)."""
    renderer = ax.figure.canvas.get_renderer()
    room = ax.get_window_extent(renderer).width / max(1, len(columns)) - 3 * ax.figure.dpi / 72
    ticks = np.arange(len(columns)) + 0.5
    across = [f"{wrap_ja(str(c), HEADER_WIDTH)}\n{n}" for c, n in zip(columns, notes)]
    ax.set_xticks(ticks, across, rotation=0, fontsize=SMALL_PT, linespacing=1.15)
    if max((t.get_window_extent(renderer).width for t in ax.get_xticklabels()), default=0.0) <= room:
        return
    down = [f"{tategaki(str(c))}\n{n}" for c, n in zip(columns, notes)]
    ax.set_xticks(ticks, down, rotation=0, fontsize=SMALL_PT, linespacing=1.0, va="bottom")


def draw_heatmap(
    ax, data: np.ndarray, text: np.ndarray, *, vmax: float, vmin: float = 0.0, cmap: str = "Blues"
) -> None:
    """seaborn's ``heatmap`` with each cell's text: white cell borders, no colour bar, the text in
    white or dark grey by contrast with the cell (:func:`.chart_layout.text_color_on`). NaN cells
    are masked (uncoloured: the Axes' grey face shows) and carry their text (x 秘匿, - no value)
    in grey."""
    import seaborn as sns

    sns.heatmap(
        np.ma.masked_invalid(data),
        ax=ax,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        cbar=False,
        linewidths=0.5,
        linecolor="white",
        xticklabels=False,
        yticklabels=False,
    )
    ax.set_facecolor(EMPTY_CELL)
    colormap = matplotlib.colormaps[cmap]
    norm = matplotlib.colors.Normalize(vmin=vmin, vmax=vmax)
    for (i, j), cell in np.ndenumerate(text):
        if not cell:
            continue
        v = data[i, j]
        color = text_color_on(colormap(norm(v))) if np.isfinite(v) else "#555555"
        ax.text(j + 0.5, i + 0.5, cell, color=color, ha="center", va="center", fontsize=SMALL_PT)
