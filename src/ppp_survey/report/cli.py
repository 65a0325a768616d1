"""``python -m ppp_survey.report``: regenerate every output from a response export.

With no options it reads the bundled synthetic baseline (``data/raw/synthetic_r7_responses.xlsx``
and ``data/raw/staff_frame_r7.csv`` under the working directory, or under ``$PPP_SURVEY_ROOT``)
and writes tables to ``data/processed/`` and charts to ``figures/``. A real export drops in with
``--data``, ``--frame`` and ``--codebook``; nothing in the code names a file or a question.

Besides the survey's tables and charts, every run evaluates the policy matrix of 2-(8)
(``--matrix``; the packaged one by default) and writes it with its evidence to the workbook and to
``figures/2-08_政策マトリクス.html``. ``--compare BASELINE`` (a folder written by
``--freeze-baseline`` or :func:`ppp_survey.compare.freeze_baseline`) adds the change tables,
change charts and the KPI table's next-year column; ``--mapping`` names the codebook mapping when
the questionnaire changed.

Published outputs (``figures/``, ``data/processed/``: no free text, no raw values, no folder of
this machine) and internal ones (``内部用_公開禁止/``: the rejected rows with their raw values, the
free-text export, their own manifest) are kept apart. The output folder is one unit: a run holds
its lock, writes into a staging folder and swaps the whole set in only when every step succeeded,
replacing only what the report owns (:func:`~ppp_survey.report.options.owned_outputs`).

A user error (missing file, a value the codebook does not know, a frame that does not fit, an output
folder that cannot be written or is in use) ends with one line on stderr and exit status 2; Ctrl-C
with one line and exit status 130; the traceback is kept for real bugs.
"""

from __future__ import annotations

import errno
import gc
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ppp_survey.errors import DisclosureError, LoadError, MatrixError, OutputError, PppSurveyError
from ppp_survey.files import INTERNAL_MARK, Staging, deferred_interrupts, os_error_reason, output_lock, sha256_file
from ppp_survey.ingest.load import LoadResult, load_responses
from ppp_survey.ingest.reasons import R_WINDOW
from ppp_survey.outputs.captions import pooling_note, source_note
from ppp_survey.outputs.figure_plan import figure_name, figure_plan
from ppp_survey.policy.assess import PolicyResult, assess
from ppp_survey.report.ledger import Records, hold_back, published_analysis, record_paths
from ppp_survey.report.manifest import write_internal_manifest, write_manifest
from ppp_survey.report.onboard import SUBCOMMANDS
from ppp_survey.report.onboard import main as onboard
from ppp_survey.report.options import (
    ReportOptions,
    build_parser,
    check_destinations,
    illustrative_frame,
    options_from_args,
    owned_outputs,
)
from ppp_survey.report.tables import FREE_TEXT, trend_step, write_internal, write_report_tables
from ppp_survey.spec.frame import load_frame
from ppp_survey.spec.margins import load_margins
from ppp_survey.survey.multiplicity import Adjust
from ppp_survey.text import WeightsForm, WeightsMethod, weights_text

if TYPE_CHECKING:  # annotations only: the comparison is imported where a run compares
    import pandas as pd

    from ppp_survey.analysis import Analysis
    from ppp_survey.compare.changes import ChangeTable
    from ppp_survey.compare.wave import Wave
    from ppp_survey.report.trends import TrendStep
    from ppp_survey.spec.codebook import Codebook


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


