"""Row rules and cell problems together: when several rules hit one row, which reason it gets.

The expected rows and messages below were produced by the row-by-row loader that the vectorised
one replaced (issue 20); they pin the precedence, the row numbers and the exact texts.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ppp_survey import LoadError, load_responses
from ppp_survey.synth.forms import to_forms_frame


@pytest.fixture(scope="module")
def forms(synthetic, codebook):
    rows = synthetic.responses.iloc[:12].reset_index(drop=True)
    free = synthetic.free_text[synthetic.free_text["respondent_id"].isin(rows["respondent_id"])]
    table = to_forms_frame(rows, free, codebook).astype(object)
    for col in ("開始時刻", "完了時刻"):
        table[col] = pd.to_datetime(table[col]).dt.strftime("%Y/%m/%d %H:%M:%S")
    return table


LATE = "2025/08/30 10:00:00"
EXCLUSIVE = "外部人材の活用;特にない;"


def many_rules(forms, codebook) -> pd.DataFrame:
    """Rows hit by two or three rules each (row index → what is wrong with it)."""
    g = forms.copy()
    q = {k: codebook.item(k).text for k in ("domain", "q1", "q3", "q7")}
    answers = list(g.columns[5:])
    g.loc[1, answers], g.loc[1, "ID"] = "", "1"  # empty and a duplicate ID: empty
    g.loc[2, "ID"], g.loc[2, "完了時刻"] = "1", LATE  # duplicate ID and late: duplicate
    g.loc[3, "完了時刻"], g.loc[3, q["domain"]] = LATE, "観光"  # late and unknown 職域: late
    g.loc[4, q["domain"]], g.loc[4, q["q1"]] = "観光", "とても重要"  # unknown 職域 and unknown label: 職域
    g.loc[5, [q["q1"], q["q7"], "開始時刻"]] = ["とても重要", EXCLUSIVE, "いつか"]  # three cells: the first item's
    g.loc[6, [q["q7"], "開始時刻"]] = [EXCLUSIVE, "いつか"]  # an item's problem before a time's
    g.loc[7, ["開始時刻", "完了時刻"]] = ["いつか", "いつか"]  # start time before completion time
    g.loc[8, answers], g.loc[8, "ID"] = "", ""  # empty, no ID: named by its row
    g.loc[9, "ID"] = " "  # a blank ID: named by its row, kept
    g.loc[10, [q["domain"], q["q3"]]] = ["", "ある;ない"]  # no 職域 and two answers: 職域
    g.loc[11, q["q3"]] = "ある;ない"
    return g


EXPECTED_ROWS = [
    (2, "1", "accepted", "", "", ""),
    (3, "1", "rejected", "空行（回答なし）", "", ""),
    (4, "1", "rejected", "ID重複", "ID", "1（2行目と同じ）"),
    (5, "4", "rejected", "実施期間外の回答", "完了時刻", "2025-08-30 10:00（実施期間 2025-07-18～2025-07-31）"),
    (6, "5", "rejected", "職域が不明", "あなたの職域を選択してください。", "観光"),
    (7, "6", "rejected", "選択肢にない値", "市政を進めるうえで、官民連携は重要だと思いますか。", "とても重要"),
    (
        8,
        "7",
        "rejected",
        "排他的な選択肢（特にない等）と他の選択肢の同時選択",
        "官民連携に取り組むうえで、庁内でどのような支援が必要だと思いますか。（複数選択可）",
        EXCLUSIVE,
    ),
    (9, "8", "rejected", "日時を解釈できない", "開始時刻", "いつか"),
    (10, "row10", "rejected", "空行（回答なし）", "", ""),
    (11, "row11", "accepted", "", "", ""),
    (12, "11", "rejected", "職域が無回答", "あなたの職域を選択してください。", ""),
    (
        13,
        "12",
        "rejected",
        "単一回答の設問に複数の回答",
        "これまでに、民間企業等からの連携の相談や提案に対応した経験がありますか。",
        "ある;ない",
    ),
]

FIRST_CELL_ERROR = (
    "{path}：7行目、列「市政を進めるうえで、官民連携は重要だと思いますか。」、値「とても重要」：選択肢にない値"
    "（q1 の選択肢（重要である／どちらかといえば重要である／どちらかといえば重要ではない／重要ではない／わからない）"
    "にない値です）。コードブックの aliases に加えるかデータを直してください"
    "（ほかに3行。--on-invalid reject でこれらの行を除外して続行できます）"
)
UNKNOWN_STRATUM_ERROR = (
    "{path}：6行目、列「あなたの職域を選択してください。」、値「観光」：職域が不明（この値の行は計1行、値: 観光; "
    "コードブックの職域: 一般行政、税務、福祉、保健・医療、技術、消防、企業（上下水道）、技能労務、教育・保育）。"
    "コードブックの aliases に加えるかデータを直してください（--on-invalid reject でこれらの行を除外して続行）"
)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_one_reason_per_row_in_precedence_order(forms, codebook, tmp_path, suffix):
    path = tmp_path / f"x{suffix}"
    table = many_rules(forms, codebook)
    table.to_csv(path, index=False, encoding="utf-8-sig") if suffix == ".csv" else table.to_excel(path, index=False)
    result = load_responses(path, codebook, on_invalid="reject")
    assert [tuple(r) for r in result.report.rows.itertuples(index=False)] == EXPECTED_ROWS
    assert list(result.responses["respondent_id"]) == ["1", "row11"]


def test_error_names_the_first_cell_problem_of_a_kept_row(forms, codebook, tmp_path):
    path = tmp_path / "x.csv"
    many_rules(forms, codebook).to_csv(path, index=False, encoding="utf-8-sig")
    with pytest.raises(LoadError) as err:
        load_responses(path, codebook)
    assert str(err.value) == FIRST_CELL_ERROR.format(path=path)


def test_then_an_unknown_stratum(forms, codebook, tmp_path):
    """Without cell problems, the unknown 職域 of a kept row stops the load (a late row's does not count)."""
    path = tmp_path / "x.csv"
    table = many_rules(forms, codebook)
    table.loc[[5, 6, 7, 11]] = forms.loc[[5, 6, 7, 11]]
    table.to_csv(path, index=False, encoding="utf-8-sig")
    with pytest.raises(LoadError) as err:
        load_responses(path, codebook)
    assert str(err.value) == UNKNOWN_STRATUM_ERROR.format(path=path)


def test_a_duplicate_of_an_empty_or_cut_off_row_is_the_first(forms, codebook, tmp_path):
    """Only rows that pass the earlier rules claim their ID; a cut-off last row is that, whatever else."""
    g = forms.copy()
    g.loc[0, g.columns[5:]] = ""  # ID 1, empty
    g.loc[3, "ID"] = "1"  # the first non-empty row with ID 1: kept
    g.loc[5, "ID"] = "1"  # a duplicate of row 5 (index 3), not of the empty row
    g.loc[11, "ID"], g.loc[11, g.columns[-1]] = "1", ""  # the last row, cut off below
    path = tmp_path / "x.csv"
    data = g.to_csv(index=False).encode("utf-8")
    path.write_bytes(data[: data.rstrip(b"\n").rindex(b",")])  # the last row loses its last cell and line end
    rows = load_responses(path, codebook, on_invalid="reject").report.rows
    got = {int(r.row): (r.reason, r.value) for r in rows.itertuples() if r.status == "rejected"}
    assert got == {
        2: ("空行（回答なし）", ""),
        7: ("ID重複", "1（5行目と同じ）"),
        13: (
            "ファイル末尾の行が途中で切れている",
            f"{len(g.columns)}列中{len(g.columns) - 1}列（ファイルを書き出し直してください）",
        ),
    }


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_cell_with_a_line_break_is_shown_on_the_messages_one_line(forms, codebook, tmp_path, suffix):
    """A cell holding a line break (Alt+Enter in Excel) is named in the error's one line with ↵ for the
    break, as the CLI prints it (Hypothesis found 「\\u3000 どれでもない回答 \\n」 in 職位 broke the line)."""
    path = tmp_path / f"x{suffix}"
    table = forms.copy()
    column = next(c for c in table.columns if "職位" in str(c))
    table.loc[3, column] = "\u3000 どれでもない\n回答 \n"
    if suffix == ".csv":
        table.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        table.to_excel(path, index=False)
    with pytest.raises(LoadError) as err:
        load_responses(path, codebook, on_invalid="error")
    message = str(err.value)
    assert "\n" not in message and "\r" not in message
    assert "値「\u3000 どれでもない↵回答 ↵」" in message and f"列「{column}」" in message
