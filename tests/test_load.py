"""The loader: every format and layout real exports come in, and every kind of bad row.

Each test builds a small export from the synthetic baseline, changes it the way real exports
differ, and checks that the loaded table is right and that read = accepted + rejected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ppp_survey import LoadError, load_responses, write_export
from ppp_survey.ingest.load import (
    R_BAD_TIME,
    R_CUT_SHORT,
    R_DUPLICATE,
    R_EMPTY,
    R_EXCLUSIVE,
    R_MULTIPLE,
    R_NO_STRATUM,
    R_UNKNOWN_STRATUM,
    R_UNMATCHED,
    R_WINDOW,
)
from ppp_survey.synth.forms import to_forms_frame


@pytest.fixture(scope="module")
def small(synthetic):
    """The first 40 synthetic respondents and their free text."""
    responses = synthetic.responses.iloc[:40].reset_index(drop=True)
    free = synthetic.free_text[synthetic.free_text["respondent_id"].isin(responses["respondent_id"])]
    return responses, free.reset_index(drop=True)


@pytest.fixture
def forms(small, codebook):
    responses, free = small
    return to_forms_frame(responses, free, codebook)


def write_csv(table: pd.DataFrame, path, encoding="utf-8-sig"):
    out = table.copy()
    for col in ("開始時刻", "完了時刻"):
        if col in out:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y/%m/%d %H:%M:%S")
    out.to_csv(path, index=False, encoding=encoding)
    return path


def reconciles(result):
    r = result.report
    assert r.n_read == r.n_accepted + r.n_rejected
    assert len(result.responses) == r.n_accepted
    return r


@pytest.mark.parametrize(
    "name, encoding",
    [("a.xlsx", None), ("a.csv", "utf-8-sig"), ("a.csv", "utf-8"), ("a.csv", "cp932"), ("a.sav", None)],
)
def test_formats_round_trip(small, codebook, tmp_path, name, encoding):
    responses, free = small
    path = write_export(responses, free, codebook, tmp_path / name, **({"encoding": encoding} if encoding else {}))
    result = load_responses(path, codebook)
    pd.testing.assert_frame_equal(result.responses, responses)
    pd.testing.assert_frame_equal(result.free_text, free)
    if encoding:
        assert result.report.encoding == encoding
    reconciles(result)


def test_full_baseline_round_trips_through_every_format(synthetic, codebook, tmp_path):
    """Writing the same data as xlsx, csv (both encodings) and sav and loading each gives identical tables."""
    tables = []
    for name, enc in [("b.xlsx", None), ("b.csv", "utf-8-sig"), ("c.csv", "cp932"), ("b.sav", None)]:
        path = write_export(
            synthetic.responses, synthetic.free_text, codebook, tmp_path / name, **({"encoding": enc} if enc else {})
        )
        tables.append(load_responses(path, codebook).responses)
    for t in tables:
        pd.testing.assert_frame_equal(t, synthetic.responses)


def test_identity_columns_are_dropped(forms, codebook, tmp_path):
    forms = forms.assign(メール="taro.nagasaki@example.jp", 名前="長崎 太郎")
    result = load_responses(write_csv(forms, tmp_path / "x.csv"), codebook)
    flat = [str(v) for t in (result.responses, result.free_text) for v in t.to_numpy().ravel()]
    assert not any("長崎 太郎" in v or "example.jp" in v for v in flat)
    roles = result.report.columns.set_index("header")["role"]
    assert roles["メール"] == "identity" and roles["名前"] == "identity"


IDENTITY_VARIANTS = [
    "E-mail",
    "メールアドレス（任意）",
    "Eメール",
    "お名前",
    "氏名（漢字）",
    "職員番号",
    "社員番号",
    "職員ID",
    "Employee ID",
]


def test_identity_header_variants_are_dropped(forms, codebook, tmp_path):
    """Issue 15, item 7: the headers offices' forms really use for a name, an address or a staff number."""
    values = {h: f"秘密{i}さん" for i, h in enumerate(IDENTITY_VARIANTS)}
    result = load_responses(write_csv(forms.assign(**values, 部署名="総務課"), tmp_path / "x.csv"), codebook)
    flat = [str(v) for t in (result.responses, result.free_text) for v in t.to_numpy().ravel()]
    assert not any("秘密" in v for v in flat)
    roles = result.report.columns.set_index("header")["role"]
    assert all(roles[h] == "identity" for h in IDENTITY_VARIANTS), roles
    assert roles["名前"] == "identity" and roles["部署名"] == "ignored"  # not every 名 is a name


