"""From a codebook item to numbers: 0/1 indicator columns and their per-stratum × group sums.

:func:`indicators` turns a question into one 0/1 column per answer (or option); :func:`item_sums`
counts them per stratum and group in one vectorised pass (single answer: one ``bincount``;
multi-select: answer patterns packed eight options at a time), so :mod:`.tables` builds every
share, estimate, variance and test of a question from the same sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ppp_survey.spec.codebook import Item
from ppp_survey.survey.design import Weighting
from ppp_survey.survey.kernels import GroupCodes, StratumSums, cell_index, check_aligned, group_codes, stratum_sums


def indicators(responses: pd.DataFrame, item: Item) -> pd.DataFrame:
    """One float 0/1 column per choice (named ``{id}_{code}``), NaN where the question was not answered."""
    columns = list(item.option_columns)
    if item.is_multi:
        options = [responses[c] for c in columns]
        if not all(_plain_numeric(c) for c in options):
            return responses[columns].astype("Float64").astype(float)
        values = np.empty((len(columns), len(responses)))
        for row, option in zip(values, options):
            row[:] = option.to_numpy(dtype=np.float64, na_value=np.nan)
        return _frame(values, columns, responses.index)
    answers = responses[item.id]
    if isinstance(answers.dtype, pd.CategoricalDtype):
        # integer codes instead of comparing labels: the same 0/1 values without touching strings
        codes = answers.cat.codes.to_numpy()
        unanswered = codes < 0
        where = answers.cat.categories.get_indexer(pd.Index(item.labels, dtype=object))
        values = np.empty((len(columns), len(responses)))
        for row, at in zip(values, where):
            if at >= 0:
                np.equal(codes, at, out=row, casting="unsafe")
            else:  # a label the data never use
                row.fill(0.0)
            np.copyto(row, np.nan, where=unanswered)
        return _frame(values, columns, responses.index)
    answered = answers.notna().to_numpy()
    out = {}
    for choice, col in zip(item.choices, columns):
        out[col] = np.where(answered, (answers == choice.label).to_numpy(dtype=bool), np.nan)
    return pd.DataFrame(out, index=responses.index)


def _frame(values: np.ndarray, columns: list[str], index: pd.Index) -> pd.DataFrame:
    """A float DataFrame over a (columns, rows) array, without copying it (pandas stores it so)."""
    return pd.DataFrame(values.T, index=index, columns=columns, copy=False)


def _plain_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return not isinstance(dtype, pd.CategoricalDtype) and (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    )


# ------------------------------------------------------------------ one pass over the respondents
#
# tally() and crosstab() need, per stratum × group × choice, the number who answered and the number
# who chose: the estimates, SEs, CIs, design effects, the group-versus-rest tests and the Rao–Scott
# tables are all closed-form functions of those sums (see ppp_survey.survey.estimate), so crosstab() makes
# one pass over the respondents for all of them.  For a question whose answers are a categorical of
# exactly the codebook's labels (single answer) or 0/1 columns (multi-select) the sums are counted
# from integer codes: one np.bincount per single-answer question, one per eight options of a
# multi-select question (answer patterns); anything else takes the general route through
# indicator columns (estimate.stratum_sums).  Both give the same numbers, bit for bit.


@dataclass(frozen=True)
class ItemSums:
    """What tally/crosstab need of one question, by the groups of ``by`` (one group without ``by``)."""

    groups: GroupCodes
    sums: StratumSums  # (C, G, K) per-cell sums of the choice indicators (centred as survey_mean centres)
    chosen: np.ndarray  # (G, K) respondents who chose each choice
    base: np.ndarray  # (G,) respondents who answered
    size: np.ndarray  # (G,) respondents in the group
    binary_codes: bool  # fast route: the Rao–Scott table can be read off the sums


def item_sums(responses: pd.DataFrame, design: Weighting, item: Item, by: str | None) -> ItemSums:
    check_aligned(responses, design, list(item.option_columns) if item.is_multi else [item.id])
    groups = group_codes(responses, by)  # raises for a missing `by` column, as survey_mean does
    fast = (_multi_sums if item.is_multi else _single_sums)(responses, design, item, groups)
    return fast if fast is not None else _general_sums(responses, design, item, by, groups)


def _cells(design: Weighting, groups: GroupCodes) -> tuple[np.ndarray, int, int]:
    """Sum cell × group of each respondent (the last bin: no group), the number of real cells and of bins."""
    cell, bins = cell_index(design, groups)
    return cell, design.n_cells * groups.size, bins


def _single_sums(responses, design, item, groups) -> ItemSums | None:
    values = responses[item.id]
    if not (isinstance(values.dtype, pd.CategoricalDtype) and list(values.cat.categories) == list(item.labels)):
        return None
    n_k = len(item.choices)
    cell, n_cells, bins = _cells(design, groups)
    index = cell * (n_k + 1)
    index += values.cat.codes.to_numpy()
    index += 1  # bin 0: no answer
    counts = np.bincount(index, minlength=bins * (n_k + 1))[: n_cells * (n_k + 1)]
    counts = counts.reshape(design.n_cells, groups.size, n_k + 1).astype(float)
    chosen = np.ascontiguousarray(counts[:, :, 1:])
    answered = chosen.sum(axis=2)
    count = np.ascontiguousarray(np.broadcast_to(answered[:, :, None], chosen.shape))
    sums = StratumSums(count=count, s1=chosen, s2=chosen, binary=np.ones(n_k, dtype=bool), shift=np.zeros(n_k))
    return ItemSums(
        groups=groups,
        sums=sums,
        chosen=chosen.sum(axis=0),
        base=answered.sum(axis=0),
        size=counts.sum(axis=(0, 2)),
        binary_codes=True,
    )


_PACKED = 8  # multi-select options counted per np.bincount: 2**8 answer patterns per cell
_PATTERN_BITS = ((np.arange(2**_PACKED)[:, None] >> np.arange(_PACKED)) & 1).astype(float)  # pattern → 0/1 per option


def _multi_sums(responses, design, item, groups) -> ItemSums | None:
    """Sums of a multi-select question's 0/1 option columns: the options are packed eight at a time
    into one answer pattern per respondent, counted per stratum × group × pattern with one
    np.bincount, and the patterns' counts summed per option (exact integer counts)."""
    columns = [responses[c] for c in item.option_columns]
    if not all(_plain_numeric(c) for c in columns):
        return None
    bits = []
    for column in columns:
        b = _option_bits(column)
        if b is None:  # not 0/1: means of other values are centred, take the general route
            return None
        bits.append(b)
    cell, n_cells, bins = _cells(design, groups)
    shape = (design.n_cells, groups.size)
    n_k = len(columns)
    count = np.empty(shape + (n_k,))
    previous = None
    for j, column in enumerate(columns):
        missing = column.isna().to_numpy()
        if previous is not None and np.array_equal(missing, previous):
            count[..., j] = count[..., j - 1]  # the options of one question share their nonresponse
        else:
            count[..., j] = np.bincount(cell[~missing], minlength=bins)[:n_cells].reshape(shape)
            previous = missing
    s1 = np.empty_like(count)
    offset = cell * 2**_PACKED
    for start in range(0, n_k, _PACKED):
        chunk = bits[start : start + _PACKED]
        pattern = chunk[0].copy()
        for k, b in enumerate(chunk[1:], start=1):
            pattern |= b << k
        patterns = np.bincount(offset + pattern, minlength=bins * 2**_PACKED)[: n_cells * 2**_PACKED]
        patterns = patterns.reshape(n_cells, 2**_PACKED).astype(float)
        s1[..., start : start + len(chunk)] = (patterns @ _PATTERN_BITS[:, : len(chunk)]).reshape(shape + (len(chunk),))
    sizes = patterns.sum(axis=1).reshape(shape).sum(axis=0)  # everyone in the cell has some pattern
    sums = StratumSums(count=count, s1=s1, s2=s1, binary=np.ones(n_k, dtype=bool), shift=np.zeros(n_k))
    return ItemSums(
        groups=groups, sums=sums, chosen=s1.sum(axis=0), base=count[:, :, 0].sum(axis=0), size=sizes, binary_codes=True
    )


