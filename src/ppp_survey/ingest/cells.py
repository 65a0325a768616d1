"""A column's raw cells as codes into its distinct texts: everything after this works per distinct value.

An export of a million respondents holds a few thousand distinct strings per answer column, so each
column is factorised once (``pd.factorize``, in C) and every later step (text conversion, key
normalisation, matching to the codebook) runs over the distinct values only; the result is
broadcast back to the rows through the codes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from ppp_survey.spec.normalize import normalize_key


def cell_text(value: object) -> str:
    """A cell as text: blanks and NaN as '', whole floats without '.0', dates in ISO form."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.isoformat(sep=" ")
    return str(value)


@dataclass(frozen=True)
class Cells:
    """One column of an export: row ``i`` reads ``texts[codes[i]]``.

    ``texts`` holds each distinct cell text once (blank cells read ``""``); ``codes`` has one entry
    per row, never negative.
    """

    header: str
    codes: np.ndarray
    texts: np.ndarray

    @property
    def n(self) -> int:
        return len(self.codes)

    @cached_property
    def keys(self) -> np.ndarray:
        """The matching key (:func:`normalize_key`) of each distinct text, computed on first use."""
        return np.array([normalize_key(t) for t in self.texts], dtype=object)

    def rows(self, flags: np.ndarray) -> np.ndarray:
        """A per-row array from a per-text one (a mask of rows from a mask of texts, for example)."""
        return flags[self.codes]

    def with_texts(self, texts: np.ndarray) -> Cells:
        """The same rows reading other texts, one per distinct text of this column (need not be distinct)."""
        codes, distinct = pd.factorize(texts)
        return Cells(self.header, codes[self.codes], np.asarray(distinct, dtype=object))


def code_column(header: str, values: pd.Series, labels: dict | None = None) -> Cells:
    """Factorise a raw column into :class:`Cells`; SPSS values first go through their value labels.

    Cells are factorised by their raw values, then each distinct value becomes text once. Values
    equal in Python but not in text (``True`` and ``1``) would share a code, so a column holding
    booleans is turned into text cell by cell instead (an Excel column of TRUE/FALSE: rare and small).
    """
    array = values.to_numpy(dtype=object)
    kind = infer_dtype(array, skipna=False)
    if kind == "string" and not labels:  # CSV: every cell a distinct-able string already
        codes, uniques = pd.factorize(array)
        return Cells(header, codes.astype(np.intp, copy=False), np.asarray(uniques, dtype=object))
    if kind not in ("string", "empty") and _holds_booleans(array):
        each = [cell_text(labels.get(v, v) if labels and v is not None else v) for v in array]
        codes, uniques = pd.factorize(np.array(each, dtype=object))
        return Cells(header, codes.astype(np.intp, copy=False), np.asarray(uniques, dtype=object))
    raw_codes, uniques = pd.factorize(array)  # missing values (None, NaN, NaT, NA) get code -1
    texts = [cell_text(labels.get(v, v) if labels else v) for v in uniques]
    texts.append("")  # the last slot: the text of code -1
    text_codes, distinct = pd.factorize(np.array(texts, dtype=object))  # distinct values may read alike (1, 1.0)
    return Cells(header, text_codes[raw_codes].astype(np.intp, copy=False), np.asarray(distinct, dtype=object))


def _holds_booleans(array: np.ndarray) -> bool:
    is_bool = np.frompyfunc(lambda v: isinstance(v, (bool, np.bool_)), 1, 1)
    return bool(is_bool(array).any()) if len(array) else False


def code_raw(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` of a column's raw values (missing values get code -1), for parsing
    values that are not text (Excel dates)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    return codes, np.asarray(uniques, dtype=object)
