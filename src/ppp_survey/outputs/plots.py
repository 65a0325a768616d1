"""Charts: matplotlib drawing of tables the library has already computed.

Statistics live elsewhere; a plot function takes a tidy table, draws it on ``ax`` (a new figure when
``ax`` is None) and returns the Axes. Japanese text is set in IPAexGothic, the font bundled with
matplotlib-fontja, so charts render with no missing glyph on a machine with no CJK fonts. Styles
apply inside :func:`theme`, which restores the settings it changed: the library never changes global
matplotlib state.
Every chart carries its base (n) and a source note; :mod:`.figure_files` writes the PNGs.
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

from ppp_survey.constants import MARK_RULE_SHORT
from ppp_survey.survey.indicators import favourable_first
from ppp_survey.text import p_text, pct, wrap_ja

if TYPE_CHECKING:  # matplotlib >= 3.10 names the rcParams keys; older versions run unchecked
    from matplotlib.typing import RcKeyType

FONT_FAMILY = "IPAexGothic"
BAR_COLOR = "#2b6a99"
FIGURE_DPI = 150
PNG_COMPRESS_LEVEL = 2  # zlib level of the PNGs (matplotlib/Pillow default: 6)
MIN_HEATMAP_WIDTH = 10.5  # inches: room for the title and the one-line legend of a heatmap with few columns


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
    "axes.titlesize": 12,
    "axes.titlelocation": "left",
    "font.size": 9,
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


def add_footer(fig, *, base: str, note: str) -> None:
    """Write the base (n) and the source note under the plot area."""
    fig.text(0.01, 0.012, f"{base}\n{note}", ha="left", va="bottom", fontsize=7.5, color="#444444", linespacing=1.5)


def fit_left_margin(ax, *, pad: float = 0.015) -> None:
    """Move the plot area's left edge so the longest y tick label fits (labels are Japanese text
    of very different lengths, so a fixed margin either clips them or wastes space)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    widths = [t.get_window_extent(renderer).width for t in ax.get_yticklabels()] or [0.0]
    left = max(widths) / fig.bbox.width + pad + 0.01
    fig.subplots_adjust(left=min(0.6, left))


