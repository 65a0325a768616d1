"""Evidence for each 現状 of the policy matrix: its rules judged on the survey's design-based estimates.

The policy matrix (:mod:`ppp_survey.spec.matrix`) says which survey indicators speak to each 現状 and
by which rule; this module computes them on a wave's respondents and design and judges each rule on
the design-based estimate's 95% confidence interval (not on the point estimate alone), so that a
verdict carries the sampling uncertainty of the survey. It also gives the other readings of the same matrix: the reverse view (from
each finding the package reports to the 現状 and 取組 it speaks to), the KPI table (for each 取組,
the indicators that should move if it works, with their baseline). The matrix never depends on
this module; the sheets and HTML page are :mod:`ppp_survey.outputs.matrix_sheets`, the evidence as
plain text :func:`ppp_survey.outputs.evidence_text.format_evidence`.

Workflow::

    from ppp_survey import load_survey
    from ppp_survey.spec.matrix_file import load_matrix
    from ppp_survey.policy.evidence import evaluate
    from ppp_survey.outputs.evidence_text import format_evidence
    survey = load_survey("data/raw/synthetic_r7_responses.xlsx", "data/raw/staff_frame_r7.csv")
    matrix = load_matrix(codebook=survey.codebook)      # validates the file and its references
    evidence = evaluate(matrix, survey.analysis)        # values read from the analysis' tables
    print(format_evidence(evidence, synthetic=True))

**Verdicts.** A threshold rule (``"< 50%"``, ``">= 30%"``, ``"> 2.5"``) is read against the
design-based estimate's 95% interval (:mod:`ppp_survey.survey.tables`): 支持 when the whole interval lies
on the rule's side of the threshold, 不支持 when it lies wholly on the other side, 判定不能 when it
straddles the threshold or fewer than ``min_base`` (30) answered. ``in_every`` rules must hold in
every group (職域) with at least ``min_base`` answers; smaller groups are 参考値 and not judged, as
in the package's crosstabs. An association rule (``"p < 0.05"``) reads the Rao–Scott test of the
question by an attribute: 支持 when p is below the rule's level, 不支持 otherwise, 判定不能 when fewer than
``min_base`` answered or the test cannot be computed. An association with control (``statistic:
adjusted``, rule ``"OR > 1"``/``"OR < 1"``) reads the odds ratio of a 0/1 term (the lever,
e.g. 2-(6) 肯定的回答) for a response (2-(2) 肯定的回答) in a logistic model with the controls
(職域, 職位, 年代, …; :meth:`Analysis.association_for`, design-based SEs, no FPC, raked weights with
``--calibrate``): 支持 when its 95% interval lies wholly on the rule's side of 1, 不支持 when wholly
on the other side, 判定不能 when it straddles 1, fewer than ``min_base`` respondents enter the
model, or the model cannot be fitted (the reason names why). Each rule is judged on its own (no
multiplicity adjustment).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ppp_survey.analysis import Analysis
from ppp_survey.constants import ALL, MIN_BASE
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.matrix import Finding, Indicator, PolicyMatrix, Rule, codes_text
from ppp_survey.spec.matrix_file import check_codebook
from ppp_survey.survey.associations import AdjustedAssociation, adjusted_association, key_label
from ppp_survey.survey.indicators import MEASURE_LABEL, Measure, bottom2, top2
from ppp_survey.text import round_half_up

__all__ = [
    "EVIDENCE_COLUMNS",
    "describe",
    "evaluate",
    "odds_ratio_text",
]

SUPPORTED, NOT_SUPPORTED, UNDECIDED = "支持", "不支持", "判定不能"

#: Columns of :func:`evaluate`.
EVIDENCE_COLUMNS = (
    "category_id",
    "区分",
    "situation_id",
    "現状",
    "indicator_id",
    "indicator",
    "question",
    "statistic",
    "codes",
    "group",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "rule",
    "verdict",
    "reason",
    "fit",
    "note",
)


# ------------------------------------------------------------------------------------- evidence


class _Measures:
    """Reads each indicator's numbers from an :class:`~ppp_survey.analysis.Analysis`: its tables,
    already suppressed for anonymity; nothing is estimated twice."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis

    def groups(self, ind: Indicator) -> pd.DataFrame:
        """``group, value, ci_low, ci_high, n, suppressed`` of a threshold indicator (全体, or each
        group of in_every)."""
        a, by = self.analysis, ind.in_every
        if ind.statistic in ("top2", "bottom2", "mean"):
            t = a.likert_for(ind.question, Measure(ind.statistic), by=by)
        elif len(ind.codes) == 1:
            t = a.tally(ind.question, by=by)
            t = t[t["code"] == ind.codes[0]]
            if by is not None:
                t = t[t["group"] != ALL]
        else:  # several choices: the share choosing any of them, with the same estimator as tally
            t = a.share_of_any(ind.question, ind.codes, by=by)
        return pd.DataFrame(
            {
                "group": t["group"].astype(str).to_numpy(),
                "value": t["estimate"].to_numpy(float),
                "ci_low": t["ci_low"].to_numpy(float),
                "ci_high": t["ci_high"].to_numpy(float),
                "n": t["base_n"].to_numpy(int),
                "suppressed": t["suppressed"].to_numpy(bool),
            }
        )

    def adjusted(self, ind: Indicator) -> AdjustedAssociation:
        """The adjusted odds ratio of ``ind.term``, from the analysis' logistic model of
        ``ind.response`` on the controls and the term (:meth:`Analysis.association_for`: fitted once
        per model, on the weights of the association models, raked with ``--calibrate``). Raises
        ``ValueError`` when the model cannot be fitted."""
        if ind.response is None or not ind.model_terms:
            raise ValueError(f"{ind.id}: an adjusted association needs a response and a term")
        model = self.analysis.association_for(ind.response, ind.model_terms)
        return adjusted_association(model, str(ind.term))

    def association(self, ind: Indicator) -> tuple[float, int]:
        item = self.analysis.codebook.item(ind.question)
        tests = self.analysis.crosstabs[(item.id, association_by(ind))].tests
        row = tests[tests["code"] == ind.codes[0]] if item.is_multi else tests
        return float(row["p_value"].iloc[0]), int(row["n"].iloc[0])


