"""Size of the trend tests on null histories (issue 29): how often nothing flags something.

Each history is three waves, each an independent regeneration of the synthetic R7 wave (the same
generator and parameters: nothing drifts), analysed as the report does
(``ppp_survey.analysis.analyse(responses, frame, codebook, tables=False)``, wrapped with
``ppp_survey.compare.Wave.of``); the first two are frozen in memory and the trend is made with
:func:`ppp_survey.compare.trend` (defaults: no FPC, each row at 5%). Reported: the share of tested
rows flagged (改善/悪化/増加/減少) by the consecutive-change test, the first → last test and the
trend test, with two Monte Carlo standard errors — binomial over rows (too small: rows of one
history are correlated) and over histories (the SD of the histories' rates / √H).

Seeds 50001 + 3h + t (history h, wave t) are used by no test (tests/test_trend.py uses 30001–30060).

    .venv/bin/python benchmarks/sim_trends.py [--histories 100] [--out benchmarks/RESULTS_trends.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from ppp_survey import compare as cmp
from ppp_survey.analysis import analyse
from ppp_survey.compare.baseline import baseline_from_wave
from ppp_survey.spec.codebook import load_codebook
from ppp_survey.spec.frame import load_frame
from ppp_survey.synth.generator import generate, load_spec

ROOT = Path(__file__).resolve().parents[1]
FRAME = ROOT / "data" / "raw" / "staff_frame_r7.csv"
FIRST_SEED = 50001
SIGNIFICANT = ("改善", "悪化", "増加", "減少")
KINDS = ("consecutive", "first_last", "trend")


def one_history(h: int, codebook, spec, frame) -> dict[str, tuple[int, int]]:
    """(flagged, tested) rows of each test in history ``h``."""
    waves = [
        cmp.Wave.of(
            analyse(generate(codebook, spec, seed=FIRST_SEED + 3 * h + t).responses, frame, codebook, tables=False)
        )
        for t in range(3)
    ]
    table = cmp.trend([baseline_from_wave(w) for w in waves[:2]], waves[2])
    out = {}
    for kind in KINDS:
        rows = table.trends if kind == "trend" else table.changes[table.changes["step"] == kind]
        tested = rows["p_value"].notna()
        out[kind] = (int(rows.loc[tested, "verdict"].isin(SIGNIFICANT).sum()), int(tested.sum()))
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} logical CPUs (shared), Python {sys.version.split()[0]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS_trends.md")
    args = parser.parse_args(argv)
    codebook, spec = load_codebook(), load_spec()
    frame = load_frame(FRAME, codebook)
    start = time.perf_counter()
    per: dict[str, list[tuple[int, int]]] = {k: [] for k in KINDS}
    for h in range(args.histories):
        for kind, counts in one_history(h, codebook, spec, frame).items():
            per[kind].append(counts)
        if (h + 1) % 10 == 0:
            print(f"{h + 1} histories, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    lines = []
    for kind in KINDS:
        flagged, tested = (np.array(x, float) for x in zip(*per[kind]))
        rate = flagged.sum() / tested.sum()
        se_rows = np.sqrt(rate * (1 - rate) / tested.sum())
        se_hist = np.std(flagged / tested, ddof=1) / np.sqrt(len(tested))
        inside = abs(rate - 0.05) <= 2 * se_hist
        lines.append(
            f"| {kind} | {int(flagged.sum()):,} / {int(tested.sum()):,} | {100 * rate:.2f}% | {100 * se_rows:.2f} | "
            f"{100 * se_hist:.2f} | {100 * (rate - 1.96 * se_hist):.2f}–{100 * (rate + 1.96 * se_hist):.2f}% | "
            f"{'yes' if inside else 'NO'} |"
        )
    last = FIRST_SEED + 3 * (args.histories - 1) + 2
    text = f"""# Null histories: size of the trend tests (issue 29)

Made by `benchmarks/sim_trends.py --histories {args.histories}` on {dt.date.today().isoformat()}
({machine()}; {time.perf_counter() - start:.0f} s).

{args.histories} histories of three waves, each wave an independent regeneration of the synthetic R7
(`ppp_survey.synth.generate`, seeds {FIRST_SEED}–{last}: 50001 + 3h + t for history h, wave t; no
test uses them), analysed with `ppp_survey.analysis.analyse(responses, frame, codebook, tables=False)`
and wrapped with `ppp_survey.compare.Wave.of`; the first two frozen in memory
(`baseline_from_wave`), the trend made by `ppp_survey.compare.trend` with its defaults (no FPC,
each row at 5%, no multiplicity adjustment). Nothing drifts, so every flagged row
(改善/悪化/増加/減少) is a false positive; the target is 5%. Tested rows: 54 indicators × 全体 and
8 職域 (技能労務 is 参考値, base < 30; response rates are descriptive and not tested).

| test | flagged / tested rows | rate | MC s.e. (rows, %) | MC s.e. (histories, %) | 95% interval | 5% within 2 s.e. |
|---|---|---|---|---|---|---|
{chr(10).join(lines)}

The rows of one history are correlated (the choices of a question, 職域 within 全体, and the two
consecutive changes share the middle wave), so the binomial standard error over rows understates the
Monte Carlo error; the one over histories (the SD of the {args.histories} histories' rates / √{args.histories})
is the honest one, and the interval uses it. `consecutive`: R_t → R_t+1 (two per history);
`first_last`: R_1 → R_3; `trend`: the slope per wave (weighted least squares on the wave estimates
= the stacked design-based regression). tests/test_trend.py runs 20 such histories (seeds
30001–30060) and requires 2.5–7.5% for the consecutive and trend tests.
"""
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
