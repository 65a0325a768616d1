"""A draft codebook from an export's headers and values, for the analyst to complete.

:func:`draft_codebook` writes schema_version 1 (the schema of the packaged ``codebook_r7.yaml``) as
YAML text with Japanese comments saying what to check. What the export shows is filled in: each
column's header as a question's ``text``, single or multi-select guessed from Forms' ``;``-separated
cells, the choices from the values seen (most frequent first, or in the order first seen), 職域 /
職位 / 年代 attributes from their headers, the fielding dates from the completion times, the ID
column. What only the analyst knows is ``null`` with a ``# TODO`` comment (the survey's name, the
number of staff, a 職域 attribute when no header names it), so the draft does not load until it is
filled: :func:`~ppp_survey.spec.codebook.load_codebook` names the first field still empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ppp_survey.ingest.cells import code_column, code_raw
from ppp_survey.ingest.columns import (
    COMPLETED_HEADERS,
    ID_HEADERS,
    IDENTITY_HEADERS,
    IDENTITY_PATTERN,
    MODIFIED_HEADERS,
    STARTED_HEADERS,
)
from ppp_survey.ingest.read import RawExport
from ppp_survey.spec.normalize import normalize_key

__all__ = ["Draft", "draft_codebook"]

MISSING = ["", "無回答", "未回答", "回答なし", "-", "－", "NA", "N/A"]
#: More distinct answers than this in a column (or choices in a multi-select one): free text.
MAX_CHOICES = 30
_ATTRIBUTES = (  # (pattern on the header's key, id, label, role)
    (re.compile("職域"), "domain", "職域", "stratum"),
    (re.compile("職位|役職"), "position", "職位", "attribute"),
    (re.compile("年代|年齢"), "age", "年代", "attribute"),
)
_EXCLUSIVE = {normalize_key(s) for s in ("特にない", "特になし", "なし", "該当なし")}
_OTHER = re.compile("その他")
#: Headers of free-text columns (「その他」の内容, ご意見・ご提案をご記入ください, 理由…).
_FREE_TEXT = re.compile("その他|自由記述|意見|記入|内容|理由|コメント|comment", re.IGNORECASE)


@dataclass(frozen=True)
class Draft:
    """The draft's YAML text and what it holds."""

    text: str
    attributes: int
    questions: int
    todo: int


@dataclass
class _Item:
    id: str
    header: str
    type: str
    choices: list[str]
    role: str = "question"
    label: str = ""
    note: str = ""
    other_text: str = ""
    exclusive: set[str] = field(default_factory=set)


def draft_codebook(raw: RawExport, *, order: str = "frequency") -> Draft:
    """A draft codebook for ``raw`` (see the module's docstring). ``order``: ``"frequency"`` lists
    each question's choices most frequent first, ``"first"`` in the order they first appear."""
    if order not in ("frequency", "first"):
        raise ValueError(f"order must be 'frequency' or 'first', not {order!r}")
    table = raw.table.reset_index(drop=True)
    fixed = _fixed_roles()
    ids: list[str] = []
    times: list[str] = []
    skipped: list[str] = []
    attributes: list[_Item] = []
    questions: list[_Item] = []
    missing = {normalize_key(m) for m in MISSING}
    for header in table.columns:
        key = normalize_key(header)
        role = fixed.get(key) or ("identity" if IDENTITY_PATTERN.search(key) else None)
        if not header or role == "identity":
            skipped.append(header or "（見出しが空の列）")
            continue
        if role == "id":
            ids.append(header)
            continue
        if role is not None:
            if role in ("started", "completed"):
                times.append(header)
            continue
        item = _guess(header, code_column(header, table[header], raw.value_labels.get(header)), missing, order)
        previous = questions[-1] if questions else None
        if item.type == "text" and _OTHER.search(header) and previous is not None and previous.type != "text":
            previous.other_text = header  # 「その他」の内容: the free text of the question before it
            continue
        attribute = next((a for a in _ATTRIBUTES if a[0].search(key)), None)
        if attribute and item.type == "sa" and not any(a.id == attribute[1] for a in attributes):
            item.id, item.label, item.role = attribute[1], attribute[2], attribute[3]
            attributes.append(item)
        else:
            item.id = f"q{len(questions) + 1}"
            questions.append(item)
    if not any(a.role == "stratum" for a in attributes):
        attributes.insert(0, _Item("domain", "", "sa", [], role="stratum", label="職域"))
    dates = _dates(table, times)
    text = _yaml(raw, attributes, questions, ids, skipped, dates)
    return Draft(text, len(attributes), len(questions), text.count("# TODO"))


def _fixed_roles() -> dict[str, str]:
    roles: dict[str, str] = {}
    for role, headers in (
        ("id", ID_HEADERS),
        ("started", STARTED_HEADERS),
        ("completed", COMPLETED_HEADERS),
        ("modified", MODIFIED_HEADERS),
        ("identity", IDENTITY_HEADERS),
    ):
        for h in headers:
            roles.setdefault(normalize_key(h), role)
    return roles


