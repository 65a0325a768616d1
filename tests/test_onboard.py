"""Adapting a codebook to an export (issue 17 item 4): ``check`` lists at once every column, every
item without a column and every value the codebook does not describe; ``init-codebook`` writes a
draft that loads once its TODO fields are filled."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import BASELINE, REPO
from ppp_survey import CodebookError, load_codebook, load_responses
from ppp_survey.ingest.check import check_export, column_letter
from ppp_survey.report.cli import main

RENAMED = {
    "domain": "所属の職域",
    "q1": "官民連携は重要か",
    "q5": "連携の難しさ（複数選択）",
    "q6": "相談しやすい雰囲気があるか",
}


@pytest.fixture
def renamed(forms, codebook, tmp_path):
    """The bundled export with four headers renamed and two values the codebook does not know."""
    table = forms.rename(columns={codebook.item(i).text: new for i, new in RENAMED.items()})
    q2 = codebook.item("q2").text
    table.loc[[3, 8, 9], q2] = "とても意欲がある"
    table.loc[[11], q2] = "意欲がある;意欲がない"
    path = tmp_path / "回答_R7.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def test_check_lists_four_renamed_headers_in_one_run(renamed, codebook, capsys):
    assert main(["check", "--data", str(renamed)]) == 1
    out = capsys.readouterr().out
    for item_id, header in RENAMED.items():
        assert f"列「{header}」→ ×対応なし" in out  # the column that matched nothing
        item = codebook.item(item_id)
        assert f": 列名「{item.text}」の列がない" in out  # the item without a column
        assert f'aliases: ["{header}"]' in out  # the renamed header suggested for it
    assert "■ 列のない項目（4件）" in out
    assert "「とても意欲がある」 3件（選択肢にない値）" in out
    assert "「意欲がある;意欲がない」 1件（単一回答の設問に複数の回答）" in out
    assert "A列「ID」→ 固定列（ID）" in out and "D列「メール」→ 個人を特定する列" in out
    assert (
        "結果: 一致しない箇所があります（対応しない列4、列のない項目4、コードブックにない値2種類。終了ステータス 1）"
        in out
    )


def test_check_result(renamed, codebook):
    result = check_export(renamed, codebook)
    assert not result.ok
    assert [c.header for c in result.unmatched] == list(RENAMED.values())
    assert [m.item.id for m in result.missing] == list(RENAMED)
    assert result.values[["item", "value", "count"]].values.tolist() == [
        ["q2", "とても意欲がある", 3],
        ["q2", "意欲がある;意欲がない", 1],
    ]


def test_check_of_the_bundled_export_passes(capsys):
    assert main(["check", "--data", str(BASELINE)]) == 0
    out = capsys.readouterr().out
    assert "結果: すべて一致しました（終了ステータス 0）" in out and "×対応なし" not in out


def test_check_top_and_unknown_strata(forms, codebook, tmp_path, capsys):
    table = forms.copy()
    domain = codebook.item("domain").text
    table.loc[:5, domain] = ["本庁", "本庁", "支所", "支所", "支所", "出先"]
    path = tmp_path / "x.csv"
    table.to_csv(path, index=False)
    assert main(["check", "--data", str(path), "--top", "2"]) == 1
    out = capsys.readouterr().out
    assert "「支所」 3件（職域が不明）" in out and "「本庁」 2件（職域が不明）" in out
    assert "ほかに1種類（--top で表示数を増やせます）" in out


def test_check_user_errors_exit_2(tmp_path, capsys):
    assert main(["check", "--data", str(tmp_path / "none.xlsx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("エラー: ") and err.count("\n") == 1 and "ファイルが見つかりません" in err


def test_the_entry_points(renamed):
    """``python -m ppp_survey.report check`` and the ``ppp-survey`` console script."""
    commands = [[sys.executable, "-m", "ppp_survey.report", "check", "--data", str(renamed)]]
    script = shutil.which("ppp-survey", path=str(REPO / ".venv" / "bin"))
    if script:
        commands.append([script, "check", "--data", str(renamed)])
    for command in commands:
        proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 1 and "■ 列のない項目（4件）" in proc.stdout, proc.stderr


def test_column_letters():
    assert [column_letter(n) for n in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]


def fill(draft: dict, **survey) -> dict:
    """The analyst's part: the survey's name and staff count (and the 職域 when no header named it)."""
    draft["survey"].update({"id": "r7", "title": "官民連携に関する職員意識調査", "population": 3138, **survey})
    return draft


def test_init_codebook_draft_loads_once_filled(tmp_path, capsys):
    out = tmp_path / "codebook_draft.yaml"
    assert main(["init-codebook", "--data", str(BASELINE), "--out", str(out)]) == 0
    assert "TODO 3か所" in capsys.readouterr().out  # survey id, title, population (no --frame)
    text = out.read_text(encoding="utf-8")
    assert text.count("# TODO:") == 3 and "schema_version: 1" in text
    with pytest.raises(CodebookError):  # not loadable while TODO fields are empty
        load_codebook(out)
    draft = yaml.safe_load(text)
    assert draft["survey"]["fielded_from"].isoformat() == "2025-07-18"  # from the completion times
    filled = tmp_path / "codebook.yaml"
    filled.write_text(yaml.safe_dump(fill(draft), allow_unicode=True), encoding="utf-8")
    codebook = load_codebook(filled)
    assert [a.id for a in codebook.attributes] == ["domain", "position", "age"]
    assert codebook.stratum.label == "職域" and len(codebook.stratum.choices) == 9
    assert [q.type for q in codebook.questions] == ["likert", "likert", "sa", "ma", "ma", "likert", "ma", "text"]
    q4 = codebook.questions[3]
    assert q4.other_text and any(c.other for c in q4.choices) and any(c.exclusive for c in q4.choices)
    # the draft describes its export: check passes and the export loads through it
    assert check_export(BASELINE, codebook).ok
    loaded = load_responses(BASELINE, codebook)
    assert loaded.report.n_accepted == 1340
    # without a frame, the 職域 are in the order they first appear in the export, never by frequency
    seen = pd.read_excel(BASELINE, dtype=str, engine="calamine")[codebook.stratum.text].drop_duplicates().tolist()
    assert codebook.stratum.labels == seen


def test_init_codebook_without_a_domain_header(forms, codebook, tmp_path):
    """A 職域 column headed 所属 or 部署 is the stratum; one headed with words the draft cannot know
    (and no --frame to recognise its answers) leaves a TODO stratum and the column as a question."""
    busho = tmp_path / "busho.csv"
    forms.rename(columns={codebook.item("domain").text: "所属"}).to_csv(busho, index=False)
    assert main(["init-codebook", "--data", str(busho), "--out", str(tmp_path / "busho.yaml")]) == 0
    stratum = yaml.safe_load((tmp_path / "busho.yaml").read_text(encoding="utf-8"))["attributes"][0]
    assert (stratum["role"], stratum["text"]) == ("stratum", "所属") and stratum["choices"]
    unknown = "あなたの勤務先"
    table = forms.rename(columns={codebook.item("domain").text: unknown})
    data = tmp_path / "export.csv"
    table.to_csv(data, index=False)
    out = tmp_path / "draft.yaml"
    assert main(["init-codebook", "--data", str(data), "--out", str(out)]) == 0
    draft = yaml.safe_load(out.read_text(encoding="utf-8"))
    placeholder = draft["attributes"][0]
    assert placeholder["role"] == "stratum" and placeholder["text"] is None and placeholder["choices"] == []
    column = next(q for q in draft["questions"] if q["text"] == unknown)  # the column is there, as a question
    draft["questions"].remove(column)
    placeholder.update(text=unknown, choices=column["choices"])
    filled = tmp_path / "codebook.yaml"
    filled.write_text(yaml.safe_dump(fill(draft), allow_unicode=True), encoding="utf-8")
    assert check_export(data, load_codebook(filled)).ok


def test_init_codebook_does_not_overwrite(tmp_path, capsys):
    out = tmp_path / "draft.yaml"
    out.write_text("mine", encoding="utf-8")
    assert main(["init-codebook", "--data", str(BASELINE), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_text(encoding="utf-8") == "mine"
    assert main(["init-codebook", "--data", str(BASELINE), "--out", str(out), "--force"]) == 0


def test_an_spss_file_has_no_header_row(synthetic, codebook, tmp_path, capsys):
    from ppp_survey import write_export

    path = write_export(synthetic.responses, synthetic.free_text, codebook, tmp_path / "x.sav")
    assert main(["check", "--data", str(path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("照合: x.sav（sav") and "見出し" not in first


def test_nothing_matched_names_the_header_row(forms, codebook, tmp_path):
    """An export whose headers match nothing (another questionnaire, or a title read as the header):
    the error says which row was read as the header."""
    from ppp_survey import LoadError

    path = tmp_path / "x.csv"
    table = forms.set_axis([f"列{i}" for i in range(len(forms.columns))], axis=1)
    path.write_text("調査結果\n\n" + table.to_csv(index=False), encoding="utf-8")
    with pytest.raises(LoadError, match="3行目の見出しがどれもコードブックと合いません"):
        load_responses(path, codebook)


@pytest.mark.parametrize("command", ["check", "init-codebook"])
def test_over_the_size_limit_stops_as_the_loader_does(command, monkeypatch, tmp_path, capsys):
    """Issue 28 item 5: check and init-codebook read through the loader's reader, so a workbook that
    expands beyond the loader's limit stops before it is parsed, with the loader's one line (the
    limit lowered to 1 MB here: the bundled workbook expands to 3.6 MB)."""
    from ppp_survey import LoadError, files

    monkeypatch.setattr(files.check_zip_size, "__defaults__", (1 << 20,))  # the guard's limit, as it is bound
    with pytest.raises(LoadError) as loader:
        load_responses(BASELINE)
    assert "展開すると1 MBの上限を超えるため読み込みません" in str(loader.value)
    out = tmp_path / "draft.yaml"
    assert main([command, "--data", str(BASELINE), *(["--out", str(out)] if command != "check" else [])]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"エラー: {loader.value}\n" and not captured.out and not out.exists()


def test_check_prints_a_long_cell_cut_with_its_place(forms, codebook, tmp_path, capsys):
    table = forms.copy()
    q2 = codebook.item("q2").text
    table.loc[4, q2] = "長" * 100_000 + "\n"  # a 100,000-character cell in J6 (row 6: the header is row 1)
    table.loc[7, q2] = "意欲が" + "とても" * 30 + "ある"  # 95 characters: a wording shown whole
    path = tmp_path / "long.csv"
    table.to_csv(path, index=False)
    assert main(["check", "--data", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"「{'長' * 40}…（全100,001文字、6行目J列）」 1件（選択肢にない値）" in out
    assert f"「意欲が{'とても' * 30}ある」 1件（選択肢にない値）" in out
    assert max(len(line) for line in out.splitlines()) < 200


def test_check_also_checks_a_matrix_reference_by_reference(tmp_path, capsys):
    """check --matrix: every answer the matrix names by a label the codebook lacks is listed, and the
    check fails (exit 1); the packaged matrix fits the packaged codebook (exit 0)."""
    packaged = REPO / "src" / "ppp_survey" / "data" / "policy_matrix_r7.yaml"
    text = packaged.read_text(encoding="utf-8")
    wrong = "choices: [基本的なルールが体系化されていない]"  # a wording the codebook does not have
    bad = tmp_path / "matrix.yaml"
    bad.write_text(text.replace("choices: [基本的なルールやプロセスが体系化されていない]", wrong), encoding="utf-8")
    assert wrong in bad.read_text(encoding="utf-8")
    assert main(["check", "--data", str(BASELINE), "--matrix", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "合わない参照1件" in out and "基本的なルールが体系化されていない" in out
    assert main(["check", "--data", str(BASELINE), "--matrix", str(packaged)]) == 0
    assert "すべての参照がコードブックに一致" in capsys.readouterr().out
