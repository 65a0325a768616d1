"""The policy matrix of 2-(8): the data file against the document, the evidence, reverse view and KPIs.

Reference texts and counts come from the committee document itself (the seed text of
「今後の官民連携の取組について」, section 2-(8)), parsed here; reference numbers come from
:mod:`ppp_survey.survey.tables` on the same data, or from the synthetic generator's parameters
(``src/ppp_survey/data/synthetic_r7.yaml``), as cited beside each assertion.
"""

from __future__ import annotations

import copy
import doctest
import json
import re
from importlib import resources

import pytest
import yaml

from conftest import committee_document_text
from ppp_survey.analysis import analyse
from ppp_survey.outputs.evidence_text import format_evidence
from ppp_survey.policy import evidence as ev
from ppp_survey.policy import kpi
from ppp_survey.policy.assess import assess
from ppp_survey.policy.evidence import EVIDENCE_COLUMNS, evaluate
from ppp_survey.policy.kpi import KPI_COLUMNS, REVERSE_COLUMNS, kpi_table, reverse_view
from ppp_survey.spec import matrix as mx
from ppp_survey.spec import matrix_file as mxf
from ppp_survey.spec.matrix import MatrixError
from ppp_survey.spec.matrix_file import load_matrix, parse_matrix
from ppp_survey.survey.tables import crosstab, likert_summary, tally
from ppp_survey.synth.generator import generate, load_spec
from ppp_survey.text import round_half_up

# The wording check reads the committee document's section 2 (conftest.committee_document_text: its
# text, kept in tests/data/).
REPOST = "（再掲）"

# Read off the document's 2-(8) table (令和7年11月): per 具体像 in printed order, the number of 取組
# listed under it and how many of those carry （再掲）.
DOCUMENT_LISTINGS = [(2, 0), (3, 1), (4, 0), (1, 0), (3, 1), (4, 3), (2, 2), (2, 2), (1, 0), (2, 0)]


# ------------------------------------------------------------------------------------- the document


def _section_2_8() -> tuple[list[tuple[str, str]], list[tuple[str, list[str]]]]:
    """(区分, 現状) rows and (具体像, [取組 as printed]) rows of the document's 2-(8)."""
    text = committee_document_text()
    body = text.split("（８）官民連携に対する職員意識等の現状と具体的な取組イメージ", 1)[1].split(
        "3 官民連携指針の策定方針", 1
    )[0]
    lines = [ln for ln in body.splitlines() if "\t" in ln]
    assert lines[0] == "区分\t官民連携に対する職員意識等の現状"
    split = lines.index("本市がめざす官民連携の具体像\t（参考）具体的な取組")
    situations, category = [], None
    for ln in lines[1:split]:
        first, statement = ln.split("\t")
        category = first or category  # a blank first cell continues the 区分 above
        situations.append((category, statement))
    goals = []
    for ln in lines[split + 1 :]:
        goal, cell = ln.split("\t")
        # Bullets are '・' at the start or after a space; '・' inside a name (公平性・透明性) is not one.
        goals.append((goal, [x.strip() for x in re.split(r"(?:^|\s)・", cell.strip()) if x.strip()]))
    return situations, goals


@pytest.fixture(scope="module")
def matrix(codebook):
    return load_matrix(codebook=codebook)


