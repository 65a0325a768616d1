"""Charts: matplotlib drawing of tables the library has already computed.

Statistics live elsewhere; a plot function takes a tidy table, draws it on ``ax`` (a new figure when
``ax`` is None) and returns the Axes. Japanese text is set in IPAexGothic, the font bundled with
matplotlib-fontja, so charts render with no missing glyph on a machine with no CJK fonts. Styles
apply inside :func:`theme` (``plt.rc_context``): the library never changes global matplotlib state.
Every chart carries its base (n) and a source note; :func:`save_figure` writes PNGs without a
timestamp so the same table gives the same bytes.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager

from .files import atomic_output
from .fmt import pct

FONT_FAMILY = "IPAexGothic"
BAR_COLOR = "#2b6a99"
FIGURE_DPI = 150


def font_path() -> Path:
    """Path of IPAexGothic as bundled by matplotlib-fontja (found without importing the package,
    whose import changes matplotlib's global rcParams)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib-fontja is not installed; run 'pip install matplotlib-fontja'")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"


@contextlib.contextmanager
def theme() -> Iterator[None]:
    """Apply the package's chart style (Japanese font, quiet axes) for the duration of a block."""
    path = str(font_path())
    if path not in {f.fname for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(path)
    rc = {
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
    with plt.rc_context(rc):
        yield


def add_footer(fig, *, base: str, note: str) -> None:
    """Write the base (n) and the source note under the plot area."""
    fig.text(0.01, 0.012, f"{base}\n{note}", ha="left", va="bottom", fontsize=7.5, color="#444444", linespacing=1.5)


def save_figure(fig, path: str | Path) -> Path:
    """Save a figure as PNG atomically, with no timestamp or software tag, and close it."""
    p = Path(path)
    with atomic_output(p) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None}, dpi=FIGURE_DPI)
    plt.close(fig)
    return p


def plot_response_rates(rates: pd.DataFrame, *, ax=None, title: str = "職域別の回答率", note: str = ""):
    """Horizontal bars of the response rate per 職域, with the overall rate as a reference line.

    ``rates`` is the table of :func:`ppp_survey.rates.response_rates`; labels show the rate and
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
    ax.text(100 * total["rate"], len(body) - 0.35, f"全体 {pct(total['rate'])}%", color="#c0392b",
            ha="left", va="bottom", fontsize=8)
    for yi, v, r in zip(y, values, body.itertuples()):
        ax.text(v + 1, yi, f"{pct(r.rate)}%（{r.respondents:,}/{r.population:,}）", va="center", fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("回答率（%）")
    ax.set_title(title)
    add_footer(fig, base=f"n = 職員{int(total['population']):,}人（回答者{int(total['respondents']):,}人）", note=note)
    return ax
