"""Layer 5 — next year's survey against a frozen baseline: waves (:mod:`.wave`), the frozen
baseline (:mod:`.baseline`), the change table (:mod:`.changes`) and trends over several waves
(:mod:`.trend`). Computation only; the charts and sheets are in :mod:`ppp_survey.outputs`."""

from ppp_survey.compare.baseline import Baseline, freeze_baseline, load_baseline
from ppp_survey.compare.changes import CHANGE_COLUMNS, ChangeTable, compare, kpi_values
from ppp_survey.compare.trend import TrendTable, trend
from ppp_survey.compare.wave import InputFile, Wave, load_wave, wave_indicators
from ppp_survey.errors import BaselineError, TrendError

__all__ = [
    "CHANGE_COLUMNS",
    "ChangeTable",
    "Baseline",
    "BaselineError",
    "Wave",
    "InputFile",
    "compare",
    "freeze_baseline",
    "kpi_values",
    "load_baseline",
    "load_wave",
    "trend",
    "TrendError",
    "TrendTable",
    "wave_indicators",
]
