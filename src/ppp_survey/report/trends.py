"""The report's trend step (``--history``): this run's wave after the frozen baselines of earlier waves.

``--history FOLDER`` names a frozen baseline (``--freeze-baseline`` of an earlier run), oldest
first, once per wave (``--history data/processed/baseline_r7 --history data/processed/baseline_r8``),
or a folder holding such folders (each subfolder with a ``manifest.json``; ordered by when each
wave was fielded). The mapping between each wave's codebook and the next one's is found by the
codebooks' ``survey.id`` (a mapping file's ``from``/``to``) among the ``--history-mapping`` files
and ``--mapping``, then among the packaged mappings (``mapping_r7_r8.yaml``); a link with none
requires identical codebooks. The trend itself is :func:`ppp_survey.compare.trend.trend`.

:func:`trend_step` returns a :class:`TrendStep` that writes the CSV tables (``trends_overall.csv``,
``trends_by_group.csv``, ``trends_not_followed.csv``, ``trends_summary.csv`` (the headline
indicators: for the committee paper) and with a policy matrix
``policy_matrix_kpi_trend.csv``), the workbook sheets 経年変化 and the charts ``経年_….png``; without
``--history`` it writes nothing, so the pipeline calls it unconditionally.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from ppp_survey.compare.baseline import Baseline, load_baseline
from ppp_survey.compare.trend import TrendTable, trend
from ppp_survey.errors import BaselineError, MatrixError
from ppp_survey.files import write_csv
from ppp_survey.report.options import ReportOptions
from ppp_survey.spec.codebook import Codebook
from ppp_survey.spec.schema import load_yaml
from ppp_survey.survey.multiplicity import Adjust

__all__ = ["TrendStep", "history_folders", "trend_step"]


@dataclass(frozen=True)
class TrendStep:
    """The trend of a run (``table`` None without ``--history``) and its KPI rows, written by the pipeline."""

    table: TrendTable | None = None
    kpi: pd.DataFrame | None = None
    note: str = ""
    codebook: Codebook | None = None  # the current wave's

    def tables(self, staged: ReportOptions) -> list[Path]:
        """The published CSVs of the trend (none without ``--history``)."""
        if self.table is None:
            return []
        from ppp_survey.outputs.trend_sheets import kpi_trend_display, trend_summary, trend_tables

        overall, groups = trend_tables(self.table)
        nf = self.table.not_followed.rename(
            columns={"link": "対応表", "item": "項目", "status": "状態", "reason": "理由"}
        )
        written = [
            write_csv(overall, staged.tables / "trends_overall.csv"),
            write_csv(groups, staged.tables / "trends_by_group.csv"),
            write_csv(nf, staged.tables / "trends_not_followed.csv"),
        ]
        if self.codebook is not None:  # the headline indicators: the committee paper's 経年変化 table
            written.append(write_csv(trend_summary(self.table, self.codebook), staged.tables / "trends_summary.csv"))
        if self.kpi is not None:
            kpi = kpi_trend_display(self.kpi, self.table)
            written.append(write_csv(kpi, staged.tables / "policy_matrix_kpi_trend.csv"))
        return written

    def sheets(self, source_note: str) -> list:
        """The workbook's sheets 経年変化（全体）, 経年変化（職域別）, 経年変化の対象外, KPIの推移."""
        if self.table is None:
            return []
        from ppp_survey.outputs.trend_sheets import trend_sheets

        return trend_sheets(self.table, source_note=self.note or source_note, kpi=self.kpi, codebook=self.codebook)

    def figures(self, codebook, name_of: Callable) -> list[tuple[str, Callable]]:
        """(file name, draw function) of the trend charts."""
        if self.table is None:
            return []
        from ppp_survey.outputs.trend_sheets import trend_figure_plan

        return trend_figure_plan(self.table, codebook, name_of, note=self.note)


