"""An export checked against a codebook all at once, for adapting a codebook to a new export.

:func:`check_export` reads the file as :func:`~ppp_survey.ingest.load.load_responses` does and says,
without stopping at the first problem: what every column was taken for (a question, an option
column, その他 text, ID/time, identity (dropped), or nothing), which items of the codebook have no
column, which values of each item the codebook does not describe, with their counts, and how many
rows were completed outside the codebook's fielding window (rows the report excludes). The
loader's own rules decide (:mod:`.columns`, :mod:`.answers`): what ``check`` accepts, the report
accepts. Values are counted per distinct text (vectorised), so a large export checks as fast as it
loads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ppp_survey.ingest.answers import ParseContext, multi_select_cells, multi_select_options, single_answer, times
from ppp_survey.ingest.cells import Cells, code_column, code_raw
from ppp_survey.ingest.columns import Assignment, Column, Missing, assign_columns
from ppp_survey.ingest.read import read_export
from ppp_survey.ingest.reasons import R_MULTIPLE, R_UNKNOWN_STRATUM, R_UNMATCHED, CellProblems
from ppp_survey.spec.codebook import Codebook, Item, load_codebook

__all__ = ["ExportCheck", "OutsideWindow", "check_export", "column_letter"]


def column_letter(position: int) -> str:
    """The spreadsheet letter of a column (1 → A, 27 → AA)."""
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class ExportCheck:
    """What :func:`check_export` found.

    ``columns``: one :class:`~ppp_survey.ingest.columns.Column` per header, in file order.
    ``missing``: the codebook's items without a column. ``clashes``: two headers for one item
    (the later header, the earlier, the item). ``values``: the values the codebook does not
    describe, tidy: ``item``, ``column``, ``value``, ``count`` (cells), ``reason``, ``row`` (the
    spreadsheet row of its first cell, so a long value can be shown cut with where it is); the ``top`` most frequent per item, and ``more``: per item, how many other distinct values there are.
    ``other``: the same for text a multi-select item reads as その他 (free text: shown, never an error).
    ``window``: the rows whose completion time (else start time) lies outside the codebook's
    fielding window, as the loader's row rule finds them (:mod:`.rows`). ``times``: the start and
    completion times the loader cannot read (it stops on them, or rejects their rows), counted as
    ``values`` are, without ``item``.
    """

    file: Path
    format: str
    encoding: str | None
    header_row: int
    n_rows: int
    notes: tuple[str, ...]
    codebook: Codebook
    columns: tuple[Column, ...]
    missing: tuple[Missing, ...]
    clashes: tuple[tuple[str, str, str], ...]
    values: pd.DataFrame
    more: dict[str, int]
    other: pd.DataFrame
    window: OutsideWindow
    times: pd.DataFrame  # unreadable start/completion times: column, value, count, reason, row

    @property
    def unmatched(self) -> list[Column]:
        """Columns taken for nothing (a renamed question, a column the codebook does not know)."""
        return [c for c in self.columns if c.role == "ignored"]

    @property
    def ok(self) -> bool:
        """Everything matches: every column is taken for something, every item has its column, no
        two columns for one item, every value is the codebook's, every time readable, and not every dated row lies outside
        the fielding window (a few late answers are the loader's to exclude; all of them means the
        codebook's window is not this export's, and the report would have no respondent)."""
        return not (
            self.unmatched or self.missing or self.clashes or len(self.values) or len(self.times) or self.window.all
        )


@dataclass(frozen=True)
class OutsideWindow:
    """Rows completed outside the fielding window (``count`` of ``dated`` rows with a time), the
    window, and the first and last day of the export's times (None without any)."""

    count: int
    dated: int
    window: tuple[dt.date, dt.date]
    days: tuple[dt.date, dt.date] | None

    @property
    def all(self) -> bool:
        return self.dated > 0 and self.count == self.dated


_VALUE_COLUMNS = ["item", "column", "value", "count", "reason", "row"]
_TIME_COLUMNS = _VALUE_COLUMNS[1:]


def check_export(path: str | Path, codebook: Codebook | None = None, *, top: int = 10) -> ExportCheck:
    """Check an export against a codebook (``None``: the packaged R7 codebook); see the module's docstring.

    Raises
    ------
    LoadError
        Only when the file cannot be read at all (missing, damaged, an unknown type).
    """
    codebook = codebook or load_codebook()
    raw = read_export(path)
    found: Assignment = assign_columns(raw, codebook)
    table = raw.table.reset_index(drop=True)
    missing_keys = codebook.missing_keys | {""}
    values: list[pd.DataFrame] = []
    other: list[pd.DataFrame] = []
    for item in codebook.items:
        if item.type == "text":
            continue
        header = found.columns.header("item", item.id)
        if header is not None:
            cells = code_column(header, table[header], raw.value_labels.get(header))
        options = found.columns.options(item.id)
        ctx = ParseContext(missing_keys, CellProblems(len(table)))
        if header is not None and item.is_multi:
            _, rest = multi_select_cells(item, cells, ctx)
            leftover = rest.rows(np.array([t != "" for t in rest.texts], dtype=bool))
            other.append(_counted(item, rest, leftover, raw.first_row, "その他として読む"))
        elif header is not None:
            labels = single_answer(item, cells, ctx)
            if item.role == "stratum":  # the loader leaves an unknown 職域 to its row rules
                unknown = labels.isna().to_numpy() & ~cells.rows(ctx.is_missing(cells))
                values.append(_counted(item, cells, unknown, raw.first_row))
        elif options and len(options) == len(item.choices):
            coded = {code: code_column(h, table[h], raw.value_labels.get(h)) for code, h in options.items()}
            multi_select_options(item, coded, ctx)
        values.append(_problems(item, ctx.problems, raw.first_row))
    values_table, more = _top(values, top)
    other_table, _ = _top(other, top)
    window, times = _outside_window(table, found, codebook, raw.first_row)
    return ExportCheck(
        raw.path,
        raw.format,
        raw.encoding,
        raw.header_row,
        len(table),
        tuple(raw.notes()),
        codebook,
        tuple(found.columns.columns),
        found.missing,
        found.clashes,
        values_table,
        more,
        other_table,
        window,
        times,
    )


