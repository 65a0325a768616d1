"""Labels and limits every layer shares: one definition each.

Nothing here imports from the package; every module may import from here.
"""

from __future__ import annotations

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
