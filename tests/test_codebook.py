"""The codebook is data with a schema: the packaged one loads, broken ones fail with a location."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from ppp_survey import CodebookError, load_codebook
from ppp_survey.spec.codebook import parse_codebook
from ppp_survey.spec.normalize import normalize_key


def test_packaged_codebook_describes_section_2(codebook):
    # The document's section 2 charts are 2-(1) .. 2-(7); their headings are the question titles.
    numbered = [q for q in codebook.questions if q.number.startswith("2-(")]
    assert [q.number for q in numbered] == [f"2-({i})" for i in range(1, 8)]
    assert [q.label for q in numbered] == [
        "官民連携の重要性",
        "官民連携に対する意欲の有無",
        "民間企業等との連携の相談・提案対応経験の有無",
        "民間事業者との連携のメリット（複数選択可）",
        "連携するにあたって難しいと思う点（複数選択可）",
        "庁内で官民連携を相談しやすい雰囲気・仕組みがあると感じるか",
        "連携に取り組むうえで庁内でどのような支援が必要か（複数選択可）",
    ]
    assert [q.type for q in numbered] == ["likert", "likert", "sa", "ma", "ma", "likert", "ma"]
    for q in numbered:
        if q.is_multi:
            assert sum(c.exclusive for c in q.choices) == 1, q.id  # 特にない
            assert sum(c.other for c in q.choices) == 1, q.id  # その他
    s = codebook.survey
    assert (s.fielded_from.isoformat(), s.fielded_to.isoformat()) == ("2025-07-18", "2025-07-31")
    assert (s.population, s.respondents) == (3138, 1340)
    assert "再構成" in s.reconstruction
    assert codebook.stratum.label == "職域"


def _raw():
    from importlib import resources

    return yaml.safe_load((resources.files("ppp_survey") / "data" / "codebook_r7.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r["questions"][3]["choices"][2].pop("label"), "questions[3].choices[2]: 「label」がない。"),
        (lambda r: r["questions"][0].update(type="scale"), "questions[0]: 「type: scale」は使えない。"),
        (
            lambda r: r["questions"][1]["choices"][1].update(code=1),
            "questions[1]: 選択肢の「code: 1」が2回使われている",
        ),
        (lambda r: r["questions"][2].update(id="q1"), "questions[2]: 「id: q1」は questions[0] でも使われている"),
        (lambda r: r["attributes"][0].update(role="attribute"), "attributes: 「role: stratum」の属性が0個ある"),
        (lambda r: r["survey"].update(fielded_to="2025-07-01"), "survey.fielded_to: 調査終了日 2025-07-01 が開始日"),
        (lambda r: r.update(schema_version=9), "schema_version: 「9」はこのパッケージが読める版ではない"),
        (lambda r: r["questions"][1]["choices"][0].update(label="意欲がない"), "questions[1]: 選択肢「意欲がない」と"),
    ],
)
def test_schema_errors_name_the_place(mutate, message):
    # one Japanese line: the file, the key path in it, the value, what is wrong (and then what to do)
    raw = copy.deepcopy(_raw())
    mutate(raw)
    with pytest.raises(CodebookError, match=re.escape(f"コードブック test.yaml {message}")) as info:
        parse_codebook(raw, name="test.yaml")
    assert "\n" not in str(info.value) and "。" in str(info.value).split(": ", 1)[1]


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(CodebookError, match=r"^コードブック none\.yaml: ファイルが見つからない"):
        load_codebook(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nsurvey: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"^コードブック bad\.yaml 3行目: YAMLとして読めない"):
        load_codebook(bad)


def test_messages_name_the_line_of_the_place(tmp_path):
    """Loaded from a file, the message also names the line of the key path, as an editor numbers it."""
    raw = copy.deepcopy(_raw())
    raw["questions"][4]["choices"][1]["code"] = "二"
    path = tmp_path / "codebook_r8.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    found = re.match(
        r"コードブック codebook_r8\.yaml (\d+)行目 questions\[4\]\.choices\[1\]: 「code: 二」は整数ではない",
        str(info.value),
    )
    assert found, str(info.value)
    line = path.read_text(encoding="utf-8").splitlines()[int(found.group(1)) - 1]
    assert "code: 二" in line


def test_a_new_codebook_file_is_enough(tmp_path):
    """Next year's questionnaire: a changed question and a new one, by editing the YAML only."""
    raw = copy.deepcopy(_raw())
    raw["survey"]["id"] = "r8"
    raw["questions"].append(
        {
            "id": "q9",
            "number": "2-(9)",
            "title": "新しい設問",
            "text": "新しい設問文",
            "type": "sa",
            "choices": [{"code": 1, "label": "はい"}, {"code": 2, "label": "いいえ"}],
        }
    )
    path = tmp_path / "codebook_r8.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cb = load_codebook(path)
    assert cb.item("q9").labels == ["はい", "いいえ"]


@pytest.mark.parametrize(
    "raw, key",
    [
        ("①　重要である ", "重要である"),
        ("（1）企業（上下水道）", "企業(上下水道)"),
        ("20代以下", "20代以下"),
        ("1. ある", "ある"),
        ("ＩＤ", "id"),
        ("問2. ない", "ない"),
        ("1,3", "1,3"),
    ],
)
def test_normalize_key(raw, key):
    assert normalize_key(raw) == key


def test_a_heading_without_a_number_is_the_label_alone():
    """Tables and charts title an item by its number and label; an own codebook may leave the number
    empty, and the title then starts with the label (no leading space in a sheet or a chart)."""
    from dataclasses import replace

    item = load_codebook().question("2-(1)")
    assert item.heading == f"2-(1) {item.label}"
    assert replace(item, number="").heading == item.label
