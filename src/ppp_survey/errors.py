"""Errors a user can act on, all in one place.

Every error the package raises for bad input derives from :class:`PppSurveyError`. The command line
turns these into one line on stderr and exit status 2; anything else is a bug and keeps its traceback.
Messages name the file, row, column and value where they apply, and say what to do.

The modules that raise an error also import it, so ``from ppp_survey.spec.mapping import
MappingError`` names the same class as ``from ppp_survey.errors import MappingError``. No other module
defines an exception (tests/test_architecture.py checks it; the one exception is
:class:`ppp_survey.workers.WorkerDied`, an internal ``RuntimeError``, never the user's doing).
"""

from __future__ import annotations

__all__ = [
    "BaselineError",
    "CalibrationError",
    "CodebookError",
    "CommitteeError",
    "DesignError",
    "DisclosureError",
    "FrameError",
    "LoadError",
    "MappingError",
    "MarginsError",
    "MatrixError",
    "OptionError",
    "OutputError",
    "PppSurveyError",
    "PublicationError",
    "RegressionError",
    "TrendError",
]


class PppSurveyError(Exception):
    """Base class of errors caused by the user's input (files, options), not by the package."""


# ------------------------------------------------------------------------------- input files (spec/)


class CodebookError(PppSurveyError):
    """Raised when the codebook file is missing, malformed or inconsistent
    (:func:`ppp_survey.spec.codebook.load_codebook`)."""


class FrameError(PppSurveyError):
    """Raised when the staff frame (職域別職員数) is missing, malformed or inconsistent with the data
    (:func:`ppp_survey.spec.frame.load_frame`, the response rates)."""


class MarginsError(FrameError):
    """Raised when the margins file (職位別・年代別の職員数, ``--margins``) is missing, malformed or
    inconsistent with the codebook (:func:`ppp_survey.spec.margins.load_margins`)."""


class MappingError(PppSurveyError):
    """Raised when a mapping file (``--mapping``) is malformed, or the two codebooks differ in a way it
    does not declare (:func:`ppp_survey.spec.mapping.load_mapping`)."""


class MatrixError(PppSurveyError):
    """Raised when the policy matrix file (``--matrix``) is missing, malformed, or refers to what the
    codebook does not have (:func:`ppp_survey.spec.matrix_file.load_matrix`)."""


class LoadError(PppSurveyError):
    """Raised when a response export cannot be read, or holds values the codebook does not describe
    (:func:`ppp_survey.ingest.load.load_responses` with ``on_invalid="error"``)."""


# ---------------------------------------------------------------------------------- estimation (survey/)


class DesignError(PppSurveyError, ValueError):
    """Raised when the data and the sampling frame do not make a valid stratified design
    (:func:`ppp_survey.survey.design.stratified_design`).

    A :class:`ValueError` (bad values) and a :class:`PppSurveyError` (the user can act on it), so the
    command line reports it in one line.
    """


class CalibrationError(PppSurveyError, ValueError):
    """Raised when the margins cannot be met by the respondents' weights
    (:func:`ppp_survey.survey.calibration.rake`: a category without respondents, totals that
    disagree, bounds that are too tight, or no convergence)."""


class RegressionError(PppSurveyError, ValueError):
    """Raised when a model cannot be fitted to the data (:func:`ppp_survey.survey.regression.survey_glm`:
    a response that is not 0/1, a term without variation, separation, or a fit that does not
    converge)."""


# ---------------------------------------------------------------------------------- waves (compare/)


class BaselineError(PppSurveyError):
    """Raised when a frozen baseline folder (``--compare``, ``--history``) is missing, incomplete, no
    longer matches its manifest, or cannot be compared with the wave
    (:func:`ppp_survey.compare.load_baseline`, :func:`ppp_survey.compare.compare`)."""


class TrendError(PppSurveyError):
    """Raised when a history of waves cannot make a trend (:func:`ppp_survey.compare.trend`: too few
    waves, mappings that do not chain)."""


# ---------------------------------------------------------------------------- outputs and the report


class OutputError(PppSurveyError):
    """Raised when the output folder cannot be written, or another run is writing to it
    (:func:`ppp_survey.files.output_lock`, the staging folder, ``--out``)."""


class CommitteeError(PppSurveyError):
    """Raised when the committee paper's PDF could not be printed (the browser failed or timed out;
    :func:`ppp_survey.outputs.committee_pdf.write_committee_paper`)."""


class OptionError(PppSurveyError):
    """Raised when the report cannot run with its options (a usage error, a real export without its
    staff frame; :mod:`ppp_survey.report.options`)."""


class DisclosureError(PppSurveyError):
    """Raised when the disclosure audit found a protected count an attacker could derive: nothing is
    published (:func:`ppp_survey.report.cli.disclosure_audit`)."""


class PublicationError(PppSurveyError):
    """Raised when a publication of a wave would disclose respondents by difference with an earlier
    one (the publication record, :mod:`ppp_survey.report.ledger`)."""
