"""An export and its staff frame, loaded and analysed: :func:`load_survey` → :class:`Survey` (what the
notebooks start from)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ppp_survey.analysis.result import Analysis
from ppp_survey.analysis.run import analyse
from ppp_survey.constants import DEFAULT_MIN_GROUP
from ppp_survey.spec.codebook import Codebook

if TYPE_CHECKING:  # for the annotation only: load_survey imports ingest where it runs
    from ppp_survey.ingest.load import LoadResult, OnInvalid


@dataclass(frozen=True)
class Survey:
    """A loaded and analysed wave, as notebooks use it.

    ``loaded`` is the :class:`~ppp_survey.ingest.load.LoadResult` (responses, free text, validation
    report), ``analysis`` every table, ``synthetic`` whether the data are the bundled 架空データ and
    ``frame`` the staff frame as read (before small 職域 were pooled; ``analysis`` holds only published
    groups). The source note every chart carries is made from them in :mod:`ppp_survey.outputs`
    (:func:`~ppp_survey.outputs.captions.source_note`) or by :class:`~ppp_survey.compare.wave.Wave`.
    """

    loaded: LoadResult
    analysis: Analysis
    synthetic: bool
    frame: pd.DataFrame

    @property
    def responses(self) -> pd.DataFrame:
        """The respondents as every table sees them (small groups pooled); ``loaded.responses`` as read."""
        return self.analysis.responses

    @property
    def codebook(self) -> Codebook:
        return self.analysis.codebook


def load_survey(
    data,
    frame,
    *,
    codebook=None,
    on_invalid: OnInvalid | str = "error",
    synthetic: bool | None = None,
    min_group: int = DEFAULT_MIN_GROUP,
    margins=None,
    calibrate: bool = False,
    bounds: tuple[float, float] | None = None,
) -> Survey:
    """Load an export with its staff frame and compute every table (what the report does first).

    Parameters
    ----------
    data, frame
        Paths of the response export and the staff frame.
    codebook
        A codebook path or :class:`~ppp_survey.spec.codebook.Codebook`; ``None`` for the packaged R7 one.
    synthetic
        Label outputs 架空データ; ``None`` decides from the file name (``synthetic``/``架空``).
    margins, calibrate, bounds
        A margins file (職位別・年代別の職員数) to rake the weights to, whether every estimate
        uses the raked weights and the raking factors' limits (the report's ``--margins``,
        ``--calibrate`` and ``--rake-bounds``).
    """
    import re
    from pathlib import Path

    from ppp_survey.ingest.load import load_responses
    from ppp_survey.spec.codebook import load_codebook
    from ppp_survey.spec.frame import load_frame

    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    loaded = load_responses(data, cb, on_invalid=on_invalid)
    staff = load_frame(frame, cb)
    staff_margins = None
    if margins is not None:
        from ppp_survey.spec.margins import load_margins

        staff_margins = load_margins(margins, cb)
    analysis = analyse(
        loaded.responses, staff, cb, min_group=min_group, margins=staff_margins, calibrate=calibrate, bounds=bounds
    )
    if synthetic is None:
        synthetic = bool(re.search(r"synthetic|架空", Path(data).name, re.IGNORECASE))
    return Survey(loaded=loaded, analysis=analysis, synthetic=synthetic, frame=staff)