def plot_response_rates(rates: pd.DataFrame, *, ax=None, title: str = "職域別の回答率", note: str = ""):
    """Horizontal bars of the response rate per 職域, with the overall rate as a reference line.

    ``rates`` is the table of :func:`ppp_survey.survey.rates.response_rates`; labels show the rate and
    ``回答者数/職員数``.
    """
    body = rates[rates["domain"].astype(str) != "全体"].iloc[::-1]
    total = rates[rates["domain"].astype(str) == "全体"].iloc[0]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(body) + 1.9))
        fig.subplots_adjust(left=0.2, right=0.86, top=0.88, bottom=0.2)
    fig = ax.figure
    y = np.arange(len(body))
    values = 100 * body["rate"].to_numpy(dtype=float)
    ax.barh(y, values, color=BAR_COLOR, height=0.62)
    ax.set_yticks(y, body["domain"].astype(str))
    ax.axvline(100 * total["rate"], color="#c0392b", lw=1, ls="--")
    ax.text(
        100 * total["rate"],
        len(body) - 0.35,
        f"全体 {pct(total['rate'])}%",
        color="#c0392b",
        ha="left",
        va="bottom",
        fontsize=8,
    )
    for yi, v, r in zip(y, values, body.itertuples()):
        ax.text(v + 1, yi, f"{pct(r.rate)}%（{r.respondents:,}/{r.population:,}）", va="center", fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("回答率（%）")
    ax.set_title(title)
    add_footer(fig, base=f"n = 職員{int(total['population']):,}人（回答者{int(total['respondents']):,}人）", note=note)
    fit_left_margin(ax)
    return ax


# ------------------------------------------------------------------------ charts of section 2

LIKERT_POSITIVE = ["#1f5f99", "#7fb2dc"]  # strong, weak
LIKERT_NEGATIVE = ["#e8a07d", "#c4532b"]  # weak, strong
OFFSCALE_COLOR = "#bdbdbd"
STACK_COLORS = ["#1f5f99", "#7fb2dc", "#e8a07d", "#c4532b", "#8c8c8c", "#bdbdbd"]


def _values(table: pd.DataFrame, weighted: bool) -> np.ndarray:
    return 100 * (table["estimate"] if weighted else table["share"]).to_numpy(dtype=float)


def _row_label(group: str, base: int) -> str:
    return f"{group}（n={base:,}）"


def _base_text(table: pd.DataFrame) -> str:
    first = table.iloc[0]
    text = f"n = {int(first['base_n']):,}"
    if int(first["no_answer_n"]):
        text += f"（無回答{int(first['no_answer_n']):,}人を除く）"
    return text


def _method_text(weighted: bool) -> str:
    return (
        "数値は職域別の事後層化推定値（職員全体の推計）。ひげは95%信頼区間"
        if weighted
        else "数値は回答者に占める割合（%）"
    )


def plot_stacked(  # noqa: C901 (draws one chart; branches are label placement cases)
    table: pd.DataFrame, item, *, weighted: bool = False, ax=None, title: str | None = None, note: str = ""
):
    """100% stacked horizontal bars of a single-answer question, one bar per group.

    Likert items (``item.type == "likert"``) diverge around the neutral point: the positive half
    of the scale to the right of zero, the negative half to the left, off-scale answers (わからない)
    in a grey column at the right. Other single-answer items stack from zero. ``table`` is a
    :func:`ppp_survey.survey.tables.tally` result with the groups to show (全体 first).
    """
    groups = list(dict.fromkeys(table["group"]))
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.6, 0.46 * len(groups) + 2.5))
        fig.subplots_adjust(left=0.2, right=0.86 if item.type == "likert" else 0.97, top=0.78, bottom=0.17)
    fig = ax.figure
    y = np.arange(len(groups))[::-1]
    handles = []
    if item.type == "likert":
        ordered = favourable_first(item)
        half = len(ordered) // 2
        positive, negative = ordered[:half], ordered[len(ordered) - half :]
        neutral = ordered[half : len(ordered) - half]
        offscale = [c for c in item.choices if c.score is None]
    held = _held(table)
    values: dict = {}  # group → {code: value}, in one pass rather than a filter per group
    for g, code, v in zip(table["group"].tolist(), table["code"].tolist(), _values(table, weighted).tolist()):
        values.setdefault(g, {})[code] = v
    shown = [(yi, g) for yi, g in zip(y, groups) if not held.get(g, False)]
    if item.type == "likert":
        # draw from the most negative (leftmost) to the most positive
        segments = [*negative[::-1], *neutral, *positive[::-1]]
        colors = {
            **{c.code: col for c, col in zip(negative, LIKERT_NEGATIVE)},  # weak, strong
            **{c.code: "#d9d9d9" for c in neutral},
            **{c.code: col for c, col in zip(positive, LIKERT_POSITIVE[: len(positive)])},
        }
        dark = {c.code: colors[c.code] in (LIKERT_POSITIVE[0], LIKERT_NEGATIVE[-1]) for c in segments}
    else:
        segments = list(item.choices)
        colors = {c.code: STACK_COLORS[k % len(STACK_COLORS)] for k, c in enumerate(item.choices)}
        dark = {c.code: k in (0, 3, 4) for k, c in enumerate(item.choices)}
    rows = {g: values[g] for _, g in shown}
    starts = {}  # (group, code) → left end of the segment
    for _, g in shown:
        v = rows[g]
        left = -sum(v[c.code] for c in negative) - sum(v[c.code] for c in neutral) / 2 if item.type == "likert" else 0.0
        for c in segments:
            starts[g, c.code] = left
            left += v[c.code]
    # one barh per choice across the groups (rows never overlap: the same picture as one bar at a time)
    for c in segments:
        if not shown:
            break
        bar = ax.barh(
            [yi for yi, _ in shown],
            [rows[g][c.code] for _, g in shown],
            left=[starts[g, c.code] for _, g in shown],
            color=colors[c.code],
            height=0.62,
            label=c.label,
            edgecolor="white",
            linewidth=0.5,
        )
        if shown[0][0] == y[0]:
            handles.append((c, bar))
    for yi, g in zip(y, groups):
        if held.get(g, False):  # anonymity: a small group is not drawn
            ax.text(
                0.5 if item.type != "likert" else 0.0,
                yi,
                SUPPRESSED_TEXT,
                ha="center",
                va="center",
                fontsize=8,
                color="#555555",
                transform=ax.get_yaxis_transform() if item.type != "likert" else ax.transData,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
            )
            continue
        v = rows[g]
        for c in segments:
            _label_segment(ax, starts[g, c.code], v[c.code], yi, dark=dark[c.code])
        if item.type == "likert":
            for k, c in enumerate(offscale):
                ax.text(
                    1.02 + 0.07 * k,
                    yi,
                    f"{round_half_up_text(v[c.code])}",
                    transform=ax.get_yaxis_transform(),
                    va="center",
                    ha="left",
                    fontsize=8,
                    color="#555555",
                )
    bases = table.drop_duplicates("group").set_index("group")["base_n"]
    ax.set_yticks(y, [_row_label(g, int(bases[g])) for g in groups])
    ax.set_ylim(-0.6, len(groups) - 0.4)
    if item.type == "likert":
        ax.axvline(0, color="#333333", lw=0.8)
        lim = 100
        ax.set_xlim(-lim, lim)
        ax.set_xticks([-100, -50, 0, 50, 100], ["100", "50", "0", "50", "100"])
        for k, c in enumerate(offscale):  # header of the off-scale column, just above the first row
            ax.text(
                1.02 + 0.07 * k,
                y[0] + 0.5,
                c.label,
                transform=ax.get_yaxis_transform(),
                ha="left",
                va="bottom",
                fontsize=8,
                color="#555555",
            )
    else:
        ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.legend(
        [h for _, h in handles],
        [c.label for c, _ in handles],
        loc="lower left",
        bbox_to_anchor=(0, 1.01),
        ncol=min(len(handles), 4),
        frameon=False,
        fontsize=8,
    )
    ax.set_title(title or f"{item.number} {item.label}", pad=34 if len(handles) <= 4 else 48)
    add_footer(fig, base=f"{_base_text(table)}　{_method_text(weighted)}", note=note)
    fit_left_margin(ax)
    return ax


