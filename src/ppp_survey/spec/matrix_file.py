"""Reading a policy matrix file: :func:`load_matrix` and :func:`parse_matrix` validate the YAML
against the schema (documented in :mod:`ppp_survey.spec.matrix`) and the codebook, and name the
place of every problem; the result is the model of :mod:`ppp_survey.spec.matrix`.

The shape of each entry is declared once, as :class:`~ppp_survey.spec.schema.Field` tuples
(:data:`CATEGORY`, :data:`SITUATION`, :data:`INDICATOR`, :data:`GOAL`, :data:`INITIATIVE`,
:data:`OPTION_LINK`, :data:`FINDING`), read by :func:`~ppp_survey.spec.schema.read_entry`; the rules
placed among the fields, and the checks between entries after them, are the file's semantics.
"""

from __future__ import annotations

import dataclasses
import re
from importlib import resources
from pathlib import Path
from typing import Any

from ppp_survey.errors import MatrixError, PppSurveyError
from ppp_survey.spec.codebook import Codebook
from ppp_survey.spec.matrix import (
    BASES,
    DEFAULT_MATRIX,
    FINDING_KINDS,
    FITS,
    SCHEMA_VERSION,
    STATISTICS,
    Category,
    Finding,
    Goal,
    Indicator,
    Initiative,
    OptionLink,
    PolicyMatrix,
    Rule,
    Situation,
    is_number,
)
from ppp_survey.spec.matrix_models import parse_adjusted, parse_model
from ppp_survey.spec.matrix_refs import (
    FIX_LABELS,
    Unresolved,
    codebook_problems,
    resolve_references,
    unresolved_list,
    unresolved_place,
)
from ppp_survey.spec.normalize import normalize_key
from ppp_survey.spec.resources import resolve_codebook
from ppp_survey.spec.schema import (
    Entry,
    EntryRule,
    Field,
    FileChecker,
    file_label,
    read_entry,
    read_more,
    read_yaml,
    yaml_kind,
    yaml_lines,
)

__all__ = ["Unresolved", "check_codebook", "check_matrix_references", "load_matrix", "parse_matrix"]


def load_matrix(path: str | Path | None = None, codebook: Codebook | None = None) -> PolicyMatrix:
    """Read and validate a policy matrix file.

    Parameters
    ----------
    path
        A matrix YAML file; ``None`` loads the packaged ``policy_matrix_r7.yaml``.
    codebook
        When given, the matrix is bound to it (:func:`check_codebook`): question ids checked, the
        choices it names by label resolved to the codebook's codes; without, the labels as written.

    Raises
    ------
    MatrixError
        When the file is missing, is not YAML, breaks the schema (a choice named by number), or
        (with ``codebook``) names a question or label the codebook lacks; the message names the
        place, e.g. ``initiatives[3].goals[1]: 具体像「g11」はこのファイルにない``.

    Examples
    --------
    >>> from ppp_survey.spec.matrix_file import load_matrix
    >>> m = load_matrix()
    >>> len(m.categories), len(m.situations()), len(m.goals()), len(m.initiatives())
    (4, 14, 10, 15)
    """
    if path is None:
        name = f"{DEFAULT_MATRIX}（同梱）"
        text = (resources.files("ppp_survey") / "data" / DEFAULT_MATRIX).read_text(encoding="utf-8")
    else:
        p = Path(path)
        if not p.is_file():
            raise MatrixError(
                f"政策マトリクス {p.name}: ファイルが見つからない（{p}）。--matrix に既存のYAMLファイルを指定する"
            )
        name, text = str(p), p.read_text(encoding="utf-8-sig")
    raw = read_yaml(text, kind="政策マトリクス", name=name, error=MatrixError)
    return parse_matrix(raw, name=name, codebook=codebook, lines=yaml_lines(text))


