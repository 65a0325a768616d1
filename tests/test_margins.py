"""The margins file (職位別・年代別の職員数): read in every encoding Excel writes, validated like the
staff frame, and every error a one-line Japanese message naming file, line, column and value."""

from __future__ import annotations

import pytest

from ppp_survey.errors import FrameError, PppSurveyError
from ppp_survey.spec.margins import Margins, MarginsError, load_margins

#: The illustrative margins shipped for the synthetic baseline (issue 19; /tmp/h19/staff_margins_r7.csv):
#: the bundled respondents' 職位/年代 shares tilted for nonresponse, scaled to 3,138.
ILLUSTRATIVE = """\
# 職員数の周辺分布（職位別・年代別）令和7年度 / staff list margins by 職位 and 年代, R7
# 架空（例示）: 長崎市の公表値ではない。合計3,138人だけが資料の値。
属性,区分,職員数
職位,係員,1927
職位,係長級,742
職位,課長補佐級,292
職位,課長級以上,177
年代,20代以下,817
年代,30代,875
年代,40代,735
年代,50代以上,711
"""


def write(tmp_path, text: str, *, encoding: str = "utf-8", name: str = "margins.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_illustrative_margins_load_in_every_encoding(tmp_path, codebook, encoding):
    margins = load_margins(write(tmp_path, ILLUSTRATIVE, encoding=encoding), codebook)
    assert isinstance(margins, Margins)
    assert margins.attributes == ("position", "age")
    position, age = margins.margins
    assert position.label == "職位" and position.categories == ("係員", "係長級", "課長補佐級", "課長級以上")
    assert position.counts == (1927, 742, 292, 177)
    assert age.categories == ("20代以下", "30代", "40代", "50代以上") and age.total == 3138
    targets = margins.targets()
    assert list(targets) == ["position", "age"] and targets["age"]["40代"] == 735.0
    assert len(margins.to_frame()) == 8 and margins.source == "margins.csv"


def test_codes_aliases_order_and_english_headers(tmp_path, codebook):
    text = (
        "attribute,category,population\n"
        "age,4,711\nage,1,817\nage,２,875\n年代,40代,735\n"  # codes (full-width too), any order
    )
    margins = load_margins(write(tmp_path, text), codebook)
    (age,) = margins.margins
    assert age.categories == ("20代以下", "30代", "40代", "50代以上") and age.counts == (817, 875, 735, 711)


def test_comma_thousands_are_read(tmp_path, codebook):
    text = '属性,区分,職員数\n職位,係員,"1,927"\n職位,係長級,742\n職位,課長補佐級,292\n職位,課長級以上,177\n'
    assert load_margins(write(tmp_path, text), codebook).margins[0].counts[0] == 1927


def replace_line(old: str, new: str) -> str:
    assert old in ILLUSTRATIVE
    return ILLUSTRATIVE.replace(old, new)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # line numbers count the comment lines, as the user's editor does (header on line 3)
        (
            replace_line("職位,係長級,742", "職階,係長級,742"),
            ["5行目", "列「属性」", "「職階」", "属性（職位、年代）にない"],
        ),
        (replace_line("職位,係長級,742", "職域,一般行政,742"), ["5行目", "「職域」は層（職域）", "--frame"]),
        (
            replace_line("年代,30代,875", "年代,30才代,875"),
            ["9行目", "列「区分」", "「30才代」", "年代（20代以下、30代、40代、50代以上）にない"],
        ),
        (replace_line("年代,30代,875", "年代,20代以下,875"), ["9行目", "「20代以下」が2回ある"]),
        (
            replace_line("職位,係員,1927", "職位,係員,0"),
            ["4行目", "列「職員数」", "「0」は職員数（1以上の整数）ではない"],
        ),
        (replace_line("職位,係員,1927", "職位,係員,19.5"), ["4行目", "「19.5」は職員数"]),
        (replace_line("職位,係員,1927", "職位,係員,"), ["4行目", "「」は職員数"]),
        (replace_line("職位,係員,1927", "職位,合計,3138"), ["4行目", "合計の行（「合計」）", "削除する"]),
        (replace_line("年代,50代以上,711\n", ""), ["年代「50代以上」の行がない"]),
        (
            replace_line("年代,50代以上,711", "年代,50代以上,712"),
            ["年代の職員数の合計 3,139人", "survey.population 3,138人と違う"],
        ),
        ("区分,職員数\n係員,1927\n", ["列「属性」「区分」「職員数」が必要", "見出しは 区分、職員数"]),
        ("属性,区分,職員数\n", ["データの行がない"]),
    ],
)
def test_errors_name_the_line_column_and_value(tmp_path, codebook, text, expected):
    with pytest.raises(MarginsError) as info:
        load_margins(write(tmp_path, text, name="職位年代.csv"), codebook)
    message = str(info.value)
    assert "\n" not in message and message.startswith("職員数の周辺分布 職位年代.csv")
    for part in expected:
        assert part in message, (part, message)


def test_missing_file_and_error_class(tmp_path, codebook):
    with pytest.raises(MarginsError, match="ファイルが見つからない。--margins"):
        load_margins(tmp_path / "nothing.csv", codebook)
    assert issubclass(MarginsError, FrameError) and issubclass(MarginsError, PppSurveyError)


def test_a_file_that_is_not_csv(tmp_path, codebook):
    path = tmp_path / "bad.csv"
    path.write_bytes(b'\xef\xbb\xbf"a,b\n')
    with pytest.raises(PppSurveyError):
        load_margins(path, codebook)


def test_merged_pools_sum_their_members(tmp_path, codebook):
    margins = load_margins(write(tmp_path, ILLUSTRATIVE), codebook)
    merged = margins.merged({"position": {"課長補佐級＋課長級以上": ("課長補佐級", "課長級以上")}})
    position, age = merged.margins
    assert position.categories == ("係員", "係長級", "課長補佐級＋課長級以上")
    assert position.counts == (1927, 742, 292 + 177) and position.total == 3138
    assert age == margins.margins[1]
    assert margins.merged({}) == margins


def test_what_excel_leaves_is_read(tmp_path, codebook):
    """Rows of empty cells below the table (Excel's ",,"), counts written 1927.0, CRLF: read as the
    plain file; a row with a count but no attribute or category still stops, naming its line."""
    from conftest import FRAME
    from ppp_survey.spec.frame import load_frame

    excel = ILLUSTRATIVE.replace(",1927\n", ",1927.0\n") + ",,\n,,\n"
    plain = load_margins(write(tmp_path, ILLUSTRATIVE), codebook)
    loaded = load_margins(write(tmp_path, excel.replace("\n", "\r\n"), encoding="cp932", name="excel.csv"), codebook)
    assert loaded.margins == plain.margins
    with pytest.raises(MarginsError, match=r"bad.csv 12行目: 空の行"):
        load_margins(write(tmp_path, ILLUSTRATIVE + ",,5\n", name="bad.csv"), codebook)
    frame = tmp_path / "frame.csv"
    frame.write_text(FRAME.read_text(encoding="utf-8") + ",\n,\n", encoding="utf-8")
    assert load_frame(frame, codebook).equals(load_frame(FRAME, codebook))
