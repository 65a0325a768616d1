"""The bundled synthetic baseline reproduces the document's published facts and 2-(8)'s findings.

Source of every number: 「今後の官民連携の取組について」令和7年11月 官民連携在り方検討特別委員会資料,
section 2: "※R7.7.18～31実施 職員3,138人中1,340人回答（回答率42.7%）", and the 現状 column of 2-(8).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from ppp_survey import generate, response_rates
from ppp_survey.text import pct


def top2(responses, item):
    answered = responses[item.id].notna()
    return responses.loc[answered, item.id].isin(item.labels[:2]).mean()


def test_published_facts(baseline, frame, codebook):
    responses = baseline.responses
    assert len(responses) == 1340  # 1,340人回答
    assert baseline.report.n_read == 1340 and baseline.report.n_rejected == 0
    assert frame["population"].sum() == 3138  # 職員3,138人
    rates = response_rates(responses, frame, codebook)
    assert pct(rates.iloc[-1]["rate"]) == "42.7"  # 回答率42.7%
    window = responses["completed"].dt.date.between(dt.date(2025, 7, 18), dt.date(2025, 7, 31))
    assert window.all()  # R7.7.18～31実施
    assert responses["started"].min().date() == dt.date(2025, 7, 18)
    assert responses["completed"].max().date() <= dt.date(2025, 7, 31)


def test_bundled_file_is_the_generator_output(baseline, synthetic):
    """The file in data/raw is exactly what the seeded generator makes (so it can be regenerated)."""
    pd.testing.assert_frame_equal(baseline.responses, synthetic.responses)
    pd.testing.assert_frame_equal(baseline.free_text, synthetic.free_text)


def test_generator_is_deterministic_and_scales(codebook):
    a, b = generate(codebook, seed=5), generate(codebook, seed=5)
    pd.testing.assert_frame_equal(a.responses, b.responses)
    assert not generate(codebook, seed=6).responses.equals(a.responses)
    big = generate(codebook, n=10_000)
    assert len(big.responses) == 10_000
    shares = big.responses["domain"].value_counts(normalize=True)
    assert shares["一般行政"] == pytest.approx(650 / 1340, abs=1e-3)


def test_response_rates_differ_by_domain(baseline, frame, codebook):
    rates = response_rates(baseline.responses, frame, codebook).iloc[:-1]
    assert rates["rate"].max() - rates["rate"].min() > 0.2
    table = np.c_[rates["respondents"], rates["population"] - rates["respondents"]]
    assert chi2_contingency(table).pvalue < 0.01


def test_important_in_every_domain(baseline, codebook):
    # 2-(8): 官民連携に関しては全ての職域で重要だと考えている
    q1 = codebook.item("q1")
    for domain, group in baseline.responses.groupby("domain", observed=True):
        assert top2(group, q1) > 0.7, domain


def test_willingness_differs_by_domain(baseline, codebook):
    # 2-(8): 意欲や関心は職域ごとにばらつきがある (a real difference: chi-square p < 0.01)
    counts = pd.crosstab(baseline.responses["domain"], baseline.responses["q2"])
    assert chi2_contingency(counts.to_numpy()).pvalue < 0.01
    q2 = codebook.item("q2")
    by = baseline.responses.groupby("domain", observed=True).apply(lambda g: top2(g, q2))
    assert by.max() - by.min() > 0.2


def test_most_have_no_experience(baseline):
    # 2-(8): 民間等と連携に関する対話・相談をする機会が少なく、対応経験が乏しい
    q3 = baseline.responses["q3"].dropna()
    assert (q3 == "ない").mean() > 0.5


def test_most_do_not_find_consulting_easy(baseline, codebook):
    # 2-(8): 庁内で官民連携を相談しやすい雰囲気がない
    assert top2(baseline.responses, codebook.item("q6")) < 0.5


@pytest.mark.parametrize("qid", ["q5", "q7"])
def test_named_difficulties_and_supports_rank_high(baseline, codebook, qid):
    # Every difficulty / support named in 2-(8) is chosen by at least a fifth of those who answered,
    # and each ranks above その他 and 特にない.
    item = codebook.item(qid)
    ticks = baseline.responses[item.option_columns].dropna()
    share = ticks.mean()
    named = [item.option_column(c) for c in item.choices if not (c.other or c.exclusive)]
    rest = [item.option_column(c) for c in item.choices if c.other or c.exclusive]
    assert (share[named] >= 0.2).all()
    assert share[named].min() > share[rest].max()


def test_synthetic_is_labelled(baseline):
    from openpyxl import load_workbook

    from conftest import BASELINE

    assert "synthetic" in BASELINE.name
    wb = load_workbook(BASELINE, read_only=True)
    assert "注記" in wb.sheetnames
    note = next(wb["注記"].iter_rows(min_row=2, values_only=True))[0]
    assert "架空データ" in note
    assert baseline.free_text["text"].str.startswith("（架空）").all()
