"""Waves of the survey and their indicators.

A *wave* is one run of the survey with its own codebook and staff frame (:func:`load_wave`).
Its *indicators* (:func:`wave_indicators`) are the numbers a comparison looks at: the share of
each choice of a single-answer or Likert question (``q3:choice:1``), the top-2 box of a Likert
question (``q6:top2``), the share of each multi-select option (``q5:opt:3``) and the response rate
(``rate``), for 全体 and for each 職域, all design-based (:mod:`ppp_survey.survey.tables`).

Two waves are compared only through a mapping between their codebooks (:mod:`ppp_survey.spec.mapping`);
the comparison itself is :mod:`ppp_survey.compare`.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ppp_survey.constants import ALL, DEFAULT_MIN_GROUP
from ppp_survey.spec.codebook import Codebook, Item
from ppp_survey.spec.margins import Margins
from ppp_survey.spec.resources import codebook_source, resolve_codebook
from ppp_survey.survey.indicators import IndicatorKey, IndicatorKind, top2
from ppp_survey.survey.privacy import protect, suppress_cells

__all__ = [
    "ALL",
    "INDICATOR_COLUMNS",
    "Wave",
    "as_wave",
    "indicator_key",
    "load_wave",
    "wave_from_responses",
    "wave_indicators",
]

TOP2_LABEL = "肯定的回答（上位2区分）"
RATE_LABEL = "回答率"

#: Columns of :func:`wave_indicators`.
INDICATOR_COLUMNS = (
    "indicator",
    "question",
    "kind",
    "code",
    "label",
    "group",
    "base_n",
    "n",
    "share",
    "estimate",
    "se",
    "se_nofpc",
    "ci_low",
    "ci_high",
    "suppressed",
)
_VALUES = ("n", "share", "estimate", "se", "se_nofpc", "ci_low", "ci_high")


# ------------------------------------------------------------------------------------- waves


@dataclass(frozen=True)
class Wave:
    """One wave: respondents, codebook and staff frame, with the hashes of the files they came from.

    ``frame`` is :func:`~ppp_survey.spec.frame.load_frame`'s table (``domain``, ``population``);
    ``inputs`` maps ``data``/``frame``/``codebook`` (and ``margins``) to ``{"file": name, "sha256": hex}``.
    ``margins``: the staff list's margins (職位, 年代, …) the wave's weights are raked to
    (``--calibrate``), within ``bounds`` (``--rake-bounds``); None: the 職域 weights ``N_h/n_h``.
    """

    codebook: Codebook
    responses: pd.DataFrame
    frame: pd.DataFrame
    note: str = ""
    synthetic: bool = False
    inputs: dict = field(default_factory=dict)
    margins: Margins | None = None
    bounds: tuple[float, float] | None = None

    @property
    def raked(self) -> bool:
        """Whether the wave's estimates use weights raked to :attr:`margins`."""
        return self.margins is not None

    @property
    def label(self) -> str:
        """The wave's name, e.g. ``R7`` (codebook ``survey.wave``)."""
        return self.codebook.survey.wave

    def design(self, *, fpc: bool = True):
        """The weights of the wave's estimates: the post-stratified design (strata = 職域, N_h from the
        frame), raked to :attr:`margins` when the wave has them."""
        from ppp_survey.survey.calibration import rake
        from ppp_survey.survey.tables import make_design

        design = make_design(self.responses, self.frame, self.codebook, fpc=fpc)
        if self.margins is None:
            return design
        names = {a.id: a.label for a in self.codebook.attributes}
        return rake(self.responses, design, self.margins.targets(), bounds=self.bounds, names=names)

    @property
    def rates(self) -> pd.DataFrame:
        from ppp_survey.survey.rates import response_rates

        return response_rates(self.responses, self.frame, self.codebook)

    def protected(self, min_group: int) -> tuple[Wave, dict[str, tuple[str, ...]]]:
        """The wave as it may be published: 職域 with fewer than ``min_group`` respondents answering
        some question pooled with the smallest others (collapsed strata, summed staff), and the
        pools ``{pool label: member 職域}``. The returned wave's 職域 (respondents, frame, codebook
        choices) are the published groups; a mapping still names the original 職域 (the pool's
        choice keeps them as aliases)."""
        responses, frame, pooled_cb, pools = protect(self.responses, self.frame, self.codebook, min_group)
        stratum = self.codebook.stratum.id
        merged = pools.by_attribute.get(stratum, {})
        if not merged:
            return self, {}
        # only the strata are pooled here: the comparison is by 職域
        responses = self.responses.assign(**{stratum: responses[stratum]})
        codebook = self.codebook.with_merged_choices(stratum, merged)
        return replace(self, responses=responses, frame=frame, codebook=codebook), merged


