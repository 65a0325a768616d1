"""The association models of a policy matrix file, read and checked for
:mod:`ppp_survey.spec.matrix_file`: indicators of ``statistic: adjusted`` (an association with
control: the odds ratio of a 0/1 ``term`` for a ``response``, adjusted for ``controls``) and the
top-level ``associations`` entry (the model the report fits). Keys are indicator keys that name a
choice by its label (``q2:top2``, ``q3:choice:ある``, ``q5:opt:法務・財務・契約などの専門的なサポート体制が整っていない``;
never by its number) or attribute ids (``domain``); binding the matrix to a codebook
(:func:`~ppp_survey.spec.matrix_file.check_codebook`) turns them into the package's keys
(``q3:choice:1``, ``q5:opt:5``). Messages name the file, the line, the indicator (``s8.2``) and the
value, in one Japanese line.
"""

from __future__ import annotations

import re
from typing import Any

from ppp_survey.spec.codebook import Codebook
from ppp_survey.spec.matrix import FITS, Indicator, Rule
from ppp_survey.spec.schema import FileChecker, file_label

__all__ = ["check_adjusted", "check_model", "parse_adjusted", "parse_model", "split_choice_key"]

_OR_RULE = re.compile(r"^\s*OR\s*(<|>)\s*1\s*$", re.IGNORECASE)
_KEY = re.compile(r"^[A-Za-z_][\w]*:(top2|bottom2|(?:choice|opt):.*\S.*)$")
_KEY_FORMS = "「q2:top2」（肯定的回答）「q3:choice:ある」（選択肢をラベルで）「q5:opt:<選択肢のラベル>」（複数選択の選択肢）の形で書く"


def split_choice_key(key: str) -> tuple[str, str, str] | None:
    """``(question, kind, label)`` of a key naming a choice (``q3:choice:ある`` → ``("q3", "choice",
    "ある")``; the label may itself hold a colon), None for other keys (``q2:top2``, ``domain``)."""
    parts = key.split(":", 2)
    if len(parts) == 3 and parts[1] in ("choice", "opt"):
        return parts[0], parts[1], parts[2].strip()
    return None


_ADJUSTED_KEYS = {"question", "statistic", "response", "term", "controls", "rule", "fit", "note"}


def parse_adjusted(v: FileChecker, x: dict, where: str, ident: str, text: str) -> Indicator:
    """An association with control: ``response`` and ``term`` (indicator keys such as
    ``q2:top2``, ``q6:top2``, ``q3:choice:ある``), ``controls`` (attribute ids or keys), rule ``OR > 1``."""
    for key in ("by", "in_every", "choices"):
        if x.get(key):
            v.fail(
                where,
                f"指標 {ident} は「statistic: adjusted」なので {key} は書けない"
                f"（関連は response・term・controls で指定する）。{key} を消す",
            )
    unknown = sorted(map(str, set(x) - _ADJUSTED_KEYS))
    if unknown:  # a misspelt `controls` would otherwise leave the association unadjusted, silently
        v.fail(
            where,
            f"指標 {ident}（statistic: adjusted）に「{'」「'.join(unknown)}」は書けない"
            f"（書けるのは {'、'.join(sorted(_ADJUSTED_KEYS))}）。綴りを直すか消す",
        )
    mo = _OR_RULE.match(text)  # messages name the indicator (s8.2: 現状 s8's second) as well as the place
    if not mo:
        v.fail(
            where,
            f"指標 {ident} の「rule: {text}」は調整した関連（statistic: adjusted）の判定として読めない。"
            "「rule: OR > 1」か「rule: OR < 1」と書く",
        )
    whose = f"指標 {ident}"
    response = _key(v, where, whose, "response", v.required(x, "response", where))
    term = _key(v, where, whose, "term", v.required(x, "term", where))
    controls = _terms(v, where, whose, "controls", x.get("controls") or [], response)
    if term in controls:
        v.fail(where, f"指標 {ident} の「controls」に term と同じ「{term}」がある。controls から消す")
    question = str(x.get("question") or response.split(":")[0])
    if question != response.split(":")[0]:
        v.fail(
            where,
            f"指標 {ident} の「question: {question}」と「response: {response}」の設問が違う。"
            f"question を {response.split(':')[0]} にする（または消す）",
        )
    fit = str(x.get("fit", "direct"))
    if fit not in FITS:
        v.fail(where, f"「fit: {fit}」は使えない。{'、'.join(FITS)} のいずれかを書く")
    op = mo.group(1)
    return Indicator(
        id=ident,
        question=question,
        statistic="adjusted",
        rule=Rule(op=op, threshold=1.0, text=f"OR {op} 1"),
        fit=fit,
        note=str(x.get("note", "")).strip(),
        where=where,
        response=response,
        term=term,
        controls=controls,
    )


def _key(v: FileChecker, where: str, whose: str, field: str, raw: Any) -> str:
    """An indicator key (``q2:top2``, ``q3:choice:ある``, ``q5:opt:<label>``) as written, or a message."""
    key = str(raw).strip()
    if not _KEY.match(key):
        v.fail(where, f"{whose} の「{field}: {raw}」は指標のキーとして読めない。{_KEY_FORMS}")
    return key


