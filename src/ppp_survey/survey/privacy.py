"""Anonymity: no published number depends on which small group a respondent belongs to.

A staff survey is answered because it is anonymous. A group result of a few people can show what
each of them answered, so every group of an attribute (職域, 職位, 年代) with fewer than
``min_group`` respondents answering some question is *pooled* before anything is estimated
(:func:`protect`): merged with the smallest other group(s) of the same attribute until every
published group reaches ``min_group``, and named by joining its members' labels
(「技能労務＋教育・保育」). For 職域 the strata are collapsed too (one stratum with the summed staff
count), so the weights are equal inside a pool. Every table, test, mark, chart, policy evidence,
comparison and frozen baseline is then computed on the pooled groups only (:class:`Pools` records
them). The default threshold is 10, the group size the 厚生労働省 stress-check guideline requires for
group results of staff surveys; it can be raised, and never set below 3.

Suppression (:func:`suppress_cells`: a group under the threshold printed as ``x``, and a second
group so that the 全体 row cannot give it back) remains as a safety net for tables built outside
the analysis; after pooling it finds nothing to hold. On its own it was not enough: the plain
全体 count and the design-based 全体 estimate gave two equations in the two hidden groups (see
:mod:`ppp_survey.survey.audit`, which checks a publication as an attacker would).

Groups whose members all gave the same answer (a 0% or 100% cell) disclose each member's answer
even when the group is large enough; they are listed in the audit with the flag 全員同一回答 for
the analyst to judge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ppp_survey.constants import DEFAULT_MIN_GROUP, NO_ANSWER
from ppp_survey.spec.codebook import Codebook, Item

ABSOLUTE_MIN_GROUP = 3
MARK = "x"
PRIMARY = "基数が閾値未満"
SECONDARY = "二次秘匿（差し引きによる復元の防止）"
UNIFORM = "全員同一回答"
AUDIT_COLUMNS = ("table", "question", "by", "group", "base_n", "action", "reason")


def check_min_group(min_group: int) -> int:
    """Validate the threshold: a whole number of at least 3."""
    if isinstance(min_group, bool) or not isinstance(min_group, (int, np.integer)) or min_group < ABSOLUTE_MIN_GROUP:
        from ppp_survey.errors import PppSurveyError

        raise PppSurveyError(
            f"--min-group {min_group!r}: 匿名性の閾値は{ABSOLUTE_MIN_GROUP}以上の整数で指定する（既定{DEFAULT_MIN_GROUP}）"
        )
    return int(min_group)


def suppressed_groups(bases: pd.Series, min_group: int) -> dict[str, str]:
    """Which groups of one table to suppress, and why.

    Parameters
    ----------
    bases
        Base n per group (index: group label) of one published table.

    Returns
    -------
    dict
        group → reason (:data:`PRIMARY` or :data:`SECONDARY`) for every suppressed group.
    """
    check_min_group(min_group)
    bases = bases.astype(int)
    primary = [g for g, n in bases.items() if 0 < n < min_group]
    out = {g: PRIMARY for g in primary}
    if len(primary) == 1:
        others = bases[[g for g in bases.index if g not in out and bases[g] > 0]]
        if len(others):
            out[others.sort_values(kind="stable").index[0]] = SECONDARY
    return out


def suppress_cells(
    cells: pd.DataFrame,
    min_group: int,
    *,
    table: str,
    question: str,
    by: str,
    value_columns: tuple[str, ...],
    multi: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Suppress the small groups of one tidy table (one row per group × choice or measure).

    Adds ``suppressed`` (bool) and ``suppression`` (reason) columns, sets the value columns of
    suppressed rows to NaN (writers print them as ``x``) and clears their marks and p-values.
    Returns the table and its audit rows (:data:`AUDIT_COLUMNS`), including 全員同一回答 flags:
    a published group whose share is 100% for one choice (everyone gave that answer) or, for a
    multi-select question (``multi=True``), 0% or 100% for some option (everyone did, or nobody
    did, tick it). A flag asks the analyst to look; it does not suppress.
    """
    # plain lists and arrays: this runs once per published table, and pandas' per-call cost
    # would be most of the analysis time
    group_list = cells["group"].tolist()
    first: dict = {}
    for g, n in zip(group_list, cells["base_n"].tolist()):
        first.setdefault(g, n)
    bases = pd.Series(first, dtype=float).rename_axis("group").rename("base_n")
    held = suppressed_groups(bases, min_group)
    out = cells.copy()
    suppressed = np.fromiter((g in held for g in group_list), dtype=bool, count=len(group_list))
    out["suppressed"] = suppressed
    out["suppression"] = [held.get(g, "") for g in group_list]
    cols = [c for c in value_columns if c in out.columns]
    for col in cols:
        if out[col].dtype != np.float64:
            out[col] = out[col].astype(float)
    if held:  # (the usual case is nothing to hold: skip the indexing)
        out.loc[suppressed, cols] = np.nan
        if "mark" in out.columns:
            out.loc[suppressed, "mark"] = ""
    audit = [
        {
            "table": table,
            "question": question,
            "by": by,
            "group": g,
            "base_n": int(bases[g]),
            "action": "秘匿",
            "reason": reason,
        }
        for g, reason in held.items()
    ]
    if "share" in out.columns:
        share = out["share"].to_numpy(float)
        same = (share == 1.0) | (share == 0.0) if multi else share == 1.0
        uniform = ~suppressed & (out["base_n"].to_numpy(float) > 0) & same
        for g in dict.fromkeys(g for g, u in zip(group_list, uniform) if u):
            audit.append(
                {
                    "table": table,
                    "question": question,
                    "by": by,
                    "group": g,
                    "base_n": int(bases[g]),
                    "action": "確認",
                    "reason": UNIFORM,
                }
            )
    return out, pd.DataFrame(audit, columns=list(AUDIT_COLUMNS))


