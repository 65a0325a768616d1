"""Waves of the survey, their indicators, and the mapping between two codebook versions.

A *wave* is one run of the survey with its own codebook and staff frame (:func:`load_wave`).
Its *indicators* (:func:`wave_indicators`) are the numbers a comparison looks at: the share of
each choice of a single-answer or Likert question (``q3:choice:1``), the top-2 box of a Likert
question (``q6:top2``), the share of each multi-select option (``q5:opt:3``) and the response rate
(``rate``), for 全体 and for each 職域, all design-based (:mod:`ppp_survey.tables`).

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
        choices:                                 # unlisted choices match by code (same label, score)
          - {to: 14, status: added}              # new choice
          - {from: 9, status: removed}
          - {from: 3, to: 4, changed: 表記の統一}  # recoded and/or relabelled: same choice
        polarity: higher_is_worse                # only when the codebooks' polarities differ
        note: 自由な注記（変化表の note 列に出る）
      - {id: q9, status: added}                  # only in the new wave
      - {id: q2, status: removed}                # only in the old wave
      - {id: q4, status: not_comparable, reason: 選択肢を全面改定}
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .codebook import POLARITIES, Codebook, Item, load_codebook, parse_codebook
from .errors import CodebookError, PppSurveyError
from .normalize import normalize_key
from .privacy import DEFAULT_MIN_GROUP, suppress_cells

__all__ = [
    "ALL",
    "INDICATOR_COLUMNS",
    "MAPPING_SCHEMA_VERSION",
    "ChoiceMap",
    "GroupMap",
    "Mapping",
    "MappingError",
    "QuestionMap",
    "Wave",
    "as_wave",
    "codebook_source",
    "indicator_key",
    "load_mapping",
    "load_wave",
    "packaged_codebook",
    "parse_mapping",
    "resolve_codebook",
    "wave_from_responses",
    "wave_indicators",
]

ALL = "全体"
MAPPING_SCHEMA_VERSION = 1
TOP2_LABEL = "肯定的回答（上位2区分）"
RATE_LABEL = "回答率"

#: Columns of :func:`wave_indicators`.
INDICATOR_COLUMNS = ("indicator", "question", "kind", "code", "label", "group", "base_n", "n", "share",
                     "estimate", "se", "se_nofpc", "ci_low", "ci_high", "suppressed")
_VALUES = ("n", "share", "estimate", "se", "se_nofpc", "ci_low", "ci_high")


class MappingError(PppSurveyError):
    """A mapping file is malformed, or the two codebooks differ in a way it does not declare."""


# ------------------------------------------------------------------------------------- waves

def resolve_codebook(ref: Codebook | str | Path | None) -> Codebook:
    """A codebook from a :class:`Codebook`, a YAML path, a packaged file name
    (``"codebook_r8.yaml"``) or ``None`` (the packaged R7 codebook)."""
    if isinstance(ref, Codebook):
        return ref
    if ref is None or Path(ref).is_file():
        return load_codebook(ref)
    return packaged_codebook(str(ref))


def packaged_codebook(name: str) -> Codebook:
    """A codebook shipped with the package, by file name (``"codebook_r8.yaml"``; the ``.yaml``
    may be left out)."""
    packaged = resources.files("ppp_survey") / "data" / name
    if not packaged.is_file() and not name.endswith((".yaml", ".yml")):
        name = f"{name}.yaml"
        packaged = resources.files("ppp_survey") / "data" / name
    if not packaged.is_file():
        raise CodebookError(f"codebook {name}: file not found (neither a path nor a packaged codebook)")
    return parse_codebook(yaml.safe_load(packaged.read_text(encoding="utf-8")), name=f"(packaged) {name}")


def codebook_source(codebook: Codebook) -> tuple[str, bytes]:
    """The file name and bytes a codebook was read from (a YAML dump when it came from no file)."""
    path = codebook.path
    if path.startswith("(packaged) "):
        name = path.removeprefix("(packaged) ")
        return name, (resources.files("ppp_survey") / "data" / name).read_bytes()
    if path and Path(path).is_file():
        return Path(path).name, Path(path).read_bytes()
    return "codebook.yaml", _dump_codebook(codebook).encode("utf-8")


@dataclass(frozen=True)
class Wave:
    """One wave: respondents, codebook and staff frame, with the hashes of the files they came from.

    ``frame`` is :func:`~ppp_survey.frame.load_frame`'s table (``domain``, ``population``);
    ``inputs`` maps ``data``/``frame``/``codebook`` to ``{"file": name, "sha256": hex}``.
    """

    codebook: Codebook
    responses: pd.DataFrame
    frame: pd.DataFrame
    note: str = ""
    synthetic: bool = False
    inputs: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The wave's name, e.g. ``R7`` (codebook ``survey.wave``)."""
        return self.codebook.survey.wave

    def design(self, *, fpc: bool = True):
        """The post-stratified design (strata = 職域, N_h from the frame)."""
        from .tables import make_design

        return make_design(self.responses, self.frame, self.codebook, fpc=fpc)

    @property
    def rates(self) -> pd.DataFrame:
        from .rates import response_rates

        return response_rates(self.responses, self.frame, self.codebook)


