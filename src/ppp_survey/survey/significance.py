"""Design-based tests: Rao–Scott test of a two-way table, group versus the rest.

Both tests use the full stratified design, with the table's base or the
groups treated as domains (respondents outside contribute zeros within their
stratum), never a design rebuilt on filtered rows.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal, overload

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: it takes about a second to import

from ppp_survey.survey.design import Weighting
from ppp_survey.survey.kernels import (
    Interval,
    RatioParts,
    as_names,
    cell_weights,
    check_aligned,
    check_level,
    group_codes,
    mean_table,
    ratio_parts,
    stratum_sums,
)

__all__ = ["RaoScottTest", "VERSUS_REST_COLUMNS", "rao_scott", "versus_rest"]

#: Columns of :func:`versus_rest` results.
VERSUS_REST_COLUMNS = (
    "variable",
    "group",
    "estimate_group",
    "estimate_rest",
    "difference",
    "se",
    "statistic",
    "p_value",
)


@dataclass(frozen=True)
class RaoScottTest:
    """Result of :func:`rao_scott`: association of two categorical variables.

    Attributes
    ----------
    row, col : str
        The two variables.
    n : int
        Respondents in the table's base (both variables answered).
    n_rows, n_cols : int
        Levels of `row` and `col` observed in the base.
    pearson : float
        Pearson's X² of the weighted table as R's ``svychisq`` computes it:
        the estimated cell proportions scaled to ``design.n`` (all rows of
        the design, including respondents outside the base) — R's
        ``svytable(..., Ntotal = nrow(design))``.
    df : int
        ``(n_rows − 1)(n_cols − 1)``.
    chisq : float
        First-order Rao–Scott statistic ``X² / mean(δ)`` (δ: eigenvalues of
        the generalised design-effect matrix Δ), referred to χ²(df)
        (R: ``statistic = "Chisq"``).
    chisq_p_value : float
    f : float
        Second-order Rao–Scott F ``X² / tr(Δ)`` (R's default
        ``statistic = "F"``).
    df_num, df_den : float
        Its degrees of freedom ``d = tr(Δ)² / tr(Δ²)`` and ``d · design.df``.
    p_value : float
        P-value of the F statistic (the one to report).
    mean_deff : float
        ``mean(δ) = tr(Δ)/df``, the average generalised design effect.
    """

    row: str
    col: str
    n: int
    n_rows: int
    n_cols: int
    pearson: float
    df: int
    chisq: float
    chisq_p_value: float
    f: float
    df_num: float
    df_den: float
    p_value: float
    mean_deff: float

    def to_series(self) -> pd.Series:
        """The result as a pandas Series (one row of a results table)."""
        return pd.Series(asdict(self))


def _codes(series: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes (−1 missing) and the number of candidate levels, in level order.

    Categoricals keep their category order; other columns are factorized in sorted order (order
    of appearance if the values cannot be sorted).  Levels never seen in a table's base are
    dropped later, from the table's margins.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), len(series.cat.categories)
    small = _small_int_codes(series)
    if small is not None:
        return small
    try:
        codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    except TypeError:  # mixed, unorderable values
        codes, uniques = pd.factorize(series, sort=False, use_na_sentinel=True)
    return codes, len(uniques)


def _small_int_codes(series: pd.Series) -> tuple[np.ndarray, int] | None:
    """Codes of an integer or boolean column whose values lie in 0..255 (0/1 option columns): the
    values themselves, with levels 0..max as candidates (the unseen ones are dropped from the
    table's margins, so the table is the one factorizing would give).  None for other columns."""
    dtype = series.dtype
    if not (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)) or len(series) == 0:
        return None
    values = series.to_numpy(dtype=np.int64, na_value=0)
    low, high = values.min(), values.max()
    if low < 0 or high > 255:
        return None
    codes = values.astype(np.int16)
    codes[series.isna().to_numpy()] = -1
    return codes, int(high) + 1


@functools.lru_cache(maxsize=64)
def _interaction_contrasts(n_rows: int, n_cols: int) -> np.ndarray:
    """R's ``Cmat``: interaction columns with the main-effects space projected out.

    Cells are ordered with the row index varying fastest (R's
    ``expand.grid(rows, cols)`` and ``interaction(rows, cols)``).  Cached (a table's shape
    repeats across questions and attributes); the array is read-only.
    """
    r = np.tile(np.arange(n_rows), n_cols)
    c = np.repeat(np.arange(n_cols), n_rows)
    row_dummies = (r[:, None] == np.arange(1, n_rows)[None, :]).astype(float)
    col_dummies = (c[:, None] == np.arange(1, n_cols)[None, :]).astype(float)
    x1 = np.column_stack([np.ones(r.size), row_dummies, col_dummies])
    x12 = np.column_stack([row_dummies[:, i] * col_dummies[:, j] for j in range(n_cols - 1) for i in range(n_rows - 1)])
    coef, *_ = np.linalg.lstsq(x1, x12, rcond=None)
    contrasts = x12 - x1 @ coef
    contrasts.setflags(write=False)
    return contrasts


