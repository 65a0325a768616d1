"""Every export an office produces (issue 17 item 5): tab-separated text (.tsv/.txt, and saved as
.csv), Excel's 「Unicode テキスト」 (UTF-16 LE with BOM, tab-separated), UTF-16 BE, a semicolon CSV,
and a title row above the header. Each loads exactly as the bundled workbook does, and row numbers
stay the ones Excel shows."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from conftest import BASELINE
from ppp_survey import LoadError, load_responses
from ppp_survey.ingest.read import read_export, sniff

TITLE = "職員意識調査 回答一覧"


def text_of(table: pd.DataFrame, sep: str) -> str:
    return table.to_csv(index=False, sep=sep, lineterminator="\r\n")


def same_as_workbook(path, baseline, codebook):
    loaded = load_responses(path, codebook)
    pd.testing.assert_frame_equal(loaded.responses, baseline.responses)
    pd.testing.assert_frame_equal(loaded.free_text, baseline.free_text)
    return loaded


@pytest.mark.parametrize(
    "name, encode, fmt, encoding",
    [
        ("回答.tsv", lambda t: t.encode("utf-8"), "tsv", "utf-8"),
        ("回答.txt", lambda t: t.encode("utf-8-sig"), "tsv", "utf-8-sig"),
        ("回答_タブ区切り.csv", lambda t: t.encode("utf-8"), "tsv", "utf-8"),  # tab-separated saved as .csv
        ("回答_cp932.tsv", lambda t: t.encode("cp932"), "tsv", "cp932"),
        ("回答_Unicodeテキスト.txt", lambda t: b"\xff\xfe" + t.encode("utf-16-le"), "tsv", "utf-16-le"),  # Excel
        ("回答_utf16.csv", lambda t: b"\xff\xfe" + t.encode("utf-16-le"), "tsv", "utf-16-le"),
        ("回答_utf16be.txt", lambda t: b"\xfe\xff" + t.encode("utf-16-be"), "tsv", "utf-16-be"),
        ("回答_utf16be_BOMなし.txt", lambda t: t.encode("utf-16-be"), "tsv", "utf-16-be"),  # another tool's export
        ("回答_utf16le_BOMなし.txt", lambda t: t.encode("utf-16-le"), "tsv", "utf-16-le"),
    ],
)
def test_tab_separated_and_utf16_load_as_the_workbook(forms, baseline, codebook, tmp_path, name, encode, fmt, encoding):
    path = tmp_path / name
    path.write_bytes(encode(text_of(forms, "\t")))
    loaded = same_as_workbook(path, baseline, codebook)
    report = loaded.report
    assert (report.format, report.encoding) == (fmt, encoding)
    assert report.rows["row"].iloc[0] == 2
    assert any("タブ区切り" in note for note in report.notes)


def test_semicolon_csv(forms, baseline, codebook, tmp_path):
    """A European-locale Excel writes ';' between cells; Forms' multi-select cells hold ';' too."""
    path = tmp_path / "回答.csv"
    path.write_bytes(text_of(forms, ";").encode("utf-8"))
    assert same_as_workbook(path, baseline, codebook).report.notes == (
        "セミコロン区切り・UTF-8のテキストとして読みました",
    )


def test_plain_csv_has_no_notes(baseline):
    assert baseline.report.notes == ()


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_title_row_above_the_header_is_skipped(forms, baseline, codebook, tmp_path, suffix):
    """A title (Excel pads its row with delimiters) and a blank row above the header: skipped, and
    each data row keeps the number Excel shows (the header is row 3, the first respondent row 4)."""
    sep = "," if suffix == ".csv" else "\t"
    path = tmp_path / f"回答{suffix}"
    text = TITLE + sep * 3 + "\r\n" + sep * 2 + "\r\n" + text_of(forms, sep)
    path.write_bytes(text.encode("utf-8-sig" if suffix == ".csv" else "utf-16"))
    loaded = same_as_workbook(path, baseline, codebook)
    assert loaded.report.rows["row"].tolist()[:2] == [4, 5]
    assert loaded.report.notes[-1] == (
        f"表の上の1行目「{TITLE}」、2行目（空行）はタイトル行とみなして読み飛ばし、3行目を見出しとして読みました"
    )


def test_title_row_in_a_workbook(forms, baseline, codebook, tmp_path):
    path = tmp_path / "回答.xlsx"
    pd.read_excel(BASELINE, dtype=object, engine="openpyxl").to_excel(path, index=False, startrow=1)
    book = openpyxl.load_workbook(path)
    book.active["A1"] = TITLE
    book.save(path)
    loaded = same_as_workbook(path, baseline, codebook)
    assert loaded.report.rows["row"].iloc[0] == 3
    assert loaded.report.notes == (
        f"表の上の1行目「{TITLE}」はタイトル行とみなして読み飛ばし、2行目を見出しとして読みました",
    )


