"""Reading a policy matrix file: :func:`load_matrix` and :func:`parse_matrix` validate the YAML
against the schema (documented in :mod:`ppp_survey.spec.matrix`) and the codebook, and name the
place of every problem; the result is the model of :mod:`ppp_survey.spec.matrix`.
"""

from __future__ import annotations

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
from ppp_survey.spec.schema import FileChecker, file_label, read_yaml, yaml_kind, yaml_lines

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


def parse_matrix(  # noqa: C901 (a schema validator: one branch per documented rule)
    raw: Any, *, name: str = "<matrix>", codebook: Codebook | None = None, lines: dict[str, int] | None = None
) -> PolicyMatrix:
    """Validate an already-parsed matrix mapping (see :func:`load_matrix`); ``lines`` (key path →
    line, :func:`~ppp_survey.spec.schema.yaml_lines`) lets messages name the line."""
    v = _Validator(name, lines)
    m = v.mapping(raw, "")
    if m.get("schema_version") != SCHEMA_VERSION:
        v.fail(
            "schema_version",
            f"「{m.get('schema_version')}」はこのパッケージが読める版ではない。"
            f"先頭に「schema_version: {SCHEMA_VERSION}」と書く",
        )
    defaults = v.mapping(m.get("defaults") or {}, "defaults")
    min_base = defaults.get("min_base", PolicyMatrix.min_base)  # constants.MIN_BASE
    if not isinstance(min_base, int) or isinstance(min_base, bool) or min_base < 1:
        v.fail(
            "defaults.min_base", f"「{min_base}」は1以上の整数ではない。最小の回答者数を整数で書く（例: min_base: 30）"
        )

    ids: dict[str, str] = {}

    def new_id(raw_id: Any, where: str) -> str:
        ident = str(v.required({"id": raw_id}, "id", where))
        if ident in ids:
            v.fail(where, f"「id: {ident}」は {ids[ident]} でも使われている。別のidにする")
        ids[ident] = where
        return ident

    categories, situations = [], []
    for i, c in enumerate(v.sequence(v.required(m, "categories", ""), "categories")):
        where = f"categories[{i}]"
        c = v.mapping(c, where)
        cat = Category(
            id=new_id(c.get("id"), where), label=str(v.required(c, "label", where)), short=str(c.get("short", ""))
        )
        categories.append(cat)
        for j, s in enumerate(v.sequence(v.required(c, "situations", where), f"{where}.situations")):
            situations.append(_parse_situation(v, s, f"{where}.situations[{j}]", cat.id, new_id))
    goals = []
    for i, g in enumerate(v.sequence(v.required(m, "goals", ""), "goals")):
        g = v.mapping(g, f"goals[{i}]")
        goals.append(
            Goal(
                id=new_id(g.get("id"), f"goals[{i}]"),
                text=str(v.required(g, "text", f"goals[{i}]")),
                note=str(g.get("note", "")),
            )
        )
    initiatives = []
    for i, x in enumerate(v.sequence(v.required(m, "initiatives", ""), "initiatives")):
        where = f"initiatives[{i}]"
        x = v.mapping(x, where)
        initiatives.append(
            Initiative(
                id=new_id(x.get("id"), where),
                text=str(v.required(x, "text", where)),
                goals=_id_list(v, x, "goals", where, required=True),
            )
        )

    goal_ids = [g.id for g in goals]
    sit_ids = [s.id for s in situations]
    ini_ids = [x.id for x in initiatives]
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

    links = []
    seen_links: dict[tuple, str] = {}
    for i, lk in enumerate(v.sequence(m.get("option_links") or [], "option_links")):
        where = f"option_links[{i}]"
        lk = v.mapping(lk, where)
        if "code" in lk:
            v.fail(
                f"{where}.code",
                f"「code: {lk['code']}」は選択肢を番号で指している。番号は調査票ごとに変わり別の回答を指しうるので"
                "使えない。code を消し、選択肢のラベルを「choice: <コードブックの選択肢のラベル>」と書く",
            )
        choice = _choice_ref(v, v.required(lk, "choice", where), f"{where}.choice")
        link = OptionLink(
            question=str(v.required(lk, "question", where)),
            choice=choice,
            situations=_id_list(v, lk, "situations", where),
            initiatives=_id_list(v, lk, "initiatives", where),
            note=str(lk.get("note", "")),
            where=where,
        )
        if not (link.situations or link.initiatives):
            v.fail(where, "選択肢のつながりに situations も initiatives もない。どちらかに現状か取組のidを書く")
        seen = (link.question, normalize_key(link.choice))
        if seen in seen_links:
            v.fail(
                where,
                f"「question: {link.question}」の「choice: {link.choice}」が2回ある（もう1つは "
                f"{seen_links[seen]}）。1つにまとめる",
            )
        seen_links[seen] = where
        _refs(v, where, "situations", link.situations, sit_ids, "現状")
        _refs(v, where, "initiatives", link.initiatives, ini_ids, "取組")
        links.append(link)

    findings = []
    for i, f in enumerate(v.sequence(m.get("findings") or [], "findings")):
        where = f"findings[{i}]"
        f = v.mapping(f, where)
        kind = str(v.required(f, "kind", where))
        if kind not in FINDING_KINDS:
            v.fail(where, f"「kind: {kind}」は使えない。{'、'.join(FINDING_KINDS)} のいずれかを書く")
        top = f.get("top", 3)
        if not isinstance(top, int) or isinstance(top, bool) or top < 1:
            v.fail(where, f"「top: {top}」は1以上の整数ではない。上位いくつを示すかを整数で書く（例: top: 3）")
        finding = Finding(
            id=new_id(f.get("id"), where),
            title=str(v.required(f, "title", where)),
            kind=kind,
            question=str(v.required(f, "question", where)),
            top=top,
            by=(str(v.required(f, "by", where)) if kind == "association" else None),
            situations=_id_list(v, f, "situations", where),
            initiatives=_id_list(v, f, "initiatives", where),
            where=where,
        )
        if kind == "association" and not (finding.situations or finding.initiatives):
            v.fail(
                where, "「kind: association」の所見に situations も initiatives もない。どちらかに現状か取組のidを書く"
            )
        _refs(v, where, "situations", finding.situations, sit_ids, "現状")
        _refs(v, where, "initiatives", finding.initiatives, ini_ids, "取組")
        findings.append(finding)

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


