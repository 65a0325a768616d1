"""Display tables and workbook sheets of the raking and the association model: the raking (margins met, estimates with 職域 weights
and with raked weights side by side) and the adjusted associations (odds ratios and term tests).

Everything here formats results computed in the survey layer (:class:`~ppp_survey.survey.calibration.Calibration`,
:func:`~ppp_survey.survey.weights_comparison.compare_weights`, :class:`~ppp_survey.survey.regression.RegressionResult`);
nothing is estimated. Percentages are rounded half up to one decimal, odds ratios to two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from ppp_survey.outputs.captions import weights_label
from ppp_survey.outputs.regression_charts import odds_ratio_labels, plot_odds_ratios
from ppp_survey.outputs.xlsx import P_FORMAT, Block, Sheet
from ppp_survey.survey.calibration import Calibration, Variance
from ppp_survey.survey.regression import INTERCEPT, Family, RegressionResult
from ppp_survey.text import ROUNDING_NOTE, round_half_up

__all__ = [
    "ASSOCIATION_FIGURE",
    "association_display",
    "association_figure_plan",
    "calibration_note",
    "calibration_sheets",
    "margins_display",
    "term_tests_display",
    "weights_display",
]

#: File name of the forest plot (after the document's seven charts and its 2-(8) matrix).
ASSOCIATION_FIGURE = "2-09_意欲と関連する要因_オッズ比.png"


def _pct(values) -> pd.Series:
    return round_half_up(100 * pd.Series(values, dtype=float), 1) + 0.0  # + 0.0: no "-0" for a tiny negative


def _count(values) -> pd.Series:
    return round_half_up(pd.Series(values, dtype=float), 1) + 0.0


def calibration_note(cal: Calibration, labels: Mapping[str, str] | None = None) -> str:
    """One line on the weights, for notes and the 説明 sheet (``labels``: display names of the columns)."""
    names = dict(labels or {})
    columns = "・".join(names.get(m.column, m.column) for m in cal.margins)
    bounds = f"、調整係数を{cal.bounds[0]:g}～{cal.bounds[1]:g}倍に制限" if cal.bounds else ""
    method = (
        "Rの calibrate（設計ウェイトによる回帰残差）"
        if cal.variance == Variance.CALIBRATE
        else "Rの rake（10回の掃き出し）"
    )
    blanks = [m for m in cal.margins if m.missing]
    missing = ""
    if blanks:
        said = "、".join(f"{names.get(m.column, m.column)}{m.missing}人" for m in blanks)
        missing = (
            f"。属性が無回答の回答者（{said}）は区分「無回答」として職域別ウェイトでの人数を保ち、ほかの区分の目標は"
            "その分だけ職員数に比例して小さくした（無回答の人も職員数と同じ割合で各区分にいると仮定）"
        )
    return (
        f"レイキング（{columns}の周辺分布に一致するまで反復比例調整、{cal.iterations}回、最大相対誤差{cal.max_error:.1e}{bounds}）。"
        f"標準誤差は較正残差による線形化（{method}と同じ）と有限母集団修正{missing}"
    )


def margins_display(cal: Calibration, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The margins met: 属性, 区分, 職員数（資料）, 目標, 職域別ウェイトでの推計, レイキング後, 相対誤差."""
    table = cal.margin_table()
    names = dict(labels or {})
    return pd.DataFrame(
        {
            "属性": table["column"].map(lambda c: names.get(c, c)),
            "区分": table["category"].astype(str),
            "職員数": table["stated"],
            "目標": _count(table["target"]),
            "職域別ウェイトでの推計": _count(table["design"]),
            "レイキング後": _count(table["calibrated"]),
            "相対誤差": table["relative_error"],
        }
    )


def weights_display(comparison: pd.DataFrame, titles: Mapping[str, str] | None = None) -> pd.DataFrame:
    """:func:`~ppp_survey.survey.weights_comparison.compare_weights` with Japanese headers, in %."""
    names = dict(titles or {})
    return pd.DataFrame(
        {
            "設問": comparison["question"].map(lambda q: names.get(q, q)),
            "選択肢": comparison["label"].astype(str),
            "回答者数": comparison["n"].astype(int),
            "職域別ウェイト(%)": _pct(comparison["estimate_strata"]),
            "職域別 95%CI下限": _pct(comparison["ci_low_strata"]),
            "職域別 95%CI上限": _pct(comparison["ci_high_strata"]),
            "レイキング後(%)": _pct(comparison["estimate_calibrated"]),
            "レイキング後 95%CI下限": _pct(comparison["ci_low_calibrated"]),
            "レイキング後 95%CI上限": _pct(comparison["ci_high_calibrated"]),
            "差(ポイント)": _pct(comparison["difference"]),
        }
    )