def test_matrix_structure(matrix):
    """Counts, links and 再掲 of the packaged matrix equal the document's (numbers read off 2-(8))."""
    # The document: 4 区分, 14 現状, 10 具体像, 24 取組 listings of which 9 are marked 再掲 → 15 distinct 取組.
    assert (len(matrix.categories), len(matrix.situations()), len(matrix.goals()), len(matrix.initiatives())) == (
        4,
        14,
        10,
        15,
    )
    links = matrix.links()
    edges = links[links["kind"] == "具体像→取組"]
    assert len(edges) == 24 and edges["repost"].sum() == 9
    per_goal = [
        (int((edges["from_id"] == g).sum()), int(edges.loc[edges["from_id"] == g, "repost"].sum()))
        for g in matrix.goals()["goal_id"]
    ]
    assert per_goal == DOCUMENT_LISTINGS
    # A 再掲 always points back to a 具体像 printed earlier (the 取組's first goal): a 取組's first listing
    # is never marked 再掲 and every later one is.
    for x in matrix.initiative_list:
        order = [int(g[1:]) for g in x.goals]
        assert order == sorted(order), x.id
        mine = (
            edges[edges["to_id"] == x.id].assign(order=lambda e: e["from_id"].str[1:].astype(int)).sort_values("order")
        )
        assert mine["repost"].tolist() == [False] + [True] * (len(mine) - 1), x.id
    assert len(matrix.initiatives()) == 24 - 9  # each 取組 once: listings less 再掲


def test_wording_is_the_documents(matrix):
    """Every 区分, 現状, 具体像 and 取組 is worded as in the committee document, and linked as it lists them."""
    situations, goals = _section_2_8()
    assert [(len(items), sum(x.endswith(REPOST) for x in items)) for _, items in goals] == DOCUMENT_LISTINGS
    table = matrix.situations()
    assert list(zip(table["区分"], table["現状"])) == situations
    assert list(matrix.goals()["具体像"]) == [g for g, _ in goals]
    first_seen = list(dict.fromkeys(x for _, items in goals for x in items if not x.endswith(REPOST)))
    assert list(matrix.initiatives()["取組"]) == first_seen  # each 取組 once, in order of first appearance
    links = matrix.links()
    edges = links[links["kind"] == "具体像→取組"]
    texts = dict(zip(matrix.initiatives()["取組"], matrix.initiatives()["initiative_id"]))
    for (goal_text, items), goal_id in zip(goals, matrix.goals()["goal_id"]):
        mine = edges[edges["from_id"] == goal_id]
        # Every listing under this 具体像 is one edge to one existing 取組 (再掲 is a link to it, not a copy).
        assert sorted(mine["to_id"]) == sorted(texts[x.removesuffix(REPOST)] for x in items), goal_text
        repost = dict(zip(mine["to_id"], mine["repost"]))
        for x in items:
            assert repost[texts[x.removesuffix(REPOST)]] == x.endswith(REPOST), x


def test_situation_goal_mapping(matrix):
    links = matrix.links()
    edges = links[links["kind"] == "現状→具体像"]
    goals_of = edges.groupby("from_id")["to_id"].apply(list).to_dict()
    answered = edges.groupby("to_id")["from_id"].apply(sorted).to_dict()
    # From the brief, read off the layout: 具体像1 answers 現状1 and 2; 具体像3 the two 体制 resource/support 現状.
    assert answered["g1"] == ["s1", "s2"]
    assert answered["g3"] == ["s4", "s5"]
    assert set(goals_of) == set(matrix.situations()["situation_id"])  # every 現状 leads somewhere
    assert set(answered) == set(matrix.goals()["goal_id"])  # every 具体像 answers a 現状
    interpretations = edges.loc[edges["basis"] == "interpretation", "from_id"].tolist()
    assert interpretations == ["s8"]  # the one link the wording does not settle, said so in the file
    assert "解釈" in matrix.situation("s8").note


def test_every_situation_has_an_indicator_and_rule(matrix):
    spec = matrix.indicators()
    assert set(spec["situation_id"]) == set(matrix.situations()["situation_id"])
    assert spec["rule"].str.len().gt(0).all()


def test_doctests():
    assert doctest.testmod(mx).failed == 0
    assert doctest.testmod(mxf).failed == 0
    assert doctest.testmod(ev).failed == 0
    assert doctest.testmod(kpi).failed == 0


# ------------------------------------------------------------------------------------- broken files


def _raw() -> dict:
    return yaml.safe_load(
        (resources.files("ppp_survey") / "data" / "policy_matrix_r7.yaml").read_text(encoding="utf-8")
    )


