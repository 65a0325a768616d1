"""Design-based means, totals and differences under the stratified design.

Every estimator here is a (domain) ratio or total of weighted sums, so its
estimate and its linearisation (Taylor) variance depend on the data only
through per-stratum × per-group sums of ``1{answered}``, ``y`` and ``y²``
(plus cross products for differences).  Those are computed with one
``np.bincount`` per column and sum; nothing of size respondents × columns ×
groups is ever formed, which keeps a million respondents × 40 columns fast.

Conventions (all chosen to reproduce R's ``survey`` package):

* **Item nonresponse.**  A missing value (NaN, ``pd.NA``) of a column means
  the respondent did not answer that item.  The mean of the column is the
  ratio ``Σ w·y / Σ w·1{answered}`` over the respondents who answered, a
  domain estimate on the full design (R: ``svymean(~y, design, na.rm=TRUE)``,
  which subsets the design and so pads the missing with zeros in the
  variance).  A total sums over the respondents who answered
  (R: ``svytotal(..., na.rm=TRUE)``).
* **Domains** (``by=``) are estimated on the full design with the
  linearised variable ``z_i = d_i·(y_i − R_d)/N̂_d`` summed within every
  stratum, respondents outside the domain contributing zeros — never as a
  separate design on the filtered rows (R: ``svyby(~y, ~g, design, svymean)``).
* **Variance.**  ``V = Σ_h (1 − f_h)·n_h/(n_h − 1)·Σ_{i∈h} (w_h z_i − mean_h)²``
  with ``f_h = n_h/N_h`` under the FPC (R's ``svyrecvar``).
* **Intervals** use Student t with the design degrees of freedom
  ``n − H`` (``design.df``).  For 0/1 columns the default is the logit
  interval of R's ``svyciprop(method="logit")``, which uses
  ``df = degf(design)`` too; for other columns it is a Wald interval
  ``estimate ± t·se``.  R's ``confint(svymean(...))`` uses the normal
  quantile instead; the half-widths differ by 0.6% at 200 respondents and
  0.1% at 1,300.  The same full-design df is
  used for domains and for columns with item nonresponse, because they are
  estimated on the full design (``svyby(..., svyciprop)`` would use the df
  of the domain's own rows, ``n_d − H_d``, and svy the df of the answering
  rows; pass ``df=`` to reproduce those).
* **Design effect** is R's ``deff=TRUE``: the design variance over the
  variance of the same estimator under simple random sampling *without*
  replacement of the same number of answering respondents from a population
  of ``N̂_d`` (the domain's estimated size):
  ``v_srs = s²_w · n/(n−1) · (N̂_d − n)/(N̂_d · n)`` for a mean (times
  ``N̂_d²`` for a total), ``s²_w`` the weighted variance of the answers.  It is
  computed the same way whether or not the design itself uses the FPC.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: it takes about a second to import

from ppp_survey.constants import ALL
from ppp_survey.survey.design import Weighting
from ppp_survey.survey.kernels import (
    Interval,
    as_names,
    cell_bincount,
    cell_index,
    cell_weights,
    check_aligned,
    check_level,
    group_codes,
    mean_table,
    prepare_column,
    ratio_parts,
    resolve_df,
    srs_variance_of_mean,
    stratum_sums,
    t_quantile,
    tidy_table,
    wald_interval,
)

__all__ = [
    "GROUP_ALL",
    "ESTIMATE_COLUMNS",
    "DIFFERENCE_COLUMNS",
    "Interval",
    "survey_mean",
    "survey_total",
    "survey_difference",
]

#: Label of the ``group`` column for estimates over all respondents.
GROUP_ALL = ALL

#: Columns of :func:`survey_mean` and :func:`survey_total` results.
ESTIMATE_COLUMNS = ("variable", "group", "n", "unweighted", "estimate", "se", "ci_low", "ci_high", "deff")

#: Columns of :func:`survey_difference` results.
DIFFERENCE_COLUMNS = ("variable_a", "variable_b", "group", "estimate", "se", "ci_low", "ci_high", "p_value")


# ---------------------------------------------------------------------------


def expand_columns(
    data: pd.DataFrame, columns: str | Sequence[str], by: str | Sequence[str] | None
) -> tuple[pd.DataFrame, list[str], str | None]:
    """Prepare the public estimators' arguments: categorical or text `columns` become one 0/1
    column per level, named ``"column=level"`` (NaN where the answer is missing), as R's
    ``svymean(~factor)`` gives one row per level; several `by` columns become one domain column
    whose levels are the observed combinations, labelled ``"a × b"`` (R's ``svyby(~y, ~a + b)``).

    Returns the (row-aligned) data, the column names to estimate and the domain column.
    """
    names = as_names(columns)
    by_names = None if by is None else as_names(by, "by")
    expanded: dict[str, pd.Series] = {}
    out_names: list[str] = []
    for name in names:
        if name not in data.columns:
            out_names.append(name)  # check_aligned names the missing column
            continue
        series = data[name]
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype) or (
            pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
        ):
            out_names.append(name)
            continue
        if isinstance(dtype, pd.CategoricalDtype):
            levels = list(series.cat.categories)
        else:
            levels = sorted(series.dropna().unique(), key=str)
        missing = series.isna().to_numpy()
        for lv in levels:
            col = f"{name}={lv}"
            values = (series == lv).to_numpy(dtype=np.float64, na_value=0.0)
            values[missing] = np.nan
            expanded[col] = pd.Series(values, index=data.index)
            out_names.append(col)
    by_col: str | None = None
    if by_names is not None and len(by_names) == 1:
        by_col = by_names[0]
    elif by_names is not None:
        by_col = " × ".join(by_names)
        expanded[by_col] = _combined_domain(data, by_names)
    if not expanded:
        return data, out_names, by_col
    return data.assign(**expanded), out_names, by_col


def _combined_domain(data: pd.DataFrame, by_names: list[str]) -> pd.Categorical:
    """One domain per observed combination of the `by_names` columns, labelled ``"a × b"``, in the
    columns' level order; a row with any of them missing is in no domain."""
    for b in by_names:
        if b not in data.columns:
            raise KeyError(f"by column {b!r} is not in the data")
    parts = [data[b] for b in by_names]
    frame = pd.DataFrame(dict(enumerate(parts)))
    combos = frame.dropna().drop_duplicates()
    combos = combos.sort_values(list(combos.columns), key=lambda c: _level_order(parts[c.name], c))
    labels = [" × ".join(str(v) for v in row) for row in combos.itertuples(index=False)]
    key = pd.Series(pd.NA, index=data.index, dtype=object)
    complete = frame.notna().all(axis=1)
    key[complete] = [" × ".join(str(v) for v in row) for row in frame[complete].itertuples(index=False)]
    return pd.Categorical(key, categories=labels)


def _level_order(source: pd.Series, values: pd.Series) -> pd.Series:
    """Sort key of a by column's values: category order for categoricals, the values otherwise."""
    if isinstance(source.dtype, pd.CategoricalDtype):
        order = {c: i for i, c in enumerate(source.cat.categories)}
        return values.map(order)
    return values


def survey_mean(
    data: pd.DataFrame,
    design: Weighting,
    columns: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    ci: Interval | str = Interval.AUTO,
    df: float | None = None,
) -> pd.DataFrame:
    """Design-based means (proportions for 0/1 columns), overall or by domain.

    Parameters
    ----------
    data : pandas.DataFrame
        Row-aligned with `design`.
    design : StratifiedDesign or Calibration
    columns : str or sequence of str
        Numeric columns; NaN/NA is item nonresponse (the mean is over the
        respondents who answered).  A categorical or text column gives one
        row per level (``"column=level"``: the share of each answer among
        those who answered, R's ``svymean(~factor)``).
    by : str or sequence of str, optional
        Column(s) defining domains (categorical or not); several columns give
        one domain per observed combination, labelled ``"a × b"``.  Each level is estimated
        on the full design (domain estimation), so the variance is right even
        when the domains cut across strata.  Respondents with a missing `by`
        belong to no domain.  Levels are in category order (categoricals,
        unused categories dropped) or sorted order.
    level : float, default 0.95
        Confidence level of the interval.
    ci : Interval or str, {"auto", "logit", "beta", "wald"}
        ``"auto"``: for columns whose answers are all 0/1, the logit interval
        (R's ``svyciprop(method="logit")``), except where it collapses or is
        unreliable — an estimate of 0% or 100% or a base under 30 — where it
        is Korn & Graubard's (R's ``svyciprop(method="beta")``: Clopper–Pearson
        on the effective sample size; for 0% and 100% the base n); Wald
        ``estimate ± t·se`` for other columns.  ``"logit"`` and ``"beta"``
        use that interval for every cell (0/1 columns only); ``"wald"`` the
        Wald interval for all.  t quantiles use ``design.df`` degrees of
        freedom.
    df : float, optional
        Degrees of freedom of the t quantile; default ``design.df``
        (``n − H``, R's ``degf(design)``), for domains too.  R's
        ``svyby(..., svyciprop)`` would use the df of the domain's own rows
        (``n_d − H_d``), and svy the df of the answering rows; pass theirs
        here to reproduce their intervals.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, group, n, unweighted, estimate, se, ci_low,
        ci_high, deff``; one row per column × group.  ``group`` is the domain
        level, or ``"全体"`` without `by`.  ``n`` is the number of respondents
        who answered (in the group), ``unweighted`` their plain mean (the
        committee's "% of respondents"), ``deff`` R's design effect
        (``deff=TRUE``; see the module notes).  A group where nobody answered
        has ``n = 0`` and NaN elsewhere.
    """
    data, names, by = expand_columns(data, columns, by)
    check_aligned(data, design, names)
    check_level(level)
    ci = Interval(ci)
    groups = group_codes(data, by)
    sums = stratum_sums(data, design, names, groups, center=True)
    return mean_table(design, names, groups, sums, level=level, ci=ci, df=df)


def survey_total(
    data: pd.DataFrame,
    design: Weighting,
    columns: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    df: float | None = None,
) -> pd.DataFrame:
    """Design-based population totals, overall or by domain.

    For a 0/1 column this is the estimated number of staff with the
    attribute.  Missing values contribute nothing (R's
    ``svytotal(..., na.rm=TRUE)``); domains are estimated on the full design.

    Parameters
    ----------
    data, design, columns, by, level, df
        As in :func:`survey_mean`.

    Returns
    -------
    pandas.DataFrame
        Same columns as :func:`survey_mean`: ``variable, group, n,
        unweighted, estimate, se, ci_low, ci_high, deff``.  Here
        ``unweighted`` is the plain (unweighted) sum of the answers, the
        interval is Wald with Student t on ``design.df`` degrees of freedom,
        and ``deff`` is R's ``svytotal(..., deff=TRUE)``: the design variance
        over ``N̂_d² ·`` the SRSWOR variance of a mean (module notes).
    """
    data, names, by = expand_columns(data, columns, by)
    check_aligned(data, design, names)
    check_level(level)
    groups = group_codes(data, by)
    sums = stratum_sums(data, design, names, groups, center=False)
    w = cell_weights(design, sums.count.ndim)
    total = np.sum(w * sums.s1, axis=0)
    variance = design.variance_from_sums(sums.s1, sums.s2)
    parts = ratio_parts(design, sums.count, sums.s1, sums.s2)
    n = sums.count.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = variance / (srs_variance_of_mean(parts.ssd, parts.nhat, n) * parts.nhat**2)
    se = np.sqrt(variance)
    q = t_quantile(level, resolve_df(design, df))
    low, high = wald_interval(total, se, q)
    return tidy_table(
        names,
        groups,
        {
            "n": n.astype(np.int64),
            "unweighted": sums.s1.sum(axis=0),
            "estimate": total,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "deff": deff,
        },
    )


def survey_difference(
    data: pd.DataFrame,
    design: Weighting,
    a: str | Sequence[str],
    b: str | Sequence[str],
    *,
    by: str | None = None,
    level: float = 0.95,
    df: float | None = None,
) -> pd.DataFrame:
    """Difference of two means measured on the same respondents.

    Typical use: two options of a multi-select question, "is option A chosen
    more often than option B?".  Both means come from the same respondents,
    so they are correlated; the variance of ``mean(a) − mean(b)`` counts the
    covariance (linearised variable ``z_a − z_b``).

    Parameters
    ----------
    data, design
        As in :func:`survey_mean`.
    a, b : str or sequence of str
        Columns to compare, paired element by element (equal lengths).
    by : str, optional
        Domain column, as in :func:`survey_mean`.
    level : float, default 0.95
        Confidence level.
    df : float, optional
        Degrees of freedom of the t quantile and p-value; default
        ``design.df``.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable_a, variable_b, group, estimate, se, ci_low,
        ci_high, p_value``.  ``estimate`` is ``mean(a) − mean(b)`` with each
        mean over its own answering respondents, exactly the difference of the
        :func:`survey_mean` estimates; the covariance uses the respondents who
        answered both.  Wald interval and two-sided p-value (H0: no
        difference) use Student t with ``design.df`` degrees of freedom.
    """
    names_a = as_names(a, "a")
    names_b = as_names(b, "b")
    if len(names_a) != len(names_b):
        raise ValueError(f"a and b must pair up: {len(names_a)} column(s) in a, {len(names_b)} in b")
    check_aligned(data, design, names_a + names_b)
    check_level(level)
    groups = group_codes(data, by)
    cell, size = cell_index(design, groups)
    shape = (design.n_cells, groups.size)

    estimates, variances = [], []
    for name_a, name_b in zip(names_a, names_b):
        pa = prepare_column(data[name_a], center=True)
        pb = prepare_column(data[name_b], center=True)
        both = pa.answered & pb.answered
        sums = {
            "ca": cell_bincount(cell, pa.answered, size, shape),
            "cb": cell_bincount(cell, pb.answered, size, shape),
            "ya": cell_bincount(cell, pa.y, size, shape),
            "yb": cell_bincount(cell, pb.y, size, shape),
            "cab": cell_bincount(cell, both, size, shape),
            "ya_b": cell_bincount(cell, np.where(pb.answered, pa.y, 0.0), size, shape),
            "yb_a": cell_bincount(cell, np.where(pa.answered, pb.y, 0.0), size, shape),
            "yab": cell_bincount(cell, pa.y * pb.y, size, shape),
        }
        sums["yya"] = sums["ya"] if pa.binary else cell_bincount(cell, pa.y * pa.y, size, shape)
        sums["yyb"] = sums["yb"] if pb.binary else cell_bincount(cell, pb.y * pb.y, size, shape)
        part_a = ratio_parts(design, sums["ca"], sums["ya"], sums["yya"])
        part_b = ratio_parts(design, sums["cb"], sums["yb"], sums["yyb"])
        ra, rb = part_a.estimate, part_b.estimate
        with np.errstate(divide="ignore", invalid="ignore"):
            # Σ_{i∈h} z_a z_b over respondents who answered both
            cross = (sums["yab"] - rb * sums["ya_b"] - ra * sums["yb_a"] + ra * rb * sums["cab"]) / (
                part_a.nhat * part_b.nhat
            )
        linear = part_a.linear - part_b.linear
        square = part_a.square + part_b.square - 2.0 * cross
        variances.append(design.variance_from_sums(linear, square))
        estimates.append((ra + pa.shift) - (rb + pb.shift))

    estimate = np.stack(estimates, axis=-1)
    se = np.sqrt(np.stack(variances, axis=-1))
    q = t_quantile(level, resolve_df(design, df))
    low, high = wald_interval(estimate, se, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = 2.0 * special.stdtr(resolve_df(design, df), -np.abs(estimate / se))  # t.sf
    out = tidy_table(
        names_a,
        groups,
        {"estimate": estimate, "se": se, "ci_low": low, "ci_high": high, "p_value": p_value},
    )
    out.insert(1, "variable_b", np.repeat(np.asarray(names_b, dtype=object), groups.size))
    return out.rename(columns={"variable": "variable_a"})[list(DIFFERENCE_COLUMNS)]
