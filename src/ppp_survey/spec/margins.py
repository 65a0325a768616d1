"""Margins of the staff list for further attributes (職位, 年代): the population side of raking.

The personnel section can often give the staff list's totals by 職位 and by 年代 (not their
cross-table). A margins file holds them so the weights can be raked to every known margin
(:func:`ppp_survey.survey.calibration.rake`), not only to the 職域 of the staff frame.

Format: a CSV file (UTF-8 with or without BOM, or CP932 from Excel; ``#`` lines are comments) with
three columns ``属性,区分,職員数`` (English ``attribute,category,population`` are accepted too)::

    # 職員数の周辺分布（職位別・年代別）
    属性,区分,職員数
    職位,係員,1820
    職位,係長級,760
    ...
    年代,20代以下,700
    ...

Rules, checked with the codebook (each error names file, line, column and value, and says what to do):

* ``属性`` is a respondent attribute of the codebook (its label, id or an alias), never the stratum
  (職域: its totals are the staff frame's);
* ``区分`` is a choice of that attribute (label, alias or code), at most once per attribute, and every
  choice of an attribute that appears has a row;
* ``職員数`` is a positive integer; each attribute's total equals the codebook's ``survey.population``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ppp_survey.constants import NO_ANSWER
from ppp_survey.errors import MarginsError
from ppp_survey.files import decode_text
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.frame import check_staff_totals, data_lines, staff_count, trailing_blank_rows
from ppp_survey.spec.normalize import normalize_key

__all__ = ["Margin", "Margins", "MarginsError", "load_margins"]

ATTRIBUTE_HEADERS = ("属性", "attribute")
CATEGORY_HEADERS = ("区分", "category", "level")
POPULATION_HEADERS = ("職員数", "population", "staff", "n")
_WHAT = "職員数の周辺分布"


@dataclass(frozen=True)
class Margin:
    """The staff list's totals by the categories of one attribute.

    ``attribute`` is the codebook's attribute id (the respondent table's column, e.g. ``position``),
    ``label`` its display label (職位); ``categories`` are the codebook's choice labels in codebook
    order and ``counts`` the staff in each.
    """

    attribute: str
    label: str
    categories: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    def totals(self) -> pd.Series:
        """The counts as a Series indexed by category label (what :func:`~ppp_survey.survey.calibration.rake` takes)."""
        return pd.Series(
            self.counts, index=pd.Index(self.categories, name=self.attribute), name=self.label, dtype=float
        )


@dataclass(frozen=True)
class Margins:
    """Every margin of a margins file, in codebook order of the attributes; ``source`` is the file name."""

    margins: tuple[Margin, ...]
    source: str = ""

    def __iter__(self):
        return iter(self.margins)

    def __len__(self) -> int:
        return len(self.margins)

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(m.attribute for m in self.margins)

    def targets(self) -> dict[str, pd.Series]:
        """``{attribute id: totals by category}``, the ``margins`` argument of :func:`~ppp_survey.survey.calibration.rake`."""
        return {m.attribute: m.totals() for m in self.margins}

    def merged(self, pools: Mapping[str, Mapping[str, Sequence[str]]]) -> Margins:
        """The margins with categories merged into pools, ``{attribute id: {pool label: member labels}}``
        (the anonymity pools of :func:`ppp_survey.survey.privacy.protect`, ``Pools.by_attribute``): a
        pool's staff are its members' sum, placed where its first member was."""
        out = []
        for m in self.margins:
            merged = pools.get(m.attribute, {})
            owner = {member: label for label, members in merged.items() for member in members}
            counts: dict[str, int] = {}
            for category, count in zip(m.categories, m.counts):
                label = owner.get(category, category)
                counts[label] = counts.get(label, 0) + count
            out.append(replace(m, categories=tuple(counts), counts=tuple(counts.values())))
        return replace(self, margins=tuple(out))

    def to_frame(self) -> pd.DataFrame:
        """A tidy table ``attribute, label, category, population`` (one row per category)."""
        rows = [(m.attribute, m.label, c, n) for m in self.margins for c, n in zip(m.categories, m.counts)]
        return pd.DataFrame(rows, columns=["attribute", "label", "category", "population"])


def _read(p: Path) -> tuple[pd.DataFrame, str]:
    if not p.is_file():
        raise MarginsError(
            f"{_WHAT} {p.name}: ファイルが見つからない。--margins で職位別・年代別の職員数のCSVを指定する"
        )
    text, _ = decode_text(p.read_bytes(), p)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, comment="#", keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise MarginsError(
            f"{_WHAT} {p.name}: CSVとして読めない（{exc}）。Excelで「CSV UTF-8」として保存し直す"
        ) from None
    return raw, text


def _column(raw: pd.DataFrame, headers: tuple[str, ...]) -> str | None:
    keys = {normalize_key(c): c for c in raw.columns}
    return next((keys[normalize_key(h)] for h in headers if normalize_key(h) in keys), None)


def _attribute_lookup(codebook: Codebook) -> dict[str, Item]:
    lookup: dict[str, Item] = {}
    for a in codebook.attributes:
        for key in (a.label, a.id, *a.aliases):
            lookup.setdefault(normalize_key(key), a)
    return lookup


def load_margins(path: str | Path, codebook: Codebook) -> Margins:  # noqa: C901 (a schema validator: one branch per documented rule)
    """Read and validate a margins file (see the module docstring for the format).

    Returns
    -------
    Margins
        One :class:`Margin` per attribute in the file, in codebook order; categories in codebook order.

    Raises
    ------
    MarginsError
        A missing file or column; an unknown attribute or category; the stratum (職域) given here; a
        category twice; a count that is not a positive integer; a category of the codebook missing
        from an attribute; an attribute whose total differs from ``survey.population``.
    """
    p = Path(path)
    raw, text = _read(p)
    att_col = _column(raw, ATTRIBUTE_HEADERS)
    cat_col = _column(raw, CATEGORY_HEADERS)
    pop_col = _column(raw, POPULATION_HEADERS)
    if att_col is None or cat_col is None or pop_col is None:
        raise MarginsError(
            f"{_WHAT} {p.name}: 列「属性」「区分」「職員数」が必要（見出しは {'、'.join(map(str, raw.columns))}）。"
            "1行目を「属性,区分,職員数」にする"
        )
    attributes = _attribute_lookup(codebook)
    stratum = codebook.stratum
    lines = data_lines(text)
    found: dict[str, dict[str, int]] = {}
    filled = trailing_blank_rows(raw[att_col], raw[cat_col], raw[pop_col])
    for i, (att, cat, pop) in enumerate(zip(raw[att_col][:filled], raw[cat_col][:filled], raw[pop_col][:filled])):
        line = lines[i] if i < len(lines) else "?"
        where = f"{_WHAT} {p.name} {line}行目"
        if not normalize_key(att) and not normalize_key(cat):
            raise MarginsError(f"{where}: 空の行。この行を削除する")
        item = attributes.get(normalize_key(att))
        if item is None:
            known = "、".join(a.label for a in codebook.attributes if a.role != "stratum")
            raise MarginsError(
                f"{where} 列「{att_col}」: 「{att}」はコードブックの属性（{known}）にない。属性名を直すか、コードブックに別名（aliases）を加える"
            )
        if item.id == stratum.id:
            raise MarginsError(
                f"{where} 列「{att_col}」: 「{att}」は層（{stratum.label}）。{stratum.label}別の職員数は職員数フレーム（--frame）に書き、この行を削除する"
            )
        choices = {k: c.label for c in item.choices for k in (*c.keys(), normalize_key(c.code))}
        label = choices.get(normalize_key(cat))
        if label is None and normalize_key(cat) in ("合計", "計", "総計", "total"):
            raise MarginsError(
                f"{where} 列「{cat_col}」: 合計の行（「{cat}」）。この行を削除する（合計は自動で確かめる）"
            )
        if label is None:
            raise MarginsError(
                f"{where} 列「{cat_col}」: 「{cat}」はコードブックの{item.label}（{'、'.join(item.labels)}）にない。"
                "区分を直すか、コードブックに別名（aliases）を加える"
            )
        rows = found.setdefault(item.id, {})
        if label in rows:
            raise MarginsError(f"{where} 列「{cat_col}」: {item.label}「{cat}」が2回ある。1行にまとめる")
        count = staff_count(pop)
        if count is None:
            raise MarginsError(
                f"{where} 列「{pop_col}」: 「{pop}」は職員数（1以上の整数）ではない。1以上の整数で書く"
                "（職員のいない区分は、隣の区分とまとめてコードブックの区分も合わせる）"
            )
        rows[label] = count
    if not found:
        raise MarginsError(f"{_WHAT} {p.name}: データの行がない。「属性,区分,職員数」の行を加える")
    margins = []
    for item in codebook.attributes:
        if item.id not in found:
            continue
        rows = found[item.id]
        stated = [lab for lab in item.labels if lab != NO_ANSWER]  # a blank has no staff count of its own
        check_staff_totals(
            rows,
            stated,
            codebook.survey.population,
            where=f"{_WHAT} {p.name}",
            absent_of=item.label,
            total_of=f"{item.label}の職員数",
            error=MarginsError,
            hint="（該当者がいない区分は、隣の区分とまとめてコードブックを直す）",
        )
        margins.append(
            Margin(
                attribute=item.id,
                label=item.label,
                categories=tuple(stated),
                counts=tuple(rows[lab] for lab in stated),
            )
        )
    return Margins(margins=tuple(margins), source=p.name)
