"""The notebooks in ``notebooks/``, written from here (stripped of outputs).

Developers regenerate them with ``python -m ppp_survey.notebooks [folder]`` (default ``notebooks``
under the working folder). The notebooks are thin: they load the survey and call the library's
tables and charts; every number they show comes from ppp_survey. Edit this module, not the
.ipynb files, so that the notebooks and the library cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


SETUP = '''from pathlib import Path

from ppp_survey import load_survey, plots
from ppp_survey.tables import display_crosstab, display_tally, table_notes

# 実データを使うときは、この2つのパスを書き換える（Use your own export and staff frame here.）
DATA = Path("../data/raw/synthetic_r7_responses.xlsx")   # 架空データ (synthetic)
FRAME = Path("../data/raw/staff_frame_r7.csv")

survey = load_survey(DATA, FRAME)
analysis = survey.analysis
print(survey.note)'''

INTRO = """> **架空データ**: 同梱のデータは合成データであり、実際の調査結果ではありません（The bundled data are synthetic.）
> 数値はすべて `ppp_survey` が計算します。このノートブックは呼び出して表示するだけです（no analysis logic here）."""


def likert_part(qid: str) -> list:
    return [
        new_code_cell(f'item = survey.codebook.item("{qid}")\n'
                      f'display_tally(analysis.tally("{qid}"), item)'),
        new_code_cell(f'with plots.theme():\n'
                      f'    ax = plots.plot_stacked(analysis.tally("{qid}", by="domain"), item, note=survey.note)'),
    ]


def multi_part(qid: str) -> list:
    return [
        new_code_cell(f'item = survey.codebook.item("{qid}")\n'
                      f'display_tally(analysis.tally("{qid}"), item)'),
        new_code_cell(f'with plots.theme():\n'
                      f'    ax = plots.plot_multi(analysis.tally("{qid}"), item, note=survey.note)'),
        new_markdown_cell("職員全体の推計（事後層化推定値と95%信頼区間） / Design-based estimates with 95% CIs:"),
        new_code_cell(f'with plots.theme():\n'
                      f'    ax = plots.plot_multi(analysis.tally("{qid}"), item, weighted=True, note=survey.note)'),
    ]


NOTEBOOKS = {
    "01-response-rates.ipynb": [
        new_markdown_cell("# 回答状況（回答率） / Response rates\n\n"
                          "職員数フレームに対する職域別の回答率と、読み込み時の検証結果（全行の内訳）を示します。\n"
                          "Response rate by 職域 against the staff frame, and the validation report of the export.\n\n" + INTRO),
        new_code_cell(SETUP),
        new_markdown_cell("## 検証レポート / Validation: read = accepted + rejected"),
        new_code_cell("survey.loaded.report.summary()"),
        new_markdown_cell("## 職域別の回答率 / Response rate by 職域"),
        new_code_cell("analysis.rates"),
        new_code_cell("with plots.theme():\n    ax = plots.plot_response_rates(analysis.rates, note=survey.note)"),
    ],
    "02-importance-willingness-experience.ipynb": [
        new_markdown_cell("# 2-(1)～(3) 重要性・意欲・経験 / Importance, willingness, experience\n\n"
                          "資料の図 2-(1) 官民連携の重要性、2-(2) 官民連携に対する意欲の有無、"
                          "2-(3) 民間企業等との連携の相談・提案対応経験の有無 を再現します（全体と職域別）。\n\n" + INTRO),
        new_code_cell(SETUP),
        new_markdown_cell("## 2-(1) 官民連携の重要性"), *likert_part("q1"),
        new_markdown_cell("## 2-(2) 官民連携に対する意欲の有無"), *likert_part("q2"),
        new_markdown_cell("肯定的回答（上位2区分）・否定的回答・平均点 / Top-2 box, bottom-2 box and mean score:"),
        new_code_cell('analysis.likert.query("question == \'q2\' and by in [\'\', \'domain\']")'),
        new_markdown_cell("## 2-(3) 民間企業等との連携の相談・提案対応経験の有無"), *likert_part("q3"),
    ],
    "03-merits-difficulties.ipynb": [
        new_markdown_cell("# 2-(4)～(5) メリットと難しい点 / Merits and difficulties (multi-select)\n\n"
                          "複数回答の設問は、回答者に占める割合（%）で多い順に示します（合計は100%を超えます）。\n"
                          "Multi-select questions: % of respondents, ranked.\n\n" + INTRO),
        new_code_cell(SETUP),
        new_markdown_cell("## 2-(4) 民間事業者との連携のメリット（複数選択可）"), *multi_part("q4"),
        new_markdown_cell("## 2-(5) 連携するにあたって難しいと思う点（複数選択可）"), *multi_part("q5"),
        new_markdown_cell("二つの選択肢の差（同じ回答者なので共分散を考慮） / Difference of two options, covariance counted:"),
        new_code_cell("from ppp_survey.tables import option_difference\n\n"
                      'option_difference(survey.responses, analysis.design, survey.codebook.item("q5"), 7, 4)'),
    ],
    "04-consulting-support.ipynb": [
        new_markdown_cell("# 2-(6)～(7) 相談しやすさと必要な支援 / Ease of consulting and support needed\n\n" + INTRO),
        new_code_cell(SETUP),
        new_markdown_cell("## 2-(6) 庁内で官民連携を相談しやすい雰囲気・仕組みがあると感じるか"), *likert_part("q6"),
        new_markdown_cell("## 2-(7) 連携に取り組むうえで庁内でどのような支援が必要か（複数選択可）"), *multi_part("q7"),
    ],
    "05-crosstabs-by-domain.ipynb": [
        new_markdown_cell("# 職域別クロス集計 / Crosstabs by 職域\n\n"
                          "各設問を職域別に集計し、その他の回答者との差を記号で示します（▲▼: 1%水準、△▽: 5%水準、"
                          "表全体のRao–Scott検定が有意な場合のみ）。基数30未満の職域は参考値です。\n\n" + INTRO),
        new_code_cell(SETUP),
        new_markdown_cell("## 2-(2) 意欲の有無 × 職域"),
        new_code_cell('ct = analysis.crosstabs[("q2", "domain")]\ndisplay_crosstab(ct)'),
        new_code_cell('print("\\n".join(table_notes(ct)))'),
        new_code_cell("with plots.theme():\n    ax = plots.plot_heatmap(ct, note=survey.note)"),
        new_markdown_cell("## すべての設問の検定結果 / Rao–Scott tests of every crosstab"),
        new_code_cell("analysis.tests()"),
        new_markdown_cell("## 2-(5) 難しい点 × 職域（選択肢ごとに検定）"),
        new_code_cell('with plots.theme():\n    ax = plots.plot_heatmap(analysis.crosstabs[("q5", "domain")], note=survey.note)'),
    ],
}


def main(argv: list[str] | None = None) -> int:
    import sys

    args = sys.argv[1:] if argv is None else argv
    here = Path(args[0] if args else "notebooks")
    here.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells, metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        })
        for i, cell in enumerate(nb.cells):  # stable ids: the same source gives the same file
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
        import nbformat

        nbformat.write(nb, here / name)
        print(f"wrote {here / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
