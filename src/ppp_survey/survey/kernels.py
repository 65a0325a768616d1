"""Kernels of the design-based estimators: input checks, group codes, per-stratum sums, variances.

Internal to :mod:`ppp_survey.survey`: :mod:`~ppp_survey.survey.estimate` (the public estimators),
:mod:`~ppp_survey.survey.tables` and :mod:`~ppp_survey.survey.significance` share these, so every
estimate goes through one set of sums and one variance formula. The method is described in
:mod:`ppp_survey.survey.estimate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: it takes about a second to import

from ppp_survey.constants import ALL as GROUP_ALL
from ppp_survey.constants import MIN_BASE, Option
from ppp_survey.survey.design import Weighting


class Interval(Option, option="ci"):
    """The confidence interval of a mean or a share (:func:`~ppp_survey.survey.estimate.survey_mean`'s
    ``ci``; the methods are described there)."""

    AUTO = "auto"  # logit for 0/1 columns, Korn–Graubard where logit collapses or is unreliable; Wald otherwise
    LOGIT = "logit"  # R's svyciprop(method="logit") for every cell (0/1 columns only)
    BETA = "beta"  # Korn–Graubard, R's svyciprop(method="beta"), for every cell (0/1 columns only)
    WALD = "wald"  # estimate ± t·se for every cell


# ---------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------


def as_names(columns: str | Sequence[str], what: str = "columns") -> list[str]:
    if isinstance(columns, str):
        return [columns]
    names = list(columns)
    if not names:
        raise ValueError(f"{what} is empty: name at least one column")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{what} must be column names (str), got {name!r}")
    return names


def check_aligned(data: pd.DataFrame, design: Weighting, names: Sequence[str]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if not isinstance(design, Weighting):
        raise TypeError(f"design must be a StratifiedDesign or a Calibration, not {type(design).__name__}")
    if len(data) != design.n:
        raise ValueError(
            f"data has {len(data)} rows but the design has {design.n} respondents; "
            "pass the data frame the design was built from (row-aligned)"
        )
    missing = [c for c in names if c not in data.columns]
    if missing:
        raise KeyError(f"column(s) not in the data: {missing}")


def check_level(level: float) -> None:
    if not (isinstance(level, (int, float)) and 0.0 < float(level) < 1.0):
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")


def numeric_values(series: pd.Series) -> np.ndarray:
    """Values of an indicator/numeric column as float64 with NaN for missing."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ):
        raise TypeError(
            f"column {series.name!r} is {dtype}, not numeric: pass 0/1 indicator columns "
            "(float with NaN, or Int8 with NA) for categorical answers"
        )
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


@dataclass(frozen=True)
class PreparedColumn:
    """One column ready for summation: zeros where missing, maybe shifted."""

    y: np.ndarray  # (n,) value − shift where answered, 0 elsewhere
    answered: np.ndarray  # (n,) bool
    binary: bool  # all answered values are 0 or 1
    shift: float  # constant subtracted from the answers


def prepare_column(series: pd.Series, *, center: bool) -> PreparedColumn:
    v = numeric_values(series)
    answered = ~np.isnan(v)
    y = np.where(answered, v, 0.0)
    binary = bool(np.all((y == 0.0) | (y == 1.0)))
    if not binary and np.isinf(y).any():
        raise ValueError(f"column {series.name!r} has infinite values")
    shift = 0.0
    if center and not binary:
        # Sums of squares around a central value lose fewer digits; ratio
        # means and their variances do not depend on the shift.
        count = np.count_nonzero(answered)
        if count:
            shift = float(y.sum() / count)
            y = np.where(answered, v - shift, 0.0)
    return PreparedColumn(y=y, answered=answered, binary=binary, shift=shift)


@dataclass(frozen=True)
class GroupCodes:
    """Integer group codes per respondent (−1: no group) and their labels."""

    codes: np.ndarray | None  # None: everyone in one group
    labels: tuple

    @property
    def size(self) -> int:
        return len(self.labels)


