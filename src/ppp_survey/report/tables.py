"""The report's tables: the published CSVs (UTF-8 with BOM for Excel) and the internal files.

:func:`write_tables` writes what ``data/processed/`` publishes (validation, rates, GT, crosstabs,
Likert, the anonymity record, raking and associations, the policy matrix, the changes) and
:func:`write_report_tables` those with the trends' tables and the workbook (the report's 表 step);
:func:`write_internal` what only ``内部用_公開禁止/`` holds (rejected rows with their raw values, the
free-text export), never published.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ppp_survey.compare.changes import ChangeTable
from ppp_survey.files import INTERNAL_MARK, atomic_output, write_csv
from ppp_survey.outputs.calibration_sheets import (
    association_display,
    calibration_sheets,
    margins_display,
    term_tests_display,
    weights_display,
)
from ppp_survey.policy.assess import PolicyResult
from ppp_survey.report.options import ReportOptions
from ppp_survey.report.trends import TrendStep, trend_step  # the trend step's tables, sheets and charts (--history)
from ppp_survey.survey.indicators import MEASURE_LABEL
from ppp_survey.survey.privacy import publish
from ppp_survey.text import round_half_up

if TYPE_CHECKING:
    from ppp_survey.analysis import Analysis
    from ppp_survey.ingest.load import LoadResult

__all__ = [
    "FREE_TEXT",
    "REJECTED_ROWS",
    "rates_display",
    "trend_step",
    "write_internal",
    "write_report_tables",
    "write_tables",
]

REJECTED_ROWS = f"validation_rejected_rows{INTERNAL_MARK}.csv"
FREE_TEXT = f"自由記述{INTERNAL_MARK}.csv"


def write_tables(
    opts: ReportOptions, loaded, analysis, policy: PolicyResult | None, changes: ChangeTable | None, note: str
) -> list[Path]:
    """The CSV tables (UTF-8 with BOM for Excel): validation, rates, GT, crosstabs, Likert, audit,
    the policy matrix's evidence/KPI/findings and, when comparing, the changes."""
    report = loaded.report
    written: list[Path] = []
    summary = report.summary().rename(columns={"status": "区分", "reason": "理由", "count": "件数"})
    summary["区分"] = summary["区分"].map({"read": "読み込み", "accepted": "採用", "rejected": "除外"})
    written.append(write_csv(summary, opts.tables / "validation_summary.csv"))
    written.append(write_csv(rates_display(analysis.rates), opts.tables / "response_rates.csv"))
    written.append(write_csv(publish(analysis.gt), opts.tables / "gt.csv"))
    written.append(write_csv(publish(analysis.crosstab_cells()), opts.tables / "crosstab_cells.csv"))
    written.append(write_csv(analysis.tests(), opts.tables / "crosstab_tests.csv"))
    likert = analysis.likert.assign(measure=analysis.likert["measure"].map(MEASURE_LABEL))  # labels for readers
    written.append(write_csv(publish(likert), opts.tables / "likert_summary.csv"))
    written.append(write_csv(analysis.audit, opts.tables / "suppression_audit.csv"))
    if analysis.calibration is not None:
        margins = margins_display(analysis.calibration, analysis.term_labels())
        written.append(write_csv(margins, opts.tables / "calibration_margins.csv"))
        titles = {q.id: q.heading for q in analysis.questions}
        comparison = weights_display(analysis.weights_comparison, titles)
        written.append(write_csv(comparison, opts.tables / "weights_comparison.csv"))
    if analysis.association is not None:
        names = analysis.term_labels()
        coefficients = association_display(analysis.association, names)
        written.append(write_csv(coefficients, opts.tables / "association_coefficients.csv"))
        tests = term_tests_display(analysis.association, names)
        written.append(write_csv(tests, opts.tables / "association_tests.csv"))
    if policy is not None:
        from ppp_survey.outputs.matrix_sheets import (
            evidence_display,
            kpi_display,
            reverse_display,
        )

        labels = policy.kpi_labels
        written.append(write_csv(evidence_display(policy.evidence), opts.tables / "policy_matrix_evidence.csv"))
        written.append(
            write_csv(
                kpi_display(policy.kpi, base_label=labels[0], next_label=labels[1]),
                opts.tables / "policy_matrix_kpi.csv",
            )
        )
        written.append(write_csv(reverse_display(policy.reverse), opts.tables / "policy_matrix_findings.csv"))
    if changes is not None:
        from ppp_survey.outputs.change_sheets import change_tables

        overall, groups = change_tables(changes)
        written.append(write_csv(overall, opts.tables / "changes_overall.csv"))
        written.append(write_csv(groups, opts.tables / "changes_by_group.csv"))
    return written


