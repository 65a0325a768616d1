"""Cells to answers: each distinct text of a column is matched to the codebook once.

Single-answer and Likert columns become categoricals of the codebook's labels; multi-select answers,
whether one cell per question (``label;label;``, ``1、3``) or one 0/1 column per choice, become
0/1 ticks with a mask of rows not answered; その他 and text answers become free text; IDs and times are read
here too. A cell the codebook does not describe is noted in :class:`CellProblems` (the row is
rejected later, or the load stops, as ``on_invalid`` says).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from ppp_survey.ingest.cells import Cells, cell_text
from ppp_survey.ingest.reasons import R_BAD_TIME, R_EXCLUSIVE, R_MULTIPLE, R_UNMATCHED, CellProblems
from ppp_survey.ingest.stamps import parse_stamps
from ppp_survey.spec.codebook import Item
from ppp_survey.spec.normalize import normalize_key

TRUE_KEYS = frozenset({"1", "true", "はい", "選択", "○", "〇", "yes", "x", "✓", "✔"})
FALSE_KEYS = frozenset({"0", "false", "いいえ", "no", "未選択", "選択なし"})
SEPARATORS = re.compile(r"[;,、；，\n]+")
NUMBERING_ONLY = re.compile(r"^\(?\d{1,2}[.)]?$")
TIME_HINT = "日時の形式（例 2025/07/18 09:30:00、2025年7月18日 9時30分、令和7年7月18日）で書いてください"


@dataclass(frozen=True)
class ParseContext:
    """The parser's context: the codebook's missing-value keys and where problems are noted."""

    missing: frozenset[str]
    problems: CellProblems

    def is_missing(self, cells: Cells) -> np.ndarray:
        """Per distinct text: does it mean 無回答 (blank included)?"""
        return np.array([k in self.missing for k in cells.keys], dtype=bool)


def single_answer(item: Item, cells: Cells, ctx: ParseContext) -> pd.Series:
    """A single-answer or Likert column as a categorical of the codebook's labels (NaN: no answer).

    A text that is not a choice is noted (R_UNMATCHED, or R_MULTIPLE when it is several choices);
    for the stratum it is left to the row rules (無回答 or 不明 職域).
    """
    position = {label: j for j, label in enumerate(item.labels)}
    lookup = {k: position[c.label] for c in item.choices for k in (*c.keys(), normalize_key(c.code))}
    n_texts = len(cells.texts)
    label = np.full(n_texts, -1, dtype=np.int64)  # category code per distinct text, -1: none
    reasons = np.full(n_texts, None, dtype=object)
    details = np.full(n_texts, None, dtype=object)
    unmatched = f"{item.id} の選択肢（{'／'.join(item.labels)}）にない値です"
    for u, key in enumerate(cells.keys):  # each distinct text once, then broadcast
        if key in ctx.missing:
            continue
        if key in lookup:
            label[u] = lookup[key]
            continue
        if item.role == "stratum":
            continue  # rows without a known 職域 are rejected by the row rules
        tokens = [t for t in SEPARATORS.split(key) if t]
        if len(tokens) > 1 and all(t in lookup for t in tokens):
            reasons[u], details[u] = R_MULTIPLE, f"{item.id} は単一回答です"
        else:
            reasons[u], details[u] = R_UNMATCHED, unmatched
    ctx.problems.note_texts(cells, reasons, details)
    codes = label[cells.codes]
    return pd.Series(pd.Categorical.from_codes(codes, categories=item.labels, ordered=item.type == "likert"))


@dataclass(frozen=True)
class MultiSelect:
    """A multi-select item's answers: ``ticks`` (rows × choices, 0/1) and ``missing`` (rows not
    answered, or rejected for their cell)."""

    ticks: np.ndarray
    missing: np.ndarray

    def columns(self, item: Item, keep: np.ndarray) -> dict[str, pd.api.extensions.ExtensionArray]:
        """The kept rows as one ``Int8`` column per choice (``{id}_{code}``; <NA>: not answered)."""
        missing = self.missing[keep]
        return {
            item.option_column(c): pd.arrays.IntegerArray(np.ascontiguousarray(self.ticks[keep, j]), missing.copy())
            for j, c in enumerate(item.choices)
        }


def multi_select_cells(item: Item, cells: Cells, ctx: ParseContext) -> tuple[MultiSelect, Cells]:
    """One cell per question (``label;label;``, ``1、3``, Google's ``, ``): the ticks and, for each
    row, the text left over after the known labels (their その他 answer, as cells)."""
    ticks, rests = _parse_multi_texts(item, cells, ctx)
    missing = np.isnan(ticks[:, 0])
    per_text = np.where(np.isnan(ticks), 0, ticks).astype(np.int8)
    return MultiSelect(per_text[cells.codes], cells.rows(missing)), cells.with_texts(rests)


def _parse_multi_texts(item: Item, cells: Cells, ctx: ParseContext) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct text: its row of the 0/1 matrix (NaN: no answer, or rejected) and the text left over."""
    code_index = {c.code: j for j, c in enumerate(item.choices)}
    token_lookup = {k: c.code for c in item.choices for k in (*c.keys(), normalize_key(c.code))}
    label_keys = sorted(((k, c.code) for c in item.choices for k in c.keys()), key=lambda kc: -len(kc[0]))
    other = next((c for c in item.choices if c.other), None)
    exclusive = {c.code for c in item.choices if c.exclusive}
    n_texts = len(cells.texts)
    ticks = np.full((n_texts, len(item.choices)), np.nan)
    rests = np.full(n_texts, "", dtype=object)
    reasons = np.full(n_texts, None, dtype=object)
    details = np.full(n_texts, None, dtype=object)
    for u, key in enumerate(cells.keys):  # each distinct cell once, then broadcast
        if key in ctx.missing:
            continue
        chosen, rest = _split_choices(key, token_lookup, label_keys)
        if rest:
            if other is None:
                reasons[u] = R_UNMATCHED
                details[u] = f"{item.id} の選択肢にない回答「{rest}」があります（その他の選択肢がない設問）"
                continue
            chosen.add(other.code)
            rests[u] = rest
        if chosen & exclusive and len(chosen) > 1:
            reasons[u], details[u] = R_EXCLUSIVE, item.id
            continue
        ticks[u] = 0.0
        ticks[u, [code_index[c] for c in chosen]] = 1.0
    ctx.problems.note_texts(cells, reasons, details)
    return ticks, rests


def _split_choices(key: str, token_lookup: dict, label_keys: list[tuple[str, int]]) -> tuple[set, str]:
    """The choice codes named in a multi-select cell's key, and the text left over."""
    tokens = [t for t in SEPARATORS.split(key) if t]
    if tokens and all(t in token_lookup for t in tokens):
        return {token_lookup[t] for t in tokens}, ""
    chosen, s = set(), key  # longest label first, so labels that contain separators or other labels match whole
    for k, code in label_keys:
        if k in s:
            chosen.add(code)
            s = s.replace(k, ";")
    return chosen, "、".join(t for t in SEPARATORS.split(s) if t and not NUMBERING_ONLY.match(t))


def multi_select_options(item: Item, options: dict[int, Cells], ctx: ParseContext) -> MultiSelect:
    """One 0/1 column per choice (SPSS ``q4_3``, Forms ``question[label]``): the ticks."""
    n = next(iter(options.values())).n
    matrix = np.zeros((n, len(item.choices)), dtype=np.int8)
    for j, choice in enumerate(item.choices):
        cells = options[choice.code]
        true_keys = TRUE_KEYS | set(choice.keys())
        ticked = np.array([k in true_keys for k in cells.keys], dtype=bool)
        missing = ctx.is_missing(cells)
        bad = np.array([k not in FALSE_KEYS for k in cells.keys], dtype=bool) & ~ticked & ~missing
        matrix[:, j] = cells.rows(ticked)
        ctx.problems.note(cells.rows(bad), R_UNMATCHED, cells, f"{item.option_column(choice)} は 0/1 の列です")
    ticked = matrix.sum(axis=1, dtype=np.int64)
    missing = ticked == 0  # nothing ticked: the question was not answered
    exclusive = [j for j, c in enumerate(item.choices) if c.exclusive]
    if exclusive:
        bad_rows = (matrix[:, exclusive].sum(axis=1, dtype=np.int64) > 0) & (ticked > 1)
        ctx.problems.note(bad_rows, R_EXCLUSIVE, options[item.choices[exclusive[0]].code], item.id)
        missing |= bad_rows
    matrix[missing] = 0
    return MultiSelect(matrix, missing)


def free_text(item: Item, field: str, cells: Cells, ctx: ParseContext) -> pd.DataFrame:
    """The rows whose text is an answer (not 無回答): ``index`` (row position), ``item``, ``field``, ``text``."""
    index = np.flatnonzero(cells.rows(~ctx.is_missing(cells)))
    return pd.DataFrame({"index": index, "item": item.id, "field": field, "text": cells.texts[cells.codes[index]]})


def answered(cells: Cells) -> np.ndarray:
    """Rows whose cell is not blank."""
    return cells.rows(np.array([t != "" for t in cells.texts], dtype=bool))


def respondent_ids(cells: Cells | None, n: int, first_row: int) -> np.ndarray:
    """Each row's ID (stripped); a blank or missing ID column gives ``row{spreadsheet row}``."""
    ids = np.empty(n, dtype=object)
    blank = np.ones(n, dtype=bool)
    if cells is not None:
        stripped = np.array([t.strip() for t in cells.texts], dtype=object)
        ids[:] = cells.rows(stripped)
        blank = cells.rows(stripped == "")
    if blank.any():
        rows = np.flatnonzero(blank) + first_row
        ids[blank] = ("row" + pd.Series(rows).astype(str)).to_numpy(dtype=object)
    return ids


def times(raw: tuple[np.ndarray, np.ndarray] | None, cells: Cells | None, n: int, ctx: ParseContext) -> pd.Series:
    """A start or completion time column as ``datetime64[ns]``, Japan time (NaT: blank or unreadable;
    an unreadable one is noted as R_BAD_TIME; the forms read: :mod:`.stamps`). ``raw``: the
    column's raw (codes, uniques)."""
    if raw is None or cells is None:
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    codes, uniques = raw
    values = pd.Series([*uniques, None], dtype=object)  # code -1 (a blank cell): the None at the end
    if infer_dtype(uniques, skipna=False) == "string":  # CSV: the texts themselves, a blank as None
        values[values == ""] = None
    else:
        values = values.map(lambda v: v if isinstance(v, (dt.datetime, pd.Timestamp)) else cell_text(v) or None)
    stamps = parse_stamps(values)[codes]
    bad = np.isnat(stamps) & cells.rows(np.array([t != "" for t in cells.texts], dtype=bool))
    ctx.problems.note(bad, R_BAD_TIME, cells, TIME_HINT)
    return pd.Series(stamps, dtype="datetime64[ns]")