def _option_bits(column: pd.Series) -> np.ndarray | None:
    """A multi-select option column as uint8 0/1 (no answer → 0), or None if some answer is not 0 or 1."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return column.to_numpy(dtype=bool, na_value=False).view(np.uint8)
    if pd.api.types.is_integer_dtype(dtype):
        values = column.to_numpy(dtype=getattr(dtype, "numpy_dtype", dtype), na_value=0)
        if values.size and (values.min() < 0 or values.max() > 1):
            return None
        return values.astype(np.uint8, copy=False)
    values = column.to_numpy(dtype=np.float64, na_value=0.0)
    if not ((values == 0.0) | (values == 1.0)).all():
        return None
    return values.astype(np.uint8)


def _general_sums(responses, design, item, by, groups) -> ItemSums:
    ind = indicators(responses, item)
    data = ind if by is None else ind.assign(**{by: responses[by]})
    sums = stratum_sums(data, design, list(ind.columns), groups, center=True)
    values = ind.to_numpy(dtype=float)
    answered = ~np.isnan(values[:, 0])
    if by is None:
        member = np.ones((1, len(responses)))
    else:
        key = responses[by].astype(object).to_numpy()
        member = np.stack([(key == g) for g in groups.labels]).astype(float)
    return ItemSums(
        groups=groups,
        sums=sums,
        chosen=member @ np.nan_to_num(values),
        base=member @ answered.astype(float),
        size=member.sum(axis=1),
        binary_codes=False,
    )
