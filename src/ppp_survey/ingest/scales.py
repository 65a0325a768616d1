"""Japanese answer scales: which choices are one scale's wordings, in what order, scored how.

A questionnaire writes a scale's points as wordings, not numbers: 重要である／どちらかといえば重要である／
どちらかといえば重要ではない／重要ではない, そう思う／ややそう思う／どちらともいえない／…, 満足／やや不満…,
ある／ない. :func:`scale_point` places one wording: a strength word (とても…, どちらかといえば…,
やや…, あまり…) gives the level, a negative ending (…ない, …ではない, …ません) or an antonym (不満,
不要, いいえ) the side, 「どちらともいえない」 the middle; 「わからない」 and the like lie off the scale.
:func:`read_scale` decides whether a question's choices are one scale (both sides present, no level
twice, the negative wordings negating the positive ones) and gives their order, the positive end
first, their scores (4…1 or 5…1; 1/0 for a two-point ある／ない) and the scale's
:class:`~ppp_survey.spec.codebook.Polarity`, read from the question's text
(:func:`unfavourable`: 難しい, 課題, 負担… make the high end the unfavourable one).

Everything is decided on matching keys (:func:`~ppp_survey.spec.normalize.normalize_key`), so the
export's spellings (half-width, spaces) do not matter. Used by init-codebook's draft
(:mod:`ppp_survey.ingest.draft`), which writes what is recognised here into the draft codebook.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ppp_survey.spec.codebook import Polarity
from ppp_survey.spec.normalize import normalize_key

__all__ = ["Scale", "read_scale", "scale_point", "unfavourable"]

_DONT_KNOW = {  # answers off the scale: no score, listed last
    normalize_key(s)
    for s in ("わからない", "分からない", "わかりません", "分かりません", "判断できない", "該当しない", "答えたくない")
}
_MIDDLE = {normalize_key(s) for s in ("どちらともいえない", "どちらとも言えない", "どちらでもない", "ふつう", "普通")}
_INTENSITY = (  # (level, prefixes): level 3 strong, 2 plain (no prefix), 1 weak
    (
        1,
        (
            "どちらかといえば",
            "どちらかと言えば",
            "どちらかというと",
            "どちらかと言うと",
            "ある程度",
            "やや",
            "まあ",
            "まぁ",
            "少し",
            "多少",
            "あまり",
        ),
    ),
    (3, ("とても", "非常に", "大変", "たいへん", "かなり", "強く", "十分", "全く", "まったく", "全然", "ぜんぜん")),
)
_NEGATIONS = (  # (negative ending, positive ending): 重要ではない → 重要である, 感じない → 感じる, 思わない → 思う
    ("ではない", "である"),
    ("ではない", ""),
    ("でない", "である"),
    ("でない", ""),
    ("じゃない", ""),
    ("ない", "ある"),
    ("ない", "る"),
    ("ない", ""),
    ("わない", "う"),
    ("らない", "る"),
    ("かない", "く"),
    ("たない", "つ"),
    ("まない", "む"),
    ("ばない", "ぶ"),
    ("さない", "す"),
    ("くない", "い"),
    ("ません", "ます"),
)
_ANTONYMS = {
    "不満": "満足",
    "不満足": "満足",
    "不十分": "十分",
    "不要": "必要",
    "反対": "賛成",
    "いいえ": "はい",
    "なし": "あり",
}
#: A question whose favourable answer is the lower end (choosing more difficulties is worse).
_WORSE = re.compile("難し|困|課題|問題|不安|負担|悩|障害|障壁|ストレス|不満")


def unfavourable(text: str) -> bool:
    """Whether a question's text (or a scale's top wording) names something unfavourable (難しい,
    困る, 課題, 負担, 不満…): the more of it chosen, or the higher on its scale, the worse."""
    return _WORSE.search(text) is not None


def scale_point(label: str) -> tuple[int, frozenset[str]] | None:
    """Where a scale's choice lies: ``(signed level, positive forms)``, or None for 「わからない」
    (no place on the scale). The level is 3 (とても…), 2 (plain) or 1 (どちらかといえば…, やや…,
    あまり…), negative for a negative wording (…ない, …ではない, 不満); 0 is 「どちらともいえない」.
    The positive forms are the wordings the choice negates (「どちらかといえば重要ではない」 →
    {重要である, 重要, …}): choices of one scale share one.

    >>> scale_point("どちらかといえば意欲がない")[0], "意欲がある" in scale_point("意欲がない")[1]
    (-1, True)
    """
    key = normalize_key(label)
    if key in _DONT_KNOW:
        return None
    if key in _MIDDLE:
        return 0, frozenset()
    level = 2
    for lv, prefixes in _INTENSITY:
        prefix = next((p for p in prefixes if key.startswith(p) and len(key) > len(p)), None)
        if prefix:
            key, level = key[len(prefix) :], lv
            break
    if key in _ANTONYMS:
        return -level, frozenset({_ANTONYMS[key]})
    forms = {key[: len(key) - len(neg)] + pos for neg, pos in _NEGATIONS if key.endswith(neg)} - {""}
    return (-level, frozenset(forms)) if forms else (level, frozenset({key}))


@dataclass(frozen=True)
class Scale:
    """A question's choices read as one scale (positions are indices into the labels given to
    :func:`read_scale`)."""

    #: The choices on the scale, highest level (the positive end) first.
    order: tuple[int, ...]
    #: Their scores, in that order: n…1, or 1/0 for a two-point scale.
    scores: tuple[int, ...]
    #: The choices off the scale (「わからない」…), in the order given: no score.
    off_scale: tuple[int, ...]
    #: Higher is better, unless the question or the top wording is :func:`unfavourable`.
    polarity: Polarity
    #: Whether the positive and the negative side have the same levels (a scale missing a point
    #: nobody chose, ややそう思う without あまりそう思わない, does not).
    balanced: bool

    @property
    def binary(self) -> bool:
        """A two-point scale (ある／ない): scored 1/0, a single-answer question rather than likert."""
        return len(self.order) == 2


def read_scale(labels: Sequence[str], question: str) -> Scale | None:
    """``labels`` as one scale's wordings (see :func:`scale_point`), or None when they are not:
    one side missing, a level twice, or negative wordings that do not negate the positive ones.
    ``question``: the question's text, for the polarity."""
    points = [(i, scale_point(label)) for i, label in enumerate(labels)]
    on_scale = [(i, p) for i, p in points if p is not None]
    levels = [p[0] for _, p in on_scale]
    sides = [p[1] for _, p in on_scale if p[0] != 0]
    if not (any(v > 0 for v in levels) and any(v < 0 for v in levels)) or len(set(levels)) != len(levels):
        return None
    if not frozenset.intersection(*sides):
        return None  # the wordings do not negate one another: not one scale
    order = tuple(i for i, _ in sorted(on_scale, key=lambda ip: -ip[1][0]))
    n = len(order)
    scores = tuple(1 - k if n == 2 else n - k for k in range(n))
    worse = unfavourable(question) or unfavourable(labels[order[0]])
    positive = sorted(v for v in levels if v > 0)
    negative = sorted(-v for v in levels if v < 0)
    return Scale(
        order=order,
        scores=scores,
        off_scale=tuple(i for i, p in points if p is None),
        polarity=Polarity.HIGHER_IS_WORSE if worse else Polarity.HIGHER_IS_BETTER,
        balanced=positive == negative,
    )
