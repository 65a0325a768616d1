"""Waves of the survey and their indicators.

A *wave* is one run of the survey as the report analysed it: the protected, weighted
:class:`~ppp_survey.analysis.Analysis` the report's tables come from (small groups pooled, blanks a
group of their own, weights raked with ``--calibrate``), plus where its inputs came from. It has one
way in from an export (:func:`load_wave`, or :meth:`Wave.of` an analysis already made) and one from
a frozen baseline (:func:`~ppp_survey.compare.baseline.load_baseline`). Nothing here pools, rakes or
reads inputs again: the comparison estimates on the analysis's own weights.

Its *indicators* (:func:`wave_indicators`) are the numbers a comparison looks at: the share of
each choice of a single-answer or Likert question (``q3:choice:1``), the top-2 box of a Likert
question (``q6:top2``), the share of each multi-select option (``q5:opt:3``) and the response rate
(``rate``), for 全体 and for groups of 職域, estimated on the analysis's weights with the groups as
domains.

Two waves are compared only through a mapping between their codebooks (:mod:`ppp_survey.spec.mapping`);
the comparison itself is :mod:`ppp_survey.compare`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ppp_survey.analysis import Analysis, Survey, load_survey
from ppp_survey.constants import ALL, DEFAULT_MIN_GROUP
from ppp_survey.files import sha256_file
from ppp_survey.spec.codebook import Codebook
from ppp_survey.spec.resources import codebook_source, resolve_codebook
from ppp_survey.survey.associations import indicator
from ppp_survey.survey.indicators import IndicatorKey, IndicatorKind
from ppp_survey.survey.privacy import suppress_cells
from ppp_survey.text import SYNTHETIC_WARNING, WeightsForm, source_note, weights_text

if TYPE_CHECKING:  # for the annotation only: loading runs through ppp_survey.analysis.load_survey
    from ppp_survey.ingest.load import OnInvalid, ValidationReport

__all__ = [
    "ALL",
    "INDICATOR_COLUMNS",
    "InputFile",
    "ENVIRONMENT",
    "Wave",
    "from_environment",
    "indicator_key",
    "load_wave",
    "load_wave_from_environment",
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
class InputFile:
    """A file a wave was made from, as a publication may name it: its name and SHA-256."""

    file: str
    sha256: str


@dataclass(frozen=True)
class Wave:
    """One wave: the report's :class:`~ppp_survey.analysis.Analysis` and where its inputs came from.

    ``inputs`` names the codebook, the staff frame and the margins file (``--margins``) with their
    SHA-256, never the response export: the export's hash is a function of every answer (a small
    group's members swapped with their pool partner's would change it and nothing else), so it is
    recorded only in the internal manifest. ``report`` accounts for every row of the export it was
    loaded from (kept in memory, never published; None for a wave made from an analysis).
    """

    analysis: Analysis
    note: str = ""
    synthetic: bool = False
    inputs: Mapping[str, InputFile] = field(default_factory=dict)
    report: ValidationReport | None = None

    @classmethod
    def of(cls, obj: Analysis | Survey | Wave, *, synthetic: bool | None = None) -> Wave:
        """The wave of an analysis (its source note says 架空データ unless ``synthetic=False``), of an
        analysed :class:`~ppp_survey.analysis.Survey` (:func:`~ppp_survey.analysis.load_survey`), or a
        Wave itself. Nothing is estimated again."""
        if isinstance(obj, Wave):
            return obj
        if isinstance(obj, Survey):
            frame = InputFile("(staff frame table)", _table_hash(obj.frame))
            codebook = _codebook_file(obj.analysis.source_codebook or obj.codebook)
            inputs = {"frame": frame, "codebook": codebook}
            return cls(obj.analysis, wave_note(obj.analysis, obj.synthetic), obj.synthetic, inputs, obj.loaded.report)
        if isinstance(obj, Analysis):
            fake = True if synthetic is None else synthetic
            codebook = _codebook_file(obj.source_codebook or obj.codebook)
            return cls(obj, wave_note(obj, fake), fake, {"codebook": codebook})
        raise TypeError(f"expected an Analysis, a Survey (load_survey) or a Wave, got {type(obj).__name__}")

    @property
    def codebook(self) -> Codebook:
        """The codebook as read (a mapping names the original groups; the analysis's has the pools)."""
        return self.analysis.source_codebook or self.analysis.codebook

    @property
    def label(self) -> str:
        """The wave's name, e.g. ``R7`` (codebook ``survey.wave``)."""
        return self.codebook.survey.wave

    @property
    def pools(self) -> dict[str, tuple[str, ...]]:
        """職域 pooled for anonymity: ``{pool label: member 職域}`` (the analysis's)."""
        return dict(self.analysis.pools.by_attribute.get(self.codebook.stratum.id, {}))

    @property
    def raked_to(self) -> tuple[str, ...]:
        """The margins (attribute ids) the estimates are raked to besides 職域; () for 職域 weights."""
        return self.analysis.raked_to

    def describe(self) -> str:
        """What a notebook prints first: the 架空データ warning for synthetic data, the source note,
        and for a raked wave its weights (推定はレイキング後のウェイト（…）)."""
        warning = [SYNTHETIC_WARNING] if self.synthetic else []
        raked = self.analysis.coverage.calibrated
        weights = [f"推定は{weights_text(raked, WeightsForm.LABEL)}"] if raked is not None else []
        return "\n".join([*warning, self.note, *weights])

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The limits of the raking factors (``--rake-bounds``) when raked, else None."""
        return self.analysis.rake_bounds


def load_wave(
    data: str | Path,
    frame: str | Path,
    codebook: Codebook | str | Path | None = None,
    *,
    margins: str | Path | None = None,
    calibrate: bool = False,
    bounds: tuple[float, float] | None = None,
    min_group: int = DEFAULT_MIN_GROUP,
    on_invalid: OnInvalid | str = "error",
    synthetic: bool | None = None,
) -> Wave:
    """Load one wave from its export, staff frame and codebook (``None``: packaged R7) and analyse it
    as the report does (:func:`~ppp_survey.analysis.load_survey`: pooled, with ``margins`` and
    ``calibrate`` raked), keeping the hashes of the codebook, frame and margins files."""
    cb = resolve_codebook(codebook)
    survey = load_survey(
        data,
        frame,
        codebook=cb,
        on_invalid=on_invalid,
        synthetic=synthetic,
        min_group=min_group,
        margins=margins,
        calibrate=calibrate,
        bounds=bounds,
    )
    note = wave_note(survey.analysis, survey.synthetic)
    return Wave(survey.analysis, note, survey.synthetic, wave_inputs(cb, frame, margins), survey.loaded.report)


#: The environment variables a notebook takes its inputs from (set before JupyterLab starts): the
#: export, the staff frame, the codebook and the staff list's margins (for raking); a comparison's
#: frozen baseline and mapping; a trend's baselines and mappings, oldest first (several files
#: joined by os.pathsep: ``:`` on Linux and macOS, ``;`` on Windows).
ENVIRONMENT = {
    "data": "PPP_SURVEY_DATA",
    "frame": "PPP_SURVEY_FRAME",
    "codebook": "PPP_SURVEY_CODEBOOK",
    "margins": "PPP_SURVEY_MARGINS",
    "baseline": "PPP_SURVEY_BASELINE",
    "mapping": "PPP_SURVEY_MAPPING",
    "history": "PPP_SURVEY_HISTORY",
    "mappings": "PPP_SURVEY_MAPPINGS",
}
_SEVERAL = ("history", "mappings")


def from_environment(name: str, default: Any) -> Any:
    """The input ``name`` of :data:`ENVIRONMENT` as the environment sets it, else ``default`` (a
    notebook's bundled file): ``history`` and ``mappings`` as a list of the files the variable joins
    with os.pathsep (``default`` then a list too)."""
    import os

    value = os.environ.get(ENVIRONMENT[name], "").strip()
    if not value:
        return list(default) if name in _SEVERAL else default
    return [part for part in value.split(os.pathsep) if part] if name in _SEVERAL else value


def load_wave_from_environment(
    data: str | Path,
    frame: str | Path,
    codebook: Codebook | str | Path | None = None,
    *,
    margins: str | Path | None = None,
    **options: Any,
) -> Wave:
    """:func:`load_wave` of the files the environment names (:data:`ENVIRONMENT`: PPP_SURVEY_DATA,
    PPP_SURVEY_FRAME, PPP_SURVEY_CODEBOOK, PPP_SURVEY_MARGINS), else of the given ones (a notebook's
    bundled synthetic wave), with ``options`` as given (``calibrate=True``, ...): an analyst points
    every notebook at the real export without editing one."""
    return load_wave(
        from_environment("data", data),
        from_environment("frame", frame),
        from_environment("codebook", codebook),
        margins=from_environment("margins", margins),
        **options,
    )


def wave_note(analysis: Analysis, synthetic: bool) -> str:
    """A wave's source note, the same wherever the wave comes from (the report's run, :func:`load_wave`,
    :meth:`Wave.of`): period, staff, respondents, response rate, strata without respondents; never
    the weights, which a comparison states in its own method note (``ChangeTable.weighting``) and
    :meth:`Wave.describe` on a line of their own. So one wave frozen by the report or by
    :func:`~ppp_survey.compare.baseline.freeze_baseline` gives the same baseline, byte for byte."""
    return source_note(analysis.codebook, analysis.coverage, synthetic=synthetic, weights=False)


def wave_inputs(codebook: Codebook, frame: str | Path, margins: str | Path | None = None) -> dict[str, InputFile]:
    """The codebook, frame and margins files a wave was made from, with their SHA-256 (never the export)."""
    out = {"frame": InputFile(Path(frame).name, sha256_file(frame)), "codebook": _codebook_file(codebook)}
    if margins is not None:
        out["margins"] = InputFile(Path(margins).name, sha256_file(margins))
    return out


def _codebook_file(codebook: Codebook) -> InputFile:
    name, text = codebook_source(codebook)
    return InputFile(name, hashlib.sha256(text).hexdigest())


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
) -> pd.DataFrame:
    """Every indicator of a wave, 全体 and (with ``groups``) by group of 職域.

    Parameters
    ----------
    groups
        Published 職域 label → group name (a 職域 may be its own group; several 職域 may form one
        group, as a mapping's merged 職域 do). 職域 not in it belong to no group (全体 still counts
        them). ``None``: 全体 only.
    order
        Order of the groups (default: first appearance in ``groups``).

    Returns
    -------
    DataFrame
        :data:`INDICATOR_COLUMNS`: ``indicator`` key, ``question`` id, ``kind`` (``choice``,
        ``top2``, ``option``, ``rate``), choice ``code``, ``label``, ``group``, ``base_n``
        (answered the question; for ``rate`` the staff count), ``n`` (chose it; respondents),
        ``share`` (plain share), ``estimate`` on the analysis's weights (:attr:`Analysis.weights`)
        with ``se`` (stratified, FPC), ``se_nofpc`` (the same weights without the FPC,
        :attr:`Analysis.process`) and the 95% logit interval ``ci_low``/``ci_high``. The estimator
        is the one of every table (:func:`~ppp_survey.survey.estimate.survey_mean`), groups are
        domains of the full design, so a group's estimate is the same run's published one. Groups
        under the anonymity threshold (none after the analysis's pooling) are suppressed. A response
        rate is a count of the whole frame: its ``se`` is 0.
    """
    from ppp_survey.survey.estimate import survey_mean
    from ppp_survey.survey.item_sums import indicators

    analysis = wave.analysis
    cb, responses = analysis.codebook, analysis.responses
    stratum = cb.stratum.id
    columns: dict[str, np.ndarray] = {}
    meta: list[tuple[str, str, str, int | None, str]] = []  # column, item id, kind, code, label
    for item in analysis.questions:
        ind = indicators(responses, item)
        kind = IndicatorKind.OPTION if item.is_multi else IndicatorKind.CHOICE
        if item.type == "likert":
            col = f"{item.id}__top2"
            columns[col] = indicator(responses, cb, str(IndicatorKey(IndicatorKind.TOP2, item.id))).to_numpy()
            meta.append((col, item.id, IndicatorKind.TOP2, None, TOP2_LABEL))
        for choice, col in zip(item.choices, item.option_columns):
            columns[col] = ind[col].to_numpy(float)
            meta.append((col, item.id, kind, choice.code, choice.label))
    data = pd.DataFrame(columns, index=responses.index)
    names = list(columns)
    keys = {col: indicator_key(q, kind, code) for col, q, kind, code, _ in meta}
    info = pd.DataFrame(meta, columns=["variable", "question", "kind", "code", "label"])
    by = None
    if groups is not None:
        by = "__group__"
        cats = list(order or dict.fromkeys(groups.values()))
        data[by] = pd.Categorical(responses[stratum].astype(object).map(groups), categories=cats)
    weights = {True: analysis.weights, False: analysis.without_fpc}
    parts = [_rate_rows(wave, groups, None if by is None else list(data[by].cat.categories))]
    for b in [None, by] if by else [None]:
        est = {fpc: survey_mean(data, w, names, by=b) for fpc, w in weights.items()}
        table = est[True].assign(se_nofpc=est[False]["se"].to_numpy())
        table["group"] = table["group"].astype(object)
        table = table.merge(info, on="variable", how="left", validate="many_to_one")
        table = table.merge(_chosen(data, names, b), on=["variable", "group"], how="left", validate="one_to_one")
        table["indicator"] = table["variable"].map(keys)
        table["base_n"] = table["n"].astype(int)
        table["share"] = table["unweighted"]
        table["n"] = table["chosen"]
        for question, part in table.groupby("question", sort=False):  # rows: indicator × group
            part = part.reset_index(drop=True)
            if b is None:
                part["suppressed"] = False
            else:
                part, _ = suppress_cells(
                    part, analysis.min_group, table="比較", question=question, by=stratum, value_columns=_VALUES
                )
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["code"] = out["code"].astype("Int64")
    out["base_n"] = out["base_n"].astype(int)
    out["suppressed"] = out["suppressed"].astype(bool)
    for col in _VALUES:
        out[col] = out[col].astype(float)
    return out[list(INDICATOR_COLUMNS)]


def _chosen(data: pd.DataFrame, names: list[str], by: str | None) -> pd.DataFrame:
    """How many respondents chose each indicator (its 1s), 全体 or per group: ``variable, group, chosen``."""
    if by is None:
        counts = data[names].sum().rename("chosen").rename_axis("variable").reset_index()
        return counts.assign(group=ALL)
    summed = data.groupby(by, observed=False)[names].sum()
    long = summed.rename_axis(index="group", columns="variable").stack().rename("chosen").reset_index()
    long["group"] = long["group"].astype(object)
    return long


def _rate_rows(wave: Wave, groups: dict[str, str] | None, order: list[str] | None) -> pd.DataFrame:
    """Response rates (census counts against the frame: no sampling error), 全体 and by group."""
    rates = wave.analysis.rates
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
