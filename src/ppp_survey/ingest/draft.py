"""A draft codebook from an export's headers and values, for the analyst to confirm.

:func:`draft_codebook` writes schema_version 1 (the schema of the packaged ``codebook_r7.yaml``) as
YAML text with Japanese comments saying what to check. What the export shows is filled in: each
column's header as a question's ``text``, single or multi-select guessed from Forms' ``;``-separated
cells, the choices from the values seen, 職域 / 職位 / 年代 attributes from their headers, the
fielding dates from the completion times, the ID column.

Choices are never in order of frequency (a chart lists them in codebook order):

- a scale's wording (重要である／どちらかといえば重要である／…／重要ではない, 意欲がある／…, そう思う／
  ややそう思う／どちらともいえない／…, 満足／やや不満…, ある／ない) is recognised by
  :mod:`ppp_survey.ingest.scales`: the choices in the scale's order, the positive end first, with
  ``score`` (4…1 or 5…1; 1/0 for a two-point ある／ない, as the packaged codebook writes 2-(3)),
  「どちらともいえない」 as the middle, 「わからない」 last without a score, ``type: likert`` from three
  points up, and ``polarity`` (from the question's text); this module writes them with notes;
- 職域 in the staff frame's order when a frame is given (its spelling, the export's as ``aliases``);
- 年代 and other choices that all carry a number, by the number; 職位 from 係員 up;
- a multi-select's choices in the order its cells write them (Forms writes a respondent's choices
  in the form's order), その他 and 特にない last;
- anything else in the order first seen in the export.

Labels are written in the canonical spelling (full-width brackets: 「（指針）」 for the export's
「(指針)」), with the export's spelling as an alias; the loader matches both through the same key
(:func:`~ppp_survey.spec.normalize.normalize_key`), which also decides which spellings are one choice.
What only the analyst knows is ``null`` with a ``# TODO`` comment (the survey's name, the number of
staff unless a frame gives it, a 職域 attribute when no header names it), so the draft does not load
until it is filled: :func:`~ppp_survey.spec.codebook.load_codebook` names the first field still empty.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ppp_survey.files import decode_text
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
from ppp_survey.ingest.scales import read_scale, unfavourable
from ppp_survey.spec.codebook import Choice, Codebook, Item, ItemType, Polarity, SurveyInfo
from ppp_survey.spec.frame import DOMAIN_HEADERS, POPULATION_HEADERS, load_frame, staff_count, trailing_blank_rows
from ppp_survey.spec.normalize import normalize_key

__all__ = ["Draft", "canonical", "draft_codebook", "frame_strata"]

MISSING = ["", "無回答", "未回答", "回答なし", "-", "－", "NA", "N/A"]
#: More distinct answers than this in a column (or choices in a multi-select one): free text.
MAX_CHOICES = 30
#: An answer longer than this is free text, not a choice.
MAX_CHOICE_LENGTH = 100
_ATTRIBUTES = (  # (pattern on the header's key, id, label, role)
    (re.compile("職域|部署|所属"), "domain", "職域", "stratum"),
    (re.compile("職位|役職"), "position", "職位", "attribute"),
    (re.compile("年代|年齢"), "age", "年代", "attribute"),
)
_EXCLUSIVE = {normalize_key(s) for s in ("特にない", "特になし", "なし", "該当なし")}
_OTHER = re.compile("その他")
#: Headers of free-text columns (「その他」の内容, ご意見・ご提案をご記入ください, 理由…).
_FREE_TEXT = re.compile("その他|自由記述|意見|記入|内容|理由|コメント|comment", re.IGNORECASE)
#: 職位 from the bottom up (a choice is placed by the longest of these it contains).
_RANKS = ("係員", "主事", "主任", "係長", "課長補佐", "課長", "次長", "部長", "局長")
_NUMBER = re.compile(r"\d+")

_BRACKETS = str.maketrans({"(": "（", ")": "）", "[": "［", "]": "］", "~": "～"})
_SPACES = re.compile(r"\s+")


def canonical(text: str) -> str:
    """A label in the spelling the codebook writes: Unicode NFKC (the step of
    :func:`~ppp_survey.spec.normalize.normalize_key` that unifies full- and half-width), then
    full-width brackets and wave dash as Japanese text writes them, spaces collapsed:
    「官民連携に関する基本的なルール(指針)」 → 「…ルール（指針）」, 「２０代」 → 「20代」. Only ever a
    spelling with the same matching key: where NFKC would change the key (a circled number), the text
    stays as it is."""
    text = str(text).strip()
    spelled = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).translate(_BRACKETS).strip()
    return spelled if normalize_key(spelled) == normalize_key(text) else text


@dataclass(frozen=True)
class Draft:
    """The draft's YAML text and what it holds."""

    text: str
    attributes: int
    questions: int
    todo: int


