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
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ppp_survey.constants import Option
from ppp_survey.errors import CalibrationError
from ppp_survey.survey.design import StratifiedDesign, Weighting, stratified_covariance
from ppp_survey.survey.estimate import survey_mean
from ppp_survey.survey.raking import CalibrationMargin, Missing, fit_margins, margins_of
from ppp_survey.text import WeightsMethod

__all__ = [
    "RAKE_SWEEPS",
    "Calibration",
    "CalibrationError",
    "CalibrationMargin",
    "Missing",
    "Variance",
    "calibrated_mean",
    "rake",
]

#: Sweeps of R's raking variance (``svyrecvar``: ``for (iterations in 1:10)``).
RAKE_SWEEPS = 10


class Variance(Option, option="variance"):
    """Which residuals the variances of raked estimates use (:func:`rake`; module docstring)."""

    CALIBRATE = "calibrate"  # the d-weighted least-squares residual, R's calibrate()
    RAKE = "rake"  # RAKE_SWEEPS sweeps within each margin's categories, R's rake() and svy


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class _Cells:
    """The sum cells of a calibration: respondents with the same category of every margin."""

    codes: np.ndarray  # (n,) cell of each respondent
    weights: np.ndarray  # (C,) raked weight of the cell
    sizes: np.ndarray  # (C,) respondents (float)
    strata: np.ndarray  # (C,) stratum (position in design.strata)
    margin_codes: tuple[np.ndarray, ...]  # per margin, the category of each cell (C,)
    dummies: np.ndarray  # (C, K) the reduced calibration model matrix of each cell


