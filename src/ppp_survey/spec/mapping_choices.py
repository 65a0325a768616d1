"""Choices across two waves, for :mod:`ppp_survey.spec.mapping`: the choices a mapping file names
(by label, never by number), how a question's choices pair across the waves (:func:`map_choices`:
the declared entries, then the same labels; every other difference a problem to declare) and
whether a Likert scale stayed the same.

:func:`check_mapping_labels` runs before the mapping's structural checks
(:mod:`ppp_survey.spec.mapping`): every ``from``/``to``/``choice`` of ``questions[].choices[]`` must be
a label (or alias) of its wave's question, matched by the loader's key
(:func:`~ppp_survey.spec.matrix.choice_for_label`); a number is refused, and the labels that resolve
nowhere are listed together in one line (place, value, the question's labels).
"""

from __future__ import annotations

from dataclasses import dataclass

from ppp_survey.spec.codebook import Choice, Item
from ppp_survey.spec.matrix import choice_for_label, is_number
from ppp_survey.spec.matrix_refs import Unresolved
from ppp_survey.spec.normalize import normalize_key
from ppp_survey.spec.schema import Entry, Field, FileChecker, read_entry

__all__ = ["NUMBER", "ChoiceMap", "WaveChecker", "check_mapping_labels", "map_choices", "same_scale"]


@dataclass(frozen=True)
class ChoiceMap:
    """One choice across waves: ``old``/``new`` codes (``None`` when only one wave has it)."""

    old: int | None
    new: int | None
    status: str = "same"  # same | added | removed
    note: str = ""

    def codes(self) -> tuple[int, int]:
        """``(old, new)`` codes of a choice in both waves (status ``same``)."""
        if self.old is None or self.new is None:
            raise ValueError(f"choice {self.old}→{self.new} is {self.status}: it is not in both waves")
        return self.old, self.new


class WaveChecker(FileChecker):
    """A checker of a file between two waves; ``old``/``new`` are their names in messages (R7, R8)."""

    def __init__(self, name: str, old: str, new: str, lines: dict[str, int] | None = None) -> None:
        super().__init__(name, lines)
        self.old, self.new = old, new


NUMBER = "選択肢を番号で指している。番号は調査票ごとに変わり別の回答を指しうるので使えない。選択肢のラベルを書く"


def check_mapping_labels(
    v: FileChecker, entries: list, olds: dict[str, Item], news: dict[str, Item], waves: tuple[str, str]
) -> None:
    """Check every choice reference of a mapping's ``questions`` entries against the two waves'
    questions (``olds``/``news`` by id; ``waves`` their names, e.g. ``("R7", "R8")``); entries whose
    shape or question is wrong are left to the structural checks."""
    missing: list[str] = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("choices"), list):
            continue
        o, n = (e.get("id"), e.get("id")) if "id" in e else (e.get("from"), e.get("to"))
        old, new = olds.get(str(o)), news.get(str(n))
        sides = {"from": [(old, waves[0])], "to": [(new, waves[1])], "choice": [(old, waves[0]), (new, waves[1])]}
        for j, c in enumerate(e["choices"]):
            if isinstance(c, dict):
                missing += _unresolved(v, f"questions[{i}].choices[{j}]", c, sides)
    if missing:
        v.fail(
            "",
            f"選択肢の参照{len(missing)}件がコードブックの選択肢にない: {'；'.join(missing)}。選択肢は各回の"
            "コードブックのラベル（または aliases）のとおりに書く（全角・半角・空白の違いは問わない。番号では書けない）",
        )


def _unresolved(v: FileChecker, where: str, c: dict, sides: dict) -> list[str]:
    """One ``choices[]`` entry: a number is refused at once; the labels no choice has, as text."""
    if "code" in c:
        v.fail(f"{where}.code", f"「code: {c['code']}」は{NUMBER}（from・to・choice に書く）")
    missing = []
    for key, items in sides.items():
        w, ref = f"{where}.{key}", c.get(key)
        if is_number(ref):
            v.fail(w, f"「{key}: {ref}」は{NUMBER}（数字だけのラベルなら引用符で囲む）")
        for item, wave in items:
            if ref is not None and item is not None and choice_for_label(item, ref) is None:
                line = v.lines.get(w) or v.lines.get(where)
                missing.append(f"{f'{line}行目 ' if line else ''}{w}: {wave}の{Unresolved(w, str(ref), item).detail()}")
    return missing


def same_scale(qo: Item, qn: Item, choices: tuple[ChoiceMap, ...]) -> bool:
    """The top-2 box compares only when the scored choices map one to one with equal scores."""
    scored_o = {c.code for c in qo.choices if c.score is not None}
    scored_n = {c.code for c in qn.choices if c.score is not None}
    pairs = [c.codes() for c in choices if c.status == "same" and c.old in scored_o]
    return (
        len(pairs) == len(scored_o) == len(scored_n)
        and {n for _, n in pairs} == scored_n
        and all(qo.choice(o).score == qn.choice(n).score for o, n in pairs)
    )


# The shape of an entry of a question's ``choices``, declared once (read by schema.read_entry).
CHOICE = (Field("status", default="same", allowed=("same", "added", "removed")), Field("note"), Field("changed"))


