"""Which header is which: every column of an export gets a role through the codebook.

Columns are found by their header text (never by position), after key normalisation. Roles: ``id``,
``started``, ``completed``, ``modified``, ``identity`` (メール, 名前…: dropped before anything else,
so they can never reach an output), ``item`` (a question's column), ``option`` (one 0/1 column per
multi-select choice), ``other_text`` (その他 free text) and ``ignored``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ppp_survey.errors import LoadError
from ppp_survey.ingest.read import RawExport
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.normalize import normalize_key, spelled_key
from ppp_survey.text import one_line

ID_HEADERS = ("ID", "Id", "回答ID", "回答者ID", "Response ID", "Respondent ID")
STARTED_HEADERS = ("開始時刻", "開始日時", "Start time")
COMPLETED_HEADERS = ("完了時刻", "完了日時", "Completion time", "タイムスタンプ", "Timestamp")
MODIFIED_HEADERS = ("最終変更時刻", "Last modified time")
IDENTITY_HEADERS = ("メール", "メールアドレス", "電子メール", "名前", "氏名", "Email", "Email address", "Name")
#: Any other header (not a question's) that names a person, an address or a staff number, on the
#: matching key (NFKC, case folded, no spaces): E-mail, メールアドレス（任意）, お名前, 氏名（漢字）,
#: 職員番号, 社員番号, 職員ID, Employee ID, 電話番号… A note in brackets after it does not matter.
IDENTITY_PATTERN = re.compile(
    r"(e-?mail|メール|mailaddress)"
    r"|^(お?名前|氏名|フリガナ|ふりがな|回答者(名|氏名)|(full|user|display)?name"
    r"|(職員|社員|従業員|個人)(番号|コード|id|no\.?)|(employee|staff)(id|number|no\.?)"
    r"|電話(番号)?|内線(番号)?|phone|tel)(\(.*\))?$"
)


@dataclass(frozen=True)
class Column:
    """What one header of the export was taken for."""

    header: str
    role: str
    item: str = ""
    code: int | None = None


class ColumnMap:
    """The export's columns in file order, with look-ups by role and item."""

    def __init__(self, columns: list[Column]) -> None:
        self.columns = columns

    def header(self, role: str, item: str = "") -> str | None:
        """The first header with this role (and item), or None."""
        return next((c.header for c in self.columns if c.role == role and c.item == item), None)

    def options(self, item: str) -> dict[int, str]:
        """Header of each option column of a multi-select item, by choice code."""
        return {c.code: c.header for c in self.columns if c.role == "option" and c.item == item and c.code is not None}

    def parsed(self) -> list[str]:
        """Headers whose cells are read (not identity, not ignored)."""
        return [c.header for c in self.columns if c.role not in ("identity", "ignored")]


@dataclass(frozen=True)
class Missing:
    """A codebook item without its column: ``lacking`` names the option columns a multi-select
    item's partial set of 0/1 columns lacks (empty: no column at all)."""

    item: Item
    lacking: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    """Every header's role, and what does not fit: two headers for one slot (``clashes``: the
    later header, the earlier one, the slot's item or role) and items without a column."""

    columns: ColumnMap
    clashes: tuple[tuple[str, str, str], ...]
    missing: tuple[Missing, ...]


def item_name(item: Item) -> str:
    """An item as a person reads it: its number and title (``2-(1) 官民連携の重要性``), or its label."""
    return item.heading


def assign_columns(raw: RawExport, cb: Codebook) -> Assignment:
    """Give every header a role and list, all at once, what does not fit (nothing is raised)."""
    fixed = _fixed_keys(cb)
    names = _item_names(cb)
    spelled = _keyed(names, spelled_key)
    item_keys = _keyed(names, normalize_key)
    mapped: list[Column] = []
    taken: dict[tuple, str] = {}
    clashes: list[tuple[str, str, str]] = []
    for header in raw.table.columns:
        texts = [header, *([raw.column_labels[header]] if header in raw.column_labels else [])]
        col = _match(header, texts, fixed, spelled, item_keys)
        if col.role not in ("ignored", "identity"):
            slot = (col.role, col.item, col.code)
            if slot in taken:
                what = item_name(cb.item(col.item)) if col.item else col.role
                clashes.append((header, taken[slot], what))
                col = Column(header, "ignored")
            else:
                taken[slot] = header
        mapped.append(col)
    missing = tuple(m for item in cb.items if item.type != "text" and (m := _missing(item, taken)) is not None)
    return Assignment(ColumnMap(mapped), tuple(clashes), missing)


