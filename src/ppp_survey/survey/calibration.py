"""Raking: weights calibrated to the staff list's margins (職域 and, e.g., 職位 and 年代).

The stratified design weights each respondent ``d_i = N_h/n_h``, so the estimates match the staff
list by 職域 only. When the staff list's totals by further attributes are known (a margins file,
:func:`ppp_survey.spec.margins.load_margins`), :func:`rake` adjusts the weights by iterative
proportional fitting until they reproduce every margin: ``w_i = g_i·d_i``, ``Σ_{i∈l} w_i = N_l`` for
every category ``l`` of every margin, 職域 included. This is R's
``rake(dstrat, list(~domain, ~position, ~age), ...)`` or, equivalently,
``calibrate(dstrat, ~domain + position + age, pop, calfun = "raking")``, run to convergence.

Bounds (``bounds=(L, U)``) keep every ``g_i`` within ``[L, U]``: R's
``calibrate(..., calfun = "raking", bounds = c(L, U))``, i.e. ``g_i = clip(exp(x_i'η), L, U)``
with ``η`` solved so that the margins hold (a truncated raking; the bounds are met exactly, unlike
trimming after the fact, which breaks the margins).

**Variance.** The calibrated estimator of a total is ``Σ w_i y_i``; its linearisation replaces each
unit's influence value ``z_i`` (``y_i`` for a total, ``(y_i − R)/N̂`` for a ratio mean) by its
residual from a regression on the calibration dummies, then applies the stratified formula of the
design (``Σ_h (1 − n_h/N_h)·n_h/(n_h − 1)·Σ_{i∈h} (x_i − x̄_h)²`` with ``x_i = w_i e_i``). Two
residuals, both R's:

* ``variance="calibrate"`` (default): the ``d``-weighted least-squares residual
  ``e = z − X(X'DX)⁻¹X'Dz`` — R's ``calibrate()`` (``qr.resid`` of the ``√d``-scaled model matrix in
  ``svyrecvar``), the Deville–Särndal linearisation;
* ``variance="rake"``: ten alternating sweeps that centre ``z`` within the categories of each margin
  in turn (unweighted means) — R's ``rake()`` (``svyrecvar``'s ``"raking"`` branch), which svy
  reproduces. It tends to the unweighted least-squares residual, so it differs from the default when
  the design weights vary; the tests measure by how much.

Post-stratification on 職域 alone (``margins`` empty) leaves the weights ``N_h/n_h`` and the
variances of :mod:`~ppp_survey.survey.estimate` unchanged (the residual only removes stratum means,
which the stratified formula removes anyway).

Respondents who left a margin's attribute blank form a category 無回答 whose total is fixed at its
design-weighted count; the stated categories' totals are scaled by ``(N − N̂_無回答)/N`` (the
non-answerers are assumed to be spread over the categories as the staff list is).
``missing="error"`` refuses them instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ppp_survey.constants import MIN_BASE
from ppp_survey.spec.codebook import Item
from ppp_survey.survey.design import StratifiedDesign
from ppp_survey.survey.estimate import ESTIMATE_COLUMNS, expand_columns, survey_mean
from ppp_survey.survey.indicators import MEASURE_LABEL, Measure, top2
from ppp_survey.survey.kernels import (
    GroupCodes,
    as_names,
    check_level,
    group_codes,
    korn_graubard_interval,
    logit_interval,
    prepare_column,
    srs_variance_of_mean,
    t_quantile,
    tidy_table,
    wald_interval,
)
from ppp_survey.survey.raking import CalibrationError, CalibrationMargin, fit_margins, margins_of

__all__ = [
    "COMPARISON_COLUMNS",
    "RAKE_SWEEPS",
    "Calibration",
    "CalibrationError",
    "CalibrationMargin",
    "calibrated_mean",
    "compare_weights",
    "rake",
    "stratified_covariance",
]

#: Columns of :func:`compare_weights`.
COMPARISON_COLUMNS = (
    "question",
    "code",
    "label",
    "n",
    "estimate_strata",
    "ci_low_strata",
    "ci_high_strata",
    "estimate_calibrated",
    "ci_low_calibrated",
    "ci_high_calibrated",
    "difference",
)

#: Sweeps of R's raking variance (``svyrecvar``: ``for (iterations in 1:10)``).
RAKE_SWEEPS = 10


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Calibration:
    """Raked weights and what their variance needs. Build it with :func:`rake`.

    Attributes
    ----------
    design : StratifiedDesign
        The design whose weights ``d_i = N_h/n_h`` were raked (strata, FPC and df stay its own).
    weights : numpy.ndarray
        Calibrated weight ``w_i = g_i·d_i`` of each respondent.
    margins : tuple of CalibrationMargin
        The 職域 (the design's strata) first, then the further margins in the order given.
    iterations : int
        Raking sweeps over all margins (0: the design weights already met every margin).
    max_error : float
        Largest relative margin error ``|Σ_{i∈l} w_i − N_l| / N_l`` over every category.
    bounds : tuple of float or None
        ``(L, U)`` limits of ``g_i``, or None.
    variance : {"calibrate", "rake"}
        Which residuals the variances use (module docstring).
    """

    design: StratifiedDesign
    weights: np.ndarray = field(repr=False)
    margins: tuple[CalibrationMargin, ...]
    iterations: int
    max_error: float
    bounds: tuple[float, float] | None = None
    variance: str = "calibrate"
    gram: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.variance not in ("calibrate", "rake"):
            raise ValueError(f"variance must be 'calibrate' or 'rake', got {self.variance!r}")
        object.__setattr__(self, "weights", _frozen(np.asarray(self.weights, dtype=float)))
        object.__setattr__(self, "gram", _frozen(self._gram()))

    @property
    def n(self) -> int:
        return self.design.n

    @property
    def g(self) -> np.ndarray:
        """Calibration factor ``g_i = w_i/d_i`` of each respondent."""
        return self.weights / self.design.weights

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(m.column for m in self.margins)

    def margin_table(self) -> pd.DataFrame:
        """``column, category, stated, target, design, calibrated, relative_error``: per category the total
        as given, the total raked to (differs from ``stated`` only where 無回答 is a category), the
        design-weighted count and the calibrated count."""
        d = self.design.weights
        rows = []
        for m in self.margins:
            design, achieved = m.achieved(d), m.achieved(self.weights)
            for k, label in enumerate(m.labels):
                rows.append((m.column, label, m.stated[k], m.targets[k], design[k], achieved[k]))
        out = pd.DataFrame(rows, columns=["column", "category", "stated", "target", "design", "calibrated"])
        out["relative_error"] = (out["calibrated"] - out["target"]).abs() / out["target"]
        return out

    def aux_matrix(self) -> np.ndarray:
        """The calibration model matrix: one 0/1 column per category of every margin (n × K, dense)."""
        blocks = [np.eye(m.size)[m.codes] for m in self.margins]
        return np.hstack(blocks)

    # -- residuals and variances ----------------------------------------------------------------

    def _reduced_codes(self) -> list[tuple[np.ndarray, int, int, int]]:
        """(codes, dropped, offset, levels) of the reduced model: every category of the first margin,
        the others without their first category (code −1), so the model matrix has full rank."""
        out, offset = [], 0
        for k, m in enumerate(self.margins):
            drop = 0 if k == 0 else 1
            out.append((m.codes - drop, drop, offset, m.size - drop))
            offset += m.size - drop
        return out

    def _gram(self) -> np.ndarray:
        """``X'DX`` of the reduced model, from counts of pairs of categories (no n × K matrix)."""
        d = self.design.weights
        parts = self._reduced_codes()
        size = sum(levels for *_, levels in parts)
        gram = np.zeros((size, size))
        for a, (ca, _, oa, la) in enumerate(parts):
            for cb, _, ob, lb in parts[a:]:
                keep = (ca >= 0) & (cb >= 0)
                block = np.bincount(ca[keep] * lb + cb[keep], weights=d[keep], minlength=la * lb).reshape(la, lb)
                gram[oa : oa + la, ob : ob + lb] = block
                gram[ob : ob + lb, oa : oa + la] = block.T
        return gram

    def residuals(self, z: np.ndarray) -> np.ndarray:
        """Residuals of the influence values ``z`` (n,) or (n, q) from the calibration model."""
        z = np.asarray(z, dtype=float)
        flat = z.reshape(len(z), -1)
        e = _rake_residuals(self, flat) if self.variance == "rake" else _greg_residuals(self, flat)
        return e.reshape(z.shape)

    def covariance(self, z: np.ndarray) -> np.ndarray:
        """Covariance matrix (q × q) of ``Σ_i w_i z_i`` for the q columns of ``z`` (n, q): the
        stratified formula of the design applied to ``w_i e_i``, ``e`` the calibration residuals."""
        x = self.weights[:, np.newaxis] * self.residuals(np.asarray(z, dtype=float).reshape(self.n, -1))
        return stratified_covariance(self.design, x)

    def variances(self, z: np.ndarray) -> np.ndarray:
        """Variance of ``Σ_i w_i z_i`` for each column of ``z`` (the diagonal of :meth:`covariance`)."""
        x = self.weights[:, np.newaxis] * self.residuals(np.asarray(z, dtype=float).reshape(self.n, -1))
        return stratified_covariance(self.design, x, diagonal=True)


def _greg_residuals(cal: Calibration, z: np.ndarray) -> np.ndarray:
    """``z − X β``, ``β`` the ``d``-weighted least-squares coefficients (R's ``calibrate``)."""
    d = cal.design.weights
    parts = cal._reduced_codes()
    rhs = np.zeros((cal.gram.shape[0], z.shape[1]))
    dz = d[:, np.newaxis] * z
    for codes, _, offset, levels in parts:
        keep = codes >= 0
        rhs[offset : offset + levels] = group_sums(codes[keep], dz[keep], levels)
    beta = np.linalg.lstsq(cal.gram, rhs, rcond=None)[0]
    fitted = np.zeros_like(z)
    for codes, dropped, offset, levels in parts:
        coef = beta[offset : offset + levels]
        if dropped:  # the first category is the reference: coefficient 0
            coef = np.vstack([np.zeros((1, z.shape[1])), coef])
        fitted += coef[codes + dropped]
    return z - fitted


def _rake_residuals(cal: Calibration, z: np.ndarray) -> np.ndarray:
    """R's ``rake()`` variance: ten sweeps, each centring ``z`` within the categories of every margin."""
    e = np.array(z, dtype=float, copy=True)
    counts = [np.bincount(m.codes, minlength=m.size).astype(float)[:, np.newaxis] for m in cal.margins]
    for _ in range(RAKE_SWEEPS):
        for m, count in zip(cal.margins, counts):
            e -= (group_sums(m.codes, e, m.size) / count)[m.codes]
    return e


def group_sums(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """``Σ_{i: codes_i = k} values_i`` for k < size, per column of ``values`` (n, q) → (size, q); one bincount."""
    q = values.shape[1]
    index = (codes[:, np.newaxis] * q + np.arange(q)).ravel()
    return np.bincount(index, weights=values.ravel(), minlength=size * q).reshape(size, q)


def stratified_covariance(design: StratifiedDesign, x: np.ndarray, *, diagonal: bool = False) -> np.ndarray:
    """``Σ_h (1 − f_h)·n_h/(n_h − 1)·Σ_{i∈h} (x_i − x̄_h)(x_i − x̄_h)'`` for weighted scores ``x`` (n, q).

    R's ``svyrecvar`` for a stratified design with one unit per PSU (``onestrat``); ``f_h = n_h/N_h``
    with the FPC, 0 without. Returns the q × q matrix, or its diagonal with ``diagonal=True``.
    """
    x = np.asarray(x, dtype=float).reshape(design.n, -1)
    codes, h = design.codes, len(design.strata)
    n_h = np.maximum(design.sample_size, 1).astype(float)
    means = group_sums(codes, x, h) / n_h[:, np.newaxis]
    centred = (x - means[codes]) * np.sqrt(design.variance_factors)[codes, np.newaxis]
    if diagonal:
        return np.einsum("ij,ij->j", centred, centred)
    return centred.T @ centred


# ---------------------------------------------------------------------------
# raking and estimates on the calibrated weights
# ---------------------------------------------------------------------------


def rake(
    data: pd.DataFrame,
    design: StratifiedDesign,
    margins: Mapping[str, Mapping[str, float] | pd.Series] | None = None,
    *,
    bounds: tuple[float, float] | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
    missing: Literal["share", "error"] = "share",
    variance: Literal["calibrate", "rake"] = "calibrate",
) -> Calibration:
    """Rake the design weights ``N_h/n_h`` to the 職域 totals and the given margins.

    Parameters
    ----------
    data : pandas.DataFrame
        Row-aligned with `design`; holds the margins' columns.
    design : StratifiedDesign
        The stratified design; its strata and ``N_h`` are always the first margin.
    margins : mapping, optional
        ``{column: {category label: staff}}`` (e.g. :meth:`ppp_survey.spec.margins.Margins.targets`).
        Categories are compared as strings with the column's values (category labels). Each
        margin's total must equal the staff of the strata that have respondents. None or empty:
        post-stratification on the strata alone (the design weights).
    bounds : (float, float), optional
        ``(L, U)`` with ``0 < L ≤ 1 ≤ U``: every ``g_i = w_i/d_i`` stays within (R's
        ``calibrate(..., calfun = "raking", bounds = c(L, U))``).
    tol : float, default 1e-10
        Stop when the largest relative margin error is at most `tol`.
    max_iter : int, default 1000
        Sweeps over all margins before giving up.
    missing : {"share", "error"}
        A blank in a margin's column: ``"share"`` makes 無回答 a category holding its design-weighted
        count (module docstring); ``"error"`` refuses.
    variance : {"calibrate", "rake"}
        The residuals of the variances: R's ``calibrate()`` (default) or R's ``rake()`` (= svy).

    Returns
    -------
    Calibration

    Raises
    ------
    CalibrationError
        A category with staff but no respondent, a respondent's category absent from the margin,
        totals that disagree with the frame, bounds that cannot be met, or no convergence within
        `max_iter` sweeps.
    """
    if not isinstance(design, StratifiedDesign):
        raise TypeError(f"design must be a StratifiedDesign, not {type(design).__name__}")
    if len(data) != design.n:
        raise ValueError(f"data has {len(data)} rows but the design has {design.n} respondents (pass its data)")
    if bounds is not None and not (0 < bounds[0] <= 1 <= bounds[1]):
        raise ValueError(f"bounds must satisfy 0 < lower <= 1 <= upper, got {bounds!r}")
    if missing not in ("share", "error"):
        raise ValueError(f"missing must be 'share' or 'error', got {missing!r}")
    all_margins = margins_of(data, design, margins or {}, missing)
    limits = None if bounds is None else (float(bounds[0]), float(bounds[1]))
    weights, sweeps, error = fit_margins(all_margins, design.weights, bounds=limits, tol=tol, max_iter=max_iter)
    return Calibration(
        design=design,
        weights=weights,
        margins=all_margins,
        iterations=sweeps,
        max_error=error,
        bounds=limits,
        variance=variance,
    )


def _domain_influence(y: np.ndarray, valid: np.ndarray, groups: GroupCodes, w: np.ndarray) -> dict[str, np.ndarray]:
    """Per group: the ratio mean of ``y`` over the valid rows, its influence values ``z`` (n, G) and counts."""
    n_groups = groups.size
    cell = np.zeros(len(y), dtype=np.intp) if groups.codes is None else groups.codes
    valid = valid & (cell >= 0)
    rows, g = np.flatnonzero(valid), cell[valid]
    nhat = np.bincount(g, weights=w[rows], minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.bincount(g, weights=(w * y)[rows], minlength=n_groups) / nhat
        resid = y[rows] - ratio[g]
        z = np.zeros((len(y), n_groups))
        z[rows, g] = resid / nhat[g]
    return {
        "z": z,
        "estimate": ratio,
        "nhat": nhat,
        "n": np.bincount(g, minlength=n_groups).astype(float),
        "sum": np.bincount(g, weights=y[rows], minlength=n_groups),
        "ssd": np.bincount(g, weights=(w[rows] * resid * resid), minlength=n_groups),
    }


def _intervals(estimate, se, n, binary: np.ndarray, *, level: float, df: float, n_rows: int):
    """The intervals of :func:`~ppp_survey.survey.estimate.survey_mean` (``ci="auto"``): logit for 0/1
    columns, Korn–Graubard where a share is 0 or 1 or its base under 30, Wald otherwise."""
    q = t_quantile(level, df)
    low, high = wald_interval(estimate, se, q)
    if binary.any():
        p_low, p_high = logit_interval(estimate, se, q)
        beta = (estimate <= 0.0) | (estimate >= 1.0) | (n < MIN_BASE)
        if beta.any():
            k_low, k_high = korn_graubard_interval(estimate, se, n, level=level, df=df, n_rows=n_rows)
            p_low, p_high = np.where(beta, k_low, p_low), np.where(beta, k_high, p_high)
        low = np.where(binary[np.newaxis, :], p_low, low)
        high = np.where(binary[np.newaxis, :], p_high, high)
    return low, high


def calibrated_mean(
    data: pd.DataFrame,
    cal: Calibration,
    columns: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Means (shares for 0/1 columns) on the calibrated weights, overall or by domain.

    The estimator and the table are :func:`~ppp_survey.survey.estimate.survey_mean`'s (same columns,
    item nonresponse, domains on the full design, intervals with ``ci="auto"`` and ``design.df``
    degrees of freedom); the weights are ``cal.weights`` and the variance uses the calibration
    residuals (module docstring). With ``cal`` from ``rake(data, design)`` (the 職域 alone) the result
    equals ``survey_mean(data, design, ...)``.

    Returns
    -------
    pandas.DataFrame
        ``variable, group, n, unweighted, estimate, se, ci_low, ci_high, deff``.
    """
    if not isinstance(cal, Calibration):
        raise TypeError(f"cal must be a Calibration (from rake), not {type(cal).__name__}")
    data, names, by_col = expand_columns(data, columns, by)
    if len(data) != cal.n:
        raise ValueError(f"data has {len(data)} rows but the calibration has {cal.n} respondents (pass its data)")
    missing = [c for c in as_names(names) if c not in data.columns]
    if missing:
        raise KeyError(f"column(s) not in the data: {missing}")
    check_level(level)
    groups = group_codes(data, by_col)
    w = cal.weights
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("n", "unweighted", "estimate", "se", "deff")}
    binary = np.zeros(len(names), dtype=bool)
    for j, name in enumerate(names):
        p = prepare_column(data[name], center=True)
        binary[j] = p.binary
        dom = _domain_influence(p.y, p.answered, groups, w)
        variance = cal.variances(dom["z"])
        with np.errstate(divide="ignore", invalid="ignore"):
            parts["unweighted"].append(dom["sum"] / dom["n"] + p.shift)
            parts["deff"].append(variance / srs_variance_of_mean(dom["ssd"], dom["nhat"], dom["n"]))
        parts["n"].append(dom["n"])
        parts["estimate"].append(dom["estimate"] + p.shift)
        parts["se"].append(np.where(dom["n"] > 0, np.sqrt(variance), np.nan))
    table = {k: np.column_stack(v) for k, v in parts.items()}  # (G, J)
    low, high = _intervals(
        table["estimate"], table["se"], table["n"], binary, level=level, df=float(cal.design.df), n_rows=cal.n
    )
    out = tidy_table(
        names,
        groups,
        {
            "n": table["n"].astype(np.int64),
            "unweighted": table["unweighted"],
            "estimate": table["estimate"],
            "se": table["se"],
            "ci_low": low,
            "ci_high": high,
            "deff": table["deff"],
        },
    )
    return out[list(ESTIMATE_COLUMNS)]


def compare_weights(
    responses: pd.DataFrame, cal: Calibration, items: Sequence[Item], *, level: float = 0.95
) -> pd.DataFrame:
    """全体 estimates of single-answer/Likert questions with the 職域 weights and with the raked weights,
    side by side: every choice, and for a Likert question its 肯定的回答 (``code`` 0).

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARISON_COLUMNS`: ``n`` answers, each estimate with its 95% interval (``*_strata``:
        :func:`~ppp_survey.survey.estimate.survey_mean` on ``cal.design``; ``*_calibrated``:
        :func:`calibrated_mean`), ``difference`` = calibrated − strata (fractions).
    """
    parts = []
    for item in items:
        if item.is_multi or item.type not in ("sa", "likert"):
            raise ValueError(f"{item.id}: compare_weights takes single-answer or Likert questions")
        data = responses[[item.id]].copy()
        columns, codes, labels = [item.id], [c.code for c in item.choices], list(item.labels)
        if item.type == "likert":
            top = [c.label for c in top2(item)]
            values = data[item.id]
            data["_top2"] = np.where(values.isna().to_numpy(), np.nan, values.isin(top).to_numpy(dtype=float))
            columns.append("_top2")
            codes.append(0)
            labels.append(MEASURE_LABEL[Measure.TOP2])
        strata = survey_mean(data, cal.design, columns, level=level)
        calibrated = calibrated_mean(data, cal, columns, level=level)
        parts.append(
            pd.DataFrame(
                {
                    "question": item.id,
                    "code": codes,
                    "label": labels,
                    "n": strata["n"].to_numpy(),
                    "estimate_strata": strata["estimate"].to_numpy(),
                    "ci_low_strata": strata["ci_low"].to_numpy(),
                    "ci_high_strata": strata["ci_high"].to_numpy(),
                    "estimate_calibrated": calibrated["estimate"].to_numpy(),
                    "ci_low_calibrated": calibrated["ci_low"].to_numpy(),
                    "ci_high_calibrated": calibrated["ci_high"].to_numpy(),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["difference"] = out["estimate_calibrated"] - out["estimate_strata"]
    return out[list(COMPARISON_COLUMNS)]
