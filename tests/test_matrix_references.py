"""Issue 27: the policy matrix and the codebook mapping name answers by label, never by number.

An outside user drafted their own codebook with the choices numbered in another order, and the
matrix, which named choices by number, judged other answers without a word (現状「基本的なルールや
プロセスが体系化されていない」 judged on the share who chose 「民間等とのマッチングの仕組みが整って
いない」). Here: a codebook whose choices are all reversed and renumbered gives the same evidence,
verdict for verdict and number for number; a label the codebook lacks stops the run with one line
naming every such reference; a number is refused; ``check_matrix_references`` reports reference
by reference; the mapping between waves pairs choices by label too.
"""

from __future__ import annotations

import contextlib
import io
import re
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ppp_survey.analysis import load_survey
from ppp_survey.policy.assess import assess
from ppp_survey.spec.codebook import load_codebook
from ppp_survey.spec.mapping import MappingError, load_mapping, parse_mapping
from ppp_survey.spec.matrix import MatrixError, choice_for_label
from ppp_survey.spec.matrix_file import check_matrix_references, load_matrix, parse_matrix

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "raw" / "synthetic_r7_responses.xlsx"
FRAME = REPO / "data" / "raw" / "staff_frame_r7.csv"
PACKAGED = resources.files("ppp_survey") / "data"


def _packaged(name: str) -> dict:
    return yaml.safe_load((PACKAGED / name).read_text(encoding="utf-8"))


