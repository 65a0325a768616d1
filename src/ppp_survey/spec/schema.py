"""Checks for the package's YAML data files (codebook, policy matrix, codebook mapping).

The shape of each kind of entry (which keys, their kinds, required or optional, allowed values,
defaults) is declared once, as data: a tuple of :class:`Field`, e.g. a matrix's goal is
``(Field("id", required=True), Field("text", required=True), Field("note"))``. One generic
checker, :func:`read_entry`, walks such a declaration and writes every message of a malformed
entry, in one Japanese line naming the file, the line and the key path (``コードブック codebook_r8.yaml
12行目 questions[3].choices: リスト（「- 」で始まる行）のはずが文字列になっている。…``), so that a user who
edits a data file learns where to look and what to do. The parsers of the files state only their
semantic rules (references between entries, uniqueness, codebook lookups), as named functions placed
among the fields (an :data:`EntryRule`, run in the declared order, on the values read so far). Each file
kind subclasses :class:`FileChecker` with its error class and its name for the file (``kind``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal, NoReturn

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

    def field(self, m: dict, f: Field, where: str) -> Any:
        """The value of ``f`` in the entry ``m`` at ``where``, read by its kind (:data:`Kind`)."""
        path = f"{where}.{f.key}" if where else f.key
        if f.kind in ("list", "ids"):
            raw = self.required(m, f.key, where) if f.required else (m.get(f.key) or [])
            items = self.sequence(raw, path)
            if f.kind == "list":
                return items
            if f.required and not items:
                self.fail(where, f"「{f.key}」が空。idを1つ以上書く")
            return tuple(str(x) for x in items)
        if f.kind == "mapping":
            return self.mapping(m.get(f.key) or {}, path)
        if f.kind == "count":
            return self._count(m.get(f.key, f.default), f, where, path)
        if f.kind == "optional":
            return str(m[f.key]) if m.get(f.key) else None
        if f.kind == "texts":
            value = m.get(f.key)
            return [] if value is None else [str(x) for x in value] if isinstance(value, list) else [str(value)]
        text = str(self.required(m, f.key, where)) if f.required else str(m.get(f.key, f.default))
        if f.allowed and text not in f.allowed:
            self.fail(where, f"「{f.key}: {text}」は使えない。{'、'.join(f.allowed)} のいずれかを書く")
        return text.strip() if f.kind == "note" else text

    def _count(self, value: Any, f: Field, where: str, path: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            shown, place = (f"{value}", path) if f.at_key else (f"{f.key}: {value}", where)
            self.fail(place, f"「{shown}」は1以上の整数ではない。{f.hint}")
        return value


Kind = Literal["text", "note", "optional", "texts", "ids", "list", "mapping", "count"]
"""How a key's value is read (:meth:`FileChecker.field`):

``text``      a text (``str()`` of the value; ``default`` when the key is absent)
``note``      a text, stripped of surrounding spaces
``optional``  a text, or None when the value is absent or empty
``texts``     one text or a list of texts → a list of texts
``ids``       a list of ids (``「- 」`` lines) → a tuple of texts; ``required``: at least one
``list``      a list of entries (each read by its own declaration)
``mapping``   a ``key: value`` mapping (absent: ``{}``)
``count``     a whole number ≥ 1 (``default`` when absent); ``hint`` says what to write
"""


@dataclass(frozen=True)
class Field:
    """One key of a YAML entry, declared: its ``kind``, whether it is ``required``, its ``default``
    when absent, the values ``allowed`` (a text's), and for a ``count`` the ``hint`` of its message;
    ``at_key``: a ``count``'s message points at the key itself and quotes only the value."""

    key: str
    kind: Kind = "text"
    required: bool = False
    default: Any = ""
    allowed: tuple[str, ...] = ()
    hint: str = ""
    at_key: bool = False


class Entry(dict[str, Any]):
    """The values of one entry read so far, by key; ``raw`` is the entry's mapping as written and
    ``where`` its key path (``categories[0].situations[2]``)."""

    def __init__(self, raw: dict, where: str) -> None:
        super().__init__()
        self.raw, self.where = raw, where


EntryRule = Callable[..., None]
"""A semantic rule of an entry, ``rule(checker, entry)``: fails with a message, or adds values."""


def read_entry(v: FileChecker, raw: Any, where: str, steps: Sequence[Field | EntryRule]) -> Entry:
    """Read one YAML entry by its declaration: ``raw`` must be a mapping; each :class:`Field` is
    read and checked (:meth:`FileChecker.field`), each rule applied, in the declared order (so the
    first problem of the entry is the one reported)."""
    return read_more(v, Entry(v.mapping(raw, where), where), steps)


def read_more(v: FileChecker, entry: Entry, steps: Sequence[Field | EntryRule]) -> Entry:
    """Go on reading ``entry`` with further ``steps`` (the declaration that a value read decides:
    a matrix indicator's ``statistic``, for one)."""
    for step in steps:
        if isinstance(step, Field):
            entry[step.key] = v.field(entry.raw, step, entry.where)
        else:
            step(v, entry)
    return entry


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` through libyaml's parser where PyYAML has it (the same values from the same
    constructor, about ten times faster); a text libyaml refuses is parsed again by the pure-Python
    parser, so a syntax error reads as it always did (its ``problem`` and line)."""
    import yaml

    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.load(text, Loader=fast)  # noqa: S506 (CSafeLoader is the safe loader)
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def _compose(text: str) -> Any:
    """The node tree of ``text`` (libyaml's parser first, as :func:`load_yaml`)."""
    import yaml

    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def read_yaml(text: str, *, kind: str, name: str, error: type[PppSurveyError]) -> Any:
    """Parse YAML text; a syntax error becomes ``error`` naming the file and the line."""
    import yaml

    try:
        return load_yaml(text)
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
        root = _compose(text)
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
