"""Charts ready for an A4 committee paper (issue 17, items 6 and 7), checked on the drawn artists and
the renderer's bounding boxes: every chart the report draws (``figure_plan``, plain and
``--weighted``, and the change charts of ``--compare``) is 16 cm wide with no text under 8 pt once
placed at that width, keeps its text inside the figure with no empty band above the title, gives
every segment a readable value (inside its segment or off the bars, never two labels on each other),
labels in WCAG 2 AA contrast with what is behind them, no label crossed by 2-00's reference line,
heatmaps with a 全体 column, footers that name their numbers; PNG and SVG files of the same bytes
on every run."""

from __future__ import annotations

import re
from itertools import combinations

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from conftest import REPO
from ppp_survey import compare as cmp
from ppp_survey.analysis import analyse
from ppp_survey.outputs import plots
from ppp_survey.outputs.captions import source_note
from ppp_survey.outputs.change_sheets import change_figure_plan
from ppp_survey.outputs.chart_layout import (
    MIN_CONTRAST,
    MIN_TEXT_PT,
    PAGE_WIDTH_IN,
    PLAIN_NUMBERS,
    WEIGHTED_NUMBERS,
    contrast_ratio,
)
from ppp_survey.report.cli import figure_name, figure_plan
from ppp_survey.spec.mapping import load_mapping

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)

A4_TEXT_HEIGHT_IN = (29.7 - 5.0) / 2.54  # A4 with 2.5 cm margins
VALUE = re.compile(r"^\d+\.\d$")  # a segment's value label ('43.1')


@pytest.fixture(scope="module")
def analysis(baseline, frame, codebook):
    return analyse(baseline.responses, frame, codebook)


@pytest.fixture(scope="module")
def charts(analysis):
    """Every chart drawn once (plain, weighted, change charts), laid out by a first draw: on an Agg canvas
    of its own, without rasterising (``draw_without_rendering``: every artist is laid out and measured
    by that canvas's Agg renderer at the figure's dpi, the boxes of a full draw to the last bit; only
    the pixels, which no check reads, are not painted)."""
    note = source_note(analysis, synthetic=True)
    plan = [(f"plain/{n}", d) for n, d in figure_plan(analysis, weighted=False, note=note)]
    plan += [(f"weighted/{n}", d) for n, d in figure_plan(analysis, weighted=True, note=note)]
    r8 = cmp.load_wave(
        REPO / "data/raw/synthetic_r8_responses.xlsx", REPO / "data/raw/staff_frame_r8.csv", "codebook_r8.yaml"
    )
    base = cmp.load_baseline(REPO / "data/processed/baseline_r7")
    changes = cmp.compare(base, r8, load_mapping("mapping_r7_r8.yaml", base.codebook, r8.codebook))
    plan += [(f"change/{n}", d) for n, d in change_figure_plan(changes, r8.codebook, figure_name, note=changes.note)]
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    drawn = {}
    with plots.theme():
        for name, draw in plan:
            ax = draw()
            plt.close(ax.figure)  # out of pyplot's care, on a canvas of its own, drawn once
            FigureCanvasAgg(ax.figure)
            ax.figure.draw_without_rendering()
            drawn[name] = ax
    return drawn


def _texts(fig) -> list[Text]:
    if not hasattr(fig.canvas, "get_renderer"):  # pyplot closed the figure (conftest): draw on Agg again
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig).draw()
    hidden = set()  # labels of ticks outside the view limits: matplotlib keeps them but never draws them
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    hidden |= {id(tick.label1), id(tick.label2)}
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def _box(t: Text):
    return t.get_window_extent(t.figure.canvas.get_renderer())


def _overlap(a, b, tol: float = 0.5) -> bool:
    return a.x0 < b.x1 - tol and b.x0 < a.x1 - tol and a.y0 < b.y1 - tol and b.y0 < a.y1 - tol


def _kind(name: str) -> str:
    base = name.split("/", 1)[1]
    if name.startswith("change/"):
        return "change"
    if base.startswith("2-00"):
        return "rates"
    if "オッズ比" in base:
        return "odds"  # the forest plot of issue 19: odds ratios, not shares
    return "heatmap" if base.endswith("職域別.png") else "chart"