def association_by(x: Indicator | Finding) -> str:
    """The attribute an association is tested by (the matrix loader requires ``by`` of one)."""
    if x.by is None:
        raise ValueError(f"{x.id}: an association needs 'by', the attribute it is tested by")
    return x.by


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
    tested = groups[(groups["n"] >= min_base) & ~groups["suppressed"]]
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


def evaluate(
    matrix: PolicyMatrix,
    analysis: Analysis,
    *,
    min_base: int | None = None,
    alpha: float | None = None,
) -> pd.DataFrame:
    """The evidence table: each 現状's indicators on the data, with value, 95% CI, n and verdict.

    Parameters
    ----------
    matrix
        From :func:`load_matrix`; its references are checked against the analysis' codebook here.
    analysis
        The wave's :class:`~ppp_survey.analysis.Analysis`: every value is read from its tables
        (already suppressed for anonymity), never estimated again.
    min_base
        Overrides the file's ``defaults.min_base`` (30 answers).
    alpha
        Overrides the level of every association rule (by default each rule's own, ``p < 0.05``).

    An ``in_every`` rule judges and shows only groups with a base of at least
    ``max(min_base, analysis.min_group)`` that the analysis published (a group suppressed for
    anonymity, including a complementary one, is never named with a value).

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
    codebook = analysis.codebook
    matrix = check_codebook(matrix, codebook)  # bound to this codebook: its codes, from the labels
    min_base = matrix.min_base if min_base is None else min_base
    measures = _Measures(analysis)
    min_group = analysis.min_group
    rows = []
    for s in matrix.situation_list:
        for ind in s.indicators:
            rows.append(
                {
                    "category_id": s.category,
                    "区分": matrix.category(s.category).label,
                    "situation_id": s.id,
                    "現状": s.text,
                    **_judge(ind, measures, codebook, min_base, alpha, min_group),
                }
            )
    return pd.DataFrame(rows, columns=list(EVIDENCE_COLUMNS))


def _judge(
    ind: Indicator,
    measures: _Measures,
    codebook: Codebook,
    min_base: int,
    alpha: float | None,
    min_group: int,
) -> dict:
    base = {
        "indicator_id": ind.id,
        "indicator": describe(ind, codebook, min_base=min_base),
        "question": ind.question,
        "statistic": ind.statistic,
        "codes": codes_text(ind.codes),
        "fit": ind.fit,
        "note": ind.note,
    }
    if ind.statistic == "adjusted":
        return {**base, **_judge_adjusted(ind, measures, min_base)}
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
        return {
            **base,
            "group": ALL,
            "value": p,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n": n,
            "rule": rule,
            "verdict": verdict,
            "reason": reason,
        }
    groups = measures.groups(ind)
    if ind.in_every is None:
        g = groups.iloc[0]
        verdict, reason = _threshold_verdict(ind.rule, g["ci_low"], g["ci_high"], int(g["n"]), min_base)
    else:
        judged = max(min_base, min_group)  # a group below the anonymity threshold is never shown
        g, verdict, reason, skipped = _every_group(ind.rule, groups, judged)
        if skipped:
            reason += f"（基数{judged}未満で判定外：{'、'.join(skipped)}）"
        hidden = groups.loc[groups["suppressed"] & (groups["n"] >= judged), "group"].tolist()
        if hidden:  # suppressed as the complement of a small group: not judged, not shown
            reason += f"（秘匿のため判定外：{'、'.join(hidden)}）"
        if g is None:
            return {
                **base,
                "group": "",
                "value": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "n": 0,
                "rule": ind.rule.text,
                "verdict": verdict,
                "reason": reason,
            }
    return {
        **base,
        "group": str(g["group"]),
        "value": float(g["value"]),
        "ci_low": float(g["ci_low"]),
        "ci_high": float(g["ci_high"]),
        "n": int(g["n"]),
        "rule": ind.rule.text,
        "verdict": verdict,
        "reason": reason,
    }


def _judge_adjusted(ind: Indicator, measures: _Measures, min_base: int) -> dict:
    """An association with control: the adjusted odds ratio's 95% interval against 1 (支持 wholly on
    the rule's side, 不支持 wholly on the other, 判定不能 straddling 1, base < ``min_base``, or a model
    that cannot be fitted, with the reason)."""
    try:
        odds = measures.adjusted(ind)
    except ValueError as exc:  # RegressionError: separation, a term without variation, …
        return {
            "group": ALL,
            "value": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n": 0,
            "rule": ind.rule.text,
            "verdict": UNDECIDED,
            "reason": f"回帰モデルを推定できない：{exc}",
        }
    verdict, reason = _threshold_verdict(ind.rule, odds.ci_low, odds.ci_high, odds.n, min_base)
    return {
        "group": ALL,
        "value": odds.odds_ratio,
        "ci_low": odds.ci_low,
        "ci_high": odds.ci_high,
        "n": odds.n,
        "rule": ind.rule.text,
        "verdict": verdict,
        "reason": reason.replace("95%CI", "オッズ比の95%CI"),
    }


def describe(ind: Indicator, codebook: Codebook, *, min_base: int = MIN_BASE) -> str:
    """A human-readable Japanese description of an indicator, from the codebook's wording.

    >>> from ppp_survey import load_codebook
    >>> from ppp_survey.policy.evidence import describe
    >>> from ppp_survey.spec.matrix_file import load_matrix
    >>> m = load_matrix()
    >>> describe(m.situation("s8").indicators[0], load_codebook())
    '2-(6) 庁内で官民連携を相談しやすい雰囲気・仕組みがあると感じるか：肯定的回答（「感じる」＋「どちらかといえば感じる」）の割合'
    """
    item = codebook.item(ind.question)
    head = f"{item.number or item.id} {_title(item)}："  # the document's number, not the internal id
    if ind.statistic == "adjusted":
        controls = "・".join(key_label(codebook, c) for c in ind.controls)
        adjusted = f"{controls}を調整したオッズ比" if controls else "調整なしのオッズ比"
        body = (
            f"「{key_label(codebook, str(ind.term))}」と「{key_label(codebook, str(ind.response))}」の関連"
            f"（{adjusted}、ロジスティック回帰）"
        )
        return head + body + ("［間接指標］" if ind.fit == "proxy" else "")
    labels = [item.choice(c).label for c in ind.codes]
    if ind.statistic == "share":
        quoted = "「" + "」「".join(labels) + "」"
        if item.is_multi:
            body = f"{quoted}を選んだ割合" if len(labels) == 1 else f"{quoted}のいずれかを選んだ割合"
        else:
            body = f"「{'」または「'.join(labels)}」の割合"
    elif ind.statistic in ("top2", "bottom2"):
        ends = top2(item) if ind.statistic == Measure.TOP2 else bottom2(item)
        kind = MEASURE_LABEL[Measure(ind.statistic)]
        body = f"{kind}（「{ends[0].label}」＋「{ends[1].label}」）の割合"
    elif ind.statistic == "mean":
        scores = [c.score for c in item.choices if c.score is not None]
        body = f"平均点（{min(scores):g}〜{max(scores):g}点）"
    else:
        by = codebook.item(association_by(ind)).label
        body = (f"「{labels[0]}」の選択率の{by}による違い" if labels else f"回答の{by}による違い") + "（Rao–Scott検定）"
    if ind.in_every:
        by = codebook.item(ind.in_every).label
        body += f"（各{by}で。基数{min_base}未満の{by}は判定外）"
    if ind.fit == "proxy":
        body += "［間接指標］"
    return head + body


def odds_ratio_text(value: float, low: float, high: float) -> str:
    """An odds ratio with its 95% interval as printed: ``オッズ比 2.45（1.82–3.30）`` (two decimals, half up)."""
    r = round_half_up
    return f"オッズ比 {r(value, 2):.2f}（{r(low, 2):.2f}–{r(high, 2):.2f}）"


def _title(item: Item) -> str:
    return re.sub(r"（複数選択可）$", "", item.label)
