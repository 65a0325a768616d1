"""Layer 7 — ``python -m ppp_survey.report`` (or ``ppp-survey``): the command line and its one-way
pipeline, see :mod:`.cli`.

Nothing is imported here: ``python -m ppp_survey.report`` imports this package before its
``__main__``, whose first line loads the libraries where a Ctrl-C is one line, not a traceback."""

from __future__ import annotations

from typing import Any

__all__ = ["main"]


def __getattr__(name: str) -> Any:
    if name == "main":
        from ppp_survey.report.cli import main

        return main
    raise AttributeError(f"module 'ppp_survey.report' has no attribute {name!r}")