# ------------------------------------------------------------------------------ pooling by design

#: Joins the labels of the groups a pool merges: 「技能労務＋教育・保育」 (labels may contain ・).
POOL_JOIN = "＋"
POOLED = "統合"
POOL_REASON = "基数が閾値未満の区分を他の区分と統合（推定・検定・比較のすべてで1区分として扱う）"


@dataclass(frozen=True)
class Pools:
    """The groups merged for anonymity, per attribute: ``{attribute id: {pool label: member labels}}``.

    A pool is published as one group everywhere (tables, charts, tests, the matrix, comparisons,
    weights), so nothing published depends on which member group a respondent belongs to.
    """

    by_attribute: dict[str, dict[str, tuple[str, ...]]]
    #: respondents of each pool: ``{attribute id: {pool label: n}}``
    respondents: dict[str, dict[str, int]]
    #: the groups a pool protects (fewer than k respondents answering some question): ``(attribute id, label)``
    protected: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return any(self.by_attribute.values())

    def audit(self) -> pd.DataFrame:
        """One audit row (:data:`AUDIT_COLUMNS`) per merged group."""
        rows = [
            {
                "table": "全表",
                "question": "",
                "by": attr,
                "group": m,
                "base_n": self.respondents[attr][label],  # the pool's, never a member's
                "action": POOLED,
                "reason": f"{POOL_REASON}：{label}",
            }
            for attr, pools in self.by_attribute.items()
            for label, members in pools.items()
            for m in members
        ]
        return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))


def answered(responses: pd.DataFrame, item: Item) -> np.ndarray:
    """Who answered a question (a multi-select question: its option columns are not NaN)."""
    column = item.option_columns[0] if item.is_multi else item.id
    return responses[column].notna().to_numpy()


