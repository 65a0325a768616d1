"""The workbook for reading and printing (issue 17, item 8): numbers stored as numbers with formats,
p-values shown as <0.001, A4 page setup fitted to the width with 架空データ in the header of every
page for synthetic data, frozen header and autofilter on one-table sheets, labels instead of ids."""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.report  # reads the session's shared report: left out of make quick


INTERNAL_IDS = re.compile(r"^(q\d+(:\S+)?|domain|position|age|identity|ignored|other_text|option|rejected|accepted)$")


@pytest.fixture(scope="module")
def book(shared_report):
    """The workbook of the R8 wave compared with the frozen R7 baseline (--data R8_DATA --frame
    R8_FRAME --codebook codebook_r8.yaml --compare BASELINE_R7 --mapping mapping_r7_r8.yaml): the
    session's shared run (conftest.shared_report), read only. That run also writes the committee
    paper, which the workbook does not depend on: it is written before the paper is started (the
    same bytes as a --no-paper run's workbook)."""
    run = shared_report("r8_compared")
    assert run.status == 0, run.stderr
    return load_workbook(run.out / "data" / "processed" / "集計表_架空データ.xlsx")


def test_every_sheet_prints_on_a4_fitted_to_the_width_with_the_banner(book):
    for ws in book.worksheets:
        setup = ws.page_setup
        assert int(setup.paperSize) == int(ws.PAPERSIZE_A4) == 9, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and setup.fitToWidth == 1 and setup.fitToHeight == 0
        assert ws.oddHeader.right.text == "架空データ", ws.title
        assert ws.oddFooter.center.text == "&P / &N"


def test_one_table_sheets_freeze_their_header_and_filter_it(book):
    for name in ("回答率", "検定", "秘匿", "政策マトリクス", "KPI", "変化（全体）", "変化（職域別）"):
        ws = book[name]
        assert ws.freeze_panes == "B3", name
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A2:"), name
        assert ws.cell(2, 1).style == "ppp_header"


def _columns(ws, header_row: int = 2) -> dict[str, int]:
    return {ws.cell(header_row, j).value: j for j in range(1, ws.max_column + 1) if ws.cell(header_row, j).value}


def test_p_values_are_numbers_shown_as_below_0_001(book):
    for name, column in (("検定", "p値"), ("変化（全体）", "p値")):
        ws = book[name]
        j = _columns(ws)[column]
        cells = [ws.cell(i, j) for i in range(3, ws.max_row + 1) if ws.cell(i, j).value is not None]
        numbers = [c for c in cells if isinstance(c.value, (int, float))]  # 0.0 reads back as 0
        assert len(numbers) > 10 and len(numbers) >= len(cells) - 5, name  # ('x' where held, notes below)
        assert all(c.number_format == '[<0.001]"<0.001";0.000' for c in numbers), name
        assert any(c.value < 0.001 for c in numbers), name


def test_change_sheets_show_one_decimal(book):
    ws = book["変化（全体）"]
    cols = _columns(ws)
    for column in ("R7(%)", "R8(%)", "差(pt)", "95%CI下限", "MDD(pt)"):
        j = cols[column]
        numbers = [ws.cell(i, j) for i in range(3, ws.max_row + 1) if isinstance(ws.cell(i, j).value, (int, float))]
        assert numbers and all(c.number_format in ("0.0", "+0.0;-0.0;0.0") for c in numbers), column


def test_people_read_labels_not_ids(book):
    for name in ("検証", "秘匿", "変化（全体）", "変化（職域別）"):
        ws = book[name]
        texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        ids = [t for t in texts if INTERNAL_IDS.match(t)]
        assert not ids, (name, ids[:5])
    roles = [c.value for row in book["検証"].iter_rows() for c in row]
    assert "個人情報（読み込み時に削除）" in roles or "設問・属性" in roles