def test_columns_found_by_header_not_position(forms, small, codebook, tmp_path):
    shuffled = forms[list(np.random.default_rng(1).permutation(forms.columns))].assign(備考="extra column")
    result = load_responses(write_csv(shuffled, tmp_path / "x.csv"), codebook)
    pd.testing.assert_frame_equal(result.responses, small[0])
    assert result.report.columns.set_index("header").loc["備考", "role"] == "ignored"


def test_label_variants_normalise(forms, small, codebook, tmp_path):
    """Full-width/half-width, U+3000, numbering prefixes, brackets, keyed codes all map to the labels."""
    v = forms.copy()
    q2, q4, dom = codebook.item("q2").text, codebook.item("q4").text, codebook.item("domain").text
    v[q2] = v[q2].map(lambda s: f"①　{s} " if s else s)
    v[dom] = v[dom].str.replace("（", "(").str.replace("）", ")")
    v[codebook.item("q3").text] = v[codebook.item("q3").text].map({"ある": "1", "ない": "2."}).fillna("")
    # Google Forms joins with ", "; keyed exports write codes "1、3"
    v[q4] = [s.rstrip(";").replace(";", ", ") if i % 2 else s for i, s in enumerate(v[q4])]
    v.loc[0, q4] = "1、3"
    expected = small[0].copy()
    expected.loc[0, codebook.item("q4").option_columns] = [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    result = load_responses(write_csv(v, tmp_path / "x.csv", encoding="cp932"), codebook)
    pd.testing.assert_frame_equal(result.responses, expected)


def test_google_forms_layout(forms, small, codebook, tmp_path):
    google = forms.drop(columns=["ID", "開始時刻", "メール", "名前"]).rename(columns={"完了時刻": "タイムスタンプ"})
    result = load_responses(write_csv(google, tmp_path / "g.csv"), codebook)
    assert list(result.responses["respondent_id"]) == [f"row{i + 2}" for i in range(len(google))]
    pd.testing.assert_frame_equal(
        result.responses.drop(columns=["respondent_id", "started"]), small[0].drop(columns=["respondent_id", "started"])
    )


def test_one_column_per_option_layout(small, codebook, tmp_path):
    responses, free = small
    path = write_export(responses, free, codebook, tmp_path / "d.sav")  # SPSS: q4_1 .. q4_10 as 0/1
    result = load_responses(path, codebook)
    assert (result.report.columns["role"] == "option").sum() == sum(
        len(q.choices) for q in codebook.questions if q.is_multi
    )
    pd.testing.assert_frame_equal(result.responses, responses)


def test_other_text_left_over_in_ma_cell_goes_to_free_text(forms, codebook, tmp_path):
    q5 = codebook.item("q5")
    forms.loc[3, q5.text] = "民間等との役割や責任の分担・整理が難しい;議会対応が大変;"
    result = load_responses(write_csv(forms, tmp_path / "x.csv"), codebook)
    row = result.responses.iloc[3]
    assert row["q5_10"] == 1 and row["q5_12"] == 1  # the named difficulty and その他
    rid = result.responses.loc[3, "respondent_id"]  # noqa: F841 (used by query as @rid)
    texts = result.free_text.query("respondent_id == @rid and item == 'q5'")["text"].tolist()
    assert "議会対応が大変" in texts


ANSWER_COLUMNS = slice(5, None)  # after ID, 開始時刻, 完了時刻, メール, 名前


def _set(f, row, column, value):
    f[column] = f[column].astype(object)
    f.loc[row, column] = value


BAD_ROWS = {
    # kind: (row index to change, mutation, expected reason)
    "empty": (1, lambda f, cb: [_set(f, 1, c, "") for c in f.columns[ANSWER_COLUMNS]], R_EMPTY),
    "duplicate": (2, lambda f, cb: _set(f, 2, "ID", f.loc[0, "ID"]), R_DUPLICATE),
    "window": (3, lambda f, cb: _set(f, 3, "完了時刻", pd.Timestamp("2025-08-05 10:00")), R_WINDOW),
    "unknown_stratum": (4, lambda f, cb: _set(f, 4, cb.item("domain").text, "観光"), R_UNKNOWN_STRATUM),
    "no_stratum": (5, lambda f, cb: _set(f, 5, cb.item("domain").text, ""), R_NO_STRATUM),
    "unmatched": (6, lambda f, cb: _set(f, 6, cb.item("q1").text, "とても重要"), R_UNMATCHED),
    "two_answers": (7, lambda f, cb: _set(f, 7, cb.item("q3").text, "ある;ない"), R_MULTIPLE),
    "exclusive": (8, lambda f, cb: _set(f, 8, cb.item("q7").text, "外部人材の活用;特にない;"), R_EXCLUSIVE),
    "bad_time": (9, lambda f, cb: _set(f, 9, "完了時刻", "いつか"), R_BAD_TIME),
}


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_each_bad_row_is_rejected_with_its_reason(forms, codebook, tmp_path, kind):
    index, mutate, reason = BAD_ROWS[kind]
    forms = forms.copy()
    mutate(forms, codebook)
    path = tmp_path / "x.xlsx"
    forms.to_excel(path, index=False)
    result = load_responses(path, codebook, on_invalid="reject")
    report = reconciles(result)
    rejected = report.rejected()
    assert list(rejected["row"]) == [index + 2]  # spreadsheet row: header is row 1
    assert rejected["reason"].iloc[0] == reason
    assert report.n_read == len(forms) and report.n_accepted == len(forms) - 1


def test_all_bad_rows_together_reconcile(forms, codebook, tmp_path):
    forms = forms.copy()
    for _, mutate, _ in BAD_ROWS.values():
        mutate(forms, codebook)
    blank = pd.DataFrame([[None] * len(forms.columns)], columns=forms.columns)
    forms = pd.concat([forms.iloc[:20], blank, forms.iloc[20:]], ignore_index=True)  # a wholly blank line
    path = tmp_path / "x.csv"
    stamp = forms["完了時刻"].map(lambda v: v.strftime("%Y/%m/%d %H:%M:%S") if isinstance(v, pd.Timestamp) else v)
    forms.assign(完了時刻=stamp, 開始時刻="").to_csv(path, index=False, encoding="utf-8-sig")
    result = load_responses(path, codebook, on_invalid="reject")
    report = reconciles(result)
    assert report.n_read == 41
    counts = report.summary().set_index(["status", "reason"])["count"]
    for _, _, reason in BAD_ROWS.values():
        assert counts[("rejected", reason)] >= 1, reason
    assert counts[("rejected", R_EMPTY)] == 2
    assert report.n_accepted == 41 - len(BAD_ROWS) - 1


@pytest.mark.parametrize("cut", ["mid_row", "line_end_missing"])
def test_csv_cut_off_in_its_last_row(forms, codebook, tmp_path, cut):
    """A file cut off mid-row would otherwise load its last row as a respondent who skipped the
    last questions; a last line that only lacks its line end is a whole row and is kept."""
    path = write_csv(forms, tmp_path / "x.csv")
    text = path.read_bytes().rstrip(b"\r\n")
    last = text.rsplit(b"\n", 1)[-1]
    if cut == "mid_row":
        text = text[: len(text) - len(last) + last.index(b",", len(last) // 3)]  # keep a third of the row and more
    path.write_bytes(text)
    for on_invalid in ("reject", "error"):
        result = load_responses(path, codebook, on_invalid=on_invalid)
        report = reconciles(result)
        assert report.n_read == len(forms)
        if cut == "mid_row":
            rejected = report.rejected()
            assert list(rejected["reason"]) == [R_CUT_SHORT] and list(rejected["row"]) == [len(forms) + 1]
            assert "列" in rejected["value"].iloc[0]
        else:
            assert report.n_rejected == 0


def test_unknown_stratum_is_a_clear_error_by_default(forms, codebook, tmp_path):
    """A renamed 職域 would drop a whole stratum; by default it stops the run, naming value and count."""
    domain = codebook.item("domain")
    forms[domain.text] = forms[domain.text].astype(object)
    forms.loc[[3, 5], domain.text] = "観光"
    path = write_csv(forms, tmp_path / "x.csv")
    with pytest.raises(LoadError) as err:
        load_responses(path, codebook)
    message = str(err.value)
    for part in (str(path), "5行目", "観光", R_UNKNOWN_STRATUM, "計2行", "--on-invalid reject"):
        assert part in message
    result = load_responses(path, codebook, on_invalid="reject")
    assert reconciles(result).n_rejected == 2


def test_unmatched_label_is_a_clear_error_by_default(forms, codebook, tmp_path):
    q1 = codebook.item("q1")
    forms.loc[6, q1.text] = "とても重要"
    path = write_csv(forms, tmp_path / "x.csv")
    with pytest.raises(LoadError) as err:
        load_responses(path, codebook)
    message = str(err.value)
    for part in (str(path), "8行目", q1.text, "とても重要", "aliases"):
        assert part in message


def test_missing_column_is_a_clear_error(forms, codebook, tmp_path):
    q6 = codebook.item("q6")
    path = write_csv(forms.drop(columns=[q6.text]), tmp_path / "x.csv")
    with pytest.raises(LoadError, match=rf"1件に対応する列がありません: 2-\(6\) {q6.label}（列名「{q6.text}」）"):
        load_responses(path, codebook)


def test_every_missing_column_in_one_message(forms, codebook, tmp_path):
    """One run names every column the codebook misses (issue 17), the codebook and how to go on."""
    gone = [codebook.item(i) for i in ("domain", "q1", "q5", "q6")]
    path = write_csv(forms.drop(columns=[it.text for it in gone]), tmp_path / "x.csv")
    with pytest.raises(LoadError) as err:
        load_responses(path, codebook)
    message = str(err.value)
    assert "4件に対応する列がありません" in message and "\n" not in message
    for it in gone:
        assert f"「{it.text}」" in message
    for part in (
        "職域（列名",
        "2-(1) 官民連携の重要性",
        "同梱の codebook_r7.yaml",
        "check --data x.csv",
        "init-codebook",
    ):
        assert part in message


@pytest.mark.parametrize(
    "content, suffix, message",
    [
        (b"PK\x03\x04truncated", ".xlsx", "Excelブックとして読めません"),
        (b"a,b\n\x81\x20\xff\n", ".csv", "2行目がUTF-8でもCP932（Shift_JIS）でもありません"),
        (b"\xff\xfe\x00\x00\x81", ".csv", "1行目がUTF-16（Unicode テキスト）として正しくありません"),
        (b"a,b\n1,2\n", ".ods", r"この種類のファイル（\.ods）は読めません"),
        (b"", ".csv", "ファイルが空です"),
    ],
)
def test_unreadable_files(tmp_path, codebook, content, suffix, message):
    path = tmp_path / f"x{suffix}"
    path.write_bytes(content)
    with pytest.raises(LoadError, match=message):
        load_responses(path, codebook)


def test_missing_file(tmp_path, codebook):
    with pytest.raises(LoadError, match="ファイルが見つかりません。--data に"):
        load_responses(tmp_path / "none.xlsx", codebook)