SUPPRESSED_TEXT = "x（匿名性確保のため非表示）"


def _held(table: pd.DataFrame) -> dict:
    """group → suppressed? (tables without the column: nothing suppressed)."""
    if "suppressed" not in table.columns:
        return {}
    return table.groupby("group", sort=False)["suppressed"].any().to_dict()


def round_half_up_text(value: float) -> str:
    return f"{pct(value / 100)}%"


def _label_segment(ax, left: float, width: float, y: float, *, dark: bool) -> None:
    if width >= 4:
        ax.text(
            left + width / 2,
            y,
            pct(width / 100),
            ha="center",
            va="center",
            fontsize=7.5,
            color="white" if dark else "#222222",
        )


def plot_multi(table: pd.DataFrame, item, *, weighted: bool = False, ax=None, title: str | None = None, note: str = ""):
    """Horizontal bars of a multi-select question, ranked by % of respondents (その他/特にない last).

    ``table`` is a :func:`ppp_survey.survey.tables.tally` result for one group. With ``weighted=True`` the
    bars are the design-based estimates with 95% CI whiskers.
    """
    t = table.reset_index(drop=True)
    special = {c.code for c in item.choices if c.other or c.exclusive}
    value = _values(t, weighted)
    main = sorted((i for i in range(len(t)) if t.loc[i, "code"] not in special), key=lambda i: -value[i])
    rest = [i for i in range(len(t)) if t.loc[i, "code"] in special]
    order = main + rest
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.6, 0.46 * len(order) + 1.9))
        fig.subplots_adjust(left=0.45, right=0.93, top=0.9, bottom=0.16)
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
    ax.set_yticks(y, [_wrap(t.loc[i, "label"], 22) for i in order], fontsize=8.5)
    top = float(np.nanmax(v if xerr is None else v + xerr[1])) if len(v) else 100
    ends = v if xerr is None else v + xerr[1]
    for yi, val, end in zip(y, v, ends):
        ax.text(end + top * 0.012, yi, f"{pct(val / 100)}%", va="center", ha="left", fontsize=8)
    ax.set_xlim(0, max(10.0, top * 1.15))
    ax.set_xlabel("回答者に占める割合（%）" if not weighted else "推定割合（%）")
    ax.set_title(title or f"{item.number} {item.label}")
    add_footer(fig, base=f"{_base_text(t)}　複数回答　{_method_text(weighted)}", note=note)
    fit_left_margin(ax)
    return ax