INTERRUPTED = "中断しました（Ctrl+C）。出力先のファイルは前回のままです"
INTERNAL_MANIFEST = f"manifest{INTERNAL_MARK}.json"
# errors of the disk or the file system, not of the package: one line, exit 2
_DISK_ERRNOS = {getattr(errno, n, None) for n in ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM")} - {None}


def run(opts: ReportOptions, *, progress: Callable[[str], None] = _stderr) -> list[Path]:
    """Run the report into ``opts.out`` as one unit (see the module's docstring): take the folder's
    lock, write every output into a staging folder, swap it in for the previous set. Returns the
    paths written (the published manifest, then the internal files)."""
    check_destinations(opts)  # and creates opts.out
    with output_lock(opts.out), Staging(opts.out) as stage:
        if opts.illustrative_frame:  # once the folder is ours: a refused run prints its one line only
            progress(illustrative_frame_notice(opts.frame))
        if opts.illustrative_margins and opts.margins is not None:
            progress(illustrative_frame_notice(opts.margins, what="職員数の周辺分布", option="--margins"))
        if stage.recovered:
            progress(f"        前回中断された出力の置き換えを{'取り消し' if stage.recovery == 'undone' else '完了'}")
        staged = replace(opts, out=stage.new)
        try:
            written = build(opts, staged, progress=progress)
        except OSError as exc:
            if exc.errno not in _DISK_ERRNOS:
                raise
            raise OutputError(
                f"ファイルを読み書きできません（{os_error_reason(exc)}）。ディスクの空きと権限を確かめてから"
                "再実行してください（出力先は前回のままです）"
            ) from None
        with deferred_interrupts(reraise=False):  # from here on the run completes
            gone = stage.commit(owned_outputs(opts))
            final = [stage.final_path(p) for p in written]
            if gone:
                progress(f"        前回の出力のうち今回は作らないファイル{len(gone)}件を削除")
            free_text = f"（自由記述 {FREE_TEXT} を含む）" if opts.export_free_text else ""
            progress(f"        内部用・公開禁止のファイル{free_text}: {opts.internal}")
            progress(f"完了: {len(final)}ファイル")
    return final


def build(opts: ReportOptions, staged: ReportOptions, *, progress: Callable[[str], None] = _stderr) -> list[Path]:
    """Load, validate, tabulate, evaluate the matrix, compare, draw, writing under ``staged.out``
    (``opts`` names the places the user asked for; a frozen baseline goes straight there). Returns
    the paths written: the published files, the published manifest, then the internal files."""
    from ppp_survey.spec.resources import resolve_codebook

    step = Steps(7 if opts.compare else 6, progress)
    step(f"読み込み: {opts.data}")
    baseline = None
    if opts.compare:  # read first: a wrong baseline folder is reported before the wave is computed
        from ppp_survey.compare.baseline import load_baseline

        baseline = load_baseline(opts.compare)
    codebook = resolve_codebook(opts.codebook)
    frame = load_frame(opts.frame, codebook)
    margins = load_margins(opts.margins, codebook) if opts.margins is not None else None
    records = Records(record_paths(opts))
    loaded = load_export(opts, codebook, progress, records=records)

    raked = (
        WeightsMethod(tuple(m.label for m in margins.margins), opts.rake_bounds) if opts.calibrate and margins else None
    )
    weighting = weights_text(raked or WeightsMethod(), WeightsForm.SHORT)
    step(f"集計（{weighting}・有限母集団修正、Rao–Scott検定）")
    model = matrix_model(opts, codebook)
    analysis, publications, difference = published_analysis(
        opts, codebook, loaded.responses, frame, margins, records, progress, model=model
    )
    disclosure = disclosure_audit(analysis, opts.min_group, progress)
    if difference is not None:
        disclosure = {**disclosure, "difference_from_earlier_publication": difference}
    note = source_note(analysis, synthetic=opts.synthetic)
    coverage = _coverage(analysis, progress)

    step("政策マトリクス（2-(8)）")
    policy = policy_matrix(opts, analysis, progress=progress)

    changes = None
    if opts.compare:
        step(f"経年比較: {opts.compare}")
        changes, kpi = compare_waves(opts, baseline, this_wave(opts, analysis), policy, progress=progress)
        if policy is not None and kpi is not None:
            labels = (f"{changes.baseline_wave}（基準値）", f"{changes.wave}（今回）")
            policy = replace(policy, kpi=kpi, kpi_labels=labels)
    trends = trend_step(opts, this_wave(opts, analysis), policy, progress=progress)  # --history
    plan = _chart_plan(opts, codebook, analysis, changes, trends, note)
    # the committee paper and the charts start now, in forked processes where the platform allows
    # (each chart whole in one process: the same bytes as a one-process run; PPP_SURVEY_JOBS=1 forces
    # one process, which draws the charts at the 図 step), and this process writes the tables
    # meanwhile; Ctrl-C from here ends the run after them: forked workers never print tracebacks
    from ppp_survey.outputs.committee_pdf import committee_paper
    from ppp_survey.outputs.figure_files import figures_started
    from ppp_survey.workers import Workers

    workers = Workers.from_environment()
    with (
        committee_paper(
            staged, analysis, policy, changes, trends=trends.table, progress=progress, workers=workers
        ) as paper,
        deferred_interrupts(),
        figures_started(plan, staged.figures, workers=workers) as figures,
    ):
        step(f"表: {opts.tables}")
        written = write_report_tables(opts, staged, loaded, analysis, policy, changes, trends, note, progress)
        internal = write_internal(staged, loaded)
        step("図: 作らない（--tables-only）" if opts.tables_only else f"図: {opts.figures}")
        if policy is not None and not opts.tables_only:
            from ppp_survey.outputs.matrix_page import write_matrix_html

            name = "2-08_政策マトリクス.html"
            written.append(
                write_matrix_html(
                    staged.figures / name,
                    policy.matrix,
                    policy.evidence,
                    source_note=note,
                    synthetic=opts.synthetic,
                    weights=policy.weights,
                )
            )
            progress(f"        {name}")
        written += figures.collect(lambda name: progress(f"        {name}"))
    written += paper.files

    if opts.freeze_baseline:
        written += freeze(opts, this_wave(opts, analysis), progress=progress)

    records.record(publications, progress)
    step("マニフェスト")
    roots = (staged.out, opts.out)
    manifest = write_manifest(
        opts,
        written,
        staged.tables / "manifest.json",
        changes=changes,
        coverage=coverage,
        disclosure=disclosure,
        roots=roots,
    )
    internal.append(
        write_internal_manifest(internal, manifest, staged.internal / INTERNAL_MANIFEST, roots, export=opts.data)
    )
    return [*written, manifest, *internal]


def _chart_plan(
    opts: ReportOptions,
    codebook: Codebook,
    analysis: Analysis,
    changes: ChangeTable | None,
    trends: TrendStep,
    note: str,
) -> list:
    """The run's charts, ``(file name, draw)`` in order: section 2's, the comparison's, the trends'
    (none with ``--tables-only``)."""
    if opts.tables_only:
        return []
    plain = source_note(analysis, synthetic=opts.synthetic, weights=False)  # charts of respondents' shares
    plan = figure_plan(analysis, weighted=opts.weighted, note=note if opts.weighted else plain, plain_note=plain)
    if changes is not None:
        from ppp_survey.outputs.change_sheets import change_figure_plan

        plan += change_figure_plan(changes, codebook, figure_name, note=changes.note)
    return plan + trends.figures(codebook, figure_name)


class Steps:
    """The run's numbered progress lines, [k/n], counted as they are printed."""

    def __init__(self, total: int, progress: Callable[[str], None]):
        self.total, self.done, self.progress = total, 0, progress

    def __call__(self, what: str) -> None:
        self.done += 1
        self.progress(f"[{self.done}/{self.total}] {what}")


def load_export(
    opts: ReportOptions, codebook, progress: Callable[[str], None], *, records: Records | None = None
) -> LoadResult:
    """The export loaded through the codebook, saying on screen how it was read and what was kept;
    with ``--hold-new-respondents`` as the latest earlier publication in ``records`` had it."""
    loaded = load_responses(opts.data, codebook, on_invalid=opts.on_invalid)
    report = loaded.report
    for note in report.notes:  # a tab delimiter, UTF-16, title rows skipped above the header
        progress(f"        {note}")
    progress(f"        {report.n_read:,}行を読み込み: 採用{report.n_accepted:,}行、除外{report.n_rejected:,}行")
    if report.n_rejected:  # say why on screen, not only in validation_rejected_rows.csv
        reasons = report.rejected()["reason"].value_counts(sort=False)
        progress("        除外の理由: " + "、".join(f"{k} {int(v):,}行" for k, v in reasons.items()))
        if not report.n_accepted:
            raise LoadError(all_rejected(report, codebook))
    if opts.hold_new_respondents and records is not None:  # the earlier set again: the others wait
        loaded = hold_back(loaded, records, codebook.survey.id, progress)
    return loaded


def all_rejected(report, codebook) -> str:
    """The one line when every row of an export was excluded: the reasons, and what to check first
    (the fielding window of last year's codebook is the usual cause)."""
    reasons = report.rejected()["reason"].value_counts()
    said = "、".join(f"{k} {int(v):,}行" for k, v in reasons.items())
    s = codebook.survey
    if reasons.index[0] == R_WINDOW:
        hint = (
            f"コードブックの実施期間（survey の fielded_from {s.fielded_from}～fielded_to {s.fielded_to}）が回答の日付と"
            "合っているか確かめ、今回の調査のコードブックを --codebook で指定する"
        )
    else:
        hint = "python -m ppp_survey.report check --data で列と値をコードブックと照合してから再実行する"
    return f"回答データ {Path(report.file).name}: 読み込んだ{report.n_read:,}行をすべて除外した（{said}）。{hint}"


def illustrative_frame_notice(frame: Path, *, what: str = "職員数フレーム", option: str = "--frame") -> str:
    """The line that says a run is weighted by an illustrative staff frame (or margins file) and
    labelled 架空データ."""
    line, _ = illustrative_frame(frame) or (0, "")
    where = f"（{line}行目の注記）" if line else ""
    return (
        f"注意: {what} {Path(frame).name} の職員数は例示（架空）です{where}。"
        f"すべての出力に「架空データ」と明記します（実際の職員数のCSVを {option} に指定すると外れます）"
    )


def matrix_model(opts: ReportOptions, codebook) -> tuple[str, tuple[str, ...]]:
    """The association model the policy matrix file names (its ``associations``: response and terms),
    or willingness on 職域, 職位, 年代, 2-(3) and 2-(6); a matrix that does not fit the codebook is
    reported by the matrix step (:func:`policy_matrix`)."""
    from ppp_survey.spec.matrix_file import load_matrix
    from ppp_survey.survey.associations import DEFAULT_RESPONSE, DEFAULT_TERMS

    try:
        model = load_matrix(opts.matrix, codebook=codebook).model
    except MatrixError:
        model = None
    return model or (DEFAULT_RESPONSE, tuple(DEFAULT_TERMS))


def policy_matrix(opts: ReportOptions, analysis, *, progress: Callable[[str], None]) -> PolicyResult | None:
    """Evaluate the policy matrix on this run's data: evidence, KPI table and reverse view.

    The matrix never disappears silently: a matrix that does not fit the run's codebook (the
    packaged one, written for the R7 questionnaire, or ``--matrix``) stops the run with one line
    saying how to go on; only ``--no-matrix`` publishes without it (and then no output mentions it).
    """
    from ppp_survey.spec.matrix_file import load_matrix

    if opts.no_matrix:
        progress("        作らない（--no-matrix）: 政策マトリクスはどの出力にも載せない")
        return None
    try:
        matrix = load_matrix(opts.matrix, codebook=analysis.codebook)
    except MatrixError as exc:
        if opts.matrix is not None:
            raise
        raise MatrixError(
            f"同梱の政策マトリクス（令和7年度の調査票用）がこのコードブックに合わない（{str(exc).splitlines()[0]}）。"
            "自分の調査票に合わせたマトリクスを --matrix で指定するか（README「自分の調査票に合わせたマトリクスの書き方」）、"
            "マトリクスなしで公表するなら --no-matrix を付けて再実行する"
        ) from None
    policy = assess(matrix, analysis)
    counts = policy.verdict_counts()
    progress(f"        指標{len(policy.evidence)}件: " + "、".join(f"{k}{v}" for k, v in counts.items()))
    return policy


def this_wave(opts: ReportOptions, analysis) -> Wave:
    """This run's analysis as a wave of the comparison and of a frozen baseline: the same pooled
    groups and weights as every table of the run (nothing is loaded, pooled or raked again), with
    the codebook, frame and margins files it came from, and the note every wave has
    (:func:`~ppp_survey.compare.wave.wave_note`)."""
    from ppp_survey.compare.wave import Wave, wave_inputs, wave_note

    margins = opts.margins if opts.calibrate else None
    inputs = wave_inputs(analysis.source_codebook or analysis.codebook, opts.frame, margins)
    return Wave(analysis, wave_note(analysis, opts.synthetic), opts.synthetic, inputs)


def compare_waves(
    opts: ReportOptions,
    baseline,
    wave,
    policy: PolicyResult | None,
    *,
    progress: Callable[[str], None],
) -> tuple[ChangeTable, pd.DataFrame | None]:
    """The change table against the frozen baseline (read by :func:`run`), and the KPI table with
    next year's column."""
    from ppp_survey.compare.changes import compare
    from ppp_survey.spec.mapping import load_mapping

    progress(f"        基準値: {baseline.describe()}")
    codebook = wave.codebook
    mapping = load_mapping(opts.mapping, baseline.codebook, codebook)
    changes = compare(
        baseline, wave, mapping, fpc=opts.fpc_change, adjust=Adjust.BH if opts.change_fdr else Adjust.NONE
    )
    counts = changes.rows[changes.rows["group"] == "全体"]["verdict"].value_counts()
    progress("        全体: " + "、".join(f"{k}{int(v)}" for k, v in counts.items()))
    kpi = None
    if policy is None:  # --no-matrix: no KPI table either
        return changes, kpi
    from ppp_survey.outputs.change_sheets import kpi_progress
    from ppp_survey.policy.kpi import levers

    try:
        kpi = kpi_progress(policy.matrix, baseline, changes, levers=levers(policy.matrix, policy.evidence, codebook))
    except MatrixError as exc:
        progress(f"        KPI表: 基準値のコードブックにマトリクスが合わないため省略（{str(exc).splitlines()[0]}）")
    return changes, kpi


def freeze(opts: ReportOptions, wave, *, progress: Callable[[str], None]) -> list[Path]:
    """Freeze this run's results as next year's baseline, staged and switched with the rest (:func:`ppp_survey.compare.freeze_baseline`)."""
    from ppp_survey.compare.baseline import freeze_baseline

    folder = opts.freeze_baseline
    if folder is None:
        raise ValueError("freeze() needs opts.freeze_baseline, the folder to write the baseline to")
    manifest = freeze_baseline(wave, folder, stage=Staging.current())
    progress(f"        基準値を凍結: {folder}（manifest SHA-256 {sha256_file(manifest)[:12]}…）")
    return sorted(p for p in manifest.parent.iterdir() if p.is_file())


def _coverage(analysis, progress: Callable[[str], None]) -> dict:
    """Which staff the estimates represent: the whole frame unless a stratum has no respondent,
    which is then said on screen (and in the source note and the manifest)."""
    design = analysis.design
    if design.empty_strata:
        progress(
            f"        注意: 回答のない{analysis.codebook.stratum.label}（{'、'.join(map(str, design.empty_strata))}）"
            f"があるため、推定は職員{int(design.covered_population):,}人を代表します（出典注記に明記）"
        )
    return {
        "population": int(design.population.sum()),
        "covered": int(design.covered_population),
        "no_respondents": [str(x) for x in design.empty_strata],
    }


def disclosure_audit(analysis, min_group: int, progress: Callable[[str], None]) -> dict:
    """Say what was pooled for anonymity, audit the publication as an attacker would
    (:func:`~ppp_survey.survey.audit.audit_publication`) and refuse to publish when it leaks.
    Returns the audit's summary for the manifest."""
    pools = analysis.pools
    if pools:
        progress(f"        匿名性: {pooling_note(pools, analysis.source_codebook or analysis.codebook, min_group)}")
    else:
        progress(f"        匿名性: 回答者{min_group}人未満の集団はなし（統合なし）")
    result = analysis.audit_disclosure()
    summary = result.summary()
    if not result.passed:
        leak = result.intervals[result.intervals["status"] == "開示"].iloc[0]
        codebook = analysis.source_codebook or analysis.codebook
        attr, question = codebook.item(leak["attribute"]).label, codebook.item(leak["question"]).number
        raise DisclosureError(
            f"開示監査: 公表する表から{attr}「{leak['group']}」の{question}「{leak['answer']}」の"
            f"回答数が{leak['low']:.0f}〜{leak['high']:.0f}人に特定できるため公表を中止しました（出力先は前回のままです）。"
            "--min-group を大きくして再実行し、解消しなければ開発者に報告してください"
        )
    if summary["counts_checked"]:
        progress(
            f"        開示監査: 統合した集団{len(summary['protected_groups'])}件の回答数{summary['counts_checked']:,}個を"
            "公表値から逆算できないことを確認"
        )
    return summary


def main(argv: list[str] | None = None) -> int:
    """The command line: the report, or with ``check`` / ``init-codebook`` first the codebook's
    onboarding (:mod:`ppp_survey.report.onboard`). Returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        return onboard(argv)
    try:
        args = build_parser().parse_args(argv)
        run(options_from_args(args))
    except PppSurveyError as exc:
        print(f"エラー: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    return 0


def command() -> NoReturn:
    """The command line as a program (``python -m ppp_survey.report``, ``ppp-survey``): :func:`main`,
    then the process ends with its status. The objects of the finished run are frozen out of the
    garbage collector first (``gc.freeze``): the interpreter's collections at exit would otherwise
    walk every one of them (about 0.3 s of a 5 s report), to free memory the process gives back
    anyway. Every output is written and closed by then; the standard streams are flushed at exit as
    always. (Not in :func:`main`, which tests and notebooks call in a process that goes on.)"""
    status = main()
    gc.freeze()
    raise SystemExit(status)


if __name__ == "__main__":
    command()
