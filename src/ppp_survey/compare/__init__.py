"""Layer 5 — next year's survey against a frozen baseline: waves (:mod:`.wave`), the frozen
baseline (:mod:`.baseline`) and the change table (:mod:`.changes`). Computation only; the change
charts and sheets are in :mod:`ppp_survey.outputs`."""

from ppp_survey.compare.baseline import Baseline, BaselineError, freeze_baseline, load_baseline
from ppp_survey.compare.changes import CHANGE_COLUMNS, ChangeTable, compare, kpi_values
from ppp_survey.compare.wave import InputFile, Wave, load_wave, wave_indicators

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
    "wave_indicators",
]
