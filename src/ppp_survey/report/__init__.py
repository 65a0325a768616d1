"""Layer 7 — ``python -m ppp_survey.report`` (or ``ppp-survey``): the command line and its one-way
pipeline, see :mod:`.cli`."""

from ppp_survey.report.cli import main

__all__ = ["main"]
