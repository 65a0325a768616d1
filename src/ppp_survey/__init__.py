"""ppp_survey: 官民連携に関する職員意識調査の集計・推定・図表化.

Load a response export through a codebook (:func:`load_responses`), account for every row
(:class:`ValidationReport`), compute response rates against the staff frame
(:func:`response_rates`), and regenerate every output with ``python -m ppp_survey.report``.
The bundled data are synthetic (架空データ); see README.md.
"""

from __future__ import annotations

from typing import Any

from ppp_survey.errors import (
    BaselineError,
    CodebookError,
    FrameError,
    LoadError,
    MappingError,
    MatrixError,
    PppSurveyError,
)

_LAZY = {  # loaded on first use: `import ppp_survey` imports neither pandas, scipy nor matplotlib
    "Choice": "spec.codebook",
    "Codebook": "spec.codebook",
    "Item": "spec.codebook",
    "load_codebook": "spec.codebook",
    "write_export": "synth.forms",
    "load_frame": "spec.frame",
    "LoadResult": "ingest.load",
    "ValidationReport": "ingest.load",
    "load_responses": "ingest.load",
    "response_rates": "survey.rates",
    "generate": "synth.generator",
    "Analysis": "analysis",
    "Survey": "analysis",
    "analyse": "analysis",
    "load_survey": "analysis",
    # design-based estimation for any data (R survey's svydesign / svymean / svytotal / svychisq)
    "stratified_design": "survey.design",
    "StratifiedDesign": "survey.design",
    "survey_mean": "survey.estimate",
    "survey_total": "survey.estimate",
    "survey_difference": "survey.estimate",
    "rao_scott": "survey.significance",
    "versus_rest": "survey.significance",
    # policy matrix (2-(8)): 現状 → めざす具体像 → 具体的な取組 (matrix), the survey's evidence (evidence)
    "PolicyMatrix": "spec.matrix",
    "load_matrix": "spec.matrix_file",
    "evaluate": "policy.evidence",
    "assess": "policy.assess",
    "PolicyResult": "policy.assess",
    "reverse_view": "policy.kpi",
    "kpi_table": "policy.kpi",
    "format_evidence": "outputs.evidence_text",
    # waves and the codebook mapping: next year's survey against the frozen baseline (the comparison is
    # ppp_survey.compare.compare: a top-level name `compare` would clash with the submodule)
    "Wave": "compare.wave",
    "load_wave": "compare.wave",
    "load_wave_from_environment": "compare.wave",
    "from_environment": "compare.wave",
    "load_mapping": "spec.mapping",
    "Baseline": "compare.baseline",
    "freeze_baseline": "compare.baseline",
    "load_baseline": "compare.baseline",
    "display_changes": "outputs.change_charts",
}


def _version() -> str:
    """The installed package's version (single source: pyproject.toml); read on first use, so that
    ``python -m ppp_survey`` loads nothing before its ``__main__`` (importlib.metadata takes a while)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ppp_survey")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = _version()
        globals()[name] = value
        return value
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value  # later look-ups are plain attribute access
        return value
    raise AttributeError(f"module 'ppp_survey' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "StratifiedDesign",
    "rao_scott",
    "stratified_design",
    "survey_difference",
    "survey_mean",
    "survey_total",
    "versus_rest",
    "Analysis",
    "Baseline",
    "BaselineError",
    "MappingError",
    "MatrixError",
    "PolicyMatrix",
    "Wave",
    "display_changes",
    "evaluate",
    "assess",
    "PolicyResult",
    "format_evidence",
    "freeze_baseline",
    "kpi_table",
    "load_baseline",
    "load_mapping",
    "load_matrix",
    "load_wave",
    "load_wave_from_environment",
    "from_environment",
    "reverse_view",
    "Survey",
    "analyse",
    "load_survey",
    "Choice",
    "Codebook",
    "CodebookError",
    "FrameError",
    "Item",
    "LoadError",
    "LoadResult",
    "PppSurveyError",
    "ValidationReport",
    "__version__",
    "generate",
    "load_codebook",
    "load_frame",
    "load_responses",
    "response_rates",
    "write_export",
]