def test_every_chart_is_16cm_wide_and_no_text_is_under_8pt_once_placed(charts):
    """A figure W inches wide placed at the 16 cm text width scales its text by 6.3 / W; every text
    element's size times that is at least 8 pt, and the chart fits the A4 text height."""
    assert len(charts) == 16 * 2 + 15  # 15 + the forest plot, plain and --weighted; 15 change charts
    smallest = {}
    for name, ax in charts.items():
        fig = ax.figure
        width, height = fig.get_size_inches()
        assert width == pytest.approx(PAGE_WIDTH_IN), name
        assert height <= A4_TEXT_HEIGHT_IN, (name, height)
        scale = PAGE_WIDTH_IN / width
        sizes = {t.get_text()[:20]: t.get_fontsize() * scale for t in _texts(fig)}
        smallest[name] = min(sizes.values())
        assert smallest[name] >= MIN_TEXT_PT, (name, min(sizes.items(), key=lambda kv: kv[1]))
    assert min(smallest.values()) == pytest.approx(MIN_TEXT_PT)


def test_text_stays_inside_the_figure_and_no_band_is_left_empty(charts):
    for name, ax in charts.items():
        fig = ax.figure
        page = fig.bbox
        boxes = [_box(t) for t in _texts(fig)]
        for t, b in zip(_texts(fig), boxes):
            assert page.x0 - 1 <= b.x0 and b.x1 <= page.x1 + 1 and page.y0 - 1 <= b.y0 and b.y1 <= page.y1 + 1, (
                name,
                t.get_text()[:30],
            )
        top = max(b.y1 for b in boxes)
        assert (page.y1 - top) / fig.dpi <= 0.12, (name, "empty band above the title")
        assert min(b.y0 for b in boxes) / fig.dpi <= 0.12, (name, "empty band under the footer")


def test_no_two_texts_overlap(charts):
    """No label lies on another (tick labels, values, callouts, headers, legend, title, footer)."""
    for name, ax in charts.items():
        texts = _texts(ax.figure)
        boxes = [_box(t) for t in texts]
        for (ta, a), (tb, b) in combinations(zip(texts, boxes), 2):
            assert not _overlap(a, b), (name, ta.get_text()[:20], tb.get_text()[:20])


def _bars(ax) -> list[Rectangle]:
    from matplotlib.container import BarContainer

    return [p for c in ax.containers if isinstance(c, BarContainer) for p in c.patches if p.get_width() > 0]


def test_every_segment_shows_its_value_inside_it_or_off_the_bars(charts):
    """Each segment of a stacked chart has one value label: inside the segment when it fits
    (2-06 技術 "6.1" no longer spills onto its neighbour), else above the bar where no bar is."""
    checked = 0
    for name, ax in charts.items():
        if _kind(name) != "chart" or not ax.containers or "複数" in ax.get_title(loc="left"):
            continue
        _texts(ax.figure)
        bars = _bars(ax)
        if len({round(p.get_y(), 6) for p in bars}) < 2:
            continue  # a multi-select chart: one bar per choice, value at its end
        labels = [t for t in ax.texts if VALUE.match(t.get_text())]
        assert sorted(t.get_text() for t in labels) == sorted(plots.pct(p.get_width() / 100) for p in bars), name
        boxes = {p: p.get_window_extent() for p in bars}
        for t in labels:
            b = _box(t)
            inside = [
                p for p, pb in boxes.items() if pb.x0 <= b.x0 and b.x1 <= pb.x1 and pb.y0 <= b.y0 and b.y1 <= pb.y1
            ]
            touching = [p for p, pb in boxes.items() if _overlap(b, pb)]
            assert inside or not touching, (name, t.get_text())
            assert not inside or len(touching) == 1, (name, t.get_text(), "crosses a segment's edge")
            checked += 1
    assert checked > 250


def _bar_boxes(ax) -> list:
    """Each bar of a chart with its extent on the drawn figure, in drawing order: measured once per
    chart, not once per label (the figure is not drawn again in between)."""
    return [(p, p.get_window_extent()) for p in _bars(ax)]


def _background(ax, t: Text, bar_boxes):
    """The colour under a label's centre: the last-drawn bar there (``_bar_boxes(ax)``), else the
    plot area's face."""
    b = _box(t)
    cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
    under = [p for p, box in bar_boxes if box.contains(cx, cy)]
    return under[-1].get_facecolor() if under else ax.get_facecolor()


