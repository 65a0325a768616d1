"""The Excel workbook: every table of a report run, formatted for reading.

A workbook is a list of sheets; a sheet is a list of blocks; a block is a titled table with notes
under it (test results, legend, method, rounding). Values stay numbers: percentages are stored
rounded half up to one decimal and shown with the format ``0.0``; a significance mark is part of
the cell's *number format* (``0.0"▲"``), so the cell reads 「20.9▲」 and still sums in Excel.
Every sheet is set up for reading and printing: A4, fitted to the page width (landscape when the
widest table has more than eight columns), the sheet name and page number in the footer and the
``banner`` (「架空データ」 for synthetic data) in the header of every page; a sheet of one table
freezes its header row and first column and carries an autofilter on its header.
The workbook is pinned (:func:`ppp_survey.files.pin_xlsx`): the same tables give the same bytes.
Every text (titles, headers, cells, notes) is stored as a string cell, never as a formula or an
error value: openpyxl would make ``=HYPERLINK(…)`` from a codebook label a live formula.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ppp_survey.files import atomic_output, pin_xlsx

if TYPE_CHECKING:  # annotations only
    from openpyxl.cell.cell import Cell

HEADER_FILL = "DDEBF7"
TITLE_FONT_SIZE = 12


@dataclass(frozen=True)
class Block:
    """A titled table. ``formats`` maps column → Excel number format; ``cell_formats`` (same shape
    as ``table``, '' for none) overrides it cell by cell, which is how marks are shown."""

    title: str
    table: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    cell_formats: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sheet:
    name: str
    blocks: tuple[Block, ...]
    widths: dict[int, float] = field(default_factory=dict)  # 1-based column → width


def mark_format(mark: str, digits: int = 1) -> str:
    """Number format that shows a value with one decimal followed by its mark: 0.0"▲"."""
    base = "0." + "0" * digits if digits else "0"
    return f'{base}"{mark}"' if mark else base


#: Shows a p-value with three decimals, and 「<0.001」 below 0.001 (the cell keeps the number).
P_FORMAT = '[<0.001]"<0.001";0.000'
LANDSCAPE_FROM = 9  # columns


def write_workbook(path: str | Path, sheets: list[Sheet], *, banner: str = "") -> Path:  # noqa: C901 (one branch per cell kind of the sheet model)
    """Write the sheets to ``path`` atomically and reproducibly; ``banner`` is printed in the header
    of every page of every sheet (「架空データ」 for synthetic data)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin", color="999999")
    box = Border(top=thin, bottom=thin, left=thin, right=thin)
    # Named styles are registered once; assigning them by name is far cheaper than building a
    # Font/Border per cell (openpyxl hashes every style object it is given).
    cell_style = NamedStyle(name="ppp_cell", border=box)
    header_style = NamedStyle(
        name="ppp_header",
        font=Font(bold=True),
        border=box,
        fill=PatternFill("solid", fgColor=HEADER_FILL),
        alignment=Alignment(wrap_text=True, vertical="center", horizontal="center"),
    )
    title_font, note_font = Font(bold=True, size=TITLE_FONT_SIZE), Font(size=9, color="444444")
    wb.add_named_style(cell_style)
    wb.add_named_style(header_style)
    for spec in sheets:
        ws = wb.create_sheet(spec.name[:31])
        row = 1
        max_cols = 1
        for block in spec.blocks:
            _cell(ws, row, 1, block.title).font = title_font
            row += 1
            table = block.table
            if len(table.columns):
                for j, col in enumerate(table.columns, start=1):
                    _cell(ws, row, j, str(col)).style = "ppp_header"
                row += 1
                values = table.to_numpy(dtype=object)
                for i in range(len(table)):
                    for j, col in enumerate(table.columns):
                        value = _excel_value(values[i, j])
                        c = _cell(ws, row, j + 1, value)
                        c.style = "ppp_cell"
                        fmt = block.formats.get(col)
                        if block.cell_formats is not None:
                            fmt = block.cell_formats.iat[i, j] or fmt
                        if fmt and isinstance(value, (int, float)):
                            c.number_format = fmt
                    row += 1
                max_cols = max(max_cols, len(table.columns))
            for note in block.notes:
                _cell(ws, row, 1, note).font = note_font
                row += 1
            row += 1
        for col in range(1, max_cols + 1):
            ws.column_dimensions[get_column_letter(col)].width = spec.widths.get(col, 14 if col > 1 else 26)
        _page_setup(ws, spec, max_cols, banner)
    with atomic_output(path) as tmp:
        wb.save(tmp)
        pin_xlsx(tmp)
    return Path(path)


def _page_setup(ws, spec: Sheet, max_cols: int, banner: str) -> None:
    """A4 fitted to the width, header/footer; one-table sheets: frozen header and an autofilter."""
    from openpyxl.utils import get_column_letter

    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if max_cols >= LANDSCAPE_FROM else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    if banner:
        ws.oddHeader.right.text = banner
        ws.oddHeader.right.color = "C00000"
    ws.oddHeader.left.text = "&A"
    ws.oddFooter.center.text = "&P / &N"
    tables = [b for b in spec.blocks if len(b.table.columns)]
    if len(spec.blocks) == 1 and tables and len(tables[0].table):
        table = tables[0].table
        last = get_column_letter(len(table.columns))
        ws.freeze_panes = "B3"  # row 1 the title, row 2 the header
        ws.auto_filter.ref = f"A2:{last}{2 + len(table)}"
        ws.print_title_rows = "2:2"


def _cell(ws, row: int, column: int, value) -> Cell:
    """Set a cell; text is a string cell whatever it begins with (openpyxl reads a str that starts
    with '=' as a formula and '#N/A' as an error value)."""
    c = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        c.data_type = "s"
    return c


def _excel_value(value) -> str | int | float | bool | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    return value if isinstance(value, (int, float, str)) else str(value)