def association_display(result: RegressionResult, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The coefficient table: 説明変数, 係数, 標準誤差, t, p値, オッズ比 and its 95% CI (logistic)."""
    table = result.table[result.table["term"] != INTERCEPT]
    out = pd.DataFrame(
        {
            "説明変数": odds_ratio_labels(result, names),
            "係数": table["coefficient"].to_numpy(),
            "標準誤差": table["se"].to_numpy(),
            "t値": table["t"].to_numpy(),
            "p値": table["p_value"].to_numpy(),
        }
    )
    if result.family == Family.BINOMIAL:
        out["オッズ比"] = round_half_up(table["odds_ratio"].to_numpy(), 2)
        out["95%CI下限"] = round_half_up(table["or_ci_low"].to_numpy(), 2)
        out["95%CI上限"] = round_half_up(table["or_ci_high"].to_numpy(), 2)
    return out


def term_tests_display(result: RegressionResult, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The design-based Wald test of each term (R's regTermTest): 説明変数, F, 自由度, p値."""
    labels = dict(names or {})
    tests = result.tests
    return pd.DataFrame(
        {
            "説明変数": tests["term"].map(lambda t: labels.get(t, t)),
            "F": tests["f"].to_numpy(),
            "自由度1": tests["df_num"].astype(int).to_numpy(),
            "自由度2": tests["df_den"].astype(int).to_numpy(),
            "p値": tests["p_value"].to_numpy(),
        }
    )


def _model_note(result: RegressionResult) -> str:
    kind = "ロジスティック回帰（オッズ比）" if result.family == Family.BINOMIAL else "線形回帰"
    return (
        f"{kind}。目的変数: {result.response}。n = {result.n:,}（無回答等{result.n_dropped:,}人を除く）、"
        f"{weights_label(result.method)}。標準誤差はデザインベース（サンドイッチ推定、層別"
        + ("・有限母集団修正" if result.fpc else "、有限母集団修正なし: 回答を生む傾向についての推論")
        + "、Rの svyglm と同じ）、"
        f"t検定の自由度 {result.df_residual}。各項の検定は設計に基づくWald F検定（Rの regTermTest）"
    )


def calibration_sheets(
    *,
    source_note: str,
    cal: Calibration | None = None,
    comparison: pd.DataFrame | None = None,
    association: RegressionResult | None = None,
    names: Mapping[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
) -> list[Sheet]:
    """Workbook sheets: レイキング (margins met; estimates with both weights) and 関連要因 (the model)."""
    sheets = []
    if cal is not None:
        notes = (source_note, calibration_note(cal, names))
        blocks = [Block("周辺分布への一致", margins_display(cal, names), {"相対誤差": "0.0E+00"}, notes=notes)]
        if comparison is not None:
            blocks.append(
                Block(
                    "全体の推定: 職域別ウェイトとレイキング後",
                    weights_display(comparison, titles),
                    notes=(ROUNDING_NOTE,),
                )
            )
        sheets.append(Sheet("レイキング", tuple(blocks), widths={1: 24, 2: 28}))
    if association is not None:
        notes = (source_note, _model_note(association))
        model = (
            Block("係数とオッズ比", association_display(association, names), {"p値": P_FORMAT}, notes=notes),
            Block("各項の検定", term_tests_display(association, names), {"p値": P_FORMAT}),
        )
        sheets.append(Sheet("関連要因", model, widths={1: 40}))
    return sheets


def association_figure_plan(
    result: RegressionResult, *, names: Mapping[str, str] | None = None, title: str | None = None, note: str = ""
) -> list[tuple[str, Callable]]:
    """(file name, draw function) of the forest plot, for :func:`ppp_survey.outputs.figure_files.save_figures`."""
    if result.family != Family.BINOMIAL:
        return []
    return [(ASSOCIATION_FIGURE, lambda: plot_odds_ratios(result, names=names, title=title, note=note))]
