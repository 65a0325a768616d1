"""Reading export files as they are: bytes, encoding, cells. No interpretation happens here.

Supported: Excel ``.xlsx``/``.xlsm`` (first sheet), delimited text (``.csv``, ``.tsv``, ``.txt``) and
SPSS ``.sav``. Files are opened read-only and hashed (SHA-256) from the same bytes that are parsed,
so the manifest describes exactly what was read. Text encodings follow a fixed rule, recorded in the
result: a UTF-16 byte order mark means UTF-16 (Excel's 「Unicode テキスト」, tab-separated UTF-16 LE);
a UTF-8 byte order mark means UTF-8; otherwise strict UTF-8; otherwise CP932 (Windows Japanese). The
``shift_jis`` codec is never used: it fails on characters Windows writes every day, such as ① and Ⅰ.

The delimiter of a text file is sniffed from its first lines among ``,``, tab and ``;`` (the one
with which the header and the most lines below it agree on the number of cells; see :func:`sniff`),
so a tab-separated file saved as ``.csv`` reads as what it is. Rows above the header (a title such as
「職員意識調査 回答一覧」, a date, blank rows) are skipped, in workbooks too, when the header is
plain to see: it is the first row with at least two non-blank cells and at least half as many as the
fullest of the first :data:`MAX_TITLE_ROWS` + 6 rows (and, in a text file, as many cells as the table
has). A title holds one or two cells, a survey export's header one per question. What was skipped is
recorded (:attr:`RawExport.skipped`) and said on screen, and row numbers stay the spreadsheet's (the
header's row + 1 is the first data row).

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
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ppp_survey.errors import LoadError
from ppp_survey.files import check_zip_size, decode_text

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
SUFFIXES = (*EXCEL_SUFFIXES, *TEXT_SUFFIXES, ".sav")
DELIMITERS = (",", "\t", ";")
#: Rows above the header that may be skipped (titles, notes, blank rows of one cell or none).
MAX_TITLE_ROWS = 10
_HEAD = 1 << 20  # the part of a text file in which the header is looked for
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（BOM付き）",
    "cp932": "CP932（Shift_JIS）",
    "utf-16-le": "UTF-16（Unicode テキスト）",
    "utf-16-be": "UTF-16 BE（Unicode テキスト）",
}
_DELIMITER_NAMES = {",": "カンマ区切り", "\t": "タブ区切り", ";": "セミコロン区切り"}


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
    cut_short: str = ""  # CSV whose last line ends early (no line end, fewer fields): "m列中n列"
    delimiter: str | None = None  # of a text file: ",", "\t" or ";"
    skipped: tuple[str, ...] = ()  # the rows above the header, skipped (their one cell's text, or "")

    @property
    def header_row(self) -> int:
        """The header's row as a spreadsheet numbers it (0 for SPSS, which has no header row)."""
        return self.first_row - 1

    def notes(self) -> list[str]:
        """How the file was read, in Japanese, where it differs from a plain export: a delimiter
        other than the comma, UTF-16, rows skipped above the header."""
        out = []
        if self.delimiter in ("\t", ";") or (self.encoding or "").startswith("utf-16"):
            encoding = encoding_name(self.encoding)
            out.append(f"{_DELIMITER_NAMES.get(self.delimiter or ',', '')}・{encoding}のテキストとして読みました")
        if self.skipped:
            rows = "、".join(
                f"{i}行目「{text}」" if text else f"{i}行目（空行）" for i, text in enumerate(self.skipped, start=1)
            )
            out.append(f"表の上の{rows}はタイトル行とみなして読み飛ばし、{self.header_row}行目を見出しとして読みました")
        return out