def group_codes(data: pd.DataFrame, by: str | None) -> GroupCodes:
    if by is None:
        return GroupCodes(codes=None, labels=(GROUP_ALL,))
    if not isinstance(by, str):
        raise TypeError(f"by must be one column name, got {by!r}")
    if by not in data.columns:
        raise KeyError(f"by column {by!r} is not in the data")
    series = data[by]
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw = series.cat.codes.to_numpy().astype(np.intp)
        n_categories = len(series.cat.categories)
        present = np.bincount(raw + 1, minlength=n_categories + 1)[1:] > 0
        keep = np.flatnonzero(present)
        if keep.size == n_categories:  # every category used: the codes are the group codes
            codes = raw
        else:  # renumber the used categories; −1 (missing) maps to the lookup's last entry, −1
            remap = np.full(n_categories + 1, -1, dtype=np.intp)
            remap[keep] = np.arange(keep.size)
            codes = remap[raw]
        labels = tuple(series.cat.categories[keep])
    else:
        try:
            codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
        except TypeError:  # mixed, unorderable labels: keep order of appearance
            codes, uniques = pd.factorize(series, sort=False, use_na_sentinel=True)
        codes = codes.astype(np.intp)
        labels = tuple(uniques)
    return GroupCodes(codes=codes, labels=labels)


def cell_index(design: Weighting, groups: GroupCodes) -> tuple[np.ndarray, int]:
    """Combined sum cell × group code per respondent; the last bin collects 'no group'."""
    n_groups = groups.size
    n_cells = design.n_cells * n_groups
    if groups.codes is None:
        return design.cell_codes, n_cells
    cell = design.cell_codes * n_groups + groups.codes
    cell = np.where(groups.codes >= 0, cell, n_cells)
    return cell, n_cells + 1


def cell_bincount(cell: np.ndarray, weights: np.ndarray, size: int, shape: tuple[int, int]) -> np.ndarray:
    return np.bincount(cell, weights=weights, minlength=size)[: shape[0] * shape[1]].reshape(shape)


@dataclass(frozen=True)
class StratumSums:
    """Per sum cell × group × column sums (arrays of shape (C, G, J); a cell is a stratum of a
    :class:`~ppp_survey.survey.design.StratifiedDesign`, see :class:`~ppp_survey.survey.design.Weighting`)."""

    count: np.ndarray  # Σ 1{answered}
    s1: np.ndarray  # Σ y
    s2: np.ndarray  # Σ y²
    binary: np.ndarray  # (J,) bool
    shift: np.ndarray  # (J,)


def stratum_sums(
    data: pd.DataFrame,
    design: Weighting,
    names: Sequence[str],
    groups: GroupCodes,
    *,
    center: bool,
) -> StratumSums:
    cell, size = cell_index(design, groups)
    shape = (design.n_cells, groups.size)
    n_cols = len(names)
    count = np.empty(shape + (n_cols,))
    s1 = np.empty_like(count)
    s2 = np.empty_like(count)
    binary = np.empty(n_cols, dtype=bool)
    shift = np.empty(n_cols)
    answered = None
    for j, name in enumerate(names):
        p = prepare_column(data[name], center=center)
        if answered is not None and np.array_equal(p.answered, answered):
            # the options of one question share their nonresponse: count once
            count[..., j] = count[..., j - 1]
        else:
            count[..., j] = cell_bincount(cell, p.answered, size, shape)
            answered = p.answered
        s1[..., j] = cell_bincount(cell, p.y, size, shape)
        s2[..., j] = s1[..., j] if p.binary else cell_bincount(cell, p.y * p.y, size, shape)
        binary[j] = p.binary
        shift[j] = p.shift
    return StratumSums(count=count, s1=s1, s2=s2, binary=binary, shift=shift)


# ---------------------------------------------------------------------------
# closed-form estimators on the sums
# ---------------------------------------------------------------------------


def cell_weights(design: Weighting, ndim: int) -> np.ndarray:
    """The weight of each sum cell, shaped to broadcast on (C, ...)."""
    return design.cell_weights.reshape((-1,) + (1,) * (ndim - 1))