def test_value_labels_contrast_with_what_is_behind_them(charts):
    """WCAG 2 AA for normal text, 4.5:1 (every label is 8 pt regular, so the 3:1 of large text
    never applies): bar segments' values and heatmap cells' values."""
    worst = np.inf
    for name, ax in charts.items():
        _texts(ax.figure)
        if _kind(name) in ("chart", "rates"):
            bar_boxes = _bar_boxes(ax)
            for t in ax.texts:
                if VALUE.match(t.get_text()) or t.get_text().endswith("%"):
                    ratio = contrast_ratio(t.get_color(), _background(ax, t, bar_boxes))
                    worst = min(worst, ratio)
                    assert ratio >= MIN_CONTRAST, (name, t.get_text(), ratio)
        else:
            mesh = next((c for c in ax.collections if isinstance(c, QuadMesh)), None)
            if mesh is None:  # a dumbbell of changes: text on white only
                continue
            data = np.ma.masked_invalid(np.asarray(mesh.get_array(), dtype=float).reshape(-1))
            ncol = int(round(ax.get_xlim()[1]))
            for t in ax.texts:
                x, y = t.get_position()
                v = data[int(y) * ncol + int(x)]
                cell = ax.get_facecolor() if np.ma.is_masked(v) else mesh.cmap(mesh.norm(v))
                ratio = contrast_ratio(t.get_color(), cell)
                worst = min(worst, ratio)
                assert ratio >= MIN_CONTRAST, (name, t.get_text(), ratio)
    assert worst >= MIN_CONTRAST