def encoding_name(encoding: str | None) -> str:
    """An encoding as a person reads it (``utf-8-sig`` → ``UTF-8（BOM付き）``)."""
    return _ENCODING_NAMES.get(encoding or "", encoding or "-")


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
        raise LoadError(f"{p}: ファイルが見つかりません。--data に回答データのファイルを指定してください")
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise LoadError(
            f"{p}: この種類のファイル（{suffix or '拡張子なし'}）は読めません。"
            ".xlsx、.csv、.tsv/.txt（タブ区切り）、.sav のいずれかで保存してください"
        )
    if suffix in TEXT_SUFFIXES:
        fast = _read_text_fast(p)
        if fast is not None:
            return fast
    with open(p, "rb") as fh:  # read-only, once: the hash and the parse see the same bytes
        data = fh.read()
    digest = sha256_of(data)
    if not data.strip():
        raise LoadError(_EMPTY.format(p=p))
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(p, data, digest)
    if suffix in TEXT_SUFFIXES:
        return _read_csv(p, data, digest)
    return _read_sav(p, digest)


_EMPTY = "{p}: ファイルが空です。回答データを書き出し直してください"


def _read_excel(p: Path, data: bytes, digest: str) -> RawExport:
    check_zip_size(data, name=p.name)  # a workbook that would expand beyond the limit is refused unread
    # calamine (Rust) reads a workbook about ten times faster than openpyxl, with the same cells.
    engine = "calamine"
    try:
        table = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, header=0, engine=engine)
    except Exception as exc:  # calamine raises its own error types for damaged files
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise LoadError(_not_excel(p, exc)) from None
        engine = "openpyxl"
        try:  # a valid zip that calamine refuses: let openpyxl try before giving up
            table = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, header=0, engine=engine)
        except Exception as exc2:
            raise LoadError(_not_excel(p, exc2)) from None
    if table.columns.empty:  # a first sheet with no cells: said as for an empty text file
        raise LoadError(_EMPTY.format(p=p))
    table = _clean_headers(table)
    skipped = _title_rows([list(table.columns), *table.iloc[: MAX_TITLE_ROWS + 5].to_numpy().tolist()])
    if skipped:  # a title above the header (rare): the sheet read again from the header's row
        table = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, header=len(skipped), engine=engine)
        table = _clean_headers(table)
    return RawExport(p, "xlsx", None, digest, table, first_row=2 + len(skipped), skipped=skipped)


def _not_excel(p: Path, exc: Exception) -> str:
    return (
        f"{p}: Excelブックとして読めません（途中で切れているか壊れている可能性があります: {exc}）。"
        "Excelで開いて保存し直すか、書き出し直してください"
    )