def load_wave(
    data: str | Path,
    frame: str | Path,
    codebook: Codebook | str | Path | None = None,
    *,
    on_invalid: str = "error",
    synthetic: bool | None = None,
) -> Wave:
    """Load one wave: the export, its staff frame and its codebook (``None``: packaged R7).

    Unlike :func:`~ppp_survey.analysis.load_survey` it computes no tables; it keeps the inputs'
    SHA-256 for a frozen baseline's manifest.
    """
    import re

    from ppp_survey.files import sha256_file
    from ppp_survey.ingest.load import load_responses
    from ppp_survey.spec.frame import load_frame

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


def wave_from_responses(
    responses: pd.DataFrame,
    frame: pd.DataFrame,
    codebook: Codebook,
    *,
    synthetic: bool = True,
    inputs: dict | None = None,
    margins: Margins | None = None,
    bounds: tuple[float, float] | None = None,
) -> Wave:
    """A wave from an in-memory respondent table (e.g. :func:`ppp_survey.synth.generator.generate`'s);
    with ``margins`` its estimates use weights raked to them (``--calibrate``)."""
    from ppp_survey.text import source_note

    n = int(responses[codebook.stratum.id].notna().sum())
    answered = set(responses[codebook.stratum.id].dropna().astype(str))
    empty = frame[~frame["domain"].astype(str).isin(answered)]
    note = source_note(
        codebook,
        int(frame["population"].sum()),
        n,
        synthetic=synthetic,
        without=tuple(empty["domain"].astype(str)),
        covered=int(frame["population"].sum() - empty["population"].sum()),
    )
    if inputs is None:
        name, text = codebook_source(codebook)
        inputs = {
            "data": {"file": "(in memory)", "sha256": _table_hash(responses)},
            "frame": {"file": "(in memory)", "sha256": _table_hash(frame)},
            "codebook": {"file": name, "sha256": hashlib.sha256(text).hexdigest()},
        }
    return Wave(
        codebook=codebook,
        responses=responses,
        frame=frame,
        note=note,
        synthetic=synthetic,
        inputs=inputs,
        margins=margins,
        bounds=bounds,
    )


def as_wave(obj) -> Wave:
    """A :class:`Wave` from a Wave or an analysed :class:`~ppp_survey.analysis.Survey`."""
    if isinstance(obj, Wave):
        return obj
    if hasattr(obj, "analysis") and hasattr(obj, "loaded"):
        # the data as loaded: the comparison pools small 職域 itself, across both waves
        cb, frame = obj.loaded.codebook, obj.frame
        name, text = codebook_source(cb)
        report = obj.loaded.report
        inputs = {
            "data": {"file": Path(report.file).name, "sha256": report.sha256},
            "frame": {"file": "(frame table)", "sha256": _table_hash(frame)},
            "codebook": {"file": name, "sha256": hashlib.sha256(text).hexdigest()},
        }
        return Wave(
            codebook=cb,
            responses=obj.loaded.responses,
            frame=frame,
            note=obj.note,
            synthetic=obj.synthetic,
            inputs=inputs,
        )
    raise TypeError(f"expected a Wave or a Survey (load_wave / load_survey), got {type(obj).__name__}")


def _table_hash(table: pd.DataFrame) -> str:
    buf = io.StringIO()
    table.to_csv(buf, index=False, lineterminator="\n")
    return hashlib.sha256(buf.getvalue().encode("utf-8")).hexdigest()


# -------------------------------------------------------------------------------- indicators