def load_wave(data: str | Path, frame: str | Path, codebook: Codebook | str | Path | None = None, *,
              on_invalid: str = "error", synthetic: bool | None = None) -> Wave:
    """Load one wave: the export, its staff frame and its codebook (``None``: packaged R7).

    Unlike :func:`~ppp_survey.analysis.load_survey` it computes no tables; it keeps the inputs'
    SHA-256 for a frozen baseline's manifest.
    """
    import re

    from .files import sha256_file
    from .frame import load_frame
    from .load import load_responses

    cb = resolve_codebook(codebook)
    loaded = load_responses(data, cb, on_invalid=on_invalid)
    staff = load_frame(frame, cb)
    if synthetic is None:
        synthetic = bool(re.search(r"synthetic|架空", Path(data).name, re.IGNORECASE))
    name, text = codebook_source(cb)
    inputs = {
        "data": {"file": Path(data).name, "sha256": loaded.report.sha256},
        "frame": {"file": Path(frame).name, "sha256": sha256_file(frame)},
        "codebook": {"file": name, "sha256": hashlib.sha256(text).hexdigest()},
    }
    return wave_from_responses(loaded.responses, staff, cb, synthetic=synthetic, inputs=inputs)


def wave_from_responses(responses: pd.DataFrame, frame: pd.DataFrame, codebook: Codebook, *,
                        synthetic: bool = True, inputs: dict | None = None) -> Wave:
    """A wave from an in-memory respondent table (e.g. :func:`ppp_survey.synth.generate`'s)."""
    from .fmt import source_note

    n = int(responses[codebook.stratum.id].notna().sum())
    note = source_note(codebook, int(frame["population"].sum()), n, synthetic=synthetic)
    if inputs is None:
        name, text = codebook_source(codebook)
        inputs = {"data": {"file": "(in memory)", "sha256": _table_hash(responses)},
                  "frame": {"file": "(in memory)", "sha256": _table_hash(frame)},
                  "codebook": {"file": name, "sha256": hashlib.sha256(text).hexdigest()}}
    return Wave(codebook=codebook, responses=responses, frame=frame, note=note, synthetic=synthetic,
                inputs=inputs)


def as_wave(obj) -> Wave:
    """A :class:`Wave` from a Wave or an analysed :class:`~ppp_survey.analysis.Survey`."""
    if isinstance(obj, Wave):
        return obj
    if hasattr(obj, "analysis") and hasattr(obj, "loaded"):
        cb = obj.analysis.codebook
        rates = obj.analysis.rates.iloc[:-1]
        frame = pd.DataFrame({"domain": pd.Categorical(rates["domain"].astype(str), categories=cb.stratum.labels),
                              "population": rates["population"].astype(int).to_numpy()})
        name, text = codebook_source(cb)
        report = obj.loaded.report
        inputs = {"data": {"file": Path(report.file).name, "sha256": report.sha256},
                  "frame": {"file": "(frame table)", "sha256": _table_hash(frame)},
                  "codebook": {"file": name, "sha256": hashlib.sha256(text).hexdigest()}}
        return Wave(codebook=cb, responses=obj.responses, frame=frame, note=obj.note, synthetic=obj.synthetic,
                    inputs=inputs)
    raise TypeError(f"expected a Wave or a Survey (load_wave / load_survey), got {type(obj).__name__}")


def _table_hash(table: pd.DataFrame) -> str:
    buf = io.StringIO()
    table.to_csv(buf, index=False, lineterminator="\n")
    return hashlib.sha256(buf.getvalue().encode("utf-8")).hexdigest()