def plot_heatmap(crosstab, *, weighted: bool = False, ax=None, title: str | None = None, note: str = ""):
    """Shares by group (rows) and choice (columns) of a :class:`~ppp_survey.survey.tables.Crosstab`, with ▲▼ marks.

    Drawn with seaborn's ``heatmap`` (:func:`draw_heatmap`).
    """
    cells = crosstab.cells
    item = crosstab.item
    groups = list(dict.fromkeys(cells["group"]))
    value = cells.assign(v=100 * (cells["estimate"] if weighted else cells["share"]))
    grid = value.pivot(index="group", columns="code", values="v").reindex(
        index=groups, columns=[c.code for c in item.choices]
    )
    marks = value.pivot(index="group", columns="code", values="mark").reindex(index=grid.index, columns=grid.columns)
    held = _held(cells)
    held_grid = np.array([[held.get(g, False)] * grid.shape[1] for g in grid.index], dtype=bool)
    text = np.vectorize(lambda v, m, h: "x" if h else ("-" if not np.isfinite(v) else f"{pct(v / 100)}{m}"))(
        grid.to_numpy(float), marks.fillna("").to_numpy(object), held_grid
    )
    if ax is None:
        height = 0.42 * len(groups) + 3.0
        fig, ax = plt.subplots(figsize=(max(MIN_HEATMAP_WIDTH, 1.0 * len(item.choices) + 3.2), height))
        fig.subplots_adjust(left=0.2, right=0.98, top=1 - 1.55 / height, bottom=0.75 / height)
    fig = ax.figure
    data = grid.to_numpy(float)
    draw_heatmap(ax, data, text, vmax=max(50.0, float(np.nanmax(data))))
    ax.set_facecolor("#eeeeee")  # suppressed cells (NaN) are left uncoloured, with their x
    bases = cells.drop_duplicates("group").set_index("group")
    ylabels = [
        _row_label(g, int(bases.loc[g, "base_n"])) + ("※" if bases.loc[g, "reference"] and not held.get(g) else "")
        for g in groups
    ]
    ax.set_yticks(np.arange(len(groups)) + 0.5, ylabels, rotation=0, va="center")
    ax.set_xticks(np.arange(len(item.choices)) + 0.5, [_wrap(c.label) for c in item.choices], rotation=0, fontsize=7.5)
    ax.xaxis.tick_top()
    ax.set_title(title or f"{item.number} {item.label}（{crosstab.by_label}別）", pad=58)
    tests = crosstab.tests
    test_text = "" if item.is_multi else f"Rao–Scott検定 {p_text(tests['p_value'].iloc[0])}　"
    legend = (
        "▲▼: その他の回答者より有意に高い/低い(1%) △▽: 同(5%)"
        f"（{MARK_RULE_SHORT[crosstab.marks]}）　※基数30未満は参考値（検定なし）"
        + ("　x: 秘匿（匿名性の確保）" if (text == "x").any() else "")
    )
    n_total = int(bases["base_n"].sum())
    add_footer(
        fig, base=f"n = {n_total:,}（各行の n は行の基数）　{test_text}\n{legend}　{_method_text(weighted)}", note=note
    )
    fit_left_margin(ax)
    return ax


def draw_heatmap(
    ax, data: np.ndarray, text: np.ndarray, *, vmax: float, vmin: float = 0.0, cmap: str = "Blues"
) -> None:
    """seaborn's ``heatmap`` with each cell's text: white cell borders, the text in dark grey or white
    by the cell's luminance, no colour bar. NaN cells are masked (uncoloured: the Axes' face shows)
    and carry their text (x 秘匿, - no value) in grey, which seaborn does not annotate."""
    import seaborn as sns

    sns.heatmap(
        np.ma.masked_invalid(data),
        ax=ax,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        annot=text,
        fmt="",
        annot_kws={"fontsize": 7.5},
        cbar=False,
        linewidths=0.5,
        linecolor="white",
        xticklabels=False,
        yticklabels=False,
    )
    for i, j in zip(*np.nonzero(~np.isfinite(data))):
        if text[i, j]:
            ax.text(j + 0.5, i + 0.5, text[i, j], color="#555555", ha="center", va="center", fontsize=7.5)


def _wrap(label: str, width: int = 7) -> str:
    """A label broken into lines of about ``width`` characters at Japanese phrase boundaries."""
    return wrap_ja(str(label), width)
