"""init-codebook's draft (issue 27 item 3): scale wordings recognised with scores and polarity,
choices in the scale's order or as first seen (never by frequency), 職域 in the staff frame's
order, labels in the canonical spelling with the export's as aliases; TODO only where a judgement
is needed."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import BASELINE, FRAME
from ppp_survey import load_codebook, load_responses
from ppp_survey.ingest.check import check_export
from ppp_survey.ingest.draft import canonical
from ppp_survey.ingest.scales import read_scale, scale_point
from ppp_survey.report.cli import main
from ppp_survey.spec.codebook import Polarity

SCALED = ("2-(1)", "2-(2)", "2-(3)", "2-(6)")


def fill(draft: dict, **survey) -> dict:
    """The analyst's part: the survey's name (and the staff count when no frame gave it)."""
    draft["survey"].update({"id": "r7", "title": "官民連携に関する職員意識調査", **survey})
    return draft


def draft_of(data, tmp_path, *options: str) -> tuple[str, dict]:
    out = tmp_path / "draft.yaml"
    assert main(["init-codebook", "--data", str(data), "--out", str(out), *options]) == 0
    text = out.read_text(encoding="utf-8")
    return text, yaml.safe_load(text)


def loaded(draft: dict, tmp_path, **survey):
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(fill(draft, **survey), allow_unicode=True), encoding="utf-8")
    return load_codebook(path)


def test_the_bundled_export_drafts_the_packaged_scales_and_frame_order(tmp_path, capsys):
    text, draft = draft_of(BASELINE, tmp_path, "--frame", str(FRAME))
    assert "TODO 2か所" in capsys.readouterr().out  # the survey's id and title: nothing else to judge
    assert text.count("# TODO:") == 2 and draft["survey"]["population"] == 3138  # the frame's total
    codebook, packaged = loaded(draft, tmp_path), load_codebook()
    for number in SCALED:
        want = packaged.question(number)
        got = next(q for q in codebook.questions if q.text == want.text)
        assert got.type == want.type, number
        assert got.polarity == want.polarity, number
        assert [(c.label, c.score) for c in got.choices] == [(c.label, c.score) for c in want.choices], number
    frame_order = pd.read_csv(FRAME, comment="#")["職域"].tolist()
    assert codebook.stratum.labels == frame_order == packaged.stratum.labels
    assert [a.labels for a in codebook.attributes[1:]] == [a.labels for a in packaged.attributes[1:]]  # 職位, 年代
    for got, want in zip(codebook.questions, packaged.questions):  # ma: in the order Forms writes them in a cell
        assert (got.type, got.polarity, got.other_text) == (want.type, want.polarity, want.other_text)
        assert [(c.label, c.other, c.exclusive) for c in got.choices] == [
            (c.label, c.other, c.exclusive) for c in want.choices
        ]
    assert check_export(BASELINE, codebook).ok
    assert load_responses(BASELINE, codebook).report.n_accepted == 1340


def test_half_width_spelling_is_written_canonical_with_the_export_spelling_as_alias(tmp_path):
    table = pd.read_excel(BASELINE, dtype=object, engine="calamine")
    packaged = load_codebook()
    q7, domain = packaged.question("2-(7)").text, packaged.stratum.text
    table[q7] = table[q7].str.replace("（指針）", "(指針)")
    table.loc[::2, domain] = table.loc[::2, domain].str.replace("企業（上下水道）", "企業(上下水道)")
    data = tmp_path / "export.csv"
    table.to_csv(data, index=False)
    _, draft = draft_of(data, tmp_path, "--frame", str(FRAME))
    support = next(q for q in draft["questions"] if q["text"] == q7)
    rule = next(c for c in support["choices"] if "指針" in c["label"])
    assert rule["label"] == "官民連携に関する基本的なルール（指針）の策定・周知"
    assert rule["aliases"] == ["官民連携に関する基本的なルール(指針)の策定・周知"]
    water = next(c for c in draft["attributes"][0]["choices"] if "上下水道" in c["label"])
    assert water == {"code": 7, "label": "企業（上下水道）", "aliases": ["企業(上下水道)"]}
    codebook = loaded(draft, tmp_path)
    assert check_export(data, codebook).ok
    result = load_responses(data, codebook)
    assert (
        result.responses["domain"].value_counts()["企業（上下水道）"] == (table[domain].str.contains("上下水道")).sum()
    )
    assert "官民連携に関する基本的なルール（指針）の策定・周知" in codebook.item(support["id"]).labels


SATISFIED = "現在の仕事に満足していますか。"
AGREE = "職場で意見を言いやすいと思いますか。"
BURDEN = "官民連携の業務に負担を感じますか。"
TROUBLES = "困っていること（複数選択可）"


@pytest.fixture
def scales_export(tmp_path):
    """A small export: a 5-point 満足 scale with わからない, a 4-point そう思う scale, a 負担 scale
    (favourable at the low end), a multi-select, an unordered single answer and a long free text;
    the most frequent answer of each comes first in no scale."""
    rows = [
        ("技術", "やや不満", "あまりそう思わない", "やや感じる", "その他;B", "北", "x" * 150),
        ("一般行政", "不満", "そう思う", "感じない", "特にない", "南", ""),
        ("技術", "わからない", "まったくそう思わない", "あまり感じない", "A;B", "東", ""),
        ("一般行政", "どちらともいえない", "とてもそう思う", "感じる", "A", "南", ""),
        ("技術", "満足", "とてもそう思う", "感じる", "B", "南", ""),
        ("技術", "やや満足", "あまりそう思わない", "感じない", "A", "北", ""),
        ("技術", "やや不満", "そう思う", "感じる", "A", "北", "y" * 150),
    ]
    table = pd.DataFrame(rows, columns=["職域", SATISFIED, AGREE, BURDEN, TROUBLES, "地区", "ご意見"])
    table.insert(0, "ID", range(1, len(rows) + 1))
    path = tmp_path / "scales.csv"
    table.to_csv(path, index=False)
    return path


def test_scale_wordings_orders_and_free_text(scales_export, tmp_path):
    text, draft = draft_of(scales_export, tmp_path)
    questions = {q["text"]: q for q in draft["questions"]}
    satisfied = questions[SATISFIED]
    assert satisfied["type"] == "likert" and satisfied["polarity"] == "higher_is_better"
    assert [(c["label"], c.get("score")) for c in satisfied["choices"]] == [
        ("満足", 5),
        ("やや満足", 4),
        ("どちらともいえない", 3),
        ("やや不満", 2),
        ("不満", 1),
        ("わからない", None),
    ]
    agree = questions[AGREE]
    assert agree["type"] == "likert"
    assert [(c["label"], c["score"]) for c in agree["choices"]] == [
        ("とてもそう思う", 4),
        ("そう思う", 3),
        ("あまりそう思わない", 2),
        ("まったくそう思わない", 1),
    ]
    assert "# TODO" not in text.split(AGREE)[1].split("choices")[0]  # a complete, symmetric scale
    burden = questions[BURDEN]
    assert burden["polarity"] == "higher_is_worse"  # 負担: the 感じる end is the unfavourable one
    assert [c["label"] for c in burden["choices"]] == ["感じる", "やや感じる", "あまり感じない", "感じない"]
    troubles = questions[TROUBLES]
    assert troubles["type"] == "ma" and troubles["polarity"] == "higher_is_worse"
    assert [c["label"] for c in troubles["choices"]] == ["A", "B", "その他", "特にない"]  # as the cells write them
    assert questions["地区"]["type"] == "sa"
    assert [c["label"] for c in questions["地区"]["choices"]] == ["北", "南", "東"]  # first seen, not 南 (3) first
    assert questions["ご意見"]["type"] == "text"  # 150-character answers are no choices
    assert [c["label"] for c in draft["attributes"][0]["choices"]] == ["技術", "一般行政"]
    codebook = loaded(draft, tmp_path, population=100, fielded_from="2025-07-01", fielded_to="2025-07-31")
    assert check_export(scales_export, codebook).ok


def test_a_one_sided_scale_is_marked_todo(tmp_path):
    """Nobody chose 「どちらかといえば重要ではない」: the scale lacks a point, a judgement for the analyst."""
    table = pd.DataFrame(
        {
            "ID": [1, 2, 3, 4],
            "職域": ["技術", "消防", "技術", "消防"],
            "重要ですか": ["重要である", "どちらかといえば重要である", "重要ではない", "重要である"],
        }
    )
    path = tmp_path / "x.csv"
    table.to_csv(path, index=False)
    text, draft = draft_of(path, tmp_path)
    assert [q["type"] for q in draft["questions"]] == ["likert"]
    assert "# TODO: 肯定と否定の段階が揃わない" in text


@pytest.mark.parametrize(
    ("label", "level", "form"),
    [
        ("重要である", 2, "重要である"),
        ("どちらかといえば重要ではない", -1, "重要である"),
        ("意欲がない", -2, "意欲がある"),
        ("ややそう思う", 1, "そう思う"),
        ("まったくそう思わない", -3, "そう思う"),
        ("あまり感じない", -1, "感じる"),
        ("やや不満", -1, "満足"),
        ("ない", -2, "ある"),
        ("どちらともいえない", 0, None),
    ],
)
def test_scale_points(label, level, form):
    point = scale_point(label)
    assert point is not None and point[0] == level and (form is None or form in point[1])


def test_read_scale_orders_scores_and_polarity():
    scale = read_scale(["やや不満", "わからない", "満足", "不満", "やや満足"], "職場に満足していますか")
    assert scale is not None and scale.order == (2, 4, 0, 3) and scale.scores == (4, 3, 2, 1)
    assert scale.off_scale == (1,) and scale.balanced and not scale.binary
    assert scale.polarity is Polarity.HIGHER_IS_BETTER
    two = read_scale(["ない", "ある"], "課題がありますか")  # 課題: the ある end is the unfavourable one
    assert two is not None and two.binary and (two.order, two.scores) == ((1, 0), (1, 0))
    assert two.polarity is Polarity.HIGHER_IS_WORSE
    lacking = read_scale(["重要である", "どちらかといえば重要である", "重要ではない"], "重要ですか")
    assert lacking is not None and not lacking.balanced
    assert read_scale(["北", "南"], "地区") is None  # no wording of a scale
    assert read_scale(["そう思う", "とてもそう思う"], "思いますか") is None  # one side only
    assert read_scale(["そう思う", "感じない"], "どうですか") is None  # the negative negates another wording


def test_dont_know_has_no_place_and_canonical_spelling():
    assert scale_point("わからない") is None and scale_point("分からない") is None
    assert canonical("企業(上下水道)") == "企業（上下水道）"
    assert canonical("２０代　以下") == "20代 以下" and canonical("ﾃｽﾄ") == "テスト"
    assert canonical("①重要である") == "①重要である"  # NFKC would change its matching key: kept


def test_frame_order_todo_and_errors(tmp_path, capsys):
    frame = tmp_path / "frame.csv"
    frame.write_text("職域,職員数\n研究,5\n一般行政,60\n企業(上下水道),35\n", encoding="utf-8")
    data = tmp_path / "x.csv"
    pd.DataFrame({"ID": [1, 2, 3], "職域": ["消防", "一般行政", "企業（上下水道）"], "q": ["A", "B", "A"]}).to_csv(
        data, index=False
    )
    text, draft = draft_of(data, tmp_path, "--frame", str(frame))
    labels = [c["label"] for c in draft["attributes"][0]["choices"]]
    assert labels == ["研究", "一般行政", "企業（上下水道）", "消防"]  # the frame's order, then the export's extra
    assert draft["survey"]["population"] == 100
    assert '消防"}  # TODO: 職員数フレーム frame.csv にない職域' in text
    capsys.readouterr()
    frame.write_text("職域,職員数\n一般行政,60\n合計,60\n", encoding="utf-8")
    assert main(["init-codebook", "--data", str(data), "--out", str(tmp_path / "y.yaml"), "--frame", str(frame)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "職員数フレーム frame.csv 3行目: 合計の行（「合計」）。この行を削除する" in err
    assert main(["init-codebook", "--data", str(data), "--out", str(tmp_path / "y.yaml"), "--frame", "none.csv"]) == 2
    assert "職員数フレーム none.csv: ファイルが見つからない" in capsys.readouterr().err


def test_a_stratum_column_with_an_unknown_header_is_found_by_its_answers(tmp_path):
    """An export whose 職域 column is headed 「あなたの所属を選択してください」 or 「部署」: the draft makes
    it the stratum (by its header, or with --frame by its answers being the frame's 職域), never a
    question beside a TODO stratum (found by an outside test)."""
    import pandas as pd

    from ppp_survey.report.cli import main

    frame = FRAME
    responses = pd.read_excel(BASELINE, sheet_name=0)
    header = next(c for c in responses.columns if "職域" in str(c))
    for name, new in (("unknown", "あなたの勤務先を選んでください"), ("busho", "部署")):
        export = tmp_path / f"{name}.csv"
        responses.rename(columns={header: new}).to_csv(export, index=False, encoding="utf-8")
        out = tmp_path / f"{name}.yaml"
        assert main(["init-codebook", "--data", str(export), "--frame", str(frame), "--out", str(out)]) == 0
        text = out.read_text(encoding="utf-8")
        stratum = yaml.safe_load(text)["attributes"][0]
        assert (stratum["role"], stratum["text"], stratum["choices"][0]["label"]) == ("stratum", new, "一般行政")
        assert "TODO: 職域の列の見出し" not in text and f'"{new}"' not in text.split("questions:")[-1]


def test_other_text_columns_told_apart_by_their_numbers(tmp_path):
    """Two free-text columns headed 「Q4. その他（具体的に）」 and 「Q5. その他（具体的に）」 (their matching
    keys are one once the numbering is set aside): the draft names each as its question's その他 text
    and the loader puts each on its own question (found by an outside test: `check` reported one
    item with two columns)."""
    responses = pd.read_excel(BASELINE, sheet_name=0, engine="openpyxl")
    others = [c for c in responses.columns if "「その他」の内容" in str(c)][:2]
    export = tmp_path / "numbered.csv"
    renamed = {others[0]: "Q4. その他（具体的に）", others[1]: "Q5. その他（具体的に）"}
    responses.rename(columns=renamed).to_csv(export, index=False, encoding="utf-8")
    _, draft = draft_of(export, tmp_path, "--frame", str(FRAME))
    codebook = loaded(draft, tmp_path)
    texts = {q.other_text: q for q in codebook.questions if q.other_text}
    assert set(renamed.values()) <= set(texts)
    assert check_export(export, codebook).ok
    packaged = {q.other_text: q.text for q in load_codebook().questions if q.other_text}
    for old, new in renamed.items():
        assert texts[new].text == packaged[old]  # each on the question it follows in the export
    result = load_responses(export, codebook)
    for old, new in renamed.items():
        q = texts[new]
        written = responses[old].dropna().astype(str).tolist()
        got = result.free_text.loc[result.free_text["item"] == q.id, "text"].astype(str).tolist()
        assert sorted(got) == sorted(written) and written, (new, q.id)
