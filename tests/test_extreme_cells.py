"""0% and 100% cells (issue 16): intervals that do not collapse, tests whose variance does not
vanish under the null, and no ▼ where Fisher's exact test sees nothing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import fisher_exact


@pytest.fixture(scope="module")
def cells(baseline, frame, codebook):
    from ppp_survey.analysis import analyse

    return analyse(baseline.responses, frame, codebook).crosstab_cells()


@pytest.fixture(scope="module")
def raw_cells(baseline, frame, codebook):
    """The same cells with the unadjusted cell-test p-values (the published ones are Holm-adjusted)."""
    from ppp_survey.analysis import analyse

    return analyse(baseline.responses, frame, codebook, marks="protected").crosstab_cells()


def _fisher(cells, row) -> float:
    """Fisher's exact test of the group's count against the rest of the same crosstab."""
    table = cells[(cells["question"] == row.question) & (cells["by"] == row.by) & (cells["code"] == row.code)]
    table = table[table["group"] != "全体"]
    rest_n = int(table["n"].sum() - row.n)
    rest_base = int(table["base_n"].sum() - row.base_n)
    return float(fisher_exact([[row.n, row.base_n - row.n], [rest_n, rest_base - rest_n]])[1])


def test_zero_cells_are_not_marked_and_their_p_is_near_fishers(cells, raw_cells):
    zero = raw_cells[(raw_cells["share"] == 0) & (raw_cells["base_n"] >= 30) & raw_cells["p_value"].notna()]
    assert len(zero) >= 4  # the baseline has such cells (消防「重要ではない」0/103, 企業「その他」0/102, …)
    marks = cells.set_index(["question", "by", "group", "code"])["mark"]
    for row in zero.itertuples():
        fisher = _fisher(raw_cells, row)
        assert marks[(row.question, row.by, row.group, row.code)] == "", (row.question, row.group, row.label)
        assert fisher / 2 <= row.p_value <= fisher * 2, (row.question, row.group, row.label, row.p_value, fisher)


def test_the_two_marks_the_issue_named_are_gone(cells):
    q1 = cells[(cells["question"] == "q1") & (cells["group"] == "消防") & (cells["label"] == "重要ではない")].iloc[0]
    q4 = cells[
        (cells["question"] == "q4") & (cells["group"] == "企業（上下水道）") & (cells["label"] == "その他")
    ].iloc[0]
    for row in (q1, q4):
        assert row["share"] == 0 and row["mark"] == ""
        assert row["p_value"] > 0.05
        # the interval of a 0/n cell: Clopper–Pearson upper bound 1 − 0.025^(1/n), not [0, 0]
        assert row["ci_low"] == 0 and row["ci_high"] == pytest.approx(1 - 0.025 ** (1 / row["base_n"]), rel=1e-9)


def test_no_interval_collapses(cells):
    shown = cells[cells["base_n"] > 0]
    assert (shown["ci_high"] > shown["ci_low"]).all()
    assert np.isfinite(shown[["ci_low", "ci_high"]].to_numpy()).all()
