"""Cells as codes into distinct texts: the texts are those of the cells one by one, and matching
work is done once per distinct text, not once per cell (issue 20)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ppp_survey import load_responses, write_export
from ppp_survey.ingest import cells as cells_module
from ppp_survey.ingest.cells import cell_text, code_column

MIXED = [
    "a",
    None,
    np.nan,
    pd.NA,
    pd.NaT,
    1,
    1.0,
    "1",
    True,
    False,
    0,
    2.5,
    np.float64(3.0),
    pd.Timestamp("2025-07-20 09:00"),
    dt.datetime(2025, 7, 20, 9, 0),
    dt.date(2025, 7, 20),
    "",
    " a ",
]


@pytest.mark.parametrize(
    "values",
    [
        ["b", "a", "b", "", "a"],
        MIXED,
        MIXED[::-1],
        [True, 1, 1.0, False, 0],  # equal in Python, not in text: True reads "True", 1 reads "1"
        [1, True],
        [None, np.nan],
        [],
    ],
)
def test_texts_are_the_cells_one_by_one(values):
    cells = code_column("h", pd.Series(values, dtype=object))
    assert list(cells.texts[cells.codes]) == [cell_text(v) for v in values]
    assert len(set(cells.texts)) == len(cells.texts)  # each text once
    assert (cells.codes >= 0).all()


def test_spss_value_labels_apply_before_text():
    labels = {1.0: "はい", 2.0: "いいえ"}
    values = [1.0, 2.0, np.nan, 3.0, 1.0, True]
    cells = code_column("h", pd.Series(values, dtype=object), labels)
    expected = [cell_text(labels.get(v, v) if v is not None else v) for v in values]
    assert list(cells.texts[cells.codes]) == expected == ["はい", "いいえ", "", "3", "はい", "はい"]


def test_keys_are_normalised_once_per_distinct_text(synthetic, codebook, tmp_path, monkeypatch):
    """3,000 respondents, about 20 columns: far fewer key normalisations than cells."""
    responses = synthetic.responses.sample(3_000, replace=True, random_state=1).reset_index(drop=True)
    responses["respondent_id"] = [str(i) for i in range(1, len(responses) + 1)]
    path = write_export(responses, synthetic.free_text.iloc[:0], codebook, tmp_path / "x.csv")
    calls = []
    normalize = cells_module.normalize_key
    monkeypatch.setattr(cells_module, "normalize_key", lambda v: calls.append(v) or normalize(v))
    result = load_responses(path, codebook)
    assert result.report.n_accepted == 3_000
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    distinct = sum(
        table[c].nunique() for c in table.columns if c not in ("ID", "開始時刻", "完了時刻", "メール", "名前")
    )
    leftovers = sum(q.is_multi for q in codebook.questions)  # a multi-select cell's text left over: here ""
    assert distinct < 3_000
    assert len(calls) <= distinct + leftovers
