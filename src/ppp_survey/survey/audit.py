"""The disclosure audit: what an attacker can derive about a small group from the published numbers.

The attacker holds every published table, the codebook, the staff frame and this source code. The
protected values are the answer counts of every group with fewer than ``min_group`` respondents
(a *protected group*: a member of a pool, or, in a publication without pooling, a suppressed group).
For each question the audit sets up the unknown respondent table — counts of respondents by 職域 ×
each other attribute × answer (無回答 included) — and the equations the publication gives:

* respondents per published 職域 group (the response-rate table);
* per published group of every attribute and for 全体: the plain counts of each answer, the base
  and the number of non-answers;
* per published group and 全体: each design-based share, which is linear in the unknowns once
  multiplied out (``Σ_h w_h X_hc − p̂_c Σ_h w_h X_h = 0``, the weights ``w_h = N_h/n_h`` being
  published through the response rates), within the rounding of the published figure. When the
  estimates use raked weights (``--calibrate``), each unknown cell (職域 × 職位 × 年代 …) has its own
  raked weight and the same equations hold with it: the audit gives the attacker those weights
  exactly (``cell_weights``), more than the published margins would tell.

For each protected group and answer it solves two linear programmes (HiGHS: the smallest
and the largest count consistent with all equations, counts ≥ 0). A count pinned to an interval
narrower than :data:`PROTECTION` (one respondent) is a disclosure, unless the interval is forced
by a published group of at least ``min_group`` respondents giving (or not giving) that answer
unanimously, which every published table shows anyway and the anonymity audit flags as
全員同一回答. Rao–Scott statistics, marks and p-values are not used as equations (they are
non-linear functions of the same tables); the likert summaries, the policy matrix evidence and the
comparison's new-wave estimates are sums of the published groups' numbers and add no equation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd
from highspy._core import _Highs
from scipy import sparse

from ppp_survey.constants import ALL, NO_ANSWER
from ppp_survey.spec.codebook import Codebook, Item

__all__ = ["PROTECTION", "AuditResult", "audit_publication"]

#: The narrowest interval an attacker may derive for a protected count (in respondents).
PROTECTION = 1.0
#: Relative rounding of a published design-based share (CSV figures carry 12 significant digits).
SHARE_TOLERANCE = 1e-9
_MISSING = "(無回答)"


@dataclass(frozen=True)
class AuditResult:
    """The audit's verdict: ``intervals`` has one row per protected group × question × answer with
    the attacker's ``low``/``high`` count and ``status`` (``保護`` / ``全員同一回答`` / ``開示``)."""

    intervals: pd.DataFrame
    protected_groups: tuple[tuple[str, str], ...]

    @property
    def passed(self) -> bool:
        return not (self.intervals["status"] == "開示").any()

    @property
    def narrowest(self) -> float:
        """The narrowest interval among protected counts not exempt as unanimous (inf if none)."""
        t = self.intervals[self.intervals["status"] != "全員同一回答"]
        return float((t["high"] - t["low"]).min()) if len(t) else float("inf")

    def summary(self) -> dict:
        """For the manifest: groups audited, counts checked, disclosures, the narrowest interval."""
        status = self.intervals["status"].value_counts() if len(self.intervals) else pd.Series(dtype=int)
        return {
            "protected_groups": [f"{attr}:{group}" for attr, group in self.protected_groups],
            "counts_checked": int(len(self.intervals)),
            "disclosed": int(status.get("開示", 0)),
            "unanimous": int(status.get("全員同一回答", 0)),
            "narrowest_interval": None if np.isinf(self.narrowest) else round(self.narrowest, 6),
            "protection": PROTECTION,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class _Cells:
    """The unknown respondent table of one question: one variable per (職域, attribute levels…, answer),
    in the order of ``itertools.product`` over ``labels``; ``codes[k]`` is each variable's index in
    ``labels[k]`` (position 0 = 職域, then the attributes, last = the answer)."""

    attributes: list[str]  # the non-stratum attributes, in position order after 職域
    labels: list[list[str]]
    codes: np.ndarray  # shape (positions, variables)

    @classmethod
    def of(cls, attributes: list[str], labels: list[list[str]]) -> _Cells:
        codes = np.indices([len(level) for level in labels]).reshape(len(labels), -1)
        return cls(attributes, labels, codes)

    @property
    def answers(self) -> list[str]:
        return self.labels[-1]

    @property
    def size(self) -> int:
        return int(self.codes.shape[1])

    @property
    def answer_level(self) -> int:
        return len(self.labels) - 1

    def level_of(self, attr: Item) -> int:
        return 0 if attr.role == "stratum" else 1 + self.attributes.index(attr.id)

    def mask(self, position: int, values: set[str]) -> np.ndarray:
        """Variables whose ``position``-th key (0 = 職域, then attributes, last = answer) is in ``values``
        (an attribute's group 無回答 is its blank)."""
        if 0 < position < self.answer_level:
            values = {_MISSING if v == NO_ANSWER else v for v in values}
        wanted = [i for i, label in enumerate(self.labels[position]) if label in values]
        return np.isin(self.codes[position], wanted)

    def combinations(self) -> pd.DataFrame:
        """Each variable's groups (one column per attribute, 職域 as ``stratum``; NaN for 無回答)."""
        names = ["stratum", *self.attributes]
        return pd.DataFrame(
            {
                name: pd.Series(np.asarray(self.labels[k], dtype=object)[self.codes[k]]).replace(_MISSING, np.nan)
                for k, name in enumerate(names)
            }
        )


class _Program:
    """The linear programme of one question: its equations loaded once into HiGHS (``highspy``),
    re-solved for each objective from the previous optimal basis."""

    def __init__(self, size: int, a_eq, b_eq, a_ub, bound_ub) -> None:
        # highspy's Highs subclass prints HiGHS's banner on stdout once per process even with output_flag
        # off (ERGO-Code/HiGHS#2749); its base class is the same solver without the Python callbacks
        h = _Highs()
        h.setOptionValue("output_flag", False)
        # primal simplex: a new objective leaves the last optimum feasible, so each re-solve starts
        # there (5–6 times faster here than HiGHS's default dual simplex, which starts over)
        h.setOptionValue("simplex_strategy", 4)
        h.addVars(size, np.zeros(size), np.full(size, highspy.kHighsInf))
        for a, low, high in ((a_eq, b_eq, b_eq), (a_ub, -bound_ub, bound_ub)):
            if a is not None:
                h.addRows(a.shape[0], low, high, a.nnz, a.indptr[:-1], a.indices, a.data)
        self._highs = h
        self._columns = np.arange(size, dtype=np.int32)

    def bounds(self, objective: np.ndarray) -> tuple[float, float]:
        """The smallest and the largest value of ``objective · x`` over the published equations."""
        return self._solve(objective, highspy.ObjSense.kMinimize), self._solve(objective, highspy.ObjSense.kMaximize)

    def _solve(self, objective: np.ndarray, sense) -> float:
        h = self._highs
        h.changeColsCost(len(self._columns), self._columns, objective)
        h.changeObjectiveSense(sense)
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            message = h.modelStatusToString(status)
            raise RuntimeError(f"disclosure audit: the published equations have no solution ({message})")
        return float(h.getInfo().objective_function_value)


def audit_publication(
    codebook: Codebook,
    rates: pd.DataFrame,
    cells: pd.DataFrame,
    gt: pd.DataFrame,
    groups: dict[str, dict[str, tuple[str, ...]]],
    protected: list[tuple[str, str]],
    cell_weights: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> AuditResult:
    """Audit one publication.

    Parameters
    ----------
    codebook
        The codebook as read (original groups; the attacker has it, and the staff frame).
    rates
        The published response rates (``domain`` = published 職域 group, ``population``, ``respondents``).
    cells, gt
        The published crosstab cells (all attributes, column ``by``) and 単純集計, with NaN where a
        value was not published.
    groups
        ``{attribute id: {published label: original member labels}}`` for every published group
        that is not an original label (pools).
    protected
        ``(attribute id, original label)`` of every protected group.
    cell_weights
        For estimates on raked weights: given a table of combinations (one column per attribute id,
        original labels, NaN for 無回答), the raked weight of each; None: the design's ``N_h/n_h``.
    """
    rows = []
    for item in codebook.tabulated:
        for part in _parts(item):
            rows += _audit_part(codebook, rates, cells, gt, groups, protected, item, part, cell_weights)
    return AuditResult(
        intervals=pd.DataFrame(rows, columns=["attribute", "group", "question", "answer", "low", "high", "status"]),
        protected_groups=tuple(protected),
    )


def _parts(item: Item) -> list[int | None]:
    """A single-answer question is one table; a multi-select question one table per option."""
    return [c.code for c in item.choices] if item.is_multi else [None]


def _audit_part(
    codebook, rates, cells, gt, groups, protected, item: Item, option: int | None, cell_weights=None
) -> list[dict]:
    if not protected:
        return []
    space, program = _equations(codebook, rates, cells, gt, groups, item, option, cell_weights)
    out = []
    for attr_id, label in protected:
        target = space.mask(space.level_of(codebook.item(attr_id)), {label})
        pooled = next((p for p, m in groups.get(attr_id, {}).items() if label in m), None)
        for answer in space.answers:
            low, high = program.bounds((target & space.mask(space.answer_level, {answer})).astype(float))
            status = "保護"
            if high - low < PROTECTION - 1e-6:
                status = "全員同一回答" if _unanimous(cells, item, option, attr_id, pooled, answer) else "開示"
            out.append(
                {
                    "attribute": attr_id,
                    "group": label,
                    "question": item.id if option is None else f"{item.id}:{option}",
                    "answer": answer,
                    "low": low,
                    "high": high,
                    "status": status,
                }
            )
    return out


def _equations(
    codebook: Codebook, rates, cells, gt, groups, item: Item, option: int | None, cell_weights=None
) -> tuple[_Cells, _Program]:
    """The unknown cells of one question (or option) and the programme of every equation the
    publication gives."""
    stratum = codebook.stratum
    others = [a for a in codebook.attributes if a.role != "stratum"]
    answers = [*(["選択", "非選択"] if option is not None else list(item.labels)), _MISSING]
    space = _Cells.of([a.id for a in others], [list(stratum.labels), *[[*a.labels, _MISSING] for a in others], answers])
    eq_rows: list[np.ndarray] = []
    ub_rows: list[np.ndarray] = []
    eq_rhs: list[float] = []
    ub_rhs: list[float] = []
    if cell_weights is None:
        w = _weights(rates, stratum, groups.get(stratum.id, {})).to_numpy(float)[space.codes[0]]
    else:
        w = np.asarray(cell_weights(space.combinations()), dtype=float)

    def members(attr_id: str, label: str) -> set[str]:
        return set(groups.get(attr_id, {}).get(label, (label,)))

    for r in rates.itertuples():  # respondents per published 職域 group
        if str(r.domain) != ALL:
            eq_rows.append(space.mask(0, members(stratum.id, str(r.domain))).astype(float))
            eq_rhs.append(float(r.respondents))
    tables: list[tuple[int | None, str, pd.DataFrame]] = [(None, "", gt[gt["question"] == item.id])]
    tables += [
        (space.level_of(a), a.id, cells[(cells["question"] == item.id) & (cells["by"] == a.id)])
        for a in codebook.attributes
    ]
    for level, attr_id, table in tables:
        if option is not None:
            table = table[table["code"] == option]
        for group, t in table.groupby("group", sort=False):
            where = (
                np.ones(space.size, dtype=bool) if level is None else space.mask(level, members(attr_id, str(group)))
            )
            _group_equations(t, where, space, w, option, eq_rows, eq_rhs, ub_rows, ub_rhs)
    program = _Program(
        space.size,
        sparse.csr_matrix(np.vstack(eq_rows)) if eq_rows else None,
        np.asarray(eq_rhs, dtype=float),
        sparse.csr_matrix(np.vstack(ub_rows)) if ub_rows else None,
        np.asarray(ub_rhs, dtype=float),
    )
    return space, program


def _group_equations(t, where, space, w, option, eq_rows, eq_rhs, ub_rows, ub_rhs) -> None:
    """Plain counts, base, non-answers and design-based shares of one published group."""
    answer_level = space.answer_level
    answered = where & ~space.mask(answer_level, {_MISSING})
    first = t.iloc[0]
    if np.isfinite(float(first["base_n"])):
        eq_rows.append(answered.astype(float))
        eq_rhs.append(float(first["base_n"]))
    if "no_answer_n" in t.columns and np.isfinite(float(first["no_answer_n"])):
        eq_rows.append((where & space.mask(answer_level, {_MISSING})).astype(float))
        eq_rhs.append(float(first["no_answer_n"]))
    labels = t["label"].astype(str).to_numpy() if option is None else np.full(len(t), "選択")
    counts = t["n"].to_numpy(dtype=float)
    shares = t["estimate"].to_numpy(dtype=float)
    for answer, n, share in zip(labels, counts, shares, strict=True):
        chosen = where & space.mask(answer_level, {str(answer)})
        if np.isfinite(n):
            eq_rows.append(chosen.astype(float))
            eq_rhs.append(float(n))
        if np.isfinite(share):
            # |Σ w X_c − p̂ Σ w X_answered| ≤ the published figure's rounding
            ub_rows.append(w * chosen - float(share) * w * answered)
            ub_rhs.append(SHARE_TOLERANCE * float(np.sum(w * answered)) + 1e-9)


def _weights(rates: pd.DataFrame, stratum: Item, pools: dict[str, tuple[str, ...]]) -> pd.Series:
    """Each original 職域's published weight N_G/n_G (its pool's, when pooled)."""
    out = {}
    for r in rates.itertuples():
        label = str(r.domain)
        if label == ALL:
            continue
        value = float(r.population) / float(r.respondents) if r.respondents else 0.0
        for m in pools.get(label, (label,)):
            out[m] = value
    return pd.Series(out).reindex(stratum.labels).fillna(0.0)


def _unanimous(cells: pd.DataFrame, item: Item, option, attr_id: str, pooled: str | None, answer: str) -> bool:
    """Whether the pool holding the protected group published 0% or 100% for this answer."""
    if pooled is None:
        return False
    t = cells[(cells["question"] == item.id) & (cells["by"] == attr_id) & (cells["group"] == pooled)]
    if option is not None:
        t = t[t["code"] == option]
        shares = {"選択": t["share"], "非選択": 1 - t["share"]}.get(answer)
    else:
        shares = t.loc[t["label"] == answer, "share"]
    if shares is None or not len(shares):
        return answer == _MISSING and bool((t["no_answer_n"] == 0).all())
    value = float(shares.iloc[0])
    return value in (0.0, 1.0)
