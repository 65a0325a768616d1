"""Anonymity: small groups are not published, and what was held back is recorded.

A staff survey is answered because it is anonymous. A group result of a few people can show what
each of them answered, so every published group whose base (respondents who answered the
question) is below ``min_group`` is *suppressed*: its values are printed as ``x`` (as official
statistics print a suppressed cell), never as 0 or blank. The default threshold is 10, the group
size the 厚生労働省 stress-check guideline requires for group results of staff surveys; it can be
raised, and never set below 3.

One suppressed group in a table could still be recovered by subtracting the other groups from the
全体 row, so when exactly one group of a table is suppressed, the next smallest group is suppressed
too (*secondary* or complementary suppression, 二次秘匿). Groups with a base of 0 have nothing to
disclose and are shown as ``-``.

Groups whose members all gave the same answer (a 0% or 100% cell) disclose each member's answer
even when the group is large enough; they are listed in the audit with the flag 全員同一回答 for
the analyst to judge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ppp_survey.constants import DEFAULT_MIN_GROUP

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
            f"--min-group {min_group!r}: the anonymity threshold must be a whole number of at least "
            f"{ABSOLUTE_MIN_GROUP} (default {DEFAULT_MIN_GROUP})"
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


def pool_small_groups(values: pd.Series, min_group: int, *, label: str = "その他") -> pd.Series:
    """Merge groups with fewer than ``min_group`` respondents into one group ``label`` (on request).

    The pooled group is itself suppressed later if it is still too small.
    """
    check_min_group(min_group)
    counts = values.value_counts()
    small = [g for g, n in counts.items() if n < min_group]
    if not small:
        return values
    as_text = values.astype(object).where(~values.isin(small), label)
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = [c for c in values.cat.categories if c not in small] + [label]
        return pd.Series(pd.Categorical(as_text, categories=cats), index=values.index, name=values.name)
    return as_text


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
