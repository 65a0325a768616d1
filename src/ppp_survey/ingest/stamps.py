"""Date-times as offices export them: the start and completion times of a response.

:func:`parse_stamps` reads each distinct value of a time column once, as Japan time without a time
zone: ISO and slashed forms (``2025-07-18T09:30:00``, ``2025/7/18 9:30``); the forms Japanese Excel
and forms write (``2025年7月18日 9時30分``, ``2025/07/18(金) 午前 9:30:00``); the Japanese era
(``令和7年7月18日``, ``R7.7.18``, ``令和元年``); a time with a zone (``…Z``, ``…+09:00``: converted to
Japan time, UTC+9, no daylight saving); an Excel serial day count written as a number
(``45856.395833``, 1954–2119). Anything else is NaT, which the loader reports as a time it cannot
read.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

__all__ = ["JAPAN", "parse_stamps"]

#: Japan time (UTC+9; no daylight saving): what a zoned stamp is read as.
JAPAN = dt.timezone(dt.timedelta(hours=9))

_ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988, "昭和": 1925, "S": 1925}
_ERA_DATE = re.compile(r"(令和|平成|昭和|[RHS])\s*(\d{1,2}|元)\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})(?:\s*日)?")
_KANJI_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_KANJI_TIME = re.compile(r"(\d{1,2})\s*時\s*(\d{1,2})\s*分(?:\s*(\d{1,2})\s*秒)?")
_WEEKDAY = re.compile(r"\s*[（(][月火水木金土日](?:曜日?)?[）)]\s*")
_HALF_DAY_AFTER = re.compile(r"(\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?)\s*(午前|午後)")  # 9:05 午前
_HALF_DAY = re.compile(r"(午前|午後|AM|PM)\s*(\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?)", re.IGNORECASE)
# patterns as strings: pandas hands them to Arrow's regex engine, one pass over the column
_ZONE = r"(?:\d[Zz]|UTC|GMT|utc|gmt|[+-]\d{2}:?\d{2})$"  # on the last six characters
_SERIAL = r"\d{5}(?:\.\d+)?"
_SERIAL_RANGE = (20000.0, 80000.0)  # 1954-10-03 … 2119-01-10: a count of days, not a year or an id


def _era_date(match: re.Match) -> str:
    era, year, month, day = match.groups()
    return f"{_ERAS[era] + (1 if year == '元' else int(year))}-{month}-{day}"


def _half_day(match: re.Match) -> str:
    return f"{match.group(2)} {'AM' if match.group(1) in ('午前', 'AM', 'am') else 'PM'}"


def _western(texts: pd.Series) -> pd.Series:
    """Japanese dates and times rewritten in the forms pandas reads (full-width characters as
    half-width, era → year, 年月日 → -, 時分秒 → :, 午前/午後 → AM/PM, the weekday dropped)."""
    out = texts.str.normalize("NFKC")  # full-width digits, letters and signs (Ｒ８．６．３, ９：０５)
    out = out.str.replace(_WEEKDAY, " ", regex=True)
    out = out.str.replace(_ERA_DATE, _era_date, regex=True)
    out = out.str.replace(_KANJI_DATE, r"\1-\2-\3", regex=True)
    out = out.str.replace(_KANJI_TIME, lambda m: f"{m[1]}:{int(m[2]):02d}:{int(m[3] or 0):02d}", regex=True)
    out = out.str.replace(_HALF_DAY_AFTER, lambda m: f"{m[2]}{m[1]}", regex=True)
    out = out.str.replace(_HALF_DAY, _half_day, regex=True)
    return out.str.strip()


def _read(texts: pd.Series, *, zoned: bool) -> np.ndarray:
    """pandas' reading of each text (mixed formats), NaT where it cannot; zoned texts in Japan time."""
    if not len(texts):
        return np.array([], dtype="datetime64[ns]")
    try:
        parsed = pd.to_datetime(texts, errors="coerce", format="mixed", utc=zoned)
    except (ValueError, TypeError, OverflowError):  # a zone pandas found where the pattern saw none
        return np.array([_one(t) for t in texts], dtype="datetime64[ns]")
    if zoned:
        parsed = parsed.dt.tz_convert(JAPAN).dt.tz_localize(None)
    return parsed.to_numpy(dtype="datetime64[ns]")


def _one(text: object) -> np.datetime64:
    """One text read on its own (zoned or not), NaT where it cannot be."""
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return np.datetime64("NaT")
    if stamp is pd.NaT:
        return np.datetime64("NaT")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(JAPAN).tz_localize(None)
    return stamp.to_datetime64().astype("datetime64[ns]")


def parse_stamps(values: pd.Series) -> np.ndarray:
    """``datetime64[ns]`` of each value (Japan time; NaT: blank or unreadable): ``values`` are a time
    column's distinct cells, texts (a CSV's) or date-times and numbers (a workbook's); None is blank."""
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    cells = values.to_numpy(dtype=object)
    text = np.fromiter((isinstance(v, str) for v in cells), dtype=bool, count=len(cells))
    for i in np.flatnonzero(~text & pd.notna(cells)):  # a workbook's date-time (or a number: its serial)
        v = cells[i]
        out[i] = _one(v) if isinstance(v, (dt.datetime, pd.Timestamp)) else _serial(str(v))
    at = np.flatnonzero(text)
    if not len(at):
        return out
    texts = pd.Series(cells[at], dtype="str").str.strip()
    zoned = texts.str[-6:].str.contains(_ZONE).to_numpy(bool)
    serial = texts.str.fullmatch(_SERIAL).to_numpy(bool)
    # what a plain reading misses: Japanese, an era's letter, a zone, a serial (most exports: none)
    special = ~texts.str.isascii().to_numpy(bool) | texts.str[:1].isin(list(_ERAS)).to_numpy(bool) | zoned | serial
    plain = ~special
    out[at[plain]] = _read(texts[plain], zoned=False)
    if not special.any():
        return out
    at, texts, zoned, serial = at[special], _western(texts[special]), zoned[special], serial[special]
    plain = ~serial & ~zoned
    out[at[plain]] = _read(texts[plain], zoned=False)
    out[at[zoned]] = _read(texts[zoned].str.replace(r"\s*(UTC|GMT)$", "Z", regex=True, case=False), zoned=True)
    out[at[serial]] = [_serial(t) for t in texts[serial]]
    return out


def _serial(text: str) -> np.datetime64:
    """An Excel serial day count (days since 1899-12-30, the fraction the time of day) to the
    millisecond, NaT outside 1954–2119 or when not a number."""
    try:
        days = float(text)
    except ValueError:
        return np.datetime64("NaT")
    if not _SERIAL_RANGE[0] <= days <= _SERIAL_RANGE[1]:
        return np.datetime64("NaT")
    # to the millisecond, as Excel keeps a time (a serial written with 9 decimals misses a second by 20 µs)
    return np.datetime64("1899-12-30T00:00:00", "ns") + np.timedelta64(round(days * 86_400_000), "ms")