@dataclass
class _Choice:
    label: str
    aliases: list[str] = field(default_factory=list)
    score: int | None = None
    note: str = ""

    @property
    def key(self) -> str:
        return normalize_key(self.label)


@dataclass
class _Item:
    id: str
    header: str
    type: str
    choices: list[_Choice]
    role: str = "question"
    label: str = ""
    note: str = ""
    other_text: str = ""
    polarity: Polarity | None = None  # None → not written (neutral)
    polarity_note: str = ""
    exclusive: set[str] = field(default_factory=set)  # keys


@dataclass(frozen=True)
class _Frame:
    """The staff frame's 職域 in its order, and its total."""

    name: str
    labels: list[str]
    population: int


def draft_codebook(raw: RawExport, *, frame: str | Path | None = None) -> Draft:
    """A draft codebook for ``raw`` (see the module's docstring). ``frame``: the staff frame (CSV of
    職域 and 職員数); its 職域 give the stratum's choices and their order, its total the population.

    Raises
    ------
    FrameError
        The frame cannot be read or is malformed (the message of :func:`~ppp_survey.spec.frame.load_frame`).
    """
    strata = frame_strata(frame) if frame is not None else None
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
        item = _guess(header, code_column(header, table[header], raw.value_labels.get(header)), missing)
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
            _scale(item)
            questions.append(item)
    _place_stratum(attributes, questions, strata)
    dates = _dates(table, times)
    text = _yaml(raw, attributes, questions, ids, skipped, dates, strata)
    return Draft(text, len(attributes), len(questions), text.count("# TODO:"))


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


def _guess(header: str, cells, missing: set[str]) -> _Item:
    """A column's type and choices from its distinct values, in the order first seen (pd.factorize
    keeps it): spellings with one matching key are one choice."""
    answered = [str(t).strip() for t, k in zip(cells.texts, cells.keys) if k not in missing]
    multi = any(";" in t for t in answered)
    spellings: dict[str, list[str]] = {}
    before: dict[str, set[str]] = {}  # per choice, the choices written before it in some cell
    for t in answered:
        keys: list[str] = []
        for token in [s.strip() for s in t.split(";")] if multi else [t]:
            key = normalize_key(token)
            if token and key not in missing and token not in spellings.setdefault(key, []):
                spellings[key].append(token)
            if token and key not in missing:
                before.setdefault(key, set()).update(keys)
                keys.append(key)
    n = len(spellings)
    long_answer = any(len(s) > MAX_CHOICE_LENGTH for s in spellings)
    choices = [_choice(seen) for seen in spellings.values()]
    if n > MAX_CHOICES or long_answer or (n < 2 and not multi) or (not multi and _free_text(header, choices)):
        return _Item("", header, "text", [], note=f"自由記述とみなした（回答{n:,}種類）")
    if multi:
        item = _Item("", header, "ma", choices, note="「;」区切りのセルがあるため複数回答とみなした")
        item.exclusive = {c.key for c in choices if c.key in _EXCLUSIVE}
        item.choices = _cell_order(choices, before)
        # その他 and 特にない last, as questionnaires print them
        item.choices.sort(key=lambda c: (c.key in item.exclusive, _OTHER.fullmatch(c.label) is not None))
        if unfavourable(header):
            item.polarity = Polarity.HIGHER_IS_WORSE
            item.polarity_note = (
                f"選ばれるほど望ましくない設問とみなした（見出しの文言から）。違えば {Polarity.NEUTRAL.value}"
            )
        return item
    item = _Item("", header, "sa", choices, note="単一回答とみなした（選択肢は回答に現れた順）")
    ordered = _natural_order(choices)
    if ordered is not None:
        item.choices, item.note = ordered
    return item


