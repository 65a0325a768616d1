"""The groups a comparison publishes, and the baseline's estimates for them.

The groups are the mapping's groups of 職域 (renamed, merged or split between the waves) joined
wherever a pool of either wave (small 職域 merged for anonymity) joins them: a pool is never split,
so every published group is a union of whole published groups of both waves
(:func:`compared_groups`). The frozen baseline holds per-職域 estimates; a group made of several is
combined from them exactly (:func:`combine_strata`), so the baseline is never re-read from raw data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ppp_survey.compare.baseline import Baseline
from ppp_survey.constants import ALL
from ppp_survey.spec.mapping import GroupMap
from ppp_survey.survey.privacy import POOL_JOIN

__all__ = ["combine_strata", "compared_groups", "grouped_baseline"]


def compared_groups(
    groups: list[GroupMap], old_pools: dict[str, tuple[str, ...]], new_pools: dict[str, tuple[str, ...]]
) -> list[GroupMap]:
    """The groups a comparison publishes: the mapping's groups of 職域, merged where a pool of
    either wave joins them (a pool is never split: every published group is a union of whole
    published groups of both waves). ``old``/``new`` of the result name the waves' published
    groups (pool labels where pooled); a merged group is named by joining its members' names.
    """
    old_of = {m: label for label, members in old_pools.items() for m in members}
    new_of = {m: label for label, members in new_pools.items() for m in members}
    if not old_of and not new_of:
        return groups
    parent = list(range(len(groups)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[tuple[str, str], int] = {}
    for i, g in enumerate(groups):
        keys = [("old", old_of.get(x, x)) for x in g.old] + [("new", new_of.get(x, x)) for x in g.new]
        for key in keys:
            if key in seen:
                parent[root(i)] = root(seen[key])
            else:
                seen[key] = i
    out = []
    for r in dict.fromkeys(root(i) for i in range(len(groups))):
        members = [g for i, g in enumerate(groups) if root(i) == r]
        pooled = any(x in old_of for g in members for x in g.old) or any(x in new_of for g in members for x in g.new)
        if not pooled:
            out.extend(members)
            continue
        old = tuple(dict.fromkeys(old_of.get(x, x) for g in members for x in g.old))
        new = tuple(dict.fromkeys(new_of.get(x, x) for g in members for x in g.new))
        note = "；".join(
            x
            for x in (*(g.note for g in members), f"匿名性のため統合（{POOL_JOIN.join(g.name for g in members)}）")
            if x
        )
        out.append(GroupMap(name=POOL_JOIN.join(g.name for g in members), old=old, new=new, note=note))
    return out


def grouped_baseline(baseline: Baseline, groups: list[GroupMap]) -> pd.DataFrame:
    """The baseline's indicators for the mapping's groups: 全体, single 職域 renamed, merged 職域 combined."""
    ind = baseline.indicators
    parts = [ind[ind["group"] == ALL]]
    for g in groups:
        if len(g.old) == 1:
            parts.append(ind[ind["group"] == g.old[0]].assign(group=g.name))
        else:
            parts.append(combine_strata(ind[ind["group"].isin(g.old)], baseline.rates, g.old, g.name))
    return pd.concat(parts, ignore_index=True)


def combine_strata(rows: pd.DataFrame, rates: pd.DataFrame, labels: tuple[str, ...], name: str) -> pd.DataFrame:
    """Estimates for a union of whole strata from the per-stratum estimates (exact linearisation).

    For a domain D made of strata h: ``R_D = Σ N̂_h R_h / Σ N̂_h`` with ``N̂_h = N_h m_h / n_h``
    (``m_h`` answered), and ``V(R_D) = Σ_h [(N̂_h/N̂_D)² V_h + c_h w_h² m_h (1 − m_h/n_h) (R_h − R_D)² / N̂_D²]``,
    ``c_h = (1 − f_h) n_h/(n_h − 1)`` (no FPC: ``f_h = 0``), ``w_h = N_h/n_h``. The second term comes
    from item nonresponse; it is zero when everyone in the strata answered. This is the variance the
    design-based estimator gives for that domain on the full design.
    """
    r = rates.set_index(rates["domain"].astype(str))
    big_n = r.loc[list(labels), "population"].to_numpy(float)
    small_n = r.loc[list(labels), "respondents"].to_numpy(float)
    w = big_n / small_n
    out = []
    for _key, part in rows.groupby("indicator", sort=False):
        part = part.set_index("group").loc[list(labels)]
        first = part.iloc[0]
        row = {c: first[c] for c in ("indicator", "question", "kind", "code", "label")}
        row["group"] = name
        if first["kind"] == "rate":
            pop, resp = int(part["base_n"].sum()), int(part["n"].sum())
            row.update(
                base_n=pop,
                n=resp,
                share=resp / pop,
                estimate=resp / pop,
                se=0.0,
                se_nofpc=0.0,
                ci_low=resp / pop,
                ci_high=resp / pop,
                suppressed=False,
            )
            out.append(row)
            continue
        m = part["base_n"].to_numpy(float)
        est = part["estimate"].to_numpy(float)
        nhat = w * m
        total = nhat.sum()
        estimate = float(np.sum(nhat * est) / total)
        delta = est - estimate
        extra = m * (1 - m / small_n) * delta**2 * w**2
        ses = {}
        for col, f in (("se", small_n / big_n), ("se_nofpc", 0.0)):
            c = (1 - f) * small_n / (small_n - 1)
            v = np.sum((nhat / total) ** 2 * part[col].to_numpy(float) ** 2 + c * extra / total**2)
            ses[col] = float(np.sqrt(v))
        suppressed = bool(part["suppressed"].any())
        row.update(
            base_n=int(m.sum()),
            n=float(part["n"].sum()),
            share=float(part["n"].sum() / m.sum()),
            estimate=estimate,
            se=ses["se"],
            se_nofpc=ses["se_nofpc"],
            ci_low=np.nan,
            ci_high=np.nan,
            suppressed=suppressed,
        )
        if suppressed:
            row.update({c: np.nan for c in ("n", "share", "estimate", "se", "se_nofpc")})
        out.append(row)
    return pd.DataFrame(out)