def _outside_window(
    table: pd.DataFrame, found: Assignment, codebook: Codebook, first_row: int
) -> tuple[OutsideWindow, pd.DataFrame]:
    """The loader's fielding-window rule (:func:`~ppp_survey.ingest.rows.row_rules`): a row's
    completion time, else its start time, read as the loader reads it, outside the window; and the
    times it cannot read (distinct values with their count and first row)."""
    stamps = np.full(len(table), np.datetime64("NaT"), dtype="datetime64[ns]")
    ctx = ParseContext(frozenset(), CellProblems(len(table)))
    for role in ("started", "completed"):  # the completion time wins where there is one
        header = found.columns.header(role)
        if header is None:
            continue
        read = times(code_raw(table[header]), code_column(header, table[header]), len(table), ctx).to_numpy()
        stamps = np.where(np.isnat(read), stamps, read)
    window = (codebook.survey.fielded_from, codebook.survey.fielded_to)
    dated = ~np.isnat(stamps)
    days = stamps[dated].astype("datetime64[D]")
    outside = (days < np.datetime64(window[0], "D")) | (days > np.datetime64(window[1], "D"))
    span = (pd.Timestamp(days.min()).date(), pd.Timestamp(days.max()).date()) if len(days) else None
    return OutsideWindow(int(outside.sum()), int(dated.sum()), window, span), _unreadable(ctx.problems, first_row)


def _unreadable(problems: CellProblems, first_row: int) -> pd.DataFrame:
    """The times noted as unreadable, per column and value: count and first row."""
    rows = np.flatnonzero(problems.first >= 0)
    if not len(rows):
        return pd.DataFrame(columns=_TIME_COLUMNS)
    reason, column, value, _ = problems.first_of(rows)
    found = pd.DataFrame({"column": column, "value": value, "reason": reason, "row": rows + first_row})
    counted = found.groupby(["column", "value", "reason"], sort=False)["row"].agg(["size", "min"])
    return counted.rename(columns={"size": "count", "min": "row"}).reset_index()[_TIME_COLUMNS]


def _counted(
    item: Item, cells: Cells, rows: np.ndarray, first_row: int, reason: str = R_UNKNOWN_STRATUM
) -> pd.DataFrame:
    """The distinct texts of the rows in the mask ``rows`` with their counts and first row."""
    at_rows = np.flatnonzero(rows)
    codes = cells.codes[at_rows]
    counts = np.bincount(codes, minlength=len(cells.texts))
    first = np.zeros(len(cells.texts), dtype=np.int64)
    distinct, where = np.unique(codes, return_index=True)  # the first row of each text
    first[distinct] = at_rows[where]
    at = np.flatnonzero(counts)
    return pd.DataFrame(
        {
            "item": item.id,
            "column": cells.header,
            "value": cells.texts[at],
            "count": counts[at],
            "reason": reason,
            "row": first[at] + first_row,
        }
    )


def _problems(item: Item, problems: CellProblems, first_row: int) -> pd.DataFrame:
    """The values the parse noted as not the codebook's (not a choice; several in a single answer)."""
    rows = np.flatnonzero(problems.first >= 0)
    if not len(rows):
        return pd.DataFrame(columns=_VALUE_COLUMNS)
    reason, column, value, _ = problems.first_of(rows)
    found = pd.DataFrame({"item": item.id, "column": column, "value": value, "reason": reason, "row": rows + first_row})
    found = found[found["reason"].isin([R_UNMATCHED, R_MULTIPLE])]
    counted = found.groupby(["item", "column", "value", "reason"], sort=False)["row"].agg(["size", "min"])
    counted = counted.rename(columns={"size": "count", "min": "row"}).reset_index()
    return counted[_VALUE_COLUMNS]


def _top(parts: list[pd.DataFrame], top: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """The ``top`` most frequent values per item (ties in the order found), and how many more each item has."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=_VALUE_COLUMNS), {}
    found = pd.concat(parts, ignore_index=True)
    found["count"] = found["count"].astype(np.int64)
    found["row"] = found["row"].astype(np.int64)
    found = found.sort_values("count", ascending=False, kind="stable")
    rank = found.groupby("item", sort=False).cumcount()
    more = found[rank >= top].groupby("item", sort=False).size()
    return found[rank < top].reset_index(drop=True), {str(k): int(v) for k, v in more.items()}
