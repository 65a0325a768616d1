"""The raking solver behind :func:`ppp_survey.survey.calibration.rake`: margins checked against the
data, then iterative proportional fitting (optionally within bounds on ``g = w/d``).

Internal to :mod:`ppp_survey.survey`; the method is described in :mod:`.calibration`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ppp_survey.constants import NO_ANSWER, Option
from ppp_survey.errors import CalibrationError
from ppp_survey.survey.design import StratifiedDesign

__all__ = ["CalibrationError", "CalibrationMargin", "Missing", "fit_margins", "margins_of"]

_NEWTON_STEPS = 200
_STALL_SWEEPS = 50  # sweeps without the error falling by 1%: the margins cannot be met together


class Missing(Option, option="missing"):
    """What raking does with a blank in a margin's column (:func:`~ppp_survey.survey.calibration.rake`)."""

    SHARE = "share"  # 無回答 is a category of its own, holding its design-weighted count
    ERROR = "error"  # refuse (CalibrationError): every respondent needs a category


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class CalibrationMargin:
    """One margin the weights are raked to.

    ``codes`` gives each respondent's category (position in ``labels``); ``targets`` the totals the
    weights must reach; ``stated`` the totals as given. Where respondents left the attribute blank,
    the last label is 無回答: its target is its design-weighted count, ``missing`` its respondents,
    and the stated categories' targets are scaled to leave room for it (``stated`` is NaN there).
    ``name`` is how messages call the attribute (its label, e.g. 職位; the column by default).
    """

    column: str
    labels: tuple[str, ...]
    codes: np.ndarray = field(repr=False)
    targets: np.ndarray
    stated: np.ndarray
    missing: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name or self.column)
        object.__setattr__(self, "codes", _frozen(np.asarray(self.codes, dtype=np.intp)))
        object.__setattr__(self, "targets", _frozen(np.asarray(self.targets, dtype=float)))
        object.__setattr__(self, "stated", _frozen(np.asarray(self.stated, dtype=float)))

    @property
    def size(self) -> int:
        return len(self.labels)

    def achieved(self, weights: np.ndarray) -> np.ndarray:
        """Weighted count of each category."""
        return np.bincount(self.codes, weights=weights, minlength=self.size)


# ---------------------------------------------------------------------------
# margins
# ---------------------------------------------------------------------------


