"""The tests of a trend (:mod:`ppp_survey.compare.trend`): changes between waves and the linear trend.

Computation only, on the trend's estimates table; the methods are described in
:mod:`ppp_survey.compare.trend`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ppp_survey.compare.changes import DECREASED, IMPROVED, INCREASED, NO_CHANGE, REFERENCE, WORSENED
from ppp_survey.constants import SUPPRESSED
from ppp_survey.survey.multiplicity import Adjust, adjust_p_values

__all__ = [
    "CHANGE_STEP_COLUMNS",
    "CONSECUTIVE",
    "FIRST_LAST",
    "KEY_COLUMNS",
    "TREND_COLUMNS",
    "change_rows",
    "trend_rows",
    "wls_slope",
]

CONSECUTIVE, FIRST_LAST = "consecutive", "first_last"
#: The key columns every trend table starts with.
KEY_COLUMNS = ("indicator", "question", "title", "label", "kind", "direction", "group")
#: Columns of :attr:`TrendTable.changes` (one row per indicator × group × step).
CHANGE_STEP_COLUMNS = (
    *KEY_COLUMNS,
    "step",
    "from_wave",
    "to_wave",
    "estimate_from",
    "estimate_to",
    "difference",
    "se_diff",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "verdict",
    "n_from",
    "n_to",
    "suppressed",
)
#: Columns of :attr:`TrendTable.trends` (one row per indicator × group).
TREND_COLUMNS = (
    *KEY_COLUMNS,
    "slope",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "verdict",
    "suppressed",
    "note",
)


def wls_slope(
    x: np.ndarray, estimate: np.ndarray, variance: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, float]:
    """``(slope, variance)`` of the weighted least-squares line through independent estimates:
    ``b = Σ c_t p_t`` with weights ``weights`` (default ``1/variance``, or equal weights when a
    variance is 0) and ``var(b) = Σ c_t² V_t``."""
    x, p, v = (np.asarray(a, float) for a in (x, estimate, variance))
    if weights is not None:
        w = np.asarray(weights, float)
    else:
        w = 1.0 / v if np.all(v > 0) else np.ones_like(v)
    xc = x - np.sum(w * x) / np.sum(w)
    c = w * xc / np.sum(w * xc**2)
    return float(np.sum(c * p)), float(np.sum(c**2 * v))


def _verdict(value: float, p: float, direction: str, alpha: float) -> str:
    if direction == "descriptive":
        if abs(value) < 1e-12:
            return "変化なし（記述）"
        return f"{INCREASED}（記述）" if value > 0 else f"{DECREASED}（記述）"
    if not np.isfinite(p) or p >= alpha:
        return NO_CHANGE
    if direction == "neutral":
        return INCREASED if value > 0 else DECREASED
    return IMPROVED if (value > 0) == (direction == "higher_is_better") else WORSENED


def _judge(
    out: pd.DataFrame, value: np.ndarray, se: np.ndarray, small: np.ndarray, *, alpha: float, adjust: Adjust
) -> pd.DataFrame:
    """p-values, adjusted p-values and verdicts of a normal test of ``value`` (compare's rules)."""
    held = out["suppressed"].to_numpy(bool)
    rate = (out["kind"] == "rate").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, value / se, np.where(value == 0, 0.0, np.inf * np.sign(value)))
    p = np.where(rate | small | held | ~np.isfinite(value), np.nan, 2 * ndtr(-np.abs(z)))
    z_a = float(ndtri(1 - alpha / 2))
    out["ci_low"] = np.where(rate, np.nan, value - z_a * se)
    out["ci_high"] = np.where(rate, np.nan, value + z_a * se)
    out["p_value"] = p
    judged = p if adjust is Adjust.NONE else adjust_p_values(p, adjust)
    out["p_adjusted"] = judged if adjust is not Adjust.NONE else np.nan
    out["verdict"] = [
        SUPPRESSED if h else REFERENCE if sm else _verdict(v, pv, d, alpha)
        for v, pv, d, h, sm in zip(value, judged, out["direction"], held, small)
    ]
    return out


def change_rows(est: pd.DataFrame, n: int, *, alpha: float, min_base: int, adjust: Adjust) -> pd.DataFrame:
    steps = [(CONSECUTIVE, t, t + 1) for t in range(n - 1)] + ([(FIRST_LAST, 0, n - 1)] if n > 2 else [])
    parts = []
    keys = ["indicator", "group"]
    for step, a, b in steps:
        x = est[est["position"] == a]
        y = est[est["position"] == b][[*keys, "wave", "estimate", "n", "suppressed", "se"]]
        both = x.merge(y, on=keys, how="inner", suffixes=("", "_to"), validate="one_to_one")
        part = both[list(KEY_COLUMNS)].assign(
            step=step,
            from_wave=both["wave"],
            to_wave=both["wave_to"],
            estimate_from=both["estimate"],
            estimate_to=both["estimate_to"],
            n_from=both["n"],
            n_to=both["n_to"],
            suppressed=both["suppressed"].to_numpy(bool) | both["suppressed_to"].to_numpy(bool),
            se_from=both["se"],
            se_to=both["se_to"],
        )
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    diff = (out["estimate_to"] - out["estimate_from"]).to_numpy(float)
    se = np.sqrt(out["se_from"].to_numpy(float) ** 2 + out["se_to"].to_numpy(float) ** 2)
    small = (out["kind"] != "rate").to_numpy() & ((out["n_from"] < min_base) | (out["n_to"] < min_base)).to_numpy()
    out["difference"], out["se_diff"] = diff, se
    out = _judge(out, diff, se, small, alpha=alpha, adjust=adjust)
    return out[list(CHANGE_STEP_COLUMNS)]


def trend_rows(est: pd.DataFrame, *, alpha: float, min_base: int, adjust: Adjust) -> pd.DataFrame:
    """One row per indicator × group (in the order of ``est``): the slope of :func:`wls_slope` through
    its waves' estimates weighted by ``nhat``, for every row at once (sums within each group)."""
    keys = ["group", "indicator"]
    code = est.groupby(keys, sort=False).ngroup().to_numpy()
    n_rows = int(code.max()) + 1 if len(code) else 0

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(code, weights=values, minlength=n_rows)

    x = est["position"].to_numpy(float)
    w = est["nhat"].to_numpy(float)
    xc = x - (total(w * x) / total(w))[code]
    c = w * xc / total(w * xc**2)[code]
    held = total(est["suppressed"].to_numpy(bool).astype(float)) > 0
    under = (est["n"].to_numpy(float) < min_base).astype(float)
    first = est.drop_duplicates(keys)  # each row's key columns, in the order the groups first appear
    out = first[list(KEY_COLUMNS)].reset_index(drop=True)
    slope = np.where(held, np.nan, total(c * est["estimate"].to_numpy(float)))
    var = np.where(held, np.nan, total(c**2 * est["se"].to_numpy(float) ** 2))
    small = (out["kind"] != "rate").to_numpy() & (total(under) > 0)
    out["slope"], out["se"], out["suppressed"] = slope, np.sqrt(var), held
    out = _judge(out, slope, out["se"].to_numpy(float), small, alpha=alpha, adjust=adjust)
    out["note"] = np.where(out["kind"] == "rate", "回答率は全数の計数：傾きは記述的（検定しない）", "")
    return out[list(TREND_COLUMNS)]