def parse_matrix(
    raw: Any, *, name: str = "<matrix>", codebook: Codebook | None = None, lines: dict[str, int] | None = None
) -> PolicyMatrix:
    """Validate an already-parsed matrix mapping (see :func:`load_matrix`); ``lines`` (key path →
    line, :func:`~ppp_survey.spec.schema.yaml_lines`) lets messages name the line."""
    v = _Validator(name, lines)
    m = v.mapping(raw, "")
    _schema_version(v, m)
    min_base = read_entry(v, m.get("defaults") or {}, "defaults", DEFAULTS)["min_base"]
    categories, situations = _categories(v, m)
    goals = [Goal(**_pick(e, Goal)) for e in _entries(v, m, "goals", GOAL)]
    initiatives = [Initiative(**_pick(e, Initiative)) for e in _entries(v, m, "initiatives", INITIATIVE)]
    _check_plan(v, m, situations, goals, initiatives)
    known = {"situations": [s.id for s in situations], "initiatives": [x.id for x in initiatives]}
    seen_links: dict[tuple, str] = {}
    links = [
        _check_link(v, OptionLink(**_pick(e, OptionLink), where=e.where), seen_links, known)
        for e in _entries(v, m, "option_links", OPTION_LINK)
    ]
    findings = [
        _check_finding(v, Finding(**_pick(e, Finding), where=e.where), known)
        for e in _entries(v, m, "findings", FINDING)
    ]
    matrix = PolicyMatrix(
        title=str(m.get("title", "")),
        source=str(m.get("source", "")),
        categories=tuple(categories),
        situation_list=tuple(situations),
        goal_list=tuple(goals),
        initiative_list=tuple(initiatives),
        option_links=tuple(links),
        findings=tuple(findings),
        codebook_name=str(m.get("codebook", "")),
        min_base=int(min_base),
        model=parse_model(v, m.get("associations")),
        path=name,
        lines=tuple((lines or {}).items()),
    )
    return matrix if codebook is None else check_codebook(matrix, codebook)


# The shape of each entry of a matrix file, declared once (read by schema.read_entry); the rules
# among the fields are the entry's semantic checks, in the order they are reported.


def _unique_id(v: _Validator, e: Entry) -> None:
    """Every id of the file (categories, situations, goals, initiatives, findings) is used once."""
    if e["id"] in v.ids:
        v.fail(e.where, f"「id: {e['id']}」は {v.ids[e['id']]} でも使われている。別のidにする")
    v.ids[e["id"]] = e.where


def _some_indicators(v: _Validator, e: Entry) -> None:
    if not e["indicators"]:
        v.fail(e.where, f"現状「id: {e['id']}」の indicators が空。判定に使う指標を1つ以上書く")


def _no_number(key: str, write: str) -> EntryRule:
    """A rule: the entry names choices by label, so a ``code``/``codes`` key (a number) is refused."""

    def rule(v: _Validator, e: Entry) -> None:
        if key in e.raw:
            v.fail(
                f"{e.where}.{key}",
                f"「{key}: {e.raw[key]}」は選択肢を番号で指している。番号は調査票ごとに変わり別の回答を指しうるので"
                f"使えない。{key} を消し、選択肢のラベルを「{write}」と書く",
            )

    return rule


def _link_choice(v: _Validator, e: Entry) -> None:
    e["choice"] = _choice_ref(v, v.required(e.raw, "choice", e.where), f"{e.where}.choice")


def _finding_by(v: _Validator, e: Entry) -> None:
    e["by"] = str(v.required(e.raw, "by", e.where)) if e["kind"] == "association" else None


_ID = (Field("id", required=True), _unique_id)
DEFAULTS = (
    Field(
        "min_base",
        "count",
        default=PolicyMatrix.min_base,
        at_key=True,
        hint="最小の回答者数を整数で書く（例: min_base: 30）",
    ),
)
CATEGORY = (*_ID, Field("label", required=True), Field("short"), Field("situations", "list", required=True))
SITUATION = (
    *_ID,
    Field("basis", default="layout", allowed=BASES),
    Field("indicators", "list", required=True),
    _some_indicators,
    Field("text", required=True),
    Field("goals", "ids", required=True),
    Field("note", "note"),
)
GOAL = (*_ID, Field("text", required=True), Field("note"))
INITIATIVE = (*_ID, Field("text", required=True), Field("goals", "ids", required=True))
OPTION_LINK = (
    _no_number("code", "choice: <コードブックの選択肢のラベル>"),
    _link_choice,
    Field("question", required=True),
    Field("situations", "ids"),
    Field("initiatives", "ids"),
    Field("note"),
)
FINDING = (
    Field("kind", required=True, allowed=FINDING_KINDS),
    Field("top", "count", default=3, hint="上位いくつを示すかを整数で書く（例: top: 3）"),
    *_ID,
    Field("title", required=True),
    Field("question", required=True),
    _finding_by,
    Field("situations", "ids"),
    Field("initiatives", "ids"),
)


def _entries(v: _Validator, m: dict, key: str, steps: tuple) -> list[Entry]:
    """The entries of a top-level list (required: categories, goals, initiatives), each read."""
    items = v.field(m, Field(key, "list", required=key in ("categories", "goals", "initiatives")), "")
    return [read_entry(v, x, f"{key}[{i}]", steps) for i, x in enumerate(items)]