def test_bad_files_name_the_place(tmp_path, codebook):
    raw = _raw()
    raw["categories"][0]["situations"][0]["indicators"][0]["question"] = "q99"
    path = tmp_path / "bad_question.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    load_matrix(path)  # without a codebook the references are not checked ...
    with pytest.raises(
        MatrixError,
        match=r"^政策マトリクス bad_question\.yaml 19行目 categories\[0\]\.situations\[0\]\.indicators\[0\]: "
        r"「question: q99」はコードブック codebook_r7\.yaml（同梱） にない",
    ):
        load_matrix(path, codebook=codebook)  # ... with one they are

    raw = _raw()
    raw["initiatives"][1]["goals"].append("g99")
    path = tmp_path / "bad_goal.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(
        MatrixError,
        match=r"^政策マトリクス bad_goal\.yaml \d+行目 initiatives\[1\]\.goals\[2\]: 具体像「g99」はこのファイルにない",
    ):
        load_matrix(path)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda r: r["categories"][2]["situations"][1]["indicators"][0].update(question="q3"),
            r"categories\[2\]\.situations\[1\]\.indicators\[0\]: 「statistic: top2」は尺度（type: likert）の設問にだけ"
            r".*（id: q3）は単一回答（type: sa）",
        ),
        (
            lambda r: r["categories"][2]["situations"][0]["indicators"][1].update(by="shoku"),
            r"categories\[2\]\.situations\[0\]\.indicators\[1\]: 属性「shoku」はコードブック codebook_r7\.yaml（同梱） にない",
        ),
        (
            lambda r: r["option_links"].append(
                {**r["option_links"][0], "choice": "基本的なルールやプロセスが 体系化されていない"}
            ),
            r"option_links\[21\]: 「question: q5」の「choice: 基本的なルールやプロセスが 体系化されていない」が2回ある"
            r"（もう1つは option_links\[0\]）",  # compared by the loader's matching key: the space does not matter
        ),
    ],
)
def test_codebook_references_are_checked(codebook, mutate, message):
    raw = _raw()
    mutate(raw)
    with pytest.raises(MatrixError, match=f"^政策マトリクス m\\.yaml {message}"):
        parse_matrix(raw, name="m.yaml", codebook=codebook)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda r: r["initiatives"].append({"id": "i16", "text": "官民連携指針の職員への周知", "goals": ["g5"]}),
            r"initiatives\[15\]: 取組「官民連携指針の職員への周知」が2回ある（もう1つは id: i3）",
        ),
        (
            lambda r: r["categories"][0]["situations"][0].update(goals=["g0"]),
            r"categories\[0\]\.situations\[0\]\.goals\[0\]: 具体像「g0」はこのファイルにない",
        ),
        (
            lambda r: r["categories"][0]["situations"][2].update(indicators=[]),
            r"categories\[0\]\.situations\[2\]: 現状「id: s3」の indicators が空",
        ),
        (
            lambda r: r["categories"][0]["situations"][0]["indicators"][0].update(rule="30%以上"),
            r"categories\[0\]\.situations\[0\]\.indicators\[0\]: 「rule: 30%以上」は判定の式として読めない",
        ),
        (
            lambda r: r["categories"][0]["situations"][0]["indicators"][0].update(rule=">= 0.3"),
            r"categories\[0\]\.situations\[0\]\.indicators\[0\]: 「rule: >= 0\.3」: 「statistic: share」の基準は割合なので %",
        ),
        (
            lambda r: r["categories"][0]["situations"][0].update(basis="guess"),
            r"categories\[0\]\.situations\[0\]: 「basis: guess」は使えない",
        ),
        (
            lambda r: r["goals"].append({"id": "g11", "text": "x"}),
            r"goals\[10\]: 具体像「id: g11」に対応する現状がない",
        ),
        (
            lambda r: r["goals"][0].update(id="s1"),
            r"goals\[0\]: 「id: s1」は categories\[0\]\.situations\[0\] でも使われている",
        ),
        (lambda r: r.update(schema_version=2), r"schema_version: 「2」はこのパッケージが読める版ではない"),
    ],
)
def test_schema_errors_name_the_place(mutate, message):
    raw = _raw()
    mutate(raw)
    with pytest.raises(MatrixError, match=f"^政策マトリクス m\\.yaml {message}"):
        parse_matrix(raw, name="m.yaml")