def map_choices(
    v: WaveChecker, place: str, name: str, e: dict, qo: Item, qn: Item, problems: list[str], caveats: list[str]
) -> tuple[ChoiceMap, ...]:
    """A question's choices across waves, named by label: the declared entries, then each old choice
    paired with the new one of the same label (labels already resolve: :func:`check_mapping_labels`);
    differences not declared are added to ``problems``, declared ones to ``caveats``."""
    used: tuple[dict[int, str], dict[int, str]] = ({}, {})
    pairs = [
        _declared_choice(v, read_entry(v, raw, f"{place}.choices[{j}]", CHOICE), name, qo, qn, used)
        for j, raw in enumerate(v.sequence(e.get("choices", []) or [], f"{place}.choices"))
    ]
    pairs += _same_label_choices(v, qo, qn, used, problems)
    return tuple(_judge_choice(v, place, name, cm, changed, qo, qn, problems, caveats) for cm, changed in pairs)


def _declared_choice(
    v: WaveChecker, c: Entry, name: str, qo: Item, qn: Item, used: tuple[dict[int, str], dict[int, str]]
) -> tuple[ChoiceMap, str]:
    """One entry of a question's ``choices``: its codes in both waves (each choice mapped once)."""
    status, w = c["status"], c.where
    found = []
    for key, item, used_codes, wave, skip in (
        ("from", qo, used[0], v.old, "added"),
        ("to", qn, used[1], v.new, "removed"),
    ):
        ref = None if status == skip else c.raw.get(key, c.raw.get("choice"))
        hit = None if ref is None else choice_for_label(item, ref)
        if hit is not None and hit.code in used_codes:
            v.fail(
                w,
                f"{name}の{wave}の選択肢「{hit.label}」を2回対応づけている（もう1つは {used_codes[hit.code]}）。1回にする",
            )
        if hit is not None:
            used_codes[hit.code] = w
        found.append(None if hit is None else hit.code)
    o, n = found
    if status == "same" and (o is None or n is None):
        v.fail(
            w,
            f"{name}の選択肢に from と to（または choice）が要る（片方にしかないなら status: added か removed と書く）",
        )
    return ChoiceMap(old=o, new=n, status=status, note=c["note"]), c["changed"]


def _same_label_choices(
    v: WaveChecker, qo: Item, qn: Item, used: tuple[dict[int, str], dict[int, str]], problems: list[str]
) -> list[tuple[ChoiceMap, str]]:
    """Choices the file does not list, paired by label; each left unpaired is a problem."""
    used_o, used_n = used
    new_by_label = {normalize_key(c.label): c for c in qn.choices}
    left_o = [co for co in qo.choices if co.code not in used_o]
    pairs = []
    for co in left_o:
        twin = new_by_label.get(normalize_key(co.label))
        if twin is not None and twin.code not in used_n:
            pairs.append((ChoiceMap(old=co.code, new=twin.code), ""))
            used_o[co.code] = used_n[twin.code] = "(same label)"
    left_n = {cn.code: cn for cn in qn.choices if cn.code not in used_n}
    for co in (co for co in left_o if co.code not in used_o):
        cn = left_n.pop(co.code, None)  # at the same place: perhaps the same choice, relabelled
        problems.append(
            f"{v.old}の選択肢 {co.code}「{co.label}」が{v.new}にない（{{from: {co.label}, status: removed}} と書く）"
            if cn is None
            else f"選択肢 {co.code}→{cn.code} のラベルが {v.old}「{co.label}」→ {v.new}「{cn.label}」"
            f"（同じ選択肢なら {{from: {co.label}, to: {cn.label}, changed: <理由>}}、別の選択肢なら"
            f" {{from: {co.label}, status: removed}} と {{to: {cn.label}, status: added}} と書く）"
        )
    for cn in left_n.values():
        problems.append(
            f"選択肢 {cn.code}「{cn.label}」が{v.new}で新しい"
            f"（{{to: {cn.label}, status: added}} か {{from: <{v.old}のラベル>, to: {cn.label}, changed: <理由>}} と書く）"
        )
    return pairs


def _judge_choice(
    v: WaveChecker,
    place: str,
    name: str,
    cm: ChoiceMap,
    changed: str,
    qo: Item,
    qn: Item,
    problems: list[str],
    caveats: list[str],
) -> ChoiceMap:
    """A choice pair: added or removed (a caveat), or the same choice, whose changes the file must declare."""
    if cm.status == "added":
        if cm.new is None:
            v.fail(place, f"{name}の「status: added」の選択肢に to（または choice）がない。新しい選択肢のラベルを書く")
        caveats.append(f"{v.new}で選択肢「{_by_code(qn)[cm.new].label}」を追加")
    elif cm.status == "removed":
        if cm.old is None:
            v.fail(place, f"{name}の「status: removed」の選択肢に from がない。前の調査の選択肢のラベルを書く")
        caveats.append(f"{v.new}で選択肢「{_by_code(qo)[cm.old].label}」を削除")
    else:
        code_o, code_n = cm.codes()
        co, cn = _by_code(qo)[code_o], _by_code(qn)[code_n]
        diffs = _choice_diffs(v, co, cn)
        if diffs and not changed:
            problems.append(
                f"選択肢「{cn.label}」の"
                + "・".join(diffs)
                + f"（{{from: {co.label}, to: {cn.label}, changed: <理由>}} と書く）"
            )
        elif diffs:
            caveats.append(f"選択肢「{cn.label}」変更: {changed}")
    return cm


def _choice_diffs(v: WaveChecker, co: Choice, cn: Choice) -> list[str]:
    diffs = []
    if normalize_key(co.label) != normalize_key(cn.label):
        diffs.append(f"ラベル {v.old}「{co.label}」→ {v.new}「{cn.label}」")
    if co.score != cn.score:
        diffs.append(f"score {co.score} → {cn.score}")
    if (co.exclusive, co.other) != (cn.exclusive, cn.other):
        diffs.append("exclusive/other の指定")
    return diffs


def _by_code(item: Item) -> dict[int, Choice]:
    return {c.code: c for c in item.choices}