def _labels_of(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (−1 missing) and their labels as strings, categories in category order."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.intp), [str(c) for c in series.cat.categories]
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    return codes.astype(np.intp), [str(u) for u in uniques]


def _totals(column: str, totals: Mapping[str, float] | pd.Series) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in totals.items():
        label = str(key)
        if label in out:
            raise CalibrationError(f"周辺分布「{column}」に区分「{label}」が2回ある。1つにまとめる")
        size = float(value)
        if not np.isfinite(size) or size <= 0:
            raise CalibrationError(f"周辺分布「{column}」の区分「{label}」の職員数 {value!r} は正の数ではない。直す")
        out[label] = size
    if not out:
        raise CalibrationError(f"周辺分布「{column}」が空。区分ごとの職員数を与える")
    return out


def _strata_margin(design: StratifiedDesign) -> CalibrationMargin:
    covered = design.sample_size > 0
    position = np.cumsum(covered) - 1  # strata without respondents are no category of the margin
    return CalibrationMargin(
        column=design.stratum_column,
        labels=tuple(s for s, c in zip(design.strata, covered) if c),
        codes=position[design.codes],
        targets=design.population[covered],
        stated=design.population[covered],
    )


def _margin(data: pd.DataFrame, design: StratifiedDesign, column: str, totals, missing: Missing) -> CalibrationMargin:
    if column not in data.columns:
        raise CalibrationError(f"周辺分布の属性「{column}」がデータの列にない。属性名（コードブックの id）を直す")
    if column == design.stratum_column:
        raise CalibrationError(
            f"「{column}」は層（職域）。その職員数は設計（職員数フレーム）が持つので周辺分布から除く"
        )
    raw, labels = _labels_of(data[column])
    given = _totals(column, totals)
    position = {label: k for k, label in enumerate(given)}
    # the blank, published as a group 無回答 (privacy.with_blank_groups), is the margin's missing category
    unknown = [lab for k, lab in enumerate(labels) if lab not in position and lab != NO_ANSWER and np.any(raw == k)]
    if unknown:
        raise CalibrationError(
            f"属性「{column}」の回答「{unknown[0]}」が周辺分布（{'、'.join(given)}）にない。"
            "周辺分布に区分を加えるか、回答の区分をまとめる"
        )
    lookup = np.array([position.get(lab, -1) for lab in labels] + [-1], dtype=np.intp)
    codes = lookup[raw]  # a missing answer (raw −1) picks the appended −1
    stated = np.array(list(given.values()))
    counts = np.bincount(codes[codes >= 0], minlength=len(given))
    empty = [lab for lab, c in zip(given, counts) if c == 0]
    if empty:
        raise CalibrationError(
            f"属性「{column}」の区分「{empty[0]}」（職員{given[empty[0]]:,.0f}人）に回答者がいないため、その職員数に"
            "合わせられない。隣の区分とまとめた周辺分布にする"
        )
    population = design.covered_population
    if abs(stated.sum() - population) > 1e-9 * population:
        raise CalibrationError(
            f"周辺分布「{column}」の合計 {stated.sum():,.0f}人が職員数フレームの合計（回答者のいる職域）"
            f"{population:,.0f}人と違う。どちらかを直す"
        )
    n_missing = int(np.count_nonzero(codes < 0))
    if n_missing == 0:
        return CalibrationMargin(column, tuple(given), codes, stated, stated)
    if missing is Missing.ERROR:
        raise CalibrationError(
            f"属性「{column}」が無回答の回答者が{n_missing}人いる。レイキングには全員の区分が必要"
            "（missing='share' なら無回答を1区分として設計ウェイトの合計を保つ）"
        )
    na_total = float(design.weights[codes < 0].sum())
    targets = np.append(stated * (population - na_total) / population, na_total)
    codes = np.where(codes < 0, len(given), codes)
    return CalibrationMargin(column, (*given, NO_ANSWER), codes, targets, np.append(stated, np.nan), n_missing)


def margins_of(
    data: pd.DataFrame,
    design: StratifiedDesign,
    margins: Mapping[str, Mapping[str, float] | pd.Series],
    missing: Missing,
    names: Mapping[str, str] | None = None,
) -> tuple[CalibrationMargin, ...]:
    """The strata (their ``N_h``) and each further margin, checked against the data; ``names``: how
    messages call each column (e.g. ``{"position": "職位"}``)."""
    further = [_margin(data, design, str(col), totals, missing) for col, totals in margins.items()]
    named = [replace(m, name=(names or {}).get(m.column, m.column)) for m in (_strata_margin(design), *further)]
    return tuple(named)


# ---------------------------------------------------------------------------
# iterative proportional fitting
# ---------------------------------------------------------------------------


def max_error(margins: Sequence[CalibrationMargin], weights: np.ndarray) -> float:
    """Largest relative margin error ``|Σ_{i∈l} w_i − N_l| / N_l`` over every category."""
    return max(float(np.max(np.abs(m.achieved(weights) - m.targets) / m.targets)) for m in margins)


def _bounded_step(m: CalibrationMargin, d: np.ndarray, log_g: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Per category, the shift δ of ``log g`` with ``Σ_{i∈l} d_i·clip(exp(log g_i + δ), lo, hi) = N_l``
    (bracketed Newton, all categories at once)."""
    codes, size = m.codes, m.size
    low_cap = np.bincount(codes, weights=d * lo, minlength=size)
    high_cap = np.bincount(codes, weights=d * hi, minlength=size)
    bad = np.flatnonzero((m.targets < low_cap * (1 - 1e-12)) | (m.targets > high_cap * (1 + 1e-12)))
    if bad.size:
        k = int(bad[0])
        stated = m.stated[k]
        target = (
            f"職員数 {stated:,.0f}人" if abs(m.targets[k] - stated) < 1e-9 * stated else f"目標 {m.targets[k]:,.1f}人"
        )
        if not np.isnan(stated) and abs(m.targets[k] - stated) >= 1e-9 * stated:
            target += f"（職員数 {stated:,.0f}人から無回答の分を按分して除いた数）"
        raise CalibrationError(
            f"調整係数の範囲 {lo:g}～{hi:g}倍（--rake-bounds / bounds）では{m.name}「{m.labels[k]}」の{target}に"
            f"合わせられない（範囲内のウェイトで {low_cap[k]:,.1f}～{high_cap[k]:,.1f}人）。範囲を広げる"
        )
    top = np.full(size, -np.inf)
    np.maximum.at(top, codes, log_g)
    bottom = np.full(size, np.inf)
    np.minimum.at(bottom, codes, log_g)
    left, right = np.log(lo) - top, np.log(hi) - bottom
    free_sum = np.bincount(codes, weights=d * np.exp(log_g), minlength=size)
    delta = np.clip(np.log(m.targets / free_sum), left, right)
    for _ in range(_NEWTON_STEPS):
        g = np.exp(log_g + delta[codes])
        clipped = np.clip(g, lo, hi)
        f = np.bincount(codes, weights=d * clipped, minlength=size) - m.targets
        if np.max(np.abs(f) / m.targets) < 1e-14:
            break
        slope = np.bincount(codes, weights=d * np.where(g == clipped, g, 0.0), minlength=size)
        left = np.where(f < 0, delta, left)
        right = np.where(f > 0, delta, right)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = delta - f / slope
        inside = (slope > 0) & (newton > left) & (newton < right)
        delta = np.where(inside, newton, 0.5 * (left + right))
    return delta


def _not_converged(sweeps: int, error: float, bounds: tuple[float, float] | None) -> CalibrationError:
    hint = (
        f"調整係数の範囲 {bounds[0]:g}～{bounds[1]:g}倍（--rake-bounds / bounds）では周辺分布を同時に満たせない可能性が"
        "高い。範囲を広げるか、"
        if bounds is not None
        else ""
    )
    return CalibrationError(
        f"レイキングが{sweeps}回の反復で収束しない（周辺の最大相対誤差 {error:.2e}）。{hint}回答者の少ない区分をまとめる"
    )


def fit_margins(
    margins: Sequence[CalibrationMargin],
    d: np.ndarray,
    *,
    bounds: tuple[float, float] | None,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int, float]:
    """Rake the weights ``d`` to the margins: ``(weights, sweeps, max relative error)``.

    One sweep adjusts each margin in turn (IPF: every category's weights times ``N_l / Σ w``; with
    bounds, the shift of ``log g`` that meets the category within the bounds). Stops when the largest
    relative error is at most `tol`; raises when `max_iter` sweeps do not get there or the error stops
    falling (margins that no weights within the bounds can meet together).
    """
    weights = np.array(d, dtype=float)
    log_g = np.zeros(len(d))
    sweeps, error = 0, max_error(margins, weights)
    checkpoint = error
    while error > tol:
        if sweeps >= max_iter:
            raise _not_converged(sweeps, error, bounds)
        for m in margins:
            if bounds is None:
                weights *= (m.targets / m.achieved(weights))[m.codes]
            else:
                log_g += _bounded_step(m, d, log_g, *bounds)[m.codes]
                weights = d * np.clip(np.exp(log_g), *bounds)
        sweeps += 1
        error = max_error(margins, weights)
        if sweeps % _STALL_SWEEPS == 0:
            if error > 0.99 * checkpoint:
                raise _not_converged(sweeps, error, bounds)
            checkpoint = error
    return weights, sweeps, error