def _pick(e: Entry, cls: type) -> dict[str, Any]:
    """The values of ``e`` that are fields of the dataclass ``cls`` (``where`` aside)."""
    names = {f.name for f in dataclasses.fields(cls)} - {"where"}
    return {k: e[k] for k in e if k in names}


def _schema_version(v: _Validator, m: dict) -> None:
    if m.get("schema_version") != SCHEMA_VERSION:
        v.fail(
            "schema_version",
            f"「{m.get('schema_version')}」はこのパッケージが読める版ではない。"
            f"先頭に「schema_version: {SCHEMA_VERSION}」と書く",
        )


def _categories(v: _Validator, m: dict) -> tuple[list[Category], list[Situation]]:
    categories, situations = [], []
    for c in _entries(v, m, "categories", CATEGORY):
        categories.append(Category(id=c["id"], label=c["label"], short=c["short"]))
        for j, s in enumerate(c["situations"]):
            situations.append(_parse_situation(v, s, f"{c.where}.situations[{j}]", c["id"]))
    return categories, situations


def _parse_situation(v: _Validator, raw: Any, where: str, category: str) -> Situation:
    s = read_entry(v, raw, where, SITUATION)
    indicators = tuple(
        _parse_indicator(v, x, f"{where}.indicators[{k}]", f"{s['id']}.{k + 1}") for k, x in enumerate(s["indicators"])
    )
    return Situation(**{**_pick(s, Situation), "category": category, "indicators": indicators})


def _check_plan(
    v: _Validator, m: dict, situations: list[Situation], goals: list[Goal], initiatives: list[Initiative]
) -> None:
    """References between situations, goals and initiatives; each goal has both; no initiative twice."""
    goal_ids = [g.id for g in goals]
    texts: dict[str, str] = {}
    for i, x in enumerate(initiatives):
        _refs(v, f"initiatives[{i}]", "goals", x.goals, goal_ids, "具体像")
        if x.text in texts:
            v.fail(
                f"initiatives[{i}]",
                f"取組「{x.text}」が2回ある（もう1つは id: {texts[x.text]}）。"
                "再掲は同じ取組の goals に具体像を加えて表し、2つ目の項目は消す",
            )
        texts[x.text] = x.id
    for s, where in zip(situations, _situation_places(m)):
        _refs(v, where, "goals", s.goals, goal_ids, "具体像")
    for i, g in enumerate(goals):
        if not any(g.id in s.goals for s in situations):
            v.fail(
                f"goals[{i}]",
                f"具体像「id: {g.id}」に対応する現状がない（どの現状の goals にもない）。現状の goals に加えるか、この具体像を消す",
            )
        if not any(g.id in x.goals for x in initiatives):
            v.fail(
                f"goals[{i}]",
                f"具体像「id: {g.id}」に対応する取組がない（どの取組の goals にもない）。取組の goals に加えるか、この具体像を消す",
            )


def _check_link(v: _Validator, link: OptionLink, seen: dict[tuple, str], known: dict[str, list[str]]) -> OptionLink:
    if not (link.situations or link.initiatives):
        v.fail(link.where, "選択肢のつながりに situations も initiatives もない。どちらかに現状か取組のidを書く")
    key = (link.question, normalize_key(link.choice))
    if key in seen:
        v.fail(
            link.where,
            f"「question: {link.question}」の「choice: {link.choice}」が2回ある（もう1つは "
            f"{seen[key]}）。1つにまとめる",
        )
    seen[key] = link.where
    _targets(v, link.where, link.situations, link.initiatives, known)
    return link


def _check_finding(v: _Validator, finding: Finding, known: dict[str, list[str]]) -> Finding:
    if finding.kind == "association" and not (finding.situations or finding.initiatives):
        v.fail(
            finding.where,
            "「kind: association」の所見に situations も initiatives もない。どちらかに現状か取組のidを書く",
        )
    _targets(v, finding.where, finding.situations, finding.initiatives, known)
    return finding


def _targets(v: _Validator, where: str, situations: tuple, initiatives: tuple, known: dict[str, list[str]]) -> None:
    _refs(v, where, "situations", situations, known["situations"], "現状")
    _refs(v, where, "initiatives", initiatives, known["initiatives"], "取組")


def _situation_places(m: dict) -> list[str]:
    return [
        f"categories[{i}].situations[{j}]" for i, c in enumerate(m["categories"]) for j, _ in enumerate(c["situations"])
    ]


_RULE = re.compile(r"^\s*(<=|>=|<|>|≤|≥|≦|≧)\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*$")
_P_RULE = re.compile(r"^\s*p\s*<\s*(0?\.\d+)\s*$")