def rao_scott(data: pd.DataFrame, design: Weighting, row: str, col: str) -> RaoScottTest:
    """Rao–Scott test of independence of two categorical variables.

    Reproduces R's ``svychisq(~row + col, design)`` for a stratified design:
    Pearson's X² of the weighted table, and its first-order (χ²) and
    second-order (F, the default to report) Rao–Scott corrections, built from
    the design-based covariance of the estimated cell proportions.

    Parameters
    ----------
    data : pandas.DataFrame
        Row-aligned with `design`.
    design : StratifiedDesign or Calibration
    row, col : str
        Columns of categorical answers (any dtype; levels are the values, in
        category order for categoricals).  A respondent with either value
        missing is outside the table's base: the cell proportions are domain
        estimates on the full design (R's ``svychisq(..., na.rm = TRUE)``,
        which subsets the design and so keeps its strata and ``n_h``).

    Returns
    -------
    RaoScottTest

    Notes
    -----
    With ``p̂`` the cell proportions (rows varying fastest), ``V`` their
    design covariance, ``D = diag(p̂)`` and ``C`` the interaction contrasts
    orthogonal to the main effects, ``Δ = (C'D⁻¹C/N)⁻¹ C'D⁻¹VD⁻¹C``;
    ``F = X²/tr(Δ)`` on ``d = tr(Δ)²/tr(Δ²)`` and ``d·(n − H)`` df.  Empty
    cells get ``1/p̂ = 0`` as in R.  ``N`` cancels from every statistic except
    the raw ``pearson``.  Only levels observed in the base count (R would also
    count a level seen only outside the base, and then fail).
    """
    return _rao_scott(data, design, row, col, strict=True)  # raises instead of returning None


def _rao_scott_or_none(data: pd.DataFrame, design: Weighting, row: str, col: str) -> RaoScottTest | None:
    """:func:`rao_scott`, or None where it would raise for fewer than two answered levels on a side."""
    return _rao_scott(data, design, row, col, strict=False)


@overload
def _rao_scott(data: pd.DataFrame, design: Weighting, row: str, col: str, *, strict: Literal[True]) -> RaoScottTest: ...
@overload
def _rao_scott(data: pd.DataFrame, design: Weighting, row: str, col: str, *, strict: bool) -> RaoScottTest | None: ...
def _rao_scott(data: pd.DataFrame, design: Weighting, row: str, col: str, *, strict: bool) -> RaoScottTest | None:
    check_aligned(data, design, [row, col])
    r_codes, r_all = _codes(data[row])
    c_codes, c_all = _codes(data[col])
    # One pass over the respondents: per-stratum counts of every (row, col) cell, with "missing"
    # (code −1) as an extra first level of each variable, dropped afterwards to keep the table's
    # base (both answered).  Cells are ordered with the row varying fastest.
    n_strata = design.n_cells
    size = (r_all + 1) * (c_all + 1)
    cell = design.cell_codes * size  # cell = h·size + (r + 1) + (r_all + 1)·(c + 1), in place
    cell += r_codes
    cell += (r_all + 1) * c_codes.astype(np.intp)  # codes may be int8: widen before multiplying
    cell += r_all + 2
    counts = np.bincount(cell, minlength=n_strata * size).reshape(n_strata, c_all + 1, r_all + 1)
    return rao_scott_counts(design, counts[:, 1:, 1:], row, col, strict=strict)