def _situation_places(m: dict) -> list[str]:
    return [
        f"categories[{i}].situations[{j}]" for i, c in enumerate(m["categories"]) for j, _ in enumerate(c["situations"])
    ]


def _parse_situation(v: _Validator, raw: Any, where: str, category: str, new_id) -> Situation:
    s = v.mapping(raw, where)
    sid = new_id(s.get("id"), where)
    basis = str(s.get("basis", "layout"))
    if basis not in BASES:
        v.fail(where, f"「basis: {basis}」は使えない。{'、'.join(BASES)} のいずれかを書く")
    inds = v.sequence(v.required(s, "indicators", where), f"{where}.indicators")
    if not inds:
        v.fail(where, f"現状「id: {sid}」の indicators が空。判定に使う指標を1つ以上書く")
    return Situation(
        id=sid,
        category=category,
        text=str(v.required(s, "text", where)),
        goals=_id_list(v, s, "goals", where, required=True),
        indicators=tuple(
            _parse_indicator(v, x, f"{where}.indicators[{k}]", f"{sid}.{k + 1}") for k, x in enumerate(inds)
        ),
        basis=basis,
        note=str(s.get("note", "")).strip(),
    )


_RULE = re.compile(r"^\s*(<=|>=|<|>|≤|≥|≦|≧)\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*$")
_P_RULE = re.compile(r"^\s*p\s*<\s*(0?\.\d+)\s*$")