def test_rows_in_messages_are_excels_after_a_title(forms, codebook, tmp_path):
    q1 = codebook.item("q1")
    table = forms.copy()
    table.loc[4, q1.text] = "とても重要"  # the fifth respondent: row 7 under a title row and the header
    path = tmp_path / "回答.tsv"
    path.write_bytes((TITLE + "\r\n" + text_of(table, "\t")).encode("utf-8"))
    with pytest.raises(LoadError, match=f"{path}：7行目、列「{q1.text}」、値「とても重要」"):
        load_responses(path, codebook)


def test_a_row_with_more_cells_than_the_header(tmp_path):
    path = tmp_path / "回答.tsv"
    path.write_bytes("タイトル\nID\t職域\n1\t税務\n2\t税務\t余分\n".encode())
    with pytest.raises(
        LoadError, match=r"タブ区切りのテキストとして読めません（4行目のセルが3個あり、見出しの2列より多い）"
    ):
        read_export(path)


@pytest.mark.parametrize(
    "head, suffix, expected",
    [
        ("ID,a,b\r\n1,x,y\r\n", ".csv", (",", ())),
        ("ID\ta\tb\n1\tx\ty\n", ".csv", ("\t", ())),  # a tab-separated file saved as .csv
        ("ID;a;b\n1;x;y\n", ".csv", (";", ())),
        ("ID\ta,b\tc\n1\tx\ty\n", ".txt", ("\t", ())),  # a header with a comma in a question's text
        # a title with a comma above a tab-separated table: the lines below decide the delimiter
        ("調査, 速報\nID\ta\tb\n1\tx\ty\n2\tx\ty\n", ".txt", ("\t", ("調査, 速報",))),
        # many multi-select answers (A;B;C;D;) on a comma-separated line: the header decides
        ("ID,q4,q5\n1,A;B;C;D;E;,A;B;C;D;\n2,A;B;C;D;E;,F;G;\n", ".csv", (",", ())),
        ("\n\nID,a\n", ".csv", (",", ("", ""))),
        # a title and a date above the header, padded by Excel to the table's width
        ("調査,2025/08/01,,,,\n\nID,a,b,c,d,e\n1,x,y,z,v,w\n", ".csv", (",", ("調査 2025/08/01", ""))),
        ("調査\t速報\nID\ta\tb\tc\td\n1\tx\ty\tz\tv\n", ".tsv", ("\t", ("調査 速報",))),
        ("ただ一つのセル\n", ".csv", (",", ())),  # no header found: read as it is (and refused later)
    ],
)
def test_sniff(head, suffix, expected):
    assert sniff(head, suffix) == expected


def test_excel_unicode_text_as_excel_writes_it(tmp_path, codebook):
    """Excel's 「Unicode テキスト」: UTF-16 LE with BOM, tab-separated, CRLF, cells with a tab or a line
    break in quotes."""
    text = 'ID\t職域\tメモ\r\n1\t税務\t"改行\r\nあり"\r\n2\t"技術"\t"タブ\tあり"\r\n'
    path = tmp_path / "x.txt"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    raw = read_export(path)
    assert raw.table.to_dict("list") == {
        "ID": ["1", "2"],
        "職域": ["税務", "技術"],
        "メモ": ["改行\r\nあり", "タブ\tあり"],
    }
    assert (raw.format, raw.encoding, raw.delimiter, raw.first_row) == ("tsv", "utf-16-le", "\t", 2)
    # the same bytes parsed by pandas itself
    pd.testing.assert_frame_equal(
        raw.table, pd.read_csv(io.BytesIO(path.read_bytes()), sep="\t", encoding="utf-16", dtype=object)
    )


@pytest.mark.parametrize("codec, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_read_from_its_path_as_if_decoded_first(tmp_path, codec, bom):
    """UTF-16 is parsed from the path (no copy of the text in memory); a NUL character takes the
    decode-first path; both give the same cells. A last row cut short is noticed in UTF-16 too."""
    text = "ID\t職域\tメモ\r\n1\t税務\tあ\r\n2\t技術\t\r\n"
    plain, nul = tmp_path / "a.txt", tmp_path / "b.txt"
    plain.write_bytes(bom + text.encode(codec))
    nul.write_bytes(bom + text.replace("あ", "あ\0い").encode(codec))
    a, b = read_export(plain), read_export(nul)
    assert a.table["メモ"].tolist() == ["あ", ""] and b.table["メモ"].tolist() == ["あ\0い", ""]
    assert (a.encoding, b.encoding, a.cut_short) == (codec, codec, "")
    cut = tmp_path / "c.txt"
    cut.write_bytes(bom + text.rstrip("\r\n").removesuffix("\t").encode(codec))
    assert read_export(cut).cut_short == "3列中2列"


def test_damaged_utf16_is_one_japanese_line(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"\xff\xfe" + "ID\t職域\r\n1\t税務\r\n".encode("utf-16-le") + b"\x00\xd8")  # a lone surrogate
    with pytest.raises(LoadError, match=r"x\.txt: 3行目がUTF-16（Unicode テキスト）として正しくありません"):
        read_export(path)
