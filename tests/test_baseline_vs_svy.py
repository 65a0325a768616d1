"""The bundled baseline's tables, through ppp_survey.survey.tables, against svy (an independent
implementation of design-based estimation; svy's pop_size= takes N_h as R's fpc= does).

Shares, SEs and domain estimates (by 職域 = strata, and by 職位, which cuts across strata) of a
single-answer and a multi-select question must agree to 1e-6, and the Rao–Scott F of the 2-(2)
× 職域 crosstab with svy's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
import svy

from ppp_survey.survey.item_sums import indicators
from ppp_survey.survey.tables import crosstab, make_design, tally

ATOL = 1e-6


@pytest.fixture(scope="module")
def design(baseline, frame, codebook):
    return make_design(baseline.responses, frame, codebook)


@pytest.fixture(scope="module")
def sample(baseline, design, codebook):
    """The baseline in svy: 0/1 columns per choice of q2 and q5, weights N_h/n_h, pop_size N_h."""
    r = baseline.responses
    table = pd.concat([indicators(r, codebook.item("q2")), indicators(r, codebook.item("q5"))], axis=1)
    table["domain"] = r["domain"].astype(str)
    table["position"] = r["position"].astype(object)
    table["q2"] = r["q2"].astype(object)
    table["_w"] = design.weights
    table["_N"] = design.population[design.codes]
    return svy.Sample(pl.from_pandas(table), svy.Design(stratum="domain", wgt="_w", pop_size="_N"))


@pytest.mark.parametrize("qid", ["q2", "q5"])
@pytest.mark.parametrize("by", [None, "domain", "position"])
def test_shares_and_ses_match_svy(baseline, design, sample, codebook, qid, by):
    item = codebook.item(qid)
    ours = tally(baseline.responses, design, item, by=by)
    for choice, col in zip(item.choices, item.option_columns):
        theirs = sample.estimation.mean(col, by=by, drop_nulls=True).to_polars().to_pandas()
        mine = ours[ours["code"] == choice.code]
        if by is not None:
            theirs = theirs.set_index(by).loc[mine["group"].astype(str).tolist()]
        np.testing.assert_allclose(mine["estimate"].to_numpy(float), theirs["est"].to_numpy(float), atol=ATOL)
        np.testing.assert_allclose(mine["se"].to_numpy(float), theirs["se"].to_numpy(float), atol=ATOL)


@pytest.mark.parametrize("fpc", [True, False], ids=["with-fpc", "without-fpc"])
def test_rao_scott_of_willingness_by_domain_matches_svy(baseline, design, sample, codebook, fpc):
    """The Rao–Scott test on the design with its FPC (svy's pop_size) and without it (svy without
    pop_size) — the crosstab publishes the latter: a table test asks whether groups answer differently."""
    from ppp_survey.survey.significance import rao_scott

    answered = pl.col("q2").is_not_null()  # 無回答 as a domain, not by dropping rows (as R does)
    if fpc:
        ours = rao_scott(baseline.responses, design, "domain", "q2")
        f, df_num = ours.f, ours.df_num
    else:
        published = crosstab(baseline.responses, design, codebook.item("q2"), by="domain").tests.iloc[0]
        f, df_num = published["f"], published["df_num"]
        data = sample.data.drop("_N")
        sample = svy.Sample(data, svy.Design(stratum="domain", wgt="_w"))
    theirs = sample.categorical.tabulate("domain", "q2", where=answered, drop_nulls=True).stats
    assert f == pytest.approx(theirs.f.value, abs=ATOL)
    assert df_num == pytest.approx(theirs.f.df_num, abs=ATOL)
