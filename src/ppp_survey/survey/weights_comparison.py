"""全体 estimates with the 職域 weights and with the raked weights, side by side.

With a margins file (``--margins``) the report shows how much raking the weights to the staff
list's 職位 and 年代 moves each 全体 share: :func:`compare_weights`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ppp_survey.spec.codebook import Item
from ppp_survey.survey.calibration import Calibration
from ppp_survey.survey.estimate import survey_mean
from ppp_survey.survey.indicators import MEASURE_LABEL, Measure, top2

__all__ = ["COMPARISON_COLUMNS", "compare_weights"]

#: Columns of :func:`compare_weights`.
COMPARISON_COLUMNS = (
    "question",
    "code",
    "label",
    "n",
    "estimate_strata",
    "ci_low_strata",
    "ci_high_strata",
    "estimate_calibrated",
    "ci_low_calibrated",
    "ci_high_calibrated",
    "difference",
)


def compare_weights(
    responses: pd.DataFrame, cal: Calibration, items: Sequence[Item], *, level: float = 0.95
) -> pd.DataFrame:
    """全体 estimates of single-answer/Likert questions with the 職域 weights and with the raked weights,
    side by side: every choice, and for a Likert question its 肯定的回答 (``code`` 0).

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARISON_COLUMNS`: ``n`` answers, each estimate with its 95% interval (``*_strata``:
        :func:`~ppp_survey.survey.estimate.survey_mean` on ``cal.design``; ``*_calibrated``:
        :func:`~ppp_survey.survey.estimate.survey_mean` on ``cal``), ``difference`` = calibrated − strata (fractions).
    """
    parts = []
    for item in items:
        if item.is_multi or item.type not in ("sa", "likert"):
            raise ValueError(f"{item.id}: compare_weights takes single-answer or Likert questions")
        data = responses[[item.id]].copy()
        columns, codes, labels = [item.id], [c.code for c in item.choices], list(item.labels)
        if item.type == "likert":
            top = [c.label for c in top2(item)]
            values = data[item.id]
            data["_top2"] = np.where(values.isna().to_numpy(), np.nan, values.isin(top).to_numpy(dtype=float))
            columns.append("_top2")
            codes.append(0)
            labels.append(MEASURE_LABEL[Measure.TOP2])
        strata = survey_mean(data, cal.design, columns, level=level)
        calibrated = survey_mean(data, cal, columns, level=level)
        parts.append(
            pd.DataFrame(
                {
                    "question": item.id,
                    "code": codes,
                    "label": labels,
                    "n": strata["n"].to_numpy(),
                    "estimate_strata": strata["estimate"].to_numpy(),
                    "ci_low_strata": strata["ci_low"].to_numpy(),
                    "ci_high_strata": strata["ci_high"].to_numpy(),
                    "estimate_calibrated": calibrated["estimate"].to_numpy(),
                    "ci_low_calibrated": calibrated["ci_low"].to_numpy(),
                    "ci_high_calibrated": calibrated["ci_high"].to_numpy(),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["difference"] = out["estimate_calibrated"] - out["estimate_strata"]
    return out[list(COMPARISON_COLUMNS)]