def trend_step(opts: ReportOptions, wave, policy=None, *, progress: Callable[[str], None]) -> TrendStep:
    """The trend of this run's ``wave`` after the ``--history`` baselines (an empty step without them):
    the same FPC and multiplicity options as the comparison (``--fpc-change``; ``--change-fdr``:
    Benjamini–Hochberg), and with a policy matrix the KPI table with a column per wave."""
    if not opts.history:
        return TrendStep()
    history = [load_baseline(folder) for folder in history_folders(opts.history)]
    codebooks = [b.codebook for b in history] + [wave.codebook]
    mappings: list = _mappings(codebooks, [*opts.history_mappings, *([opts.mapping] if opts.mapping else [])])
    progress(f"        経年変化: {'→'.join(cb.survey.wave for cb in codebooks)}（基準値{len(history)}件）")
    table = trend(history, wave, mappings, fpc=opts.fpc_change, adjust=Adjust.BH if opts.change_fdr else Adjust.NONE)
    overall = table.trends[table.trends["group"] == "全体"]["verdict"].value_counts()
    progress("        傾き（全体）: " + "、".join(f"{k}{int(v)}" for k, v in overall.items()))
    return TrendStep(table, _kpi(opts, history[0], table, policy, progress), table.note, wave.codebook)


def history_folders(given: tuple[Path, ...]) -> list[Path]:
    """The baseline folders of ``--history``, oldest first: each given folder that holds a
    ``manifest.json``, or the subfolders that do of a folder that holds none (ordered by when each
    wave was fielded)."""
    out: list[Path] = []
    for folder in given:
        if folder.name == "manifest.json" or _is_baseline(folder) or not folder.is_dir():
            out.append(folder)  # load_baseline says what is wrong with a folder that is not one
            continue
        inner = [p for p in sorted(folder.iterdir()) if _is_baseline(p)]
        if not inner:
            raise BaselineError(
                f"--history {folder.name}: 凍結した基準値のフォルダ（manifest.json のあるフォルダ）でも、それを含むフォルダでもない"
                f"（場所: {folder}）。--freeze-baseline が書いたフォルダを古い順に指定する"
            )
        out += sorted(inner, key=_fielded)
    return out


def _manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_baseline(folder: Path) -> bool:
    """A folder written by ``--freeze-baseline`` (its manifest says so; not a report's own manifest)."""
    return _manifest(folder).get("format") == "ppp_survey baseline"


def _fielded(folder: Path) -> str:
    survey = _manifest(folder).get("survey")
    return str(survey.get("fielded_from", "")) if isinstance(survey, dict) else ""


def _mappings(codebooks, files: list[Path]) -> list[Path | str | None]:
    """Each link's mapping: the file whose ``from``/``to`` are the two codebooks' ``survey.id``, else
    the packaged ``mapping_<from>_<to>.yaml``, else None (identical codebooks required)."""
    declared: dict[tuple[str, str], Path] = {}
    for f in files:
        try:
            raw = load_yaml(Path(f).read_text(encoding="utf-8-sig")) if Path(f).is_file() else None
        except (OSError, yaml.YAMLError):
            raw = None
        if isinstance(raw, dict):
            declared.setdefault((str(raw.get("from")), str(raw.get("to"))), f)
    out: list[Path | str | None] = []
    for old, new in zip(codebooks, codebooks[1:]):
        link = (old.survey.id, new.survey.id)
        packaged = f"mapping_{link[0]}_{link[1]}.yaml"
        if link in declared:
            out.append(declared[link])
        elif (resources.files("ppp_survey") / "data" / packaged).is_file():
            out.append(packaged)
        else:
            out.append(None)
    return out


def _kpi(opts: ReportOptions, first: Baseline, table: TrendTable, policy, progress) -> pd.DataFrame | None:
    """The KPI table with a column per wave, on the codebook of the first wave (the matrix's)."""
    from ppp_survey.outputs.trend_sheets import kpi_trend
    from ppp_survey.spec.matrix_file import load_matrix

    try:
        matrix = load_matrix(opts.matrix, codebook=first.codebook)
        return kpi_trend(matrix, table, first.codebook)
    except MatrixError as exc:
        if policy is not None:
            progress(
                f"        KPIの推移: 最初の回のコードブックにマトリクスが合わないため省略（{str(exc).splitlines()[0]}）"
            )
        return None
