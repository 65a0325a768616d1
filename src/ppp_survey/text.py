"""Number formatting in the Japanese report convention.

Percentages are rounded half up to one decimal (四捨五入), as Japanese reports print them; Python's
``round()`` and numpy round half to even (``round(0.125, 2) == 0.12``), which is not the convention.
Totals are not forced to 100.0: :data:`ROUNDING_NOTE` says so under every table.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import pandas as pd

from ppp_survey.constants import Option

if TYPE_CHECKING:  # budoux is imported where text is first cut into phrases
    from budoux import Parser

#: The first line a notebook prints for synthetic data.
SYNTHETIC_WARNING = "【架空データ】合成データであり、実際の調査結果ではありません"
ROUNDING_NOTE = "※構成比（%）は小数点以下第2位を四捨五入しているため、合計が100.0%にならない場合がある。"


@overload
def round_half_up(values: np.ndarray, digits: int = 1) -> np.ndarray: ...
@overload
def round_half_up(values: float | None, digits: int = 1) -> float: ...
def round_half_up(values, digits: int = 1) -> float | np.ndarray | pd.Series:
    """Round half up (away from zero for .5) to ``digits`` decimals; NaN stays NaN, and a value that
    rounds to zero is 0.0 (never -0.0: ``round_half_up(-0.04) == 0.0`` prints '0.0').

    Decimal arithmetic on the shortest repr of each float after rounding away float noise at
    the 10th decimal, so 0.15 → 0.2, 2.675 → 2.68 and 100 * 0.145 (= 14.499999999999998 in
    binary) → 14.5 (binary floating point would give 0.1, 2.67 and 14.4).

    >>> round_half_up(12.25), round_half_up(0.05), round_half_up(2.675, 2)
    (12.3, 0.1, 2.68)
    """
    quantum = Decimal(1).scaleb(-digits)

    def one(x: Any) -> float:  # a number, None, NaN or pd.NA
        if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
            return np.nan
        # + 0.0: a value that rounds to zero is 0.0, never -0.0 (printed '-0.0' in tables and CSVs)
        return float(Decimal(repr(round(float(x), 10))).quantize(quantum, rounding=ROUND_HALF_UP)) + 0.0

    if np.isscalar(values):
        return one(values)
    arr = np.asarray(values, dtype=float)
    out = np.array([one(x) for x in arr.ravel()], dtype=float).reshape(arr.shape)
    if isinstance(values, pd.Series):
        return pd.Series(out, index=values.index, name=values.name)
    return out


def p_text(p: float) -> str:
    """A p-value as every table, chart and note prints it: 'p < 0.001', else three decimals
    rounded half up ('p = 0.045' for 0.0445); 'p = -（検定不能）' when the test could not be computed.

    >>> p_text(0.0445), p_text(0.0004), p_text(float("nan"))
    ('p = 0.045', 'p < 0.001', 'p = -（検定不能）')
    """
    if p is None or not np.isfinite(p):
        return "p = -（検定不能）"
    return "p < 0.001" if p < 0.001 else f"p = {round_half_up(float(p), 3):.3f}"


@functools.cache
def _phrase_parser() -> Parser:
    import budoux

    return budoux.load_default_japanese_parser()


def phrases(text: str) -> list[str]:
    """Japanese text cut at phrase boundaries (BudouX: 「基本的な|ルールや|プロセスが|体系化されていない」),
    and after 「・」「、」 inside a phrase (「財政資源・|人的資源が」), where Japanese typesetting may
    end a line."""
    if not text:
        return []
    out: list[str] = []
    for phrase in _phrase_parser().parse(text):
        out += [p for p in re.split(r"(?<=[・、，])", phrase) if p]
    return out


def wrap_ja(text: str, width: int) -> str:
    """Lines of at most ``width`` characters, broken only between phrases (never inside a word); a
    phrase longer than ``width`` keeps its own line whole.

    >>> wrap_ja("官民連携に関する基本的なルール（指針）の策定・周知", 10)
    '官民連携に関する\n基本的なルール\n（指針）の策定・周知'
    """
    lines: list[str] = []
    for phrase in phrases(text):
        if lines and len(lines[-1]) + len(phrase) <= width:
            lines[-1] += phrase
        else:
            lines.append(phrase)
    return "\n".join(lines)


def one_line(value: object) -> str:
    """A cell or header as messages show it, on one line: each line break as ↵.

    >>> one_line("どれでもない\r\n回答")
    'どれでもない↵回答'
    """
    return str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "↵")


def pct(value: float, digits: int = 1) -> str:
    """A fraction as a percentage string rounded half up: 0.4270 → '42.7'."""
    return f"{round_half_up(100 * value, digits):.{digits}f}"


# a signed difference in Excel: '+1.2', '-0.4', and '0.0' for no change (as :func:`signed` prints it)
SIGNED_FORMAT = "+0.0;-0.0;0.0"


def signed(value, digits: int = 1) -> str:
    """A difference (points) as every output prints it: rounded half up, with its sign, and a
    difference that rounds to zero is '0.0' — never '+0.0' or '-0.0' (the change sheets' Excel
    format :data:`SIGNED_FORMAT`, the change charts, the committee page, paper and deck); '-' where
    there is none (NaN, None).

    >>> signed(1.25), signed(-0.4), signed(-0.04), signed(0.049), signed(float("nan"))
    ('+1.3', '-0.4', '0.0', '0.0', '-')
    """
    if value is None or value is pd.NA:
        return "-"
    rounded = round_half_up(float(value), digits)
    if not np.isfinite(rounded):
        return "-"
    return f"{0.0:.{digits}f}" if rounded == 0 else f"{rounded:+.{digits}f}"


def wareki(date: dt.date) -> tuple[str, int]:
    """The Japanese era year of a date in Reiwa or Heisei: (era letter, year), e.g. ('R', 7)."""
    if date >= dt.date(2019, 5, 1):
        return "R", date.year - 2018
    return "H", date.year - 1988


@dataclass(frozen=True)
class WeightsMethod:
    """How estimates were weighted: the 職域 weights (職員数÷回答者数, ``raked_to`` empty) or weights
    raked to 職域 and the margins of ``raked_to`` (attribute labels, e.g. 職位, 年代), each raked
    weight within ``bounds`` times its 職域 weight (``--rake-bounds``)."""

    raked_to: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None


class WeightsForm(Option, option="form"):
    """The forms of :func:`weights_text`, one for each kind of place that says how estimates were weighted."""

    LABEL = "label"  # what the weights are (説明 sheet, source notes, the association model's footer)
    NOTE = "note"  # the method sentence under every table
    CHANGE = "change"  # how both waves of a comparison were weighted (their method notes)
    SHORT = "short"  # the progress line


def weights_text(method: WeightsMethod, form: WeightsForm | str = WeightsForm.LABEL) -> str:
    """The one wording of how estimates were weighted, in the form each place needs
    (:class:`WeightsForm`: ``"label"``, ``"note"``, ``"change"``, ``"short"``).

    >>> weights_text(WeightsMethod())
    '職域別の事後層化ウェイト（職員数÷回答者数）'
    >>> weights_text(WeightsMethod(("職位", "年代"), (0.5, 2.0)), "change")
    '職域・職位・年代の職員数に合わせたレイキング、調整係数0.5～2倍'
    """
    form = WeightsForm(form)
    limit = f"、調整係数{method.bounds[0]:g}～{method.bounds[1]:g}倍" if method.bounds else ""
    margins = "・".join(("職域", *method.raked_to))
    if not method.raked_to:
        return {
            WeightsForm.LABEL: "職域別の事後層化ウェイト（職員数÷回答者数）",
            WeightsForm.NOTE: "推定値・標準誤差・95%信頼区間は、職域ごとの回答者をその職域の職員からの無作為抽出とみなし"
            "（職域内で回答の有無はランダムと仮定）、職域別に重み付け（職員数/回答者数）し有限母集団修正を行った層化推定。",
            WeightsForm.CHANGE: "職域による事後層化",
            WeightsForm.SHORT: "事後層化",
        }[form]
    return {
        WeightsForm.LABEL: f"レイキング後のウェイト（{margins}別の職員数に一致{limit}）",
        WeightsForm.NOTE: f"推定値・標準誤差・95%信頼区間は、職域別の重み（職員数/回答者数）を、{margins}の職員数（周辺分布）の"
        f"すべてに一致するよう調整した重み（レイキング{limit}）による推定。標準誤差は調整の残差による線形化"
        "（Rのcalibrateと同じ）で、有限母集団修正を行った。",
        WeightsForm.CHANGE: f"{margins}の職員数に合わせたレイキング{limit}",
        WeightsForm.SHORT: "レイキング後のウェイト",
    }[form]


@dataclass(frozen=True)
class Coverage:
    """Whom a wave's estimates speak for, the facts its source note states: ``population`` staff of
    whom ``respondents`` answered; ``without`` the strata (職域) with no respondent, whose staff the
    estimates then do not represent (they represent ``covered`` staff); ``calibrated`` how the weights
    were made when every estimate uses the raked ones (``--calibrate``), else None."""

    population: int
    respondents: int
    without: tuple[str, ...] = ()
    covered: int = 0
    calibrated: WeightsMethod | None = None


def source_note(codebook, coverage: Coverage, *, synthetic: bool, weights: bool = True) -> str:
    """The chart source note, e.g. 'R7.7.18～31実施 職員3,138人中1,340人回答（回答率42.7%）'.

    With strata without respondents (``coverage.without``) the estimates represent only the
    ``covered`` staff, and the note says so: '…　推定は職員3,048人を代表（教育・保育は回答なし）'.
    With ``coverage.calibrated`` the note names the raked weights, e.g.
    '推定はレイキング後のウェイト（職域・職位・年代別の職員数に一致）' (``weights=False`` leaves them
    out: for a chart of plain shares of the respondents, which no weight touches)."""
    start, end = codebook.survey.fielded_from, codebook.survey.fielded_to
    era, year = wareki(start)
    tail = f"{end.day}" if (end.year, end.month) == (start.year, start.month) else f"{end.month}.{end.day}"
    population, respondents, without = coverage.population, coverage.respondents, coverage.without
    note = (
        f"{era}{year}.{start.month}.{start.day}～{tail}実施 職員{population:,}人中{respondents:,}人回答"
        f"（回答率{pct(respondents / population)}%）"
    )
    if without:
        note += f"　推定は職員{coverage.covered:,}人を代表（{'・'.join(without) if len(without) < 2 else '、'.join(without)}は回答なし）"
    if weights and coverage.calibrated is not None:
        note += f"　推定は{weights_text(coverage.calibrated, WeightsForm.LABEL)}"
    return f"{note}　※架空データ" if synthetic else note


def reference_note(min_base: int) -> str:
    """The rule for small bases, as every legend and note states it: '基数30未満は参考値（検定しない）'
    (the minimum base of the run or of the matrix file, never a number typed elsewhere)."""
    return f"基数{min_base}未満は参考値（検定しない）"


def reference_verdict(min_base: int) -> str:
    """The verdict of a change or trend row whose base is under ``min_base``: '参考値（基数30未満）'."""
    return f"参考値（基数{min_base}未満）"
