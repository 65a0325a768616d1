"""Reading export files as they are: bytes, encoding, cells. No interpretation happens here.

Supported: Excel ``.xlsx``/``.xlsm`` (first sheet), ``.csv`` and SPSS ``.sav``. Files are opened
read-only and hashed (SHA-256) from the same bytes that are parsed, so the manifest describes
exactly what was read. CSV encodings follow a fixed rule, recorded in the result: a UTF-8 byte order
mark means UTF-8; otherwise strict UTF-8; otherwise CP932 (Windows Japanese). The ``shift_jis``
codec is never used: it fails on characters Windows writes every day, such as ① and Ⅰ.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ppp_survey.errors import LoadError
from ppp_survey.files import decode_text

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
SUFFIXES = (*EXCEL_SUFFIXES, ".csv", ".sav")


@dataclass(frozen=True)
class RawExport:
    """The cells of an export file, untouched, with what is known about the file.

    ``table`` holds the cells as objects with the file's own headers; ``first_row`` is the row
    number, as a spreadsheet shows it, of the table's first data row, so that messages can point at
    a row the user can find. For SPSS files, ``column_labels`` and ``value_labels`` carry the
    variable and value labels.
    """

    path: Path
    format: str
    encoding: str | None
    sha256: str
    table: pd.DataFrame
    first_row: int
    column_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict] = field(default_factory=dict)
    cut_short: str = ""  # CSV whose last line ends early (no line end, fewer fields): "n of m 列"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_export(path: str | Path) -> RawExport:
    """Read an export file's cells without interpreting them.

    Raises
    ------
    LoadError
        The file does not exist, has an unsupported extension, or cannot be parsed (for example a
        truncated workbook).
    """
    p = Path(path)
    if not p.is_file():
        raise LoadError(f"{p}: file not found; pass the response export with --data")
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise LoadError(f"{p}: unsupported file type {suffix or '(none)'}; use .xlsx, .csv or .sav")
    with open(p, "rb") as fh:  # read-only, once: the hash and the parse see the same bytes
        data = fh.read()
    digest = sha256_of(data)
    if not data.strip():
        raise LoadError(f"{p}: the file is empty")
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(p, data, digest)
    if suffix == ".csv":
        return _read_csv(p, data, digest)
    return _read_sav(p, digest)


def _read_excel(p: Path, data: bytes, digest: str) -> RawExport:
    # calamine (Rust) reads a workbook about ten times faster than openpyxl, with the same cells.
    try:
        table = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, header=0, engine="calamine")
    except Exception as exc:  # calamine raises its own error types for damaged files
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise LoadError(f"{p}: not a readable Excel workbook (truncated or damaged?): {exc}") from None
        try:  # a valid zip that calamine refuses: let openpyxl try before giving up
            table = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, header=0, engine="openpyxl")
        except Exception as exc2:
            raise LoadError(f"{p}: not a readable Excel workbook (truncated or damaged?): {exc2}") from None
    return RawExport(p, "xlsx", None, digest, _clean_headers(table), first_row=2)


def _read_csv(p: Path, data: bytes, digest: str) -> RawExport:
    text, encoding = decode_text(data, p)
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LoadError(
            f"{p}: not a readable CSV ({exc}); check that it is comma-separated with one header row"
        ) from None
    return RawExport(p, "csv", encoding, digest, _clean_headers(table), first_row=2, cut_short=_cut_short(text))


def _cut_short(text: str) -> str:
    """``"k of m 列"`` when the file's last record stops without a line end and with fewer fields
    than the header (a file cut off mid-row: pandas would fill the missing cells as blanks, and the
    row would pass as a respondent who skipped the last questions); else ``""``.

    Excel and Forms end every CSV line with a line end, so only a damaged or hand-made file is
    parsed a second time here.
    """
    if not text or text.endswith(("\n", "\r")):
        return ""
    records = list(csv.reader(io.StringIO(text)))
    if len(records) < 2:
        return ""
    header, last = len(records[0]), len(records[-1])
    return f"{last} of {header} 列" if last < header else ""


def _read_sav(p: Path, digest: str) -> RawExport:
    import pyreadstat  # imported here: only .sav users pay for it

    try:
        table, meta = pyreadstat.read_sav(str(p), apply_value_formats=False, user_missing=False)
    except Exception as exc:  # pyreadstat raises its own ReadstatError/PyreadstatError types
        raise LoadError(f"{p}: not a readable SPSS .sav file (truncated or damaged?): {exc}") from None
    labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
    return RawExport(
        p,
        "sav",
        meta.file_encoding,
        digest,
        table.astype(object),
        first_row=1,
        column_labels=labels,
        value_labels=dict(meta.variable_value_labels or {}),
    )


def _clean_headers(table: pd.DataFrame) -> pd.DataFrame:
    """Headers as strings; pandas' names for blank headers ('Unnamed: 3') become ''."""
    table = table.astype(object)
    table.columns = ["" if str(c).startswith("Unnamed: ") else str(c) for c in table.columns]
    return table