@dataclass(frozen=True, eq=False)
class Calibration(Weighting):
    """Raked weights and what their variance needs. Build it with :func:`rake`.

    Every estimator takes it where it takes a :class:`~ppp_survey.survey.design.StratifiedDesign`
    (:class:`~ppp_survey.survey.design.Weighting`): its sum cells are the combinations of the
    margins' categories (職域 × 職位 × 年代 …) that have respondents, within which the raked weight
    and the calibration model's fitted value are constant; variances are then computed from per-cell
    sums (:meth:`variance_from_sums`), as fast as the design's.

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
    variance : Variance, {"calibrate", "rake"}
        Which residuals the variances use (module docstring).
    """

    design: StratifiedDesign
    weights: np.ndarray = field(repr=False)
    margins: tuple[CalibrationMargin, ...]
    iterations: int
    max_error: float
    bounds: tuple[float, float] | None = None
    variance: Variance = Variance.CALIBRATE
    gram: np.ndarray = field(init=False, repr=False)
    cells: _Cells = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "variance", Variance(self.variance))
        object.__setattr__(self, "weights", _frozen(np.asarray(self.weights, dtype=float)))
        object.__setattr__(self, "cells", _cells_of(self))
        object.__setattr__(self, "gram", _frozen(self._gram()))

    @property
    def n(self) -> int:
        return self.design.n

    @property
    def df(self) -> int:
        """The design's degrees of freedom (``n − H``): calibration does not change them (R's ``degf``)."""
        return self.design.df

    @property
    def fpc(self) -> bool:
        return self.design.fpc

    @property
    def stratified(self) -> StratifiedDesign:
        return self.design

    @property
    def method(self) -> WeightsMethod:
        """Raked to 職域 and the further margins (their names), within the bounds."""
        return WeightsMethod(tuple(m.name for m in self.margins[1:]), self.bounds)

    def without_fpc(self) -> Calibration:
        """The raked weights are the same without the FPC (raking uses the design weights only): not raked again."""
        return replace(self, design=self.design.without_fpc()) if self.design.fpc else self

    @property
    def row_weights(self) -> np.ndarray:
        return self.weights

    @property
    def cell_codes(self) -> np.ndarray:
        return self.cells.codes

    @property
    def cell_weights(self) -> np.ndarray:
        return self.cells.weights

    def variance_from_sums(self, linear: np.ndarray, square: np.ndarray) -> np.ndarray:
        """Variance of ``Σ_i w_i z_i`` from per-cell ``Σz`` and ``Σz²`` (C, ...): the residual of each
        unit is ``z_i − f_c`` with ``f_c`` the calibration model's fitted value of its cell, so the
        weighted residuals' per-stratum sums follow from the cell sums; then the design's formula."""
        shape = linear.shape[1:]
        big_l = linear.reshape(len(linear), -1)
        big_q = square.reshape(len(square), -1)
        f = self._fitted(big_l)
        n = self.cells.sizes[:, np.newaxis]
        w = self.cells.weights[:, np.newaxis]
        x1 = w * (big_l - n * f)
        x2 = w * w * (big_q - 2.0 * f * big_l + n * f * f)
        h = len(self.design.strata)
        x1_h, x2_h = group_sums(self.cells.strata, x1, h), group_sums(self.cells.strata, x2, h)
        n_h = np.maximum(self.design.sample_size, 1).astype(float)[:, np.newaxis]
        v = np.sum(self.design.variance_factors[:, np.newaxis] * (x2_h - x1_h * x1_h / n_h), axis=0)
        return np.maximum(v, 0.0).reshape(shape)

    def covariance_from_sums(self, linear: np.ndarray, cross: np.ndarray) -> np.ndarray:
        """Covariance (q × q) of ``Σ_i w_i z_i`` from per-cell ``Σz`` (C, q) and ``Σzz'`` (C, q, q)."""
        f = self._fitted(linear)
        n = self.cells.sizes[:, np.newaxis]
        w = self.cells.weights[:, np.newaxis]
        x1 = w * (linear - n * f)
        outer_fl = f[:, :, np.newaxis] * linear[:, np.newaxis, :]
        x2 = (w * w)[:, :, np.newaxis] * (
            cross
            - outer_fl
            - outer_fl.transpose(0, 2, 1)
            + n[:, :, np.newaxis] * f[:, :, np.newaxis] * f[:, np.newaxis, :]
        )
        h, q = len(self.design.strata), linear.shape[1]
        x1_h = group_sums(self.cells.strata, x1, h)
        x2_h = group_sums(self.cells.strata, x2.reshape(len(x2), q * q), h).reshape(h, q, q)
        n_h = np.maximum(self.design.sample_size, 1).astype(float)[:, np.newaxis, np.newaxis]
        c = self.design.variance_factors[:, np.newaxis, np.newaxis]
        return np.sum(c * (x2_h - x1_h[:, :, np.newaxis] * x1_h[:, np.newaxis, :] / n_h), axis=0)

    def weights_for(self, categories: pd.DataFrame) -> np.ndarray:
        """The raked weight of a respondent with the given category of every margin (one column per
        margin's column, values its labels): the weight of the cell with those categories where it has
        respondents; otherwise the weight the raking implies, the stratum's design weight times
        ``g = exp(x'β)`` with ``β`` fitted to the cells' ``log g`` (exact for raking without bounds,
        where ``g`` is a product of one factor per category), clipped to the bounds; a label the margin
        lacks contributes no factor. (The disclosure audit gives the attacker these weights.)"""
        beta = np.linalg.lstsq(self.cells.dummies, np.log(self.cells.weights / self._design_weight), rcond=None)[0]
        given = []
        for m in self.margins:
            position = {label: j for j, label in enumerate(m.labels)}
            given.append(np.array([position.get(str(v), -1) for v in categories[m.column]], dtype=np.intp))
        known = np.all([codes >= 0 for codes in given], axis=0)
        key = _cell_key(self.margins, [np.maximum(codes, 0) for codes in given])
        g = np.exp(_reduced_dummies(self.margins, given) @ beta)
        if self.bounds is not None:
            g = np.clip(g, *self.bounds)
        strata = dict(zip(self.design.strata, self.design.cell_weights))
        weights = g * np.array([strata.get(str(v), 0.0) for v in categories[self.margins[0].column]])
        where = {int(c): j for j, c in enumerate(_cell_key(self.margins, self.cells.margin_codes))}
        for row in np.flatnonzero(known):
            j = where.get(int(key[row]))
            if j is not None:
                weights[row] = self.cells.weights[j]
        return weights

    @property
    def _design_weight(self) -> np.ndarray:
        """The design weight of each cell."""
        return self.design.cell_weights[self.cells.strata]

    def _fitted(self, linear: np.ndarray) -> np.ndarray:
        """Per cell, the calibration model's fitted value of influence values whose per-cell sums are
        ``linear`` (C, q): the ``d``-weighted least-squares fit (R's ``calibrate``) or R's ``rake``
        sweeps (:attr:`variance`), computed on cell sums (every unit of a cell has the same dummies)."""
        cells = self.cells
        if self.variance is Variance.RAKE:
            f = np.zeros_like(linear)
            counts = [
                np.bincount(codes, weights=cells.sizes, minlength=m.size)[:, np.newaxis]
                for codes, m in zip(cells.margin_codes, self.margins)
            ]
            for _ in range(RAKE_SWEEPS):
                for codes, m, count in zip(cells.margin_codes, self.margins, counts):
                    f = f + (group_sums(codes, linear - cells.sizes[:, np.newaxis] * f, m.size) / count)[codes]
            return f
        rhs = cells.dummies.T @ (self._design_weight[:, np.newaxis] * linear)
        beta = np.linalg.lstsq(self.gram, rhs, rcond=None)[0]
        return cells.dummies @ beta

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

    def _gram(self) -> np.ndarray:
        """``X'DX`` of the reduced calibration model, from the cells (no n × K matrix)."""
        dummies = self.cells.dummies
        return (dummies * (self._design_weight * self.cells.sizes)[:, np.newaxis]).T @ dummies

    def residuals(self, z: np.ndarray) -> np.ndarray:
        """Residuals of the influence values ``z`` (n,) or (n, q) from the calibration model: each
        unit's ``z`` minus its cell's fitted value (:meth:`_fitted`, the same fit the per-cell
        variances use)."""
        z = np.asarray(z, dtype=float)
        flat = z.reshape(len(z), -1)
        fitted = self._fitted(group_sums(self.cells.codes, flat, self.n_cells))
        return (flat - fitted[self.cells.codes]).reshape(z.shape)

    def covariance(self, z: np.ndarray) -> np.ndarray:
        """Covariance matrix (q × q) of ``Σ_i w_i z_i`` for the q columns of ``z`` (n, q): the
        stratified formula of the design applied to ``w_i e_i``, ``e`` the calibration residuals."""
        x = self.weights[:, np.newaxis] * self.residuals(np.asarray(z, dtype=float).reshape(self.n, -1))
        return stratified_covariance(self.design, x)

    def variances(self, z: np.ndarray) -> np.ndarray:
        """Variance of ``Σ_i w_i z_i`` for each column of ``z`` (the diagonal of :meth:`covariance`)."""
        x = self.weights[:, np.newaxis] * self.residuals(np.asarray(z, dtype=float).reshape(self.n, -1))
        return stratified_covariance(self.design, x, diagonal=True)


