"""Reading export files as they are: bytes, encoding, cells. No interpretation happens here.

Supported: Excel ``.xlsx``/``.xlsm`` (first sheet), ``.csv`` and SPSS ``.sav``. Files are opened
read-only and hashed (SHA-256) from the same bytes that are parsed, so the manifest describes
exactly what was read. CSV encodings follow a fixed rule, recorded in the result: a UTF-8 byte order
mark means UTF-8; otherwise strict UTF-8; otherwise CP932 (Windows Japanese). The ``shift_jis``
codec is never used: it fails on characters Windows writes every day, such as ① and Ⅰ.

A UTF-8 CSV is hashed while it is streamed, then parsed from its path, which lets pandas read a
large file on several threads and never holds the file's bytes and its cells in memory at once;
the parse decodes every cell as strict UTF-8, and the file's size, times and inode must be
unchanged afterwards, so the hash still describes the bytes parsed. Anything else (CP932, a
damaged file) takes the path that decodes the whole file first (:func:`ppp_survey.files.decode_text`),
with the same result and messages.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ppp_survey.errors import LoadError
from ppp_survey.files import check_zip_size, decode_text

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
    if suffix == ".csv":
        fast = _read_utf8_csv(p)
        if fast is not None:
            return fast
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
    check_zip_size(data, name=p.name)  # a workbook that would expand beyond the limit is refused unread
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


# The cells of a CSV stay text: no type guessing, blanks as "", blank lines kept (row numbers).
_CSV_OPTIONS: dict = {"dtype": object, "keep_default_na": False, "skip_blank_lines": False}
_CHUNK = 1 << 24


def _read_csv(p: Path, data: bytes, digest: str) -> RawExport:
    text, encoding = decode_text(data, p)
    try:  # the C parser reads UTF-8 bytes: the text is handed over as such, once
        table = pd.read_csv(io.BytesIO(text.encode("utf-8")), encoding="utf-8", **_CSV_OPTIONS)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LoadError(
            f"{p}: not a readable CSV ({exc}); check that it is comma-separated with one header row"
        ) from None
    return RawExport(p, "csv", encoding, digest, _clean_headers(table), first_row=2, cut_short=_cut_short(text))


@dataclass(frozen=True)
class _Scan:
    """What one streamed pass over a file tells: its hash and what the fast CSV path must know."""

    sha256: str
    blank: bool  # nothing but ASCII whitespace (or nothing at all)
    bom: bool
    nul: bool  # a NUL byte: the C parser could end a cell early without decoding the rest
    ends_line: bool
    stamp: tuple[int, int, int, int]  # device, inode, size, modification time (ns)


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _scan(p: Path) -> _Scan:
    digest, blank, nul, head, last = hashlib.sha256(), True, False, b"", b""
    with open(p, "rb") as fh:  # read-only
        stamp = _stamp(os.fstat(fh.fileno()))
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            blank = blank and chunk.isspace()
            nul = nul or b"\0" in chunk
            head = head if len(head) >= 3 else (head + chunk)[:3]
            last = chunk[-1:]
    return _Scan(digest.hexdigest(), blank, head == b"\xef\xbb\xbf", nul, last in (b"\n", b"\r"), stamp)


def _read_utf8_csv(p: Path) -> RawExport | None:
    """A UTF-8 CSV (with or without BOM) parsed from its path; None for anything this path cannot
    settle exactly (not UTF-8, not parseable, a NUL byte), which the decode-first path then reads."""
    scan = _scan(p)
    if scan.blank:
        raise LoadError(f"{p}: the file is empty")
    if scan.nul:
        return None
    try:  # strict UTF-8: a byte that is not raises, and the file is read as decode_text says
        table = pd.read_csv(p, encoding="utf-8", encoding_errors="strict", **_CSV_OPTIONS)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    if _stamp(os.stat(p)) != scan.stamp:
        raise LoadError(f"{p}: the file changed while it was being read; run again when it is saved")
    cut_short = ""
    if not scan.ends_line:  # rare (a damaged or hand-made file): read the text again to count its fields
        data = p.read_bytes()
        cut_short = _cut_short(data[3:].decode("utf-8") if scan.bom else data.decode("utf-8"))
    encoding = "utf-8-sig" if scan.bom else "utf-8"
    return RawExport(p, "csv", encoding, scan.sha256, _clean_headers(table), first_row=2, cut_short=cut_short)


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
