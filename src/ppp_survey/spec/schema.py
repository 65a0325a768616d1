"""Checks for the package's YAML data files (codebook, policy matrix, codebook mapping).

Each file is parsed by hand-written code that walks the YAML and builds frozen dataclasses; this
module holds what those walkers share: the checks of a node's shape that end in an error naming
the file and the place in it (``codebook codebook_r8.yaml: questions[3].choices: expected a list``),
so that a user who edits a data file learns where to look. Each file kind subclasses
:class:`FileChecker` with its error class and its own checks.
"""

from __future__ import annotations

from typing import Any, NoReturn

from ppp_survey.errors import PppSurveyError


class FileChecker:
    """Raise ``error`` with ``"{kind} {name}: {where}: {message}"``; check a node's shape."""

    error: type[PppSurveyError] = PppSurveyError
    kind: str = "file"

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, where: str, message: str) -> NoReturn:
        place = f" {where}:" if where else ""
        raise self.error(f"{self.kind} {self.name}:{place} {message}")

    def mapping(self, raw: Any, where: str) -> dict:
        if not isinstance(raw, dict):
            self.fail(where, f"expected a mapping (key: value), got {type(raw).__name__}")
        return raw

    def sequence(self, raw: Any, where: str) -> list:
        if not isinstance(raw, list):
            self.fail(where, f"expected a list, got {type(raw).__name__}")
        return raw

    def required(self, m: dict, key: str, where: str) -> Any:
        if m.get(key) in (None, ""):
            self.fail(where, f"'{key}' is missing")
        return m[key]


def read_yaml(text: str, *, kind: str, name: str, error: type[PppSurveyError]) -> Any:
    """Parse YAML text; a syntax error becomes ``error`` naming the file and the line."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise error(f"{kind} {name}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