# -------------------------------------------------------------------------------- indicators

def indicator_key(question: str, kind: str, code: int | None = None) -> str:
    """An indicator's key: ``q3:choice:1``, ``q6:top2``, ``q5:opt:3``; ``rate`` for the response rate."""
    if kind == "rate":
        return "rate"
    if kind == "top2":
        return f"{question}:top2"
    return f"{question}:{'opt' if kind == 'option' else 'choice'}:{code}"


def wave_indicators(wave: Wave, *, groups: dict[str, str] | None = None, order: list[str] | None = None,
                    min_group: int = DEFAULT_MIN_GROUP) -> pd.DataFrame:
    """Every indicator of a wave, 全体 and (with ``groups``) by group of 職域.

    Parameters
    ----------
    groups
        職域 label → group name (a 職域 may be its own group; several 職域 may form one group, as
        a mapping's merged 職域 do). 職域 not in it belong to no group (全体 still counts them).
        ``None``: 全体 only.
    order
        Order of the groups (default: first appearance in ``groups``).
    min_group
        Anonymity threshold: groups whose base is smaller are suppressed (NaN values,
        ``suppressed=True``; with complementary suppression, as every table of the report).

    Returns
    -------
    DataFrame
        :data:`INDICATOR_COLUMNS`: ``indicator`` key, ``question`` id, ``kind`` (``choice``,
        ``top2``, ``option``, ``rate``), choice ``code``, ``label``, ``group``, ``base_n``
        (answered the question; for ``rate`` the staff count), ``n`` (chose it; respondents),
        ``share`` (plain share), design-based ``estimate`` with ``se`` (stratified, FPC),
        ``se_nofpc`` (the same without the FPC) and the 95% logit interval ``ci_low``/``ci_high``.
        The numbers are those of :func:`~ppp_survey.tables.tally` and
        :func:`~ppp_survey.tables.likert_summary` (the same indicator columns and estimator, in one
        pass over all columns). Groups are domains of the full design (never a design on filtered
        rows). A response rate is a count of the whole frame: its ``se`` is 0.
    """
    from .estimate import survey_mean
    from .tables import indicators

    cb = wave.codebook
    stratum = cb.stratum.id
    columns: dict[str, np.ndarray] = {}
    meta: list[tuple[str, str, str, int | None, str]] = []  # column, item id, kind, code, label
    for item in cb.questions_of_type("sa", "likert", "ma"):
        ind = indicators(wave.responses, item)
        kind = "option" if item.is_multi else "choice"
        if item.type == "likert":
            col = f"{item.id}__top2"
            columns[col] = _top2(wave.responses, item)
            meta.append((col, item.id, "top2", None, TOP2_LABEL))
        for choice, col in zip(item.choices, item.option_columns):
            columns[col] = ind[col].to_numpy(float)
            meta.append((col, item.id, kind, choice.code, choice.label))
    data = pd.DataFrame(columns, index=wave.responses.index)
    names = list(columns)
    keys = {col: indicator_key(q, kind, code) for col, q, kind, code, _ in meta}
    by = None
    if groups is not None:
        by = "__group__"
        cats = list(order or dict.fromkeys(groups.values()))
        data[by] = pd.Categorical(wave.responses[stratum].astype(object).map(groups), categories=cats)
    designs = {fpc: _design(wave, fpc) for fpc in (True, False)}
    parts = [_rate_rows(wave, groups, by and list(data[by].cat.categories))]
    for b in ([None, by] if by else [None]):
        est = {fpc: survey_mean(data, d, names, by=b) for fpc, d in designs.items()}
        table = est[True].assign(se_nofpc=est[False]["se"].to_numpy())
        table["group"] = table["group"].astype(object)
        info = pd.DataFrame(meta, columns=["variable", "question", "kind", "code", "label"])
        table = table.merge(info, on="variable", how="left", validate="many_to_one")
        table["indicator"] = table["variable"].map(keys)
        table["base_n"] = table["n"].astype(int)
        table["share"] = table["unweighted"]
        table["n"] = np.round(table["unweighted"].fillna(0) * table["base_n"])
        for question, part in table.groupby("question", sort=False):  # rows: indicator × group
            part = part.reset_index(drop=True)
            if b is None:
                part["suppressed"] = False
            else:
                part, _ = suppress_cells(part, min_group, table="比較", question=question, by=stratum,
                                         value_columns=_VALUES)
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["code"] = out["code"].astype("Int64")
    out["base_n"] = out["base_n"].astype(int)
    out["suppressed"] = out["suppressed"].astype(bool)
    for col in _VALUES:
        out[col] = out[col].astype(float)
    return out[list(INDICATOR_COLUMNS)]


