"""Marks hold their stated rate (issue 16, item 3): with no group differing, the chance of any
false ▲▼△▽ in a table is near 5% under the default rule, measured on the generator's null waves.

A null wave is the synthetic R7 generator with every ``by_stratum`` difference and the ``dependence``
of willingness on 年代, 2-(3) and 2-(6) (issue 19) removed: each respondent answers with the same
probabilities whatever their 職域, 職位 or 年代. Every table of the report (each question by each
attribute) is a trial; a trial fails when it shows any mark.

The waves are drawn in one pass: one generator call for WAVES × 1,340 respondents (each 職域's
count × WAVES), dealt out to WAVES waves within each 職域. The generator draws every respondent
independently given their 職域, so each wave has the distribution of a separately generated one
(the spec's 職域 counts, the same weights N_h/n_h). The marks of all waves are then computed in one
array pass per table: the package's own per-cell sums (``item_sums``) with wave × group as the
groups, regrouped so each wave's groups are compared with the rest of *their* wave, the package's
cell test (``versus_rest_score_arrays``) and Holm (``adjust_p_values``) — the steps of ``crosstab``,
which is checked to give the same p-values and marks on the first CHECKED waves.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from ppp_survey.constants import MIN_BASE, MarkRule
from ppp_survey.survey.item_sums import item_sums
from ppp_survey.survey.kernels import StratumSums
from ppp_survey.survey.multiplicity import adjust_p_values
from ppp_survey.survey.significance import versus_rest_score_arrays
from ppp_survey.survey.tables import crosstab, make_design
from ppp_survey.synth.generator import generate, load_spec

WAVES = 100
CHECKED = 5  # waves whose every table also goes through crosstab (Holm), checked cell by cell
PROTECTED_WAVES = 20  # the old rule's rate, through crosstab (it needs each table's Rao–Scott test)
TABLES = 21  # 7 questions (single answer, Likert, multi-select) × 3 attributes (職域, 職位, 年代)


@pytest.fixture(scope="module")
def null_waves(codebook, frame):
    """WAVES null waves: one respondents table with a ``wave`` column (0 … WAVES − 1)."""
    spec = copy.deepcopy(load_spec())
    for question in spec["questions"].values():
        question.pop("by_stratum", None)
    spec.pop("dependence", None)  # willingness on 年代 (issue 19) would be a true difference by 年代
    per_wave = sum(spec["respondents"].values())
    responses = generate(codebook, spec, n=WAVES * per_wave, seed=5000).responses
    stratum = codebook.stratum.id
    # the k-th respondent of a 職域 goes to wave k mod WAVES: the spec's 職域 counts in every wave
    wave = responses.groupby(stratum, observed=True).cumcount().to_numpy() % WAVES
    return responses.assign(wave=wave), per_wave


def _wave(waves: pd.DataFrame, w: int) -> pd.DataFrame:
    return waves[waves["wave"] == w].drop(columns="wave").reset_index(drop=True)


def holm_tables(waves: pd.DataFrame, frame, codebook, item, attr) -> tuple[np.ndarray, np.ndarray]:
    """The Holm-adjusted cell p-values (NaN: not tested) of one table in every wave, (WAVES, L, K),
    in one pass; and whether each wave's table shows a mark (WAVES,)."""
    design = make_design(waves, frame.assign(population=frame["population"] * WAVES), codebook)
    # weights N_h·WAVES / (n_h·WAVES): those of one wave. The cell test depends on the weights only
    levels = waves[attr.id].cat.categories
    key = waves["wave"].to_numpy() * len(levels) + waves[attr.id].cat.codes.to_numpy()
    key = pd.Categorical.from_codes(np.where(waves[attr.id].isna(), -1, key), categories=range(WAVES * len(levels)))
    parts = item_sums(waves.assign(wave_group=key), design, item, "wave_group")
    assert parts.groups.size == WAVES * len(levels), (attr.id, parts.groups.size)  # every group in every wave
    c, _, k = parts.sums.count.shape

    def by_level(a):  # (C, WAVES·L, K) → (C, L, WAVES·K): a wave's groups side by side, its columns apart
        return a.reshape(c, WAVES, len(levels), k).transpose(0, 2, 1, 3).reshape(c, len(levels), WAVES * k)

    s = parts.sums
    sums = StratumSums(
        count=by_level(s.count),
        s1=by_level(s.s1),
        s2=by_level(s.s2),
        binary=np.tile(s.binary, WAVES),
        shift=np.tile(s.shift, WAVES),
    )
    p = versus_rest_score_arrays(design, sums)["p_value"].reshape(len(levels), WAVES, k).transpose(1, 0, 2)
    tested = (parts.base.reshape(WAVES, len(levels), 1) >= MIN_BASE) & np.isfinite(p)
    adjusted = np.stack([adjust_p_values(np.where(t, q, np.nan).ravel(), "holm") for t, q in zip(tested, p)])
    adjusted = adjusted.reshape(p.shape)
    return adjusted, (adjusted < 0.05).any(axis=(1, 2))


