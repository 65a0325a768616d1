"""The policy matrix of 2-(8): 現状 → めざす具体像 → 具体的な取組, with the survey's evidence beside each 現状.

The committee document turns the survey into policy in a matrix (section 2-(8)): four 区分, fourteen
statements of 現状, ten めざす具体像 and the 具体的な取組 for each. The matrix is data
(``data/policy_matrix_r7.yaml``, schema in its header): each 取組 appears once and links to every
具体像 it serves (the document's 再掲 are links), each 現状 names the survey indicators that speak
to it and a rule that decides whether the data support it.

Workflow::

    from ppp_survey import load_codebook, load_frame, load_responses
    from ppp_survey.matrix import load_matrix, evaluate, format_evidence
    from ppp_survey.tables import make_design
    cb = load_codebook()
    res = load_responses("data/raw/synthetic_r7_responses.xlsx", cb)
    design = make_design(res.responses, load_frame("data/raw/staff_frame_r7.csv", cb), cb)
    matrix = load_matrix(codebook=cb)                   # validates the file and its references
    evidence = evaluate(matrix, res.responses, design, cb)
    print(format_evidence(evidence, synthetic=True))

**Verdicts.** A threshold rule (``"< 50%"``, ``">= 30%"``, ``"> 2.5"``) is read against the
design-based estimate's 95% interval (:mod:`ppp_survey.tables`): 支持 when the whole interval lies
on the rule's side of the threshold, 不支持 when it lies wholly on the other side, 判定不能 when it
straddles the threshold or fewer than ``min_base`` (30) answered. ``in_every`` rules must hold in
every group (職域) with at least ``min_base`` answers; smaller groups are 参考値 and not judged, as
in the package's crosstabs. An association rule (``"p < 0.05"``) reads the Rao–Scott test of the
question by an attribute: 支持 when p is below the rule's level, 不支持 otherwise, 判定不能 when fewer than
``min_base`` answered or the test cannot be computed. Each rule is judged on its own (no
multiplicity adjustment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .codebook import Codebook, Item
from .design import StratifiedDesign
from .errors import PppSurveyError
from .estimate import survey_mean
from .fmt import ROUNDING_NOTE, round_half_up
from .privacy import DEFAULT_MIN_GROUP
from .tables import ALL, DESIGN_NOTE, crosstab, indicators, likert_summary, tally

__all__ = [
    "DEFAULT_MATRIX",
    "EVIDENCE_COLUMNS",
    "KPI_COLUMNS",
    "REVERSE_COLUMNS",
    "Category",
    "Finding",
    "Goal",
    "Indicator",
    "Initiative",
    "MatrixError",
    "OptionLink",
    "PolicyMatrix",
    "Rule",
    "Situation",
    "describe",
    "evaluate",
    "format_evidence",
    "kpi_frame",
    "kpi_table",
    "load_matrix",
    "parse_matrix",
    "reverse_view",
]

SCHEMA_VERSION = 1
DEFAULT_MATRIX = "policy_matrix_r7.yaml"
STATISTICS = ("share", "top2", "bottom2", "mean", "association")
BASES = ("layout", "interpretation")
FITS = ("direct", "proxy")
FINDING_KINDS = ("top_options", "association")
SUPPORTED, NOT_SUPPORTED, UNDECIDED = "支持", "不支持", "判定不能"

#: Columns of :func:`evaluate`.
EVIDENCE_COLUMNS = ("category_id", "区分", "situation_id", "現状", "indicator_id", "indicator", "question",
                    "statistic", "codes", "group", "value", "ci_low", "ci_high", "n", "rule", "verdict",
                    "reason", "fit", "note")
#: Columns of :func:`reverse_view`.
REVERSE_COLUMNS = ("finding_id", "finding", "rank", "question", "code", "label", "value", "ci_low", "ci_high",
                   "n", "p_value", "link", "link_id", "link_text", "via")
#: Columns of :func:`kpi_table`.
KPI_COLUMNS = ("initiative_id", "取組", "goal_ids", "situation_ids", "indicator_id", "indicator", "indicator_key",
               "question", "statistic", "group", "baseline", "ci_low", "ci_high", "n", "next_value")
_VERDICT_NOTE = ("判定：支持＝95%信頼区間の全体が規準の側、不支持＝全体が反対側、判定不能＝区間が閾値をまたぐ又は基数{m}未満"
                 "（全職域の規準は基数{m}以上の職域で判定）。関連の規準はRao–Scott検定（p < α で支持）。")


class MatrixError(PppSurveyError):
    """The policy matrix file is missing, malformed, or refers to what the codebook does not have."""


# ------------------------------------------------------------------------------------- the data

@dataclass(frozen=True)
class Rule:
    """A decision rule: ``value op threshold`` (op ``<``, ``<=``, ``>``, ``>=``; shares as fractions),
    or ``p < threshold`` for an association (``op == "p<"``). ``text`` is the rule as printed."""

    op: str
    threshold: float
    text: str
    percent: bool = False


@dataclass(frozen=True)
class Indicator:
    """A survey indicator of a 現状 and the rule that decides whether the data support the 現状."""

    id: str
    question: str
    statistic: str
    rule: Rule
    codes: tuple[int, ...] = ()
    by: str | None = None
    in_every: str | None = None
    fit: str = "direct"
    note: str = ""
    where: str = field(default="", compare=False, repr=False)

    @property
    def signature(self) -> tuple:
        """What is measured (not the rule): indicators with equal signatures have equal values."""
        return (self.question, self.statistic, self.codes, self.by, self.in_every)


@dataclass(frozen=True)
class Category:
    """A 区分 of the matrix."""

    id: str
    label: str
    short: str = ""


@dataclass(frozen=True)
class Situation:
    """A 現状 (a statement about staff and organisation), the 具体像 it leads to and its indicators."""

    id: str
    category: str
    text: str
    goals: tuple[str, ...]
    indicators: tuple[Indicator, ...]
    basis: str = "layout"
    note: str = ""


@dataclass(frozen=True)
class Goal:
    """A めざす具体像."""

    id: str
    text: str
    note: str = ""


@dataclass(frozen=True)
class Initiative:
    """A 具体的な取組, once; ``goals[0]`` is where the document prints it first, the rest its 再掲."""

    id: str
    text: str
    goals: tuple[str, ...]


@dataclass(frozen=True)
class OptionLink:
    """A multi-select option (difficulty, support) and the 現状 / 取組 it speaks to."""

    question: str
    code: int
    situations: tuple[str, ...] = ()
    initiatives: tuple[str, ...] = ()
    note: str = ""
    where: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Finding:
    """A finding the package reports: the top options of a question, or its association with ``by``."""

    id: str
    title: str
    kind: str
    question: str
    top: int = 3
    by: str | None = None
    situations: tuple[str, ...] = ()
    initiatives: tuple[str, ...] = ()
    where: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class PolicyMatrix:
    """A validated policy matrix. Build it with :func:`load_matrix`; it never changes."""

    title: str
    source: str
    categories: tuple[Category, ...]
    situation_list: tuple[Situation, ...]
    goal_list: tuple[Goal, ...]
    initiative_list: tuple[Initiative, ...]
    option_links: tuple[OptionLink, ...] = ()
    findings: tuple[Finding, ...] = ()
    codebook_name: str = ""
    min_base: int = 30
    path: str = ""

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    def goal(self, goal_id: str) -> Goal:
        return next(g for g in self.goal_list if g.id == goal_id)

    def initiative(self, initiative_id: str) -> Initiative:
        return next(i for i in self.initiative_list if i.id == initiative_id)

    def situation(self, situation_id: str) -> Situation:
        return next(s for s in self.situation_list if s.id == situation_id)

    def situations(self) -> pd.DataFrame:
        """The 現状: ``category_id, 区分, situation_id, 現状``, in the document's order."""
        return pd.DataFrame([{"category_id": s.category, "区分": self.category(s.category).label,
                              "situation_id": s.id, "現状": s.text} for s in self.situation_list])

    def goals(self) -> pd.DataFrame:
        """The めざす具体像: ``goal_id, 具体像, note``, in the document's order."""
        return pd.DataFrame([{"goal_id": g.id, "具体像": g.text, "note": g.note} for g in self.goal_list])

    def initiatives(self) -> pd.DataFrame:
        """The 取組, each once: ``initiative_id, 取組, goal_ids`` (comma-separated, first = 初出)."""
        return pd.DataFrame([{"initiative_id": i.id, "取組": i.text, "goal_ids": ",".join(i.goals)}
                             for i in self.initiative_list])

    def links(self) -> pd.DataFrame:
        """Edges ``kind, from_id, from_text, to_id, to_text, repost, basis, note``.

        ``kind`` is ``現状→具体像`` (``basis`` layout/interpretation, as in the file) or ``具体像→取組``
        (``repost`` True where the document prints the 取組 again with （再掲））.
        """
        rows = [{"kind": "現状→具体像", "from_id": s.id, "from_text": s.text, "to_id": g,
                 "to_text": self.goal(g).text, "repost": False, "basis": s.basis, "note": s.note}
                for s in self.situation_list for g in s.goals]
        goal_order = {g.id: k for k, g in enumerate(self.goal_list)}
        edges = [(goal_order[g], k, i, g, j > 0) for k, i in enumerate(self.initiative_list) for j, g in enumerate(i.goals)]
        rows += [{"kind": "具体像→取組", "from_id": g, "from_text": self.goal(g).text, "to_id": i.id,
                  "to_text": i.text, "repost": repost, "basis": "document", "note": ""}
                 for _, _, i, g, repost in sorted(edges, key=lambda e: e[:2])]
        return pd.DataFrame(rows)

    def indicators(self) -> pd.DataFrame:
        """The indicators as specified: ``situation_id, indicator_id, question, statistic, codes, by,
        in_every, rule, fit, note``."""
        return pd.DataFrame([{"situation_id": s.id, "indicator_id": i.id, "question": i.question,
                              "statistic": i.statistic, "codes": _codes_text(i.codes), "by": i.by,
                              "in_every": i.in_every, "rule": i.rule.text, "fit": i.fit, "note": i.note}
                             for s in self.situation_list for i in s.indicators])

    def check_codebook(self, codebook: Codebook) -> PolicyMatrix:
        """Check every question id and choice code against ``codebook``; return the matrix unchanged.

        Raises
        ------
        MatrixError
            Naming the place in the matrix file and what the codebook has instead.
        """
        v = _Validator(self.path)
        for s in self.situation_list:
            for ind in s.indicators:
                _check_indicator(v, ind, codebook)
        for link in self.option_links:
            item = _question(v, link.where, link.question, codebook)
            if not item.is_multi:
                v.fail(link.where, f"question {link.question!r} is {item.type}, option links need a multi-select (ma) question")
            _check_codes(v, link.where, item, (link.code,), codebook)
        for f in self.findings:
            item = _question(v, f.where, f.question, codebook)
            if f.kind == "top_options":
                if not item.is_multi:
                    v.fail(f.where, f"top_options needs a multi-select (ma) question; {f.question!r} is {item.type}")
                # An option without an entry in option_links (e.g. one added in a later wave's
                # codebook) is not an error: the reverse view ranks it and says it is not linked.
            else:
                _attribute(v, f.where, f.by, codebook)
        return self