def _top2(responses: pd.DataFrame, item: Item) -> np.ndarray:
    """肯定的回答 (top-2 box) as :func:`~ppp_survey.tables.likert_summary` defines it: the two
    scored choices at the favourable end (by polarity), over everyone who answered."""
    scored = sorted((c for c in item.choices if c.score is not None), key=lambda c: -c.score)
    if item.polarity == "higher_is_worse":
        scored = scored[::-1]
    values = responses[item.id]
    answered = values.notna().to_numpy()
    return np.where(answered, values.isin([c.label for c in scored[:2]]).to_numpy(), np.nan)


def _design(wave: Wave, fpc: bool):
    from .tables import make_design

    return make_design(wave.responses, wave.frame, wave.codebook, fpc=fpc)


def _rate_rows(wave: Wave, groups: dict[str, str] | None, order: list[str] | None) -> pd.DataFrame:
    """Response rates (census counts against the frame: no sampling error), 全体 and by group."""
    rates = wave.rates
    body = rates.iloc[:-1].assign(domain=rates["domain"].iloc[:-1].astype(str))
    table = [(ALL, int(rates["population"].iloc[-1]), int(rates["respondents"].iloc[-1]))]
    if groups is not None:
        body = body.assign(group=body["domain"].map(groups)).dropna(subset=["group"])
        summed = body.groupby("group", sort=False)[["population", "respondents"]].sum()
        table += [(g, int(summed.loc[g, "population"]), int(summed.loc[g, "respondents"]))
                  for g in order if g in summed.index]
    group, pop, resp = zip(*table)
    rate = np.asarray(resp, float) / np.asarray(pop, float)
    return pd.DataFrame({"indicator": "rate", "question": "", "kind": "rate", "code": pd.NA, "label": RATE_LABEL,
                         "group": list(group), "base_n": list(pop), "n": list(resp), "share": rate,
                         "estimate": rate, "se": 0.0, "se_nofpc": 0.0, "ci_low": rate, "ci_high": rate,
                         "suppressed": False})


# ----------------------------------------------------------------------------------- mapping

@dataclass(frozen=True)
class ChoiceMap:
    """One choice across waves: ``old``/``new`` codes (``None`` when only one wave has it)."""

    old: int | None
    new: int | None
    status: str = "same"  # same | added | removed
    note: str = ""


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
    polarity: str = "neutral"
    caveats: tuple[str, ...] = ()
    reason: str = ""
    top2: bool = False  # the top-2 box is comparable (Likert, same scored choices and scores)


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
        rows = []
        for q in self.questions:
            if q.status != "same":
                rows.append({"item": q.new or q.old, "old": q.old or "", "new": q.new or "", "status": q.status,
                             "reason": q.reason or {"added": f"{self.new.survey.wave}で追加",
                                                    "removed": f"{self.new.survey.wave}で削除"}.get(q.status, "")})
                continue
            for c in q.choices:
                if c.status != "same":
                    rows.append({"item": f"{q.new}:{c.new if c.new is not None else c.old}", "old": c.old,
                                 "new": c.new, "status": c.status, "reason": c.note})
            if self.new.item(q.new).type == "likert" and not q.top2:
                rows.append({"item": f"{q.new}:top2", "old": q.old, "new": q.new, "status": "not_comparable",
                             "reason": "評定尺度（得点のある選択肢）が変わったため上位2区分は比較しない"})
        for g in self.groups:
            if g.status != "same":
                rows.append({"item": f"職域:{g.name}", "old": "・".join(g.old), "new": "・".join(g.new),
                             "status": g.status, "reason": g.note})
        return pd.DataFrame(rows, columns=["item", "old", "new", "status", "reason"])


