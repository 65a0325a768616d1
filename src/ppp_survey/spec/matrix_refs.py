"""A policy matrix's references to a codebook: the choices it names by label, resolved
to one codebook's codes (:class:`Binder`), and the lookups and checks
:func:`~ppp_survey.spec.matrix_file.check_codebook` shares with it. Labels are compared by the
loader's matching key (:func:`~ppp_survey.spec.matrix.choice_for_label`); a label the codebook's
question lacks is collected (:class:`Unresolved`), never guessed, so that every one is reported at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.matrix import Indicator, PolicyMatrix, choice_for_label
from ppp_survey.spec.matrix_models import check_adjusted, check_model, split_choice_key
from ppp_survey.spec.normalize import normalize_key
from ppp_survey.spec.schema import FileChecker, file_label

__all__ = [
    "FIX_LABELS",
    "Binder",
    "Unresolved",
    "attribute_of",
    "codebook_problems",
    "check_distinct",
    "check_findings",
    "check_indicator",
    "check_links",
    "question_of",
    "resolve_references",
    "unresolved_list",
    "unresolved_place",
]


def question_of(v: FileChecker, where: str, qid: str, codebook: Codebook) -> Item:
    found = [q for q in codebook.questions if q.id == qid]
    if not found:
        v.fail(
            where,
            f"「question: {qid}」はコードブック {file_label(codebook.path)} にない（設問のidは "
            f"{'、'.join(q.id for q in codebook.questions)}）。idを直す",
        )
    return found[0]


def attribute_of(v: FileChecker, where: str, aid: str | None, codebook: Codebook) -> Item:
    found = [a for a in codebook.attributes if a.id == aid]
    if not found:
        v.fail(
            where,
            f"属性「{aid}」はコードブック {file_label(codebook.path)} にない（属性のidは "
            f"{'、'.join(a.id for a in codebook.attributes)}）。idを直す",
        )
    return found[0]


@dataclass(frozen=True)
class Unresolved:
    """A choice the file names by a label the codebook's question does not have."""

    where: str  # the entry path of the reference, e.g. categories[0].situations[1].indicators[0].choices[0]
    label: str  # the label as written
    item: Item
    key: str = ""  # the indicator key it is part of, as written (``q3:choice:7``), if any

    @property
    def head(self) -> str:
        """The reference as written: ``「label」``, or ``「q3:choice:7」の「7」`` in a key."""
        return f"「{self.key}」の「{self.label}」" if self.key else f"「{self.label}」"

    def detail(self, heads: str | None = None, numbers: bool | None = None) -> str:
        """``「label」は設問…（id: q5）の選択肢にない（選択肢は「A」「B」…）``, with a hint for a number;
        ``heads`` (several references to the same question) in place of this one's."""
        number = normalize_key(self.label).isdigit() if numbers is None else numbers
        hint = "。番号ではなく選択肢のラベルを書く" if number else ""
        labels = "「" + "」「".join(self.item.labels) + "」"
        return f"{heads or self.head}は設問{self.item.display}（id: {self.item.id}）の選択肢にない（選択肢は {labels}{hint}）"


FIX_LABELS = (
    "選択肢はコードブックのラベル（または aliases）のとおりに書く（全角・半角・空白の違いは問わない。番号では書けない）"
)


class Binder:
    """Resolves a matrix's choice references (labels) against one codebook, collecting every one
    that does not resolve (each reported at once, not only the first)."""

    def __init__(self, codebook: Codebook) -> None:
        self.questions = {q.id: q for q in codebook.questions}
        self.unresolved: list[Unresolved] = []

    def code(self, qid: str, label: str, where: str, key: str = "") -> int | None:
        item = self.questions.get(qid)
        if item is None or not item.choices:
            return None  # an unknown or free-text question: the structural check names it
        found = choice_for_label(item, label)
        if found is None:
            self.unresolved.append(Unresolved(where, label, item, key))
            return None
        return found.code

    def key(self, key: str | None, where: str) -> str | None:
        """An indicator key as written (``q3:choice:ある``) → the codebook's (``q3:choice:1``)."""
        parts = split_choice_key(key) if key else None
        if parts is None:
            return key
        qid, kind, label = parts
        code = self.code(qid, label, where, str(key))
        return key if code is None else f"{qid}:{kind}:{code}"

    def indicator(self, ind: Indicator) -> Indicator:
        if ind.statistic == "adjusted":
            return replace(
                ind,
                response=self.key(ind.response, f"{ind.where}.response"),
                term=self.key(ind.term, f"{ind.where}.term"),
                controls=tuple(str(self.key(c, f"{ind.where}.controls[{k}]")) for k, c in enumerate(ind.controls)),
            )
        codes = [self.code(ind.question, c, f"{ind.where}.choices[{k}]") for k, c in enumerate(ind.choices)]
        return replace(ind, codes=tuple(c for c in codes if c is not None))

    def bind(self, matrix: PolicyMatrix) -> PolicyMatrix:
        situations = tuple(
            replace(s, indicators=tuple(self.indicator(ind) for ind in s.indicators)) for s in matrix.situation_list
        )
        links = tuple(
            replace(lk, code=self.code(lk.question, lk.choice, f"{lk.where}.choice")) for lk in matrix.option_links
        )
        model = None
        if matrix.model is not None:
            response, terms = matrix.model
            model = (
                str(self.key(response, "associations.response")),
                tuple(str(self.key(t, f"associations.terms[{k}]")) for k, t in enumerate(terms)),
            )
        return replace(matrix, situation_list=situations, option_links=links, model=model)


