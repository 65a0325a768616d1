"""Labels and limits every layer shares: one definition each.

Nothing here imports from the package; every module may import from here.
"""

from __future__ import annotations

from enum import StrEnum

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


class MarkRule(StrEnum):
    """How a クロス集計's cell tests (group vs the rest) are adjusted for multiplicity before ▲▼△▽.

    ``protected`` (default for now): unadjusted cell tests, shown only when the table's Rao–Scott
    test is significant at 5%. ``holm``: Holm's step-down adjustment over every tested cell of the
    table (all options × groups of a multi-select question). ``bh``: Benjamini–Hochberg (false
    discovery rate). Measured false-mark rates per table (answers permuted across respondents,
    issue 16) are above 5% for every rule: the default stays the first release's until the cell
    test itself holds its level for small groups and rare answers.
    """

    HOLM = "holm"
    BH = "bh"
    PROTECTED = "protected"


#: The legend of each mark rule, as printed under tables and charts.
MARK_RULE_TEXT = {
    MarkRule.HOLM: "表内の全セルの検定をHolm法で多重比較調整",
    MarkRule.BH: "表内の全セルの検定をBenjamini–Hochberg法で調整（偽発見率5%）",
    MarkRule.PROTECTED: "表全体の関連（Rao–Scott検定）が5%水準で有意な場合のみ表示（セルごとの調整なし）",
}

#: The same, short enough for a chart's footer.
MARK_RULE_SHORT = {
    MarkRule.HOLM: "Holm法で調整",
    MarkRule.BH: "BH法で調整",
    MarkRule.PROTECTED: "表全体の検定が有意な場合のみ",
}