def load_mapping(path: str | Path | None, old_codebook: Codebook | str | Path | None,
                 new_codebook: Codebook | str | Path | None) -> Mapping:
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
        return parse_mapping(None, old, new, name="(no mapping file)")
    p = Path(path)
    if not p.is_file():
        packaged = resources.files("ppp_survey") / "data" / str(path)
        if not packaged.is_file() and p.suffix not in (".yaml", ".yml"):
            path = f"{path}.yaml"
            packaged = resources.files("ppp_survey") / "data" / path
        if not packaged.is_file():
            raise MappingError(f"mapping {p}: file not found (neither a path nor a packaged mapping)")
        data, name = packaged.read_bytes(), f"(packaged) {path}"
    else:
        data, name = p.read_bytes(), str(p)
    try:
        raw = yaml.safe_load(data.decode("utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise MappingError(f"mapping {name}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    mapping = parse_mapping(raw, old, new, name=name)
    return Mapping(old=old, new=new, questions=mapping.questions, groups=mapping.groups, path=name,
                   sha256=hashlib.sha256(data).hexdigest())


def parse_mapping(raw: Any, old: Codebook, new: Codebook, *, name: str = "<mapping>") -> Mapping:
    """Validate an already-parsed mapping (see :func:`load_mapping`)."""
    v = _Check(name, old.survey.wave, new.survey.wave)
    m = {} if raw is None else v.mapping(raw, "")
    if raw is not None:
        if m.get("schema_version") != MAPPING_SCHEMA_VERSION:
            v.fail("", f"schema_version is {m.get('schema_version')!r}; this package reads {MAPPING_SCHEMA_VERSION}")
        for key, cb in (("from", old), ("to", new)):
            if str(m.get(key, "")) != cb.survey.id:
                v.fail("", f"'{key}: {m.get(key)}' does not match the codebook's survey.id {cb.survey.id!r} "
                           f"(mapping from {m.get('from')} to {m.get('to')}; codebooks {old.survey.id} → {new.survey.id})")
    groups = _parse_strata(v, v.sequence(m.get("strata", []) or [], "strata"), old, new)
    questions = _parse_questions(v, v.sequence(m.get("questions", []) or [], "questions"), old, new)
    return Mapping(old=old, new=new, questions=questions, groups=groups, path=name)


def _parse_strata(v: _Check, entries: list, old: Codebook, new: Codebook) -> tuple[GroupMap, ...]:
    so, sn = old.stratum, new.stratum
    used_old: dict[str, str] = {}
    used_new: dict[str, str] = {}
    groups: list[GroupMap] = []
    for i, raw in enumerate(entries):
        where = f"strata[{i}]"
        e = v.mapping(raw, where)
        status = str(e.get("status", "same"))
        if status not in ("same", "added", "removed"):
            v.fail(where, f"status {status!r} is not one of same, added, removed")
        olds = [v.label(so, x, where, v.old) for x in _as_list(e.get("from"))]
        news = [v.label(sn, x, where, v.new) for x in _as_list(e.get("to"))]
        if status == "same" and not (olds and news):
            v.fail(where, "needs both 'from' and 'to' (or status: added / removed)")
        if status == "added" and (olds or not news):
            v.fail(where, "status: added takes 'to' only")
        if status == "removed" and (news or not olds):
            v.fail(where, "status: removed takes 'from' only")
        for lab in olds:
            if lab in used_old:
                v.fail(where, f"{so.label}「{lab}」of {v.old} is already mapped at {used_old[lab]}")
            used_old[lab] = where
        for lab in news:
            if lab in used_new:
                v.fail(where, f"{sn.label}「{lab}」of {v.new} is already mapped at {used_new[lab]}")
            used_new[lab] = where
        note = str(e.get("note", ""))
        if status == "same" and (olds != news):
            note = "；".join(x for x in (f"{v.old}: {'・'.join(olds)}", note) if x)
        groups.append(GroupMap(name="・".join(news or olds), old=tuple(olds), new=tuple(news), status=status, note=note))
    new_keys = {normalize_key(lab): lab for lab in sn.labels}
    for lab in so.labels:
        if lab in used_old:
            continue
        twin = new_keys.get(normalize_key(lab))
        if twin is None or twin in used_new:
            v.fail("strata", f"{so.label}「{lab}」of {v.old} is not a {sn.label} of {v.new} ({', '.join(sn.labels)}) "
                             f"and the mapping says nothing about it; add {{from: {lab}, to: <{v.new}の{sn.label}>}} "
                             f"if it was renamed or merged, or {{from: {lab}, status: removed}}")
        used_new[twin] = "(same label)"
        groups.append(GroupMap(name=twin, old=(lab,), new=(twin,)))
    for lab in sn.labels:
        if lab not in used_new:
            v.fail("strata", f"{sn.label}「{lab}」of {v.new} is not a {so.label} of {v.old} and the mapping says "
                             f"nothing about it; add {{from: <{v.old}の{so.label}>, to: {lab}}} or {{to: {lab}, status: added}}")
    position = {lab: i for i, lab in enumerate(sn.labels)}
    return tuple(sorted(groups, key=lambda g: position[g.new[0]] if g.new else len(position)))


def _parse_questions(v: _Check, entries: list, old: Codebook, new: Codebook) -> tuple[QuestionMap, ...]:
    olds = {q.id: q for q in old.questions if q.type != "text"}
    news = {q.id: q for q in new.questions if q.type != "text"}
    declared: dict[tuple[str | None, str | None], tuple[str, dict]] = {}
    used_old: dict[str, str] = {}
    used_new: dict[str, str] = {}
    for i, raw in enumerate(entries):
        where = f"questions[{i}]"
        e = v.mapping(raw, where)
        status = str(e.get("status", "same"))
        if status not in ("same", "added", "removed", "not_comparable"):
            v.fail(where, f"status {status!r} is not one of same, added, removed, not_comparable")
        if "id" in e:
            o = n = str(e["id"])
        else:
            o = None if e.get("from") is None else str(e["from"])
            n = None if e.get("to") is None else str(e["to"])
        o = None if status == "added" else o
        n = None if status == "removed" else n
        if status in ("same", "not_comparable") and (o is None or n is None):
            v.fail(where, "needs 'id' (or 'from' and 'to')")
        if status == "not_comparable" and not e.get("reason"):
            v.fail(where, f"{n}: status not_comparable needs a 'reason'")
        if o is not None and o not in olds:
            v.fail(where, f"{v.old} has no question {o!r} (questions: {', '.join(olds)})")
        if n is not None and n not in news:
            v.fail(where, f"{v.new} has no question {n!r} (questions: {', '.join(news)})")
        for qid, used, wave in ((o, used_old, v.old), (n, used_new, v.new)):
            if qid is not None:
                if qid in used:
                    v.fail(where, f"question {qid!r} of {wave} is already mapped at {used[qid]}")
                used[qid] = where
        declared[(o, n)] = (where, e)
    for qid in olds:
        if qid not in used_old:
            if qid in news and qid not in used_new:
                declared[(qid, qid)] = ("", {})
                used_old[qid] = used_new[qid] = "(same id)"
            else:
                v.fail("questions", f"{qid} of {v.old} is not in {v.new} and the mapping says nothing about it; "
                                    f"add {{id: {qid}, status: removed}} or {{from: {qid}, to: <{v.new}の設問ID>}}")
    for qid in news:
        if qid not in used_new:
            v.fail("questions", f"{qid} of {v.new} is not in {v.old} and the mapping says nothing about it; "
                                f"add {{id: {qid}, status: added}} or {{from: <{v.old}の設問ID>, to: {qid}}}")
    out = [_question(v, where, e, olds.get(o), news.get(n)) for (o, n), (where, e) in declared.items()]
    position = {qid: i for i, qid in enumerate(news)}
    return tuple(sorted(out, key=lambda q: position.get(q.new, len(position))))


def _question(v: _Check, where: str, e: dict, qo: Item | None, qn: Item | None) -> QuestionMap:
    status = str(e.get("status", "same"))
    note = str(e.get("note", ""))
    if status != "same" or qo is None or qn is None:
        reason = str(e.get("reason", note))
        return QuestionMap(old=qo and qo.id, new=qn and qn.id, status=status if qo and qn else
                           ("added" if qo is None else "removed"), reason=reason,
                           polarity=(qn or qo).polarity)
    name = qn.id if qo.id == qn.id else f"{qo.id} ({v.old}) → {qn.id} ({v.new})"
    place = where or "questions"
    if qo.type != qn.type:
        v.fail(place, f"{name}: the question type changed ({v.old} {qo.type} → {v.new} {qn.type}); a changed type "
                      f"cannot be compared: declare {{id: {qn.id}, status: not_comparable, reason: …}}")
    problems: list[str] = []
    caveats: list[str] = []
    if qo.id != qn.id:
        caveats.append(f"{v.old}の設問ID {qo.id}")
    if normalize_key(qo.text) != normalize_key(qn.text):
        if e.get("text_changed"):
            caveats.append(f"設問文変更: {e['text_changed']}")
        else:
            problems.append(f"the question text changed: {v.old}「{qo.text}」→ {v.new}「{qn.text}」 "
                            f"(declare it with text_changed: <理由>)")
    polarity = qn.polarity
    if qo.polarity != qn.polarity:
        if e.get("polarity") in POLARITIES:
            polarity = str(e["polarity"])
            caveats.append(f"極性: {v.old} {qo.polarity} → {v.new} {qn.polarity}（比較は {polarity}）")
        else:
            problems.append(f"the polarity changed: {v.old} {qo.polarity} → {v.new} {qn.polarity} "
                            f"(declare polarity: <{' | '.join(POLARITIES)}> for the comparison)")
    elif e.get("polarity") is not None:
        if e["polarity"] not in POLARITIES:
            v.fail(place, f"{name}: polarity {e['polarity']!r} is not one of {', '.join(POLARITIES)}")
        polarity = str(e["polarity"])
    choices = _choices(v, place, name, e, qo, qn, problems, caveats)
    if problems:
        v.fail(place, f"{name} changed between {v.old} and {v.new} and the mapping does not declare it: "
                      + "; ".join(problems)
                      + f". If it is still the same item, declare each change in an entry {{id: {qn.id}, …}}; "
                        f"if it cannot be compared, add {{id: {qn.id}, status: not_comparable, reason: …}}")
    if note:
        caveats.append(note)
    top2 = qn.type == "likert" and _same_scale(qo, qn, choices)
    return QuestionMap(old=qo.id, new=qn.id, status="same", choices=choices, polarity=polarity,
                       caveats=tuple(caveats), top2=top2)


def _choices(v: _Check, place: str, name: str, e: dict, qo: Item, qn: Item, problems: list[str],
             caveats: list[str]) -> tuple[ChoiceMap, ...]:
    old_codes = {c.code: c for c in qo.choices}
    new_codes = {c.code: c for c in qn.choices}
    pairs: list[tuple[ChoiceMap, str]] = []
    used_o: set[int] = set()
    used_n: set[int] = set()
    for j, raw in enumerate(v.sequence(e.get("choices", []) or [], f"{place}.choices")):
        w = f"{place}.choices[{j}]"
        c = v.mapping(raw, w)
        status = str(c.get("status", "same"))
        if status not in ("same", "added", "removed"):
            v.fail(w, f"status {status!r} is not one of same, added, removed")
        o = None if status == "added" else c.get("from", c.get("code"))
        n = None if status == "removed" else c.get("to", c.get("code"))
        for code, codes, used, wave in ((o, old_codes, used_o, v.old), (n, new_codes, used_n, v.new)):
            if code is None:
                continue
            if not isinstance(code, int) or code not in codes:
                v.fail(w, f"{name}: {wave} has no choice with code {code!r} (codes: {', '.join(map(str, codes))})")
            if code in used:
                v.fail(w, f"{name}: choice {code} of {wave} is mapped twice")
            used.add(code)
        if status == "same" and (o is None or n is None):
            v.fail(w, f"{name}: a choice entry needs 'from' and 'to' (or 'code'), or status: added / removed")
        pairs.append((ChoiceMap(old=o, new=n, status=status, note=str(c.get("note", ""))), str(c.get("changed", ""))))
    for code in old_codes:
        if code not in used_o:
            if code in new_codes and code not in used_n:
                pairs.append((ChoiceMap(old=code, new=code), ""))
                used_o.add(code)
                used_n.add(code)
            else:
                problems.append(f"choice {code}「{old_codes[code].label}」of {v.old} is not in {v.new} "
                                f"(declare {{from: {code}, status: removed}} or {{from: {code}, to: <code>}})")
    for code in new_codes:
        if code not in used_n:
            problems.append(f"choice {code}「{new_codes[code].label}」is new in {v.new} "
                            f"(declare {{to: {code}, status: added}} or {{from: <code>, to: {code}}})")
    out = []
    for cm, changed in pairs:
        if cm.status == "added":
            caveats.append(f"{v.new}で選択肢「{new_codes[cm.new].label}」を追加")
        elif cm.status == "removed":
            caveats.append(f"{v.new}で選択肢「{old_codes[cm.old].label}」を削除")
        else:
            co, cn = old_codes[cm.old], new_codes[cm.new]
            diffs = []
            if normalize_key(co.label) != normalize_key(cn.label):
                diffs.append(f"label {v.old}「{co.label}」→ {v.new}「{cn.label}」")
            if co.score != cn.score:
                diffs.append(f"score {co.score} → {cn.score}")
            if (co.exclusive, co.other) != (cn.exclusive, cn.other):
                diffs.append("exclusive/other flag")
            if diffs and not changed:
                problems.append(f"choice {cm.old}→{cm.new}: " + ", ".join(diffs)
                                + f" (declare {{from: {cm.old}, to: {cm.new}, changed: <理由>}})")
            elif diffs:
                caveats.append(f"選択肢「{cn.label}」変更: {changed}")
            elif cm.old != cm.new:
                caveats.append(f"選択肢「{cn.label}」のコード {cm.old}→{cm.new}")
        out.append(cm)
    return tuple(out)


def _same_scale(qo: Item, qn: Item, choices: tuple[ChoiceMap, ...]) -> bool:
    """The top-2 box compares only when the scored choices map one to one with equal scores."""
    scored_o = {c.code for c in qo.choices if c.score is not None}
    scored_n = {c.code for c in qn.choices if c.score is not None}
    pairs = [(c.old, c.new) for c in choices if c.status == "same" and c.old in scored_o]
    return (len(pairs) == len(scored_o) == len(scored_n) and {n for _, n in pairs} == scored_n
            and all(qo.choice(o).score == qn.choice(n).score for o, n in pairs))


def _as_list(value) -> list:
    if value is None:
        return []
    return [str(x) for x in value] if isinstance(value, list) else [str(value)]


class _Check:
    """Raise :class:`MappingError` naming the file and the place in it."""

    def __init__(self, name: str, old: str, new: str) -> None:
        self.name, self.old, self.new = name, old, new

    def fail(self, where: str, message: str):
        place = f" {where}:" if where else ""
        raise MappingError(f"mapping {self.name}:{place} {message}")

    def mapping(self, raw: Any, where: str) -> dict:
        if not isinstance(raw, dict):
            self.fail(where, f"expected a mapping (key: value), got {type(raw).__name__}")
        return raw

    def sequence(self, raw: Any, where: str) -> list:
        if not isinstance(raw, list):
            self.fail(where, f"expected a list, got {type(raw).__name__}")
        return raw

    def label(self, item: Item, value: str, where: str, wave: str) -> str:
        keys = {normalize_key(lab): lab for lab in item.labels}
        found = keys.get(normalize_key(value))
        if found is None:
            self.fail(where, f"「{value}」is not a {item.label} of {wave} ({', '.join(item.labels)})")
        return found


def _dump_codebook(cb: Codebook) -> str:
    """A codebook as schema_version 1 YAML (for codebooks that came from no file)."""
    def item(it: Item) -> dict:
        d: dict[str, Any] = {"id": it.id, "text": it.text, "type": it.type}
        if it.role != "question":
            d["role"] = it.role
        d.update({"title": it.label, "number": it.number, "polarity": it.polarity, "aliases": list(it.aliases)})
        if it.other_text:
            d["other_text"] = it.other_text
        if it.choices:
            d["choices"] = [{k: v for k, v in {"code": c.code, "label": c.label, "aliases": list(c.aliases) or None,
                                               "score": c.score, "exclusive": c.exclusive or None,
                                               "other": c.other or None}.items() if v is not None}
                            for c in it.choices]
        return d

    s = cb.survey
    raw = {"schema_version": 1,
           "survey": {"id": s.id, "title": s.title, "wave": s.wave, "fielded_from": s.fielded_from.isoformat(),
                      "fielded_to": s.fielded_to.isoformat(), "population": s.population,
                      "respondents": s.respondents, "source": s.source, "source_note": s.source_note,
                      "reconstruction": s.reconstruction},
           "missing": list(cb.missing), "id_column": list(cb.id_column),
           "attributes": [item(a) for a in cb.attributes], "questions": [item(q) for q in cb.questions]}
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
