"""Checks for the package's YAML data files (codebook, policy matrix, codebook mapping).

Each file is parsed by hand-written code that walks the YAML and builds frozen dataclasses; this
module holds what those walkers share: the checks of a node's shape that end in an error naming
the file and the place in it, in one Japanese line (``コードブック codebook_r8.yaml questions[3].choices:
リスト（「- 」で始まる行）のはずが文字列になっている。…``), so that a user who edits a data file learns
where to look and what to do. Each file kind subclasses :class:`FileChecker` with its error class,
its name for the file (``kind``) and its own checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, NoReturn

from ppp_survey.errors import PppSurveyError

_KINDS = {
    "NoneType": "空（値なし）",
    "str": "文字列",
    "int": "整数",
    "float": "数値",
    "bool": "真偽値（true/false）",
    "list": "リスト",
    "dict": "キーと値の組",
    "date": "日付",
    "datetime": "日時",
}


def yaml_kind(raw: Any) -> str:
    """What a YAML value is, in the words of the messages (``リスト``, ``文字列``, ...)."""
    return _KINDS.get(type(raw).__name__, type(raw).__name__)


def file_label(name: str) -> str:
    """The file as messages name it: its name without the folders (a packaged file keeps its note)."""
    return PurePath(name).name or name


class FileChecker:
    """Raise ``error`` with ``"{kind} {file} {N行目} {where}: {message}"``; check a node's shape.

    ``lines`` maps key paths (``questions[3].choices[2]``) to their line in the file (from
    :func:`yaml_lines`); a place found there is named by its line too, as the editor shows it.
    """

    error: type[PppSurveyError] = PppSurveyError
    kind: str = "ファイル"

    def __init__(self, name: str, lines: Mapping[str, int] | None = None) -> None:
        self.name = name
        self.lines = lines or {}

    def fail(self, where: str, message: str) -> NoReturn:
        line = self.lines.get(where)
        place = (f" {line}行目" if line else "") + (f" {where}" if where else "")
        raise self.error(f"{self.kind} {file_label(self.name)}{place}: {message}")

    def mapping(self, raw: Any, where: str) -> dict:
        if not isinstance(raw, dict):
            self.fail(
                where,
                f"キーと値の組（key: value）のはずが{yaml_kind(raw)}になっている。字下げと「:」の位置を確かめる",
            )
        return raw

    def sequence(self, raw: Any, where: str) -> list:
        if not isinstance(raw, list):
            self.fail(where, f"リスト（「- 」で始まる行）のはずが{yaml_kind(raw)}になっている。各要素を「- 」で始める")
        return raw

    def required(self, m: dict, key: str, where: str) -> Any:
        if m.get(key) in (None, ""):
            self.fail(where, f"「{key}」がない。「{key}: …」を書く")
        return m[key]


def read_yaml(text: str, *, kind: str, name: str, error: type[PppSurveyError]) -> Any:
    """Parse YAML text; a syntax error becomes ``error`` naming the file and the line."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" {mark.line + 1}行目" if mark else ""
        raise error(
            f"{kind} {file_label(name)}{where}: YAMLとして読めない（{getattr(exc, 'problem', exc)}）。"
            "字下げ・「:」・引用符・括弧の閉じ忘れを確かめる"
        ) from None


def yaml_lines(text: str) -> dict[str, int]:
    """The 1-based line of every key and list item of a YAML text, by key path (``survey``,
    ``survey.population``, ``questions[3].choices[2]``), so that messages can name the line.
    Text that does not parse gives ``{}`` (:func:`read_yaml` reports it)."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    sub = f"{path}.{key.value}" if path else str(key.value)
                    lines.setdefault(sub, key.start_mark.line + 1)
                    walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub = f"{path}[{i}]"
                lines.setdefault(sub, item.start_mark.line + 1)
                walk(item, sub)

    walk(root, "")
    return lines
