"""Nothing a reader of a comparison sees says None (issue 27, item 4).

Measured by an outside user: codebooks that leave the optional ``survey.wave`` empty (the draft of
``init-codebook`` writes ``wave: null``) printed None in chart legends and titles (「None→R9の変化」),
footnotes (「n = None 470／R9 470」), sheet headers (「None(%)」「基数None」) and 報告書.html, and
unchanged values read 「-0.0」 and 「+0.0」. Here the bundled R7 and R8 codebooks leave their
optional survey fields as the draft does (``wave: null``, ``source: ""``, ``source_note: ""``), the
R7 synthetic wave is frozen (:func:`ppp_survey.compare.freeze_baseline`: the same bytes as the
report's ``--freeze-baseline`` writes) and the R8 wave compared with it through the command line
(once for the module), and every text output is scanned: CSV, HTML, JSON, the text of the SVG charts, the
workbook's cells, the deck's text (tables and chart categories and series included) and, where a
browser printed it, the PDF.

Forbidden as whole tokens: ``None``, ``nan``, ``NaN``, a signed zero (``-0.0``, ``+0.0``; a zero
change is printed ``0.0``, :func:`ppp_survey.text.signed`), and an empty 出典 (「出典：」 with nothing
after it). The wave label falls back to the survey id (``r7``, ``r8``).
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)

PACKAGED = REPO / "src" / "ppp_survey" / "data"
RAW = REPO / "data" / "raw"

# whole tokens only: 'None' but not 'Nonexistent', '-0.0' but not '-0.05' or '10-0.0x'
WORD = re.compile(r"(?<![A-Za-z0-9_])(None|nan|NaN)(?![A-Za-z0-9_])")
SIGNED_ZERO = re.compile(r"(?<![0-9.])[-+\u2212]0\.0+(?![0-9])")
EMPTY_SOURCE = re.compile(r"出典[：:][\s\u3000]*($|[<\"'\n|,])")
TEXT_FILES = {".csv", ".json", ".txt", ".md", ".yaml", ".tsv"}
# where a line of HTML ends for a reader: block elements and <br>
HTML_BREAK = re.compile(r"</?(?:p|li|ul|ol|td|th|tr|table|div|section|h[1-6]|dt|dd|dl|br|caption|figcaption)\b[^>]*>")


def _as_drafted(name: str, folder: Path) -> Path:
    """The packaged codebook ``name`` with the optional survey fields left as ``init-codebook``
    drafts them: ``wave: null`` (the label is then the survey id), ``source: ""``,
    ``source_note: ""`` (and no ``reconstruction``)."""
    text = (PACKAGED / name).read_text(encoding="utf-8")
    for key, empty in (
        ("wave", "null # 任意。空なら id"),
        ("source", '""'),
        ("source_note", '""'),
        ("reconstruction", '""'),
    ):
        text, count = re.subn(rf"(?m)^(  {key}:)[^\n]*$", rf"\1 {empty}", text)
        assert count == 1, (name, key)
    survey = yaml.safe_load(text)["survey"]
    assert survey["wave"] is None and survey["source"] == survey["source_note"] == survey["reconstruction"] == ""
    path = folder / name.replace(".yaml", "_drafted.yaml")
    path.write_text(text, encoding="utf-8")
    return path


def _report(*argv: str) -> None:
    """``main(argv)`` in one process (``PPP_SURVEY_JOBS=1``: the same files as forked workers write,
    for less CPU on a test machine whose cores pytest-xdist's workers already fill)."""
    from ppp_survey.report.cli import main

    err = io.StringIO()
    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        mp.setenv("PPP_SURVEY_JOBS", "1")
        status = main(list(argv))
    assert status == 0, err.getvalue()


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Path:
    """The output folder of the R8 comparison with the frozen R7 baseline, neither codebook
    naming its wave or its source. The baseline is frozen from the R7 wave loaded with its drafted
    codebook (compare.load_wave, compare.freeze_baseline): the same four files, byte for byte, as
    ``--data … --codebook … --freeze-baseline`` writes (a report run whose other outputs this module
    never reads)."""
    from ppp_survey import compare as cmp

    root = tmp_path_factory.mktemp("no_wave")
    r7, r8 = _as_drafted("codebook_r7.yaml", root), _as_drafted("codebook_r8.yaml", root)
    base = root / "base"
    cmp.freeze_baseline(cmp.load_wave(RAW / "synthetic_r7_responses.xlsx", RAW / "staff_frame_r7.csv", r7), base)
    out = root / "b"
    _report(
        *("--data", str(RAW / "synthetic_r8_responses.xlsx"), "--frame", str(RAW / "staff_frame_r8.csv")),
        *("--codebook", str(r8), "--compare", str(base), "--mapping", str(PACKAGED / "mapping_r7_r8.yaml")),
        *("--out", str(out)),
    )
    return out


# ------------------------------------------------------------------------------------ what a reader sees


def _svg_texts(path: Path) -> Iterator[str]:
    """The words of a matplotlib SVG: its text is drawn as glyph paths, each run preceded by a
    comment holding the string (and <text>/<title> where fonts are embedded as text)."""
    svg = path.read_text(encoding="utf-8")
    yield from re.findall(r"<!-- (.*?) -->", svg, flags=re.S)
    yield from re.findall(r"<(?:text|tspan|title)\b[^>]*>([^<]*)<", svg)


def _html_texts(path: Path) -> Iterator[str]:
    """The text of a page as it reads (tags dropped, a line per block: 「<b>出典</b>：」 reads
    「出典：」) and the attributes a reader meets (alt, title, aria-label)."""
    page = path.read_text(encoding="utf-8")
    yield from (html.unescape(a) for a in re.findall(r'(?:alt|title|aria-label)="([^"]*)"', page))
    text = re.sub(r"<[^>]+>", "", HTML_BREAK.sub("\n", re.sub(r"(?s)<(style|script)\b.*?</\1>", "", page)))
    yield from html.unescape(text).splitlines()


def _xlsx_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(where, text) of every non-empty cell, sheet name and header/footer of the workbook; a
    number cell holding NaN or a negative zero is reported as its text."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        yield sheet.title, sheet.title
        for row in sheet.iter_rows():
            for cell in row:
                v = cell.value
                if v is None:
                    continue
                where = f"{sheet.title}!{cell.coordinate}"
                if isinstance(v, float) and (math.isnan(v) or (v == 0 and math.copysign(1.0, v) < 0)):
                    yield where, repr(v)  # 'nan' / '-0.0'
                elif isinstance(v, str):
                    yield where, v
    book.close()


def _pptx_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(where, text) of every text frame, table cell, chart title, category and series name and
    note of the deck."""
    import pptx
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    deck = pptx.Presentation(str(path))

    def shapes(group) -> Iterator:
        for shape in group:
            if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
                yield from shapes(shape.shapes)
            else:
                yield shape

    for k, slide in enumerate(deck.slides, 1):
        where = f"slide {k}"
        for shape in shapes(slide.shapes):
            if shape.has_text_frame:
                yield where, shape.text_frame.text
            if getattr(shape, "has_table", False) and shape.has_table:
                for row in shape.table.rows:
                    for cell in row.cells:
                        yield f"{where} table", cell.text
            if getattr(shape, "has_chart", False) and shape.has_chart:
                chart = shape.chart
                if chart.has_title:
                    yield f"{where} chart title", chart.chart_title.text_frame.text
                for plot in chart.plots:
                    yield from ((f"{where} chart category", str(c)) for c in plot.categories)
                    for series in plot.series:
                        yield f"{where} chart series", str(series.name)
        if slide.has_notes_slide:
            yield f"{where} notes", slide.notes_slide.notes_text_frame.text


def _pdf_texts(path: Path) -> Iterator[tuple[str, str]]:
    import pypdf

    for k, page in enumerate(pypdf.PdfReader(str(path)).pages, 1):
        yield f"page {k}", page.extract_text() or ""


def _json_strings(value, where: str = "") -> Iterator[tuple[str, str]]:
    """(key path, text) of every string in a JSON document (keys included)."""
    if isinstance(value, dict):
        for key, v in value.items():
            yield f"{where}/{key}", str(key)
            yield from _json_strings(v, f"{where}/{key}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _json_strings(v, f"{where}[{i}]")
    elif isinstance(value, str):
        yield where, value
    elif isinstance(value, float) and not math.isfinite(value):
        yield where, repr(value)


_READ: dict[tuple[str, Path, int, int], list] = {}


def _read_once(reader: Callable[[Path], Iterator], path: Path) -> list:
    """``list(reader(path))``, read once per file version (path, size, modification time): the
    workbook, deck and PDF of a folder scanned twice (with and without the manifests' options) are
    parsed once."""
    st = path.stat()
    key = (reader.__name__, path.resolve(), st.st_size, st.st_mtime_ns)
    if key not in _READ:
        _READ[key] = list(reader(path))
    return _READ[key]


def texts(folder: Path, *, manifest_options: bool = False) -> Iterator[tuple[str, str]]:
    """(file: where, text) of everything a reader of the report folder sees. ``manifest_options``:
    include the manifests' ``options`` block (left to :func:`test_manifest_options_say_null`)."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        name, suffix = path.relative_to(folder).as_posix(), path.suffix.lower()
        if suffix == ".svg":
            found: Iterator[tuple[str, str]] = (("", t) for t in _read_once(_svg_texts, path))
        elif suffix == ".xlsx":
            found = iter(_read_once(_xlsx_texts, path))
        elif suffix == ".pptx":
            found = iter(_read_once(_pptx_texts, path))
        elif suffix == ".pdf":
            found = iter(_read_once(_pdf_texts, path))
        elif suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not manifest_options and isinstance(doc, dict):
                doc = {k: v for k, v in doc.items() if k != "options"}
            found = _json_strings(doc)
        elif suffix in (".html", ".htm"):
            found = (("", t) for t in _html_texts(path))
        elif suffix in TEXT_FILES:
            found = (("", line) for line in path.read_text(encoding="utf-8-sig").splitlines())
        else:
            continue  # PNG (the same drawing as the SVG), .gitignore
        for where, text in found:
            yield f"{name}{': ' + where if where else ''}", text


def offences(folder: Path, **kwargs) -> list[str]:
    """Every None / nan / NaN / signed zero / empty 出典 in the folder's text, with where it is."""
    out = []
    for where, text in texts(folder, **kwargs):
        found = [m.group(0) for pattern in (WORD, SIGNED_ZERO) for m in pattern.finditer(text)]
        found += ["出典：(空)" for _ in EMPTY_SOURCE.finditer(text)]
        if found:
            out.append(f"{where}: {'、'.join(dict.fromkeys(found))} 「{text.strip()[:120]}」")
    return out


def test_scanner_catches_what_the_user_saw(tmp_path):
    """The scan itself: the strings of the report (issue 27) are caught, their neighbours are not."""
    (tmp_path / "a.csv").write_text(
        "指標,None(%),差(pt),基数None\nq1,45.5,-0.0,696\nq2,1.0,+0.0,3\nq3,nan,0.05,1\n", encoding="utf-8"
    )
    (tmp_path / "b.html").write_text(
        "<p>None→R9の変化</p>\n<p>n = None 470／R9 470</p>\n<p>出典：</p>\n"
        "<ul><li><b>出典</b>：</li>\n<li><b>出典</b>：長崎市</li></ul>\n"
        "<p>Nonexistent -0.05 +0.04 2-06 r7→r8 0.0 出典：長崎市</p>\n",
        encoding="utf-8",
    )
    found = "\n".join(offences(tmp_path))
    assert found.count("a.csv") == 4 and found.count("b.html") == 4, found
    for token in ("None", "nan", "-0.0", "+0.0", "出典：(空)"):
        assert token in found
    assert "長崎市" not in found  # Nonexistent, -0.05, +0.04, 2-06, 0.0 and a 出典 with its source pass


def test_signed_differences_have_one_zero():
    """text.signed is the one convention: a change that rounds to zero is '0.0'; the committee
    page's numbers and the round_half_up of every table agree."""
    from ppp_survey.outputs.paper_text import number_text
    from ppp_survey.text import SIGNED_FORMAT, round_half_up, signed

    assert [signed(v) for v in (1.25, -0.4, -0.04, 0.049, -0.0, 0.0)] == ["+1.3", "-0.4", *["0.0"] * 4]
    assert signed(float("nan")) == signed(None) == "-"
    assert [number_text(v, "+.1f") for v in (-0.04, 2.0, float("nan"), "x")] == ["0.0", "+2.0", "-", "x"]
    assert number_text(-0.04) == "0.0" and number_text(-1.26) == "-1.3"
    assert str(round_half_up(-0.04)) == "0.0" and [f"{v}" for v in round_half_up([-0.04, -0.05])] == ["0.0", "-0.1"]
    assert SIGNED_FORMAT.split(";")[2] == "0.0"  # Excel's zero section: the same '0.0'


def test_no_none_nan_or_signed_zero_in_any_comparison_output(compared):
    found = offences(compared)
    assert not found, f"{len(found)}箇所:\n" + "\n".join(found[:60])


def test_wave_labels_default_to_the_survey_id(compared):
    """Both waves are named, and named apart: every wave column of the change tables is there."""
    import pandas as pd

    table = pd.read_csv(compared / "data" / "processed" / "changes_overall.csv", encoding="utf-8-sig")
    for column in ("r7(%)", "r8(%)", "基数r7", "基数r8"):
        assert column in table.columns, list(table.columns)
    page = (compared / "figures" / "報告書.html").read_text(encoding="utf-8")
    assert "経年比較（r7→r8、全体）" in page


def test_a_zero_change_reads_0_0(compared):
    """A change that rounds to zero is 0.0 (no sign) in the CSV and in the charts' labels."""
    import pandas as pd

    groups = pd.read_csv(compared / "data" / "processed" / "changes_by_group.csv", encoding="utf-8-sig")
    diff = pd.to_numeric(groups["差(pt)"], errors="coerce").dropna()
    assert (diff == 0).any()  # the bundled waves have unchanged cells: the case is exercised
    labels = [t for svg in (compared / "figures").glob("変化_*.svg") for t in _svg_texts(svg)]
    assert any(re.search(r"(?<![0-9.+\-])0\.0(pt)?(?![0-9])", t) for t in labels)


def _empty_source_cells(path: Path) -> Iterator[str]:
    """Workbook cells labelled 出典 with nothing beside them (the label/value rows of 説明)."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.strip() == "出典":
                    beside = sheet.cell(cell.row, cell.column + 1).value
                    if beside is None or not str(beside).strip():
                        yield f"{sheet.title}!{cell.coordinate}"
    book.close()


def test_no_empty_source_row_in_the_workbook(compared):
    found = [f"{book.name}: {where}" for book in compared.rglob("*.xlsx") for where in _empty_source_cells(book)]
    assert not found, found


def test_manifest_options_say_null(compared):
    found = [f for f in offences(compared, manifest_options=True) if "/options/" in f]
    assert not found, "\n".join(found)
