"""Files in and out: decoding text exports, writing outputs safely and reproducibly.

Text inputs (CSV exports, staff frames) are decoded by one rule (:func:`decode_text`: a UTF-16 BOM →
UTF-16, a UTF-8 BOM → UTF-8, else strict UTF-8, else CP932) with a message naming the line that fails.

Every output is written to a temporary name beside its target and moved into place only when it is
complete (:func:`atomic_output`), so an interrupted run never leaves a half-written file that looks
finished. Excel workbooks are zip files that carry the time they were written; :func:`pin_xlsx`
rewrites those stamps to a fixed value so the same tables give the same bytes.

A report's outputs are one unit (:mod:`ppp_survey.files.staging`, its names available here):
:func:`output_lock` keeps a second run out of the folder; :class:`Staging` switches a complete new
set in for the previous one in one journaled step; :func:`settle` completes or undoes a switch a
killed process left half done, before a reader reads the folder.

Text a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR at the start) is
written inert: :func:`inert_text` prefixes ``'`` in CSV; the workbook writer stores it as a string
cell. :func:`check_zip_size` refuses a workbook that expands beyond a size limit (a zip bomb).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pandas as pd

from ppp_survey.errors import LoadError, OutputError
from ppp_survey.files.lock import LOCK_NAME, deferred_interrupts, lock_path, os_error_reason, output_lock, pid_alive
from ppp_survey.files.staging import (
    INTERNAL_FOLDER,
    INTERNAL_MARK,
    STAGING_NAME,
    Staging,
    safe_relative,
    settle,
    staging_root,
)

__all__ = [
    "CSV_FLOAT_FORMAT",
    "FORMULA_START",
    "INTERNAL_FOLDER",
    "INTERNAL_MARK",
    "LOCK_NAME",
    "PINNED_DATE",
    "STAGING_NAME",
    "ZIP_SIZE_LIMIT",
    "OutputError",
    "Staging",
    "atomic_output",
    "check_zip_size",
    "csv_bytes",
    "decode_text",
    "deferred_interrupts",
    "inert_table",
    "inert_text",
    "lock_path",
    "os_error_reason",
    "output_lock",
    "pid_alive",
    "pin_package",
    "pin_xlsx",
    "safe_relative",
    "settle",
    "sha256_file",
    "staging_root",
    "write_csv",
]

# Floats in published CSVs and frozen baselines carry 12 significant digits: every estimate is
# exact far beyond what is printed, and the bytes no longer depend on the last bit a particular
# numpy/BLAS build leaves in a sum (Python's %g: 0.52 → 0.52, 1340.0 → 1340, 1/3 → 0.333333333333).
CSV_FLOAT_FORMAT = "%.12g"
PINNED_DATE = dt.date(1980, 1, 1)  # the zip format's earliest date: a workbook's entries and document dates
_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.partial{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def pin_xlsx(path: str | Path) -> None:
    """Rewrite an .xlsx in place with fixed zip entry times and fixed document dates."""
    p = Path(path)
    p.write_bytes(pin_package(p.read_bytes(), PINNED_DATE))


def pin_package(data: bytes, when: dt.date, *, transform: Callable[[str, bytes], bytes] | None = None) -> bytes:
    """An Office package (pptx, xlsx) rewritten with every zip entry dated ``when`` and its document
    dates (``docProps/core.xml``) set to it, the same inside the workbooks it embeds (a chart's
    data); ``transform(name, body)`` may rewrite the package's own entries."""
    stamp = (when.year, when.month, when.day, 0, 0, 0)
    iso = f"{when:%Y-%m-%d}T00:00:00Z".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.endswith(".xlsx"):
                body = pin_package(body, when)
            elif info.filename.endswith("docProps/core.xml"):
                body = _CORE_DATES.sub(rb"\g<1>" + iso + rb"\g<3>", body)
            elif transform is not None:
                body = transform(info.filename, body)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, body)
    return out.getvalue()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# A cell that begins with one of these is a formula to Excel, LibreOffice or Google Sheets (OWASP,
# "CSV Injection"): =HYPERLINK(…), +cmd|' /C calc'!A0, @SUM(…), -2+3, or a tab/CR before one.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ... except a plain number written as text ("-15.2", "+0.2", "-3%"): a spreadsheet reads it as the
# number it is, nothing runs. A lone "-" (no value) is not a formula either.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")
_Cell = TypeVar("_Cell")  # a CSV cell of any type: text comes back as text


def inert_text(value: _Cell) -> _Cell | str:
    """A CSV cell as a spreadsheet must read it: text that a spreadsheet would run as a formula gets
    a leading apostrophe (OWASP's advice); numbers, plain numbers written as text and anything that
    is not text are returned as they are."""
    if isinstance(value, str) and value[:1] in FORMULA_START and value != "-" and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def inert_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every formula-like text cell and header made inert (:func:`inert_text`); the
    same object when there is none. Numeric, boolean and date columns are never touched."""
    fixed: dict[int, pd.Series] = {}
    for j, dtype in enumerate(table.dtypes):
        if dtype.kind in "biufcmM":  # numbers (a negative number is not text), booleans, dates
            continue
        column = table.iloc[:, j]
        if column.map(lambda v: inert_text(v) is not v, na_action="ignore").fillna(False).astype(bool).any():
            fixed[j] = column.astype(object).map(inert_text, na_action="ignore")
    headers = [inert_text(c) for c in table.columns] if not isinstance(table.columns, pd.MultiIndex) else None
    renamed = headers is not None and any(h is not c for h, c in zip(headers, table.columns, strict=True))
    if not fixed and not renamed:
        return table
    out = table.copy()
    for j, column in fixed.items():
        out.isetitem(j, column)
    if renamed:
        out.columns = headers
    return out


def csv_bytes(table: pd.DataFrame) -> bytes:
    """A table as CSV for Excel on Windows: UTF-8 with BOM, CRLF line ends, floats to 12 significant
    digits, formula-like text made inert (:func:`inert_table`)."""
    buf = io.StringIO()
    inert_table(table).to_csv(buf, index=False, lineterminator="\r\n", float_format=CSV_FLOAT_FORMAT)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """:func:`csv_bytes` written atomically to `path`."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(csv_bytes(table))
    return Path(path)


