"""Labels and limits every layer shares: one definition each.

Nothing here imports from the package; every module may import from here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, NoReturn

#: The row or group of all respondents (全体) in every table, chart and change table.
ALL = "全体"
#: The answer category of respondents who left a question blank (item nonresponse).
NO_ANSWER = "無回答"
#: Smallest base reported without the 参考値 flag, tested for marks, or judged in the policy matrix.
MIN_BASE = 30
#: Anonymity threshold: groups of fewer respondents are never published on their own.
DEFAULT_MIN_GROUP = 10
#: The action recorded for a hidden cell (audit sheets, change tables).
SUPPRESSED = "秘匿"


class Option(StrEnum):
    """A fixed set of values an option takes, named once: ``Adjust("bh")`` is ``Adjust.BH``.

    Each subclass names its option, ``class Adjust(Option, option="adjust")``, and converting a value
    outside the set raises a :class:`ValueError` that names the option and its values
    (``adjust must be one of 'none', 'holm', 'bh', got 'bonferroni'``). A member is its string
    (``Adjust.BH == "bh"``, ``str(Adjust.BH) == "bh"``, ``json.dumps`` writes ``"bh"``), so
    functions take either and what is written out is the plain value.
    """

    _option_name: ClassVar[str]  # the option's name in messages (set by each subclass)

    def __init_subclass__(cls, *, option: str = "value", **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._option_name = option

    @classmethod
    def _missing_(cls, value: object) -> NoReturn:
        allowed = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"{cls._option_name} must be one of {allowed}, got {value!r}")


class MarkRule(Option, option="marks"):
    """How a クロス集計's cell tests (each group against the rest) are adjusted before ▲▼△▽.

    The cell test is a score test without finite population correction
    (:func:`~ppp_survey.survey.significance.versus_rest_score_arrays`). ``holm`` (default): Holm's
    step-down adjustment over every tested cell of the table (all options × groups of a
    multi-select question), which keeps the chance of any false mark in a table at or below 5%:
    measured on the generator's null waves (no group differs), about 3% of 2,100 tables (21 tables ×
    100 waves) showed a false mark.
    ``bh``: Benjamini–Hochberg (false discovery rate 5%; the same rate when no group differs).
    ``protected``: the first release's rule, unadjusted cell tests shown when the table's
    Rao–Scott test (without the FPC) is significant at 5% (a false mark in about a fifth of the same
    null tables, half while the table test kept the FPC; kept for comparison).
    """

    HOLM = "holm"
    BH = "bh"
    PROTECTED = "protected"


#: The legend of each mark rule, as printed under tables and charts.
MARK_RULE_TEXT = {
    MarkRule.HOLM: "各区分とその他の回答者の差の検定（スコア検定）を表内の全セルでHolm法により多重比較調整"
    "（差がないときに誤った記号が出る表は5%以下、実測で約3%。表が21ある報告書全体では約半数の報告書のどこかに1つ以上出る）",
    MarkRule.BH: "各区分とその他の回答者の差の検定（スコア検定）を表内の全セルでBenjamini–Hochberg法により調整（偽発見率5%）",
    MarkRule.PROTECTED: "表全体の関連（Rao–Scott検定）が5%水準で有意な場合のみ表示（セルごとの調整なし）",
}

#: The same, short enough for a chart's footer.
MARK_RULE_SHORT = {
    MarkRule.HOLM: "Holm法で調整",
    MarkRule.BH: "BH法で調整",
    MarkRule.PROTECTED: "表全体の検定が有意な場合のみ",
}