def _parse_indicator(v: _Validator, raw: Any, where: str, ident: str) -> Indicator:  # noqa: C901 (a schema validator: one branch per documented rule)
    x = v.mapping(raw, where)
    stat = str(v.required(x, "statistic", where))
    if stat not in STATISTICS:
        v.fail(where, f"「statistic: {stat}」は使えない。{'、'.join(STATISTICS)} のいずれかを書く")
    if "codes" in x:
        v.fail(
            f"{where}.codes",
            f"「codes: {x['codes']}」は選択肢を番号で指している。番号は調査票ごとに変わり別の回答を指しうるので"
            "使えない。codes を消し、選択肢のラベルを「choices: [<コードブックの選択肢のラベル>]」と書く",
        )
    choices = tuple(
        _choice_ref(v, c, f"{where}.choices[{k}]")
        for k, c in enumerate(v.sequence(x.get("choices") or [], f"{where}.choices"))
    )
    if stat == "share" and not choices:
        v.fail(
            where,
            "「statistic: share」に choices がない。割合を測る選択肢をラベルで「choices: [<選択肢のラベル>]」のように書く",
        )
    if stat in ("top2", "bottom2", "mean") and choices:
        v.fail(where, f"「statistic: {stat}」は尺度で決まるので choices は書けない。choices を消す")
    text = str(v.required(x, "rule", where))
    if stat == "adjusted":
        return parse_adjusted(v, x, where, ident, text)
    if stat == "association":
        mp = _P_RULE.match(text)
        if not mp:
            v.fail(where, f"「rule: {text}」は関連の判定として読めない。「rule: p < 0.05」の形で書く")
        rule = Rule(op="p<", threshold=float(mp.group(1)), text=f"p < {mp.group(1)}")
        if not x.get("by"):
            v.fail(where, "「statistic: association」に by がない。比べる属性のidを「by: domain」のように書く")
        if x.get("in_every"):
            v.fail(where, "「statistic: association」には in_every は書けない。in_every を消す")
        if len(choices) > 1:
            v.fail(
                where,
                f"「statistic: association」の choices は1つまで（複数選択の設問の選択肢1つ）なのに{len(choices)}個ある。1つにする",
            )
    else:
        mr = _RULE.match(text)
        if not mr:
            v.fail(
                where, f"「rule: {text}」は判定の式として読めない。「< 50%」「>= 30%」（平均なら「> 2.5」）の形で書く"
            )
        op = {"≤": "<=", "≥": ">=", "≦": "<=", "≧": ">="}.get(mr.group(1), mr.group(1))
        number, percent = float(mr.group(2)), bool(mr.group(3))
        if stat == "mean" and percent:
            v.fail(where, f"「rule: {text}」: 平均（mean）は点数で判定するので % は付けない（例: > 2.5）")
        if stat != "mean" and not percent:
            v.fail(where, f"「rule: {text}」: 「statistic: {stat}」の基準は割合なので % を付ける（例: >= 30%）")
        if percent and not 0 < number < 100:
            v.fail(where, f"「rule: {text}」: 基準は0%より大きく100%より小さい値にする")
        symbol = {"<=": "≦", ">=": "≧"}.get(op, op)  # the Japanese forms (in the charts' font)
        shown = f"{symbol} {mr.group(2)}{'%' if percent else ''}"
        rule = Rule(op=op, threshold=number / 100 if percent else number, text=shown, percent=percent)
        if x.get("by"):
            v.fail(
                where, "by は関連（statistic: association）にだけ書ける。どの群でも満たすかを見るなら in_every と書く"
            )
    fit = str(x.get("fit", "direct"))
    if fit not in FITS:
        v.fail(where, f"「fit: {fit}」は使えない。{'、'.join(FITS)} のいずれかを書く")
    return Indicator(
        id=ident,
        question=str(v.required(x, "question", where)),
        statistic=stat,
        rule=rule,
        choices=choices,
        by=(str(x["by"]) if x.get("by") else None),
        in_every=(str(x["in_every"]) if x.get("in_every") else None),
        fit=fit,
        note=str(x.get("note", "")).strip(),
        where=where,
    )


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


def _id_list(v: _Validator, m: dict, key: str, where: str, *, required: bool = False) -> tuple[str, ...]:
    raw = v.required(m, key, where) if required else (m.get(key) or [])
    items = v.sequence(raw, f"{where}.{key}")
    if required and not items:
        v.fail(where, f"「{key}」が空。idを1つ以上書く")
    return tuple(str(x) for x in items)


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