def group_sizes(responses: pd.DataFrame, codebook: Codebook, attribute: str) -> pd.DataFrame:
    """Per group of ``attribute`` (codebook order, index): ``respondents`` and ``size``, the smallest
    number of its respondents who answered any one question (the smallest base it would publish)."""
    return _sizes(responses, codebook, attribute, question_bases(responses, codebook, attribute))


def _sizes(responses: pd.DataFrame, codebook: Codebook, attribute: str, bases: pd.DataFrame) -> pd.DataFrame:
    """:func:`group_sizes` from the groups' question bases (:func:`question_bases`)."""
    labels = codebook.item(attribute).labels
    codes = pd.Categorical(responses[attribute].astype(object), categories=labels).codes
    respondents = np.bincount(codes[codes >= 0], minlength=len(labels))
    size = np.minimum(respondents, bases.to_numpy().min(axis=1)) if bases.shape[1] else respondents
    return pd.DataFrame({"respondents": respondents, "size": size}, index=pd.Index(labels, name=attribute))


def plan_pools(sizes: pd.DataFrame, min_group: int, bases: pd.DataFrame | None = None) -> dict[str, tuple[str, ...]]:
    """Which groups to merge: every group with respondents but a ``size`` below ``min_group``, plus
    the smallest other groups until the pool reaches ``min_group`` (a pool of one small group and
    its complementary partner, as a statistical office would collapse cells).

    ``bases`` (groups × questions, answered counts) measures a pool's size exactly (the smallest
    question base of the merged respondents); without it the members' sizes are added.
    Returns ``{pool label: member labels}`` (one pool, or none).
    """
    check_min_group(min_group)
    present = sizes[sizes["respondents"] > 0]
    small = [g for g in present.index if present.loc[g, "size"] < min_group]
    if not small:
        return {}
    order = list(sizes.index)

    def size_of(members: list[str]) -> int:
        if bases is None:
            return int(present.loc[members, "size"].sum())
        return int(min(present.loc[members, "respondents"].sum(), bases.loc[members].sum().min()))

    members = list(small)
    rest = present.drop(index=members).sort_values("size", kind="stable")
    for g in rest.index:
        if size_of(members) >= min_group:
            break
        members.append(g)
    members.sort(key=order.index)
    return {POOL_JOIN.join(members): tuple(members)}


def question_bases(responses: pd.DataFrame, codebook: Codebook, attribute: str) -> pd.DataFrame:
    """Answered counts per group (rows, codebook order) and question (columns)."""
    labels = codebook.item(attribute).labels
    codes = pd.Categorical(responses[attribute].astype(object), categories=labels).codes
    out = {}
    for q in codebook.tabulated:
        ok = answered(responses, q) & (codes >= 0)
        out[q.id] = np.bincount(codes[ok], minlength=len(labels))
    return pd.DataFrame(out, index=pd.Index(labels, name=attribute))


def with_blank_groups(responses: pd.DataFrame, codebook: Codebook) -> tuple[pd.DataFrame, Codebook]:
    """Respondents who left an attribute (職位, 年代, …) blank as a group of their own, 無回答.

    Otherwise 全体 minus the published groups would be exactly their answers, a group nobody
    pools: with the blank a category like any other, a small one is pooled (and audited) as every
    small group is. The stratum (職域) is never blank: the loader requires it.
    """
    out = responses
    for attr in codebook.attributes:
        if attr.role == "stratum" or attr.id not in responses.columns:
            continue
        blank = responses[attr.id].isna().to_numpy()
        if not blank.any():
            continue
        codebook = codebook.with_choice(attr.id, NO_ANSWER)
        if out is responses:
            out = responses.copy()
        values = responses[attr.id].astype(object).where(~blank, NO_ANSWER)
        out[attr.id] = pd.Categorical(values, categories=codebook.item(attr.id).labels)
    return out, codebook


