"""Multiplicity adjustment (marks and --change-fdr): the package's numpy Holm and Benjamini–Hochberg
give statsmodels' ``multipletests`` numbers (the independent reference), NaN left untested."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from ppp_survey.survey.multiplicity import adjust_p_values


@pytest.mark.parametrize("method, reference", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_p_values_equal_statsmodels(method, reference):
    rng = np.random.default_rng(7)
    for trial in range(200):
        m = int(rng.integers(1, 60))
        p = rng.uniform(0, 1, m) ** rng.uniform(0.3, 4)  # from many tiny p-values to none
        if trial % 3 == 0:
            p[rng.integers(0, m, 3)] = p[0]  # ties
        if trial % 4 == 0:
            p[rng.integers(0, m, 2)] = np.nan  # untested cells
        tested = np.isfinite(p)
        got = adjust_p_values(p, method)
        np.testing.assert_array_equal(np.isnan(got), ~tested)
        if tested.any():
            np.testing.assert_allclose(got[tested], multipletests(p[tested], method=reference)[1], rtol=1e-12)


def test_nothing_tested_and_an_unknown_method():
    assert np.isnan(adjust_p_values(np.array([np.nan, np.nan]), "holm")).all()
    with pytest.raises(ValueError, match="holm"):
        adjust_p_values(np.array([0.1]), "bonferroni")