def write_internal(opts: ReportOptions, loaded) -> list[Path]:
    """The internal files, never published, in ``opts.internal``: the rejected rows with the raw
    value of each rejected cell (which may be free text), and with ``--export-free-text`` the free
    text. The folder carries a ``.gitignore`` of its own: git never lists it, wherever it lies."""
    report = loaded.report
    rejected = report.rejected().rename(
        columns={"row": "行", "respondent_id": "ID", "status": "状態", "reason": "理由", "column": "列", "value": "値"}
    )
    written = [write_csv(rejected, opts.internal / REJECTED_ROWS)]
    if opts.export_free_text:
        written.append(write_csv(loaded.free_text, opts.internal / FREE_TEXT))
    with atomic_output(opts.internal / ".gitignore") as tmp:
        tmp.write_text("# 内部用・公開禁止: git に登録しない\n*\n", encoding="utf-8")
    return written


def rates_display(rates: pd.DataFrame) -> pd.DataFrame:
    """The response-rate table with Japanese headers and the rate in % (one decimal, half up)."""
    return pd.DataFrame(
        {
            "職域": rates["domain"].astype(str),
            "職員数": rates["population"],
            "回答者数": rates["respondents"],
            "回答率(%)": round_half_up(100 * rates["rate"]),
        }
    )


def write_report_tables(
    opts: ReportOptions,
    staged: ReportOptions,
    loaded: LoadResult,
    analysis: Analysis,
    policy: PolicyResult | None,
    changes: ChangeTable | None,
    trends: TrendStep,
    note: str,
    progress: Callable[[str], None],
) -> list[Path]:
    """The report's 表 step: the CSV tables and the workbook, written under ``staged`` (``opts`` as the
    user gave them); returns their paths."""
    from ppp_survey.outputs.survey_sheets import report_sheets
    from ppp_survey.outputs.xlsx import write_workbook

    written = write_tables(staged, loaded, analysis, policy, changes, note) + trends.tables(staged)
    sheets = report_sheets(
        analysis, loaded.report, synthetic=opts.synthetic, source_note=note, matrix=policy is not None
    )
    if policy is not None:
        from ppp_survey.outputs.matrix_sheets import matrix_sheets

        sheets += matrix_sheets(
            policy.matrix,
            policy.evidence,
            policy.kpi,
            policy.reverse,
            source_note=note,
            kpi_labels=policy.kpi_labels,
            weights=policy.weights,
        )
    if changes is not None:
        from ppp_survey.outputs.change_sheets import change_sheets

        sheets += change_sheets(changes, source_note=note)
    sheets += trends.sheets(note) + calibration_sheets(
        source_note=note,
        cal=analysis.calibration,
        comparison=analysis.weights_comparison,
        association=analysis.association,
        names=analysis.term_labels(),
        titles={q.id: q.heading for q in analysis.questions},
    )
    book = "集計表_架空データ.xlsx" if opts.synthetic else "集計表.xlsx"
    written.append(write_workbook(staged.tables / book, sheets, banner="架空データ" if opts.synthetic else ""))
    progress(f"        {book}（{len(sheets)}シート）")

    return written
