"""What an indicator is: the one place that defines 肯定的回答 / 否定的回答 / 平均点, polarity's
effect on them, and the key under which a wave comparison stores an indicator.

Every module that needs the favourable end of a scale (tables, the comparison, the policy matrix's
evidence, the diverging bar chart) asks here, so the rule cannot drift between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ppp_survey.spec.codebook import Choice, Item, Polarity

__all__ = [
    "MEASURE_LABEL",
    "IndicatorKey",
    "IndicatorKind",
    "Measure",
    "bottom2",
    "favourable_first",
    "top2",
]


class Measure(StrEnum):
    """The summaries of a Likert question (:func:`~ppp_survey.survey.tables.likert_summary`)."""

    TOP2 = "top2"
    BOTTOM2 = "bottom2"
    MEAN = "mean"


#: How each measure is named in tables and charts.
MEASURE_LABEL = {Measure.TOP2: "肯定的回答", Measure.BOTTOM2: "否定的回答", Measure.MEAN: "平均点"}


def favourable_first(item: Item) -> list[Choice]:
    """The scored choices from the favourable end to the unfavourable end.

    For ``higher_is_better`` (and ``neutral``) items the highest score comes first; for
    ``higher_is_worse`` the lowest. Off-scale choices (わからない, no score) are left out.
    """
    scored = item.choices_by_score()
    return scored[::-1] if item.polarity == Polarity.HIGHER_IS_WORSE else scored


def top2(item: Item) -> list[Choice]:
    """The two choices of 肯定的回答 (top-2 box): the favourable end of the scale."""
    return favourable_first(item)[:2]


def bottom2(item: Item) -> list[Choice]:
    """The two choices of 否定的回答 (bottom-2 box): the unfavourable end of the scale."""
    return favourable_first(item)[-2:]


class IndicatorKind(StrEnum):
    """What a comparison indicator measures."""

    CHOICE = "choice"  # the share of one choice of a single-answer or Likert question
    TOP2 = "top2"  # the top-2 box of a Likert question
    OPTION = "option"  # the share choosing one option of a multi-select question
    RATE = "rate"  # the response rate


@dataclass(frozen=True)
class IndicatorKey:
    """The key of a comparison indicator. ``str()`` gives the form stored in change tables, frozen
    baselines and the KPI table: ``q3:choice:1``, ``q6:top2``, ``q5:opt:3``, ``rate``."""

    kind: IndicatorKind
    question: str = ""
    code: int | None = None

    def __str__(self) -> str:
        if self.kind == IndicatorKind.RATE:
            return "rate"
        if self.kind == IndicatorKind.TOP2:
            return f"{self.question}:top2"
        return f"{self.question}:{'opt' if self.kind == IndicatorKind.OPTION else 'choice'}:{self.code}"

    @classmethod
    def of_choice(cls, item: Item, code: int | None) -> IndicatorKey:
        """The key of one choice's share (an option of a multi-select item, or a single-answer choice)."""
        return cls(IndicatorKind.OPTION if item.is_multi else IndicatorKind.CHOICE, item.id, code)