def _cell_order(choices: list[_Choice], before: dict[str, set[str]]) -> list[_Choice]:
    """A multi-select's choices in the order its cells write them (Forms writes the ticked choices
    in the form's order: 「A;C;D;」), each after every choice some cell writes before it; where the
    cells disagree (or say nothing, as for 特にない), the order first seen."""
    placed: set[str] = set()
    order: list[_Choice] = []
    remaining = list(choices)
    while remaining:
        ready = next((c for c in remaining if before.get(c.key, set()) - {c.key} <= placed), remaining[0])
        order.append(ready)
        placed.add(ready.key)
        remaining.remove(ready)
    return order


def _free_text(header: str, choices: list[_Choice]) -> bool:
    """A header that asks for text (ご意見をご記入ください, 「その他」の内容), unless its answers are a
    scale's wordings (「意見を言いやすいと思いますか」 answered そう思う…)."""
    if not _FREE_TEXT.search(header):
        return False
    return read_scale([c.label for c in choices], header) is None


def _choice(spellings: list[str]) -> _Choice:
    """One choice from the export's spellings of it: the canonical label, the others as aliases."""
    label = canonical(spellings[0])
    return _Choice(label, [s for s in spellings if s != label])


def _natural_order(choices: list[_Choice]) -> tuple[list[_Choice], str] | None:
    """Choices that carry an order of their own: all with a number (20代以下, 30代…) by the number;
    職位 (係員, 係長級, 課長補佐級, 課長級以上) from the bottom up. None otherwise."""
    numbers = [_NUMBER.search(normalize_key(c.label)) for c in choices]
    if all(numbers):
        by = [int(m.group()) for m in numbers if m]
        return [c for _, c in sorted(zip(by, choices), key=lambda x: x[0])], "単一回答とみなした（選択肢は数の順）"
    ranks = [
        max((i for i, r in enumerate(_RANKS) if r in c.key), key=lambda i: len(_RANKS[i]), default=None)
        for c in choices
    ]
    if all(r is not None for r in ranks) and len(set(ranks)) == len(ranks):
        order = sorted(range(len(choices)), key=lambda j: ranks[j] or 0)
        return [choices[j] for j in order], "単一回答とみなした（選択肢は職位の順）"
    return None


def _scale(item: _Item) -> None:
    """A single-answer question whose choices are one scale's wordings (:func:`read_scale`): its
    choices in the scale's order with scores, ``likert`` from three points, polarity, and notes."""
    if item.type != "sa":
        return
    scale = read_scale([c.label for c in item.choices], item.header)
    if scale is None:
        return
    ordered = [item.choices[i] for i in scale.order]
    off_scale = [item.choices[i] for i in scale.off_scale]
    for c, score in zip(ordered, scale.scores):
        c.score = score
    for c in off_scale:
        c.note = "尺度外（score なし: 平均点に含めず、肯定的回答の割合では分母に含む）"
    item.choices = ordered + off_scale
    item.type = "sa" if scale.binary else "likert"
    top = ordered[0].label
    kind = "2択（score 1/0）" if scale.binary else f"{len(ordered)}段階の尺度"
    item.note = f"{kind}の文言と認識（{'／'.join(c.label for c in ordered)}）"
    worse = scale.polarity == Polarity.HIGHER_IS_WORSE
    item.polarity = scale.polarity
    item.polarity_note = (
        f"「{top}」（score の高い側）を{'望ましくない' if worse else '望ましい'}側とみなした。逆なら "
        f"{scale.polarity.opposite().value}"
    )
    if not scale.balanced:  # ややそう思う without あまりそう思わない: a choice nobody chose?
        item.note += "。# TODO: 肯定と否定の段階が揃わない。回答のなかった選択肢を加え score を振り直す"


_NOT_STRATA = {normalize_key(s) for s in ("", "合計", "計", "総計", "total")}


