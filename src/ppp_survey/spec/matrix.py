"""The policy matrix of 2-(8): 現状 → めざす具体像 → 具体的な取組, as data (schema, loading, validation).

The committee document turns the survey into policy in a matrix (section 2-(8)): four 区分, fourteen
statements of 現状, ten めざす具体像 and the 具体的な取組 for each. The matrix is data
(``data/policy_matrix_r7.yaml``, schema in its header): each 取組 appears once and links to every
具体像 it serves (the document's 再掲 are links), each 現状 names the survey indicators that speak
to it and a rule that decides whether the data support it.

This module holds the data model (:class:`PolicyMatrix` and its parts) and reads and validates the
file (:func:`load_matrix`): errors name the place in the file. Judging the rules on survey data,
the reverse view and the KPI table are :mod:`ppp_survey.policy.evidence`.

Workflow::

    from ppp_survey import load_codebook
    from ppp_survey.spec.matrix_file import load_matrix
    matrix = load_matrix(codebook=load_codebook())      # validates the file and its references
    matrix.situations(), matrix.goals(), matrix.initiatives(), matrix.links()
    # on survey data: ppp_survey.policy.evidence.evaluate(matrix, analysis)

**Answers are named by their label, never by their number**. A file names a choice by
its label as the codebook writes it (``choices: [基本的なルールやプロセスが体系化されていない]``,
``choice: ある``, the key ``"q3:choice:ある"``), matched with the loader's own matching key
(:func:`~ppp_survey.spec.normalize.normalize_key`: full/half width, spaces, numbering prefixes) against
the choice's label and aliases (:meth:`Choice.keys`). A number would silently name another answer in a
questionnaire numbered in another order, so it is refused. The file as read keeps the labels
(:attr:`Indicator.choices`, :attr:`OptionLink.choice`, keys as written); binding it to a codebook
(:func:`~ppp_survey.spec.matrix_file.check_codebook`, done by :func:`load_matrix` with a codebook and
again by every evaluation with the analysis' codebook) resolves them to that codebook's codes
(:attr:`Indicator.codes`, :attr:`OptionLink.code`, keys ``q3:choice:1``), which the statistics use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from ppp_survey.constants import MIN_BASE
from ppp_survey.errors import MatrixError
from ppp_survey.spec.normalize import normalize_key

if TYPE_CHECKING:
    from ppp_survey.spec.codebook import Choice, Codebook, Item

__all__ = [
    "DEFAULT_MATRIX",
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
    "choice_for_label",
    "is_number",
]

SCHEMA_VERSION = 1
DEFAULT_MATRIX = "policy_matrix_r7.yaml"
STATISTICS = ("share", "top2", "bottom2", "mean", "association", "adjusted")
BASES = ("layout", "interpretation")
FITS = ("direct", "proxy")
FINDING_KINDS = ("top_options", "association")


def choice_for_label(item: Item, ref: object) -> Choice | None:
    """The choice of ``item`` a file names by ``ref``: its label or one of its aliases, compared by
    the loader's matching key (:func:`~ppp_survey.spec.normalize.normalize_key`, the same key an
    export's answers are matched with); None when no choice has it. Never by code or position.

    >>> from ppp_survey import load_codebook
    >>> q3 = load_codebook().item("q3")
    >>> choice_for_label(q3, "ない").code, choice_for_label(q3, "　ない ").label, choice_for_label(q3, "2")
    (2, 'ない', None)
    """
    key = normalize_key(ref)
    return next((c for c in item.choices if key in c.keys()), None)


def is_number(ref: object) -> bool:
    """Whether a YAML value naming a choice is a number (``5``, not ``"5"``): the form the loader refuses,
    since a choice's number changes from one questionnaire to the next (a quoted ``"5"`` is read as a label)."""
    return isinstance(ref, (int, float)) and not isinstance(ref, bool)


