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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from ppp_survey.constants import NO_ANSWER
from ppp_survey.errors import MarginsError
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.frame import check_staff_totals, find_column, read_table, staff_count, table_rows
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


def _attribute_lookup(codebook: Codebook) -> dict[str, Item]:
    lookup: dict[str, Item] = {}
    for a in codebook.attributes:
        for key in (a.label, a.id, *a.aliases):
            lookup.setdefault(normalize_key(key), a)
    return lookup


def load_margins(path: str | Path, codebook: Codebook) -> Margins:
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
    raw, text = read_table(p, _WHAT, "--margins で職位別・年代別の職員数のCSVを指定する", MarginsError)
    cols = [find_column(raw, h) for h in (ATTRIBUTE_HEADERS, CATEGORY_HEADERS, POPULATION_HEADERS)]
    if None in cols:
        raise MarginsError(
            f"{_WHAT} {p.name}: 列「属性」「区分」「職員数」が必要（見出しは {'、'.join(map(str, raw.columns))}）。"
            "1行目を「属性,区分,職員数」にする"
        )
    att_col, cat_col, pop_col = (str(c) for c in cols)
    attributes = _attribute_lookup(codebook)
    found: dict[str, dict[str, int]] = {}
    for line, (att, cat, pop) in table_rows(raw, text, att_col, cat_col, pop_col):
        row = _MarginRow(f"{_WHAT} {p.name} {line}行目", att_col, cat_col, pop_col, att, cat, pop, codebook)
        for rule in MARGIN_ROW_RULES:
            rule(row, attributes, found)
        found.setdefault(row.item.id, {})[row.label] = _margin_count(row)
    if not found:
        raise MarginsError(f"{_WHAT} {p.name}: データの行がない。「属性,区分,職員数」の行を加える")
    margins = [_margin(item, found[item.id], codebook, p.name) for item in codebook.attributes if item.id in found]
    return Margins(margins=tuple(margins), source=p.name)


@dataclass
class _MarginRow:
    """One data row of a margins file: ``where`` (file and line), the columns' names and cells; the
    rules fill in the attribute (``item``) and the codebook's ``label`` of the category it names."""

    where: str
    att_col: str
    cat_col: str
    pop_col: str
    att: str
    cat: str
    pop: str
    codebook: Codebook
    item: Item = field(init=False)
    label: str = ""


def _not_blank(r: _MarginRow, attributes: dict[str, Item], found: dict[str, dict[str, int]]) -> None:
    if not normalize_key(r.att) and not normalize_key(r.cat):
        raise MarginsError(f"{r.where}: 空の行。この行を削除する")


def _attribute(r: _MarginRow, attributes: dict[str, Item], found: dict[str, dict[str, int]]) -> None:
    """The row's attribute: one of the codebook's (label, id or alias), not the stratum."""
    item = attributes.get(normalize_key(r.att))
    if item is None:
        known = "、".join(a.label for a in r.codebook.attributes if a.role != "stratum")
        raise MarginsError(
            f"{r.where} 列「{r.att_col}」: 「{r.att}」はコードブックの属性（{known}）にない。属性名を直すか、コードブックに別名（aliases）を加える"
        )
    stratum = r.codebook.stratum
    if item.id == stratum.id:
        raise MarginsError(
            f"{r.where} 列「{r.att_col}」: 「{r.att}」は層（{stratum.label}）。{stratum.label}別の職員数は職員数フレーム（--frame）に書き、この行を削除する"
        )
    r.item = item


def _category(r: _MarginRow, attributes: dict[str, Item], found: dict[str, dict[str, int]]) -> None:
    """The row's category: a choice of its attribute (label, alias or code), not a total."""
    choices = {k: c.label for c in r.item.choices for k in (*c.keys(), normalize_key(c.code))}
    label = choices.get(normalize_key(r.cat))
    if label is None and normalize_key(r.cat) in ("合計", "計", "総計", "total"):
        raise MarginsError(
            f"{r.where} 列「{r.cat_col}」: 合計の行（「{r.cat}」）。この行を削除する（合計は自動で確かめる）"
        )
    if label is None:
        raise MarginsError(
            f"{r.where} 列「{r.cat_col}」: 「{r.cat}」はコードブックの{r.item.label}（{'、'.join(r.item.labels)}）にない。"
            "区分を直すか、コードブックに別名（aliases）を加える"
        )
    r.label = label


def _category_once(r: _MarginRow, attributes: dict[str, Item], found: dict[str, dict[str, int]]) -> None:
    if r.label in found.get(r.item.id, {}):
        raise MarginsError(f"{r.where} 列「{r.cat_col}」: {r.item.label}「{r.cat}」が2回ある。1行にまとめる")


MARGIN_ROW_RULES = (_not_blank, _attribute, _category, _category_once)
"""The rules of a margins file's row, in the order they are reported (then its count)."""


def _margin_count(r: _MarginRow) -> int:
    count = staff_count(r.pop)
    if count is None:
        raise MarginsError(
            f"{r.where} 列「{r.pop_col}」: 「{r.pop}」は職員数（1以上の整数）ではない。1以上の整数で書く"
            "（職員のいない区分は、隣の区分とまとめてコードブックの区分も合わせる）"
        )
    return count


def _margin(item: Item, rows: dict[str, int], codebook: Codebook, name: str) -> Margin:
    """One attribute's margin: every stated category has a row, and the total is the population."""
    stated = [lab for lab in item.labels if lab != NO_ANSWER]  # a blank has no staff count of its own
    check_staff_totals(
        rows,
        stated,
        codebook.survey.population,
        where=f"{_WHAT} {name}",
        absent_of=item.label,
        total_of=f"{item.label}の職員数",
        error=MarginsError,
        hint="（該当者がいない区分は、隣の区分とまとめてコードブックを直す）",
    )
    return Margin(
        attribute=item.id, label=item.label, categories=tuple(stated), counts=tuple(rows[lab] for lab in stated)
    )
