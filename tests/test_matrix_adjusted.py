"""The policy matrix's rule type "association with control" (issue 19, ``statistic: adjusted``) and the
file's association model (``associations``): loading and its messages, the verdict on the adjusted odds
ratio's 95% interval against 1, the text, and the KPI table's lever (てこ).

Reference numbers: the generator builds in a log odds ratio of 0.9 for 2-(6) 肯定的回答 on 2-(2)
肯定的回答 (``src/ppp_survey/data/synthetic_r7.yaml``, ``dependence``: odds ratio e^0.9 = 2.46); the
odds ratios the evidence shows are the analysis' association model
(:func:`ppp_survey.survey.associations.association_model` on the design without FPC), refitted here.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ppp_survey.analysis import analyse
from ppp_survey.compare.baseline import load_baseline
from ppp_survey.outputs.change_sheets import kpi_progress
from ppp_survey.outputs.evidence_text import format_evidence
from ppp_survey.outputs.matrix_sheets import LEVER_HEADER, evidence_display, kpi_display
from ppp_survey.policy import evidence as ev
from ppp_survey.policy.evidence import describe, evaluate
from ppp_survey.policy.kpi import kpi_table, levers
from ppp_survey.spec.matrix import MatrixError
from ppp_survey.spec.matrix_file import load_matrix, parse_matrix
from ppp_survey.spec.resources import packaged_codebook
from ppp_survey.survey.associations import DEFAULT_TERMS, AdjustedAssociation, association_model, canonical_key
from ppp_survey.synth.generator import generate, load_spec
from ppp_survey.text import round_half_up

REPO = Path(__file__).resolve().parents[1]
S8_2 = ("categories", 2, "situations", 1, "indicators", 1)  # 現状 s8's second indicator: the adjusted rule
WHERE = r"categories\[2\]\.situations\[1\]\.indicators\[1\]"


def _raw() -> dict:
    return yaml.safe_load(
        (resources.files("ppp_survey") / "data" / "policy_matrix_r7.yaml").read_text(encoding="utf-8")
    )


def _s82(raw: dict) -> dict:
    node = raw
    for step in S8_2:
        node = node[step]
    return node


@pytest.fixture(scope="module")
def matrix(codebook):
    return load_matrix(codebook=codebook)


@pytest.fixture(scope="module")
def analysis(baseline, frame, codebook):
    return analyse(baseline.responses, frame, codebook)


@pytest.fixture(scope="module")
def evidence(matrix, analysis):
    return evaluate(matrix, analysis).set_index("indicator_id")


# ------------------------------------------------------------------------------------- loading


def matrix_codebook():
    return packaged_codebook("codebook_r7.yaml")


def test_the_packaged_rule_and_model(matrix):
    ind = matrix.situation("s8").indicators[1]
    assert (ind.statistic, ind.question, ind.response, ind.term) == ("adjusted", "q2", "q2:top2", "q6:top2")
    assert ind.controls == ("domain", "position", "age", "q3:choice:1") and ind.rule.text == "OR > 1"
    default = tuple(canonical_key(matrix_codebook(), t) for t in DEFAULT_TERMS)  # 2-(3) ある → q3:choice:1
    assert ind.model_terms == default  # the same model as the report's: fitted once
    assert matrix.model == ("q2:top2", default)
    raw = _raw()
    del raw["associations"]
    assert parse_matrix(raw, name="m.yaml").model is None


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda x: x.update(rule="OR >= 1"),
            r"指標 s8\.2 の「rule: OR >= 1」は調整した関連（statistic: adjusted）の判定として読めない",
        ),
        (lambda x: x.update(term="q6:top3"), r"指標 s8\.2 の「term: q6:top3」は指標のキーとして読めない。「q2:top2」"),
        (lambda x: x.update(response="domain"), r"指標 s8\.2 の「response: domain」は指標のキーとして読めない"),
        (lambda x: x.update(control=x.pop("controls")), r"指標 s8\.2（statistic: adjusted）に「control」は書けない"),
        (lambda x: x.update(by="domain"), r"指標 s8\.2 は「statistic: adjusted」なので by は書けない"),
        (lambda x: x.update(choices=["ある"]), r"指標 s8\.2 は「statistic: adjusted」なので choices は書けない"),
        (lambda x: x["controls"].append("q6:top2"), r"指標 s8\.2 の「controls」に term と同じ「q6:top2」がある"),
        (
            lambda x: x["controls"].append("q2:top2"),
            r"指標 s8\.2 の「controls」に目的変数（response）と同じ「q2:top2」がある",
        ),
        (lambda x: x["controls"].append("age"), r"指標 s8\.2 の「controls」に同じものが2回ある（age）"),
        (
            lambda x: x.update(question="q6"),
            r"指標 s8\.2 の「question: q6」と「response: q2:top2」の設問が違う。question を q2 にする",
        ),
        (lambda x: x.update(fit="maybe"), r"「fit: maybe」は使えない"),
    ],
)
def test_schema_errors_name_the_indicator_and_the_value(edit, message):
    raw = _raw()
    edit(_s82(raw))
    with pytest.raises(MatrixError, match=f"^政策マトリクス m\\.yaml {WHERE}: {message}") as info:
        parse_matrix(raw, name="m.yaml")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda x: x.update(term="q9:top2"),
            r"指標 s8\.2 の「term: q9:top2」の設問「q9」はコードブック codebook_r7\.yaml（同梱） にない（設問のidは q1、",
        ),
        (
            lambda x: x.update(term="q3:top2"),
            r"指標 s8\.2 の「term: q3:top2」: top2 は尺度（type: likert）の設問にだけ使えるが、設問2-\(3\)「.*」"
            r"（id: q3）は単一回答（type: sa）。「q3:choice:<選択肢のラベル>」のように選択肢を指定する",
        ),
        (
            lambda x: x.update(term="q5:choice:財政資源・人的資源が十分ではない"),
            r"指標 s8\.2 の「term: q5:choice:財政資源・人的資源が十分ではない」: 設問2-\(5\)「.*」（id: q5）は複数選択。"
            r"「q5:opt:財政資源・人的資源が十分ではない」と書く",
        ),
        (
            lambda x: x.update(term="q3:opt:ある"),
            r"指標 s8\.2 の「term: q3:opt:ある」: opt は複数選択の設問の選択肢に使うが.*「q3:choice:ある」と書く",
        ),
        (
            lambda x: x["controls"].append("q3:choice:　ある"),  # the same choice, spelt with a space
            r"指標 s8\.2 の response・term・controls（terms）に同じ選択肢を指すものが2回ある（q3:choice:1。",
        ),
        (
            lambda x: x["controls"].append("shoku"),
            r"指標 s8\.2 の「controls: shoku」はコードブック codebook_r7\.yaml（同梱） の属性のidではない（属性のidは domain、",
        ),
    ],
)
def test_unknown_codes_are_named(codebook, edit, message):
    raw = _raw()
    edit(_s82(raw))
    parse_matrix(raw, name="m.yaml")  # without a codebook the keys are only read ...
    with pytest.raises(MatrixError, match=f"^政策マトリクス m\\.yaml {WHERE}: {message}"):
        parse_matrix(raw, name="m.yaml", codebook=codebook)  # ... with one they are checked


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda a: a.update(respons="q2:top2"), r"「respons」は書けない（書けるのは response と terms）"),
        (lambda a: a.update(terms=[]), r"関連要因のモデル の「terms」が空"),
        (lambda a: a.update(terms=["age", "age"]), r"関連要因のモデル の「terms」に同じものが2回ある（age）"),
        (lambda a: a.update(response="q2"), r"関連要因のモデル の「response: q2」は指標のキーとして読めない"),
    ],
)
def test_the_model_entry_is_checked(edit, message):
    raw = _raw()
    edit(raw["associations"])
    with pytest.raises(MatrixError, match=f"^政策マトリクス m\\.yaml associations: {message}"):
        parse_matrix(raw, name="m.yaml")


def test_the_model_entry_is_checked_against_the_codebook(codebook, tmp_path):
    raw = _raw()
    raw["associations"]["terms"].append("q6:choice:9")
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(MatrixError) as info:
        load_matrix(path, codebook=codebook)
    message = str(info.value)  # one line: file, line, place, the value, the question's labels and what to do
    assert message.startswith(
        "政策マトリクス model.yaml: 選択肢の参照1件がコードブック codebook_r7.yaml（同梱） の選択肢にない: "
        "9行目 associations.terms[5]: 「q6:choice:9」の「9」は設問2-(6)「庁内で官民連携を相談しやすい雰囲気・仕組みが"
        "あると感じるか」（id: q6）の選択肢にない（選択肢は 「感じる」「どちらかといえば感じる」"
    )
    assert "番号ではなく選択肢のラベルを書く" in message and "\n" not in message


# ------------------------------------------------------------------------------------- verdicts


def test_the_baseline_supports_the_built_in_lever(evidence, analysis, baseline, codebook):
    row = evidence.loc["s8.2"]
    # The same model, fitted independently: 2-(2) 肯定的回答 on 職域, 職位, 年代, 2-(3) ある, 2-(6) 肯定的回答,
    # on the design without the FPC (the association models' weights, Analysis.process).
    model = association_model(baseline.responses, replace(analysis.design, fpc=False), codebook)
    q6 = model.table.set_index("name").loc["q6:top2"]
    assert [row["value"], row["ci_low"], row["ci_high"]] == pytest.approx(
        [q6["odds_ratio"], np.exp(q6["ci_low"]), np.exp(q6["ci_high"])], rel=1e-9
    )
    assert row["n"] == model.n and row["statistic"] == "adjusted" and row["rule"] == "OR > 1"
    assert row["ci_low"] < np.exp(0.9) < row["ci_high"]  # the generator's odds ratio is inside the interval
    assert (row["verdict"], row["reason"]) == ("支持", "オッズ比の95%CIが規準の側")
    assert analysis.association_for("q2:top2", DEFAULT_TERMS) is analysis.association  # fitted once


def test_the_verdict_follows_the_rule_and_the_data(matrix, analysis, frame, codebook):
    raw = _raw()
    _s82(raw)["rule"] = "OR < 1"
    assert evaluate(parse_matrix(raw, name="m"), analysis).set_index("indicator_id").loc["s8.2", "verdict"] == "不支持"
    # Without the built-in dependence (synthetic_r7.yaml) this seed's odds ratio straddles 1: 判定不能.
    spec = copy.deepcopy(load_spec())
    spec["dependence"] = {}
    flat = analyse(generate(codebook, spec).responses, frame, codebook)
    row = evaluate(matrix, flat).set_index("indicator_id").loc["s8.2"]
    assert row["ci_low"] < 1 < row["ci_high"] and (row["verdict"], row["reason"]) == (
        "判定不能",
        "オッズ比の95%CIが閾値をまたぐ",
    )


class _Fixed:
    """Measures that return a given odds ratio, or raise as a model that cannot be fitted does."""

    def __init__(self, result: AdjustedAssociation | Exception) -> None:
        self.result = result

    def adjusted(self, ind):
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.mark.parametrize(
    "low, high, n, verdict, reason",
    [
        (1.2, 2.0, 500, "支持", "オッズ比の95%CIが規準の側"),
        (0.5, 0.9, 500, "不支持", "オッズ比の95%CIが規準の反対側"),
        (0.8, 1.3, 500, "判定不能", "オッズ比の95%CIが閾値をまたぐ"),
        (1.0, 2.0, 500, "判定不能", "オッズ比の95%CIが閾値をまたぐ"),  # touching 1 is not above it
        (1.2, 2.0, 29, "判定不能", "基数30未満"),
        (np.nan, np.nan, 500, "判定不能", "信頼区間を推定できない"),
    ],
)
def test_verdict_on_the_interval_against_one(matrix, low, high, n, verdict, reason):
    ind = matrix.situation("s8").indicators[1]
    odds = AdjustedAssociation("q6:top2", 1.5, low, high, 0.01, n, ind.controls)
    got = ev._judge_adjusted(ind, _Fixed(odds), 30)
    assert (got["verdict"], got["reason"], got["n"]) == (verdict, reason, n)


def test_a_model_that_cannot_be_fitted_is_undecided_with_the_reason(matrix, frame, codebook):
    spec = copy.deepcopy(load_spec())
    spec["questions"]["q3"] = {"probs": [0.0, 1.0]}  # nobody has handled a proposal: 2-(3) ある is all 0
    nobody = analyse(generate(codebook, spec).responses, frame, codebook)
    row = evaluate(matrix, nobody).set_index("indicator_id").loc["s8.2"]
    assert (row["verdict"], row["n"]) == ("判定不能", 0) and np.isnan(row["value"])
    assert row["reason"] == "回帰モデルを推定できない：説明変数「q3:choice:1」がすべて0。この項を除く"


# ------------------------------------------------------------------------------------- text


def test_describe_and_format_evidence(matrix, codebook, evidence):
    ind = matrix.situation("s8").indicators[1]
    assert describe(ind, codebook) == (
        "2-(2) 官民連携に対する意欲の有無：「2-(6) 肯定的回答」と「2-(2) 肯定的回答」の関連"
        "（職域・職位・年代・2-(3) あるを調整したオッズ比、ロジスティック回帰）［間接指標］"
    )
    bare = replace(ind, controls=(), fit="direct")
    assert describe(bare, codebook).endswith("の関連（調整なしのオッズ比、ロジスティック回帰）")
    row = evidence.loc["s8.2"]
    r = lambda x: f"{round_half_up(x, 2):.2f}"  # noqa: E731 — half up, two decimals
    text = format_evidence(evidence.reset_index(), synthetic=True)
    assert f"オッズ比 {r(row['value'])}（95%CI {r(row['ci_low'])}–{r(row['ci_high'])}、n={int(row['n']):,}）" in text
    assert "規準 OR > 1" in text and "調整した関連の規準はロジスティック回帰のオッズ比の95%信頼区間と1の比較" in text
    shown = evidence_display(evidence.reset_index()).set_index("現状ID").loc["s8"].iloc[1]
    assert (shown["値"], shown["単位"], shown["95%CI下限"]) == (
        round_half_up(row["value"], 2),
        "オッズ比",
        round_half_up(row["ci_low"], 2),
    )


# ------------------------------------------------------------------------------------- the KPI table's lever


def test_the_kpi_table_names_the_lever(matrix, codebook, evidence):
    kpi = kpi_table(matrix, evidence.reset_index(), codebook)
    row = evidence.loc["s8.2"]
    r = lambda x: f"{round_half_up(x, 2):.2f}"  # noqa: E731
    text = f"2-(6) 肯定的回答：オッズ比 {r(row['value'])}（{r(row['ci_low'])}–{r(row['ci_high'])}）"
    served = {x.id for x in matrix.initiative_list if set(x.goals) & set(matrix.situation("s8").goals)}
    assert served == {"i3", "i10", "i11"}  # the 取組 under s8's 具体像 g5 in the document
    assert set(kpi.loc[kpi["lever"] != "", "initiative_id"]) == served
    assert (kpi.loc[kpi["initiative_id"].isin(served), "lever"] == text).all()
    assert levers(matrix, evidence.reset_index(), codebook) == dict.fromkeys(sorted(served), text)
    shown = kpi_display(kpi)
    assert list(shown.columns[:3]) == ["取組ID", "具体的な取組", LEVER_HEADER]
    assert set(shown[LEVER_HEADER]) == {"", text}


def test_the_comparison_kpi_table_takes_the_levers(matrix, codebook, evidence):
    class _Empty:  # a comparison with no rows: only the lever column is looked at here
        def __init__(self, rows):
            self.rows = rows

    baseline = load_baseline(REPO / "data" / "processed" / "baseline_r7")
    changes = _Empty(pd.DataFrame(columns=["group", "indicator_base", "suppressed"]))
    given = levers(matrix, evidence.reset_index(), codebook)
    with_levers = kpi_progress(matrix, baseline, changes, levers=given)
    assert set(with_levers.loc[with_levers["lever"] != "", "initiative_id"]) == set(given)
    assert (kpi_progress(matrix, baseline, changes)["lever"] == "").all()
