"""Files in and out: decoding text exports, writing outputs safely and reproducibly.

Text inputs (CSV exports, staff frames) are decoded by one rule (:func:`decode_text`: BOM → UTF-8,
else strict UTF-8, else CP932) with a message naming the line that fails.

Every output is written to a temporary name beside its target and moved into place only when it is
complete (:func:`atomic_output`), so an interrupted run never leaves a half-written file that looks
finished. Excel workbooks are zip files that carry the time they were written; :func:`pin_xlsx`
rewrites those stamps to a fixed value so the same tables give the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ppp_survey.errors import LoadError

# Floats in published CSVs and frozen baselines carry 12 significant digits: every estimate is
# exact far beyond what is printed, and the bytes no longer depend on the last bit a particular
# numpy/BLAS build leaves in a sum (Python's %g: 0.52 → 0.52, 1340.0 → 1340, 1/3 → 0.333333333333).
CSV_FLOAT_FORMAT = "%.12g"
PINNED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
PINNED_ISO_TIME = "1980-01-01T00:00:00Z"
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
    with zipfile.ZipFile(p) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _CORE_DATES.sub(rb"\g<1>" + PINNED_ISO_TIME.encode() + rb"\g<3>", data)
            pinned = zipfile.ZipInfo(info.filename, date_time=PINNED_ZIP_TIME)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = 0o644 << 16
            dst.writestr(pinned, data)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def csv_bytes(table: pd.DataFrame) -> bytes:
    """A table as CSV for Excel on Windows: UTF-8 with BOM, CRLF line ends, floats to 12 significant digits."""
    buf = io.StringIO()
    table.to_csv(buf, index=False, lineterminator="\r\n", float_format=CSV_FLOAT_FORMAT)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """:func:`csv_bytes` written atomically to `path`."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(csv_bytes(table))
    return Path(path)


def decode_text(data: bytes, path: Path | str) -> tuple[str, str]:
    """Decode a text file: BOM → UTF-8; else strict UTF-8; else CP932. Returns (text, encoding)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            line = data[: exc.start + 3].count(b"\n") + 1
            raise LoadError(
                f"{path}: line {line} is not valid UTF-8 although the file starts with a UTF-8 byte order "
                f"mark ({exc.reason}; truncated or damaged?); export the file again"
            ) from None
    try:
        return data.decode("utf-8", errors="strict"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":  # valid UTF-8 cut off inside its last character
            raise LoadError(
                f"{path}: the file ends in the middle of a character (truncated?); export it again"
            ) from None
    try:
        return data.decode("cp932", errors="strict"), "cp932"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LoadError(
            f"{path}: line {line} is neither UTF-8 nor CP932 (byte {data[exc.start : exc.start + 1].hex()}); "
            "save the file from Excel as 'CSV UTF-8' and try again"
        ) from None
