"""Saving charts: a 300 dpi PNG and an SVG of each, the same bytes for the same figure, drawn in
parallel where possible.

:func:`save_figure` writes one figure's two files atomically with no timestamp or software tag;
:func:`save_figures` draws and saves a report's plan of figures inside :func:`.plots.theme`,
in the run's forked workers (:class:`~ppp_survey.workers.Workers`); :func:`figures_started` starts
them and lets the caller work meanwhile (the report writes its tables).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ppp_survey.files import atomic_output
from ppp_survey.outputs.plots import FIGURE_DPI, PNG_COMPRESS_LEVEL, theme
from ppp_survey.workers import Workers


def save_figure(fig, path: str | Path, *, svg: bool = True) -> Path:
    """Save a figure as PNG (``path``) and, with ``svg``, as SVG beside it (same name, ``.svg``),
    atomically, with no timestamp or software tag, and close it; returns the PNG's path.

    The image is matplotlib's own rendering at :data:`FIGURE_DPI`; it is written as RGB when every
    pixel is opaque (the charts are: the alpha channel carries nothing) and with zlib level
    :data:`PNG_COMPRESS_LEVEL`, which together encode in about half the time of matplotlib's
    default RGBA at level 6 for files of about the same size. The SVG draws text as outlines (it
    needs no font), has no date and salts its ids with ``svg.hashsalt`` (set by :func:`.plots.theme`).
    Same figure, same bytes.
    """
    p = Path(path)
    if svg:
        with atomic_output(p.with_suffix(".svg")) as tmp:
            fig.savefig(tmp, format="svg", metadata={"Date": None})
    with atomic_output(p) as tmp:
        image = _render_rgba(fig, FIGURE_DPI)
        if image is None:  # size not as expected: let matplotlib write it
            fig.savefig(
                tmp,
                format="png",
                metadata={"Software": None},
                dpi=FIGURE_DPI,
                pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
            )
        else:
            from PIL import Image

            height, width = image.shape[:2]
            picture = Image.frombuffer("RGBA", (width, height), image, "raw", "RGBA", 0, 1)
            if (image[:, :, 3] == 255).all():
                picture = picture.convert("RGB")  # in C: no strided copy of the array
            picture.save(tmp, format="png", dpi=(FIGURE_DPI, FIGURE_DPI), compress_level=PNG_COMPRESS_LEVEL)
    plt.close(fig)
    return p


def _render_rgba(fig, dpi: float) -> np.ndarray | None:
    """The figure as savefig renders it at ``dpi``, as an (height, width, 4) uint8 array."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="rgba", dpi=dpi)
    shown = fig.dpi
    try:  # the canvas size in pixels at the saving dpi, as the Agg canvas computes it
        fig.dpi = dpi
        width, height = fig.canvas.get_width_height(physical=True)
    finally:
        fig.dpi = shown
    data = buffer.getbuffer()
    if len(data) != width * height * 4:
        return None
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width, 4)


def save_figures(
    plan, folder: str | Path, *, workers: Workers | None = None, progress: Callable[[str], None] | None = None
) -> list[Path]:
    """Draw and save every ``(file name, draw)`` of ``plan`` into ``folder`` inside :func:`theme`,
    each as PNG and SVG; return the paths in plan order (each PNG, then its SVG). ``draw()`` returns
    the Axes of a new figure. ``progress(name)`` is called for each file written, in plan order.
    The same as :func:`figures_started` with nothing else to do meanwhile."""
    with figures_started(plan, folder, workers=workers) as figures:
        return figures.collect(progress)


@contextlib.contextmanager
def figures_started(plan, folder: str | Path, *, workers: Workers | None = None) -> Iterator[StartedFigures]:
    """Start drawing and saving ``plan`` (as :func:`save_figures`) and run the block meanwhile; the
    block ends with :meth:`StartedFigures.collect`. With ``workers`` allowing more than one process
    (default: :meth:`Workers.from_environment`) the figures are drawn in forked processes from the
    block's start, each figure whole in one process, so every file has the bytes a one-process run
    writes; with one process they are drawn at ``collect``. Leaving the block early (an error)
    ends the workers; their partial files are the caller's staging folder's to discard."""
    folder = Path(folder)
    plan = list(plan)
    workers = workers or Workers.from_environment()
    if workers.for_tasks(len(plan)) <= 1:
        yield StartedFigures(plan, folder, None)
        return
    # only the workers hold the plan (its draw functions are closures): the calling process keeps no state
    with workers.started(_draw_and_save, len(plan), setup=_receive_plan, setup_args=(plan, folder)) as results:
        yield StartedFigures(plan, folder, results)


@dataclass
class StartedFigures:
    """A plan of figures being drawn (:func:`figures_started`); ``results`` yields each file name as
    the workers finish it, in plan order (``None``: draw here at :meth:`collect`)."""

    plan: list
    folder: Path
    results: Iterator[str] | None

    def collect(self, progress: Callable[[str], None] | None = None) -> list[Path]:
        """Wait for every figure (or draw them here); each PNG then its SVG, in plan order."""
        names = []
        for name in self._saved():
            names.append(name)
            if progress is not None:
                progress(name)
        return _written(self.folder, names)

    def _saved(self) -> Iterator[str]:
        """Each figure's file name once it is saved: by the workers, or drawn here one by one."""
        if self.results is not None:
            yield from self.results
            return
        with theme():
            for name, draw in self.plan:
                save_figure(draw().figure, self.folder / name)
                yield name


def _written(folder: Path, names: list[str]) -> list[Path]:
    """Each chart's PNG and SVG, in plan order."""
    return [p for name in names for p in (folder / name, (folder / name).with_suffix(".svg"))]


_WORKER_PLAN: tuple | None = None  # set in each forked worker by _receive_plan


def _receive_plan(plan, folder) -> None:
    global _WORKER_PLAN
    _WORKER_PLAN = (plan, folder)


def _draw_and_save(index: int) -> str:
    if _WORKER_PLAN is None:
        raise RuntimeError("_draw_and_save runs in a worker started with _receive_plan")
    plan, folder = _WORKER_PLAN
    name, draw = plan[index]
    with theme():
        save_figure(draw().figure, folder / name)
    return name