def _terms(v: FileChecker, where: str, whose: str, field: str, raw: Any, response: str) -> tuple[str, ...]:
    """A model's explanatory terms: attribute ids or indicator keys, each once, not the response."""
    terms = tuple(str(t).strip() for t in v.sequence(raw, f"{where}.{field}"))
    for t in terms:
        if ":" in t:
            _key(v, where, whose, field, t)
        elif not re.match(r"^[A-Za-z_]\w*$", t):
            v.fail(
                where,
                f"{whose} の「{field}」の「{t}」は属性のidでも指標のキーでもない。"
                "「domain」「position」のような属性のidか「q3:choice:ある」のようなキーを書く",
            )
    if response in terms:
        v.fail(where, f"{whose} の「{field}」に目的変数（response）と同じ「{response}」がある。{field} から消す")
    twice = sorted({t for t in terms if terms.count(t) > 1})
    if twice:
        v.fail(where, f"{whose} の「{field}」に同じものが2回ある（{'、'.join(twice)}）。1回にする")
    return terms


def parse_model(v: FileChecker, raw: Any) -> tuple[str, tuple[str, ...]] | None:
    """The top-level ``associations: {response: "q2:top2", terms: [...]}``: the association model
    the report fits; None when the file has none."""
    if raw is None:
        return None
    where = "associations"
    m = v.mapping(raw, where)
    unknown = sorted(set(m) - {"response", "terms"})
    if unknown:
        v.fail(where, f"「{'」「'.join(map(str, unknown))}」は書けない（書けるのは response と terms）。消す")
    response = _key(v, where, "関連要因のモデル", "response", v.required(m, "response", where))
    terms = _terms(v, where, "関連要因のモデル", "terms", v.required(m, "terms", where), response)
    if not terms:
        v.fail(where, "関連要因のモデル の「terms」が空。説明変数（属性のidか指標のキー）を1つ以上書く")
    return response, terms


def check_adjusted(v: FileChecker, ind: Indicator, codebook: Codebook) -> None:
    """The keys of an adjusted association (as the file writes them) fit the codebook: attributes exist,
    top2/bottom2 on a likert question, opt on a multi-select one (the labels are resolved by
    :func:`~ppp_survey.spec.matrix_file.check_codebook`)."""
    whose = f"指標 {ind.id}"
    _check_key(v, ind.where, whose, "response", ind.response or "", codebook, response=True)
    _check_key(v, ind.where, whose, "term", ind.term or "", codebook)
    for c in ind.controls:
        _check_key(v, ind.where, whose, "controls", c, codebook)


def _check_key(
    v: FileChecker, where: str, whose: str, field: str, key: str, codebook: Codebook, *, response: bool = False
) -> None:
    """An attribute id or an indicator key of a model, checked against the codebook."""
    if ":" not in key:
        if response or not any(a.id == key for a in codebook.attributes):
            known = "、".join(a.id for a in codebook.attributes)
            v.fail(
                where,
                f"{whose} の「{field}: {key}」はコードブック {file_label(codebook.path)} の属性のidではない"
                f"（属性のidは {known}）。idを直すか「q3:choice:ある」のような指標のキーにする"
                if not response
                else f"{whose} の「{field}: {key}」は指標のキーではない。「q2:top2」のように書く",
            )
        return
    qid, kind, *label = key.split(":", 2)
    found = [q for q in codebook.questions if q.id == qid]
    if not found:
        v.fail(
            where,
            f"{whose} の「{field}: {key}」の設問「{qid}」はコードブック {file_label(codebook.path)} にない"
            f"（設問のidは {'、'.join(q.id for q in codebook.questions)}）。idを直す",
        )
    item = found[0]
    if kind in ("top2", "bottom2") and item.type != "likert":
        v.fail(
            where,
            f"{whose} の「{field}: {key}」: {kind} は尺度（type: likert）の設問にだけ使えるが、設問{item.display}"
            f"（id: {item.id}）は{item.type_name}。「{qid}:choice:<選択肢のラベル>」のように選択肢を指定する",
        )
    if kind == "opt" and not item.is_multi:
        v.fail(
            where,
            f"{whose} の「{field}: {key}」: opt は複数選択の設問の選択肢に使うが、設問{item.display}"
            f"（id: {item.id}）は{item.type_name}。「{qid}:choice:{label[0]}」と書く",
        )
    if kind == "choice" and item.is_multi:
        v.fail(
            where,
            f"{whose} の「{field}: {key}」: 設問{item.display}（id: {item.id}）は複数選択。「{qid}:opt:{label[0]}」と書く",
        )
    if item.type == "text":
        v.fail(
            where, f"{whose} の「{field}: {key}」: 設問{item.display}（id: {item.id}）は自由記述。別の設問を指定する"
        )


def check_model(v: FileChecker, model: tuple[str, tuple[str, ...]], codebook: Codebook) -> None:
    """The top-level ``associations`` model's keys exist in the codebook."""
    response, terms = model
    _check_key(v, "associations", "関連要因のモデル", "response", response, codebook, response=True)
    for t in terms:
        _check_key(v, "associations", "関連要因のモデル", "terms", t, codebook)