def protect(
    responses: pd.DataFrame,
    frame: pd.DataFrame,
    codebook: Codebook,
    min_group: int,
    *,
    keep: dict[str, dict[str, tuple[str, ...]]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, Codebook, Pools]:
    """Pool small groups of every attribute before anything is estimated.

    A blank attribute is a group like any other (:func:`with_blank_groups`): published as 無回答
    when large enough, pooled with the smallest others when not. ``keep`` (an earlier
    publication's ``Pools.by_attribute``) pools those groups as before, whatever their size now;
    an attribute it does not name is pooled by the rule.

    Returns the responses with each attribute relabelled to the published groups, the staff frame
    with the pooled 職域' staff summed (collapsed strata: one weight inside a pool), the codebook
    whose attribute choices are the published groups, and the :class:`Pools`.
    """
    check_min_group(min_group)
    pools: dict[str, dict[str, tuple[str, ...]]] = {}
    sizes: dict[str, dict[str, int]] = {}
    small: list[tuple[str, str]] = []
    responses, codebook = with_blank_groups(responses, codebook)
    out = responses
    for attr in codebook.attributes:
        bases = question_bases(responses, codebook, attr.id)  # one pass over the questions per attribute
        sized = _sizes(responses, codebook, attr.id, bases)
        merged = _kept(keep, attr.id, sized) if keep and attr.id in keep else plan_pools(sized, min_group, bases)
        if not merged:
            continue
        pools[attr.id] = merged
        small += [
            (attr.id, str(g))
            for g in sized.index
            if 0 < sized.loc[g, "respondents"] and sized.loc[g, "size"] < min_group
        ]
        counts = sized["respondents"]
        sizes[attr.id] = {label: int(counts[list(members)].sum()) for label, members in merged.items()}
        owner = {m: label for label, members in merged.items() for m in members}
        pooled_cb = codebook.with_merged_choices(attr.id, merged)
        labels = pooled_cb.item(attr.id).labels
        relabelled = responses[attr.id].astype(object).map(lambda v, o=owner: o.get(v, v))
        if out is responses:
            out = responses.copy()
        out[attr.id] = pd.Categorical(relabelled, categories=labels)
        if attr.role == "stratum":
            domain = frame["domain"].astype(object).map(lambda v, o=owner: o.get(v, v))
            summed = frame.assign(domain=domain).groupby("domain", sort=False)["population"].sum()
            frame = pd.DataFrame(
                {
                    "domain": pd.Categorical(labels, categories=labels),
                    "population": summed.reindex(labels).to_numpy(),
                }
            )
        codebook = pooled_cb
    return out, frame, codebook, Pools(pools, sizes, tuple(small))


def _kept(
    keep: dict[str, dict[str, tuple[str, ...]]], attribute: str, sizes: pd.DataFrame
) -> dict[str, tuple[str, ...]]:
    """An earlier publication's pools of one attribute, for the groups this codebook still has."""
    known = set(sizes.index)
    out = {}
    for members in keep[attribute].values():
        present = tuple(m for m in members if m in known)
        if len(present) > 1:
            out[POOL_JOIN.join(present)] = present
    return out


def publishable(value: float, suppressed: bool, *, digits: int = 1) -> str:
    """A value as text for a published table: ``x`` when suppressed, ``-`` when not defined."""
    if suppressed:
        return MARK
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def publish(table: pd.DataFrame) -> pd.DataFrame:
    """A tidy table ready to write: the values of suppressed rows become the mark ``x``.

    Tables without a ``suppressed`` column are returned unchanged.
    """
    if "suppressed" not in table.columns or not table["suppressed"].any():
        return table
    out = table.copy()
    held = out["suppressed"].to_numpy(bool)
    numeric = [
        c
        for c in out.columns
        if c not in ("base_n", "no_answer_n", "code", "suppressed")
        and pd.api.types.is_numeric_dtype(out[c])
        and not pd.api.types.is_bool_dtype(out[c])
    ]
    for col in numeric:
        out[col] = out[col].astype(object)
        out.loc[held, col] = MARK
    return out