def _guess(header: str, cells, missing: set[str], order: str) -> _Item:
    """A column's type and choices from its distinct values (each distinct text once)."""
    counts = np.bincount(cells.codes, minlength=len(cells.texts))
    answered = [(str(t).strip(), int(n)) for t, n, k in zip(cells.texts, counts, cells.keys) if k not in missing]
    multi = any(";" in t for t, _ in answered)
    tally: dict[str, int] = {}
    for t, n in answered:  # in the order first seen (pd.factorize keeps it)
        for token in [s.strip() for s in t.split(";")] if multi else [t]:
            if token and normalize_key(token) not in missing:
                tally[token] = tally.get(token, 0) + n
    choices = list(tally)
    if order == "frequency":
        choices = sorted(choices, key=lambda c: -tally[c])  # stable: ties in the order first seen
    if len(choices) > MAX_CHOICES or (len(choices) < 2 and not multi) or (not multi and _FREE_TEXT.search(header)):
        return _Item("", header, "text", [], note=f"自由記述とみなした（回答{len(choices)}種類）")
    kind = "ma" if multi else "sa"
    note = "「;」区切りのセルがあるため複数回答とみなした" if multi else "単一回答とみなした"
    item = _Item("", header, kind, choices, note=note)
    if multi:
        item.exclusive = {c for c in choices if normalize_key(c) in _EXCLUSIVE}
    return item


def _dates(table: pd.DataFrame, headers: list[str]) -> tuple[str, str] | None:
    """The first and last day of the completion (else start) times, if any can be read."""
    for header in reversed(headers):  # 完了時刻 comes after 開始時刻 in Forms exports
        _, uniques = code_raw(table[header])
        stamps = pd.to_datetime(pd.Series(uniques, dtype=object), errors="coerce", format="mixed").dropna()
        if len(stamps):
            return stamps.min().date().isoformat(), stamps.max().date().isoformat()
    return None


def _q(value: str) -> str:
    """A YAML string (JSON's double-quoted form is valid YAML), Japanese kept as it is."""
    return json.dumps(value, ensure_ascii=False)


def _yaml(
    raw: RawExport,
    attributes: list[_Item],
    questions: list[_Item],
    ids: list[str],
    skipped: list[str],
    dates: tuple[str, str] | None,
) -> str:
    start, end = dates or ("null", "null")
    date_note = "回答の日時から推定。実施期間と合うか確認" if dates else "TODO: 実施期間（YYYY-MM-DD）"
    lines = [
        f"# コードブックの下書き: {raw.path.name} の見出しと回答から ppp_survey init-codebook が作成",
        "# 使う前に: 「# TODO」の箇所（null）を埋める。埋めるまでは読み込めない（読み込み時に足りない項目を示す）。",
        "# 確認すること:",
        "#   - type: sa（単一回答）/ likert（尺度: 各選択肢に score を付け、polarity を書く）/ ma（複数回答）/ text（自由記述）",
        "#   - choices: 回答に現れた値だけ。調査票の順に並べ替え、code を振り直し、回答のなかった選択肢を加える",
        "#   - title と number: 図表の見出しと資料の番号（例 2-(1)）",
        "#   - aliases: 来年の調査で列名や選択肢の文言が変わったら、ここに実際の文言を足す",
        "# スキーマ: schema_version 1（同梱の codebook_r7.yaml と同じ。README の「コードブック」参照）",
        "schema_version: 1",
        "",
        "survey:",
        "  id: null  # TODO: 調査の短い名前（英数字。例 r8）",
        "  title: null  # TODO: 調査名（例 官民連携に関する職員意識調査）",
        "  wave: null  # 任意: 回（例 R8）。空なら id",
        f"  fielded_from: {start}  # {date_note}",
        f"  fielded_to: {end}  # {date_note}",
        "  population: null  # TODO: 調査対象の職員数（職員数フレームの合計）",
        f"  respondents: null  # 任意: 回答者数（このファイルは{len(raw.table):,}行）",
        '  source: ""  # 任意: 出典',
        '  source_note: ""  # 任意: 図表の出典注記（例 R7.7.18～31実施 職員3,138人中1,340人回答（回答率42.7%））',
        "",
        f"missing: [{', '.join(_q(m) for m in MISSING)}]  # 無回答とみなす値",
        f"id_column: [{', '.join(_q(h) for h in ids or ['ID'])}]",
    ]
    if skipped:
        lines.append(f"# 読み込み時に削除する列（個人を特定する列など）: {'、'.join(skipped)}")
    lines += ["", "attributes:  # 回答者の属性。職域（role: stratum）がちょうど1つ必要"]
    for a in attributes:
        lines += _item_lines(a)
    lines += ["", "questions:"]
    for q in questions:
        lines += _item_lines(q)
    return "\n".join(lines) + "\n"


def _item_lines(it: _Item) -> list[str]:
    if not it.header:  # the 職域 placeholder: no header names it
        return [
            f"  - id: {it.id}",
            f"    role: {it.role}",
            f"    label: {it.label}",
            "    text: null  # TODO: 職域の列の見出し（推定の層。職員数フレームの職域と同じ区分）",
            "    choices: []  # TODO: 職域の一覧（- {code: 1, label: 一般行政} の形で）",
        ]
    lines = [f"  - id: {it.id}"]
    if it.role != "question":
        lines += [f"    role: {it.role}", f"    label: {it.label}"]
    else:
        lines += [
            '    number: ""  # 任意: 資料の番号（例 2-(1)）',
            f"    title: {_q(it.header)}  # 図表の見出し（短くする）",
        ]
    lines += [f"    text: {_q(it.header)}", f"    type: {it.type}  # {it.note}"]
    if it.other_text:
        lines.append(f"    other_text: {_q(it.other_text)}  # 「その他」の記入欄")
    if it.choices:
        lines.append("    choices:")
    for code, label in enumerate(it.choices, start=1):
        extra = ", exclusive: true" if label in it.exclusive else ""
        extra += ", other: true" if it.type == "ma" and _OTHER.fullmatch(label) else ""
        lines.append(f"      - {{code: {code}, label: {_q(label)}{extra}}}")
    return lines