def map_columns(raw: RawExport, cb: Codebook) -> ColumnMap:
    """Give every header a role; refuse two headers for one slot and items without a column, naming
    every one of them in one message."""
    found = assign_columns(raw, cb)
    if found.clashes:
        pairs = "、".join(f"列「{one_line(h)}」と列「{one_line(other)}」（{what}）" for h, other, what in found.clashes)
        raise LoadError(f"{raw.path}: 同じ項目に対応する列が2つあります: {pairs}。どちらかの列名を直してください")
    if found.missing:
        raise LoadError(missing_message(raw, cb, found))
    return found.columns


def missing_message(raw: RawExport, cb: Codebook, found: Assignment) -> str:
    """One line naming every item of the codebook without its column, the header row read, the
    codebook used and how to see the whole picture (``check``) or start a codebook (``init-codebook``)."""
    parts = []
    for m in found.missing:
        if m.lacking:
            parts.append(f"{item_name(m.item)}（選択肢の列の一部: {'、'.join(m.lacking)}）")
        else:
            parts.append(f"{item_name(m.item)}（列名「{m.item.text}」）")
    matched = any(c.role in ("item", "option") for c in found.columns.columns)
    names = f"{raw.header_row}行目の見出し" if raw.header_row else "変数名・変数ラベル"  # SPSS has no header row
    header = "" if matched else f"{names}がどれもコードブックと合いません。"
    where = f"同梱の {cb.packaged}" if cb.packaged else cb.path
    return (
        f"{raw.path}: コードブックの項目のうち{len(parts)}件に対応する列がありません: {'、'.join(parts)}。"
        f"{header}列名を直すか、コードブック（{where}）の aliases に実際の列名を書いてください。"
        f"対応しなかった列の一覧は python -m ppp_survey.report check --data {raw.path.name} --codebook …、"
        f"コードブックの下書きは python -m ppp_survey.report init-codebook --data {raw.path.name} --out codebook.yaml で作れます"
    )


def _fixed_keys(cb: Codebook) -> dict[str, str]:
    fixed: dict[str, str] = {}
    for role, headers in (
        ("id", (*cb.id_column, *ID_HEADERS)),
        ("started", STARTED_HEADERS),
        ("completed", COMPLETED_HEADERS),
        ("modified", MODIFIED_HEADERS),
        ("identity", IDENTITY_HEADERS),
    ):
        for h in headers:
            fixed.setdefault(normalize_key(h), role)
    return fixed


def _item_names(cb: Codebook) -> list[tuple[str, Column]]:
    """Every header text that names a column of an item (its question, an option, its その他 text),
    in the codebook's order, with the column it names."""
    names: list[tuple[str, Column]] = []
    for item in cb.items:
        names += [(s, Column("", "item", item.id)) for s in (item.text, item.label, *item.aliases, item.id)]
        if item.is_multi:
            for c in item.choices:
                for k in (
                    f"{item.id}_{c.code}",
                    f"{item.text}[{c.label}]",
                    f"{item.text}_{c.label}",
                    f"{item.label}[{c.label}]",
                    f"{item.id}[{c.label}]",
                ):
                    names.append((k, Column("", "option", item.id, c.code)))
        if item.other_text or item.is_multi:
            for k in (item.other_text or "", f"{item.id}_other", f"{item.id}_その他", f"{item.id}_text"):
                if k:
                    names.append((k, Column("", "other_text", item.id)))
    return names


def _keyed(names: list[tuple[str, Column]], key: Callable[[object], str]) -> dict[str, Column]:
    """The columns by ``key`` of their header texts (the first item naming a key keeps it)."""
    keyed: dict[str, Column] = {}
    for text, column in names:
        keyed.setdefault(key(text), column)
    return keyed


def _match(
    header: str, texts: list[str], fixed: dict[str, str], spelled: dict[str, Column], item_keys: dict[str, Column]
) -> Column:
    """The role of a header (or its SPSS label): a fixed column (id, times, identity), else the item
    it spells out with its numbering (「Q5. その他」 is question 5's, not question 4's), else the item
    its matching key names."""
    candidates = [normalize_key(t) for t in texts]
    for key in candidates:
        if key in fixed:
            return Column(header, fixed[key])
    for keys, table in (([spelled_key(t) for t in texts], spelled), (candidates, item_keys)):
        for key in keys:
            if key in table:
                proto = table[key]
                return Column(header, proto.role, proto.item, proto.code)
    if any(IDENTITY_PATTERN.search(key) for key in candidates):
        return Column(header, "identity")
    return Column(header, "ignored")


def _missing(item: Item, taken: dict[tuple, str]) -> Missing | None:
    has_single = ("item", item.id, None) in taken
    options = [c.code for c in item.choices if ("option", item.id, c.code) in taken]
    if item.is_multi and not has_single and options and len(options) < len(item.choices):
        return Missing(item, tuple(f"{item.text}[{c.label}]" for c in item.choices if c.code not in options))
    if not has_single and not options:
        return Missing(item)
    return None
