"""The declared schema of the YAML data files (spec.schema): one generic checker, :func:`read_entry`,
reads an entry by its declaration (a tuple of Field and rules) and writes every message with the
file, the line and the key path."""

import pytest

from ppp_survey.errors import MatrixError
from ppp_survey.spec.schema import Field, FileChecker, read_entry, yaml_lines


class _Checker(FileChecker):
    error = MatrixError
    kind = "政策マトリクス"


GOAL = (Field("id", required=True), Field("text", required=True), Field("note"))


def _fails(raw, steps, where="goals[0]", lines=None):
    with pytest.raises(MatrixError) as exc:
        read_entry(_Checker("m.yaml", lines), raw, where, steps)
    return str(exc.value)


def test_an_entry_is_read_by_its_declaration():
    e = read_entry(_Checker("m.yaml"), {"id": "g1", "text": "t"}, "goals[0]", GOAL)
    assert dict(e) == {"id": "g1", "text": "t", "note": ""}
    assert e.where == "goals[0]"
    assert e.raw == {"id": "g1", "text": "t"}


def test_messages_name_file_line_and_path():
    text = "goals:\n  - id: g1\n    note: x\n"
    message = _fails({"id": "g1", "note": "x"}, GOAL, lines=yaml_lines(text))
    assert message == "政策マトリクス m.yaml 2行目 goals[0]: 「text」がない。「text: …」を書く"


def test_the_first_problem_in_declared_order_is_reported():
    assert "「id」がない" in _fails({}, GOAL)
    assert _fails("g1", GOAL) == (
        "政策マトリクス m.yaml goals[0]: キーと値の組（key: value）のはずが文字列になっている。字下げと「:」の位置を確かめる"
    )


def test_kinds_allowed_values_and_counts():
    steps = (
        Field("kind", required=True, allowed=("a", "b")),
        Field("top", "count", default=3, hint="整数で書く"),
        Field("ids", "ids", required=True),
    )
    assert _fails({"kind": "c"}, steps).endswith("「kind: c」は使えない。a、b のいずれかを書く")
    assert _fails({"kind": "a", "top": 0}, steps).endswith("「top: 0」は1以上の整数ではない。整数で書く")
    assert _fails({"kind": "a", "top": True}, steps).endswith("「top: True」は1以上の整数ではない。整数で書く")
    assert _fails({"kind": "a", "ids": []}, steps).endswith("goals[0]: 「ids」が空。idを1つ以上書く")
    assert "goals[0].ids: リスト" in _fails({"kind": "a", "ids": "x"}, steps)
    e = read_entry(_Checker("m.yaml"), {"kind": "b", "ids": [1, "x"]}, "goals[0]", steps)
    assert (e["top"], e["ids"]) == (3, ("1", "x"))


def test_a_count_at_its_key_quotes_the_value():
    steps = (Field("min_base", "count", default=30, at_key=True, hint="整数で書く"),)
    assert _fails({"min_base": -1}, steps, where="defaults") == (
        "政策マトリクス m.yaml defaults.min_base: 「-1」は1以上の整数ではない。整数で書く"
    )


def test_rules_run_among_the_fields_in_order():
    seen = []

    def rule(v, e):
        seen.append(dict(e))
        if e["id"] == "bad":
            v.fail(e.where, "悪いid")

    steps = (Field("id", required=True), rule, Field("text", required=True))
    assert _fails({"id": "bad"}, steps).endswith("goals[0]: 悪いid")
    assert seen == [{"id": "bad"}]


def test_optional_texts_and_notes():
    steps = (Field("by", "optional"), Field("note", "note"), Field("from", "texts"), Field("to", "texts"))
    e = read_entry(_Checker("m.yaml"), {"by": "", "note": "  n  ", "from": ["a", 1], "to": "b"}, "x", steps)
    assert dict(e) == {"by": None, "note": "n", "from": ["a", "1"], "to": ["b"]}