def _choice_labels(v: _Validator, e: Entry) -> None:
    e["choices"] = tuple(_choice_ref(v, c, f"{e.where}.choices[{k}]") for k, c in enumerate(e["choices"]))


def _choices_fit_statistic(v: _Validator, e: Entry) -> None:
    stat, choices = e["statistic"], e["choices"]
    if stat == "share" and not choices:
        v.fail(
            e.where,
            "「statistic: share」に choices がない。割合を測る選択肢をラベルで「choices: [<選択肢のラベル>]」のように書く",
        )
    if stat in ("top2", "bottom2", "mean") and choices:
        v.fail(e.where, f"「statistic: {stat}」は尺度で決まるので choices は書けない。choices を消す")


def _p_rule(v: _Validator, e: Entry) -> None:
    """An association's rule: ``p < 0.05``."""
    mp = _P_RULE.match(e["rule"])
    if not mp:
        v.fail(e.where, f"「rule: {e['rule']}」は関連の判定として読めない。「rule: p < 0.05」の形で書く")
    e["rule"] = Rule(op="p<", threshold=float(mp.group(1)), text=f"p < {mp.group(1)}")


def _association_keys(v: _Validator, e: Entry) -> None:
    x, where = e.raw, e.where
    if not x.get("by"):
        v.fail(where, "「statistic: association」に by がない。比べる属性のidを「by: domain」のように書く")
    if x.get("in_every"):
        v.fail(where, "「statistic: association」には in_every は書けない。in_every を消す")
    if len(e["choices"]) > 1:
        v.fail(
            where,
            f"「statistic: association」の choices は1つまで（複数選択の設問の選択肢1つ）なのに{len(e['choices'])}個ある。1つにする",
        )


def _threshold_rule(v: _Validator, e: Entry) -> None:
    """A share's or mean's rule: ``< 50%``, ``>= 30%``, ``> 2.5`` (≦ ≧ too), shown in the Japanese forms."""
    text, stat = e["rule"], e["statistic"]
    mr = _RULE.match(text)
    if not mr:
        v.fail(e.where, f"「rule: {text}」は判定の式として読めない。「< 50%」「>= 30%」（平均なら「> 2.5」）の形で書く")
    op = {"≤": "<=", "≥": ">=", "≦": "<=", "≧": ">="}.get(mr.group(1), mr.group(1))
    number, percent = float(mr.group(2)), bool(mr.group(3))
    if stat == "mean" and percent:
        v.fail(e.where, f"「rule: {text}」: 平均（mean）は点数で判定するので % は付けない（例: > 2.5）")
    if stat != "mean" and not percent:
        v.fail(e.where, f"「rule: {text}」: 「statistic: {stat}」の基準は割合なので % を付ける（例: >= 30%）")
    if percent and not 0 < number < 100:
        v.fail(e.where, f"「rule: {text}」: 基準は0%より大きく100%より小さい値にする")
    symbol = {"<=": "≦", ">=": "≧"}.get(op, op)  # the Japanese forms (in the charts' font)
    unit, scale = ("%", 100) if percent else ("", 1)
    e["rule"] = Rule(op=op, threshold=number / scale, text=f"{symbol} {mr.group(2)}{unit}", percent=percent)


def _no_by(v: _Validator, e: Entry) -> None:
    if e.raw.get("by"):
        v.fail(e.where, "by は関連（statistic: association）にだけ書ける。どの群でも満たすかを見るなら in_every と書く")


INDICATOR = (
    Field("statistic", required=True, allowed=STATISTICS),
    _no_number("codes", "choices: [<コードブックの選択肢のラベル>]"),
    Field("choices", "list"),
    _choice_labels,
    _choices_fit_statistic,
    Field("rule", required=True),
)
ASSOCIATION_RULE = (_p_rule, _association_keys)
THRESHOLD_RULE = (_threshold_rule, _no_by)
INDICATOR_REST = (
    Field("fit", default="direct", allowed=FITS),
    Field("question", required=True),
    Field("by", "optional"),
    Field("in_every", "optional"),
    Field("note", "note"),
)


def _parse_indicator(v: _Validator, raw: Any, where: str, ident: str) -> Indicator:
    x = read_entry(v, raw, where, INDICATOR)
    if x["statistic"] == "adjusted":  # its own keys (matrix_models)
        return parse_adjusted(v, x.raw, where, ident, x["rule"])
    rule = ASSOCIATION_RULE if x["statistic"] == "association" else THRESHOLD_RULE
    x = read_more(v, x, (*rule, *INDICATOR_REST))
    return Indicator(id=ident, **_pick(x, Indicator), where=where)