# ------------------------------------------------------------------------------------- loading

def load_matrix(path: str | Path | None = None, codebook: Codebook | None = None) -> PolicyMatrix:
    """Read and validate a policy matrix file.

    Parameters
    ----------
    path
        A matrix YAML file; ``None`` loads the packaged ``policy_matrix_r7.yaml``.
    codebook
        When given, every indicator, option link and finding is checked against its question ids
        and choice codes (:meth:`PolicyMatrix.check_codebook`).

    Raises
    ------
    MatrixError
        When the file is missing, is not YAML, breaks the schema, or (with ``codebook``) names a
        question or code the codebook lacks; the message names the place, e.g.
        ``initiatives[3].goals[1]: 具体像 'g11' does not exist``.

    Examples
    --------
    >>> from ppp_survey.matrix import load_matrix
    >>> m = load_matrix()
    >>> len(m.categories), len(m.situations()), len(m.goals()), len(m.initiatives())
    (4, 14, 10, 15)
    """
    if path is None:
        name = f"(packaged) {DEFAULT_MATRIX}"
        text = (resources.files("ppp_survey") / "data" / DEFAULT_MATRIX).read_text(encoding="utf-8")
    else:
        p = Path(path)
        if not p.is_file():
            raise MatrixError(f"policy matrix {p}: file not found")
        name, text = str(p), p.read_text(encoding="utf-8-sig")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise MatrixError(f"policy matrix {name}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_matrix(raw, name=name, codebook=codebook)


def parse_matrix(raw: Any, *, name: str = "<matrix>", codebook: Codebook | None = None) -> PolicyMatrix:
    """Validate an already-parsed matrix mapping (see :func:`load_matrix`)."""
    v = _Validator(name)
    m = v.mapping(raw, "")
    if m.get("schema_version") != SCHEMA_VERSION:
        v.fail("", f"schema_version is {m.get('schema_version')!r}; this package reads schema_version {SCHEMA_VERSION}")
    defaults = v.mapping(m.get("defaults") or {}, "defaults")
    min_base = defaults.get("min_base", 30)
    if not isinstance(min_base, int) or isinstance(min_base, bool) or min_base < 1:
        v.fail("defaults", f"min_base must be a positive whole number, got {min_base!r}")

    ids: dict[str, str] = {}

    def new_id(raw_id: Any, where: str) -> str:
        ident = str(v.required({"id": raw_id}, "id", where))
        if ident in ids:
            v.fail(where, f"id {ident!r} is used twice (also at {ids[ident]})")
        ids[ident] = where
        return ident

    categories, situations = [], []
    for i, c in enumerate(v.sequence(v.required(m, "categories", ""), "categories")):
        where = f"categories[{i}]"
        c = v.mapping(c, where)
        cat = Category(id=new_id(c.get("id"), where), label=str(v.required(c, "label", where)), short=str(c.get("short", "")))
        categories.append(cat)
        for j, s in enumerate(v.sequence(v.required(c, "situations", where), f"{where}.situations")):
            situations.append(_parse_situation(v, s, f"{where}.situations[{j}]", cat.id, new_id))
    goals = []
    for i, g in enumerate(v.sequence(v.required(m, "goals", ""), "goals")):
        g = v.mapping(g, f"goals[{i}]")
        goals.append(Goal(id=new_id(g.get("id"), f"goals[{i}]"), text=str(v.required(g, "text", f"goals[{i}]")),
                          note=str(g.get("note", ""))))
    initiatives = []
    for i, x in enumerate(v.sequence(v.required(m, "initiatives", ""), "initiatives")):
        where = f"initiatives[{i}]"
        x = v.mapping(x, where)
        initiatives.append(Initiative(id=new_id(x.get("id"), where), text=str(v.required(x, "text", where)),
                                      goals=_id_list(v, x, "goals", where, required=True)))

    goal_ids = [g.id for g in goals]
    sit_ids = [s.id for s in situations]
    ini_ids = [x.id for x in initiatives]
    texts: dict[str, str] = {}
    for i, x in enumerate(initiatives):
        _refs(v, f"initiatives[{i}]", "goals", x.goals, goal_ids, "具体像")
        if x.text in texts:
            v.fail(f"initiatives[{i}]", f"取組 {x.text!r} is listed twice (also {texts[x.text]}); "
                                        "a 再掲 is another goal of the same 取組, not a second entry")
        texts[x.text] = x.id
    for s, where in zip(situations, _situation_places(m)):
        _refs(v, where, "goals", s.goals, goal_ids, "具体像")
    for i, g in enumerate(goals):
        if not any(g.id in s.goals for s in situations):
            v.fail(f"goals[{i}]", f"具体像 {g.id!r} answers no 現状 (no situation lists it in goals)")
        if not any(g.id in x.goals for x in initiatives):
            v.fail(f"goals[{i}]", f"具体像 {g.id!r} has no 取組 (no initiative lists it in goals)")

    links = []
    seen_links: dict[tuple, str] = {}
    for i, lk in enumerate(v.sequence(m.get("option_links") or [], "option_links")):
        where = f"option_links[{i}]"
        lk = v.mapping(lk, where)
        code = lk.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            v.fail(where, f"'code' must be a whole number, got {code!r}")
        link = OptionLink(question=str(v.required(lk, "question", where)), code=code,
                          situations=_id_list(v, lk, "situations", where), initiatives=_id_list(v, lk, "initiatives", where),
                          note=str(lk.get("note", "")), where=where)
        if not (link.situations or link.initiatives):
            v.fail(where, "an option link needs at least one of situations, initiatives")
        if (link.question, link.code) in seen_links:
            v.fail(where, f"{link.question} option {link.code} is linked twice (also at {seen_links[(link.question, link.code)]})")
        seen_links[(link.question, link.code)] = where
        _refs(v, where, "situations", link.situations, sit_ids, "現状")
        _refs(v, where, "initiatives", link.initiatives, ini_ids, "取組")
        links.append(link)

    findings = []
    for i, f in enumerate(v.sequence(m.get("findings") or [], "findings")):
        where = f"findings[{i}]"
        f = v.mapping(f, where)
        kind = str(v.required(f, "kind", where))
        if kind not in FINDING_KINDS:
            v.fail(where, f"kind {kind!r} is not one of {', '.join(FINDING_KINDS)}")
        top = f.get("top", 3)
        if not isinstance(top, int) or isinstance(top, bool) or top < 1:
            v.fail(where, f"top must be a positive whole number, got {top!r}")
        finding = Finding(id=new_id(f.get("id"), where), title=str(v.required(f, "title", where)), kind=kind,
                          question=str(v.required(f, "question", where)), top=top,
                          by=(str(v.required(f, "by", where)) if kind == "association" else None),
                          situations=_id_list(v, f, "situations", where), initiatives=_id_list(v, f, "initiatives", where),
                          where=where)
        if kind == "association" and not (finding.situations or finding.initiatives):
            v.fail(where, "an association finding needs at least one of situations, initiatives")
        _refs(v, where, "situations", finding.situations, sit_ids, "現状")
        _refs(v, where, "initiatives", finding.initiatives, ini_ids, "取組")
        findings.append(finding)

    matrix = PolicyMatrix(
        title=str(m.get("title", "")), source=str(m.get("source", "")), categories=tuple(categories),
        situation_list=tuple(situations), goal_list=tuple(goals), initiative_list=tuple(initiatives),
        option_links=tuple(links), findings=tuple(findings), codebook_name=str(m.get("codebook", "")),
        min_base=int(min_base), path=name,
    )
    return matrix if codebook is None else matrix.check_codebook(codebook)


def _situation_places(m: dict) -> list[str]:
    return [f"categories[{i}].situations[{j}]" for i, c in enumerate(m["categories"]) for j, _ in enumerate(c["situations"])]


def _parse_situation(v: _Validator, raw: Any, where: str, category: str, new_id) -> Situation:
    s = v.mapping(raw, where)
    sid = new_id(s.get("id"), where)
    basis = str(s.get("basis", "layout"))
    if basis not in BASES:
        v.fail(where, f"basis {basis!r} is not one of {', '.join(BASES)}")
    inds = v.sequence(v.required(s, "indicators", where), f"{where}.indicators")
    if not inds:
        v.fail(where, f"現状 {sid!r} needs at least one indicator")
    return Situation(id=sid, category=category, text=str(v.required(s, "text", where)),
                     goals=_id_list(v, s, "goals", where, required=True),
                     indicators=tuple(_parse_indicator(v, x, f"{where}.indicators[{k}]", f"{sid}.{k + 1}")
                                      for k, x in enumerate(inds)),
                     basis=basis, note=str(s.get("note", "")).strip())


_RULE = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*$")
_P_RULE = re.compile(r"^\s*p\s*<\s*(0?\.\d+)\s*$")


def _parse_indicator(v: _Validator, raw: Any, where: str, ident: str) -> Indicator:
    x = v.mapping(raw, where)
    stat = str(v.required(x, "statistic", where))
    if stat not in STATISTICS:
        v.fail(where, f"statistic {stat!r} is not one of {', '.join(STATISTICS)}")
    codes = v.sequence(x.get("codes", []), f"{where}.codes")
    if any(not isinstance(c, int) or isinstance(c, bool) for c in codes):
        v.fail(where, f"codes must be whole numbers (codebook choice codes), got {codes!r}")
    if stat == "share" and not codes:
        v.fail(where, "a share needs codes: [the choice code(s) whose share is measured]")
    if stat in ("top2", "bottom2", "mean") and codes:
        v.fail(where, f"{stat} takes no codes (it is defined by the likert scale)")
    text = str(v.required(x, "rule", where))
    if stat == "association":
        mp = _P_RULE.match(text)
        if not mp:
            v.fail(where, f"rule {text!r}: an association rule reads 'p < 0.05'")
        rule = Rule(op="p<", threshold=float(mp.group(1)), text=f"p < {mp.group(1)}")
        if not x.get("by"):
            v.fail(where, "an association needs by: (the attribute id, e.g. domain)")
        if x.get("in_every"):
            v.fail(where, "in_every does not apply to an association")
        if len(codes) > 1:
            v.fail(where, "an association takes at most one code (the option of a multi-select question)")
    else:
        mr = _RULE.match(text)
        if not mr:
            v.fail(where, f"rule {text!r} is not a rule: write e.g. '< 50%', '>= 30%' (or '> 2.5' for a mean)")
        op = {"≤": "<=", "≥": ">="}.get(mr.group(1), mr.group(1))
        number, percent = float(mr.group(2)), bool(mr.group(3))
        if stat == "mean" and percent:
            v.fail(where, f"rule {text!r}: a mean is in points, not %")
        if stat != "mean" and not percent:
            v.fail(where, f"rule {text!r}: a {stat} threshold is a percentage (write e.g. '>= 30%')")
        if percent and not 0 < number < 100:
            v.fail(where, f"rule {text!r}: the threshold must lie strictly between 0% and 100%")
        symbol = {"<=": "≤", ">=": "≥"}.get(op, op)
        shown = f"{symbol} {mr.group(2)}{'%' if percent else ''}"
        rule = Rule(op=op, threshold=number / 100 if percent else number, text=shown, percent=percent)
        if x.get("by"):
            v.fail(where, "by applies to association rules; for a rule in every group write in_every")
    fit = str(x.get("fit", "direct"))
    if fit not in FITS:
        v.fail(where, f"fit {fit!r} is not one of {', '.join(FITS)}")
    return Indicator(id=ident, question=str(v.required(x, "question", where)), statistic=stat, rule=rule,
                     codes=tuple(int(c) for c in codes), by=(str(x["by"]) if x.get("by") else None),
                     in_every=(str(x["in_every"]) if x.get("in_every") else None), fit=fit,
                     note=str(x.get("note", "")).strip(), where=where)


def _id_list(v: _Validator, m: dict, key: str, where: str, *, required: bool = False) -> tuple[str, ...]:
    raw = v.required(m, key, where) if required else (m.get(key) or [])
    items = v.sequence(raw, f"{where}.{key}")
    if required and not items:
        v.fail(where, f"'{key}' is empty")
    return tuple(str(x) for x in items)


def _refs(v: _Validator, where: str, key: str, refs: tuple[str, ...], known: list[str], what: str) -> None:
    for k, ref in enumerate(refs):
        if ref not in known:
            v.fail(f"{where}.{key}[{k}]", f"{what} {ref!r} does not exist (known: {', '.join(known)})")
    if len(set(refs)) != len(refs):
        v.fail(f"{where}.{key}", f"lists the same {what} twice: {list(refs)}")


def _question(v: _Validator, where: str, qid: str, codebook: Codebook) -> Item:
    found = [q for q in codebook.questions if q.id == qid]
    if not found:
        v.fail(where, f"question {qid!r} is not in codebook {codebook.path} (questions: "
                      f"{', '.join(q.id for q in codebook.questions)})")
    return found[0]


def _attribute(v: _Validator, where: str, aid: str | None, codebook: Codebook) -> Item:
    found = [a for a in codebook.attributes if a.id == aid]
    if not found:
        v.fail(where, f"attribute {aid!r} is not in codebook {codebook.path} (attributes: "
                      f"{', '.join(a.id for a in codebook.attributes)})")
    return found[0]


def _check_codes(v: _Validator, where: str, item: Item, codes: tuple[int, ...], codebook: Codebook) -> None:
    known = [c.code for c in item.choices]
    for c in codes:
        if c not in known:
            v.fail(where, f"{item.id} has no choice with code {c} in codebook {codebook.path} (codes: {known})")


def _check_indicator(v: _Validator, ind: Indicator, codebook: Codebook) -> None:
    item = _question(v, ind.where, ind.question, codebook)
    if item.type == "text":
        v.fail(ind.where, f"{item.id} is a free-text question; it has no numbers to judge")
    _check_codes(v, ind.where, item, ind.codes, codebook)
    if ind.statistic in ("top2", "bottom2", "mean") and item.type != "likert":
        v.fail(ind.where, f"{ind.statistic} needs a likert question; {item.id} is {item.type}")
    if ind.statistic == "association":
        _attribute(v, ind.where, ind.by, codebook)
        if item.is_multi and len(ind.codes) != 1:
            v.fail(ind.where, f"{item.id} is multi-select: name the option tested by {ind.by} with codes: [code]")
        if not item.is_multi and ind.codes:
            v.fail(ind.where, f"{item.id} is single-answer: its association is tested on the whole table, without codes")
    if ind.in_every:
        _attribute(v, ind.where, ind.in_every, codebook)
    if ind.statistic == "mean":
        scores = [c.score for c in item.choices if c.score is not None]
        if not min(scores) < ind.rule.threshold < max(scores):
            v.fail(ind.where, f"rule {ind.rule.text!r}: the threshold is outside the scale of {item.id} ({min(scores)}–{max(scores)})")


class _Validator:
    """Raises :class:`MatrixError` naming the file and the place in it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, where: str, message: str) -> None:
        place = f" {where}:" if where else ""
        raise MatrixError(f"policy matrix {self.name}:{place} {message}")

    def mapping(self, raw: Any, where: str) -> dict:
        if not isinstance(raw, dict):
            self.fail(where, f"expected a mapping (key: value), got {type(raw).__name__}")
        return raw

    def sequence(self, raw: Any, where: str) -> list:
        if not isinstance(raw, list):
            self.fail(where, f"expected a list, got {type(raw).__name__}")
        return raw

    def required(self, m: dict, key: str, where: str) -> Any:
        if m.get(key) in (None, ""):
            self.fail(where, f"'{key}' is missing")
        return m[key]


# ------------------------------------------------------------------------------------- evidence

class _Measures:
    """Computes indicator values once per call (no state outlives the call)."""

    def __init__(self, responses: pd.DataFrame, design: StratifiedDesign, codebook: Codebook) -> None:
        self.responses, self.design, self.codebook = responses, design, codebook
        self._cache: dict[tuple, Any] = {}

    def _once(self, key: tuple, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def groups(self, ind: Indicator) -> pd.DataFrame:
        """``group, value, ci_low, ci_high, n`` of a threshold indicator (全体, or each group of in_every)."""
        item, by = self.codebook.item(ind.question), ind.in_every
        if ind.statistic in ("top2", "bottom2", "mean"):
            t = self._once(("likert", item.id, by), lambda: likert_summary(self.responses, self.design, item, by=by))
            measure = {"top2": "肯定的回答", "bottom2": "否定的回答", "mean": "平均点"}[ind.statistic]
            t = t[t["measure"] == measure]
            n = t["base_n"]
        elif len(ind.codes) == 1:
            t = self._once(("tally", item.id, by), lambda: tally(self.responses, self.design, item, by=by))
            t = t[t["code"] == ind.codes[0]]
            n = t["base_n"]
        else:  # several choices: the share choosing any of them, with the same estimator as tally
            cols = [item.option_column(item.choice(c)) for c in ind.codes]
            chosen = indicators(self.responses, item)[cols].max(axis=1, skipna=False)
            data = pd.DataFrame({"chosen": chosen}, index=self.responses.index)
            if by is not None:
                data[by] = self.responses[by]
            t = survey_mean(data, self.design, "chosen", by=by)
            n = t["n"]
        return pd.DataFrame({"group": t["group"].astype(str).to_numpy(), "value": t["estimate"].to_numpy(float),
                             "ci_low": t["ci_low"].to_numpy(float), "ci_high": t["ci_high"].to_numpy(float),
                             "n": np.asarray(n, dtype=int)})

    def association(self, ind: Indicator) -> tuple[float, int]:
        item = self.codebook.item(ind.question)
        tests = self._once(("crosstab", item.id, ind.by),
                           lambda: crosstab(self.responses, self.design, item, by=ind.by).tests)
        row = tests[tests["code"] == ind.codes[0]] if item.is_multi else tests
        return float(row["p_value"].iloc[0]), int(row["n"].iloc[0])


def _threshold_verdict(rule: Rule, lo: float, hi: float, n: int, min_base: int) -> tuple[str, str]:
    if not n or n < min_base:
        return UNDECIDED, f"基数{min_base}未満"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return UNDECIDED, "信頼区間を推定できない"
    t = rule.threshold
    below = rule.op in ("<", "<=")
    inside = (hi < t if rule.op == "<" else hi <= t) if below else (lo > t if rule.op == ">" else lo >= t)
    outside = (lo >= t if rule.op == "<" else lo > t) if below else (hi <= t if rule.op == ">" else hi < t)
    if inside:
        return SUPPORTED, "95%CIが規準の側"
    if outside:
        return NOT_SUPPORTED, "95%CIが規準の反対側"
    return UNDECIDED, "95%CIが閾値をまたぐ"


def _every_group(rule: Rule, groups: pd.DataFrame, min_base: int) -> tuple[pd.Series | None, str, str, list[str]]:
    """Judge a rule in every group with base ≥ min_base; return the deciding group, verdict, reason, skipped."""
    tested = groups[groups["n"] >= min_base]
    skipped = list(groups.loc[groups["n"] < min_base, "group"])
    if tested.empty:
        return None, UNDECIDED, f"基数{min_base}以上の群がない", skipped
    below = rule.op in ("<", "<=")
    # The group that decides: one wholly on the wrong side if any, else the one nearest the threshold.
    far = tested.loc[tested["ci_low"].idxmax()] if below else tested.loc[tested["ci_high"].idxmin()]
    near = tested.loc[tested["ci_high"].idxmax()] if below else tested.loc[tested["ci_low"].idxmin()]
    verdict, reason = _threshold_verdict(rule, far["ci_low"], far["ci_high"], int(far["n"]), min_base)
    if verdict == NOT_SUPPORTED:
        return far, verdict, f"{far['group']}で{reason}", skipped
    verdict, reason = _threshold_verdict(rule, near["ci_low"], near["ci_high"], int(near["n"]), min_base)
    return near, verdict, ("全群で" + reason if verdict == SUPPORTED else f"{near['group']}で{reason}"), skipped


def evaluate(matrix: PolicyMatrix, responses: pd.DataFrame, design: StratifiedDesign, codebook: Codebook, *,
             min_base: int | None = None, alpha: float | None = None,
             min_group: int = DEFAULT_MIN_GROUP) -> pd.DataFrame:
    """The evidence table: each 現状's indicators on the data, with value, 95% CI, n and verdict.

    Parameters
    ----------
    matrix
        From :func:`load_matrix`; its references are checked against ``codebook`` here.
    responses, design
        The typed respondent table (``LoadResult.responses``) and its design
        (:func:`ppp_survey.tables.make_design`).
    min_base
        Overrides the file's ``defaults.min_base`` (30 answers).
    alpha
        Overrides the level of every association rule (by default each rule's own, ``p < 0.05``).
    min_group
        Anonymity threshold (:mod:`ppp_survey.privacy`): an ``in_every`` rule judges and shows only
        groups with a base of at least ``max(min_base, min_group)``, so no group below the
        threshold is ever named with a value.

    Returns
    -------
    DataFrame
        :data:`EVIDENCE_COLUMNS`, one row per indicator in the document's order: ``value`` is the
        design-based estimate (a fraction for shares and top/bottom-2 boxes, points for a mean, the
        Rao–Scott p-value for an association), ``ci_low``/``ci_high`` its 95% interval (NaN for an
        association), ``n`` the answers it rests on, ``group`` 全体 or, for an ``in_every`` rule,
        the group that decides the verdict (the one nearest to or beyond the threshold), ``rule``
        as printed, ``verdict`` 支持/不支持/判定不能 with its ``reason``.
    """
    matrix.check_codebook(codebook)
    min_base = matrix.min_base if min_base is None else min_base
    measures = _Measures(_table(responses), design, codebook)
    rows = []
    for s in matrix.situation_list:
        for ind in s.indicators:
            rows.append({"category_id": s.category, "区分": matrix.category(s.category).label, "situation_id": s.id,
                         "現状": s.text, **_judge(ind, measures, codebook, min_base, alpha, min_group)})
    return pd.DataFrame(rows, columns=list(EVIDENCE_COLUMNS))


def _judge(ind: Indicator, measures: _Measures, codebook: Codebook, min_base: int, alpha: float | None,
           min_group: int = DEFAULT_MIN_GROUP) -> dict:
    base = {"indicator_id": ind.id, "indicator": describe(ind, codebook, min_base=min_base), "question": ind.question,
            "statistic": ind.statistic, "codes": _codes_text(ind.codes), "fit": ind.fit, "note": ind.note}
    if ind.statistic == "association":
        p, n = measures.association(ind)
        alpha = ind.rule.threshold if alpha is None else alpha
        if n < min_base:
            verdict, reason = UNDECIDED, f"基数{min_base}未満"
        elif not np.isfinite(p):
            verdict, reason = UNDECIDED, "検定できない（回答が1区分のみ）"
        else:
            verdict, reason = (SUPPORTED, f"p < {alpha:g}") if p < alpha else (NOT_SUPPORTED, f"p ≥ {alpha:g}")
        rule = f"p < {alpha:g}"
        return {**base, "group": ALL, "value": p, "ci_low": np.nan, "ci_high": np.nan, "n": n, "rule": rule,
                "verdict": verdict, "reason": reason}
    groups = measures.groups(ind)
    if ind.in_every is None:
        g = groups.iloc[0]
        verdict, reason = _threshold_verdict(ind.rule, g["ci_low"], g["ci_high"], int(g["n"]), min_base)
    else:
        judged = max(min_base, min_group)  # a group below the anonymity threshold is never shown
        g, verdict, reason, skipped = _every_group(ind.rule, groups, judged)
        if skipped:
            reason += f"（基数{judged}未満で判定外：{'、'.join(skipped)}）"
        if g is None:
            return {**base, "group": "", "value": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0,
                    "rule": ind.rule.text, "verdict": verdict, "reason": reason}
    return {**base, "group": str(g["group"]), "value": float(g["value"]), "ci_low": float(g["ci_low"]),
            "ci_high": float(g["ci_high"]), "n": int(g["n"]), "rule": ind.rule.text, "verdict": verdict,
            "reason": reason}


def describe(ind: Indicator, codebook: Codebook, *, min_base: int = 30) -> str:
    """A human-readable Japanese description of an indicator, from the codebook's wording.

    >>> from ppp_survey import load_codebook
    >>> from ppp_survey.matrix import load_matrix, describe
    >>> m = load_matrix()
    >>> describe(m.situation("s8").indicators[0], load_codebook())
    'q6 庁内で官民連携を相談しやすい雰囲気・仕組みがあると感じるか：肯定的回答（「感じる」＋「どちらかといえば感じる」）の割合'
    """
    item = codebook.item(ind.question)
    head = f"{item.id} {_title(item)}："
    labels = [item.choice(c).label for c in ind.codes]
    if ind.statistic == "share":
        quoted = "「" + "」「".join(labels) + "」"
        if item.is_multi:
            body = f"{quoted}を選んだ割合" if len(labels) == 1 else f"{quoted}のいずれかを選んだ割合"
        else:
            body = f"「{'」または「'.join(labels)}」の割合"
    elif ind.statistic in ("top2", "bottom2"):
        scored = sorted((c for c in item.choices if c.score is not None), key=lambda c: -c.score)
        if item.polarity == "higher_is_worse":
            scored = scored[::-1]
        ends = scored[:2] if ind.statistic == "top2" else scored[-2:]
        kind = "肯定的回答" if ind.statistic == "top2" else "否定的回答"
        body = f"{kind}（「{ends[0].label}」＋「{ends[1].label}」）の割合"
    elif ind.statistic == "mean":
        scores = [c.score for c in item.choices if c.score is not None]
        body = f"平均点（{min(scores):g}〜{max(scores):g}点）"
    else:
        by = codebook.item(ind.by).label
        body = (f"「{labels[0]}」の選択率の{by}による違い" if labels else f"回答の{by}による違い") + "（Rao–Scott検定）"
    if ind.in_every:
        by = codebook.item(ind.in_every).label
        body += f"（各{by}で。基数{min_base}未満の{by}は判定外）"
    if ind.fit == "proxy":
        body += "［間接指標］"
    return head + body


# ------------------------------------------------------------------------------------- reverse view, KPI

def reverse_view(matrix: PolicyMatrix, responses: pd.DataFrame, design: StratifiedDesign,
                 codebook: Codebook, *, min_group: int = DEFAULT_MIN_GROUP) -> pd.DataFrame:
    """For each finding the package reports, the 現状 and 取組 it speaks to.

    Findings come from the matrix file: the top options of a multi-select question (ranked by the
    design-based estimate; その他 and 特にない are not ranked) and the association of a question with
    an attribute (the 職域 spread of q2). Links are those of ``option_links`` / the finding, plus the
    取組 reached from a linked 現状 through its 具体像.

    Returns
    -------
    DataFrame
        :data:`REVERSE_COLUMNS`, one row per (finding or option, linked 現状 or 取組): ``rank`` of the
        option (0 for an association), ``value``/``ci_low``/``ci_high``/``n`` the option's estimate
        (for an association: the spread, highest minus lowest 肯定的回答 of the groups with base ≥
        ``min_base``, named in ``label``), ``p_value`` (association), ``link`` 現状 or 取組,
        ``via`` 直接 or 現状→具体像→取組.
    """
    matrix.check_codebook(codebook)
    responses = _table(responses)
    rows = []
    for f in matrix.findings:
        item = codebook.item(f.question)
        if f.kind == "top_options":
            t = tally(responses, design, item)
            skip = {c.code for c in item.choices if c.other or c.exclusive}
            t = t[~t["code"].isin(skip)].sort_values(["estimate", "code"], ascending=[False, True]).head(f.top)
            for rank, r in enumerate(t.itertuples(), start=1):
                link = next((lk for lk in matrix.option_links if lk.question == f.question and lk.code == r.code), None)
                head = {"finding_id": f.id, "finding": f.title, "rank": rank, "question": f.question, "code": r.code,
                        "label": r.label, "value": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                        "n": r.base_n, "p_value": np.nan}
                if link is None:
                    rows.append({**head, **UNLINKED})
                    continue
                rows += [{**head, **x} for x in _linked(matrix, link.situations, link.initiatives)]
        else:
            tests = crosstab(responses, design, item, by=f.by).tests
            spread = _spread(responses, design, item, f.by, max(matrix.min_base, min_group))
            head = {"finding_id": f.id, "finding": f.title, "rank": 0, "question": f.question, "code": pd.NA,
                    **spread, "ci_low": np.nan, "ci_high": np.nan, "n": int(tests["n"].iloc[0]),
                    "p_value": float(tests["p_value"].iloc[0])}
            rows += [{**head, **x} for x in _linked(matrix, f.situations, f.initiatives)]
    return pd.DataFrame(rows, columns=list(REVERSE_COLUMNS))


#: The link columns of an option that has no entry in option_links.
UNLINKED = {"link": "", "link_id": "", "link_text": "（マトリクスに対応づけなし：option_links に追加する）", "via": ""}


def _spread(responses: pd.DataFrame, design: StratifiedDesign, item: Item, by: str, min_base: int) -> dict:
    """Highest − lowest share (肯定的回答 for likert, first choice otherwise) over groups with base ≥ min_base."""
    if item.type == "likert":
        t = likert_summary(responses, design, item, by=by)
        t = t[t["measure"] == "肯定的回答"].rename(columns={"base_n": "n"})
        what = "肯定的回答"
    else:
        t = tally(responses, design, item, by=by)
        t = t[t["code"] == item.choices[0].code].rename(columns={"base_n": "n"})
        what = f"「{item.choices[0].label}」"
    t = t[t["n"] >= min_base]
    if t.empty:
        return {"label": "", "value": np.nan}
    hi, lo = t.loc[t["estimate"].idxmax()], t.loc[t["estimate"].idxmin()]
    label = f"{what} 最高：{hi['group']} {_pct(hi['estimate'])}、最低：{lo['group']} {_pct(lo['estimate'])}"
    return {"label": label, "value": float(hi["estimate"] - lo["estimate"])}


def _linked(matrix: PolicyMatrix, situations: tuple[str, ...], initiatives: tuple[str, ...]) -> list[dict]:
    out = [{"link": "現状", "link_id": s, "link_text": matrix.situation(s).text, "via": "直接"} for s in situations]
    seen = set(initiatives)
    out += [{"link": "取組", "link_id": i, "link_text": matrix.initiative(i).text, "via": "直接"} for i in initiatives]
    goals = {g for s in situations for g in matrix.situation(s).goals}
    for x in matrix.initiative_list:
        if x.id not in seen and goals.intersection(x.goals):
            out.append({"link": "取組", "link_id": x.id, "link_text": x.text, "via": "現状→具体像→取組"})
            seen.add(x.id)
    return out


def kpi_frame(matrix: PolicyMatrix, codebook: Codebook) -> pd.DataFrame:
    """The KPI table's rows without values: each 取組 with the indicators that should show its effect.

    A 取組's indicators are those of the 現状 answered by the 具体像 it serves (each measured
    quantity once per 取組). Columns: :data:`KPI_COLUMNS` up to ``statistic``. Used by
    :func:`kpi_table` (values from a wave) and by the wave comparison (values from a frozen
    baseline and the new wave).
    """
    matrix.check_codebook(codebook)
    rows = []
    for x in matrix.initiative_list:
        sits = [s for s in matrix.situation_list if set(s.goals) & set(x.goals)]
        chosen: dict[tuple, list] = {}
        for s in sits:
            for ind in s.indicators:
                chosen.setdefault(ind.signature, [ind, []])[1].append(s.id)
        for ind, sit_ids in chosen.values():
            rows.append({"initiative_id": x.id, "取組": x.text, "goal_ids": ",".join(x.goals),
                         "situation_ids": ",".join(sit_ids), "indicator_id": ind.id,
                         "indicator": describe(ind, codebook, min_base=matrix.min_base),
                         "indicator_key": _key(ind, codebook), "question": ind.question, "statistic": ind.statistic})
    return pd.DataFrame(rows, columns=list(KPI_COLUMNS[:KPI_COLUMNS.index("statistic") + 1]))


def kpi_table(matrix: PolicyMatrix, responses: pd.DataFrame, design: StratifiedDesign,
              codebook: Codebook, *, min_group: int = DEFAULT_MIN_GROUP) -> pd.DataFrame:
    """KPIs for each 取組: the indicators that should move if it works, their baseline, and a blank for next year.

    A 取組's indicators are those of the 現状 answered by the 具体像 it serves (each measured
    quantity once per 取組). ``next_value`` is NaN, to be filled by the wave comparison; for shares
    and top-2 boxes over 全体, ``indicator_key`` is the comparison's key (``q5:opt:3``,
    ``q3:choice:2``, ``q6:top2``), so ``compare.kpi_values(changes)[key]`` fills it.

    Returns
    -------
    DataFrame
        :data:`KPI_COLUMNS`, one row per (取組, indicator): ``baseline`` with ``ci_low``/``ci_high``
        and ``n`` as in :func:`evaluate` (an association's baseline is its p-value, without CI).
    """
    evidence = evaluate(matrix, responses, design, codebook, min_group=min_group).set_index("indicator_id")
    out = kpi_frame(matrix, codebook)
    out["indicator"] = evidence.loc[out["indicator_id"], "indicator"].to_numpy()
    for col, src in (("group", "group"), ("baseline", "value"), ("ci_low", "ci_low"), ("ci_high", "ci_high"),
                     ("n", "n")):
        out[col] = evidence.loc[out["indicator_id"], src].to_numpy()
    out["next_value"] = np.nan
    return out[list(KPI_COLUMNS)]


def _key(ind: Indicator, codebook: Codebook) -> str:
    """The wave comparison's indicator key (ppp_survey.waves.indicator_key), '' where it has none."""
    if ind.in_every:
        return ""
    if ind.statistic == "top2":
        return f"{ind.question}:top2"
    if ind.statistic == "share" and len(ind.codes) == 1:
        kind = "opt" if codebook.item(ind.question).is_multi else "choice"
        return f"{ind.question}:{kind}:{ind.codes[0]}"
    return ""


# ------------------------------------------------------------------------------------- text

def format_evidence(table: pd.DataFrame, *, synthetic: bool = False, min_base: int = 30) -> str:
    """The evidence table as plain text for terminals and notes (% rounded half up to one decimal).

    Parameters
    ----------
    table
        From :func:`evaluate`.
    synthetic
        Say 架空データ in the heading (for the bundled synthetic data).
    min_base
        The base below which rules were not judged (for the legend).
    """
    lines = ["2-(8) 官民連携に対する職員意識等の現状と調査結果" + ("　※架空データ" if synthetic else "")]
    category = situation = None
    for row in table.to_dict("records"):
        if row["区分"] != category:
            category = row["区分"]
            lines += ["", f"■ {category}"]
        if row["situation_id"] != situation:
            situation = row["situation_id"]
            lines.append(f"[{situation}] {row['現状']}")
        lines.append(f"  {row['verdict'].ljust(4, chr(0x3000))} {row['indicator']}")
        lines.append(" " * 11 + f"{_value_text(row)}　規準 {row['rule']}　{row['reason']}")
    lines += ["", _VERDICT_NOTE.format(m=min_base), DESIGN_NOTE, ROUNDING_NOTE]
    return "\n".join(lines) + "\n"


def _value_text(row: dict) -> str:
    n = f"n={int(row['n']):,}"
    group = "" if row["group"] in (ALL, "") else f"{row['group']}："
    v = row["value"]
    if not np.isfinite(v):
        return f"{group}-（{n}）"
    if row["statistic"] == "association":
        return f"{_p(v)}（{n}）"
    if row["statistic"] == "mean":
        return (f"{group}{round_half_up(v, 2):.2f}点（95%CI {round_half_up(row['ci_low'], 2):.2f}–"
                f"{round_half_up(row['ci_high'], 2):.2f}、{n}）")
    return f"{group}{_pct(v)}（95%CI {_pct(row['ci_low'], sign=False)}–{_pct(row['ci_high'])}、{n}）"


def _pct(x: float, *, sign: bool = True) -> str:
    return f"{round_half_up(100 * float(x)):.1f}" + ("%" if sign else "")


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {round_half_up(p, 3):.3f}"


def _codes_text(codes: tuple[int, ...]) -> str:
    return ",".join(str(c) for c in codes)


def _title(item: Item) -> str:
    return re.sub(r"（複数選択可）$", "", item.label)


def _table(responses) -> pd.DataFrame:
    """The respondent table, from a DataFrame or a ``LoadResult`` (its ``responses``)."""
    return responses if isinstance(responses, pd.DataFrame) else responses.responses