@dataclass(frozen=True)
class RatioParts:
    """Domain ratio mean on the shifted scale, with what its variance needs."""

    estimate: np.ndarray  # R (shifted scale)
    nhat: np.ndarray  # N̂_d (answered)
    linear: np.ndarray  # (C, ...) Σ_{i∈c} z_i
    square: np.ndarray  # (C, ...) Σ_{i∈c} z_i²
    ssd: np.ndarray  # Σ w (y − R)² over the domain (for the SRS reference)


def ratio_parts(design: Weighting, count: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> RatioParts:
    w = cell_weights(design, count.ndim)
    with np.errstate(divide="ignore", invalid="ignore"):
        nhat = np.sum(w * count, axis=0)
        r = np.sum(w * s1, axis=0) / nhat
        resid1 = s1 - r * count  # Σ a (y − R)
        resid2 = s2 - 2.0 * r * s1 + r * r * count  # Σ a (y − R)²
        linear = resid1 / nhat
        square = resid2 / (nhat * nhat)
        ssd = np.sum(w * resid2, axis=0)
    return RatioParts(estimate=r, nhat=nhat, linear=linear, square=square, ssd=ssd)


def srs_variance_of_mean(ssd: np.ndarray, nhat: np.ndarray, n: np.ndarray) -> np.ndarray:
    """R's ``deff=TRUE`` reference: SRSWOR of ``n`` from ``N̂``: ``s²·n/(n−1)·(N̂−n)/(N̂·n)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = ssd / nhat * n / (n - 1.0)
        v = s2 * (nhat - n) / (nhat * n)
    return np.where((n > 1) & (nhat > n), v, np.nan)


def resolve_df(design: Weighting, df: float | None) -> float:
    if df is None:
        return float(design.df)
    if not (isinstance(df, (int, float, np.integer, np.floating)) and df > 0):
        raise ValueError(f"df must be a positive number, got {df!r}")
    return float(df)


def t_quantile(level: float, df: float) -> float:
    return float(special.stdtrit(df, 0.5 + level / 2.0)) if df > 0 else np.nan  # t.ppf


def wald_interval(estimate: np.ndarray, se: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    return estimate - q * se, estimate + q * se


def logit_interval(p: np.ndarray, se: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """R's ``svyciprop(method="logit")``: ``expit(logit(p) ± q·se/(p(1−p)))``.

    Estimates of exactly 0 or 1, or with zero SE, give the degenerate
    interval ``[p, p]`` (R's GLM would not converge there).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inside = (p > 0.0) & (p < 1.0) & (se > 0.0)
        pp = np.where(inside, p, 0.5)
        eta = np.log(pp / (1.0 - pp))
        half = q * np.where(inside, se, 0.0) / (pp * (1.0 - pp))
        low = np.where(inside, 1.0 / (1.0 + np.exp(-(eta - half))), p)
        high = np.where(inside, 1.0 / (1.0 + np.exp(-(eta + half))), p)
    return low, high


def korn_graubard_interval(
    p: np.ndarray, se: np.ndarray, n: np.ndarray, *, level: float, df: float, n_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Korn & Graubard's interval (R's ``svyciprop(method = "beta")``): Clopper–Pearson on the
    design's effective sample size.

    ``n_eff = p(1−p)/se² · (t_{α/2, n_rows−1} / t_{α/2, df})²`` (R: ``nrow(design) − 1`` and
    ``degf(design)``), then ``[Beta⁻¹(α/2; n_eff·p, n_eff(1−p)+1), Beta⁻¹(1−α/2; n_eff·p+1, n_eff(1−p))]``.
    Where the estimate is 0 or 1 (or the SE is 0) the effective size is undefined (R returns NaN);
    here it is the base ``n`` (design effect 1), so a 0/24 cell gets the Clopper–Pearson upper bound
    of 0/24, 14.2%, instead of a collapsed ``[0, 0]``. Korn & Graubard (1998), Survey Methodology 24:193–201.
    """
    alpha = 1.0 - level
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n_eff = p * (1.0 - p) / np.asarray(se, dtype=float) ** 2
        if n_rows > 1 and df > 0:
            n_eff = n_eff * (special.stdtrit(n_rows - 1, alpha / 2) / special.stdtrit(df, alpha / 2)) ** 2
        degenerate = (p <= 0.0) | (p >= 1.0) | ~np.isfinite(n_eff) | (n_eff <= 0)
        n_eff = np.where(degenerate, n, n_eff)
        x = n_eff * p
        low = np.where(x > 0, special.betaincinv(x, n_eff - x + 1.0, alpha / 2), 0.0)
        high = np.where(n_eff - x > 0, special.betaincinv(x + 1.0, n_eff - x, 1.0 - alpha / 2), 1.0)
    empty = ~(n > 0) | np.isnan(p)
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def tidy_table(names: Sequence[str], groups: GroupCodes, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long table, one row per variable × group (variable-major), from (G, J) arrays."""
    n_groups, n_cols = groups.size, len(names)
    out = {
        "variable": np.repeat(np.asarray(names, dtype=object), n_groups),
        "group": np.tile(np.asarray(groups.labels, dtype=object), n_cols),
    }
    for key, value in columns.items():
        out[key] = np.asarray(value).T.reshape(-1)
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------
# public estimators

# ---------------------------------------------------------------------------
# survey_mean's table from the sums (shared with tables and significance)
# ---------------------------------------------------------------------------


def mean_table(
    design: Weighting,
    names: Sequence[str],
    groups: GroupCodes,
    sums: StratumSums,
    *,
    level: float,
    ci: Interval,
    df: float | None,
) -> pd.DataFrame:
    """:func:`survey_mean`'s table from the (centred) sums, so other tables can share one pass."""
    return tidy_table(names, groups, mean_arrays(design, sums, level=level, ci=ci, df=df, names=names))


def mean_arrays(
    design: Weighting,
    sums: StratumSums,
    *,
    level: float,
    ci: Interval,
    df: float | None,
    names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """The columns of :func:`survey_mean`'s table as (G, J) arrays, from the (centred) sums."""
    proportions_only = ci in (Interval.LOGIT, Interval.BETA)
    if proportions_only and not sums.binary.all():
        bad = [nm for nm, b in zip(names if names is not None else range(len(sums.binary)), sums.binary) if not b]
        raise ValueError(f"ci={ci.value!r} needs 0/1 columns; not 0/1: {bad}")

    parts = ratio_parts(design, sums.count, sums.s1, sums.s2)
    variance = design.variance_from_sums(parts.linear, parts.square)
    n = sums.count.sum(axis=0)
    shift = sums.shift[np.newaxis, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        unweighted = sums.s1.sum(axis=0) / n + shift
        deff = variance / srs_variance_of_mean(parts.ssd, parts.nhat, n)
    estimate = parts.estimate + shift
    se = np.sqrt(variance)
    answered = n > 0
    se = np.where(answered, se, np.nan)

    q = t_quantile(level, resolve_df(design, df))
    low, high = wald_interval(estimate, se, q)
    proportion = sums.binary if ci is Interval.AUTO else np.full(len(sums.binary), proportions_only)
    if proportion.any():
        # logit (R's svyciprop default); Korn–Graubard where logit collapses or is unreliable: an
        # estimate of 0 or 1 (zero SE) or a base under MIN_BASE ("auto"), or everywhere ("beta")
        p_low, p_high = logit_interval(estimate, se, q)
        beta = (
            (estimate <= 0.0) | (estimate >= 1.0) | (n < MIN_BASE)
            if ci is Interval.AUTO
            else np.full(n.shape, ci is Interval.BETA)
        )
        if beta.any():
            k_low, k_high = korn_graubard_interval(
                estimate, se, n, level=level, df=resolve_df(design, df), n_rows=design.n
            )
            p_low, p_high = np.where(beta, k_low, p_low), np.where(beta, k_high, p_high)
        low = np.where(proportion[np.newaxis, :], p_low, low)
        high = np.where(proportion[np.newaxis, :], p_high, high)

    return {
        "n": n.astype(np.int64),
        "unweighted": unweighted,
        "estimate": estimate,
        "se": se,
        "ci_low": low,
        "ci_high": high,
        "deff": deff,
    }