def _choice_ref(v: _Validator, raw: Any, where: str) -> str:
    """A choice named in the file: its label (a text), never its number."""
    if is_number(raw):
        v.fail(
            where,
            f"「{raw}」は番号で、選択肢のラベルではない。番号は調査票ごとに変わり別の回答を指しうるので使えない。"
            f'コードブックの選択肢のラベルを書く（数字だけのラベルなら引用符で囲む: "{raw}"）',
        )
    if not isinstance(raw, str) or not raw.strip():
        v.fail(where, f"選択肢のラベルのはずが{yaml_kind(raw)}になっている。コードブックの選択肢のラベルを書く")
    return raw.strip()


def _refs(v: _Validator, where: str, key: str, refs: tuple[str, ...], known: list[str], what: str) -> None:
    for k, ref in enumerate(refs):
        if ref not in known:
            v.fail(
                f"{where}.{key}[{k}]", f"{what}「{ref}」はこのファイルにない（あるのは {'、'.join(known)}）。idを直す"
            )
    if len(set(refs)) != len(refs):
        v.fail(f"{where}.{key}", f"同じ{what}が2回ある（{'、'.join(refs)}）。1回にする")


class _Validator(FileChecker):
    """Raises :class:`MatrixError` naming the file and the place in it."""

    error = MatrixError
    kind = "政策マトリクス"

    def __init__(self, name: str, lines: dict[str, int] | None = None) -> None:
        super().__init__(name, lines)
        self.ids: dict[str, str] = {}  # every id of the file → where it is defined


def check_codebook(matrix: PolicyMatrix, codebook: Codebook) -> PolicyMatrix:
    """Bind ``matrix`` to ``codebook``: resolve every choice it names by label to that codebook's
    code, and check every question id, attribute and statistic against it.

    Returns the bound matrix (``Indicator.codes``, ``OptionLink.code`` and the model's keys in
    ``codebook``'s codes); a matrix bound to another codebook is bound again from the file as read,
    so the codes never come from another questionnaire. Evaluating a matrix
    (:mod:`ppp_survey.policy`) binds it to the analysis' codebook through this function.

    Raises
    ------
    MatrixError
        Naming the place in the matrix file and what the codebook has instead; when labels do not
        resolve, one line lists every such reference (place, value, the question's labels); of other
        problems, the first, with how many more there are (``check --matrix`` lists each).
    """
    if matrix.codebook is codebook:
        return matrix
    bound, unresolved = resolve_references(matrix, codebook)
    written = bound.written or matrix
    if unresolved:
        listed = unresolved_list(written, unresolved)
        raise MatrixError(
            f"政策マトリクス {file_label(written.path)}: 選択肢の参照{len(unresolved)}件がコードブック "
            f"{file_label(codebook.path)} の選択肢にない: {listed}。{FIX_LABELS}"
        )
    problems = codebook_problems(_Validator(written.path, dict(written.lines)), bound, written, codebook)
    if problems:
        more = (
            f"（ほかに{len(problems) - 1}件。python -m ppp_survey.report check --data … --codebook … --matrix … "
            "ですべて一覧できる）"
            if len(problems) > 1
            else ""
        )
        raise MatrixError(problems[0] + more)
    return bound


def check_matrix_references(matrix_path: str | Path | None, codebook: Codebook | str | Path | None) -> list[str]:
    """Check a matrix file against a codebook, reference by reference (for ``check --matrix``): one
    Japanese message per choice named by a label the codebook lacks (file, line, entry path, value,
    the question's labels, what to do); when all resolve, one message per other problem (an unknown
    question id, a statistic that does not fit: every reference to a question the codebook lacks),
    or the one of a malformed file; ``[]`` when the matrix fits. ``matrix_path``
    None: the packaged matrix; ``codebook``: a :class:`Codebook`, a packaged name or a path.

    >>> check_matrix_references(None, "codebook_r7.yaml")
    []
    """
    try:
        cb = resolve_codebook(codebook)
        matrix = load_matrix(matrix_path)
    except PppSurveyError as exc:
        return [str(exc)]
    bound, unresolved = resolve_references(matrix, cb)
    if unresolved:
        return [
            f"政策マトリクス {file_label(matrix.path)} {unresolved_place(matrix, u)}: {u.detail()}。"
            f"コードブック {file_label(cb.path)} の{FIX_LABELS}"
            for u in unresolved
        ]
    written = bound.written or matrix
    return codebook_problems(_Validator(written.path, dict(written.lines)), bound, written, cb)
