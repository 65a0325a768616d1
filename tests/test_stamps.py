"""Date-times as offices export them (ingest/stamps.py): each form read as Japan time, a zoned stamp
converted, an unreadable one named by the loader and by `check` alike, never a traceback."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from conftest import FRAME
from ppp_survey import LoadError, load_responses
from ppp_survey.ingest.check import check_export
from ppp_survey.ingest.stamps import parse_stamps
from ppp_survey.report.cli import main

NINE_FIVE = np.datetime64("2025-07-18T09:05:00", "ns")


@pytest.mark.parametrize(
    "cell",
    [
        "2025/07/18 09:05:00",
        "2025/7/18 9:05",
        "2025-07-18T09:05:00",
        "2025-07-18T09:05:00+09:00",  # Japan time, its zone written
        "2025-07-18T00:05:00Z",  # UTC (Power Automate, APIs): 9 hours later in Japan
        "2025-07-18T00:05:00.000Z",
        "2025-07-18 00:05:00 UTC",
        "2025-07-18 09:05:00 +0900",
        "2025年7月18日 9:05",
        "2025年07月18日 09時05分",
        "2025年7月18日 9時5分0秒",
        "2025/07/18(金) 9:05",  # a Japanese Excel format with the weekday
        "2025/07/18（金） 9:05",
        "2025/07/18 午前 9:05:00",
        "2025/07/18 午前9:05",
        "令和7年7月18日 9:05",
        "R7.7.18 9:05",
        "R7/7/18 9:05",
        "45856.378472222",  # an Excel serial day count written as a number
        " 2025/07/18 9:05 ",
    ],
)
def test_each_form_reads_as_japan_time(cell):
    assert parse_stamps(pd.Series([cell], dtype=object))[0] == NINE_FIVE


@pytest.mark.parametrize(
    ("cell", "read"),
    [
        ("2025/07/18 午後 1:05", "2025-07-18T13:05"),
        ("2025年7月18日 午後1時5分", "2025-07-18T13:05"),  # minutes in one digit
        ("2025年7月18日 午前0時5分", "2025-07-18T00:05"),
        ("2025年7月18日 午後10時5分", "2025-07-18T22:05"),
        ("2025/07/18 1:05:00 午後", "2025-07-18T13:05"),  # 午前/午後 after the time
        ("2025/07/18 午前 12:05", "2025-07-18T00:05"),
        ("2025-07-17T15:05:00Z", "2025-07-18T00:05"),  # the next day in Japan
        ("令和元年5月1日", "2019-05-01T00:00"),
        ("平成31年4月30日 10時00分", "2019-04-30T10:00"),
        ("H31.4.30", "2019-04-30T00:00"),
        ("Ｒ７．７．１８　９：０５", "2025-07-18T09:05"),  # full-width
        ("２０２５／０７／１８　０９：０５", "2025-07-18T09:05"),
        ("2025-07-18", "2025-07-18T00:00"),
        (dt.datetime(2025, 7, 18, 9, 5), "2025-07-18T09:05"),  # a workbook's date-time
        (45856.0, "2025-07-18T00:00"),  # a workbook's number
    ],
)
def test_other_forms(cell, read):
    assert parse_stamps(pd.Series([cell], dtype=object))[0] == np.datetime64(read, "ns")


@pytest.mark.parametrize("cell", ["昨日", "12345", "2025/13/45 9:05", "", None, "R7", "999999.5"])
def test_what_is_not_a_time_is_nat(cell):
    assert np.isnat(parse_stamps(pd.Series([cell], dtype=object))[0])


def test_zoned_and_plain_stamps_in_one_column():
    """pandas refuses a column mixing zoned and plain stamps (a ValueError the loader once let through
    as a traceback): each is read on its own terms."""
    cells = ["2025/07/18 09:05:00", "2025-07-18T09:05:00+09:00", "2025-07-18T00:05:00Z", "2025年7月18日 9:05"]
    assert (parse_stamps(pd.Series(cells, dtype=object)) == NINE_FIVE).all()


def _csv(table: pd.DataFrame, path) -> str:
    path.write_bytes(table.to_csv(index=False).encode("utf-8"))
    return str(path)


def _restamped(forms: pd.DataFrame, form) -> pd.DataFrame:
    table = forms.copy()
    for col in ("開始時刻", "完了時刻"):
        table[col] = [form(pd.Timestamp(t)) for t in table[col]]
    return table


@pytest.mark.parametrize(
    "form",
    [
        lambda t: t.tz_localize("Asia/Tokyo").tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        lambda t: t.strftime("%Y-%m-%dT%H:%M:%S+09:00"),
        lambda t: f"{t.year}年{t.month}月{t.day}日 {t.hour}時{t.minute}分{t.second}秒",
        lambda t: f"令和{t.year - 2018}年{t.month}月{t.day}日 {t:%H:%M:%S}",
        lambda t: f"{t:%Y/%m/%d} {'午前' if t.hour < 12 else '午後'} {(t.hour - 1) % 12 + 1}:{t:%M:%S}",
    ],
    ids=["utc-z", "offset", "kanji", "era", "gozen-gogo"],
)
def test_an_export_in_another_form_loads_as_the_bundled_one(forms, baseline, codebook, tmp_path, form):
    """Every row accepted and the same responses (times included) as the bundled workbook, and
    `check` agrees: nothing to fix."""
    path = _csv(_restamped(forms, form), tmp_path / "回答.csv")
    loaded = load_responses(path, codebook)
    pd.testing.assert_frame_equal(loaded.responses, baseline.responses)
    assert check_export(path, codebook).ok


def test_an_unreadable_time_is_named_by_check_and_by_the_report(forms, codebook, tmp_path, capsys):
    """`check` lists the value (its column, count and first row) and says the file does not match;
    the report stops with one line naming file, row, column and value and what to do (exit 2); a
    zoned stamp beside it is read, not a traceback."""
    table = forms.copy()
    table.loc[3, "完了時刻"] = "昨日"
    table.loc[4, "完了時刻"] = "2025-07-18T00:05:00Z"
    path = _csv(table, tmp_path / "回答.csv")
    found = check_export(path, codebook)
    assert not found.ok
    assert found.times[["column", "value", "count", "row"]].values.tolist() == [["完了時刻", "昨日", 1, 5]]
    with pytest.raises(LoadError, match="5行目、列「完了時刻」、値「昨日」：日時を解釈できない.*データの日時を直して"):
        load_responses(path, codebook)
    code = main(["--data", path, "--frame", str(FRAME), "--out", str(tmp_path / "out"), "--tables-only"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("エラー: ") and "「昨日」" in err
    assert "aliases" not in err.strip().splitlines()[-1]  # a time is not a choice