def resolve_references(matrix: PolicyMatrix, codebook: Codebook) -> tuple[PolicyMatrix, list[Unresolved]]:
    """The matrix as read (``matrix.written`` when it is bound already) with its references resolved
    against ``codebook``, and the references that did not resolve."""
    written = matrix.written or matrix
    binder = Binder(codebook)
    bound = binder.bind(written)
    return replace(bound, codebook=codebook, written=written), binder.unresolved


def unresolved_list(matrix: PolicyMatrix, unresolved: list[Unresolved]) -> str:
    """Every unresolved reference, grouped by question (its labels shown once), joined by 「；」."""
    groups: dict[str, list[Unresolved]] = {}
    for u in unresolved:
        groups.setdefault(u.item.id, []).append(u)
    return "；".join(
        refs[0].detail(
            "、".join(f"{unresolved_place(matrix, u)}: {u.head}" for u in refs),
            any(normalize_key(u.label).isdigit() for u in refs),
        )
        for refs in groups.values()
    )


def unresolved_place(matrix: PolicyMatrix, u: Unresolved) -> str:
    lines = dict(matrix.lines)
    line = lines.get(u.where) or lines.get(u.where.rsplit(".", 1)[0].split("[")[0])
    return (f"{line}行目 " if line else "") + u.where


def check_links(v: FileChecker, bound: PolicyMatrix, codebook: Codebook) -> None:
    """Option links name options of multi-select questions, each option once."""
    seen: dict[tuple[str, int | None], str] = {}
    for link in bound.option_links:
        item = question_of(v, link.where, link.question, codebook)
        if not item.is_multi:
            v.fail(
                link.where,
                f"「question: {link.question}」の設問{item.display}は{item.type_name}。"
                "選択肢のつながりには複数選択（type: ma）の設問を指定する",
            )
        if (link.question, link.code) in seen and link.code is not None:
            v.fail(
                link.where,
                f"「question: {link.question}」の「choice: {link.choice}」は {seen[(link.question, link.code)]} と"
                f"同じ選択肢「{item.choice(link.code).label}」を指している。1つにまとめる",
            )
        seen[(link.question, link.code)] = link.where


def check_distinct(v: FileChecker, where: str, whose: str, keys: tuple[str | None, ...]) -> None:
    """A model's variables, resolved, are distinct (two spellings of one label name one choice)."""
    twice = sorted({str(k) for k in keys if keys.count(k) > 1})
    if twice:
        v.fail(
            where,
            f"{whose} の response・term・controls（terms）に同じ選択肢を指すものが2回ある（{'、'.join(twice)}。"
            "ラベルと別名、または全角・半角の違いだけの書き方）。1回にする",
        )


def check_findings(v: FileChecker, bound: PolicyMatrix, codebook: Codebook) -> None:
    """Findings name questions that fit their kind (top options: multi-select) and attributes."""
    for f in bound.findings:
        item = question_of(v, f.where, f.question, codebook)
        if f.kind == "top_options" and not item.is_multi:
            v.fail(
                f.where,
                f"「kind: top_options」には複数選択（type: ma）の設問が要るが、「question: {f.question}」の"
                f"設問{item.display}は{item.type_name}。複数選択の設問を指定する",
            )
            # An option without an entry in option_links (e.g. one added in a later wave's
            # codebook) is not an error: the reverse view ranks it and says it is not linked.
        if f.kind != "top_options":
            attribute_of(v, f.where, f.by, codebook)


def check_indicator(v: FileChecker, ind: Indicator, written: Indicator, codebook: Codebook) -> None:
    """The structure of a bound indicator (``ind``) against the codebook; keys are checked as the
    file writes them (``written``), so that messages quote the file. The rules are
    :data:`INDICATOR_RULES`, in the order they are reported."""
    if ind.statistic == "adjusted":  # its keys name the questions (response, term, controls)
        check_adjusted(v, written, codebook)
        return
    item = question_of(v, ind.where, ind.question, codebook)
    for rule in INDICATOR_RULES:
        rule(v, ind, item, codebook)


