"""Row rules: which rows are rejected whatever their cells say, each as one mask over all rows.

The rules, in precedence order (a row is rejected for the first rule that applies to it):

1. the last row of a CSV cut off mid-row (``R_CUT_SHORT``);
2. an empty row, no answer at all (``R_EMPTY``);
3. an ID seen in an earlier row that passed rules 1–2 (``R_DUPLICATE``; the value names that row);
4. a completion time (else start time) outside the fielding window (``R_WINDOW``);
5. no 職域 (``R_NO_STRATUM``) or one the codebook does not know (``R_UNKNOWN_STRATUM``).

A row these rules keep may still be rejected for a problem in its cells (:mod:`.reasons`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ppp_survey.ingest.cells import Cells
from ppp_survey.ingest.reasons import (
    R_CUT_SHORT,
    R_DUPLICATE,
    R_EMPTY,
    R_NO_STRATUM,
    R_UNKNOWN_STRATUM,
    R_WINDOW,
)


@dataclass(frozen=True)
class RowFacts:
    """What the row rules look at, one entry per row (``stamps``: completion time, else start time)."""

    first_row: int  # spreadsheet row number of the first data row
    cut_short: str  # "k of m 列" when the file's last row was cut off, else ""
    answered: np.ndarray
    ids: np.ndarray
    stamps: np.ndarray  # datetime64[ns], NaT: no time
    window: tuple[dt.date, dt.date]
    stratum: np.ndarray  # category code of the 職域, -1: none
    stratum_cells: Cells
    stratum_missing: np.ndarray  # per distinct text of stratum_cells: does it mean 無回答?


class Rejections:
    """Reason, column and value of each rejected row ("" for a row kept)."""

    def __init__(self, n: int) -> None:
        self.decided = np.zeros(n, dtype=bool)
        self.reason = np.full(n, "", dtype=object)
        self.column = np.full(n, "", dtype=object)
        self.value = np.full(n, "", dtype=object)

    def reject(self, rows: np.ndarray, reason: str | np.ndarray, column: str | np.ndarray, value: object) -> None:
        """Reject the rows of the mask or index array ``rows``, which must be undecided."""
        self.decided[rows] = True
        self.reason[rows] = reason
        self.column[rows] = column
        self.value[rows] = value


def row_rules(facts: RowFacts) -> Rejections:
    """Apply the row rules in precedence order; each rule sees only the rows no earlier rule rejected."""
    out = Rejections(len(facts.answered))
    for rule in (_cut_short, _empty, _duplicate, _window, _stratum):
        rule(facts, out)
    return out


def _cut_short(facts: RowFacts, out: Rejections) -> None:
    n = len(out.decided)
    if facts.cut_short and n:  # a truncated file: the row lost its last cells
        out.reject(np.array([n - 1]), R_CUT_SHORT, "", f"{facts.cut_short}（ファイルを書き出し直してください）")


def _empty(facts: RowFacts, out: Rejections) -> None:
    out.reject(~facts.answered & ~out.decided, R_EMPTY, "", "")


def _duplicate(facts: RowFacts, out: Rejections) -> None:
    """The first row of each ID (among rows not empty) is kept; later ones name it."""
    candidates = np.flatnonzero(~out.decided)
    codes, _ = pd.factorize(facts.ids[candidates])  # codes count up in order of first appearance
    new = np.ones(len(codes), dtype=bool)
    new[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    first = np.flatnonzero(new)[codes]  # position (in candidates) of each row's first row of its ID
    later = first != np.arange(len(codes))
    if later.any():
        rows = candidates[later]
        seen = candidates[first[later]] + facts.first_row
        values = [f"{rid}（{row}行目と同じ）" for rid, row in zip(facts.ids[rows], seen.tolist())]
        out.reject(rows, R_DUPLICATE, "ID", np.array(values, dtype=object))


def _window(facts: RowFacts, out: Rejections) -> None:
    start, end = facts.window
    days = facts.stamps.astype("datetime64[D]")
    outside = ~np.isnat(facts.stamps) & ((days < np.datetime64(start, "D")) | (days > np.datetime64(end, "D")))
    rows = np.flatnonzero(outside & ~out.decided)
    if len(rows):
        values = [f"{t:%Y-%m-%d %H:%M}（実施期間 {start}～{end}）" for t in pd.DatetimeIndex(facts.stamps[rows])]
        out.reject(rows, R_WINDOW, "完了時刻", np.array(values, dtype=object))


def _stratum(facts: RowFacts, out: Rejections) -> None:
    rows = np.flatnonzero((facts.stratum < 0) & ~out.decided)
    if len(rows):
        cells = facts.stratum_cells
        codes = cells.codes[rows]
        reason = np.where(facts.stratum_missing[codes], R_NO_STRATUM, R_UNKNOWN_STRATUM).astype(object)
        out.reject(rows, reason, cells.header, cells.texts[codes])
