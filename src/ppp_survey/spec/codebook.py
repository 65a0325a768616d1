"""The codebook: a data file that describes the questionnaire.

The codebook says which columns an export has, what each answer means and how each question is
tallied. Code never names a question: next year's questionnaire needs only a new codebook file.
The schema is documented in README.en.md (section コードブック) and checked here on load, with messages
that name the file and the place in it (for example ``questions[3].choices[2]: 'label' is missing``).

The packaged default, ``codebook_r7.yaml``, is a *reconstruction* of the R7 questionnaire from the
committee document (the real questionnaire is not public); it says so in ``survey.reconstruction``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from ppp_survey.errors import CodebookError
from ppp_survey.spec.normalize import normalize_key
from ppp_survey.spec.schema import FileChecker, file_label, read_yaml, yaml_lines

SCHEMA_VERSION = 1


class ItemType(StrEnum):
    """How a question is answered and tallied."""

    SA = "sa"  # single answer
    LIKERT = "likert"  # single answer on a scored scale
    MA = "ma"  # multi-select
    TEXT = "text"  # free text (never tallied)


class Polarity(StrEnum):
    """Which end of a Likert scale is favourable (decides 肯定的回答 and 改善/悪化)."""

    HIGHER_IS_BETTER = "higher_is_better"
    HIGHER_IS_WORSE = "higher_is_worse"
    NEUTRAL = "neutral"

    def opposite(self) -> Polarity:
        """The polarity of the scale read the other way (neutral stays neutral)."""
        if self == Polarity.NEUTRAL:
            return self
        return Polarity.HIGHER_IS_WORSE if self == Polarity.HIGHER_IS_BETTER else Polarity.HIGHER_IS_BETTER


ITEM_TYPES = tuple(t.value for t in ItemType)
#: The types of question that have tables (every type but free text).
TABULATED = (ItemType.SA, ItemType.LIKERT, ItemType.MA)
ITEM_TYPE_NAMES = {"sa": "単一回答", "likert": "尺度", "ma": "複数選択", "text": "自由記述"}
POLARITIES = tuple(p.value for p in Polarity)
ROLES = ("stratum", "attribute")
DEFAULT_CODEBOOK = "codebook_r7.yaml"


@dataclass(frozen=True)
class Choice:
    """One answer choice: its code, its label as printed, and how it is tallied.

    ``score`` places a Likert choice on its scale (``None`` for わからない and other off-scale
    answers, which count in shares but not in the mean). ``exclusive`` marks a multi-select choice
    such as 特にない that cannot be combined with others; ``other`` marks その他, whose free text
    is kept apart from the answers.
    """

    code: int
    label: str
    aliases: tuple[str, ...] = ()
    score: float | None = None
    exclusive: bool = False
    other: bool = False

    def keys(self) -> tuple[str, ...]:
        """Normalised keys under which an export may write this choice (label and aliases)."""
        return tuple(dict.fromkeys(normalize_key(s) for s in (self.label, *self.aliases)))


@dataclass(frozen=True)
class Item:
    """A questionnaire item: a respondent attribute (職域, 職位, ...) or a question.

    ``text`` is the question wording, which exports use as the column header; ``aliases`` are
    other headers accepted for it. For multi-select (``ma``) items each choice becomes one 0/1
    column named ``{id}_{code}`` in the respondent table (see :meth:`option_column`).
    """

    id: str
    label: str
    text: str
    type: ItemType
    choices: tuple[Choice, ...] = ()
    number: str = ""
    polarity: Polarity = Polarity.NEUTRAL
    role: str = "question"
    aliases: tuple[str, ...] = ()
    other_text: str | None = None

    @property
    def is_multi(self) -> bool:
        return self.type == "ma"

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.choices]

    def choice(self, code: int) -> Choice:
        for c in self.choices:
            if c.code == code:
                return c
        raise KeyError(f"{self.id} has no choice with code {code}")

    def option_column(self, choice: Choice) -> str:
        """Column name of a multi-select option in the respondent table, e.g. ``q5_3``."""
        return f"{self.id}_{choice.code}"

    @property
    def option_columns(self) -> list[str]:
        return [self.option_column(c) for c in self.choices]

    @property
    def scored(self) -> bool:
        return any(c.score is not None for c in self.choices)

    def choices_by_score(self) -> list[Choice]:
        """The scored choices, highest score first (ties in codebook order); off-scale answers are left out."""
        scored = [(c.score, c) for c in self.choices if c.score is not None]
        return [c for _, c in sorted(scored, key=lambda sc: -sc[0])]

    @property
    def heading(self) -> str:
        """How tables and charts title the item: its number and label (``2-(1) 官民連携の重要性``),
        else its label alone (an own codebook may leave ``number`` empty)."""
        return f"{self.number} {self.label}" if self.number else self.label

    @property
    def display(self) -> str:
        """How messages name the item: its number and label (``2-(1)「官民連携の重要性」``), else its label."""
        return f"{self.number}「{self.label}」" if self.number else f"「{self.label}」"

    @property
    def type_name(self) -> str:
        """The answer type in words with its YAML value (``複数選択（type: ma）``)."""
        return f"{ITEM_TYPE_NAMES.get(str(self.type), str(self.type))}（type: {self.type}）"


@dataclass(frozen=True)
class SurveyInfo:
    """Survey metadata: what was asked of whom, when, and where the numbers come from."""

    id: str
    title: str
    wave: str
    fielded_from: dt.date
    fielded_to: dt.date
    population: int
    respondents: int | None
    source: str
    source_note: str
    reconstruction: str = ""


@dataclass(frozen=True)
class Codebook:
    """A validated codebook. Build it with :func:`load_codebook`."""

    survey: SurveyInfo
    attributes: tuple[Item, ...]
    questions: tuple[Item, ...]
    missing: tuple[str, ...] = ()
    id_column: tuple[str, ...] = ("ID",)
    path: str = ""  # where it was read from, as messages name it
    packaged: str | None = None  # the file name in ppp_survey/data when it is a packaged codebook

    @property
    def items(self) -> tuple[Item, ...]:
        return (*self.attributes, *self.questions)

    @property
    def stratum(self) -> Item:
        """The attribute that defines the strata of the staff frame (職域)."""
        return next(a for a in self.attributes if a.role == "stratum")

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(
            f"コードブック {file_label(self.path)}: 「id: {item_id}」の項目はない"
            f"（あるのは {'、'.join(it.id for it in self.items)}）。idを直す"
        )

    def question(self, number: str) -> Item:
        """The question printed under `number` in the committee document (``"2-(1)"``…``"2-(7)"``),
        so notebooks and reports name questions as the document does, never by internal id."""
        for q in self.questions:
            if q.number == number:
                return q
        raise KeyError(
            f"コードブック {file_label(self.path)}: 設問番号「{number}」の設問はない"
            f"（あるのは {'、'.join(q.number for q in self.questions if q.number)}）。番号を直す"
        )

    @property
    def missing_keys(self) -> frozenset[str]:
        return frozenset(normalize_key(m) for m in self.missing)

    def questions_of_type(self, *types: str) -> list[Item]:
        return [q for q in self.questions if q.type in types]

    @property
    def tabulated(self) -> list[Item]:
        """The questions that have tables (single answer, Likert, multi-select; not free text), in
        codebook order."""
        return self.questions_of_type(*TABULATED)

    def with_choice(self, item_id: str, label: str) -> Codebook:
        """The codebook with one more choice of one attribute, ``label`` after its others (the next
        code): the blank of an attribute published as a group of its own (無回答)."""
        item = self.item(item_id)
        if label in item.labels:
            return self
        code = max((c.code for c in item.choices), default=0) + 1
        new_item = replace(item, choices=(*item.choices, Choice(code=code, label=label)))
        attributes = tuple(new_item if a.id == item_id else a for a in self.attributes)
        return replace(self, attributes=attributes)

    def with_merged_choices(self, item_id: str, merged: dict[str, tuple[str, ...]]) -> Codebook:
        """The codebook with some choices of one attribute merged: ``merged`` maps a new label to
        the labels it replaces. The merged choice takes the place and code of its first member and
        keeps the members' labels as aliases; other items are unchanged."""
        if not merged:
            return self
        owner = {m: label for label, members in merged.items() for m in members}
        item = self.item(item_id)
        choices: list[Choice] = []
        for c in item.choices:
            if c.label not in owner:
                choices.append(c)
            elif not any(x.label == owner[c.label] for x in choices):
                members = merged[owner[c.label]]
                choices.append(Choice(code=c.code, label=owner[c.label], aliases=members))
        new_item = replace(item, choices=tuple(choices))
        attributes = tuple(new_item if a.id == item_id else a for a in self.attributes)
        return replace(self, attributes=attributes)


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Read and validate a codebook YAML file.

    Parameters
    ----------
    path
        A codebook file. ``None`` loads the packaged R7 codebook (a reconstruction, see module doc).

    Raises
    ------
    CodebookError
        When the file is missing, is not YAML, or breaks the schema; the message names the place.
    """
    if path is None:
        ref = resources.files("ppp_survey") / "data" / DEFAULT_CODEBOOK
        name, text = f"{DEFAULT_CODEBOOK}（同梱）", ref.read_text(encoding="utf-8")
    else:
        p = Path(path)
        if not p.is_file():
            raise CodebookError(
                f"コードブック {p.name}: ファイルが見つからない（{p}）。--codebook に既存のYAMLファイルを指定する"
            )
        name, text = str(p), p.read_text(encoding="utf-8-sig")
    raw = read_yaml(text, kind="コードブック", name=name, error=CodebookError)
    return parse_codebook(raw, name=name, packaged=DEFAULT_CODEBOOK if path is None else None, lines=yaml_lines(text))


def parse_codebook(
    raw: Any, *, name: str = "<codebook>", packaged: str | None = None, lines: dict[str, int] | None = None
) -> Codebook:
    """Validate an already-parsed codebook mapping (see :func:`load_codebook`); ``packaged`` is the
    file name in ``ppp_survey/data`` when the mapping came from a packaged codebook; ``lines`` (key
    path → line, :func:`~ppp_survey.spec.schema.yaml_lines`) lets messages name the line."""
    v = _Validator(name, lines)
    m = v.mapping(raw, "")
    version = m.get("schema_version")
    if version != SCHEMA_VERSION:
        v.fail(
            "schema_version",
            f"「{version}」はこのパッケージが読める版ではない。先頭に「schema_version: {SCHEMA_VERSION}」と書く",
        )
    survey = _parse_survey(v, v.mapping(v.required(m, "survey", ""), "survey"))
    attributes = tuple(
        _parse_item(v, a, f"attributes[{i}]", is_attribute=True)
        for i, a in enumerate(v.sequence(v.required(m, "attributes", ""), "attributes"))
    )
    questions = tuple(
        _parse_item(v, q, f"questions[{i}]", is_attribute=False)
        for i, q in enumerate(v.sequence(v.required(m, "questions", ""), "questions"))
    )
    strata = [a.id for a in attributes if a.role == "stratum"]
    if len(strata) != 1:
        v.fail(
            "attributes",
            f"「role: stratum」の属性が{len(strata)}個ある。職員数フレームの職域にあたる属性1つだけに「role: stratum」を書く",
        )
    seen: dict[str, str] = {}
    for where, item in [(f"attributes[{i}]", a) for i, a in enumerate(attributes)] + [
        (f"questions[{i}]", q) for i, q in enumerate(questions)
    ]:
        if item.id in seen:
            v.fail(where, f"「id: {item.id}」は {seen[item.id]} でも使われている。別のidにする")
        seen[item.id] = where
    missing = tuple(str(x) for x in v.sequence(m.get("missing", []), "missing"))
    id_column = tuple(str(x) for x in v.sequence(m.get("id_column", ["ID"]), "id_column"))
    return Codebook(
        survey=survey,
        attributes=attributes,
        questions=questions,
        missing=missing,
        id_column=id_column,
        path=name,
        packaged=packaged,
    )


def _parse_survey(v: _Validator, s: dict) -> SurveyInfo:
    start = v.date(v.required(s, "fielded_from", "survey"), "survey.fielded_from")
    end = v.date(v.required(s, "fielded_to", "survey"), "survey.fielded_to")
    if end < start:
        v.fail("survey.fielded_to", f"調査終了日 {end} が開始日 fielded_from {start} より前になっている。日付を直す")
    population = v.positive_int(v.required(s, "population", "survey"), "survey.population")
    respondents = s.get("respondents")
    if respondents is not None:
        respondents = v.positive_int(respondents, "survey.respondents")
        if respondents > population:
            v.fail(
                "survey.respondents",
                f"回答者数 {respondents:,}人が職員数 population {population:,}人を超えている。どちらかを直す",
            )
    survey_id = str(v.required(s, "id", "survey"))
    # optional: an empty label (`wave: null`, as init-codebook drafts it, or "") is the survey id, so
    # every reader (titles, legends, sheet headers, the committee paper) gets a label, never "None"
    wave = "" if s.get("wave") is None else str(s.get("wave")).strip()
    return SurveyInfo(
        id=survey_id,
        title=str(v.required(s, "title", "survey")),
        wave=wave or survey_id,
        fielded_from=start,
        fielded_to=end,
        population=population,
        respondents=respondents,
        source=str(s.get("source", "")),
        source_note=str(s.get("source_note", "")),
        reconstruction=str(s.get("reconstruction", "")),
    )


def _parse_item(v: _Validator, raw: Any, where: str, *, is_attribute: bool) -> Item:
    m = v.mapping(raw, where)
    item_id = str(v.required(m, "id", where))
    if not item_id.isidentifier():
        v.fail(where, f"「id: {item_id}」は使えない。idは半角の英字・数字・_ で書く（例: id: q1）")
    kind = str(m.get("type", "sa"))
    if kind not in ITEM_TYPES:
        v.fail(where, f"「type: {kind}」は使えない。{'、'.join(ITEM_TYPES)} のいずれかを書く（id: {item_id}）")
    role = str(m.get("role", "attribute" if is_attribute else "question"))
    if is_attribute and role not in ROLES:
        v.fail(where, f"「role: {role}」は使えない。{'、'.join(ROLES)} のいずれかを書く（id: {item_id}）")
    if is_attribute and kind != "sa":
        v.fail(where, f"属性が「type: {kind}」になっている。属性は単一回答なので「type: sa」にする（id: {item_id}）")
    polarity = str(m.get("polarity", "neutral"))
    if polarity not in POLARITIES:
        v.fail(where, f"「polarity: {polarity}」は使えない。{'、'.join(POLARITIES)} のいずれかを書く（id: {item_id}）")
    choices = tuple(
        _parse_choice(v, c, f"{where}.choices[{i}]")
        for i, c in enumerate(v.sequence(m.get("choices", []), f"{where}.choices"))
    )
    if kind != "text" and len(choices) < 2:
        v.fail(
            where,
            f"「type: {kind}」の設問なのに選択肢が{len(choices)}個しかない。choices に2つ以上書く（id: {item_id}）",
        )
    if kind == "text" and choices:
        v.fail(where, f"自由記述（type: text）の設問に choices がある。choices を消すか type を直す（id: {item_id}）")
    _check_unique(v, where, item_id, choices)
    if kind == "likert" and sum(c.score is not None for c in choices) < 2:
        v.fail(
            where, f"尺度（type: likert）の設問で score のある選択肢が2つ未満。選択肢に score を書く（id: {item_id}）"
        )
    if kind != "ma" and any(c.exclusive for c in choices):
        v.fail(
            where,
            f"「exclusive」は複数選択（type: ma）の選択肢にだけ書ける。exclusive を消すか type を直す（id: {item_id}）",
        )
    label = str(m.get("label", m.get("title", item_id)))
    return Item(
        id=item_id,
        label=str(m.get("title", label)),
        text=str(v.required(m, "text", where)),
        type=ItemType(kind),
        choices=choices,
        number=str(m.get("number", "")),
        polarity=Polarity(polarity),
        role=role,
        aliases=tuple(str(a) for a in v.sequence(m.get("aliases", []), f"{where}.aliases")),
        other_text=(str(m["other_text"]) if m.get("other_text") else None),
    )


def _parse_choice(v: _Validator, raw: Any, where: str) -> Choice:
    m = v.mapping(raw, where)
    code = m.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        v.fail(where, f"「code: {code}」は整数ではない。選択肢の番号を整数で書く（例: code: 1）")
    label = v.required(m, "label", where)
    score = m.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        v.fail(where, f"「score: {score}」は数値ではない。数値を書くか、尺度外の選択肢なら score を消す")
    return Choice(
        code=int(code),
        label=str(label),
        aliases=tuple(str(a) for a in v.sequence(m.get("aliases", []), f"{where}.aliases")),
        score=None if score is None else float(score),
        exclusive=bool(m.get("exclusive", False)),
        other=bool(m.get("other", False)),
    )


def _check_unique(v: _Validator, where: str, item_id: str, choices: tuple[Choice, ...]) -> None:
    codes: set[int] = set()
    keys: dict[str, Choice] = {}
    for c in choices:
        if c.code in codes:
            v.fail(where, f"選択肢の「code: {c.code}」が2回使われている。別の番号にする（id: {item_id}）")
        codes.add(c.code)
        for k in c.keys():
            if k in keys and keys[k].code != c.code:
                v.fail(
                    where,
                    f"選択肢「{keys[k].label}」と「{c.label}」が照合では同じ「{k}」になり区別できない"
                    f"（全角半角・空白・番号を除いて比べる）。どちらかのラベルか別名を変える（id: {item_id}）",
                )
            keys[k] = c


class _Validator(FileChecker):
    """Raises :class:`CodebookError` naming the file and the place in it; dates and counts too."""

    error = CodebookError
    kind = "コードブック"

    def date(self, raw: Any, where: str) -> dt.date:
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw))
        except ValueError:
            self.fail(where, f"「{raw}」は日付ではない。YYYY-MM-DD の形で書く（例: 2026-07-17）")
        raise AssertionError  # unreachable

    def positive_int(self, raw: Any, where: str) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool) or raw <= 0:
            self.fail(where, f"「{raw}」は1以上の整数ではない。人数を整数で書く")
        return int(raw)
