"""Design-based linear and logistic regression (R's ``svyglm``), on the design or on raked weights.

**Fit.** A GLM with the survey weights as prior weights, by iteratively reweighted least squares as
R's ``glm.fit`` does it (its starting values and stopping rule): Gaussian with identity link, or
Binomial with logit link for a 0/1 response — R's ``quasibinomial``, whose coefficients are the
binomial ones. (statsmodels' GLM gives the same coefficients, but it starts and stops elsewhere, and
R's standard errors depend on where the iterations stop; see ``_fit``.) Rows missing the response or
any term are left out of the fit.

**Variance (sandwich / linearisation).** With ``A = Σ_i w_i W_i x_i x_i'`` (the weighted information,
``W_i = μ_i(1 − μ_i)`` for the logit, 1 for the identity) each unit's influence on ``β̂`` is
``h_i = A⁻¹ x_i (y_i − μ_i)``, and ``β̂ − β ≈ Σ_i w_i h_i``. Its covariance is the design's
stratified formula with the FPC applied to ``w_i h_i`` (R's ``svy.varcoef``: ``estfun %*% Ainv``
into ``svyrecvar``). Rows left out have ``h_i = 0`` and stay in their strata (R's ``na.action``
keeps the design's ``n_h``: a domain estimate). On raked weights
(:class:`~ppp_survey.survey.calibration.Calibration`) the ``h_i`` are first replaced by their
calibration residuals, as R does for a calibrated design.

**Degrees of freedom.** R's rule: ``df = degf(design) + 1 − p`` with ``degf = n − H`` (respondents
used minus strata with a respondent used) and ``p`` coefficients. t statistics, p-values and 95%
intervals use Student t on ``df``.

**Term tests.** For each term, the Wald statistic ``β̂_T' V_T⁻¹ β̂_T`` over its ``k`` coefficients,
divided by ``k`` and referred to F on ``(k, df)`` — R's ``regTermTest(model, ~term)`` with its
default ``method = "Wald"``. For a one-coefficient term it is the squared t test. (Not the
Rao–Scott working-LRT of ``method = "LRT"``.)

Odds ratios of a logistic model are ``exp(β̂)`` with the interval ``exp(β̂ ± t·se)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: it takes about a second to import

from ppp_survey.constants import Option
from ppp_survey.errors import RegressionError
from ppp_survey.survey.design import Weighting
from ppp_survey.survey.kernels import check_level, t_quantile
from ppp_survey.text import WeightsMethod

__all__ = [
    "COEFFICIENT_COLUMNS",
    "INTERCEPT",
    "TEST_COLUMNS",
    "Family",
    "ModelTerm",
    "RegressionError",
    "RegressionResult",
    "survey_glm",
]

INTERCEPT = "(Intercept)"


class Family(Option, option="family"):
    """The model of :func:`survey_glm`."""

    GAUSSIAN = "gaussian"  # linear regression
    BINOMIAL = "binomial"  # logistic regression (R's quasibinomial)


#: Columns of :attr:`RegressionResult.table`.
COEFFICIENT_COLUMNS = (
    "term",
    "level",
    "name",
    "coefficient",
    "se",
    "t",
    "p_value",
    "ci_low",
    "ci_high",
    "odds_ratio",
    "or_ci_low",
    "or_ci_high",
)

#: Columns of :attr:`RegressionResult.tests`.
TEST_COLUMNS = ("term", "df_num", "df_den", "f", "p_value")

_EPSILON = 1e-8  # R's glm.control(epsilon)
_MAX_IRLS = 25  # R's glm.control(maxit)
_SEPARATED = 1e-10  # μ(1 − μ) below this: fitted probabilities stuck at 0 or 1
_SEPARATION = (
    "ロジスティック回帰が収束しない（当てはめ値が0か1に張り付く: ある区分で目的変数がすべて0またはすべて1の完全分離）。"
    "その区分を隣の区分とまとめるか、その項を除く"
)


@dataclass(frozen=True)
class ModelTerm:
    """One explanatory term: a numeric column (one coefficient) or a factor (one coefficient per
    level other than ``reference``; ``levels`` lists the levels used, reference first)."""

    name: str
    kind: Literal["numeric", "factor"]
    columns: tuple[str, ...]
    levels: tuple[str, ...] = ()
    reference: str | None = None


@dataclass(frozen=True, eq=False)
class RegressionResult:
    """A fitted design-based GLM. Build it with :func:`survey_glm`.

    ``table`` has one row per coefficient (:data:`COEFFICIENT_COLUMNS`; ``term`` the column,
    ``level`` the factor level or empty, ``name`` the coefficient's name; odds-ratio columns NaN for
    a linear model); ``tests`` one row per term (:data:`TEST_COLUMNS`). ``n`` respondents were used
    (``n_dropped`` had a missing value), representing ``population`` staff (the sum of their weights);
    ``fpc`` says whether the variance used the finite population correction (the design's), ``method``
    how the respondents were weighted (the design's or the raked weights).
    """

    response: str
    family: Family
    terms: tuple[ModelTerm, ...]
    names: tuple[str, ...]
    coefficients: np.ndarray = field(repr=False)
    cov: np.ndarray = field(repr=False)
    df_residual: int
    n: int
    n_dropped: int
    population: float
    calibrated: bool
    level: float
    table: pd.DataFrame = field(repr=False)
    tests: pd.DataFrame = field(repr=False)
    fpc: bool = True
    method: WeightsMethod = WeightsMethod()

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    return bool(pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype))


def _response(series: pd.Series, family: Family) -> np.ndarray:
    if not _is_numeric(series):
        raise RegressionError(
            f"目的変数「{series.name}」が数値ではない（{series.dtype}）。0/1 などの数値列にしてから渡す"
        )
    y = series.to_numpy(dtype=float, na_value=np.nan)
    if family is Family.BINOMIAL and not np.all(np.isin(y[~np.isnan(y)], (0.0, 1.0))):
        raise RegressionError(f"ロジスティック回帰の目的変数「{series.name}」は 0/1 で渡す（肯定的回答=1 など）")
    return y


def _factor(series: pd.Series, used: np.ndarray, reference: str | None) -> tuple[np.ndarray, list[str]]:
    """Codes of the used rows' levels (category order, or sorted) with the reference level first."""
    values = series[used]
    if isinstance(values.dtype, pd.CategoricalDtype):
        raw = values.cat.codes.to_numpy().astype(np.intp)
        labels = [str(c) for c in values.cat.categories]
    else:
        raw, uniques = pd.factorize(values.astype(str), sort=True)
        raw, labels = raw.astype(np.intp), [str(u) for u in uniques]
    present = np.flatnonzero(np.bincount(raw, minlength=len(labels)))
    levels = [labels[k] for k in present]
    if reference is not None:
        if str(reference) not in levels:
            raise RegressionError(
                f"説明変数「{series.name}」の基準「{reference}」が使われた区分（{'、'.join(levels)}）にない"
            )
        levels.remove(str(reference))
        levels.insert(0, str(reference))
    position = {lv: k for k, lv in enumerate(levels)}
    lookup = np.array([position.get(lab, -1) for lab in labels], dtype=np.intp)
    return lookup[raw], levels


def _model_matrix(
    data: pd.DataFrame, response: str, terms: Sequence[str], reference: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray, tuple[ModelTerm, ...], list[str]]:
    """(used-row mask, X of the used rows, terms, coefficient names); intercept first."""
    missing = [c for c in (response, *terms) if c not in data.columns]
    if missing:
        raise KeyError(f"column(s) not in the data: {missing}")
    used = data[[response, *terms]].notna().all(axis=1).to_numpy()
    blocks, names, specs = [np.ones((int(used.sum()), 1))], [INTERCEPT], []
    for term in terms:
        series = data[term]
        if _is_numeric(series):
            blocks.append(series[used].to_numpy(dtype=float)[:, None])
            names.append(term)
            specs.append(ModelTerm(term, "numeric", (term,)))
            continue
        codes, levels = _factor(series, used, reference.get(term))
        if len(levels) < 2:
            raise RegressionError(
                f"説明変数「{term}」の区分が1つしかない（{levels[0] if levels else 'なし'}）。この項を除く"
            )
        columns = tuple(f"{term}={lv}" for lv in levels[1:])
        blocks.append(np.eye(len(levels))[codes][:, 1:])
        names.extend(columns)
        specs.append(ModelTerm(term, "factor", columns, tuple(levels), levels[0]))
    return used, np.hstack(blocks), tuple(specs), names


@dataclass(frozen=True)
class _Fit:
    beta: np.ndarray
    mu: np.ndarray
    residual: np.ndarray  # working residual (y − μ)/(dμ/dη) at the final fit
    variance: np.ndarray  # (dμ/dη)²/V(μ) of the last iteration, before its update (R's working weights / prior)


def _deviance(y: np.ndarray, mu: np.ndarray, prior: np.ndarray, family: Family) -> float:
    if family is Family.GAUSSIAN:
        return float(np.sum(prior * (y - mu) ** 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.where(y > 0, y * np.log(mu), 0.0) + np.where(y < 1, (1 - y) * np.log(1 - mu), 0.0)
    return float(-2.0 * np.sum(prior * ll))


def _check_rank(x: np.ndarray, names: Sequence[str]) -> None:
    """Refuse a model matrix without full column rank (eigenvalues of the scaled cross-product)."""
    scale = np.sqrt(np.einsum("ij,ij->j", x, x))
    if np.any(scale == 0):
        raise RegressionError(f"説明変数「{names[int(np.argmin(scale))]}」がすべて0。この項を除く")
    gram = (x / scale).T @ (x / scale)
    values = np.linalg.eigvalsh(gram)
    if values[0] < 1e-10 * values[-1]:
        raise RegressionError("説明変数が一次従属（同じ情報の項が重複している）。重複する項を除く")


def _fit(y: np.ndarray, x: np.ndarray, w: np.ndarray, family: Family) -> _Fit:
    """R's ``glm.fit`` (IRLS): prior weights ``w/mean(w)`` (R's svyglm rescales them), R's starting
    values (``(w·y + 0.5)/(w + 1)`` for the binomial), stopped when the deviance changes by less than
    ``1e-8·(|deviance| + 0.1)``. Like R it keeps the working weights of the last iteration (computed
    before its update), which R's ``svyglm`` puts in the information matrix and the scores; iterating
    on to full convergence (svy) moves logistic standard errors in the fifth or sixth digit."""
    prior = w / w.mean()
    logistic = family is Family.BINOMIAL
    mu = (prior * y + 0.5) / (prior + 1.0) if logistic else y.astype(float)
    eta = np.log(mu / (1.0 - mu)) if logistic else mu
    dev_old = _deviance(y, mu, prior, family)
    for _ in range(_MAX_IRLS):
        slope = mu * (1.0 - mu) if logistic else np.ones_like(mu)  # dμ/dη, = V(μ) for the canonical links
        if logistic and np.min(slope) < _SEPARATED:
            raise RegressionError(_SEPARATION)
        working = prior * slope
        z = eta + (y - mu) / slope
        beta = np.linalg.solve((x * working[:, None]).T @ x, x.T @ (working * z))
        eta = x @ beta
        mu = 1.0 / (1.0 + np.exp(-eta)) if logistic else eta
        dev = _deviance(y, mu, prior, family)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < _EPSILON:
            break
        dev_old = dev
    else:
        raise RegressionError(_SEPARATION)
    slope = mu * (1.0 - mu) if logistic else np.ones_like(mu)
    if not np.all(np.isfinite(beta)) or (logistic and np.min(slope) < _SEPARATED):
        raise RegressionError(_SEPARATION)
    return _Fit(beta=beta, mu=mu, residual=(y - mu) / slope, variance=working / prior)


def _tests(
    terms: Sequence[ModelTerm], names: Sequence[str], beta: np.ndarray, cov: np.ndarray, df: float
) -> pd.DataFrame:
    rows = []
    for term in terms:
        index = [names.index(c) for c in term.columns]
        b, v = beta[index], cov[np.ix_(index, index)]
        k = len(index)
        f = float(b @ np.linalg.solve(v, b)) / k
        rows.append((term.name, k, df, f, float(special.fdtrc(k, df, f))))
    return pd.DataFrame(rows, columns=list(TEST_COLUMNS))


def _table(terms, names, beta, se, df: float, level: float, family: Family) -> pd.DataFrame:
    q = t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    term_of = {INTERCEPT: (INTERCEPT, "")}
    for term in terms:
        for column, lv in zip(term.columns, term.levels[1:] if term.kind == "factor" else ("",)):
            term_of[column] = (term.name, lv)
    low, high = beta - q * se, beta + q * se
    logistic = family is Family.BINOMIAL
    return pd.DataFrame(
        {
            "term": [term_of[nm][0] for nm in names],
            "level": [term_of[nm][1] for nm in names],
            "name": list(names),
            "coefficient": beta,
            "se": se,
            "t": t,
            "p_value": 2.0 * special.stdtr(df, -np.abs(t)),
            "ci_low": low,
            "ci_high": high,
            "odds_ratio": np.exp(beta) if logistic else np.nan,
            "or_ci_low": np.exp(low) if logistic else np.nan,
            "or_ci_high": np.exp(high) if logistic else np.nan,
        }
    )[list(COEFFICIENT_COLUMNS)]


def survey_glm(
    data: pd.DataFrame,
    design: Weighting,
    response: str,
    terms: Sequence[str],
    *,
    family: Family | str = Family.GAUSSIAN,
    reference: Mapping[str, str] | None = None,
    level: float = 0.95,
) -> RegressionResult:
    """Fit ``response ~ terms`` with design-based standard errors (R's ``svyglm``).

    Parameters
    ----------
    data : pandas.DataFrame
        Row-aligned with the design.
    design : StratifiedDesign or Calibration
        The stratified design (weights ``N_h/n_h``), or raked weights from
        :func:`~ppp_survey.survey.calibration.rake` (variances then use the calibration residuals).
    response : str
        A numeric column; for ``family="binomial"`` 0/1 (e.g. 肯定的回答 = 1).
    terms : sequence of str
        Explanatory columns: numeric columns enter as they are; categorical or text columns as
        factors (treatment coding, one coefficient per level against the reference).
    family : Family or str, {"gaussian", "binomial"}
        Linear regression, or logistic regression (R's ``quasibinomial``).
    reference : mapping, optional
        ``{column: level}``: a factor's reference level (default: its first level used, in
        category order).
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    RegressionResult
    """
    family = Family(family)
    check_level(level)
    if not isinstance(design, Weighting):
        raise TypeError(f"design must be a StratifiedDesign or a Calibration, not {type(design).__name__}")
    base = design.stratified
    if len(data) != base.n:
        raise ValueError(f"data has {len(data)} rows but the design has {base.n} respondents (pass its data)")
    terms = [terms] if isinstance(terms, str) else list(terms)
    used, x, specs, names = _model_matrix(data, response, terms, dict(reference or {}))
    y = _response(data[response], family)[used]
    w = design.row_weights[used]
    _check_rank(x, names)
    fit = _fit(y, x, w, family)
    beta = fit.beta
    # per-unit influence h_i = A⁻¹ x_i r_i v_i with A = Σ w_i v_i x_i x_i' (r the working residual, v the
    # working weight over the prior weight), so that β̂ − β ≈ Σ_i w_i h_i: R's estfun %*% Ainv, whose
    # prior weights w/mean(w) cancel their scale
    a_inv = np.linalg.inv((x * (w * fit.variance)[:, None]).T @ x)
    influence = np.zeros((base.n, x.shape[1]))
    influence[used] = (x * (fit.residual * fit.variance)[:, None]) @ a_inv
    cov = design.covariance(influence)
    strata_used = np.count_nonzero(np.bincount(base.codes[used], minlength=len(base.strata)))
    df = int(used.sum()) - int(strata_used) + 1 - x.shape[1]
    se = np.sqrt(np.diag(cov))
    return RegressionResult(
        response=response,
        family=family,
        terms=specs,
        names=tuple(names),
        coefficients=beta,
        cov=cov,
        df_residual=df,
        n=int(used.sum()),
        n_dropped=int(base.n - used.sum()),
        population=float(w.sum()),
        calibrated=design is not base,
        method=design.method,
        level=level,
        table=_table(specs, names, beta, se, float(df), level, family),
        tests=_tests(specs, names, beta, cov, float(df)),
        fpc=base.fpc,
    )
