"""Formula injection (issue 15, item 6): text that a spreadsheet would run is written inert.

CSV: a text cell that begins with = + - @ tab or CR gets a leading apostrophe (OWASP); numbers, and
plain numbers written as text, stay as they are. XLSX: every text is a string cell, never a formula
(openpyxl makes a str that starts with '=' a formula unless told otherwise). The whole report with
such labels, every file it writes scanned: test_hostile_labels.py. Also: a workbook that expands
beyond a size limit (a zip bomb) is refused by :func:`ppp_survey.files.check_zip_size`.
"""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pandas as pd
import pytest

from conftest import BASELINE
from ppp_survey.errors import LoadError
from ppp_survey.files import CSV_FLOAT_FORMAT, check_zip_size, csv_bytes, inert_text
from ppp_survey.outputs.xlsx import Block, Sheet, write_workbook

# codebook-label-like attacks: a link that phones home, DDE, an @-function, arithmetic
HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "+cmd|' /C calc'!A0"
AT = "@SUM(1+1)"
ARITHMETIC = "-2+3"
ATTACKS = (HYPERLINK, DDE, AT, ARITHMETIC, "\t=1+1", "\r=1+1")


def test_inert_text_prefixes_formulas_only():
    for attack in ATTACKS:
        assert inert_text(attack) == "'" + attack
    for kept in ("-15.2", "+0.2", "-3%", "1e-5", "-", "", "職員", "a=b", "x-1", "'=already inert"):
        assert inert_text(kept) == kept
    for value in (-2.5, -3, np.float64(-1.5), None, np.nan, True):
        assert inert_text(value) is value


def test_csv_cells_and_headers_are_inert_numbers_stay_numbers():
    table = pd.DataFrame(
        {
            "label": [HYPERLINK, DDE, AT, ARITHMETIC],
            "estimate": [-0.25, 0.5, -2.0, np.nan],  # a negative number is a number, not text
            "n": [-3, 1, 2, 4],
            "display": ["-15.2", "+0.2", "-", None],  # plain numbers written as text, a placeholder, empty
            "category": pd.Categorical([AT, "普通", AT, "普通"]),
            "=SUM(A1:A9)": ["a", "b", "c", "d"],
        }
    )
    data = csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "label,estimate,n,display,category,'=SUM(A1:A9)"
    assert lines[1] == '"\'=HYPERLINK(""http://x"",""y"")",-0.25,-3,-15.2,\'@SUM(1+1),a'
    assert lines[2] == "'+cmd|' /C calc'!A0,0.5,1,+0.2,普通,b"
    assert lines[3] == "'@SUM(1+1),-2,2,-,'@SUM(1+1),c"
    assert lines[4] == "'-2+3,,4,,普通,d"
    # nothing else changes: a table with no formula-like text gives the same bytes as pandas alone
    plain = pd.DataFrame({"a": ["x", "-1.5"], "b": [-1.0, 2.0]})
    pandas_alone = plain.to_csv(index=False, lineterminator="\r\n", float_format=CSV_FLOAT_FORMAT)
    assert csv_bytes(plain) == ("\ufeff" + pandas_alone).encode("utf-8")
    assert table["label"].iloc[0] == HYPERLINK  # the caller's table is not modified


def test_csv_tab_and_carriage_return_prefixed():
    lines = csv_bytes(pd.DataFrame({"t": ["\t=1+1", "\r=1+1"]})).decode("utf-8-sig")
    assert '"\'\t=1+1"' in lines or "'\t=1+1" in lines
    assert '"\'\r=1+1"' in lines


def test_xlsx_text_is_never_a_formula(tmp_path):
    from openpyxl import load_workbook

    table = pd.DataFrame(
        {
            "選択肢": [HYPERLINK, DDE, AT, ARITHMETIC, "#N/A"],
            "割合": [-2.5, 10.0, 0.0, 1.0, 2.0],
            HYPERLINK: list("abcde"),
        }
    )
    block = Block(HYPERLINK, table, formats={"割合": "0.0"}, notes=(AT, DDE))
    path = write_workbook(tmp_path / "book.xlsx", [Sheet("説明", (block,))])
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in xml and "<f " not in xml
    ws = load_workbook(path)["説明"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells), [(c.coordinate, c.value) for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells if c.data_type == "s"}
    assert {HYPERLINK, DDE, AT, ARITHMETIC, "#N/A"} <= texts  # text as given: no apostrophe in a string cell
    numbers = [c for c in cells if c.data_type == "n"]
    assert [c.value for c in numbers] == [-2.5, 10.0, 0.0, 1.0, 2.0]  # a negative number is still a number


# ------------------------------------------------------------------------------------- zip bombs


def _bomb(size: int, *, declared: int | None = None) -> bytes:
    """A zip with one part of ``size`` zero bytes; ``declared`` overwrites the size its headers state."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * size)
    data = bytearray(buf.getvalue())
    if declared is not None:  # lie in the local header and in the central directory
        local = data.find(b"PK\x03\x04", data.find(b"PK\x03\x04") + 4)
        central = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4)
        struct.pack_into("<I", data, local + 22, declared)
        struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def test_a_workbook_within_the_limit_passes():
    size = check_zip_size(BASELINE)
    assert size is not None and 1_000_000 < size < 10_000_000
    assert check_zip_size(BASELINE.read_bytes()) == size


def test_a_zip_bomb_is_refused_in_one_line():
    bomb = _bomb(30 * 1024**2)  # 30 MB of zeros: about 30 kB on disk
    assert len(bomb) < 100_000
    with pytest.raises(LoadError) as caught:
        check_zip_size(bomb, 10 * 1024**2, name="回答.xlsx")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("回答.xlsx: ") and "上限" in message and "CSV" in message


def test_a_zip_that_understates_its_size_is_counted_as_it_expands():
    liar = _bomb(30 * 1024**2, declared=1000)
    with zipfile.ZipFile(io.BytesIO(liar)) as z:
        assert sum(i.file_size for i in z.infolist()) < 2000  # the headers say 2 kB
    with pytest.raises(LoadError, match="上限"):
        check_zip_size(liar, 10 * 1024**2)
    assert check_zip_size(liar, 40 * 1024**2) == 30 * 1024**2 + len(b"<Types/>")


def test_check_zip_size_leaves_other_files_to_the_reader(tmp_path):
    assert check_zip_size(b"ID,q1\n1,2\n") is None
    damaged = bytearray(_bomb(1024**2))
    start = damaged.find(b"PK\x03\x04", 4) + 60
    damaged[start : start + 200] = b"\xff" * 200  # the deflate stream broken, the directory intact
    with pytest.raises(LoadError, match="展開できません"):
        check_zip_size(bytes(damaged), 10 * 1024**2)


def test_the_report_refuses_a_zip_bomb_export(tmp_path, capsys):
    """The loader checks a workbook before any reader unpacks it: one line, exit 2."""
    from conftest import FRAME
    from ppp_survey.report.cli import main

    bomb = tmp_path / "回答.xlsx"
    bomb.write_bytes(_bomb(1024, declared=1024**3))  # says it expands to 1 GB
    assert main(["--data", str(bomb), "--frame", str(FRAME), "--out", str(tmp_path / "out"), "--no-paper"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("エラー: 回答.xlsx: ") and "zip爆弾" in err[-1]