def _cells_of(cal: Calibration) -> _Cells:
    """Group the respondents by their categories of every margin (one integer key per respondent)."""
    key = _cell_key(cal.margins, [m.codes for m in cal.margins])
    _, first, codes = np.unique(key, return_index=True, return_inverse=True)
    codes = codes.reshape(-1).astype(np.intp)
    weights = cal.weights[first]
    if not np.allclose(cal.weights, weights[codes], rtol=1e-12, atol=0.0):
        raise ValueError("the weights are not constant within the margins' categories (not a raking)")
    margin_codes = tuple(_frozen(m.codes[first]) for m in cal.margins)
    return _Cells(
        codes=_frozen(codes),
        weights=_frozen(weights),
        sizes=_frozen(np.bincount(codes, minlength=len(first)).astype(float)),
        strata=_frozen(cal.design.codes[first]),
        margin_codes=margin_codes,
        dummies=_frozen(_reduced_dummies(cal.margins, margin_codes)),
    )


def _cell_key(margins: Sequence[CalibrationMargin], codes: Sequence[np.ndarray]) -> np.ndarray:
    """One integer per row for its category of every margin (``codes``: one array per margin)."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for m, c in zip(margins, codes):
        key = key * m.size + c
    return key


def _reduced_dummies(margins: Sequence[CalibrationMargin], codes: Sequence[np.ndarray]) -> np.ndarray:
    """The reduced calibration model matrix of rows with the given category of every margin: every
    category of the first margin (the strata), the others without their first, so it has full rank;
    a code −1 (a label the margin lacks) sets no column."""
    blocks = []
    for k, (m, c) in enumerate(zip(margins, codes)):
        block = np.zeros((len(c), m.size))
        rows = np.flatnonzero(c >= 0)
        block[rows, c[rows]] = 1.0
        blocks.append(block if k == 0 else block[:, 1:])
    return np.hstack(blocks)


def group_sums(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """``Σ_{i: codes_i = k} values_i`` for k < size, per column of ``values`` (n, q) → (size, q); one bincount."""
    q = values.shape[1]
    index = (codes[:, np.newaxis] * q + np.arange(q)).ravel()
    return np.bincount(index, weights=values.ravel(), minlength=size * q).reshape(size, q)


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
    missing: Missing | str = Missing.SHARE,
    variance: Variance | str = Variance.CALIBRATE,
    names: Mapping[str, str] | None = None,
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
    missing : Missing or str, {"share", "error"}
        A blank in a margin's column: ``"share"`` makes 無回答 a category holding its design-weighted
        count (module docstring); ``"error"`` refuses.
    variance : Variance or str, {"calibrate", "rake"}
        The residuals of the variances: R's ``calibrate()`` (default) or R's ``rake()`` (= svy).
    names : mapping, optional
        How messages call the columns (``{"position": "職位"}``); the column names by default.

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
    missing, variance = Missing(missing), Variance(variance)
    all_margins = margins_of(data, design, margins or {}, missing, names)
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


def calibrated_mean(
    data: pd.DataFrame,
    cal: Calibration,
    columns: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Means (shares for 0/1 columns) on the calibrated weights: :func:`~ppp_survey.survey.estimate.survey_mean`
    with ``cal`` as its design (same table, item nonresponse, domains, intervals and ``design.df``);
    the variance uses the calibration residuals (module docstring). With ``cal`` from
    ``rake(data, design)`` (the 職域 alone) the result equals ``survey_mean(data, design, ...)``."""
    if not isinstance(cal, Calibration):
        raise TypeError(f"cal must be a Calibration (from rake), not {type(cal).__name__}")
    return survey_mean(data, cal, columns, by=by, level=level)