def test_missing_or_invalid_file(tmp_path):
    with pytest.raises(MatrixError, match=r"^政策マトリクス none\.yaml: ファイルが見つからない"):
        load_matrix(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: [\n", encoding="utf-8")
    with pytest.raises(MatrixError, match=r"^政策マトリクス bad\.yaml \d+行目: YAMLとして読めない"):
        load_matrix(bad)


# ------------------------------------------------------------------------------------- evidence on the baseline


@pytest.fixture(scope="module")
def analysis(baseline, frame, codebook):
    return analyse(baseline.responses, frame, codebook)


@pytest.fixture(scope="module")
def survey(analysis):
    """The respondents and design the analysis used: to recompute its numbers independently."""
    return analysis.responses, analysis.design


@pytest.fixture(scope="module")
def evidence(matrix, analysis):
    return evaluate(matrix, analysis)


def _expected(rule: str, lo: float, hi: float, n: int) -> str:
    """The verdict, recomputed from the printed numbers and rule alone."""
    if n < 30:
        return "判定不能"
    op, t = re.match(r"(?:OR )?([<>≦≧])\s*([\d.]+)", rule).groups()  # "OR > 1": an adjusted odds ratio
    t = float(t) / 100 if rule.endswith("%") else float(t)
    side, other = {"<": (hi < t, lo >= t), "≦": (hi <= t, lo > t), ">": (lo > t, hi <= t), "≧": (lo >= t, hi < t)}[op]
    return "支持" if side else "不支持" if other else "判定不能"


def test_evidence_table_shape(evidence, matrix):
    assert tuple(evidence.columns) == EVIDENCE_COLUMNS
    assert list(dict.fromkeys(evidence["situation_id"])) == list(matrix.situations()["situation_id"])
    assert evidence["verdict"].isin(["支持", "不支持", "判定不能"]).all()
    assert evidence["indicator"].str.len().gt(0).all() and evidence["n"].gt(0).all()


def test_verdicts_follow_from_the_numbers(evidence):
    for r in evidence.itertuples():
        if r.statistic == "association":
            assert r.verdict == ("支持" if r.value < 0.05 else "不支持"), r.indicator_id
        else:
            assert r.ci_low <= r.value <= r.ci_high
            assert r.verdict == _expected(r.rule, r.ci_low, r.ci_high, r.n), r.indicator_id


def test_values_are_the_tables(evidence, survey, codebook):
    responses, design = survey
    row = evidence.set_index("indicator_id")
    # q6 top-2 box: likert_summary's 肯定的回答 (the document's 2-(6) chart).
    q6 = likert_summary(responses, design, codebook.item("q6")).set_index("measure").loc["top2"]
    assert row.loc["s8.1", ["value", "ci_low", "ci_high", "n"]].tolist() == pytest.approx(
        [q6["estimate"], q6["ci_low"], q6["ci_high"], q6["base_n"]]
    )
    # q3 ない and q5 option 1: tally's design-based estimate of that choice.
    q3 = tally(responses, design, codebook.item("q3")).set_index("code").loc[2]
    assert row.loc["s9.1", ["value", "ci_low", "ci_high", "n"]].tolist() == pytest.approx(
        [q3["estimate"], q3["ci_low"], q3["ci_high"], q3["base_n"]]
    )
    q5 = tally(responses, design, codebook.item("q5")).set_index("code").loc[1]
    assert row.loc["s1.1", "value"] == pytest.approx(q5["estimate"])
    # q2 by 職域: the Rao–Scott p-value of crosstab(...).tests.
    test = crosstab(responses, design, codebook.item("q2"), by="domain").tests.iloc[0]
    assert row.loc["s7.2", "value"] == pytest.approx(test["p_value"]) and row.loc["s7.2", "n"] == test["n"]


def test_baseline_verdicts_of_the_designed_findings(evidence):
    # The synthetic baseline was generated to show 2-(8)'s findings (synthetic_r7.yaml, header comment):
    # q1 important in every 職域, q2 differing by 職域, q3 ない > 50%, q6 top-2 < 50%.
    verdict = evidence.set_index("indicator_id")["verdict"]
    assert verdict[["s7.1", "s7.2", "s8.1", "s9.1"]].tolist() == ["支持"] * 4
    # s8.2: willingness goes with ease of consulting, adjusted (synthetic_r7.yaml dependence: OR e^0.9 = 2.46).
    assert verdict["s8.2"] == "支持"
    # 技能労務 (24 respondents in synthetic_r7.yaml) is below the base of 30: not judged, and said so.
    assert "技能労務" in evidence.set_index("indicator_id").loc["s7.1", "reason"]


def test_format_evidence(evidence):
    text = format_evidence(evidence, synthetic=True)
    assert "架空データ" in text.splitlines()[0]
    for sid, statement in zip(evidence["situation_id"], evidence["現状"]):
        assert f"[{sid}] {statement}" in text
    r = evidence.set_index("indicator_id").loc["s8.1"]
    pct = lambda x: f"{round_half_up(100 * x):.1f}"  # noqa: E731 — half up, as the report prints
    assert f"{pct(r['value'])}%（95%CI {pct(r['ci_low'])}–{pct(r['ci_high'])}%、n={int(r['n']):,}）" in text
    assert "規準 < 50%" in text


# ------------------------------------------------------------------------------------- rules flip with the data


@pytest.fixture(scope="module")
def flipped(matrix, frame, codebook):
    """Evaluate the matrix on a synthetic wave whose parameters were changed by ``edit(spec)``.

    The wave is a function of the edited spec and ``n`` (the spec's seed): its analysis is made once
    per (spec, n) in this module and every matrix evaluated on it, as the report evaluates its matrix
    on the run's one analysis."""
    analyses: dict[tuple[str, int | None], object] = {}

    def run(edit=None, *, n=None, m=matrix):
        spec = copy.deepcopy(load_spec())
        if edit:
            edit(spec)
        key = (json.dumps(spec, sort_keys=True, default=str), n)
        if key not in analyses:
            analyses[key] = analyse(generate(codebook, spec, n=n).responses, frame, codebook)
        return evaluate(m, analyses[key]).set_index("indicator_id")

    return run


def _set(question: str, probs: list[float]):
    def edit(spec):
        spec["questions"][question] = {"probs": probs}  # drops by_stratum: the same answers in every 職域

    return edit


def test_share_rule_flips(flipped, matrix):
    # s9.1: q3 ない > 50%. Spec: ない 0.76 (synthetic_r7.yaml) → 支持; ない 0.20 → 不支持.
    assert flipped(n=600).loc["s9.1", "verdict"] == "支持"
    low = flipped(_set("q3", [0.80, 0.20]), n=600).loc["s9.1"]
    assert (low["verdict"], low["ci_high"] < 0.5) == ("不支持", True)
    # The other direction: the same indicator with the rule '< 50%' gives the mirror verdicts.
    raw = _raw()
    raw["categories"][2]["situations"][2]["indicators"][0]["rule"] = "< 50%"
    mirrored = parse_matrix(raw, name="mirrored")
    assert flipped(n=600, m=mirrored).loc["s9.1", "verdict"] == "不支持"
    assert flipped(_set("q3", [0.80, 0.20]), n=600, m=mirrored).loc["s9.1", "verdict"] == "支持"


def test_multi_select_share_flips(flipped):
    # s4.1: q5 option 4 (財政資源・人的資源) ≥ 30%. Spec 0.50 → 支持; 0.10 → 不支持.
    def rare(spec):
        spec["questions"]["q5"]["probs"][3] = 0.10

    assert flipped(n=600).loc["s4.1", "verdict"] == "支持"
    assert flipped(rare, n=600).loc["s4.1", "verdict"] == "不支持"


def test_top2_rule_flips(flipped):
    # s8.1: q6 top-2 < 50%. Spec 0.06 + 0.22 (synthetic_r7.yaml) → 支持; 0.40 + 0.35 → 不支持.
    assert flipped(n=600).loc["s8.1", "verdict"] == "支持"
    assert flipped(_set("q6", [0.40, 0.35, 0.10, 0.05, 0.10]), n=600).loc["s8.1", "verdict"] == "不支持"


def test_association_rule_flips(flipped):
    # s7.2: q2 differs by 職域 at p < 0.05. Spec: by_stratum differences → 支持; the same probabilities
    # in every 職域 → no association in the generating process (this seed gives p ≥ 0.05) → 不支持.
    assert flipped().loc["s7.2", "verdict"] == "支持"
    null = flipped(_set("q2", [0.20, 0.45, 0.25, 0.10])).loc["s7.2"]
    assert (null["verdict"], null["value"] >= 0.05) == ("不支持", True)


def test_every_group_rule_flips(flipped):
    # s7.1: q1 top-2 > 50% in every 職域 (base ≥ 30). One 職域 with little importance → 不支持, named.
    def fire(spec):
        spec["questions"]["q1"]["by_stratum"]["消防"] = [0.05, 0.10, 0.40, 0.40, 0.05]

    low = flipped(fire).loc["s7.1"]
    assert (low["verdict"], low["group"]) == ("不支持", "消防")


def test_straddling_interval_is_undecided(flipped, matrix, evidence):
    # A threshold inside the interval (the baseline estimate itself) cannot be decided.
    raw = _raw()
    value = evidence.set_index("indicator_id").loc["s3.1", "value"]
    raw["categories"][0]["situations"][2]["indicators"][0]["rule"] = f">= {100 * value:.4f}%"
    row = flipped(m=parse_matrix(raw, name="straddle")).loc["s3.1"]
    assert row["ci_low"] < value < row["ci_high"] and row["verdict"] == "判定不能"


def test_too_few_answers_is_undecided(flipped):
    # 97% item nonresponse: of 600 respondents about 18 answer each question, below the base of 30.
    def blank(spec):
        spec["item_nonresponse"] = 0.97

    small = flipped(blank, n=600)
    assert (small["n"] < 30).all()
    assert (small["verdict"] == "判定不能").all()


# ------------------------------------------------------------------------------------- reverse view, KPIs


def test_reverse_view(matrix, analysis, survey, codebook):
    responses, design = survey
    view = reverse_view(matrix, analysis)
    assert tuple(view.columns) == REVERSE_COLUMNS
    # Top-3 of q5 and q7: the three highest design-based estimates of tally (その他/特にない not ranked).
    for fid, q in (("f1", "q5"), ("f2", "q7")):
        t = tally(responses, design, codebook.item(q))
        t = t[~t["label"].isin(["その他", "特にない"])].nlargest(3, "estimate")
        mine = view[view["finding_id"] == fid].drop_duplicates("rank")
        assert mine["code"].tolist() == t["code"].tolist()
        assert mine["value"].tolist() == pytest.approx(t["estimate"].tolist())
        for r in mine.itertuples():  # each option speaks to the 現状 its option_link names
            link = next(lk for lk in matrix.option_links if lk.question == q and lk.code == r.code)
            got = view[(view["finding_id"] == fid) & (view["code"] == r.code) & (view["link"] == "現状")]
            assert got["link_id"].tolist() == list(link.situations)
    # A 取組 reached "via 現状→具体像→取組" serves a 具体像 of that option's 現状 (the document's links).
    for r in view[view["via"] == "現状→具体像→取組"].itertuples():
        sits = view[(view["finding_id"] == r.finding_id) & (view["rank"] == r.rank) & (view["link"] == "現状")][
            "link_id"
        ]
        goals = {g for s in sits for g in matrix.situation(s).goals}
        assert goals & set(matrix.initiative(r.link_id).goals), (r.finding_id, r.rank, r.link_id)
    q2 = view[view["finding_id"] == "f3"]
    assert q2[q2["link"] == "現状"]["link_id"].tolist() == ["s7"]
    assert sorted(q2[q2["link"] == "取組"]["link_id"]) == sorted(["i3", "i10", "i11"])  # g5's 取組 in the document
    test = crosstab(responses, design, codebook.item("q2"), by="domain").tests.iloc[0]
    assert q2["p_value"].iloc[0] == pytest.approx(test["p_value"])


def test_kpi_table(matrix, codebook, evidence):
    kpi = kpi_table(matrix, evidence, codebook)
    assert tuple(kpi.columns) == KPI_COLUMNS
    assert list(dict.fromkeys(kpi["initiative_id"])) == list(matrix.initiatives()["initiative_id"])
    assert kpi["next_value"].isna().all()
    base = evidence.set_index("indicator_id")["value"]
    assert kpi["baseline"].tolist() == pytest.approx(base[kpi["indicator_id"]].tolist(), nan_ok=True)
    # 官民連携総合窓口における伴走支援 (i9) serves 具体像 g4, which answers 現状 s6: its two indicators.
    assert kpi.loc[kpi["initiative_id"] == "i9", "indicator_id"].tolist() == ["s6.1", "s6.2"]
    keys = kpi.loc[kpi["indicator_key"] != "", "indicator_key"]
    assert keys.str.fullmatch(r"q\d+:(top2|opt:\d+|choice:\d+)").all()  # the wave comparison's keys
    assert not kpi.duplicated(["initiative_id", "indicator_id"]).any()


def test_unlinked_option_is_ranked_and_said_unlinked(codebook, analysis, survey):
    """An option without an option_link (e.g. one a later codebook adds) is ranked, not refused,
    and the reverse view says it is not linked to the matrix."""
    raw = yaml.safe_load((resources.files("ppp_survey") / "data" / "policy_matrix_r7.yaml").read_text(encoding="utf-8"))
    q5 = codebook.item("q5")
    estimate = tally(survey[0], survey[1], q5).set_index("code")["estimate"]
    top = max(
        (lk["choice"] for lk in raw["option_links"] if lk["question"] == "q5"),
        key=lambda label: estimate[mx.choice_for_label(q5, label).code],
    )
    raw["option_links"] = [lk for lk in raw["option_links"] if (lk["question"], lk["choice"]) != ("q5", top)]
    m = parse_matrix(raw, codebook=codebook)
    view = reverse_view(m, analysis)
    row = view[(view["finding_id"] == "f1") & (view["rank"] == 1)]
    assert len(row) == 1 and row["label"].iloc[0] == top
    assert "対応づけなし" in row["link_text"].iloc[0]


def test_group_evidence_respects_the_anonymity_threshold(matrix, baseline, frame, codebook, evidence):
    """An in_every rule names a group with its value only if the group reaches the anonymity
    threshold: with min_group above the deciding group's size, that group is pooled and only the
    pool is judged and named."""
    row = evidence[evidence["indicator_id"] == "s7.1"].iloc[0]
    assert row["group"] not in ("", "全体") and row["n"] >= 30
    strict = analyse(baseline.responses, frame, codebook, min_group=int(row["n"]) + 1)
    pools = strict.pools.by_attribute["domain"]
    assert any(row["group"] in members for members in pools.values())
    policy = assess(matrix, strict)
    for text in [*policy.evidence["group"], *policy.evidence["reason"], *policy.reverse["label"].fillna("")]:
        for label in pools:
            text = text.replace(label, "")
        assert row["group"] not in text, text


def test_matrix_outputs(matrix, evidence, analysis, codebook, tmp_path):
    """The HTML page shows every 現状, every 取組 and each indicator's verdict; the sheets hold the tables."""
    from ppp_survey.outputs.matrix_page import write_matrix_html
    from ppp_survey.outputs.matrix_sheets import matrix_sheets

    path = write_matrix_html(tmp_path / "m.html", matrix, evidence, source_note="NOTE", synthetic=True)
    text = path.read_text(encoding="utf-8")
    for s in matrix.situation_list:
        assert s.text in text
    for x in matrix.initiative_list:
        assert x.text in text
    assert text.count('class="ev"') == len(evidence) and "架空データ" in text and "NOTE" in text
    assert text.count("（再掲）") == sum(len(x.goals) - 1 for x in matrix.initiative_list)
    kpi = kpi_table(matrix, evidence, codebook)
    sheets = matrix_sheets(matrix, evidence, kpi, reverse_view(matrix, analysis), source_note="NOTE")
    assert [s.name for s in sheets] == ["政策マトリクス", "具体像と取組", "KPI", "所見から現状・取組へ"]
    table = sheets[0].blocks[0].table
    assert len(table) == len(evidence) and table["判定"].tolist() == evidence["verdict"].tolist()
    first = evidence.iloc[0]
    assert table["値"].iloc[0] == round_half_up(100 * first["value"]) and table["単位"].iloc[0] == "%"
    # numbers are numbers in the workbook: each value column holds floats (or '<0.001' for a tiny p)
    for col in ("値", "95%CI下限", "95%CI上限"):
        assert all(isinstance(v, float) or v == "<0.001" for v in table[col]), col


def test_evidence_names_pools_not_small_groups(matrix, baseline, frame, codebook):
    """A 職域 of 3 respondents is pooled before anything is estimated (issue 15): the evidence,
    the reverse view's spread and the KPI table name only the pool."""
    responses = baseline.responses
    small = responses["domain"] == "教育・保育"
    keep = ~small | (small.cumsum() <= 3)
    a = analyse(responses[keep].reset_index(drop=True), frame, codebook)
    ((pool, members),) = a.pools.by_attribute["domain"].items()
    assert "教育・保育" in members
    policy = assess(matrix, a)
    texts = [*policy.evidence["group"], *policy.evidence["reason"], *policy.reverse["label"].fillna("")]
    texts += [*policy.kpi["group"].fillna("")]
    assert not [t for t in texts if "教育・保育" in t.replace(pool, "")]


def test_matrix_page_carries_its_font(matrix, evidence):
    """The page embeds a subset of IPAexGothic with every character it shows, so a browser
    without a Japanese font renders it (issue 17); the same page gives the same bytes."""
    import base64
    import html
    import io
    import re

    from fontTools.ttLib import TTFont

    from ppp_survey.outputs.matrix_page import matrix_html

    page = matrix_html(matrix, evidence, source_note="R7.7.18～31実施", synthetic=True)
    assert page == matrix_html(matrix, evidence, source_note="R7.7.18～31実施", synthetic=True)
    (encoded,) = re.findall(r"data:font/ttf;base64,([A-Za-z0-9+/=]+)", page)
    font = TTFont(io.BytesIO(base64.b64decode(encoded)))
    covered = set(font.getBestCmap())
    shown = html.unescape(re.sub(r"<[^>]+>", "", page.split("<body>")[1]))
    missing = {ch for ch in shown if ord(ch) > 127 and ord(ch) not in covered}
    assert not missing, "".join(sorted(missing))
    assert 'font-family: "PPP IPAexGothic"' in page and "q5 " not in shown  # question numbers, not ids