# ------------------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Rule:
    """A decision rule: ``value op threshold`` (op ``<``, ``<=``, ``>``, ``>=``; shares as fractions),
    or ``p < threshold`` for an association (``op == "p<"``), or ``OR > 1`` / ``OR < 1`` for an
    adjusted association (op ``>``/``<``, threshold 1). ``text`` is the rule as printed."""

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
    codes: tuple[int, ...] = ()  # the choices' codes in the codebook the matrix is bound to; () unbound
    by: str | None = None
    in_every: str | None = None
    fit: str = "direct"
    note: str = ""
    where: str = field(default="", compare=False, repr=False)
    # statistic "adjusted": the odds ratio of `term` for `response`, adjusted for `controls`
    response: str | None = None  # an indicator key, e.g. "q2:top2"
    term: str | None = None  # a 0/1 indicator key, e.g. "q6:top2" (the lever)
    controls: tuple[str, ...] = ()  # attribute ids or indicator keys, e.g. ("domain", "position", "age")
    # the choices as the file names them (labels): `codes` is their resolution
    choices: tuple[str, ...] = ()

    @property
    def model_terms(self) -> tuple[str, ...]:
        """An adjusted association's model terms: the controls, then the term (the lever)."""
        return (*self.controls, self.term) if self.term else ()

    @property
    def signature(self) -> tuple:
        """What is measured (not the rule): indicators with equal signatures have equal values."""
        return (
            self.question,
            self.statistic,
            self.codes,
            self.by,
            self.in_every,
            self.response,
            self.term,
            self.controls,
        )


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
    """A multi-select option (difficulty, support) and the 現状 / 取組 it speaks to: ``choice`` as the
    file names it (its label), ``code`` its code in the codebook the matrix is bound to (None unbound)."""

    question: str
    choice: str
    code: int | None = None
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
    """A validated policy matrix. Build it with :func:`load_matrix`; it never changes.

    ``model`` is the file's ``associations`` entry, the association model the report fits and
    shows (``analyse(model=matrix.model)``): ``(response, terms)``, e.g. ``("q2:top2", ("domain",
    "position", "age", "q3:choice:1", "q6:top2"))`` once bound to a codebook (the file writes
    ``"q3:choice:ある"``); None when the file has none (the package's default model then).

    ``codebook`` is the codebook its references were resolved against (None: as read, unbound) and
    ``written`` the matrix as read, from which :func:`~ppp_survey.spec.matrix_file.check_codebook`
    binds it again to another codebook.
    """

    title: str
    source: str
    categories: tuple[Category, ...]
    situation_list: tuple[Situation, ...]
    goal_list: tuple[Goal, ...]
    initiative_list: tuple[Initiative, ...]
    option_links: tuple[OptionLink, ...] = ()
    findings: tuple[Finding, ...] = ()
    codebook_name: str = ""
    min_base: int = MIN_BASE
    model: tuple[str, tuple[str, ...]] | None = None
    path: str = ""
    lines: tuple[tuple[str, int], ...] = field(default=(), compare=False, repr=False)  # key path → line, for messages
    codebook: Codebook | None = field(default=None, compare=False, repr=False)
    written: PolicyMatrix | None = field(default=None, compare=False, repr=False)

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
        return pd.DataFrame(
            [
                {
                    "category_id": s.category,
                    "区分": self.category(s.category).label,
                    "situation_id": s.id,
                    "現状": s.text,
                }
                for s in self.situation_list
            ]
        )

    def goals(self) -> pd.DataFrame:
        """The めざす具体像: ``goal_id, 具体像, note``, in the document's order."""
        return pd.DataFrame([{"goal_id": g.id, "具体像": g.text, "note": g.note} for g in self.goal_list])

    def initiatives(self) -> pd.DataFrame:
        """The 取組, each once: ``initiative_id, 取組, goal_ids`` (comma-separated, first = 初出)."""
        return pd.DataFrame(
            [{"initiative_id": i.id, "取組": i.text, "goal_ids": ",".join(i.goals)} for i in self.initiative_list]
        )

    def links(self) -> pd.DataFrame:
        """Edges ``kind, from_id, from_text, to_id, to_text, repost, basis, note``.

        ``kind`` is ``現状→具体像`` (``basis`` layout/interpretation, as in the file) or ``具体像→取組``
        (``repost`` True where the document prints the 取組 again with （再掲））.
        """
        rows = [
            {
                "kind": "現状→具体像",
                "from_id": s.id,
                "from_text": s.text,
                "to_id": g,
                "to_text": self.goal(g).text,
                "repost": False,
                "basis": s.basis,
                "note": s.note,
            }
            for s in self.situation_list
            for g in s.goals
        ]
        goal_order = {g.id: k for k, g in enumerate(self.goal_list)}
        edges = [
            (goal_order[g], k, i, g, j > 0) for k, i in enumerate(self.initiative_list) for j, g in enumerate(i.goals)
        ]
        rows += [
            {
                "kind": "具体像→取組",
                "from_id": g,
                "from_text": self.goal(g).text,
                "to_id": i.id,
                "to_text": i.text,
                "repost": repost,
                "basis": "document",
                "note": "",
            }
            for _, _, i, g, repost in sorted(edges, key=lambda e: e[:2])
        ]
        return pd.DataFrame(rows)

    def indicators(self) -> pd.DataFrame:
        """The indicators as specified: ``situation_id, indicator_id, question, statistic, choices
        (labels as written, joined by 「／」), codes (resolved; '' unbound), by, in_every, rule, fit, note``."""
        return pd.DataFrame(
            [
                {
                    "situation_id": s.id,
                    "indicator_id": i.id,
                    "question": i.question,
                    "statistic": i.statistic,
                    "choices": "／".join(i.choices),
                    "codes": codes_text(i.codes),
                    "by": i.by,
                    "in_every": i.in_every,
                    "rule": i.rule.text,
                    "fit": i.fit,
                    "note": i.note,
                }
                for s in self.situation_list
                for i in s.indicators
            ]
        )


def codes_text(codes: tuple[int, ...]) -> str:
    return ",".join(str(c) for c in codes)