def _write(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _renumbered(raw: dict) -> dict:
    """Every question's choices in reverse order and numbered 1, 2, … again: code 1 of 2-(5) is now
    「特にない」, code 2 「その他」, code 13 「基本的なルールやプロセスが体系化されていない」."""
    for q in raw["questions"]:
        if q.get("choices"):
            q["choices"] = [{**c, "code": k} for k, c in enumerate(reversed(q["choices"]), start=1)]
    return raw


@pytest.fixture(scope="module")
def codebooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("codebooks")
    renumbered = _write(folder / "codebook_renumbered.yaml", _renumbered(_packaged("codebook_r7.yaml")))
    return load_codebook(), load_codebook(renumbered)


@pytest.fixture(scope="module")
def surveys(codebooks):
    original, renumbered = codebooks
    return load_survey(DATA, FRAME, codebook=original), load_survey(DATA, FRAME, codebook=renumbered)


def test_the_renumbering_moves_every_code(codebooks):
    original, renumbered = codebooks
    q5, r5 = original.item("q5"), renumbered.item("q5")
    assert r5.choice(1).label == "特にない" and r5.choice(13).label == q5.choice(1).label
    for q, r in zip(original.questions, renumbered.questions):
        moved = [c.label for c in q.choices if choice_for_label(r, c.label).code != c.code]
        assert len(moved) >= len(q.choices) - 1, q.id  # all but a middle one (an odd count) move


def test_renumbered_codebook_gives_the_same_evidence(codebooks, surveys):
    """The report's path (``assess(load_matrix(...), analysis)``) on the packaged and on the
    renumbered codebook: the same evidence table, verdicts and numbers, and the same reverse view;
    only the internal ``codes`` column (the codebook's own codes) differs."""
    (original, renumbered), (a, b) = codebooks, surveys
    before = assess(load_matrix(codebook=original), a.analysis)
    after = assess(load_matrix(codebook=renumbered), b.analysis)
    pd.testing.assert_frame_equal(before.evidence.drop(columns="codes"), after.evidence.drop(columns="codes"))
    assert (before.evidence["codes"] != after.evidence["codes"]).any()  # the codes did move
    assert (
        after.evidence.set_index("indicator_id")
        .loc["s1.1", "indicator"]
        .endswith("「基本的なルールやプロセスが体系化されていない」を選んだ割合")
    )
    assert before.verdict_counts() == after.verdict_counts()
    reverse = ["finding_id", "rank", "label", "value", "ci_low", "ci_high", "n", "p_value", "link", "link_id", "via"]
    pd.testing.assert_frame_equal(before.reverse[reverse], after.reverse[reverse])
    kpi = [c for c in before.kpi.columns if c != "indicator_key"]  # the key is the compare layer's (code-based)
    pd.testing.assert_frame_equal(before.kpi[kpi], after.kpi[kpi])


def test_a_matrix_bound_to_one_codebook_is_bound_again_to_the_analysis(codebooks, surveys):
    """A matrix loaded against the packaged codebook and judged on the renumbered wave takes the
    renumbered codes (from the labels), never the codes it was loaded with."""
    (original, _), (a, b) = codebooks, surveys
    matrix = load_matrix(codebook=original)
    assert matrix.situation("s1").indicators[0].codes == (1,)
    result = assess(matrix, b.analysis)
    assert result.matrix.situation("s1").indicators[0].codes == (13,)
    assert result.matrix.model == ("q2:top2", ("domain", "position", "age", "q3:choice:2", "q6:top2"))
    expected = assess(load_matrix(codebook=original), a.analysis)
    pd.testing.assert_frame_equal(expected.evidence.drop(columns="codes"), result.evidence.drop(columns="codes"))


def test_labels_match_as_the_loader_matches_answers(codebook):
    """Full-width, spaces and a numbering prefix do not matter (the loader's normalize_key)."""
    raw = _packaged("policy_matrix_r7.yaml")
    ind = raw["categories"][0]["situations"][0]["indicators"][0]
    ind["choices"] = ["1. 基本的なルールや　プロセスが体系化されていない "]
    raw["associations"]["terms"][3] = "q3:choice:\u3000ある"  # an ideographic space
    m = parse_matrix(raw, name="m.yaml", codebook=codebook)
    assert m.situation("s1").indicators[0].codes == (1,) and m.model[1][3] == "q3:choice:1"


# ------------------------------------------------------------------------------------- refused


def _one_error_line(argv: list[str]) -> str:
    from ppp_survey.report.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(argv)
    lines = err.getvalue().strip().splitlines()
    assert status == 2 and not any("Traceback" in line for line in lines)
    errors = [line for line in lines if line.startswith("エラー: ")]
    assert errors == [lines[-1]], lines  # one line, the last
    return lines[-1]


def test_unknown_labels_stop_the_report_with_one_line_naming_each(tmp_path):
    raw = _packaged("policy_matrix_r7.yaml")
    raw["categories"][2]["situations"][1]["indicators"][0]["statistic"] = "share"  # s8.1: q6 感じる…
    raw["categories"][2]["situations"][1]["indicators"][0]["choices"] = ["相談しやすい"]
    raw["option_links"][1]["choice"] = "マッチングの仕組み"
    path = _write(tmp_path / "自作マトリクス.yaml", raw)
    last = _one_error_line(["--matrix", str(path), "--out", str(tmp_path / "out"), "--no-paper"])
    assert (
        "政策マトリクス 自作マトリクス.yaml: 選択肢の参照2件がコードブック codebook_r7.yaml（同梱） の選択肢にない"
        in last
    )
    first, second = last.split("；")
    assert "行目 categories[2].situations[1].indicators[0].choices[0]: 「相談しやすい」は設問2-(6)" in first
    assert (
        "（選択肢は 「感じる」「どちらかといえば感じる」「どちらかといえば感じない」「感じない」「わからない」）"
        in first
    )
    assert "行目 option_links[1].choice: 「マッチングの仕組み」は設問2-(5)" in second
    assert "「民間等とのマッチングの仕組みが整っていない」" in second  # the valid labels, to copy
    assert last.endswith(
        "選択肢はコードブックのラベル（または aliases）のとおりに書く（全角・半角・空白の違いは問わない。番号では書けない）"
    )
    assert not (tmp_path / "out" / "figures").exists()  # nothing published


def test_numbers_are_refused(tmp_path):
    raw = _packaged("policy_matrix_r7.yaml")
    ind = raw["categories"][1]["situations"][1]["indicators"][0]
    ind["codes"] = [5]
    del ind["choices"]
    path = _write(tmp_path / "old.yaml", raw)
    last = _one_error_line(["--matrix", str(path), "--out", str(tmp_path / "out"), "--no-paper"])
    assert "政策マトリクス old.yaml" in last and "行目 categories[1].situations[1].indicators[0].codes:" in last
    assert (
        "「codes: [5]」は選択肢を番号で指している" in last
        and "「choices: [<コードブックの選択肢のラベル>]」と書く" in last
    )
    for edit, message in [
        (
            lambda r: r["option_links"][0].update(code=1),
            r"option_links\[0\]\.code: 「code: 1」は選択肢を番号で指している",
        ),
        (
            lambda r: r["option_links"][0].update(choice=1),
            r"option_links\[0\]\.choice: 「1」は番号で、選択肢のラベルではない",
        ),
        (
            lambda r: r["categories"][0]["situations"][0]["indicators"][0].update(choices=[1]),
            r"indicators\[0\]\.choices\[0\]: 「1」は番号で.*引用符で囲む",
        ),
    ]:
        raw = _packaged("policy_matrix_r7.yaml")
        edit(raw)
        with pytest.raises(MatrixError, match=message):
            parse_matrix(raw, name="m.yaml")
    raw = _packaged("policy_matrix_r7.yaml")
    raw["associations"]["terms"][3] = "q3:choice:1"  # the old key: "1" is no label of 2-(3)
    with pytest.raises(
        MatrixError, match=r"associations\.terms\[3\]: 「q3:choice:1」の「1」は.*番号ではなく選択肢のラベルを書く"
    ):
        parse_matrix(raw, name="m.yaml", codebook=load_codebook())


def test_check_matrix_references_reports_each_reference(tmp_path, codebook):
    assert check_matrix_references(None, codebook) == []
    raw = _packaged("policy_matrix_r7.yaml")
    raw["categories"][0]["situations"][0]["indicators"][0]["choices"] = ["ルール"]
    raw["categories"][0]["situations"][0]["indicators"][1]["choices"] = ["指針"]
    raw["associations"]["terms"][3] = "q3:choice:あり"
    path = _write(tmp_path / "m.yaml", raw)
    messages = check_matrix_references(path, codebook)
    assert len(messages) == 3 and all("\n" not in m for m in messages)
    assert (
        messages[0].startswith("政策マトリクス m.yaml ")
        and "categories[0].situations[0].indicators[0].choices[0]: 「ルール」" in messages[0]
    )
    assert "indicators[1].choices[0]: 「指針」は設問2-(7)" in messages[1]
    assert (
        "associations.terms[3]: 「q3:choice:あり」の「あり」は設問2-(3)" in messages[2]
        and "「ある」「ない」" in messages[2]
    )
    assert all(m.endswith("番号では書けない）") for m in messages)
    # other problems: one message, the first; a file that is not there
    raw = _packaged("policy_matrix_r7.yaml")
    raw["categories"][0]["situations"][0]["indicators"][0]["question"] = "q99"
    (other,) = check_matrix_references(_write(tmp_path / "q.yaml", raw), codebook)
    assert re.match(
        r"政策マトリクス q\.yaml \d+行目 categories\[0\]\.situations\[0\]\.indicators\[0\]: 「question: q99」", other
    )
    assert "ファイルが見つからない" in check_matrix_references(tmp_path / "none.yaml", codebook)[0]


# ------------------------------------------------------------------------------------- the mapping


def test_the_mapping_pairs_choices_by_label(tmp_path):
    """R8 renumbered: the packaged mapping still pairs each R7 choice with the R8 choice of its label,
    and the added choice (named by its label) is the one added."""
    r7 = load_codebook()
    r8_raw = _renumbered(_packaged("codebook_r8.yaml"))
    r8 = load_codebook(_write(tmp_path / "codebook_r8_renumbered.yaml", r8_raw))
    mapping = load_mapping("mapping_r7_r8.yaml", r7, r8)
    q5 = next(q for q in mapping.questions if q.new == "q5")
    for c in q5.choices:
        if c.status == "same":
            old, new = c.codes()
            assert r7.item("q5").choice(old).label == r8.item("q5").choice(new).label
    (added,) = [c for c in q5.choices if c.status == "added"]
    assert r8.item("q5").choice(int(added.new)).label == "官民連携指針の内容や運用がわかりにくい"
    assert all(
        r7.item(q.old).choice(c.old).label == r8.item(q.new).choice(c.new).label
        for q in mapping.questions
        if q.status == "same"
        for c in q.choices
        if c.status == "same"
    )


def test_the_mapping_refuses_numbers_and_lists_unknown_labels():
    r7, r8 = load_codebook(), load_codebook(PACKAGED / "codebook_r8.yaml")
    raw = _packaged("mapping_r7_r8.yaml")
    raw["questions"][1]["choices"][0]["to"] = 14
    with pytest.raises(
        MappingError, match=r"^対応表 m\.yaml questions\[1\]\.choices\[0\]\.to: 「to: 14」は選択肢を番号で指している"
    ):
        parse_mapping(raw, r7, r8, name="m.yaml")
    raw = _packaged("mapping_r7_r8.yaml")
    raw["questions"][1]["choices"][0]["to"] = "指針がわかりにくい"
    raw["questions"][1]["choices"].append({"from": "ルールがない", "to": "ルールがない", "changed": "x"})
    with pytest.raises(MappingError) as info:
        parse_mapping(raw, r7, r8, name="m.yaml")
    message = str(info.value)
    assert message.startswith("対応表 m.yaml: 選択肢の参照3件がコードブックの選択肢にない: ")
    assert "questions[1].choices[0].to: R8の「指針がわかりにくい」は設問2-(5)" in message
    assert (
        "questions[1].choices[1].from: R7の「ルールがない」" in message
        and "questions[1].choices[1].to: R8の「ルールがない」" in message
    )
    assert "\n" not in message


def test_the_template_reads_and_is_judged_on_either_numbering(codebooks, surveys):
    """The commented template (README 「自分の調査票に合わせたマトリクスの書き方」) is a matrix that
    fits the packaged codebook, names every choice by label and is judged alike on both numberings."""
    template = Path(str(PACKAGED / "policy_matrix_template.yaml"))
    text = template.read_text(encoding="utf-8")
    assert (
        "codes:" not in text.split("schema_version: 1", 1)[1] and "code:" not in text.split("schema_version: 1", 1)[1]
    )
    (original, renumbered), (a, b) = codebooks, surveys
    assert check_matrix_references(template, original) == [] == check_matrix_references(template, renumbered)
    before = assess(load_matrix(template, codebook=original), a.analysis).evidence
    after = assess(load_matrix(template, codebook=renumbered), b.analysis).evidence
    pd.testing.assert_frame_equal(before.drop(columns="codes"), after.drop(columns="codes"))
    assert len(before) == 6
