"""Response rates against the staff frame; frames that do not fit are refused."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import FRAME
from ppp_survey import FrameError, load_frame, response_rates


def test_rates_by_domain(baseline, frame, codebook):
    rates = response_rates(baseline.responses, frame, codebook)
    assert list(rates["domain"].astype(str)) == [*codebook.stratum.labels, "全体"]
    assert rates["respondents"].iloc[:-1].sum() == rates["respondents"].iloc[-1] == 1340
    assert rates["population"].iloc[-1] == 3138
    expected = baseline.responses["domain"].value_counts()
    for row in rates.iloc[:-1].itertuples():
        assert row.respondents == expected[row.domain]
        assert row.rate == pytest.approx(row.respondents / row.population)


def test_more_respondents_than_staff_is_refused(baseline, frame, codebook):
    small = frame.assign(population=frame["population"].where(frame["domain"] != "技能労務", 10))
    with pytest.raises(FrameError, match="技能労務」の回答者 24人が職員数 10人を超える"):
        response_rates(baseline.responses, small, codebook)


def write(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "frame.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_frame_file_reads_in_cp932_and_with_aliases(tmp_path, codebook, frame):
    text = FRAME.read_text(encoding="utf-8").replace("企業（上下水道）", "上下水道")
    loaded = load_frame(write(tmp_path, text, "cp932"), codebook)
    pd.testing.assert_frame_equal(loaded, frame)


@pytest.mark.parametrize(
    "change, message",
    [
        (("税務,160", "観光,160"), r"7行目 列「職域」: 「観光」はコードブックの職域"),
        (("税務,160", "税務,百六十"), r"7行目 列「職員数」: 「百六十」は職員数（1以上の整数）ではない"),
        (("税務,160\n", ""), r"コードブックの職域「税務」の行がない"),
        (("税務,160", "税務,161"), r"職員数の合計 3,139人がコードブックの"),
        (("職員数", "人数"), r"列「職域」と「職員数」が必要"),
        (("福祉,270", "税務,270"), r"「税務」が2回ある"),
        (
            ("一般行政,1250\n", "一般行政,1250\n\n"),
            r"8行目 列「職域」: 「観光」",
        ),  # a blank line: the line the user sees
        (("福祉,270", "合計,3138"), r"8行目: 合計の行（「合計」）。この行を削除する"),
        (("福祉,270", ","), r"8行目: 空の行。この行を削除する"),
    ],
)
def test_bad_frames_are_refused_with_the_line(tmp_path, codebook, change, message):
    text = FRAME.read_text(encoding="utf-8").replace(*change)
    if "観光" in message:
        text = text.replace("税務,160", "観光,160")
    with pytest.raises(FrameError, match=message):
        load_frame(write(tmp_path, text), codebook)