_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"\xef\xbb\xbf", "utf-8-sig"))


def decode_text(data: bytes, path: Path | str) -> tuple[str, str]:
    """Decode a text file: a UTF-16 BOM → UTF-16 (Excel's 「Unicode テキスト」); a UTF-8 BOM → UTF-8; NUL
    bytes → UTF-16 without a BOM (the side of the byte pairs they sit on says LE or BE); else strict
    UTF-8; else CP932. Returns (text, encoding); a line that is neither is a one-line :class:`LoadError`."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec, errors="strict"), codec
            except UnicodeDecodeError as exc:
                line = data[len(bom) : exc.start + len(bom)].decode(codec, errors="replace").count("\n") + 1
                name = "UTF-8（ファイルの先頭はUTF-8のBOM）" if codec == "utf-8-sig" else "UTF-16（Unicode テキスト）"
                raise LoadError(
                    f"{path}: {line}行目が{name}として正しくありません（{exc.reason}。途中で切れているか壊れている"
                    "可能性があります）。ファイルを書き出し直してください"
                ) from None
    bomless = _bomless_utf16(data[:4096])  # UTF-16 without a BOM: its ASCII characters' NUL bytes
    if bomless is not None:
        try:
            return data.decode(bomless, errors="strict"), bomless
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: read as the rest are
    try:
        return data.decode("utf-8", errors="strict"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":  # valid UTF-8 cut off inside its last character
            raise LoadError(
                f"{path}: ファイルが文字の途中で終わっています（途中で切れた？）。書き出し直してください"
            ) from None
    try:
        return data.decode("cp932", errors="strict"), "cp932"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LoadError(
            f"{path}: {line}行目がUTF-8でもCP932（Shift_JIS）でもありません（バイト {data[exc.start : exc.start + 1].hex()}）。"
            "Excelで「CSV UTF-8（コンマ区切り）」として保存し直してください"
        ) from None


def _bomless_utf16(head: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when the NUL bytes of ``head`` sit on one side of the byte pairs
    (the high byte of ASCII characters: commas, digits, line ends), else None."""
    odd, even = head[1::2].count(0), head[0::2].count(0)
    if odd > 4 * even and odd >= len(head) // 20:
        return "utf-16-le"
    if even > 4 * odd and even >= len(head) // 20:
        return "utf-16-be"
    return None


# A workbook whose parts expand beyond this is refused before any reader unpacks it: a survey export
# of 40,000 staff × 200 columns is about 300 MB of sheet XML; a zip bomb is gigabytes or more.
ZIP_SIZE_LIMIT = 512 * 1024 * 1024


def check_zip_size(source: str | Path | bytes, limit: int = ZIP_SIZE_LIMIT, *, name: str | None = None) -> int | None:
    """Refuse a zip archive (an ``.xlsx``) that expands beyond ``limit`` bytes; return its expanded size.

    Two checks, the second not trusting the first: the sizes the archive declares for its parts
    (``ZipInfo.file_size``, summed), then the parts actually decompressed, counted as they stream
    and stopped as soon as the total passes ``limit`` (so at most ``limit`` bytes are ever produced,
    and never held in memory). ``source`` is a path or the file's bytes; ``name`` is the file named
    in the message (default: the path). A file that is not a zip archive is not checked here
    (returns None): the reader says what is wrong with it. Raises :class:`LoadError` (one line) when
    the archive expands beyond ``limit`` or a part of it cannot be decompressed.
    """
    label = name if name is not None else (Path(source).name if isinstance(source, (str, Path)) else "workbook")
    if not zipfile.is_zipfile(io.BytesIO(source) if isinstance(source, bytes) else source):
        return None
    too_big = (
        f"{label}: 展開すると{limit / 1024**2:,.0f} MBの上限を超えるため読み込みません（zip爆弾の疑い）。"
        "正しいファイルか確認し、本当に大きなデータなら CSV UTF-8 で保存して --data に指定してください"
    )
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            members = archive.infolist()
            if sum(info.file_size for info in members) > limit:
                raise LoadError(too_big)
            total = 0
            for info in members:
                if info.is_dir():
                    continue
                # declared size := what is left of the limit + a margin (so the CRC check at the declared
                # end cannot fire first): a part that lies about its size is counted as it expands
                bounded = copy.copy(info)
                bounded.file_size = limit - total + (4 << 20)
                with archive.open(bounded) as part:
                    while block := part.read(1 << 20):
                        total += len(block)
                        if total > limit:
                            raise LoadError(too_big)
            return total
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise LoadError(
            f"{label}: Excelブックの一部を展開できません（{exc}）。Excelで開いて保存し直してから再実行してください"
        ) from None
