"""The mapping between two codebook versions: which questions, choices and 職域 are the same item.

Questionnaires change between waves, so two waves are compared only through a *mapping file*
(:func:`load_mapping`) that says which questions and choices are the same item, which were
renamed, added or removed, and how the 職域 of the old organisation map to the new one. Anything
that differs between the two codebooks and that the mapping does not declare is refused with a
message naming the question and what changed: a changed item is never compared silently.

Mapping file schema (``schema_version: 1``; example: the packaged ``mapping_r7_r8.yaml``)::

    schema_version: 1
    from: r7                 # survey.id of the older codebook
    to: r8                   # survey.id of the newer codebook
    strata:                  # 職域. Unlisted labels must be the same in both codebooks.
      - {from: 企業（上下水道）, to: 上下水道局, note: 組織改正で名称変更}   # renamed
      - {from: [税務, 福祉], to: 税務・福祉}                          # merged (or split: to: [A, B])
      - {to: 新設の部, status: added}                                 # no counterpart: not compared
      - {from: 廃止された部, status: removed}
    questions:               # Unlisted questions must be identical in both (type, text, choices,
                             # scores, polarity); text (自由記述) questions are never compared.
      - id: q1                                   # same id in both waves
        text_changed: 指示文を追記しただけ         # declares a reworded question the same item
      - {from: q6, to: q6b}                      # renamed id (same item)
      - id: q5
        choices:                 # by LABEL, never by number; unlisted choices pair by label
          - {to: 指針がわかりにくい, status: added}      # new choice
          - {from: その他の課題, status: removed}
          - {from: 旧ラベル, to: 新ラベル, changed: 表記の統一}  # relabelled: the same choice
          - {choice: 特にない, note: …}                 # the same label in both (a note only)
        polarity: higher_is_worse                # only when the codebooks' polarities differ
        note: 自由な注記（変化表の note 列に出る）
      - {id: q9, status: added}                  # only in the new wave
      - {id: q2, status: removed}                # only in the old wave
      - {id: q4, status: not_comparable, reason: 選択肢を全面改定}
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from ppp_survey.errors import MappingError
from ppp_survey.spec.codebook import POLARITIES, Codebook, Item, Polarity
from ppp_survey.spec.mapping_choices import ChoiceMap, WaveChecker, check_mapping_labels, map_choices, same_scale
from ppp_survey.spec.normalize import normalize_key
from ppp_survey.spec.resources import resolve_codebook
from ppp_survey.spec.schema import Entry, Field, read_entry, read_yaml, yaml_lines

__all__ = [
    "MAPPING_SCHEMA_VERSION",
    "ChoiceMap",
    "GroupMap",
    "Mapping",
    "MappingError",
    "QuestionMap",
    "load_mapping",
    "parse_mapping",
]

MAPPING_SCHEMA_VERSION = 1
NO_FILE = "（対応表なし）"  # the mapping's name when none is given (every question must then be identical)


@dataclass(frozen=True)
class QuestionMap:
    """One question across waves.

    ``status``: ``same`` (compared), ``added`` (new wave only), ``removed`` (old wave only),
    ``not_comparable`` (in both, refused by the mapping). ``caveats`` are the declared changes
    (wording, choices), printed in the change table's ``note`` column. ``polarity`` is the one that
    applies to verdicts.
    """

    old: str | None
    new: str | None
    status: str = "same"
    choices: tuple[ChoiceMap, ...] = ()
    polarity: Polarity = Polarity.NEUTRAL
    caveats: tuple[str, ...] = ()
    reason: str = ""
    top2: bool = False  # the top-2 box is comparable (Likert, same scored choices and scores)

    def ids(self) -> tuple[str, str]:
        """``(old, new)`` ids of a question in both waves (status ``same``)."""
        if self.old is None or self.new is None:
            raise ValueError(f"question {self.new or self.old} is {self.status}: it is not in both waves")
        return self.old, self.new


@dataclass(frozen=True)
class GroupMap:
    """A group of 職域 compared across waves: old labels → new labels, shown as ``name``."""

    name: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    status: str = "same"  # same | added | removed
    note: str = ""


@dataclass(frozen=True)
class Mapping:
    """A validated mapping between two codebooks (build it with :func:`load_mapping`)."""

    old: Codebook
    new: Codebook
    questions: tuple[QuestionMap, ...]
    groups: tuple[GroupMap, ...]
    path: str = ""
    sha256: str = ""

    @property
    def compared_groups(self) -> list[GroupMap]:
        return [g for g in self.groups if g.status == "same"]

    def not_compared(self) -> pd.DataFrame:
        """What is left out of the comparison and why: ``item, old, new, status, reason``."""
        rows: list[dict[str, object]] = []
        for q in self.questions:
            if q.status != "same":
                rows.append(
                    {
                        "item": q.new or q.old,
                        "old": q.old or "",
                        "new": q.new or "",
                        "status": q.status,
                        "reason": q.reason
                        or {"added": f"{self.new.survey.wave}で追加", "removed": f"{self.new.survey.wave}で削除"}.get(
                            q.status, ""
                        ),
                    }
                )
                continue
            for c in q.choices:
                if c.status != "same":
                    rows.append(
                        {
                            "item": f"{q.new}:{c.new if c.new is not None else c.old}",
                            "old": c.old,
                            "new": c.new,
                            "status": c.status,
                            "reason": c.note,
                        }
                    )
            if self.new.item(q.ids()[1]).type == "likert" and not q.top2:
                rows.append(
                    {
                        "item": f"{q.new}:top2",
                        "old": q.old,
                        "new": q.new,
                        "status": "not_comparable",
                        "reason": "評定尺度（得点のある選択肢）が変わったため上位2区分は比較しない",
                    }
                )
        for g in self.groups:
            if g.status != "same":
                rows.append(
                    {
                        "item": f"職域:{g.name}",
                        "old": "・".join(g.old),
                        "new": "・".join(g.new),
                        "status": g.status,
                        "reason": g.note,
                    }
                )
        return pd.DataFrame(rows, columns=["item", "old", "new", "status", "reason"])


def load_mapping(
    path: str | Path | None, old_codebook: Codebook | str | Path | None, new_codebook: Codebook | str | Path | None
) -> Mapping:
    """Read a mapping file and check it against the two codebooks.

    ``path=None`` (or a packaged file name such as ``"mapping_r7_r8.yaml"``) is accepted; ``None``
    means "no mapping": every question must then be identical in both codebooks.

    Raises
    ------
    MappingError
        A malformed file, or a difference between the codebooks the mapping does not declare
        (the message names the question or 職域 and what changed).
    """
    old, new = resolve_codebook(old_codebook), resolve_codebook(new_codebook)
    if path is None:
        return parse_mapping(None, old, new, name=NO_FILE)
    p = Path(path)
    if not p.is_file():
        packaged = resources.files("ppp_survey") / "data" / str(path)
        if not packaged.is_file() and p.suffix not in (".yaml", ".yml"):
            path = f"{path}.yaml"
            packaged = resources.files("ppp_survey") / "data" / path
        if not packaged.is_file():
            raise MappingError(
                f"対応表 {p.name}: ファイルが見つからない（パスにも同梱の対応表にもない）。"
                "--mapping に既存のYAMLファイルか同梱の名前（例: mapping_r7_r8.yaml）を指定する"
            )
        data, name = packaged.read_bytes(), f"{path}（同梱）"
    else:
        data, name = p.read_bytes(), str(p)
    text = data.decode("utf-8-sig")
    raw = read_yaml(text, kind="対応表", name=name, error=MappingError)
    mapping = parse_mapping(raw, old, new, name=name, lines=yaml_lines(text))
    return Mapping(
        old=old,
        new=new,
        questions=mapping.questions,
        groups=mapping.groups,
        path=name,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def parse_mapping(
    raw: Any, old: Codebook, new: Codebook, *, name: str = "<mapping>", lines: dict[str, int] | None = None
) -> Mapping:
    """Validate an already-parsed mapping (see :func:`load_mapping`); ``lines``: key path → line."""
    v = _Check(name, old.survey.wave, new.survey.wave, lines)
    m = {} if raw is None else v.mapping(raw, "")
    if raw is not None:
        if m.get("schema_version") != MAPPING_SCHEMA_VERSION:
            v.fail(
                "schema_version",
                f"「{m.get('schema_version')}」はこのパッケージが読める版ではない。"
                f"先頭に「schema_version: {MAPPING_SCHEMA_VERSION}」と書く",
            )
        for key, cb in (("from", old), ("to", new)):
            if str(m.get(key, "")) != cb.survey.id:
                v.fail(
                    key,
                    f"「{key}: {m.get(key)}」がコードブックの survey.id「{cb.survey.id}」と合わない"
                    f"（対応表は {m.get('from')} → {m.get('to')}、コードブックは {old.survey.id} → {new.survey.id}）。"
                    "比べる2回の調査の対応表を指定するか、from/to を直す",
                )
    groups = _parse_strata(v, v.sequence(m.get("strata", []) or [], "strata"), old, new)
    questions = _parse_questions(v, v.sequence(m.get("questions", []) or [], "questions"), old, new)
    return Mapping(old=old, new=new, questions=questions, groups=groups, path=name)


# The shape of a mapping file's entries, declared once (read by schema.read_entry); what follows
# each declaration are the entries' semantic rules: labels and ids of the two codebooks, each used once.
STRATUM = (
    Field("status", default="same", allowed=("same", "added", "removed")),
    Field("from", "texts"),
    Field("to", "texts"),
    Field("note"),
)
QUESTION = (Field("status", default="same", allowed=("same", "added", "removed", "not_comparable")),)


def _parse_strata(v: _Check, entries: list, old: Codebook, new: Codebook) -> tuple[GroupMap, ...]:
    so, sn = old.stratum, new.stratum
    used: tuple[dict[str, str], dict[str, str]] = ({}, {})
    groups = [_stratum(v, read_entry(v, raw, f"strata[{i}]", STRATUM), so, sn, used) for i, raw in enumerate(entries)]
    groups += _same_label_strata(v, so, sn, used)
    _unlisted_new_strata(v, so, sn, used[1])
    position = {lab: i for i, lab in enumerate(sn.labels)}
    return tuple(sorted(groups, key=lambda g: position[g.new[0]] if g.new else len(position)))


def _stratum(v: _Check, e: Entry, so: Item, sn: Item, used: tuple[dict[str, str], dict[str, str]]) -> GroupMap:
    """One declared entry of ``strata``: its labels in their codebooks, each side as its status says,
    each label mapped once."""
    where, status = e.where, e["status"]
    olds = [v.label(so, x, where, v.old) for x in e["from"]]
    news = [v.label(sn, x, where, v.new) for x in e["to"]]
    _stratum_sides(v, where, status, olds, news)
    for labs, used_labs, wave, item in ((olds, used[0], v.old, so), (news, used[1], v.new, sn)):
        for lab in labs:
            if lab in used_labs:
                v.fail(where, f"{wave}の{item.label}「{lab}」は {used_labs[lab]} でも対応づけている。1か所にする")
            used_labs[lab] = where
    note = e["note"]
    if status == "same" and (olds != news):
        note = "；".join(x for x in (f"{v.old}: {'・'.join(olds)}", note) if x)
    return GroupMap(name="・".join(news or olds), old=tuple(olds), new=tuple(news), status=status, note=note)


def _stratum_sides(v: _Check, where: str, status: str, olds: list[str], news: list[str]) -> None:
    if status == "same" and not (olds and news):
        v.fail(where, "from と to の両方が要る（片方の調査にしかないなら status: added か status: removed と書く）")
    if status == "added" and (olds or not news):
        v.fail(where, "「status: added」（新しい調査にだけある）には to だけを書く。from を消す")
    if status == "removed" and (news or not olds):
        v.fail(where, "「status: removed」（前の調査にだけある）には from だけを書く。to を消す")


def _same_label_strata(v: _Check, so: Item, sn: Item, used: tuple[dict[str, str], dict[str, str]]) -> list[GroupMap]:
    """The old 職域 the file does not list: each the same item as the new one of the same label."""
    new_keys = {normalize_key(lab): lab for lab in sn.labels}
    groups = []
    for lab in (lab for lab in so.labels if lab not in used[0]):
        twin = new_keys.get(normalize_key(lab))
        if twin is None or twin in used[1]:
            v.fail(
                "strata",
                f"{v.old}の{so.label}「{lab}」が{v.new}の{sn.label}（{'、'.join(sn.labels)}）になく、対応表にも書かれていない。"
                f"名前が変わったか統合されたなら {{from: {lab}, to: <{v.new}の{sn.label}>}}、"
                f"なくなったなら {{from: {lab}, status: removed}} を strata に加える",
            )
        used[1][twin] = "(same label)"
        groups.append(GroupMap(name=twin, old=(lab,), new=(twin,)))
    return groups


def _unlisted_new_strata(v: _Check, so: Item, sn: Item, used_new: dict[str, str]) -> None:
    for lab in sn.labels:
        if lab not in used_new:
            v.fail(
                "strata",
                f"{v.new}の{sn.label}「{lab}」が{v.old}の{so.label}になく、対応表にも書かれていない。"
                f"{{from: <{v.old}の{so.label}>, to: {lab}}} か {{to: {lab}, status: added}} を strata に加える",
            )


def _parse_questions(v: _Check, entries: list, old: Codebook, new: Codebook) -> tuple[QuestionMap, ...]:
    olds = {q.id: q for q in old.questions if q.type != "text"}
    news = {q.id: q for q in new.questions if q.type != "text"}
    check_mapping_labels(v, entries, olds, news, (v.old, v.new))  # every label at once, before the rest
    declared: dict[tuple[str | None, str | None], tuple[str, dict]] = {}
    used: tuple[dict[str, str], dict[str, str]] = ({}, {})
    for i, raw in enumerate(entries):
        e = read_entry(v, raw, f"questions[{i}]", QUESTION)
        o, n = _question_ids(v, e)
        for qid, used_ids, wave, known in ((o, used[0], v.old, olds), (n, used[1], v.new, news)):
            if qid is not None:
                _use_question(v, e.where, qid, used_ids, wave, known)
        declared[(o, n)] = (e.where, e.raw)
    _unlisted_questions(v, olds, news, used, declared)
    out = [
        _question(v, where, e, None if o is None else olds.get(o), None if n is None else news.get(n))
        for (o, n), (where, e) in declared.items()
    ]
    position: dict[str | None, int] = {qid: i for i, qid in enumerate(news)}  # None (removed) sorts last
    return tuple(sorted(out, key=lambda q: position.get(q.new, len(position))))


def _question_ids(v: _Check, e: Entry) -> tuple[str | None, str | None]:
    """``(old, new)`` ids of a ``questions`` entry (``id``, or ``from``/``to``), as its status allows."""
    x, status = e.raw, e["status"]
    o: str | None
    n: str | None
    if "id" in x:
        o = n = str(x["id"])
    else:
        o = None if x.get("from") is None else str(x["from"])
        n = None if x.get("to") is None else str(x["to"])
    o = None if status == "added" else o
    n = None if status == "removed" else n
    if status in ("same", "not_comparable") and (o is None or n is None):
        v.fail(e.where, f"「status: {status}」には id（または from と to）が要る。設問のidを書く")
    if status == "not_comparable" and not x.get("reason"):
        v.fail(e.where, f"「id: {n}」の「status: not_comparable」に reason がない。比べられない理由を reason に書く")
    return o, n


def _use_question(v: _Check, where: str, qid: str, used: dict[str, str], wave: str, known: dict[str, Item]) -> None:
    if qid not in known:
        v.fail(where, f"「{qid}」は{wave}の設問のidにない（あるのは {'、'.join(known)}）。idを直す")
    if qid in used:
        v.fail(where, f"{wave}の設問「id: {qid}」は {used[qid]} でも対応づけている。1か所にする")
    used[qid] = where


def _unlisted_questions(
    v: _Check,
    olds: dict[str, Item],
    news: dict[str, Item],
    used: tuple[dict[str, str], dict[str, str]],
    declared: dict[tuple[str | None, str | None], tuple[str, dict]],
) -> None:
    """Questions the file does not list: the same id in both waves, else a message naming it."""
    used_old, used_new = used
    for qid in (qid for qid in olds if qid not in used_old):
        if qid not in news or qid in used_new:
            v.fail(
                "questions",
                f"{v.old}の設問{olds[qid].display}（id: {qid}）が{v.new}になく、対応表にも書かれていない。"
                f"{{id: {qid}, status: removed}} か {{from: {qid}, to: <{v.new}の設問のid>}} を questions に加える",
            )
        declared[(qid, qid)] = ("", {})
        used_old[qid] = used_new[qid] = "(same id)"
    for qid in news:
        if qid not in used_new:
            v.fail(
                "questions",
                f"{v.new}の設問{news[qid].display}（id: {qid}）が{v.old}になく、対応表にも書かれていない。"
                f"{{id: {qid}, status: added}} か {{from: <{v.old}の設問のid>, to: {qid}}} を questions に加える",
            )


def _question(v: _Check, where: str, e: dict, qo: Item | None, qn: Item | None) -> QuestionMap:
    status = str(e.get("status", "same"))
    if status != "same" or qo is None or qn is None:
        return _one_sided(v, where, e, status, qo, qn)
    ids = f"id: {qn.id}" if qo.id == qn.id else f"{v.old}の id: {qo.id} → {v.new}の id: {qn.id}"
    name = f"設問{qn.display}（{ids}）"
    place = where or "questions"
    if qo.type != qn.type:
        v.fail(
            place,
            f"{name}の回答形式が変わった（{v.old} {qo.type_name} → {v.new} {qn.type_name}）ので比べられない。"
            f"{{id: {qn.id}, status: not_comparable, reason: …}} と書く",
        )
    problems: list[str] = []
    caveats: list[str] = [f"{v.old}の設問ID {qo.id}"] if qo.id != qn.id else []
    if normalize_key(qo.text) != normalize_key(qn.text):
        if e.get("text_changed"):
            caveats.append(f"設問文変更: {e['text_changed']}")
        else:
            problems.append(
                f"設問文が変わった（{v.old}「{qo.text}」→ {v.new}「{qn.text}」。text_changed: <理由> と書く）"
            )
    polarity = _polarity(v, place, name, e, qo, qn, problems, caveats)
    choices = map_choices(v, place, name, e, qo, qn, problems, caveats)
    if problems:
        v.fail(
            place,
            f"{name}が{v.old}と{v.new}で違うのに対応表に書かれていない: "
            + "、".join(problems)
            + f"。同じ設問として比べるなら {{id: {qn.id}, …}} に変更を書き、"
            f"比べられないなら {{id: {qn.id}, status: not_comparable, reason: …}} を加える",
        )
    caveats += [note] if (note := str(e.get("note", ""))) else []
    top2 = qn.type == "likert" and same_scale(qo, qn, choices)
    return QuestionMap(
        old=qo.id, new=qn.id, status="same", choices=choices, polarity=polarity, caveats=tuple(caveats), top2=top2
    )


def _one_sided(v: _Check, where: str, e: dict, status: str, qo: Item | None, qn: Item | None) -> QuestionMap:
    """A question not compared: in one wave only, or declared not comparable."""
    either = qn or qo
    if either is None:
        v.fail(where, f"「status: {status}」に設問のidがない。「id: 設問のid」を書く")
    return QuestionMap(
        old=None if qo is None else qo.id,
        new=None if qn is None else qn.id,
        status=status if qo and qn else ("added" if qo is None else "removed"),
        reason=str(e.get("reason", str(e.get("note", "")))),
        polarity=either.polarity,
    )


def _polarity(
    v: _Check, place: str, name: str, e: dict, qo: Item, qn: Item, problems: list[str], caveats: list[str]
) -> Polarity:
    """The polarity verdicts use: the codebooks', or the file's when they differ (then it must say)."""
    if qo.polarity != qn.polarity:
        if e.get("polarity") in POLARITIES:
            polarity = Polarity(e["polarity"])
            caveats.append(f"極性: {v.old} {qo.polarity} → {v.new} {qn.polarity}（比較は {polarity}）")
            return polarity
        problems.append(
            f"極性が変わった（{v.old} {qo.polarity} → {v.new} {qn.polarity}。"
            f"比較に使う極性を polarity: <{' か '.join(POLARITIES)}> と書く）"
        )
    elif e.get("polarity") is not None:
        if e["polarity"] not in POLARITIES:
            v.fail(place, f"{name}の「polarity: {e['polarity']}」は使えない。{'、'.join(POLARITIES)} のいずれかを書く")
        return Polarity(e["polarity"])
    return qn.polarity


class _Check(WaveChecker):
    """Raise :class:`MappingError` naming the file and the place in it; labels of either wave."""

    error = MappingError
    kind = "対応表"

    def fail(self, where: str, message: str) -> NoReturn:
        super().fail(where, message + ("（--mapping で対応表ファイルを指定する）" if self.name == NO_FILE else ""))

    def label(self, item: Item, value: str, where: str, wave: str) -> str:
        keys = {normalize_key(lab): lab for lab in item.labels}
        found = keys.get(normalize_key(value))
        if found is None:
            self.fail(where, f"「{value}」は{wave}の{item.label}にない（{'、'.join(item.labels)}）。名前を直す")
        return found
