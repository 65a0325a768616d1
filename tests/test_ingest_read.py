"""Reading a CSV from its path (streamed hash, pandas' threaded parser) gives exactly what decoding
the whole file first gives: the same cells, encoding, hash and truncation note, or the same error."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import pytest

from ppp_survey import LoadError
from ppp_survey.files import decode_text
from ppp_survey.ingest import read as read_module
from ppp_survey.ingest.read import read_export
from ppp_survey.synth.forms import to_forms_frame

BIG = 6 * 1024 * 1024  # over pandas' 5 MB threshold for reading a file on several threads


@pytest.fixture(scope="module")
def big_csv(synthetic, codebook) -> bytes:
    """A Forms export of more than 6 MB (the same 40 respondents over and over), UTF-8, CRLF."""
    rows = synthetic.responses.iloc[:40].reset_index(drop=True)
    free = synthetic.free_text[synthetic.free_text["respondent_id"].isin(rows["respondent_id"])]
    table = to_forms_frame(rows, free, codebook)
    text = table.to_csv(index=False, lineterminator="\r\n")
    header, body = text.split("\r\n", 1)
    return (header + "\r\n" + body * (3 * BIG // len(body.encode()) + 1)).encode("utf-8")


def near_end(data: bytes, insert: bytes) -> bytes:
    """``insert`` at the start of the file's third line from the end (never inside a character)."""
    at = data.rindex(b"\r\n", 0, data.rindex(b"\r\n", 0, len(data) - 2)) + 2
    return data[:at] + insert + data[at:]


def decoded_first(path):
    """The reference: decode the whole file by the rule (BOM, strict UTF-8, CP932), then parse the text."""
    data = path.read_bytes()
    text, encoding = decode_text(data, path)
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LoadError(read_module.not_readable_text(path, ",", exc)) from None
    table = table.astype(object)
    table.columns = ["" if str(c).startswith("Unnamed: ") else str(c) for c in table.columns]
    return table, encoding, hashlib.sha256(data).hexdigest()


def same_as_decoded_first(path):
    raw = read_export(path)
    table, encoding, digest = decoded_first(path)
    pd.testing.assert_frame_equal(raw.table, table)
    assert (raw.encoding, raw.sha256, raw.first_row) == (encoding, digest, 2)
    return raw


@pytest.mark.parametrize(
    "edit, encoding",
    [
        (lambda d: d, "utf-8"),
        (lambda d: b"\xef\xbb\xbf" + d, "utf-8-sig"),
        (lambda d: d.replace(b"\r\n", b"\n\n", 3), "utf-8"),  # blank lines keep their row numbers
        (lambda d: near_end(d, b'"a\nquoted\n\nline"'), "utf-8"),
        (lambda d: d.decode("utf-8").encode("cp932"), "cp932"),
        (lambda d: near_end(d.decode().encode("ascii", "replace"), "①".encode("cp932")), "cp932"),  # late non-UTF-8
        (lambda d: near_end(d, b"\x00"), "utf-8"),  # a NUL byte: decoded first, as before
    ],
    ids=["utf-8", "bom", "blank-lines", "multi-line-cell", "cp932", "cp932-at-the-end", "nul"],
)
def test_big_file_reads_as_if_decoded_first(big_csv, tmp_path, edit, encoding):
    path = tmp_path / "x.csv"
    path.write_bytes(edit(big_csv))
    assert len(path.read_bytes()) > BIG
    assert same_as_decoded_first(path).encoding == encoding


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: b"\xef\xbb\xbf" + near_end(d, b"\xff"), "UTF-8（ファイルの先頭はUTF-8のBOM）として正しくありません"),
        (lambda d: near_end(d, b"\xff\xff"), "UTF-8でもCP932"),
        (lambda d: d + "あ".encode()[:2], "文字の途中で終わっています"),
        (lambda d: d + b'1,"never closed\r\n', "カンマ区切りのテキストとして読めません"),
    ],
    ids=["bom-then-invalid", "neither", "cut-in-a-character", "open-quote"],
)
def test_big_file_errors_as_if_decoded_first(big_csv, tmp_path, edit, message):
    path = tmp_path / "x.csv"
    path.write_bytes(edit(big_csv))
    with pytest.raises(LoadError, match=message) as err:
        read_export(path)
    with pytest.raises(LoadError) as reference:
        decoded_first(path)
    assert str(err.value) == str(reference.value)


def test_last_row_without_line_end(big_csv, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(big_csv.rstrip(b"\r\n"))
    assert same_as_decoded_first(path).cut_short == ""
    cut = big_csv.rstrip(b"\r\n")
    path.write_bytes(cut[: cut.rindex(b",")])
    raw = same_as_decoded_first(path)
    assert raw.cut_short == f"{raw.table.shape[1]}列中{raw.table.shape[1] - 1}列"


def test_a_file_that_changes_while_read_is_refused(big_csv, tmp_path, monkeypatch):
    """The hash is taken before the parse: a file written to in between would not be what it names."""
    path = tmp_path / "x.csv"
    path.write_bytes(big_csv)
    parse = pd.read_csv

    def parse_then_append(*args, **kwargs):
        table = parse(*args, **kwargs)
        with open(path, "ab") as fh:
            fh.write(big_csv[-500:])
        return table

    monkeypatch.setattr(read_module.pd, "read_csv", parse_then_append)
    with pytest.raises(LoadError, match="読み込みの途中でファイルが変わりました"):
        read_export(path)


@pytest.mark.parametrize("content", [b"", b" \r\n\t\n"])
def test_blank_file(tmp_path, content):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(LoadError, match="ファイルが空です"):
        read_export(path)


def _no_cells(path):
    from openpyxl import Workbook

    Workbook().save(path)


def _first_sheet_without_cells(path):
    from openpyxl import Workbook

    book = Workbook()
    second = book.create_sheet("回答")
    second.append(["ID", "q1"])
    second.append([1, 2])
    book.save(path)


@pytest.mark.parametrize("make", [_no_cells, _first_sheet_without_cells], ids=["no-cells", "first-sheet-empty"])
def test_an_empty_workbook_is_said_in_one_short_line(tmp_path, capsys, make):
    """Issue 27: a workbook with no cells gets an empty CSV's line, not a list of missing headers."""
    from conftest import FRAME
    from ppp_survey.report.cli import main

    for name in ("回答.xlsx", "回答.csv"):
        path = tmp_path / name
        if name.endswith(".xlsx"):
            make(path)
        else:
            path.write_bytes(b"")
        args = ["--data", str(path), "--frame", str(FRAME), "--out", str(tmp_path / "out"), "--no-paper"]
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1] == f"エラー: {path}: ファイルが空です。回答データを書き出し直してください", err
        assert len(err[-1]) < 200 and "列" not in err[-1]
