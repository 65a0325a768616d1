"""Choices across two waves, for :mod:`ppp_survey.spec.mapping`: the choices a mapping file names
(by label, never by number) and whether a Likert scale stayed the same.

:func:`check_mapping_labels` runs before the mapping's structural checks
(:mod:`ppp_survey.spec.mapping`): every ``from``/``to``/``choice`` of ``questions[].choices[]`` must be
a label (or alias) of its wave's question, matched by the loader's key
(:func:`~ppp_survey.spec.matrix.choice_for_label`); a number is refused, and the labels that resolve
nowhere are listed together in one line (place, value, the question's labels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ppp_survey.spec.codebook import Item
from ppp_survey.spec.matrix import choice_for_label, is_number
from ppp_survey.spec.matrix_refs import Unresolved
from ppp_survey.spec.schema import FileChecker

if TYPE_CHECKING:
    from ppp_survey.spec.mapping import ChoiceMap

__all__ = ["NUMBER", "check_mapping_labels", "same_scale"]

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
