"""Timing of raking (issue 19): ``rake`` to 職域 + 職位 + 年代, ``calibrated_mean`` of 2-(1)–(3),
the logistic ``survey_glm`` of willingness, and every table of a report (``analyse``: tallies, crosstabs
by 職域/職位/年代 with their tests and marks, Likert summaries) on the design's weights and on the raked
weights (``--calibrate``), on synthetic respondents at n = 1,340 and 1,000,000.

Run from the project folder::

    .venv/bin/python benchmarks/bench_calibration.py            # n = 1,340 and 1,000,000
    .venv/bin/python benchmarks/bench_calibration.py 1340 10000 # other sizes

The respondents are the package's generator (``generate(codebook, n=N)``); the frame is the bundled
one scaled so that N_h ≥ n_h; the 職位/年代 margins are the respondents' own shares tilted as in the
illustrative margins of issue 19 (younger and junior staff answer less), scaled to the frame's total.
Each step is timed ``REPEATS`` times; the median is printed.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPEATS = 3
FRAME_FILE = Path("data/raw/staff_frame_r7.csv")
TILTS = {
    "position": {"係員": 1.15, "係長級": 0.95, "課長補佐級": 0.85, "課長級以上": 0.75},
    "age": {"20代以下": 1.30, "30代": 1.05, "40代": 0.92, "50代以上": 0.85},
}


def _frame(codebook, n: int) -> pd.DataFrame:
    from ppp_survey import load_frame
    from ppp_survey.synth.generator import allocate, load_spec, scale_frame

    frame = load_frame(FRAME_FILE, codebook)
    counts = {str(k): int(v) for k, v in load_spec()["respondents"].items()}
    n_h, factor = allocate(counts, n), n / sum(counts.values())
    while True:
        scaled = scale_frame(frame, factor)
        if all(dict(zip(scaled["domain"].astype(str), scaled["population"]))[k] >= v for k, v in n_h.items()):
            return scaled
        factor *= 1.001


def _margins(responses: pd.DataFrame, total: float) -> dict[str, pd.Series]:
    out = {}
    for column, tilt in TILTS.items():
        share = responses[column].value_counts(normalize=True).reindex(list(tilt)) * pd.Series(tilt)
        out[column] = share / share.sum() * total
    return out


def _time(fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(sizes: list[int]) -> None:
    from ppp_survey import load_codebook
    from ppp_survey.analysis import analyse
    from ppp_survey.survey.calibration import calibrated_mean, rake
    from ppp_survey.survey.regression import survey_glm
    from ppp_survey.survey.tables import make_design
    from ppp_survey.synth.generator import generate

    codebook = load_codebook()
    print(
        f"{'n':>10} {'rake s':>8} {'sweeps':>6} {'max err':>9} {'means s':>8} {'glm s':>8}"
        f" {'tables s':>9} {'raked s':>8} {'cells':>6}"
    )
    for n in sizes:
        frame = _frame(codebook, n)
        responses = generate(codebook, n=n).responses
        design = make_design(responses, frame, codebook)
        margins = _margins(responses, design.covered_population)
        t_rake, cal = _time(lambda: rake(responses, design, margins))  # noqa: B023
        t_mean, _ = _time(lambda: calibrated_mean(responses, cal, ["q1", "q2", "q3"]))  # noqa: B023
        data = responses.assign(top2=responses["q2"].isin(["意欲がある", "どちらかといえば意欲がある"]).astype(float))
        data.loc[responses["q2"].isna(), "top2"] = np.nan
        t_glm, _ = _time(lambda: survey_glm(data, cal, "top2", ["domain", "position", "age"], family="binomial"))  # noqa: B023
        staff = _margin_file(codebook, margins, int(design.covered_population))
        t_plain, _ = _time(lambda: analyse(responses, frame, codebook, margins=staff))  # noqa: B023
        t_raked, a = _time(lambda: analyse(responses, frame, codebook, margins=staff, calibrate=True))  # noqa: B023
        print(
            f"{n:>10,} {t_rake:>8.3f} {cal.iterations:>6} {cal.max_error:>9.1e} {t_mean:>8.3f} {t_glm:>8.3f}"
            f" {t_plain:>9.2f} {t_raked:>8.2f} {a.calibration.n_cells:>6}"
        )


def _margin_file(codebook, margins: dict[str, pd.Series], total: int):
    """The margins as a margins file would give them: whole staff, each attribute adding up to ``total``."""
    from ppp_survey.spec.margins import Margin, Margins

    out = []
    for column, shares in margins.items():
        counts = np.floor(shares.to_numpy()).astype(int)
        counts[np.argsort(-(shares.to_numpy() - counts))[: total - counts.sum()]] += 1
        out.append(Margin(column, codebook.item(column).label, tuple(shares.index), tuple(int(c) for c in counts)))
    return Margins(tuple(out))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1340, 1_000_000])
