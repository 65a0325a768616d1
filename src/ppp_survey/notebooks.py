"""The notebooks in ``notebooks/``, written from here (stripped of outputs).

Developers regenerate them with ``python -m ppp_survey.notebooks [folder]`` (default ``notebooks``
under the working folder). The notebooks are thin: they load the survey and call the library's
tables and charts; every number they show comes from ppp_survey. Edit this module, not the
.ipynb files, so that the notebooks and the library cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = """from pathlib import Path

from ppp_survey import load_survey
from ppp_survey.outputs import plots
from ppp_survey.survey.tables import display_crosstab, display_tally, table_notes

# 実データを使うときは、この2つのパスを書き換える（Use your own export and staff frame here.）
DATA = Path("../data/raw/synthetic_r7_responses.xlsx")   # 架空データ (synthetic)
FRAME = Path("../data/raw/staff_frame_r7.csv")

survey = load_survey(DATA, FRAME)
analysis = survey.analysis
print(survey.note)"""

INTRO = """> **架空データ**: 同梱のデータは合成データであり、実際の調査結果ではありません（The bundled data are synthetic.）
> 数値はすべて `ppp_survey` が計算します。このノートブックは呼び出して表示するだけです（no analysis logic here）."""


def likert_part(qid: str) -> list:
    return [
        new_code_cell(f'item = survey.codebook.item("{qid}")\ndisplay_tally(analysis.tally("{qid}"), item)'),
        new_code_cell(
            f"with plots.theme():\n"
            f'    ax = plots.plot_stacked(analysis.tally("{qid}", by="domain"), item, note=survey.note)'
        ),
    ]


def multi_part(qid: str) -> list:
    return [
        new_code_cell(f'item = survey.codebook.item("{qid}")\ndisplay_tally(analysis.tally("{qid}"), item)'),
        new_code_cell(
            f'with plots.theme():\n    ax = plots.plot_multi(analysis.tally("{qid}"), item, note=survey.note)'
        ),
        new_markdown_cell("職員全体の推計（事後層化推定値と95%信頼区間） / Design-based estimates with 95% CIs:"),
        new_code_cell(
            f"with plots.theme():\n"
            f'    ax = plots.plot_multi(analysis.tally("{qid}"), item, weighted=True, note=survey.note)'
        ),
    ]


NOTEBOOKS = {
    "01-response-rates.ipynb": [
        new_markdown_cell(
            "# 回答状況（回答率） / Response rates\n\n"
            "職員数フレームに対する職域別の回答率と、読み込み時の検証結果（全行の内訳）を示します。\n"
            "Response rate by 職域 against the staff frame, and the validation report of the export.\n\n" + INTRO
        ),
        new_code_cell(SETUP),
        new_markdown_cell("## 検証レポート / Validation: read = accepted + rejected"),
        new_code_cell("survey.loaded.report.summary()"),
        new_markdown_cell("## 職域別の回答率 / Response rate by 職域"),
        new_code_cell("analysis.rates"),
        new_code_cell("with plots.theme():\n    ax = plots.plot_response_rates(analysis.rates, note=survey.note)"),
    ],
    "02-importance-willingness-experience.ipynb": [
        new_markdown_cell(
            "# 2-(1)～(3) 重要性・意欲・経験 / Importance, willingness, experience\n\n"
            "資料の図 2-(1) 官民連携の重要性、2-(2) 官民連携に対する意欲の有無、"
            "2-(3) 民間企業等との連携の相談・提案対応経験の有無 を再現します（全体と職域別）。\n\n" + INTRO
        ),
        new_code_cell(SETUP),
        new_markdown_cell("## 2-(1) 官民連携の重要性"),
        *likert_part("q1"),
        new_markdown_cell("## 2-(2) 官民連携に対する意欲の有無"),
        *likert_part("q2"),
        new_markdown_cell("肯定的回答（上位2区分）・否定的回答・平均点 / Top-2 box, bottom-2 box and mean score:"),
        new_code_cell("analysis.likert.query(\"question == 'q2' and by in ['', 'domain']\")"),
        new_markdown_cell("## 2-(3) 民間企業等との連携の相談・提案対応経験の有無"),
        *likert_part("q3"),
    ],
    "03-merits-difficulties.ipynb": [
        new_markdown_cell(
            "# 2-(4)～(5) メリットと難しい点 / Merits and difficulties (multi-select)\n\n"
            "複数回答の設問は、回答者に占める割合（%）で多い順に示します（合計は100%を超えます）。\n"
            "Multi-select questions: % of respondents, ranked.\n\n" + INTRO
        ),
        new_code_cell(SETUP),
        new_markdown_cell("## 2-(4) 民間事業者との連携のメリット（複数選択可）"),
        *multi_part("q4"),
        new_markdown_cell("## 2-(5) 連携するにあたって難しいと思う点（複数選択可）"),
        *multi_part("q5"),
        new_markdown_cell(
            "二つの選択肢の差（同じ回答者なので共分散を考慮） / Difference of two options, covariance counted:"
        ),
        new_code_cell(
            "from ppp_survey.survey.tables import option_difference\n\n"
            'option_difference(survey.responses, analysis.design, survey.codebook.item("q5"), 7, 4)'
        ),
    ],
    "04-consulting-support.ipynb": [
        new_markdown_cell("# 2-(6)～(7) 相談しやすさと必要な支援 / Ease of consulting and support needed\n\n" + INTRO),
        new_code_cell(SETUP),
        new_markdown_cell("## 2-(6) 庁内で官民連携を相談しやすい雰囲気・仕組みがあると感じるか"),
        *likert_part("q6"),
        new_markdown_cell("## 2-(7) 連携に取り組むうえで庁内でどのような支援が必要か（複数選択可）"),
        *multi_part("q7"),
    ],
    "05-crosstabs-by-domain.ipynb": [
        new_markdown_cell(
            "# 職域別クロス集計 / Crosstabs by 職域\n\n"
            "各設問を職域別に集計し、その他の回答者との差を記号で示します（▲▼: 1%水準、△▽: 5%水準、"
            "表全体のRao–Scott検定が有意な場合のみ）。基数30未満の職域は参考値です。\n\n" + INTRO
        ),
        new_code_cell(SETUP),
        new_markdown_cell("## 2-(2) 意欲の有無 × 職域"),
        new_code_cell('ct = analysis.crosstabs[("q2", "domain")]\ndisplay_crosstab(ct)'),
        new_code_cell('print("\\n".join(table_notes(ct)))'),
        new_code_cell("with plots.theme():\n    ax = plots.plot_heatmap(ct, note=survey.note)"),
        new_markdown_cell("## すべての設問の検定結果 / Rao–Scott tests of every crosstab"),
        new_code_cell("analysis.tests()"),
        new_markdown_cell("## 2-(5) 難しい点 × 職域（選択肢ごとに検定）"),
        new_code_cell(
            'with plots.theme():\n    ax = plots.plot_heatmap(analysis.crosstabs[("q5", "domain")], note=survey.note)'
        ),
    ],
    "06-policy-matrix.ipynb": [
        new_markdown_cell(
            "# 2-(8) 政策マトリクスと調査の根拠 / The policy matrix with its evidence\n\n"
            "資料2-(8)の 現状 → めざす具体像 → 具体的な取組 を、調査の数値と並べます。各現状に調査指標と規準"
            "（例: 「相談しやすい」と感じる割合 < 50%）を置き、事後層化推定の95%信頼区間で 支持／不支持／判定不能 を"
            "判定します。指標と規準は `policy_matrix_r7.yaml` にあり、資料の数値ではなく分析上の設定です。\n"
            "Each 現状 of the matrix with the survey indicator and rule that speak to it, judged on the "
            "design-based 95% CI.\n\n" + INTRO
        ),
        new_code_cell(SETUP),
        new_code_cell(
            "from IPython.display import HTML\n\n"
            "from ppp_survey.policy.evidence import evaluate, format_evidence, kpi_table, reverse_view\n"
            "from ppp_survey.spec.matrix import load_matrix\n"
            "from ppp_survey.outputs.matrix_sheets import evidence_display, kpi_display, matrix_html, reverse_display\n\n"
            'matrix = load_matrix(codebook=survey.codebook)   # 別のファイル: load_matrix("my_matrix.yaml", ...)\n'
            "args = (matrix, survey.responses, analysis.design, survey.codebook)\n"
            "evidence = evaluate(*args, min_group=analysis.min_group)"
        ),
        new_markdown_cell("## 現状ごとの根拠と判定 / Evidence and verdict per 現状"),
        new_code_cell("print(format_evidence(evidence, synthetic=survey.synthetic))"),
        new_code_cell("evidence_display(evidence)"),
        new_markdown_cell(
            "## マトリクス（判定で色分け） / The matrix, coloured by verdict\n\n"
            "レポートは同じページを `figures/2-08_政策マトリクス.html` に書き出します。"
        ),
        new_code_cell("HTML(matrix_html(matrix, evidence, source_note=survey.note, synthetic=survey.synthetic))"),
        new_markdown_cell("## 所見から現状・取組へ / From each finding to its 現状 and 取組"),
        new_code_cell("reverse_display(reverse_view(*args, min_group=analysis.min_group))"),
        new_markdown_cell(
            "## 取組ごとのKPI / KPIs per 取組\n\n次回値は経年比較（ノートブック07、`report --compare`）で埋まります。"
        ),
        new_code_cell("kpi_display(kpi_table(*args, min_group=analysis.min_group))"),
    ],
    "07-comparison-r8.ipynb": [
        new_markdown_cell(
            "# 経年比較: R8（架空）と凍結したR7基準値 / Next year's survey against the baseline\n\n"
            "R8は生成器が作った**架空の第2回調査**です（変化の作り込みは `synthetic_r8.yaml` に記載）。"
            "R7の結果は `data/processed/baseline_r7/` に凍結してあり（入力とファイルのSHA-256つき）、"
            "比較はそのファイルだけを読みます。設問・選択肢・職域の変更は `mapping_r7_r8.yaml` で対応づけます。\n"
            "The R8 wave is synthetic; the R7 baseline is read from its frozen files only.\n\n" + INTRO
        ),
        new_code_cell(
            "from pathlib import Path\n\n"
            "from ppp_survey.outputs import plots\n"
            "from ppp_survey.outputs.change_sheets import change_tables, kpi_progress, method_note, plot_rate_change\n"
            "from ppp_survey.compare import compare, load_baseline\n"
            "from ppp_survey.outputs.change_charts import plot_change_heatmap, plot_dumbbell\n"
            "from ppp_survey.spec.matrix import load_matrix\n"
            "from ppp_survey.outputs.matrix_sheets import kpi_display\n"
            "from ppp_survey.spec.mapping import load_mapping\n"
            "from ppp_survey.compare.wave import load_wave\n\n"
            "# 実データ: 今回の回答・職員数フレーム・コードブックと、前回凍結した基準値のフォルダ\n"
            'baseline = load_baseline(Path("../data/processed/baseline_r7"))\n'
            'r8 = load_wave(Path("../data/raw/synthetic_r8_responses.xlsx"), '
            'Path("../data/raw/staff_frame_r8.csv"), "codebook_r8.yaml")\n'
            'mapping = load_mapping("mapping_r7_r8.yaml", baseline.codebook, r8.codebook)\n'
            "changes = compare(baseline, r8, mapping)\n"
            "print(baseline.describe())\nprint(method_note(changes))"
        ),
        new_markdown_cell("## 比較しない項目 / What is not compared, and why"),
        new_code_cell("mapping.not_compared()"),
        new_markdown_cell("## 全体の変化 / Changes overall"),
        new_code_cell("overall, by_group = change_tables(changes)\noverall"),
        new_code_cell('with plots.theme():\n    ax = plot_rate_change(changes, note=changes.attrs["note"])'),
        new_markdown_cell("## 2-(6) 相談しやすさ / Ease of consulting"),
        new_code_cell('with plots.theme():\n    ax = plot_dumbbell(changes, "q6")'),
        new_markdown_cell("## 2-(5) 難しい点の変化（職域別） / Difficulties by 職域"),
        new_code_cell('with plots.theme():\n    ax = plot_change_heatmap(changes, "q5")'),
        new_code_cell("by_group.head(20)"),
        new_markdown_cell("## 取組のKPI: 基準値と次回値 / KPI table with next year's values"),
        new_code_cell(
            "kpi_display(kpi_progress(load_matrix(codebook=baseline.codebook), baseline, changes),\n"
            '            base_label="R7（基準値）", next_label="R8（今回）")'
        ),
    ],
}


def main(argv: list[str] | None = None) -> int:
    import sys

    args = sys.argv[1:] if argv is None else argv
    here = Path(args[0] if args else "notebooks")
    here.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(
            cells=cells,
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
        )
        for i, cell in enumerate(nb.cells):  # stable ids: the same source gives the same file
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
        import nbformat

        nbformat.write(nb, here / name)
        print(f"wrote {here / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