@overload
def rao_scott_counts(
    design: Weighting, counts: np.ndarray, row: str, col: str, *, strict: Literal[True]
) -> RaoScottTest: ...
@overload
def rao_scott_counts(
    design: Weighting, counts: np.ndarray, row: str, col: str, *, strict: bool
) -> RaoScottTest | None: ...
def rao_scott_counts(design: Weighting, counts: np.ndarray, row: str, col: str, *, strict: bool) -> RaoScottTest | None:
    """:func:`rao_scott` from the per-stratum cell counts of the table's base, shape
    (strata, levels of `col`, levels of `row`); levels with no count are dropped.  Fewer than two
    answered levels on a side raise ``ValueError`` when `strict`, else give None."""
    n_strata, c_all, r_all = counts.shape
    counts = counts.reshape(n_strata, c_all * r_all)
    # Only levels observed in the base count.
    margins = counts.sum(axis=0).reshape(c_all, r_all)
    seen_r, seen_c = margins.sum(axis=0) > 0, margins.sum(axis=1) > 0
    n_rows, n_cols = int(seen_r.sum()), int(seen_c.sum())
    if n_rows < 2 or n_cols < 2:
        if not strict:
            return None
        raise ValueError(
            f"a two-way test needs at least two answered levels of each variable; "
            f"{row!r} has {n_rows}, {col!r} has {n_cols} in the table's base"
        )
    if n_rows < r_all or n_cols < c_all:
        counts = counts[:, (seen_c[:, None] & seen_r[None, :]).reshape(-1)]
    counts = np.ascontiguousarray(counts, dtype=float)
    n_cells = n_rows * n_cols

    # Cell proportions: domain means of the cell indicators over the base.
    w = cell_weights(design, 2)
    m_h = counts.sum(axis=1, keepdims=True)  # base respondents per stratum
    nhat = float(np.sum(w * m_h))
    p = np.sum(w * counts, axis=0) / nhat
    # Σ_{i∈h} z_c and Σ_{i∈h} z_c z_c' with z_c = d (δ_c − p_c)/N̂.
    linear = (counts - m_h * p) / nhat
    square = (
        counts[:, :, None] * np.eye(n_cells)[None, :, :]
        - counts[:, :, None] * p[None, None, :]
        - p[None, :, None] * counts[:, None, :]
        + m_h[:, :, None] * np.outer(p, p)[None, :, :]
    ) / nhat**2
    cov = design.covariance_from_sums(linear, square)

    total_rows = design.n  # R: N <- nrow(mm), every row of the design
    table = (total_rows * p).reshape(n_cols, n_rows).T
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total_rows
    pearson = float(np.sum((table - expected) ** 2 / expected))

    contrasts = _interaction_contrasts(n_rows, n_cols)
    inv_p = np.where(p > 0, 1.0 / np.where(p > 0, p, 1.0), 0.0)
    cd = contrasts * inv_p[:, None]  # D⁻¹C
    denom = contrasts.T @ cd / total_rows
    numer = cd.T @ cov @ cd
    delta = _generalised_solve(denom, numer)
    trace = np.float64(np.trace(delta))  # numpy floats: 0/0 is NaN (検定不能), not an exception
    trace_sq = np.float64(np.trace(delta @ delta))
    df = (n_rows - 1) * (n_cols - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        d0 = trace * trace / trace_sq
        f_stat = pearson / trace
        chisq = pearson / (trace / df)
    df_den = d0 * design.df
    return RaoScottTest(
        row=row,
        col=col,
        n=int(counts.sum()),
        n_rows=n_rows,
        n_cols=n_cols,
        pearson=pearson,
        df=df,
        chisq=float(chisq),
        chisq_p_value=_upper_tail(special.chdtrc, chisq, df),
        f=float(f_stat),
        df_num=float(d0),
        df_den=float(df_den),
        p_value=_upper_tail(special.fdtrc, f_stat, d0, df_den),
        mean_deff=float(trace / df),
    )


def _generalised_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a⁻¹b`` (R's ``solve``); where ``a`` is singular or ill-conditioned, the Moore–Penrose
    solution ``a⁺b``.

    ``C'D⁻¹C`` is singular when an interaction contrast lives only on empty cells (for example two
    small 職域 that both never chose the same two answers): R's ``svychisq`` stops there with
    "system is exactly singular". The generalised inverse tests the contrasts the data can
    inform, as if the uninformative ones were absent; Satterthwaite's ``d = tr(Δ)²/tr(Δ²)`` then
    counts only those. Where nothing is left (``tr(Δ) = 0``, e.g. no variation at all) the F and
    its p-value are NaN: 検定不能, no marks.
    """
    s = np.linalg.svd(a, compute_uv=False)
    if s.size and s[0] > 0 and s[-1] > s[0] * 1e-10:
        return np.linalg.solve(a, b)
    return np.linalg.pinv(a, rcond=1e-10, hermitian=True) @ b


def _upper_tail(cdfc, x: float, *df: float) -> float:
    """Upper tail of χ² or F (``cdfc`` = ``special.chdtrc`` / ``special.fdtrc``) as ``scipy.stats``'
    ``sf`` gives it: NaN for df that are not positive, 1 at or below 0 (the support's bound)."""
    if not all(d > 0 for d in df):
        return float("nan")
    if x <= 0:
        return 1.0
    return float(cdfc(*df, x))


def versus_rest(
    data: pd.DataFrame,
    design: Weighting,
    columns: str | Sequence[str],
    *,
    by: str,
) -> pd.DataFrame:
    """Each group against the rest of the respondents (全体との差), per column.

    For every level ``g`` of `by` and every column, the difference between
    the mean in ``g`` and the mean among respondents of the other levels.
    Both are domain means on the full design; the two domains share strata,
    so the variance of the difference is that of the linearised variable
    ``z_g − z_rest`` (their covariance counted).  Respondents with a missing
    `by` are in neither domain (they cannot be said to be outside ``g``);
    missing answers are item nonresponse as in
    :func:`~ppp_survey.survey.estimate.survey_mean`.

    Parameters
    ----------
    data : pandas.DataFrame
        Row-aligned with `design`.
    design : StratifiedDesign or Calibration
    columns : str or sequence of str
        0/1 indicator columns (any numeric column works: means are compared).
    by : str
        Grouping column.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, group, estimate_group, estimate_rest, difference,
        se, statistic, p_value``: ``difference = estimate_group −
        estimate_rest``, ``statistic = difference / se`` and its two-sided
        p-value from Student t on ``design.df`` degrees of freedom (the
        design-based t test of R's ``svyttest``/``svyglm`` with full-design
        df; ``svyttest`` itself uses ``df − 1``).
    """
    names = as_names(columns)
    check_aligned(data, design, names)
    if by is None:
        raise ValueError("versus_rest needs a grouping column (by=)")
    groups = group_codes(data, by)
    return _versus_rest_table(design, names, groups, stratum_sums(data, design, names, groups, center=True))


def _means_and_versus_rest(
    data: pd.DataFrame, design: Weighting, columns: str | Sequence[str], *, by: str, level: float = 0.95
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``survey_mean(..., by=by, level=level)`` and ``versus_rest(..., by=by)`` from one pass over the data.

    For a crosstab, which shows both; the tables are those of the two public functions.
    """
    names = as_names(columns)
    check_aligned(data, design, names)
    check_level(level)
    if by is None:
        raise ValueError("versus_rest needs a grouping column (by=)")
    groups = group_codes(data, by)
    sums = stratum_sums(data, design, names, groups, center=True)
    means = mean_table(design, names, groups, sums, level=level, ci=Interval.AUTO, df=None)
    return means, _versus_rest_table(design, names, groups, sums)


def _versus_rest_table(design: Weighting, names: Sequence[str], groups, sums) -> pd.DataFrame:
    """:func:`versus_rest`'s table from the (centred) sums."""
    columns = versus_rest_arrays(design, sums)
    n_groups = groups.size
    out = pd.DataFrame(
        {
            "variable": np.repeat(np.asarray(names, dtype=object), n_groups),
            "group": np.tile(np.asarray(groups.labels, dtype=object), len(names)),
            **{key: value.T.reshape(-1) for key, value in columns.items()},
        }
    )
    return out[list(VERSUS_REST_COLUMNS)]


def _group_and_rest(design: Weighting, sums) -> tuple[dict[str, np.ndarray], RatioParts, RatioParts]:
    """The rest of each group's per-stratum sums (all grouped respondents minus the group) and the
    ratio parts of the group and of its rest."""
    rest = {key: getattr(sums, key).sum(axis=1, keepdims=True) - getattr(sums, key) for key in ("count", "s1", "s2")}
    own = ratio_parts(design, sums.count, sums.s1, sums.s2)
    other = ratio_parts(design, rest["count"], rest["s1"], rest["s2"])
    return rest, own, other


def versus_rest_arrays(design: Weighting, sums) -> dict[str, np.ndarray]:
    """The numeric columns of :func:`versus_rest`'s table as (G, J) arrays, from the (centred) sums."""
    rest, own, other = _group_and_rest(design, sums)
    # Disjoint domains: Σ z_g z_rest = 0 respondent by respondent.
    variance = design.variance_from_sums(own.linear - other.linear, own.square + other.square)
    shift = sums.shift[np.newaxis, :]
    variance, correction = _at_zero_or_full(variance, sums, own, other, rest["count"], shift)
    se = np.sqrt(variance)
    difference = own.estimate - other.estimate
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.sign(difference) * np.fmax(np.abs(difference) - correction, 0.0) / se
        p_value = 2.0 * special.stdtr(design.df, -np.abs(statistic))  # t.sf
    return {
        "estimate_group": own.estimate + shift,
        "estimate_rest": other.estimate + shift,
        "difference": difference,
        "se": se,
        "statistic": statistic,
        "p_value": p_value,
    }


def versus_rest_score_arrays(design: Weighting, sums) -> dict[str, np.ndarray]:
    """The cell test behind the marks: each group against the rest, as a score test.

    ``z = (|p̂_g − p̂_rest| − c) / √(p̂₀(1 − p̂₀)(1/n_g* + 1/n_rest*))`` with ``p̂₀`` the share of
    both together, ``n*`` Kish's effective sample size ``(Σw)²/Σw²`` of those who answered and
    ``c = (1/n_g* + 1/n_rest*)/2`` Yates' continuity correction; no finite population correction,
    two-sided normal p-value. The variance is the one the null hypothesis
    implies (every respondent, in the group and out of it, answers with one probability), so it does
    not vanish at 0% or 100% and does not shrink with a small group's own noisy share, which is what
    made the Wald test's false marks: measured with the generator's null waves (no group differs),
    Holm over a table's cells gives a false-mark rate per table of about 3% with this test (21
    tables × 100 null waves) and 10–20% with the Wald test; at 0% cells its p-value is within a
    factor of 2 of Fisher's exact test. The question a mark answers is about the process that produces the answers
    (does this group answer differently?), as the wave comparison's, hence no FPC. Columns that are
    not 0/1 get NaN.

    Returns (G, K) arrays ``difference`` (p̂_g − p̂_rest) and ``p_value``.
    """
    w = cell_weights(design, sums.count.ndim)
    rest, own, other = _group_and_rest(design, sums)
    shift = sums.shift[np.newaxis, :]
    p_group, p_rest = own.estimate + shift, other.estimate + shift
    with np.errstate(divide="ignore", invalid="ignore"):
        n_group = own.nhat**2 / np.sum(w * w * sums.count, axis=0)
        n_rest = other.nhat**2 / np.sum(w * w * rest["count"], axis=0)
        pooled = (own.nhat * p_group + other.nhat * p_rest) / (own.nhat + other.nhat)
        inverse_n = 1.0 / n_group + 1.0 / n_rest
        null = pooled * (1.0 - pooled) * inverse_n
        # Yates' continuity correction: the cells are counts, often of a few people
        z = np.fmax(np.abs(p_group - p_rest) - inverse_n / 2.0, 0.0) / np.sqrt(null)
        p_value = np.where(null > 0, special.erfc(z / np.sqrt(2.0)), np.where(np.isfinite(null), 1.0, np.nan))
    binary = np.asarray(sums.binary, dtype=bool)[np.newaxis, :]
    return {"difference": p_group - p_rest, "p_value": np.where(binary, p_value, np.nan)}


def _at_zero_or_full(variance, sums, own, other, rest_count, shift) -> tuple[np.ndarray, np.ndarray]:
    """Variance and continuity correction of the group-vs-rest test for 0% and 100% shares.

    Where a 0/1 column's share is 0% or 100% in the group or in the rest, its linearised variance
    is 0 there and the test would use the other side's variance only: a 0/103 cell against 2% in
    the rest gave p = 4e-11 (Fisher's exact test: 0.25). There the variance is at least its value
    under the null of no difference, ``p₀(1 − p₀)(1/n_g + 1/n_rest)`` (``p₀`` the pooled
    design-based share, ``n`` the respondents who answered, no FPC), and the difference is reduced
    by Yates' continuity correction ``(1/n_g + 1/n_rest)/2`` before it is divided by the SE, as
    these cells are counts of a few people. Elsewhere: the variance unchanged, no correction.
    """
    p_group, p_rest = own.estimate + shift, other.estimate + shift
    binary = np.asarray(sums.binary, dtype=bool)[np.newaxis, :]
    extreme = binary & ((p_group <= 0) | (p_group >= 1) | (p_rest <= 0) | (p_rest >= 1))
    if not extreme.any():
        return variance, np.zeros_like(variance)
    n_group, n_rest = sums.count.sum(axis=0), rest_count.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (own.nhat * p_group + other.nhat * p_rest) / (own.nhat + other.nhat)
        inverse_n = 1.0 / n_group + 1.0 / n_rest
        null = pooled * (1.0 - pooled) * inverse_n
    use = extreme & np.isfinite(null)
    return np.where(use, np.fmax(variance, null), variance), np.where(use, inverse_n / 2.0, 0.0)