@pytest.fixture(scope="module")
def null_tables(null_waves, codebook, frame):
    """Any mark per (wave, table): Holm over every wave in one pass, the old rule through crosstab;
    and crosstab's Holm cells next to the one-pass ones on the first CHECKED waves."""
    waves, _ = null_waves
    tables = [(item, attr) for item in codebook.tabulated for attr in codebook.attributes]
    holm = {(item.id, attr.id): holm_tables(waves, frame, codebook, item, attr) for item, attr in tables}
    protected, checked = [], []
    for w in range(max(CHECKED, PROTECTED_WAVES)):
        responses = _wave(waves, w)
        design = make_design(responses, frame, codebook)
        for item, attr in tables:
            if w < PROTECTED_WAVES:
                cells = crosstab(responses, design, item, by=attr.id, marks=MarkRule.PROTECTED).cells
                protected.append(bool((cells["mark"] != "").any()))
            if w < CHECKED:
                checked.append((w, item.id, attr.id, crosstab(responses, design, item, by=attr.id).cells))
    any_mark = np.stack([holm[table][1] for table in holm], axis=1)  # (WAVES, TABLES)
    return {"holm": holm, "any_mark": any_mark, "protected": np.asarray(protected), "checked": checked}


def test_the_one_pass_gives_crosstabs_marks(null_tables):
    """The array pass is crosstab's computation: the same adjusted p-values and marks, cell by cell."""
    assert len(null_tables["checked"]) == CHECKED * TABLES
    for w, item, attr, cells in null_tables["checked"]:
        adjusted, marked = null_tables["holm"][(item, attr)]
        np.testing.assert_allclose(cells["p_value"].to_numpy(float), adjusted[w].ravel(), rtol=1e-9, equal_nan=True)
        assert (cells["mark"] != "").any() == marked[w], (w, item, attr)


def test_default_rule_keeps_false_marks_near_five_percent(null_tables):
    """Holm over each table's cells, on the score test: 3.0% of 2,100 null tables (21 per wave)
    show a false mark (3.1% on the waves drawn one call per wave); the first release's rule shows
    one in about a fifth.

    The bounds are unchanged from one generator call per wave: the same 100 waves × 21 tables, each
    wave with the distribution of a separately generated one. The old rule is measured on 20 waves
    (420 tables) only: 19% against its bound of 10% (see the comment below)."""
    holm = null_tables["any_mark"]
    assert holm.shape == (WAVES, TABLES)
    assert 0.025 <= holm.mean() <= 0.075, holm.mean()
    assert len(null_tables["protected"]) == PROTECTED_WAVES * TABLES
    # why the default changed: unadjusted cell tests behind a 5% table test still mark 19% of null
    # tables (50% while the table test kept the FPC, before 2026-12-06); 10 points are 3 standard
    # errors on the 140 independent question-waves (√(0.19·0.81/140) = 0.033)
    assert null_tables["protected"].mean() > 0.10
    # no table is far off: per table, at most 12 of 100 waves (binomial 5%: P(X ≥ 12) < 0.5%)
    per_table = holm.sum(axis=0)
    assert per_table.max() <= 12, per_table


def test_the_default_is_holm():
    import inspect

    from ppp_survey.analysis import analyse

    assert inspect.signature(crosstab).parameters["marks"].default is MarkRule.HOLM
    assert inspect.signature(analyse).parameters["marks"].default is MarkRule.HOLM
