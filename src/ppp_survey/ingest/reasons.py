"""Why a row is rejected: the reasons (Japanese UI text) and the cell problems found while parsing.

A row is rejected for at most one reason. Row rules (:mod:`.rows`) come first; a row they keep is
rejected for the *first* problem found in its cells, in the order the cells are parsed (the
codebook's items in order, then the start and completion times). :class:`CellProblems` keeps that
first problem per row without a Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ppp_survey.ingest.cells import Cells

# Rejection reasons (Japanese UI text; stable strings that tests and reports use).
R_EMPTY = "空行（回答なし）"
R_DUPLICATE = "ID重複"
R_WINDOW = "実施期間外の回答"
R_BAD_TIME = "日時を解釈できない"
R_NO_STRATUM = "職域が無回答"
R_UNKNOWN_STRATUM = "職域が不明"
R_UNMATCHED = "選択肢にない値"
R_MULTIPLE = "単一回答の設問に複数の回答"
R_EXCLUSIVE = "排他的な選択肢（特にない等）と他の選択肢の同時選択"
R_CUT_SHORT = "ファイル末尾の行が途中で切れている"


@dataclass(frozen=True)
class Problem:
    """One cell problem: ``reason``, ``column`` (header), ``value`` (the cell's text) and ``detail``
    (what the error message adds)."""

    row: int
    reason: str
    column: str
    value: str
    detail: str


@dataclass(frozen=True)
class _Finding:
    """Problems noted in one column at once: ``reason``/``detail`` are one string for all the rows
    or an array with one entry per distinct text of ``cells`` (the value shown is the row's text)."""

    cells: Cells
    reason: str | np.ndarray
    detail: str | np.ndarray

    def at(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(reason, value, detail) of each row in ``rows``."""
        codes = self.cells.codes[rows]
        reason = np.full(len(rows), self.reason, dtype=object) if isinstance(self.reason, str) else self.reason[codes]
        detail = np.full(len(rows), self.detail, dtype=object) if isinstance(self.detail, str) else self.detail[codes]
        return reason, self.cells.texts[codes], detail


class CellProblems:
    """The first problem found in each row's cells, in the order they were noted."""

    def __init__(self, n: int) -> None:
        self.first = np.full(n, -1, dtype=np.int32)  # index into self.findings, -1: no problem
        self.findings: list[_Finding] = []

    def note(self, rows: np.ndarray, reason: str, cells: Cells, detail: str) -> None:
        """Note a problem in the rows of the mask ``rows``; the value shown is the row's text in ``cells``."""
        self._add(rows, _Finding(cells, reason, detail))

    def note_texts(self, cells: Cells, reasons: np.ndarray, details: np.ndarray) -> None:
        """Note a problem in every row whose text has a reason (``reasons``: per distinct text, None = fine)."""
        bad = np.array([r is not None for r in reasons], dtype=bool)
        if bad.any():
            self._add(cells.rows(bad), _Finding(cells, reasons, details))

    def _add(self, rows: np.ndarray, finding: _Finding) -> None:
        new = rows & (self.first < 0)
        if new.any():
            self.first[new] = len(self.findings)
            self.findings.append(finding)

    def first_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(reason, column, value, detail) arrays of the first problem of each row in ``rows``
        (row positions, each with a problem)."""
        out = [np.empty(len(rows), dtype=object) for _ in range(4)]
        which = self.first[rows]
        for f in np.unique(which):
            at = which == f
            finding = self.findings[f]
            reason, value, detail = finding.at(rows[at])
            out[0][at], out[1][at], out[2][at], out[3][at] = reason, finding.cells.header, value, detail
        return out[0], out[1], out[2], out[3]

    def problem(self, row: int) -> Problem:
        reason, column, value, detail = self.first_of(np.array([row]))
        return Problem(row, str(reason[0]), str(column[0]), str(value[0]), str(detail[0]))
