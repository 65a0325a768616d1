"""Errors a user can act on.

Every error the package raises for bad input derives from :class:`PppSurveyError`. The command line
turns these into one line on stderr and exit status 2; anything else is a bug and keeps its traceback.
Messages name the file, row, column and value where they apply, and say what to do.
"""

from __future__ import annotations


class PppSurveyError(Exception):
    """Base class of errors caused by the user's input (files, options), not by the package."""


class CodebookError(PppSurveyError):
    """The codebook file is missing, malformed or inconsistent."""


class FrameError(PppSurveyError):
    """The staff frame (職域別職員数) is missing, malformed or inconsistent with the data."""


class LoadError(PppSurveyError):
    """A response export cannot be read, or holds values the codebook does not describe."""
