"""No formula in any file the report writes (issue 28, item 2), whatever the codebook's labels say.

The report is run on the bundled R7 data with a codebook whose 職域 names and answer labels begin
with ``=``, ``+``, ``-``, ``@`` (each hostile label keeps the original as an alias, so the data and
the staff frame still match). Then every output file is scanned: every member of every zip container
(the workbook, the deck, and the workbooks embedded in the deck behind its native charts, which
PowerPoint opens with データの編集) for formula elements and formula-result cells, and every CSV for
a cell a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from html import unescape
from pathlib import Path

import pytest
import yaml

from conftest import BASELINE, FRAME
from ppp_survey.files import inert_text
from ppp_survey.report.cli import main
from test_outputs_safety import AT, DDE, HYPERLINK

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)

CMD = "=cmd|' /C calc'!A0"
ARRAY = "{=1+1}"  # XlsxWriter's array formula
MINUS = "-2+3"
PLUS = "+1+1"
# 職域 names: categories of the response-rate chart and of every single-answer chart
DOMAINS = (HYPERLINK, CMD, DDE, AT, MINUS, ARRAY)
# answer labels: series of a single-answer chart (q1), categories of a multi-select one (q4)
Q1 = (CMD, "=1+1", PLUS, "@cmd")
Q4 = (HYPERLINK, "-HYPERLINK(1)", "+A1", "@A1", "=A1*2")
POSITION = "=1+1"
CHARTED = {*DOMAINS, *Q1, *Q4}  # the labels the deck's charts show (職位 is not charted)
HOSTILE = {*CHARTED, POSITION}


def _rename(choices: list[dict], labels) -> None:
    for choice, label in zip(choices, labels, strict=False):
        choice["aliases"] = [*choice.get("aliases", []), choice["label"]]
        choice["label"] = label


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory) -> Path:
    """The whole report (committee paper and deck included) with hostile labels; its output folder."""
    from importlib import resources

    folder = tmp_path_factory.mktemp("hostile")
    packaged = resources.files("ppp_survey") / "data" / "codebook_r7.yaml"
    spec = yaml.safe_load(packaged.read_text(encoding="utf-8"))
    attributes = {a["id"]: a for a in spec["attributes"]}
    questions = {q["id"]: q for q in spec["questions"]}
    _rename(attributes["domain"]["choices"], DOMAINS)
    _rename(attributes["position"]["choices"], [POSITION])
    _rename(questions["q1"]["choices"], Q1)
    _rename(questions["q4"]["choices"], Q4)
    codebook = folder / "codebook_hostile.yaml"
    codebook.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = folder / "out"
    args = ["--data", str(BASELINE), "--frame", str(FRAME), "--codebook", str(codebook), "--out", str(out)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PPP_SURVEY_JOBS", "1")  # one process: the same files (the paper included)
        assert main([*args, "--export-free-text"]) == 0
    return out


# a cell whose value is computed: a formula (<f>…</f>, <f t="shared" …/>) or a formula's string result
_FORMULA = re.compile(rb"<f[ >/]|<c [^>]*\bt=\"str\"")
# a chart's reference to its data: Sheet1!$A$2:$A$10 (a label there would be a formula in the chart)
_CHART_REF = re.compile(r"Sheet1!\$[A-Z]+\$\d+(:\$[A-Z]+\$\d+)?")


def zip_parts(data: bytes, where: str) -> list[tuple[str, bytes]]:
    """Every member of a zip container, and of the zips inside it, as (where/name, bytes)."""
    parts = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            body = z.read(name)
            parts.append((f"{where}/{name}", body))
            if zipfile.is_zipfile(io.BytesIO(body)):
                parts += zip_parts(body, f"{where}/{name}")
    return parts


def test_no_output_holds_a_formula(hostile_report):
    files = sorted(p for p in hostile_report.rglob("*") if p.is_file())
    suffixes = {p.suffix for p in files}
    assert {".csv", ".xlsx", ".pptx"} <= suffixes, suffixes
    parts: list[tuple[str, bytes]] = []
    for path in files:
        if zipfile.is_zipfile(path):
            parts += zip_parts(path.read_bytes(), str(path.relative_to(hostile_report)))
    formulas = [name for name, body in parts if name.endswith(".xml") and _FORMULA.search(body)]
    assert not formulas, formulas
    embedded = [name for name, _ in parts if ".pptx/ppt/embeddings/" in name and name.endswith(".xlsx")]
    assert len(embedded) >= 8, embedded  # the rates chart and one per question 2-(1)…(7)
    links = [name for name, body in parts if ".pptx/ppt/embeddings/" in name and b"<hyperlink" in body]
    assert not links, links


def test_the_decks_chart_data_hold_the_labels_as_text(hostile_report):
    """The workbook behind each native chart stores every label as a string cell, and the chart's
    own XML names them as text; its formula slots (<c:f>) hold only references to that sheet."""
    from openpyxl import load_workbook

    deck = hostile_report / "figures" / "報告書.pptx"
    parts = zip_parts(deck.read_bytes(), deck.name)
    texts: set[str] = set()
    for name, body in parts:
        if name.endswith(".xlsx"):
            ws = load_workbook(io.BytesIO(body)).worksheets[0]
            for row in ws.iter_rows():
                for c in row:
                    assert c.data_type != "f", (name, c.coordinate, c.value)
                    if isinstance(c.value, str):
                        assert c.data_type == "s", (name, c.coordinate, c.value)
                        texts.add(c.value)
    labels = {t.split("（n=")[0] for t in texts}
    assert CHARTED <= labels, sorted(CHARTED - labels)
    charts = [(name, body.decode("utf-8")) for name, body in parts if re.search(r"/charts/chart\d+\.xml$", name)]
    assert charts
    names = set()
    for name, xml in charts:
        for ref in re.findall(r"<c:f>(.*?)</c:f>", xml):
            assert _CHART_REF.fullmatch(ref), (name, ref)
        names |= {unescape(v).split("（n=")[0] for v in re.findall(r"<c:v>(.*?)</c:v>", xml)}
    assert CHARTED <= names, sorted(CHARTED - names)


def test_report_csvs_carry_no_live_formula(hostile_report):
    tables = sorted(hostile_report.rglob("*.csv"))
    assert tables
    seen = set()
    for path in tables:
        raw = path.read_bytes().decode("utf-8-sig")
        for row in csv.reader(io.StringIO(raw, newline="")):
            for cell in row:
                assert inert_text(cell) == cell, (path.name, cell)  # nothing left that a spreadsheet runs
                assert not cell.startswith("="), (path.name, cell)
                seen.add(cell)
    inert = {inert_text(label) for label in HOSTILE}  # '=…, '+…, '-…, '@…; {=1+1} is text to a spreadsheet
    assert inert <= seen, sorted(inert - seen)
    assert "'" + ARRAY not in seen


def test_report_workbook_carries_no_formula(hostile_report):
    from openpyxl import load_workbook

    book = next((hostile_report / "data" / "processed").glob("*.xlsx"))
    wb = load_workbook(book)
    found = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    found.add(c.value)
    assert HOSTILE <= found, sorted(HOSTILE - found)  # as given, in string cells
