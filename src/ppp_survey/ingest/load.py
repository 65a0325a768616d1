"""Loading a response export through the codebook, with a report that accounts for every row.

One entry point, :func:`load_responses`, reads Microsoft Forms or Google Forms exports (``.xlsx``,
``.csv`` in UTF-8 or CP932) and SPSS ``.sav`` files. Columns are found by their header text (never
by position); identity columns (メール, 名前, Email, Name) are dropped before anything else so they
can never reach an output. Each cell is matched to the codebook after key normalisation (see
:mod:`ppp_survey.spec.normalize`); the stored labels are always the codebook's.

Every row read ends either *accepted* or *rejected with a reason*; ``read = accepted + rejected``
holds by construction and is checked. Cell values the codebook does not describe are an error
naming file, row, column and value (``on_invalid="error"``, the default), or reject their row
(``on_invalid="reject"``): never a silent missing value.

The steps, one module each (this module runs them in order and assembles the result):

=================  ========================================================================
:mod:`.read`       bytes → raw cells (encoding, hash, spreadsheet row numbers)
:mod:`.columns`    headers → roles through the codebook (identity columns dropped here)
:mod:`.cells`      each column → codes into its distinct texts (all later work is per distinct text)
:mod:`.answers`    distinct texts → codebook labels, 0/1 ticks, free text, IDs, times
:mod:`.reasons`    the rejection reasons, and the first problem found in each row's cells
:mod:`.rows`       row rules (empty, duplicate ID, fielding window, 職域) as masks, in precedence order
=================  ========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ppp_survey.constants import Option
from ppp_survey.errors import LoadError
from ppp_survey.ingest.answers import (
    MultiSelect,
    ParseContext,
    answered,
    free_text,
    multi_select_cells,
    multi_select_options,
    respondent_ids,
    single_answer,
    times,
)
from ppp_survey.ingest.cells import Cells, code_column, code_raw
from ppp_survey.ingest.columns import ColumnMap, map_columns
from ppp_survey.ingest.read import RawExport, read_export
from ppp_survey.ingest.reasons import (
    R_BAD_TIME,
    R_CUT_SHORT,
    R_DUPLICATE,
    R_EMPTY,
    R_EXCLUSIVE,
    R_MULTIPLE,
    R_NO_STRATUM,
    R_UNKNOWN_STRATUM,
    R_UNMATCHED,
    R_WINDOW,
    CellProblems,
)
from ppp_survey.ingest.rows import Rejections, RowFacts, row_rules
from ppp_survey.spec.codebook import Codebook, Item, load_codebook
from ppp_survey.text import one_line

__all__ = [
    "R_BAD_TIME",
    "R_CUT_SHORT",
    "R_DUPLICATE",
    "R_EMPTY",
    "R_EXCLUSIVE",
    "R_MULTIPLE",
    "R_NO_STRATUM",
    "R_UNKNOWN_STRATUM",
    "R_UNMATCHED",
    "R_WINDOW",
    "LoadResult",
    "OnInvalid",
    "ValidationReport",
    "load_responses",
]


@dataclass(frozen=True)
class ValidationReport:
    """What happened to each row and column of one export file.

    ``rows`` has one row per data row read: ``row`` (as a spreadsheet numbers it), ``respondent_id``,
    ``status`` (``accepted``/``rejected``), ``reason``, ``column`` and ``value`` (what caused a
    rejection). ``columns`` says what each header was taken for (``role``: id, started, completed,
    modified, identity (dropped), item, option, other_text, ignored). ``notes``: how the file was
    read where it differs from a plain export (Japanese lines: a tab delimiter, UTF-16, title rows
    skipped above the header; see :meth:`~ppp_survey.ingest.read.RawExport.notes`).
    """

    file: str
    format: str
    encoding: str | None
    sha256: str
    rows: pd.DataFrame
    columns: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def n_read(self) -> int:
        return len(self.rows)

    @property
    def n_accepted(self) -> int:
        return int((self.rows["status"] == "accepted").sum())

    @property
    def n_rejected(self) -> int:
        return int((self.rows["status"] == "rejected").sum())

    def summary(self) -> pd.DataFrame:
        """Counts by status and reason, with the totals that must reconcile (read = accepted + rejected)."""
        rejected = self.rows[self.rows["status"] == "rejected"]
        by_reason = rejected.groupby("reason", sort=True).size().rename("count").reset_index()
        by_reason.insert(0, "status", "rejected")
        head = pd.DataFrame(
            {
                "status": ["read", "accepted", "rejected"],
                "reason": ["", "", ""],
                "count": [self.n_read, self.n_accepted, self.n_rejected],
            }
        )
        return pd.concat([head, by_reason], ignore_index=True)

    def rejected(self) -> pd.DataFrame:
        return self.rows[self.rows["status"] == "rejected"].reset_index(drop=True)


@dataclass(frozen=True)
class LoadResult:
    """The typed respondent table, the free text kept apart from it, and the validation report.

    ``responses``: one row per accepted respondent: ``respondent_id`` (str), ``started`` and
    ``completed`` (datetime, NaT if the export has none), each attribute and single-answer question
    as a categorical of codebook labels in codebook order (Likert ordered; NaN = 無回答), and each
    multi-select option as an ``Int8`` 0/1 column ``{id}_{code}`` (<NA> when the question was not
    answered). ``free_text``: ``respondent_id, item, column, text`` for その他 answers and text
    questions; it never goes into published outputs.
    """

    responses: pd.DataFrame
    free_text: pd.DataFrame
    report: ValidationReport
    codebook: Codebook


class OnInvalid(Option, option="on_invalid"):
    """What a cell the codebook does not describe does (:func:`load_responses`, ``--on-invalid``)."""

    ERROR = "error"  # stop with a LoadError naming file, row, column and value
    REJECT = "reject"  # reject the row, with the reason recorded in the validation report


def load_responses(
    path: str | Path,
    codebook: Codebook | None = None,
    *,
    on_invalid: OnInvalid | str = OnInvalid.ERROR,
) -> LoadResult:
    """Load a response export through the codebook.

    Parameters
    ----------
    path
        ``.xlsx``, ``.csv`` (UTF-8 with or without BOM, or CP932) or ``.sav``.
    codebook
        The questionnaire's codebook; ``None`` uses the packaged R7 codebook.
    on_invalid
        ``"error"`` (default): a cell the codebook does not describe raises :class:`LoadError`
        naming file, row, column and value. ``"reject"``: such rows are rejected with the reason
        recorded in the report instead.

    Returns
    -------
    LoadResult
    """
    on_invalid = OnInvalid(on_invalid)
    codebook = codebook or load_codebook()
    raw = read_export(path)
    columns = map_columns(raw, codebook)
    source = _code_export(raw, columns)
    del raw  # every column read is codes now: the raw cells can go
    ctx = ParseContext(codebook.missing_keys | {""}, CellProblems(source.n))
    parsed = _parse_items(codebook, columns, source, ctx)
    ids = respondent_ids(source.cell(columns.header("id")), source.n, source.first_row)
    stamps = {role: times(source.times[role], source.cell(columns.header(role)), source.n, ctx) for role in _TIMES}
    rejected = row_rules(_row_facts(codebook, columns, source, parsed, ids, stamps, ctx))
    _settle_cell_problems(source, codebook, ctx.problems, rejected, on_invalid)
    return _result(source, codebook, columns, parsed, ids, stamps, rejected)


_TIMES = ("started", "completed")


@dataclass(frozen=True)
class _Source:
    """The export as the report names it, and the cells of every column read."""

    path: Path
    format: str
    encoding: str | None
    sha256: str
    first_row: int
    cut_short: str
    notes: tuple[str, ...]
    n: int
    cells: dict[str, Cells]
    times: dict[str, tuple[np.ndarray, np.ndarray] | None]  # raw (codes, uniques) of the time columns

    def cell(self, header: str | None) -> Cells | None:
        return None if header is None else self.cells[header]


def _code_export(raw: RawExport, columns: ColumnMap) -> _Source:
    table = raw.table.reset_index(drop=True)
    cells = {h: code_column(h, table[h], raw.value_labels.get(h)) for h in columns.parsed()}
    raw_times = {}
    for role in _TIMES:
        header = columns.header(role)
        raw_times[role] = None if header is None else code_raw(table[header])
    return _Source(
        raw.path,
        raw.format,
        raw.encoding,
        raw.sha256,
        raw.first_row,
        raw.cut_short,
        tuple(raw.notes()),
        len(table),
        cells,
        raw_times,
    )


@dataclass
class _Parsed:
    """The answers: per single-answer item a categorical, per multi-select item its ticks."""

    singles: dict[str, pd.Series]
    multis: dict[str, MultiSelect]
    free: list[pd.DataFrame]
    answered: np.ndarray  # rows with at least one answer


def _parse_items(cb: Codebook, columns: ColumnMap, source: _Source, ctx: ParseContext) -> _Parsed:
    parsed = _Parsed({}, {}, [], np.zeros(source.n, dtype=bool))
    for item in cb.items:  # in codebook order: the order cell problems are found in
        _parse_item(item, columns, source, ctx, parsed)
    return parsed


def _parse_item(item: Item, columns: ColumnMap, source: _Source, ctx: ParseContext, parsed: _Parsed) -> None:
    single = source.cell(columns.header("item", item.id))
    if item.type == "text":
        if single is not None:
            parsed.answered |= answered(single)
            parsed.free.append(free_text(item, "answer", single, ctx))
        return
    if item.is_multi:
        if single is not None:
            ticks, leftover = multi_select_cells(item, single, ctx)
            parsed.free.append(free_text(item, "other", leftover, ctx))
        else:
            options = {code: source.cells[h] for code, h in columns.options(item.id).items()}
            ticks = multi_select_options(item, options, ctx)
        parsed.multis[item.id] = ticks
        parsed.answered |= ~ticks.missing
    else:
        if single is None:  # map_columns refuses an export that lacks a question's column
            raise ValueError(f"{item.id}: no column of the export is mapped to this single-answer item")
        values = single_answer(item, single, ctx)
        parsed.singles[item.id] = values
        parsed.answered |= values.notna().to_numpy()
    other = source.cell(columns.header("other_text", item.id))
    if other is not None:
        parsed.answered |= answered(other)
        parsed.free.append(free_text(item, "other", other, ctx))


def _row_facts(
    cb: Codebook,
    columns: ColumnMap,
    source: _Source,
    parsed: _Parsed,
    ids: np.ndarray,
    stamps: dict[str, pd.Series],
    ctx: ParseContext,
) -> RowFacts:
    stratum = cb.stratum
    stratum_cells = source.cell(columns.header("item", stratum.id))
    if stratum_cells is None:  # map_columns refuses an export without the stratum's column
        raise ValueError(f"{stratum.id}: no column of the export is mapped to the stratum")
    completed, started = stamps["completed"].to_numpy(), stamps["started"].to_numpy()
    return RowFacts(
        first_row=source.first_row,
        cut_short=source.cut_short,
        answered=parsed.answered,
        ids=ids,
        stamps=np.where(np.isnat(completed), started, completed),
        window=(cb.survey.fielded_from, cb.survey.fielded_to),
        stratum=parsed.singles[stratum.id].cat.codes.to_numpy(),
        stratum_cells=stratum_cells,
        stratum_missing=ctx.is_missing(stratum_cells),
    )


def _settle_cell_problems(
    source: _Source, cb: Codebook, problems: CellProblems, rejected: Rejections, on_invalid: OnInvalid
) -> None:
    """Rows the row rules kept but with a problem in their cells: an error naming the first, or
    rejected for it; then an unknown 職域, as loud as an unknown label."""
    pending = np.flatnonzero((problems.first >= 0) & ~rejected.decided)
    if len(pending) and on_invalid is OnInvalid.ERROR:
        p = problems.problem(int(pending[0]))
        more = len(pending) - 1
        todo = (
            "データの日時を直してください"
            if p.reason == R_BAD_TIME
            else "コードブックの aliases に加えるかデータを直してください"
        )
        raise LoadError(
            f"{source.path}：{source.first_row + p.row}行目、列「{one_line(p.column)}」、値「{one_line(p.value)}」：{p.reason}"
            f"（{one_line(p.detail)}）。{todo}"
            + (f"（ほかに{more}行。--on-invalid reject でこれらの行を除外して続行できます）" if more else "")
        )
    unknown = np.flatnonzero(rejected.reason == R_UNKNOWN_STRATUM)
    if len(unknown) and on_invalid is OnInvalid.ERROR:
        # an unknown 職域 removes respondents from their stratum: as loud as an unknown label
        i = unknown[0]
        values = sorted(set(rejected.value[unknown].tolist()))
        raise LoadError(
            f"{source.path}：{source.first_row + i}行目、列「{one_line(rejected.column[i])}」、値「{one_line(rejected.value[i])}」：{R_UNKNOWN_STRATUM}"
            f"（この値の行は計{len(unknown)}行、値: {'、'.join(map(one_line, values))}; コードブックの職域: {'、'.join(cb.stratum.labels)}）。"
            "コードブックの aliases に加えるかデータを直してください（--on-invalid reject でこれらの行を除外して続行）"
        )
    if len(pending):
        reason, column, value, _ = problems.first_of(pending)
        rejected.reject(pending, reason, column, value)


def _result(
    source: _Source,
    cb: Codebook,
    columns: ColumnMap,
    parsed: _Parsed,
    ids: np.ndarray,
    stamps: dict[str, pd.Series],
    rejected: Rejections,
) -> LoadResult:
    status = np.where(rejected.decided, "rejected", "accepted").astype(object)
    rows = pd.DataFrame(
        {
            "row": np.arange(source.n) + source.first_row,
            "respondent_id": ids,
            "status": status,
            "reason": rejected.reason.tolist(),  # lists, as always: an empty export gives the same dtypes
            "column": rejected.column.tolist(),
            "value": rejected.value.tolist(),
        }
    )
    keep = ~rejected.decided
    data: dict[str, object] = {
        "respondent_id": ids[keep],
        "started": stamps["started"].to_numpy()[keep],
        "completed": stamps["completed"].to_numpy()[keep],
    }
    for item in cb.items:
        if item.id in parsed.singles:
            data[item.id] = parsed.singles[item.id][keep].reset_index(drop=True)
        elif item.id in parsed.multis:
            data.update(parsed.multis[item.id].columns(item, keep))
    free = _free_table(parsed.free, ids, keep)
    report = ValidationReport(
        str(source.path),
        source.format,
        source.encoding,
        source.sha256,
        rows,
        pd.DataFrame(
            {
                "header": [c.header for c in columns.columns],
                "role": [c.role for c in columns.columns],
                "item": [c.item for c in columns.columns],
            }
        ),
        source.notes,
    )
    assert report.n_read == report.n_accepted + report.n_rejected == source.n
    return LoadResult(pd.DataFrame(data), free, report, cb)


def _free_table(parts: list[pd.DataFrame], ids: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
    cols = ["respondent_id", "item", "field", "text"]
    if not parts:
        return pd.DataFrame(columns=cols).astype(str)
    free = pd.concat(parts, ignore_index=True)
    free = free[keep[free["index"].to_numpy()]] if len(free) else free
    free.insert(0, "respondent_id", ids[free["index"].to_numpy()].astype(str) if len(free) else [])
    return free.sort_values(["index", "item"], kind="stable")[cols].reset_index(drop=True).astype(str)