def test_no_label_is_crossed_by_the_reference_line(charts):
    """2-00: the dashed 全体 line crosses no text (renderer bounding boxes, the line's full height)."""
    for key in ("plain/2-00_職域別回答率.png", "weighted/2-00_職域別回答率.png"):
        ax = charts[key]
        (line,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        x = ax.transData.transform((line.get_xdata()[0], 0))[0]
        box = ax.get_window_extent()
        crossed = [
            t.get_text()
            for t in _texts(ax.figure)
            if _box(t).x0 - 1 <= x <= _box(t).x1 + 1 and _box(t).y0 < box.y1 and _box(t).y1 > box.y0
        ]
        assert not crossed, crossed


def test_heatmaps_have_a_total_column(charts, analysis, codebook):
    """Each heatmap by 職域: one row per choice, 全体 first then each 職域; the 全体 column shows the
    question's overall shares."""
    for item in codebook.tabulated:
        ax = charts[f"plain/{figure_name(item, '_職域別')}"]
        headers = [t.get_text().replace("\n", "") for t in ax.get_xticklabels()]
        assert headers[0].startswith("全体"), headers
        assert len(headers) == 1 + len(codebook.stratum.choices)
        mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
        values = np.asarray(mesh.get_array(), dtype=float).reshape(len(item.choices), len(headers))
        overall = analysis.tally(item.id)
        np.testing.assert_allclose(values[:, 0], 100 * overall["share"].to_numpy(float), atol=1e-9)


def test_footers_name_what_the_numbers_are(charts):
    """Item 7: plain charts say 回答者に占める割合, --weighted ones 職員全体の推定値（職員数で重み付け、95%信頼区間）
    and where the intervals are (whiskers drawn on the multi-select bars, else in the workbook)."""
    for name, ax in charts.items():
        footer = " ".join(t.get_text() for t in ax.figure.texts).replace("\n", "")
        kind = _kind(name)
        if kind in ("chart", "heatmap"):
            weighted = name.startswith("weighted/")
            assert (WEIGHTED_NUMBERS if weighted else PLAIN_NUMBERS) in footer, name
            assert (PLAIN_NUMBERS if weighted else WEIGHTED_NUMBERS) not in footer, name
            whiskers = any(c.__class__.__name__ == "ErrorbarContainer" for c in ax.containers)
            if weighted:
                assert ("ひげが95%信頼区間" in footer) == whiskers, name
                assert whiskers or "集計表" in footer, name
        elif kind == "rates":
            assert "数値は回答率" in footer
        elif kind == "odds":
            assert "数値はオッズ比（95%信頼区間）" in footer, name
        else:
            assert "職員全体の推定値" in footer or "回答率" in footer, name


def test_png_and_svg_have_the_same_bytes_on_every_run(analysis, tmp_path):
    from ppp_survey.outputs.figure_files import save_figures
    from ppp_survey.workers import Workers

    plan = figure_plan(analysis, weighted=False, note=source_note(analysis, synthetic=True))[:2]
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    first = save_figures(plan, tmp_path / "a", workers=Workers(1))
    second = save_figures(plan, tmp_path / "b", workers=Workers(1))
    assert [p.suffix for p in first] == [".png", ".svg"] * 2
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    svg = first[1].read_text(encoding="utf-8")
    assert "<dc:date>" not in svg and "<text" not in svg  # no date; text drawn as outlines
    from PIL import Image

    with Image.open(first[0]) as png:
        assert png.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        assert png.size[0] == int(PAGE_WIDTH_IN * 300)  # 16 cm at 300 dpi: 1,889 pixels
    assert matplotlib.rcParams["svg.hashsalt"] != "ppp_survey"  # theme() put the setting back


def _axis_segments(ax):
    """The lines a label must not sit on, in display pixels: the visible spines, the plotted lines
    (a diverging chart's zero line, 2-00's reference line, whiskers) and line collections."""
    from matplotlib.collections import LineCollection

    segments = []
    for spine in ax.spines.values():
        if spine.get_visible():
            path = spine.get_path().transformed(spine.get_transform())
            v = path.vertices
            segments += [(v[k], v[k + 1]) for k in range(len(v) - 1)]
    for line in ax.get_lines():
        drawn = line.get_linestyle() not in ("None", "none", "", " ")  # whisker caps: markers only
        if drawn and line.get_visible() and line.get_color() not in ("white", "#ffffff", (1, 1, 1, 1)):
            v = line.get_transform().transform(line.get_xydata())
            segments += [(v[k], v[k + 1]) for k in range(len(v) - 1)]
    for c in ax.collections:
        if isinstance(c, LineCollection):
            for path in c.get_paths():
                v = c.get_transform().transform(path.vertices)
                segments += [(v[k], v[k + 1]) for k in range(len(v) - 1)]
    return segments


def _crosses(box, a, b) -> bool:
    """Whether the segment a–b passes through the box (shrunk by half a pixel)."""
    x0, y0, x1, y1 = box.x0 + 0.5, box.y0 + 0.5, box.x1 - 0.5, box.y1 - 0.5
    (ax_, ay), (bx, by) = a, b
    if max(ax_, bx) < x0 or min(ax_, bx) > x1 or max(ay, by) < y0 or min(ay, by) > y1:
        return False
    steps = 50
    return any(
        x0 <= ax_ + (bx - ax_) * t / steps <= x1 and y0 <= ay + (by - ay) * t / steps <= y1 for t in range(steps + 1)
    )


def test_no_label_sits_on_an_axis_or_a_line(charts):
    """Issue 30, item 3: measured on the drawn text extents, no value label, callout or header lies on
    an axis line, the zero line of a diverging chart (2-(3)'s 「2.9」 sat on it), a reference line
    or a whisker (tick labels stand outside the axes and are checked by the overlap test)."""
    for name, ax in charts.items():
        texts = [t for t in ax.texts if t.get_visible() and t.get_text().strip()]
        segments = _axis_segments(ax)
        for t in texts:
            box = _box(t)
            hit = [s for s in segments if _crosses(box, *s)]
            assert not hit, (name, t.get_text()[:20])


def test_value_labels_above_a_bar_keep_apart(charts):
    """Labels set above a bar (small segments) stand at least 6 pt apart, so 「3.9 5.8」 read as two numbers."""
    checked = 0
    for name, ax in charts.items():
        if _kind(name) != "chart":
            continue
        fig = ax.figure
        above = [t for t in ax.texts if VALUE.match(t.get_text()) and t.get_va() == "bottom"]
        boxes = sorted((_box(t) for t in above), key=lambda b: (round(b.y0), b.x0))
        for a, b in zip(boxes, boxes[1:]):
            if abs(a.y0 - b.y0) < 1:  # the same row
                assert (b.x0 - a.x1) * 72 / fig.dpi >= 6, (name, a, b)
                checked += 1
    assert checked > 0


def test_the_papers_charts_keep_their_labels_apart(analysis):
    """The committee paper draws each chart without title and footer, to the height its page leaves
    (taller than the report's): there too no two texts overlap and none sits on an axis line."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ppp_survey.outputs import committee_page as cp
    from ppp_survey.outputs.paper_layout import figure_height_in

    checked = 0
    with plots.theme():
        for chart in cp.section_charts(analysis):
            height = figure_height_in(cp.chart_notes(analysis, chart, weighted=False))
            for ax in (
                cp.draw_chart(chart, weighted=False, bare=True, height=height),
                cp.draw_heatmap(analysis, chart, weighted=False, bare=True, height=height),
            ):
                plt.close(ax.figure)
                FigureCanvasAgg(ax.figure)
                ax.figure.draw_without_rendering()  # laid out and measured as drawn, no pixels painted
                texts = _texts(ax.figure)
                boxes = [_box(t) for t in texts]
                for (ta, a), (tb, b) in combinations(zip(texts, boxes), 2):
                    assert not _overlap(a, b), (chart.heading, ta.get_text()[:20], tb.get_text()[:20])
                segments = _axis_segments(ax)
                for t in ax.texts:
                    if t.get_visible() and t.get_text().strip():
                        assert not [s for s in segments if _crosses(_box(t), *s)], (chart.heading, t.get_text())
                assert ax.figure.get_size_inches()[1] == pytest.approx(height, abs=0.02)
                checked += 1
    assert checked == 14