def _filled(value: object) -> bool:
    """Whether a cell of a row above the data holds something (not blank, not NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return False
    return str(value).strip() != ""


def _header_at(filled: list[int]) -> int | None:
    """The header's position among the first rows, given each row's number of non-blank cells: the
    first with two or more and at least half the fullest row's; ``None`` when there is none."""
    need = max(2, -(-max(filled, default=0) // 2))
    return next((i for i, n in enumerate(filled[: MAX_TITLE_ROWS + 1]) if n >= need), None)


def _title_rows(rows: list[list]) -> tuple[str, ...]:
    """The texts of the rows above a workbook's header (see the module's docstring); ``()`` when
    the first row is the header."""
    cells = [[str(v).strip() for v in row if _filled(v)] for row in rows]
    at = _header_at([len(c) for c in cells]) or 0
    return tuple(" ".join(c) for c in cells[:at])


# The cells of a CSV stay text: no type guessing, blanks as "", blank lines kept (row numbers).
_CSV_OPTIONS: dict = {"dtype": object, "keep_default_na": False, "skip_blank_lines": False}
_CHUNK = 1 << 24


def _read_csv(p: Path, data: bytes, digest: str) -> RawExport:
    text, encoding = decode_text(data, p)
    delimiter, skipped = sniff(text[:_HEAD], p.suffix)
    try:  # the C parser reads UTF-8 bytes: the text is handed over as such, once
        table = pd.read_csv(
            io.BytesIO(text.encode("utf-8")), encoding="utf-8", sep=delimiter, header=len(skipped), **_CSV_OPTIONS
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LoadError(not_readable_text(p, delimiter, exc)) from None
    return _text_export(p, encoding, digest, table, delimiter, skipped, _cut_short(text, delimiter, len(skipped)))


def _text_export(
    p: Path, encoding: str, digest: str, table: pd.DataFrame, delimiter: str, skipped: tuple[str, ...], cut: str
) -> RawExport:
    fmt = "tsv" if delimiter == "\t" else "csv"
    first_row = 2 + len(skipped)
    return RawExport(
        p, fmt, encoding, digest, _clean_headers(table), first_row, cut_short=cut, delimiter=delimiter, skipped=skipped
    )


_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def not_readable_text(p: Path, delimiter: str, exc: Exception) -> str:
    """The message for a delimited text file the parser refuses: the row and what is wrong with it
    where the parser says so (a row with more cells than the header, a quote never closed)."""
    kind = _DELIMITER_NAMES.get(delimiter, "")
    fields, quote = _FIELDS.search(str(exc)), _OPEN_QUOTE.search(str(exc))
    if fields:
        expected, line, saw = fields.groups()
        what = f"{line}行目のセルが{saw}個あり、見出しの{expected}列より多い"
    elif quote:
        what = f'{int(quote.group(1)) + 1}行目から始まる引用符（"）が閉じていない'
    else:
        what = str(exc).strip()
    return f"{p}: {kind}のテキストとして読めません（{what}）。1行目（またはタイトル行の次）が見出しの表か確認し、書き出し直してください"


def sniff(head: str, suffix: str = ".csv") -> tuple[str, tuple[str, ...]]:
    """``(delimiter, skipped)`` of a delimited text from its first lines.

    For each delimiter (``,``, tab, ``;``) the table's width is the most common number of cells
    among the lines it splits into two non-blank cells or more; the delimiter with the most lines of
    that width wins (then the wider table, then the file type's own: tab for ``.tsv`` and ``.txt``,
    comma for ``.csv``). So a title with a comma in it above a tab-separated table, or answers such
    as ``A;B;C;`` in a comma-separated one, do not decide. The header is the first line of that width
    with at least two non-blank cells and at least half as many as the fullest such line (a title
    that Excel padded with delimiters has the width but one or two cells); the lines above it are
    ``skipped`` (their non-blank cells joined by a space)."""
    own = "\t" if suffix.lower() in (".tsv", ".txt") else ","
    order = (own, *(d for d in DELIMITERS if d != own))
    lines = head.splitlines()[: MAX_TITLE_ROWS + 6]
    best: tuple[tuple[int, int], str, list[list[str]], int] | None = None
    for d in order:
        cells = [_cells(line, d) for line in lines]
        widths = [len(c) for c in cells if sum(map(bool, c)) >= 2]
        if not widths:
            continue
        width = max(set(widths), key=lambda w: (widths.count(w), w))
        score = (widths.count(width), width)
        if best is None or score > best[0]:
            best = (score, d, cells, width)
    if best is None:
        return own, ()
    _, delimiter, cells, width = best
    at = _header_at([sum(map(bool, c)) if len(c) == width else 0 for c in cells]) or 0
    return delimiter, tuple(" ".join(x for x in c if x) for c in cells[:at])


def _cells(line: str, delimiter: str) -> list[str]:
    """The cells of one line (stripped), quotes as the csv module reads them."""
    try:
        cells = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        cells = line.split(delimiter)
    return [c.strip() for c in cells]


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_LINE_ENDS = {"utf-16-le": (b"\n\x00", b"\r\x00"), "utf-16-be": (b"\x00\n", b"\x00\r")}


@dataclass(frozen=True)
class _Scan:
    """What one streamed pass over a file tells: its hash and what the fast text path must know."""

    sha256: str
    blank: bool  # nothing but ASCII whitespace (or nothing at all)
    encoding: str  # by the byte order mark: utf-8-sig, utf-16-le, utf-16-be; else utf-8 (to be tried)
    nul: bool  # a NUL character: the C parser could end a cell early without decoding the rest
    ends_line: bool
    stamp: tuple[int, int, int, int]  # device, inode, size, modification time (ns)
    head: bytes  # the first bytes, where the header is looked for

    @property
    def bom(self) -> int:
        """The length of the byte order mark."""
        return next((len(b) for b, codec in _BOMS if codec == self.encoding), 0)


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _scan(p: Path) -> _Scan:
    digest, blank, nul, head, last = hashlib.sha256(), True, False, b"", b""
    encoding = "utf-8"
    with open(p, "rb") as fh:  # read-only
        stamp = _stamp(os.fstat(fh.fileno()))
        while chunk := fh.read(_CHUNK):
            if not head:
                encoding = next((codec for bom, codec in _BOMS if chunk.startswith(bom)), "utf-8")
            digest.update(chunk)
            blank = blank and chunk.isspace()
            nul = nul or _has_nul(chunk, encoding)
            head = head if len(head) >= _HEAD else (head + chunk)[:_HEAD]
            last = (last + chunk)[-2:]
    ends = _LINE_ENDS.get(encoding, (b"\n", b"\r"))
    return _Scan(digest.hexdigest(), blank, encoding, nul, last.endswith(ends), stamp, head)


def _has_nul(chunk: bytes, encoding: str) -> bool:
    """A NUL character in a chunk: a zero byte, or in UTF-16 a zero code unit (chunks and the
    2-byte BOM are of even length, so code units never straddle two chunks)."""
    if not encoding.startswith("utf-16"):
        return b"\0" in chunk
    units = np.frombuffer(chunk[: len(chunk) // 2 * 2], dtype="<u2" if encoding.endswith("le") else ">u2")
    return bool((units == 0).any())


def _read_text_fast(p: Path) -> RawExport | None:
    """A UTF-8 (with or without BOM) or UTF-16 (with BOM) text file parsed from its path; None for
    anything this path cannot settle exactly (not UTF-8, not parseable, a NUL character), which
    the decode-first path then reads, with the same result or the message that says what is wrong."""
    scan = _scan(p)
    if scan.blank:
        raise LoadError(_EMPTY.format(p=p))
    if scan.nul:
        return None
    codec = "utf-16" if scan.encoding.startswith("utf-16") else "utf-8"  # Python's utf-16 reads the BOM
    head = scan.head[scan.bom :] if codec == "utf-8" else scan.head
    delimiter, skipped = sniff(head.decode(codec, errors="replace"), p.suffix)
    try:  # strict: a byte that does not decode raises, and the file is read as decode_text says
        table = pd.read_csv(
            p, encoding=codec, encoding_errors="strict", sep=delimiter, header=len(skipped), **_CSV_OPTIONS
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    if _stamp(os.stat(p)) != scan.stamp:
        raise LoadError(f"{p}: 読み込みの途中でファイルが変わりました。保存が終わってから再実行してください")
    cut_short = ""
    if not scan.ends_line:  # rare (a damaged or hand-made file): read the text again to count its fields
        data = p.read_bytes()
        text = data[scan.bom :].decode(scan.encoding.removesuffix("-sig"))
        cut_short = _cut_short(text, delimiter, len(skipped))
    return _text_export(p, scan.encoding, scan.sha256, table, delimiter, skipped, cut_short)


def _cut_short(text: str, delimiter: str = ",", skipped: int = 0) -> str:
    """``"m列中k列"`` when the file's last record stops without a line end and with fewer fields
    than the header (a file cut off mid-row: pandas would fill the missing cells as blanks, and the
    row would pass as a respondent who skipped the last questions); else ``""``.

    Excel and Forms end every CSV line with a line end, so only a damaged or hand-made file is
    parsed a second time here.
    """
    if not text or text.endswith(("\n", "\r")):
        return ""
    records = list(csv.reader(io.StringIO(text), delimiter=delimiter))[skipped:]
    if len(records) < 2:
        return ""
    header, last = len(records[0]), len(records[-1])
    return f"{header}列中{last}列" if last < header else ""


def _read_sav(p: Path, digest: str) -> RawExport:
    import pyreadstat  # imported here: only .sav users pay for it

    try:
        table, meta = pyreadstat.read_sav(str(p), apply_value_formats=False, user_missing=False)
    except Exception as exc:  # pyreadstat raises its own ReadstatError/PyreadstatError types
        raise LoadError(
            f"{p}: SPSS の .sav ファイルとして読めません（途中で切れているか壊れている可能性があります: {exc}）。"
            "書き出し直してください"
        ) from None
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
