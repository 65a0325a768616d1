"""The data behind the deck's native charts, every label stored as text.

python-pptx writes each chart's data (the workbook PowerPoint opens with データの編集) with
XlsxWriter, whose workbook by default makes a string that begins with ``=`` a live formula
(``strings_to_formulas``) and one that looks like a link (``http://``, ``mailto:``, ``external:``)
a hyperlink (``strings_to_urls``). A 職域 name or an answer label is text: :class:`TextChartData`
opens the workbook with both off, so every label is a string cell, as in the report's workbook
(:mod:`ppp_survey.outputs.xlsx`); nothing else is set globally. The chart's own XML already names
categories and series as text (XML-escaped, in its caches; its ``<c:f>`` hold only references to
the sheet). Imported only where a deck is written (it imports python-pptx).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pptx.chart.data import CategoryChartData
from pptx.chart.xlsx import CategoryWorkbookWriter
from pptx.util import lazyproperty
from xlsxwriter import Workbook  # python-pptx's own writer (one of its dependencies)

__all__ = ["WORKBOOK_OPTIONS", "TextChartData"]

#: XlsxWriter's options for a chart's data: in memory as python-pptx has it, text never a formula or link.
WORKBOOK_OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}


class TextWorkbookWriter(CategoryWorkbookWriter):
    """python-pptx's writer of a category chart's workbook, the workbook opened with :data:`WORKBOOK_OPTIONS`."""

    @contextmanager
    def _open_worksheet(self, xlsx_file) -> Iterator[tuple[Any, Any]]:
        workbook = Workbook(xlsx_file, WORKBOOK_OPTIONS)
        worksheet = workbook.add_worksheet()
        yield workbook, worksheet
        workbook.close()


class TextChartData(CategoryChartData):
    """:class:`pptx.chart.data.CategoryChartData` whose workbook stores every label as text."""

    @lazyproperty
    def _workbook_writer(self) -> TextWorkbookWriter:
        return TextWorkbookWriter(self)
