"""Stratified simple random sampling design for the staff survey.

The staff survey is analysed as a stratified simple random sample drawn
without replacement: each 職域 (job domain) is a stratum, the frame gives its
staff count ``N_h``, and the ``n_h`` respondents of the stratum are treated as
a simple random sample of its staff.  Every respondent then carries the weight
``N_h / n_h`` and variances use the finite population correction
``1 - n_h / N_h``.  This is R's
``svydesign(id = ~1, strata = ~stratum, fpc = ~N_h, data = ...)``.

The design object holds only what the estimators need (stratum labels, ``N_h``,
``n_h`` and one integer stratum code per respondent), so that estimation over a
million respondents reduces to per-stratum sums.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ppp_survey.errors import DesignError
from ppp_survey.text import WeightsMethod

__all__ = ["DesignError", "StratifiedDesign", "Weighting", "stratified_covariance", "stratified_design"]


class Weighting(ABC):
    """What every estimator needs of the weights: respondents in *sum cells* of equal weight, and the
    variance of a weighted sum ``Σ_i w_i z_i`` from per-cell sums of its influence values ``z``.

    The estimators (:mod:`~ppp_survey.survey.estimate`, :mod:`~ppp_survey.survey.tables`,
    :mod:`~ppp_survey.survey.significance`) count per cell × group and never look at single
    respondents again. Two weightings exist: :class:`StratifiedDesign` (a cell is a stratum, weight
    ``N_h/n_h``) and :class:`~ppp_survey.survey.calibration.Calibration` (a cell is a combination of
    the raking margins' categories within a stratum: the raked weight is constant there, and so is
    the fitted value of the calibration residuals).
    """

    @property
    @abstractmethod
    def n(self) -> int:
        """Respondents (rows the data must have)."""

    @property
    @abstractmethod
    def df(self) -> int:
        """Degrees of freedom of intervals and tests (R's ``degf``)."""

    @property
    @abstractmethod
    def cell_codes(self) -> np.ndarray:
        """The sum cell of each respondent (n,)."""

    @property
    @abstractmethod
    def cell_weights(self) -> np.ndarray:
        """The weight of each cell's respondents (C,); 0 for a cell without respondents."""

    @abstractmethod
    def variance_from_sums(self, linear: np.ndarray, square: np.ndarray) -> np.ndarray:
        """Variance of ``Σ_i w_i z_i`` from ``linear[c] = Σ_{i∈c} z_i`` and ``square[c] = Σ_{i∈c} z_i²``,
        arrays of shape (C, ...); returns shape (...)."""

    @abstractmethod
    def covariance_from_sums(self, linear: np.ndarray, cross: np.ndarray) -> np.ndarray:
        """Covariance (q × q) of ``Σ_i w_i z_i`` for q variables from ``linear`` (C, q) and the
        per-cell cross products ``cross[c] = Σ_{i∈c} z_i z_i'`` (C, q, q)."""

    @property
    def n_cells(self) -> int:
        return len(self.cell_weights)

    @property
    @abstractmethod
    def stratified(self) -> StratifiedDesign:
        """The stratified design underneath (its strata, ``n_h``, FPC and df)."""

    @property
    @abstractmethod
    def method(self) -> WeightsMethod:
        """How the weights were made (``text.weights_text`` says it in words)."""

    @abstractmethod
    def without_fpc(self) -> Weighting:
        """The same weights without the finite population correction: for questions about the process
        that produces the answers (does a group answer differently? did the answers change?)."""

    @property
    @abstractmethod
    def row_weights(self) -> np.ndarray:
        """The weight of each respondent (n,)."""

    @abstractmethod
    def covariance(self, z: np.ndarray) -> np.ndarray:
        """Covariance (q × q) of ``Σ_i w_i z_i`` for the q columns of ``z`` (n, q), respondent by
        respondent (for scores that are not sums over cells, e.g. a regression's)."""


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class StratifiedDesign(Weighting):
    """A stratified simple random sample without replacement.

    Build it with :func:`stratified_design`, which validates the inputs; the
    constructor itself only stores them.

    Parameters
    ----------
    strata : tuple of str
        Stratum labels, in the order of the frame (the ``population``
        argument of :func:`stratified_design`).  Strata of the frame without
        respondents are included (with ``n_h = 0``).
    population : numpy.ndarray
        Frame size ``N_h`` of each stratum (float), aligned with `strata`.
    sample_size : numpy.ndarray
        Number of respondents ``n_h`` of each stratum (int), aligned with
        `strata`.
    codes : numpy.ndarray
        One integer per respondent: the position of its stratum in `strata`.
        Data frames passed to the estimators must be row-aligned with it.
    fpc : bool
        Whether variances use the finite population correction
        ``1 - n_h / N_h`` (sampling without replacement).
    stratum_column : str
        Name of the data column the strata came from (used in messages).

    Notes
    -----
    A stratum of the frame with no respondent contributes nothing to any
    estimate or variance: estimates then describe the *covered* strata only
    (population ``covered_population`` rather than ``population.sum()``).
    Such strata are listed in :attr:`empty_strata` so that reports can say so.
    """

    strata: tuple[str, ...]
    population: np.ndarray
    sample_size: np.ndarray
    codes: np.ndarray = field(repr=False)
    fpc: bool = True
    stratum_column: str = "stratum"
    empty_strata: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "population", _frozen(np.asarray(self.population, dtype=float)))
        object.__setattr__(self, "sample_size", _frozen(np.asarray(self.sample_size, dtype=np.int64)))
        object.__setattr__(self, "codes", _frozen(np.asarray(self.codes, dtype=np.intp)))
        object.__setattr__(self, "strata", tuple(self.strata))
        empty = tuple(s for s, n in zip(self.strata, self.sample_size) if n == 0)
        object.__setattr__(self, "empty_strata", empty)

    @property
    def n(self) -> int:
        """Number of respondents (rows of the design)."""
        return int(self.codes.shape[0])

    @property
    def n_strata(self) -> int:
        """Number of strata with at least one respondent."""
        return int(np.count_nonzero(self.sample_size))

    @property
    def stratum_weights(self) -> np.ndarray:
        """``N_h / n_h`` per stratum (NaN for strata without respondents)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(self.sample_size > 0, self.population / self.sample_size, np.nan)
        return w

    @property
    def weights(self) -> np.ndarray:
        """Sampling weight ``N_h / n_h`` of each respondent."""
        return self.stratum_weights[self.codes]

    @property
    def df(self) -> int:
        """Design degrees of freedom: respondents minus non-empty strata (``n - H``).

        This is R's ``degf()`` for a stratified design with one respondent per
        PSU; it is the df of t intervals and of the Rao–Scott F test.
        """
        return self.n - self.n_strata

    @property
    def covered_population(self) -> float:
        """Frame size of the strata that have respondents."""
        return float(self.population[self.sample_size > 0].sum())

    @property
    def variance_factors(self) -> np.ndarray:
        """Per-stratum factor ``c_h = (1 - f_h) · n_h / (n_h - 1)``.

        The variance of a linear statistic ``Σ_i w_i z_i`` is
        ``Σ_h c_h · Σ_{i∈h} (w_h z_i - mean_h(w_h z))²`` (R's ``svyrecvar``);
        ``f_h = n_h / N_h`` with the FPC, 0 without.  Strata without
        respondents, and census strata (``n_h = N_h`` with the FPC), get 0.
        """
        n = self.sample_size.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = n / self.population if self.fpc else np.zeros_like(n)
            c = np.where(n >= 2, (1.0 - f) * n / (n - 1.0), 0.0)
        return c

    # -- the estimators' view (:class:`Weighting`): a sum cell is a stratum ----------------------

    @property
    def stratified(self) -> StratifiedDesign:
        return self

    @property
    def method(self) -> WeightsMethod:
        """The 職域 weights N_h/n_h."""
        return WeightsMethod()

    def without_fpc(self) -> StratifiedDesign:
        return replace(self, fpc=False) if self.fpc else self

    @property
    def row_weights(self) -> np.ndarray:
        return self.weights

    def covariance(self, z: np.ndarray) -> np.ndarray:
        """``Σ_h c_h Σ_{i∈h} (x_i − x̄_h)(x_i − x̄_h)'`` with ``x_i = w_i z_i`` (:func:`stratified_covariance`)."""
        z = np.asarray(z, dtype=float).reshape(self.n, -1)
        return stratified_covariance(self, self.weights[:, np.newaxis] * z)

    @property
    def cell_codes(self) -> np.ndarray:
        return self.codes

    @property
    def cell_weights(self) -> np.ndarray:
        return np.nan_to_num(self.stratum_weights, nan=0.0)

    def variance_from_sums(self, linear: np.ndarray, square: np.ndarray) -> np.ndarray:
        """``Σ_h c_h w_h² (Σ_{i∈h} z² − (Σ_{i∈h} z)²/n_h)`` (:attr:`variance_factors`)."""
        shape = (-1,) + (1,) * (linear.ndim - 1)
        w = self.cell_weights.reshape(shape)
        c = self.variance_factors.reshape(shape)
        n_h = np.maximum(self.sample_size, 1).astype(float).reshape(shape)
        per_stratum = square - linear * linear / n_h
        return np.maximum(np.sum(c * w * w * per_stratum, axis=0), 0.0)

    def covariance_from_sums(self, linear: np.ndarray, cross: np.ndarray) -> np.ndarray:
        """``Σ_h c_h w_h² (Σ_{i∈h} z z' − Σ_{i∈h} z Σ_{i∈h} z'/n_h)``."""
        w = self.cell_weights[:, np.newaxis, np.newaxis]
        c = self.variance_factors[:, np.newaxis, np.newaxis]
        n_h = np.maximum(self.sample_size, 1).astype(float)[:, np.newaxis, np.newaxis]
        scale = c * w * w
        return np.sum(scale * (cross - linear[:, :, np.newaxis] * linear[:, np.newaxis, :] / n_h), axis=0)


def stratified_covariance(design: StratifiedDesign, x: np.ndarray, *, diagonal: bool = False) -> np.ndarray:
    """``Σ_h (1 − f_h)·n_h/(n_h − 1)·Σ_{i∈h} (x_i − x̄_h)(x_i − x̄_h)'`` for weighted scores ``x`` (n, q).

    R's ``svyrecvar`` for a stratified design with one unit per PSU (``onestrat``); ``f_h = n_h/N_h``
    with the FPC, 0 without. Returns the q × q matrix, or its diagonal with ``diagonal=True``.
    """
    x = np.asarray(x, dtype=float).reshape(design.n, -1)
    codes, h = design.codes, len(design.strata)
    n_h = np.maximum(design.sample_size, 1).astype(float)
    q = x.shape[1]
    index = (codes[:, np.newaxis] * q + np.arange(q)).ravel()
    sums = np.bincount(index, weights=x.ravel(), minlength=h * q).reshape(h, q)
    means = sums / n_h[:, np.newaxis]
    centred = (x - means[codes]) * np.sqrt(design.variance_factors)[codes, np.newaxis]
    if diagonal:
        return np.einsum("ij,ij->j", centred, centred)
    return centred.T @ centred


def _population_mapping(population: pd.Series | Mapping[str, float]) -> dict[str, float]:
    if isinstance(population, pd.Series):
        if population.index.has_duplicates:
            dup = population.index[population.index.duplicated()].unique().tolist()
            raise DesignError(
                f"職員数フレーム（母集団）: 層「{'」「'.join(map(str, dup))}」が2回以上ある。各層を1行にまとめる"
            )
        items = list(population.items())
    elif isinstance(population, Mapping):
        items = list(population.items())
    else:
        raise TypeError(
            "population must be a pandas Series or a mapping from stratum label to N_h, "
            f"not {type(population).__name__}"
        )
    result: dict[str, float] = {}
    for key, value in items:
        label = str(key)
        if label in result:
            raise DesignError(f"職員数フレーム（母集団）: 層「{label}」が2回以上ある。1行にまとめる")
        try:
            size = float(value)
        except (TypeError, ValueError):
            raise DesignError(
                f"職員数フレーム（母集団） 層「{label}」: 職員数「{value}」が数値ではない。数字で書く"
            ) from None
        if not np.isfinite(size) or size <= 0:
            raise DesignError(
                f"職員数フレーム（母集団） 層「{label}」: 職員数「{value}」が正の数ではない。1以上の人数を書く"
            )
        result[label] = size
    if not result:
        raise DesignError("職員数フレーム（母集団）: 層が1つもない。職域ごとの職員数を書く")
    return result


def _column(strata: str) -> str:
    """How messages name the stratum column: 職域 for the codebook's stratum (id ``domain``)."""
    return "職域" if strata == "domain" else strata


def stratified_design(
    data: pd.DataFrame,
    population: pd.Series | Mapping[str, float],
    *,
    strata: str,
    fpc: bool = True,
) -> StratifiedDesign:
    """Build and validate a stratified SRSWOR design for `data`.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.  Estimators later take a data frame
        row-aligned with this one.
    population : pandas.Series or mapping
        Frame size ``N_h`` per stratum label (e.g. staff per 職域).  Labels are
        compared as strings with the values of ``data[strata]``.
    strata : str
        Column of `data` holding each respondent's stratum.
    fpc : bool, default True
        Apply the finite population correction.  Set False to treat the
        strata as sampled with replacement (variances then ignore ``N_h``
        except through the weights).

    Returns
    -------
    StratifiedDesign

    Raises
    ------
    DesignError
        If a respondent's stratum is missing or not in the frame, if a
        stratum has more respondents than staff, or if a stratum has a
        single respondent (its variance is not estimable; a census stratum
        with ``n_h = N_h = 1`` under the FPC is allowed, it has no variance).

    Notes
    -----
    Strata of the frame without respondents are allowed: they contribute
    nothing, and the estimates then describe the covered strata only.  They
    are listed in ``design.empty_strata``.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if strata not in data.columns:
        raise DesignError(f"回答データに層の列「{strata}」がない。層（職域）の列名を strata= に指定する")
    frame = _population_mapping(population)
    labels = tuple(frame)
    sizes = np.array([frame[s] for s in labels], dtype=float)

    column = data[strata]
    missing = column.isna().to_numpy()
    if missing.any():
        raise DesignError(
            f"回答データ 列「{_column(strata)}」: {missing.sum()}人の回答者に{_column(strata)}がない。"
            "層の推定には全員の値が要るので、空欄を埋めるか、その行を除く"
        )
    values, uniques = pd.factorize(column, sort=False)
    unique_labels = [str(u) for u in uniques]
    position = {s: i for i, s in enumerate(labels)}
    unknown = [s for s in unique_labels if s not in position]
    if unknown:
        first = unknown[0]
        more = f"（ほかに「{'」「'.join(unknown[1:])}」も）" if len(unknown) > 1 else ""
        raise DesignError(
            f"回答データ 列「{_column(strata)}」: 「{first}」が職員数フレーム（母集団）にない{more}。"
            f"フレームの層は「{'」「'.join(labels)}」。フレームに行を加えるか、データの値を直す"
        )
    lookup = np.array([position[s] for s in unique_labels], dtype=np.intp)
    codes = lookup[values] if len(values) else np.zeros(0, dtype=np.intp)
    n_h = np.bincount(codes, minlength=len(labels)).astype(np.int64)

    over = [(labels[i], int(n_h[i]), sizes[i]) for i in range(len(labels)) if n_h[i] > sizes[i]]
    if over:
        s, n, big_n = over[0]
        raise DesignError(
            f"{_column(strata)}「{s}」: 回答者{n}人が職員数フレームの職員数{big_n:g}人より多い（n_h > N_h）。"
            "フレームの職員数かデータの値を直す"
        )
    lonely = [labels[i] for i in range(len(labels)) if n_h[i] == 1 and not (fpc and sizes[i] == 1)]
    if lonely:
        raise DesignError(
            f"{_column(strata)}「{lonely[0]}」の回答者が1人で、ばらつきを推定できない（n_h < 2）"
            + (f"（ほかに「{'」「'.join(lonely[1:])}」も）" if len(lonely) > 1 else "")
            + "。似た層とまとめる（--min-group を上げると小さい層は自動でまとまる）"
        )
    if codes.size == 0:
        raise DesignError("回答データ: 回答者が1人もいない。回答の入ったファイルを指定する")
    return StratifiedDesign(
        strata=labels,
        population=sizes,
        sample_size=n_h,
        codes=codes,
        fpc=bool(fpc),
        stratum_column=strata,
    )
