"""Multiplicity adjustment (marks and --change-fdr): the package's numpy Holm and Benjamini–Hochberg
give statsmodels' ``multipletests`` numbers (the independent reference), NaN left untested.

statsmodels is called on a dozen inputs chosen to cover the cases (one p-value, ties, NaN, all
tiny, none small); the 200 random inputs are checked against the methods' definitions written
without sorting (pairwise comparisons, below), which are themselves checked against statsmodels
on the dozen. statsmodels' Holm runs ``gc.collect()`` on every call: 200 calls took 296 s in a
loaded ``pytest -n auto`` worker holding other files' data, hence the dozen and the patch."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from ppp_survey.survey.multiplicity import adjust_p_values

METHODS = [("holm", "holm"), ("bh", "fdr_bh")]


@pytest.fixture
def no_gc_collect(monkeypatch):
    """statsmodels' Holm collects garbage on each call (harmless in a report, seconds in a busy worker)."""
    monkeypatch.setattr("gc.collect", lambda *a, **k: 0)


def by_definition(p: np.ndarray, method: str) -> np.ndarray:
    """Holm or BH adjusted p-values of finite ``p`` from the definitions, by pairwise comparison.

    Holm: ``min(1, max over p_j ≤ p_i of (m − r_j + 1)·p_j)``, r_j the smallest rank of p_j's ties.
    BH: ``min(1, min over p_j ≥ p_i of m·p_j / r_j)``, r_j the largest rank of p_j's ties.
    """
    m = p.size
    below = p[np.newaxis, :] < p[:, np.newaxis]  # [i, j]: p_j < p_i
    at_most = p[np.newaxis, :] <= p[:, np.newaxis]  # [i, j]: p_j ≤ p_i
    if method == "holm":
        first_rank = below.sum(axis=1) + 1
        step = (m - first_rank + 1) * p
        return np.minimum(1.0, np.where(at_most, step[np.newaxis, :], -np.inf).max(axis=1))
    last_rank = at_most.sum(axis=1)
    step = m * p / last_rank
    return np.minimum(1.0, np.where(at_most.T, step[np.newaxis, :], np.inf).min(axis=1))


def random_inputs(seed: int, trials: int):
    """From many tiny p-values to none; every third with ties, every fourth with untested (NaN) cells."""
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        m = int(rng.integers(1, 60))
        p = rng.uniform(0, 1, m) ** rng.uniform(0.3, 4)
        if trial % 3 == 0:
            p[rng.integers(0, m, 3)] = p[0]  # ties
        if trial % 4 == 0:
            p[rng.integers(0, m, 2)] = np.nan  # untested cells
        yield p


CHOSEN = [
    np.array([0.03]),
    np.array([0.5, np.nan]),
    np.array([0.01, 0.01, 0.01, 0.2]),  # ties at the smallest
    np.array([0.04, 0.2, 0.2, 0.2, 0.9]),  # ties in the middle
    np.array([1e-12, 1e-9, 1e-6, 0.001, 0.002]),  # all tiny: products near 1 are not capped early
    np.array([0.6, 0.7, 0.8, 0.95, 0.99]),  # none small: everything capped at 1
    np.array([0.3, np.nan, 0.01, np.nan, 0.02, 0.02]),
    *random_inputs(11, 5),
]


@pytest.mark.parametrize("method, reference", METHODS)
def test_adjusted_p_values_equal_statsmodels(method, reference, no_gc_collect):
    for p in CHOSEN:
        tested = np.isfinite(p)
        got = adjust_p_values(p, method)
        expected = multipletests(p[tested], method=reference)[1]
        np.testing.assert_array_equal(np.isnan(got), ~tested)
        np.testing.assert_allclose(got[tested], expected, rtol=1e-12)
        np.testing.assert_allclose(by_definition(p[tested], method), expected, rtol=1e-12)  # the reference below


@pytest.mark.parametrize("method", [m for m, _ in METHODS])
def test_adjusted_p_values_follow_the_definition(method):
    """200 random tables (the previous statsmodels loop's inputs, seed 7) against the definition."""
    for p in random_inputs(7, 200):
        tested = np.isfinite(p)
        got = adjust_p_values(p, method)
        np.testing.assert_array_equal(np.isnan(got), ~tested)
        if tested.any():
            np.testing.assert_allclose(got[tested], by_definition(p[tested], method), rtol=1e-12)


def test_nothing_tested_and_an_unknown_method():
    assert np.isnan(adjust_p_values(np.array([np.nan, np.nan]), "holm")).all()
    with pytest.raises(ValueError, match="holm"):
        adjust_p_values(np.array([0.1]), "bonferroni")
