"""Marks hold their stated rate (issue 16, item 3): with no group differing, the chance of any
false ▲▼△▽ in a table is near 5% under the default rule, measured on the generator's null waves.

A null wave is the synthetic R7 generator with every ``by_stratum`` difference and the ``dependence``
of willingness on 年代, 2-(3) and 2-(6) (issue 19) removed: each respondent answers with the same
probabilities whatever their 職域, 職位 or 年代 (the waves are the ones drawn before that dependence
existed: it is redrawn on a separate random stream). Every table of the report (each question by
each attribute) is a trial; a trial fails when it shows any mark.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from ppp_survey.constants import MarkRule
from ppp_survey.survey.tables import crosstab, make_design
from ppp_survey.synth.generator import generate, load_spec

WAVES = 100


@pytest.fixture(scope="module")
def null_tables(codebook, frame, monkeypatch_module):
    """Any mark per (wave, table) under each rule, over WAVES null waves."""
    # statsmodels' Holm runs gc.collect() on every call: harmless in a report, 50 ms × 4,000 here
    monkeypatch_module.setattr("gc.collect", lambda *a, **k: 0)
    spec = copy.deepcopy(load_spec())
    for question in spec["questions"].values():
        question.pop("by_stratum", None)
    spec.pop("dependence", None)  # willingness on 年代 (issue 19) would be a true difference by 年代
    hits = {rule: [] for rule in (MarkRule.HOLM, MarkRule.PROTECTED)}
    for wave in range(WAVES):
        responses = generate(codebook, spec, seed=5000 + wave).responses
        design = make_design(responses, frame, codebook)
        for item in codebook.questions_of_type("sa", "likert", "ma"):
            for attr in codebook.attributes:
                for rule, found in hits.items():
                    cells = crosstab(responses, design, item, by=attr.id, marks=rule).cells
                    found.append(bool((cells["mark"] != "").any()))
    return {rule: np.asarray(found) for rule, found in hits.items()}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_default_rule_keeps_false_marks_near_five_percent(null_tables):
    """Holm over each table's cells, on the score test: 3.1% of 2,100 null tables (21 per wave)
    show a false mark; the first release's rule showed one in more than half."""
    holm = null_tables[MarkRule.HOLM]
    assert len(holm) == WAVES * 21
    assert 0.025 <= holm.mean() <= 0.075, holm.mean()
    assert null_tables[MarkRule.PROTECTED].mean() > 0.25  # why the default changed
    # no table is far off: per table, at most 12 of 100 waves (binomial 5%: P(X ≥ 12) < 0.5%)
    per_table = holm.reshape(WAVES, 21).sum(axis=0)
    assert per_table.max() <= 12, per_table


def test_the_default_is_holm():
    import inspect

    from ppp_survey.analysis import analyse

    assert inspect.signature(crosstab).parameters["marks"].default is MarkRule.HOLM
    assert inspect.signature(analyse).parameters["marks"].default is MarkRule.HOLM
