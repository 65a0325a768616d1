"""Rao–Scott at the edges: singular or degenerate design-effect matrices give a defined result.

The CLI once printed ``numpy.linalg.LinAlgError: Singular matrix`` for a 126-respondent export
(every 職域 9 or 14 respondents: hypothesis found it, issue 13). ``C'D⁻¹C`` is singular when an
interaction contrast lives only on empty cells; R's ``svychisq`` stops there ("exactly singular").
ppp_survey then uses the generalised inverse, and where no contrast is left the test is NaN
(検定不能: no marks), never an exception.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import FRAME
from ppp_survey.report.cli import main
from ppp_survey.survey.design import stratified_design
from ppp_survey.survey.significance import rao_scott
from ppp_survey.synth.forms import to_forms_frame


def _table(cells: dict[tuple[str, str], int], strata: int = 1) -> tuple[pd.DataFrame, object]:
    """Respondents from (row level, col level) → count, spread over `strata` strata in turn."""
    rows = [(r, c) for (r, c), k in cells.items() for _ in range(k)]
    df = pd.DataFrame(rows, columns=["g", "a"])
    df["h"] = [f"h{i % strata}" for i in range(len(df))]
    sizes = df["h"].value_counts()
    if sizes.min() < 2:
        return df, None  # a stratum needs two respondents for a variance (DesignError says so)
    return df, stratified_design(df, {h: 10 * k + 5 for h, k in sizes.items()}, strata="h")


# q1 (5 answers, rows) × 職域 (9 groups, columns) of the 126-respondent export that crashed the CLI;
# each 職域 is its own stratum. Answers 4 and 5 are empty in groups 1 and 3 (and 5 in 9): C'D⁻¹C has
# five zero singular values.
CRASHED = np.array(
    [
        [4, 6, 4, 5, 6, 8, 7, 5, 6],
        [10, 3, 7, 6, 6, 5, 5, 8, 7],
        [0, 2, 3, 1, 2, 1, 1, 0, 0],
        [0, 1, 0, 1, 0, 0, 1, 0, 1],
        [0, 1, 0, 0, 0, 0, 0, 1, 0],
    ]
)


def test_the_table_that_crashed_gives_one_test_whatever_the_group_order():
    """A plain solve of the near-singular system returned round-off: F 0.42, 1.51 or 1.02 (p 0.65,
    0.09, 0.42) for the same table with the groups numbered in another order. The generalised
    inverse gives one answer."""
    rows = [(j, f"a{i}") for i in range(5) for j in range(9) for _ in range(CRASHED[i, j])]
    results = []
    for order in (range(9), [8, 7, 6, 5, 4, 3, 2, 1, 0], [3, 1, 4, 0, 5, 8, 2, 7, 6]):
        df = pd.DataFrame([(f"g{list(order)[j]}", a) for j, a in rows], columns=["g", "a"])
        design = stratified_design(df, {f"g{j}": 100 for j in range(9)}, strata="g")
        test = rao_scott(df, design, "g", "a")
        assert (test.n, test.n_rows, test.n_cols, test.df) == (124, 9, 5, 32)
        assert 0 < test.df_num <= 32 - 5  # five contrasts have no data
        results.append((test.f, test.df_num, test.p_value))
    for other in results[1:]:
        assert other == pytest.approx(results[0], rel=1e-9)


def test_block_of_empty_cells_is_not_an_error():
    # Groups X and Y both never chose answers 1 and 2: the contrast on those four cells is uninformed.
    cells = {
        ("X", "3"): 4,
        ("Y", "3"): 5,
        ("Z", "1"): 3,
        ("Z", "2"): 2,
        ("Z", "3"): 1,
        ("W", "1"): 2,
        ("W", "2"): 3,
        ("W", "3"): 2,
    }
    df, design = _table(cells, strata=2)
    test = rao_scott(df, design, "g", "a")
    assert (test.n_rows, test.n_cols, test.df) == (4, 3, 6)
    assert np.isfinite(test.f) and 0 <= test.p_value <= 1


def test_non_singular_tables_are_unchanged():
    """Away from singularity the generalised inverse is not used: the same F as a plain solve."""
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {"g": rng.choice(list("ABC"), 200), "a": rng.choice(list("123"), 200), "h": rng.choice(["h0", "h1"], 200)}
    )
    design = stratified_design(df, {"h0": 400, "h1": 300}, strata="h")
    test = rao_scott(df, design, "g", "a")
    assert np.isfinite(test.f) and test.df_num > 0 and 0 < test.p_value < 1


@pytest.mark.parametrize(
    "cells",
    [
        {("X", "1"): 3, ("Y", "2"): 3},  # perfect association, no variation inside any group
        {("X", "1"): 1, ("Y", "2"): 1},  # two respondents
        {("X", "1"): 5, ("X", "2"): 5, ("Y", "1"): 5, ("Y", "2"): 5},  # no association at all
    ],
)
def test_degenerate_tables_give_a_number_or_nan(cells):
    for strata in (1, 2):
        df, design = _table(cells, strata=strata)
        if design is None:
            continue
        test = rao_scott(df, design, "g", "a")
        assert np.isnan(test.p_value) or 0 <= test.p_value <= 1


@pytest.mark.report
def test_cli_on_the_126_respondent_export(synthetic, codebook, tmp_path, capsys, monkeypatch):
    """The export hypothesis found: 9–14 respondents per 職域, clean. Exit 0, no traceback.

    The Rao–Scott tests are computed for the tables, whatever the charts and the committee paper: the
    run writes the tables only (--tables-only) in one process (PPP_SURVEY_JOBS=1, the same files). The
    charts and the paper on exports of this size are test_load_properties.test_cli_never_shows_a_traceback's
    (the same 126 respondents, mutated; its written reports include both)."""
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    rows = synthetic.responses.groupby("domain", observed=True).head(14).reset_index(drop=True)
    assert len(rows) == 126
    free = synthetic.free_text[synthetic.free_text["respondent_id"].isin(rows["respondent_id"])]
    table = to_forms_frame(rows, free, codebook)
    path = tmp_path / "x.csv"
    path.write_bytes(table.to_csv(index=False).encode("utf-8"))
    code = main(["--data", str(path), "--frame", str(FRAME), "--out", str(tmp_path / "out"), "--tables-only"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == 0, err[-500:]