def indicator_key(question: str, kind: str, code: int | None = None) -> str:
    """An indicator's key: ``q3:choice:1``, ``q6:top2``, ``q5:opt:3``; ``rate`` for the response rate
    (:class:`~ppp_survey.survey.indicators.IndicatorKey`)."""
    return str(IndicatorKey(IndicatorKind(kind), question, code))


def wave_indicators(
    wave: Wave,
    *,
    groups: dict[str, str] | None = None,
    order: list[str] | None = None,
    min_group: int = DEFAULT_MIN_GROUP,
) -> pd.DataFrame:
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
        The numbers are those of :func:`~ppp_survey.survey.tables.tally` and
        :func:`~ppp_survey.survey.tables.likert_summary` (the same indicator columns and estimator, in one
        pass over all columns). Groups are domains of the full design (never a design on filtered
        rows). A response rate is a count of the whole frame: its ``se`` is 0.
    """
    from ppp_survey.survey.estimate import survey_mean
    from ppp_survey.survey.item_sums import indicators

    cb = wave.codebook
    stratum = cb.stratum.id
    columns: dict[str, np.ndarray] = {}
    meta: list[tuple[str, str, str, int | None, str]] = []  # column, item id, kind, code, label
    for item in cb.questions_of_type("sa", "likert", "ma"):
        ind = indicators(wave.responses, item)
        kind = IndicatorKind.OPTION if item.is_multi else IndicatorKind.CHOICE
        if item.type == "likert":
            col = f"{item.id}__top2"
            columns[col] = _top2(wave.responses, item)
            meta.append((col, item.id, IndicatorKind.TOP2, None, TOP2_LABEL))
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
    designs = {fpc: wave.design(fpc=fpc) for fpc in (True, False)}
    parts = [_rate_rows(wave, groups, None if by is None else list(data[by].cat.categories))]
    for b in [None, by] if by else [None]:
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
                part, _ = suppress_cells(
                    part, min_group, table="比較", question=question, by=stratum, value_columns=_VALUES
                )
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["code"] = out["code"].astype("Int64")
    out["base_n"] = out["base_n"].astype(int)
    out["suppressed"] = out["suppressed"].astype(bool)
    for col in _VALUES:
        out[col] = out[col].astype(float)
    return out[list(INDICATOR_COLUMNS)]


def _top2(responses: pd.DataFrame, item: Item) -> np.ndarray:
    """肯定的回答 (top-2 box) as :func:`~ppp_survey.survey.tables.likert_summary` defines it: the two
    scored choices at the favourable end (by polarity), over everyone who answered."""
    values = responses[item.id]
    answered = values.notna().to_numpy()
    return np.where(answered, values.isin([c.label for c in top2(item)]).to_numpy(), np.nan)


def _rate_rows(wave: Wave, groups: dict[str, str] | None, order: list[str] | None) -> pd.DataFrame:
    """Response rates (census counts against the frame: no sampling error), 全体 and by group."""
    rates = wave.rates
    body = rates.iloc[:-1].assign(domain=rates["domain"].iloc[:-1].astype(str))
    table = [(ALL, int(rates["population"].iloc[-1]), int(rates["respondents"].iloc[-1]))]
    if groups is not None:
        if order is None:
            raise ValueError("response rates by group need the groups' order")
        body = body.assign(group=body["domain"].map(groups)).dropna(subset=["group"])
        summed = body.groupby("group", sort=False)[["population", "respondents"]].sum()
        table += [
            (g, int(summed.loc[g, "population"]), int(summed.loc[g, "respondents"])) for g in order if g in summed.index
        ]
    group, pop, resp = zip(*table)
    rate = np.asarray(resp, float) / np.asarray(pop, float)
    return pd.DataFrame(
        {
            "indicator": "rate",
            "question": "",
            "kind": "rate",
            "code": pd.NA,
            "label": RATE_LABEL,
            "group": list(group),
            "base_n": list(pop),
            "n": list(resp),
            "share": rate,
            "estimate": rate,
            "se": 0.0,
            "se_nofpc": 0.0,
            "ci_low": rate,
            "ci_high": rate,
            "suppressed": False,
        }
    )