def frame_strata(path: str | Path) -> _Frame:
    """The 職域 of a staff frame in the order it lists them (canonical spelling) and its total.

    The frame is checked by :func:`~ppp_survey.spec.frame.load_frame` itself (a missing file or
    column, a count that is not a number, a 職域 twice, a 合計 row: its messages, with the line),
    against a codebook whose 職域 are the frame's own.
    """
    p = Path(path)
    labels: dict[str, str] = {}
    total = 0
    if p.is_file():
        text, _ = decode_text(p.read_bytes(), p)
        try:
            table = pd.read_csv(io.StringIO(text), dtype=str, comment="#", keep_default_na=False, skip_blank_lines=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            table = pd.DataFrame()
        keys = {normalize_key(c): c for c in table.columns}
        domain = next((keys[normalize_key(h)] for h in DOMAIN_HEADERS if normalize_key(h) in keys), None)
        staff = next((keys[normalize_key(h)] for h in POPULATION_HEADERS if normalize_key(h) in keys), None)
        if domain is not None and staff is not None:
            filled = trailing_blank_rows(table[domain], table[staff])
            for value, count in zip(table[domain][:filled], table[staff][:filled]):
                if normalize_key(value) not in _NOT_STRATA:
                    labels.setdefault(normalize_key(value), canonical(value))
                    total += staff_count(count) or 0
    checked = load_frame(p, _frame_codebook(list(labels.values()), max(total, 1)))
    return _Frame(p.name, [str(d) for d in checked["domain"]], int(checked["population"].sum()))


def _frame_codebook(labels: list[str], population: int) -> Codebook:
    """A codebook whose 職域 are ``labels``, for :func:`load_frame` to check a frame against."""
    day = dt.date(2000, 1, 1)
    survey = SurveyInfo("frame", "", "", day, day, population, None, "", "")
    stratum = Item(
        "domain", "職域", "職域", ItemType.SA, tuple(Choice(i, lab) for i, lab in enumerate(labels, 1)), role="stratum"
    )
    return Codebook(survey, (stratum,), ())


def _place_stratum(attributes: list[_Item], questions: list[_Item], strata: _Frame | None) -> None:
    """The stratum among the attributes: recognised by its header, else (with a frame) by its answers,
    else a TODO placeholder; in the frame's order when a frame is given."""
    stratum = next((a for a in attributes if a.role == "stratum"), None)
    if stratum is None and strata is not None:  # a header we do not know, with the frame's 職域 as answers
        stratum = _stratum_by_values(questions, strata)
        if stratum is not None:
            attributes.insert(0, stratum)
    if stratum is None:
        stratum = _Item("domain", "", "sa", [], role="stratum", label="職域")
        attributes.insert(0, stratum)
    if strata is not None:
        _frame_order(stratum, strata)


def _stratum_by_values(questions: list[_Item], frame: _Frame) -> _Item | None:
    """The single-answer column whose answers are mostly the frame's 職域 (its header unknown, e.g.
    「あなたの所属を選んでください」): taken out of the questions as the stratum, the others renumbered."""
    wanted = {normalize_key(label) for label in frame.labels}
    best, share = None, 0.5
    for item in questions:
        keys = [c.key for c in item.choices]
        if item.type == "sa" and keys and (found := sum(k in wanted for k in keys) / len(keys)) > share:
            best, share = item, found
    if best is None:
        return None
    questions.remove(best)
    for k, item in enumerate(questions, start=1):
        item.id = f"q{k}"
    best.id, best.label, best.role = "domain", "職域", "stratum"  # its note: _frame_order's
    return best


def _frame_order(stratum: _Item, frame: _Frame) -> None:
    """The stratum's choices as the frame lists them; the export's other spellings as aliases; a
    value of the export that the frame does not have after them, marked TODO."""
    seen = {c.key: c for c in stratum.choices}
    choices = []
    for label in frame.labels:
        found = seen.pop(normalize_key(label), None)
        spellings = [] if found is None else [found.label, *found.aliases]
        choices.append(_Choice(label, [s for s in dict.fromkeys(spellings) if s != label]))
        if found is None and stratum.header:
            choices[-1].note = "回答なし"
    for c in seen.values():
        c.note = f"TODO: 職員数フレーム {frame.name} にない職域。フレームに加えるか、同じ職域の aliases に移す"
        choices.append(c)
    stratum.choices = choices
    stratum.note = f"単一回答（選択肢は職員数フレーム {frame.name} の順）"


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
    frame: _Frame | None,
) -> str:
    start, end = dates or ("null", "null")
    date_note = "回答の日時から推定。実施期間と合うか確認" if dates else "TODO: 実施期間（YYYY-MM-DD）"
    population = (
        f"  population: {frame.population}  # 職員数フレーム {frame.name} の合計"
        if frame
        else "  population: null  # TODO: 調査対象の職員数（職員数フレームの合計。--frame を指定すると入る）"
    )
    lines = [
        f"# コードブックの下書き: {raw.path.name} の見出しと回答から ppp_survey init-codebook が作成",
        "# 使う前に: 「# TODO」の箇所を埋める。null のままでは読み込めない（読み込み時に足りない項目を示す）。",
        "# 確認すること:",
        "#   - type: sa（単一回答）/ likert（尺度: 各選択肢に score、polarity）/ ma（複数回答）/ text（自由記述）",
        "#     尺度の文言（重要である…、そう思う…、ある／ない など）は尺度の順に並べ、score と polarity を付けてある",
        "#   - choices: 回答に現れた値だけ（尺度は尺度の順、職域は職員数フレームの順、ほかは回答に現れた順）。",
        "#     調査票の順に並べ替え、code を振り直し、回答のなかった選択肢を加える",
        "#   - title と number: 図表の見出しと資料の番号（例 2-(1)）",
        "#   - aliases: 回答データの表記（半角括弧など）。来年の列名や選択肢の文言が変わったら、ここに足す",
        "# スキーマ: schema_version 1（同梱の codebook_r7.yaml と同じ。README の「コードブック」参照）",
        "schema_version: 1",
        "",
        "survey:",
        "  id: null  # TODO: 調査の短い名前（英数字。例 r8）",
        "  title: null  # TODO: 調査名（例 官民連携に関する職員意識調査）",
        "  wave: null  # 任意: 回（例 R8）。空なら id",
        f"  fielded_from: {start}  # {date_note}",
        f"  fielded_to: {end}  # {date_note}",
        population,
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
        lines = [
            f"  - id: {it.id}",
            f"    role: {it.role}",
            f"    label: {it.label}",
            "    text: null  # TODO: 職域の列の見出し（推定の層。職員数フレームの職域と同じ区分）",
        ]
        if not it.choices:
            return [*lines, "    choices: []  # TODO: 職域の一覧（- {code: 1, label: 一般行政} の形で）"]
        return [*lines, f"    type: sa  # {it.note}", "    choices:", *_choice_lines(it)]
    lines = [f"  - id: {it.id}"]
    if it.role != "question":
        lines += [f"    role: {it.role}", f"    label: {it.label}"]
    else:
        lines += [
            '    number: ""  # 任意: 資料の番号（例 2-(1)）',
            f"    title: {_q(canonical(it.header))}  # 図表の見出し（短くする）",
        ]
    lines += [f"    text: {_q(it.header)}", f"    type: {it.type}  # {it.note}"]
    if it.polarity is not None:
        lines.append(f"    polarity: {it.polarity.value}  # {it.polarity_note}")
    if it.other_text:
        lines.append(f"    other_text: {_q(it.other_text)}  # 「その他」の記入欄")
    if it.choices:
        lines += ["    choices:", *_choice_lines(it)]
    return lines


def _choice_lines(it: _Item) -> list[str]:
    lines = []
    for code, c in enumerate(it.choices, start=1):
        extra = f", aliases: [{', '.join(_q(a) for a in c.aliases)}]" if c.aliases else ""
        extra += f", score: {c.score}" if c.score is not None else ""
        extra += ", exclusive: true" if c.key in it.exclusive else ""
        extra += ", other: true" if it.type == "ma" and _OTHER.fullmatch(c.label) else ""
        note = f"  # {c.note}" if c.note else ""
        lines.append(f"      - {{code: {code}, label: {_q(c.label)}{extra}}}{note}")
    return lines