def _not_free_text(v: FileChecker, ind: Indicator, item: Item, codebook: Codebook) -> None:
    if item.type == "text":
        v.fail(ind.where, f"設問{item.display}（id: {item.id}）は自由記述で、判定する数値がない。別の設問を指定する")


def _choices_once(v: FileChecker, ind: Indicator, item: Item, codebook: Codebook) -> None:
    if len(set(ind.codes)) != len(ind.codes):
        v.fail(
            f"{ind.where}.choices",
            f"「choices: [{'、'.join(ind.choices)}]」に設問{item.display}（id: {item.id}）の同じ選択肢が2回ある"
            "（ラベルと別名、または全角・半角の違いだけの書き方）。1回にする",
        )


def _scale_statistic(v: FileChecker, ind: Indicator, item: Item, codebook: Codebook) -> None:
    if ind.statistic in ("top2", "bottom2", "mean") and item.type != "likert":
        v.fail(
            ind.where,
            f"「statistic: {ind.statistic}」は尺度（type: likert）の設問にだけ使えるが、設問{item.display}"
            f"（id: {item.id}）は{item.type_name}。statistic を share などにする",
        )


def _association_fits(v: FileChecker, ind: Indicator, item: Item, codebook: Codebook) -> None:
    """An association names a known attribute, and one choice of a multi-select question (none else)."""
    if ind.statistic != "association":
        return
    attribute_of(v, ind.where, ind.by, codebook)
    if item.is_multi and len(ind.codes) != 1:
        v.fail(
            ind.where,
            f"設問{item.display}（id: {item.id}）は複数選択なので、{ind.by} と関連をみる選択肢を"
            "「choices: [<選択肢のラベル>]」のように1つ書く",
        )
    if not item.is_multi and ind.codes:
        v.fail(
            ind.where,
            f"設問{item.display}（id: {item.id}）は単一回答で、関連は表全体で検定する。choices を消す",
        )


def _in_every_known(v: FileChecker, ind: Indicator, item: Item, codebook: Codebook) -> None:
    if ind.in_every:
        attribute_of(v, ind.where, ind.in_every, codebook)


def _mean_in_scale(v: FileChecker, ind: Indicator, item: Item, codebook: Codebook) -> None:
    if ind.statistic != "mean":
        return
    scores = [c.score for c in item.choices if c.score is not None]
    if not min(scores) < ind.rule.threshold < max(scores):
        v.fail(
            ind.where,
            f"「rule: {ind.rule.text}」の基準が設問{item.display}（id: {item.id}）の尺度 "
            f"{min(scores):g}～{max(scores):g} の内側にない。尺度の範囲内の値にする",
        )


INDICATOR_RULES: tuple[Callable[[FileChecker, Indicator, Item, Codebook], None], ...] = (
    _not_free_text,
    _choices_once,
    _scale_statistic,
    _association_fits,
    _in_every_known,
    _mean_in_scale,
)
"""What a (not adjusted) indicator must fit in the codebook's question, in the order reported."""


def codebook_problems(v: FileChecker, bound: PolicyMatrix, written: PolicyMatrix, codebook: Codebook) -> list[str]:
    """Every problem of a bound matrix against ``codebook`` other than an unresolved label, in the
    file's order (indicators, the model, option links, findings), each entry checked on its own: a
    question left out of the questionnaire is named at every place the file refers to it. ``v``
    names the file in each message (:func:`~ppp_survey.spec.matrix_file.check_codebook` raises the
    first, ``check --matrix`` lists them all)."""
    found = _Problems(v.error)
    for s, w in zip(bound.situation_list, written.situation_list):
        for ind, wind in zip(s.indicators, w.indicators):
            if found.attempt(check_indicator, v, ind, wind, codebook) and ind.statistic == "adjusted":
                found.attempt(check_distinct, v, ind.where, f"指標 {ind.id}", (ind.response, ind.term, *ind.controls))
    if written.model is not None and bound.model is not None and found.attempt(check_model, v, written.model, codebook):
        found.attempt(check_distinct, v, "associations", "関連要因のモデル", (bound.model[0], *bound.model[1]))
    if not found.attempt(check_links, v, bound, codebook):  # the first problem, an option named twice included
        for link in bound.option_links:
            found.attempt(check_links, v, replace(bound, option_links=(link,)), codebook)
    for finding in bound.findings:
        found.attempt(check_findings, v, replace(bound, findings=(finding,)), codebook)
    return list(found)


class _Problems(list[str]):
    """The messages of the checks attempted, each once, in order."""

    def __init__(self, error: type[Exception]) -> None:
        super().__init__()
        self.error = error

    def attempt(self, check: Callable[..., None], *args: Any) -> bool:
        """Run ``check(*args)``; False (and its message kept) when it fails."""
        try:
            check(*args)
        except self.error as exc:
            if str(exc) not in self:
                self.append(str(exc))
            return False
        return True
