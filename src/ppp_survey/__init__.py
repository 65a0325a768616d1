"""ppp_survey: 官民連携に関する職員意識調査の集計・推定・図表化.

Load a response export through a codebook (:func:`load_responses`), account for every row
(:class:`ValidationReport`), compute response rates against the staff frame
(:func:`response_rates`), and regenerate every output with ``python -m ppp_survey.report``.
The bundled data are synthetic (架空データ); see README.md.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .codebook import Choice, Codebook, Item, load_codebook
from .errors import CodebookError, FrameError, LoadError, PppSurveyError
from .export import write_export
from .frame import load_frame
from .load import LoadResult, ValidationReport, load_responses
from .rates import response_rates



def __getattr__(name: str):
    # The generator is loaded on first use, so `python -m ppp_survey.synth` does not import it twice.
    if name == "generate":
        from .synth import generate

        return generate
    raise AttributeError(f"module 'ppp_survey' has no attribute {name!r}")


__all__ = [
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
