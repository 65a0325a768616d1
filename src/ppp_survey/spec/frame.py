"""The staff frame: how many staff (職員数) each 職域 has.

The frame is the population side of every rate and weight. It is a CSV file (UTF-8 or CP932,
``#`` lines are comments) with two columns, ``職域`` and ``職員数`` (English ``domain`` and
``population`` are accepted too). Its categories must be exactly the codebook's stratum choices,
and its total must equal the codebook's ``survey.population``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from ppp_survey.errors import FrameError
from ppp_survey.files import decode_text
from ppp_survey.spec.codebook import Codebook
from ppp_survey.spec.normalize import normalize_key

DOMAIN_HEADERS = ("職域", "domain", "stratum")
POPULATION_HEADERS = ("職員数", "population", "staff", "n")


def load_frame(path: str | Path, codebook: Codebook) -> pd.DataFrame:  # noqa: C901 (a schema validator: one branch per documented rule)
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
    if not p.is_file():
        raise FrameError(f"frame {p}: file not found; pass the staff frame CSV with --frame")
    text, _ = decode_text(p.read_bytes(), p)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, comment="#", keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FrameError(f"frame {p}: not a readable CSV ({exc})") from None
    keys = {normalize_key(c): c for c in raw.columns}
    dom_col = next((keys[normalize_key(h)] for h in DOMAIN_HEADERS if normalize_key(h) in keys), None)
    pop_col = next((keys[normalize_key(h)] for h in POPULATION_HEADERS if normalize_key(h) in keys), None)
    if dom_col is None or pop_col is None:
        raise FrameError(f"frame {p}: needs columns 職域 and 職員数; found {list(raw.columns)}")

    stratum = codebook.stratum
    lookup = {k: c.label for c in stratum.choices for k in (*c.keys(), normalize_key(c.code))}
    lines = _data_lines(text)
    rows: dict[str, int] = {}
    for i, (dom, pop) in enumerate(zip(raw[dom_col], raw[pop_col])):
        line = lines[i] if i < len(lines) else "?"
        label = lookup.get(normalize_key(dom))
        if label is None and normalize_key(dom) in ("", "合計", "計", "総計", "total"):
            what = "an empty row" if not normalize_key(dom) else f"a total row ({dom!r})"
            raise FrameError(f"frame {p}, line {line}: {what}; delete this row (the total is computed)")
        if label is None:
            raise FrameError(
                f"frame {p}, line {line}, column {dom_col}: {dom!r} is not a {stratum.label} of the codebook "
                f"({', '.join(stratum.labels)}); correct the frame or add an alias to the codebook"
            )
        if label in rows:
            raise FrameError(f"frame {p}, line {line}, column {dom_col}: {dom!r} appears twice")
        count = normalize_key(pop).replace(",", "")
        if not count.isdigit() or int(count) <= 0:
            raise FrameError(
                f"frame {p}, line {line}, column {pop_col}: {pop!r} is not a positive whole number of staff"
            )
        rows[label] = int(count)
    absent = [lab for lab in stratum.labels if lab not in rows]
    if absent:
        raise FrameError(
            f"frame {p}: {stratum.label} {', '.join(absent)} of the codebook are missing; add a row for each"
        )
    total = sum(rows.values())
    if total != codebook.survey.population:
        raise FrameError(
            f"frame {p}: total {total:,} staff differs from the codebook's survey.population "
            f"{codebook.survey.population:,}; correct one of them"
        )
    out = pd.DataFrame({"domain": stratum.labels, "population": [rows[lab] for lab in stratum.labels]})
    out["domain"] = pd.Categorical(out["domain"], categories=stratum.labels)
    return out


def _data_lines(text: str) -> list[int]:
    """1-based line numbers of the data rows, as pandas reads them (blank and ``#`` lines skipped,
    the first remaining line being the header), so messages point at the line the user sees."""
    numbers = [
        n for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.lstrip().startswith("#")
    ]
    return numbers[1:]
