"""The staff frame: how many staff (職員数) each 職域 has.

The frame is the population side of every rate and weight. It is a CSV file (UTF-8 or CP932,
``#`` lines are comments) with two columns, ``職域`` and ``職員数`` (English ``domain`` and
``population`` are accepted too). Its categories must be exactly the codebook's stratum choices,
and its total must equal the codebook's ``survey.population``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ppp_survey.errors import FrameError
from ppp_survey.files import decode_text
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.normalize import normalize_key

DOMAIN_HEADERS = ("職域", "domain", "stratum")
POPULATION_HEADERS = ("職員数", "population", "staff", "n")


def load_frame(path: str | Path, codebook: Codebook) -> pd.DataFrame:
    """Read and validate a staff frame.

    Returns
    -------
    DataFrame
        Columns ``domain`` (the codebook's label, categorical in codebook order) and ``population``
        (int), one row per 職域 of the codebook, in codebook order.

    Raises
    ------
    FrameError
        Missing file or column, a non-numeric or non-positive count, an unknown or repeated 職域,
        a 職域 of the codebook absent from the frame, or a total that differs from the codebook's.
    """
    p = Path(path)
    raw, text = read_table(p, "職員数フレーム", "--frame で職員数のCSVを指定する", FrameError)
    dom_col, pop_col = find_column(raw, DOMAIN_HEADERS), find_column(raw, POPULATION_HEADERS)
    if dom_col is None or pop_col is None:
        raise FrameError(
            f"職員数フレーム {p.name}: 列「職域」と「職員数」が必要（見出しは {'、'.join(map(str, raw.columns))}）。"
            "1行目を「職域,職員数」にする"
        )
    stratum = codebook.stratum
    lookup = {k: c.label for c in stratum.choices for k in (*c.keys(), normalize_key(c.code))}
    rows: dict[str, int] = {}
    for line, (dom, pop) in table_rows(raw, text, dom_col, pop_col):
        row = _FrameRow(
            f"職員数フレーム {p.name} {line}行目", dom_col, pop_col, dom, pop, lookup.get(normalize_key(dom))
        )
        for rule in FRAME_ROW_RULES:
            rule(row, stratum, rows)
        rows[str(row.label)] = _frame_count(row)
    check_staff_totals(
        rows,
        stratum.labels,
        codebook.survey.population,
        where=f"職員数フレーム {p.name}",
        absent_of=f"コードブックの{stratum.label}",
        total_of="職員数",
        error=FrameError,
    )
    out = pd.DataFrame({"domain": stratum.labels, "population": [rows[lab] for lab in stratum.labels]})
    out["domain"] = pd.Categorical(out["domain"], categories=stratum.labels)
    return out


@dataclass(frozen=True)
class _FrameRow:
    """One data row of a staff frame: ``where`` (file and line), the columns' names, the cells, and
    the codebook's 職域 label the first cell names (None: none)."""

    where: str
    dom_col: str
    pop_col: str
    dom: str
    pop: str
    label: str | None


def _not_blank_or_total(r: _FrameRow, stratum: Item, rows: dict[str, int]) -> None:
    if r.label is None and normalize_key(r.dom) in ("", "合計", "計", "総計", "total"):
        what = "空の行" if not normalize_key(r.dom) else f"合計の行（「{r.dom}」）"
        raise FrameError(f"{r.where}: {what}。この行を削除する（合計は自動で計算する）")


def _known_domain(r: _FrameRow, stratum: Item, rows: dict[str, int]) -> None:
    if r.label is None:
        raise FrameError(
            f"{r.where} 列「{r.dom_col}」: 「{r.dom}」はコードブックの{stratum.label}"
            f"（{'、'.join(stratum.labels)}）にない。フレームを直すか、コードブックに別名（aliases）を加える"
        )


def _domain_once(r: _FrameRow, stratum: Item, rows: dict[str, int]) -> None:
    if r.label in rows:
        raise FrameError(f"{r.where} 列「{r.dom_col}」: 「{r.dom}」が2回ある。1行にまとめる")


FRAME_ROW_RULES = (_not_blank_or_total, _known_domain, _domain_once)
"""The rules of a staff frame's row, in the order they are reported (then its count: :func:`staff_count`)."""


def _frame_count(r: _FrameRow) -> int:
    count = staff_count(r.pop)
    if count is None:
        raise FrameError(f"{r.where} 列「{r.pop_col}」: 「{r.pop}」は職員数（1以上の整数）ではない。数字で書く")
    return count


def read_table(p: Path, what: str, hint: str, error: type[FrameError]) -> tuple[pd.DataFrame, str]:
    """A staff table's CSV (every cell text, ``#`` lines comments) and its decoded text; ``what``
    names the file in messages, ``hint`` says which option gives it."""
    if not p.is_file():
        raise error(f"{what} {p.name}: ファイルが見つからない。{hint}")
    text, _ = decode_text(p.read_bytes(), p)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, comment="#", keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise error(f"{what} {p.name}: CSVとして読めない（{exc}）。Excelで「CSV UTF-8」として保存し直す") from None
    return raw, text


def find_column(raw: pd.DataFrame, headers: tuple[str, ...]) -> str | None:
    """The first column whose header matches one of ``headers`` (by matching key), else None."""
    keys = {normalize_key(c): c for c in raw.columns}
    return next((keys[normalize_key(h)] for h in headers if normalize_key(h) in keys), None)


def table_rows(raw: pd.DataFrame, text: str, *columns: str) -> Iterator[tuple[int | str, tuple[str, ...]]]:
    """``(line, cells)`` of each data row (the empty rows below the table skipped), the line as
    the user sees it (``?`` when unknown)."""
    lines = data_lines(text)
    filled = trailing_blank_rows(*(raw[c] for c in columns))
    for i, cells in enumerate(zip(*(raw[c][:filled] for c in columns))):
        yield (lines[i] if i < len(lines) else "?"), cells


def staff_count(value: object) -> int | None:
    """A cell as a positive whole number of staff (full-width digits, thousands commas and a ``.0``
    as Excel writes a whole number allowed), else None."""
    text = normalize_key(value).replace(",", "")
    if text.endswith(".0"):
        text = text[:-2]
    return int(text) if text.isdigit() and int(text) > 0 else None


def check_staff_totals(
    rows: dict[str, int],
    labels: list[str],
    population: int,
    *,
    where: str,
    absent_of: str,
    total_of: str,
    error: type[FrameError],
    hint: str = "",
) -> None:
    """Every category of ``labels`` has a row, and the counts add up to the codebook's population
    (the staff frame's 職域, a margins file's 職位 or 年代); one Japanese line otherwise."""
    absent = [lab for lab in labels if lab not in rows]
    if absent:
        raise error(f"{where}: {absent_of}「{'」「'.join(absent)}」の行がない。それぞれ1行加える{hint}")
    total = sum(rows.values())
    if total != population:
        raise error(
            f"{where}: {total_of}の合計 {total:,}人がコードブックの survey.population {population:,}人と違う。どちらかを直す"
        )


def trailing_blank_rows(*columns) -> int:
    """How many rows the table has before the rows of empty cells that Excel leaves below a table
    (",,"): those are skipped; an empty row inside the table is still reported with its line."""
    empty = [all(not normalize_key(v) for v in row) for row in zip(*columns)]
    while empty and empty[-1]:
        empty.pop()
    return len(empty)


def data_lines(text: str) -> list[int]:
    """1-based line numbers of the data rows, as pandas reads them (blank and ``#`` lines skipped,
    the first remaining line being the header), so messages point at the line the user sees."""
    numbers = [
        n for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.lstrip().startswith("#")
    ]
    return numbers[1:]
