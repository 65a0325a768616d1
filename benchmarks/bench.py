"""Benchmark of ppp_survey (issue 8): the full estimate set at growing n, the report, the import.

Run from the project folder (``make bench``)::

    .venv/bin/python benchmarks/bench.py              # n = 1,340 / 10,000 / 100,000 / 1,000,000
    .venv/bin/python benchmarks/bench.py --quick      # n = 1,340 / 10,000, 3 repeats (smoke run)
    .venv/bin/python benchmarks/bench.py --e2e-only   # export → loader / report at 10,000 … 1,000,000
    PPP_BENCH_SKIP_1M=1 .venv/bin/python benchmarks/bench.py   # everything but the 1,000,000 rows

**The estimate set** is every single-answer/Likert category and multi-select option of the codebook
(51 indicators for the R7 codebook): share, SE and 95% CI overall and by 職域, plus the Rao–Scott
test of every 職域 crosstab (one per single-answer question, one per multi-select option: 39).
It is computed from the same synthetic respondents (``ppp_survey.synth.generator.generate(codebook, n=N)``,
frame scaled by ``scale_frame`` so that N_h ≥ n_h and the response rate stays near 42.7%) by:

* ``ppp``       ppp_survey's public API: ``make_design``; per question ``tally(q)``,
                ``tally(q, by="domain")`` and ``crosstab(q, by="domain").tests``;
* ``ppp-ct``    the same public API without computing the by-職域 estimates twice: ``tally(q)``
                and ``crosstab(q, by="domain")`` (its ``cells`` hold the by-職域 shares, SEs, CIs);
* ``ppp-core``  the lower-level estimators the API calls: one ``survey_mean`` of all indicator
                columns overall and one by 職域, and ``rao_scott`` per crosstab;
* ``floor``     plain numpy written here: per question one ``np.bincount`` of the stratum ×
                group × category codes (one-hot sums) — overall and by 職域 separately — the
                stratified variance with FPC, logit CI, and the Rao–Scott F from its own
                per-stratum cell counts (no reuse between the pieces, as the API does not reuse);
* ``svy``       the svy package: ``Sample(pl.from_pandas(...), Design(stratum, wgt, pop_size))``,
                ``estimation.mean(column, by=..., drop_nulls=True)`` and
                ``categorical.tabulate(domain, column, where=..., drop_nulls=True)``; its time
                includes building the 0/1 columns and the polars frame.

Each tool runs in its own subprocess (``--worker TOOL``), which loads the data once (generated
once per n by a ``--worker gen`` subprocess and pickled), then times the estimate set
``--repeats`` times (median reported).  Peak RSS is the subprocess's ``ru_maxrss`` (from
``os.wait4``): it includes the interpreter, the imports and the respondent table; the RSS before
the first timed run is printed beside it.  Before the timing table the script checks that the
tools agree (max |difference| of estimates, SEs and Rao–Scott F against ``ppp``) and exits with
status 1 if any difference exceeds 1e-6.

**End to end** (issue 20): synthetic Microsoft Forms CSV exports of 10,000 / 100,000 / 1,000,000
respondents (``generate`` + ``write_export``, made by a ``--worker export`` subprocess, with the staff
frame scaled so that N_h ≥ n_h and a codebook whose ``survey.population``/``respondents`` match the
frame), then (1) the loader alone, ``load_responses`` in a fresh interpreter (``--worker load``:
seconds inside the call, the process's peak RSS) and (2) ``python -m ppp_survey.report --data X.csv
--frame F.csv --codebook C.yaml --out TMP``: wall time and peak RSS of the whole process, and the
time of each of its steps (from the moment each ``[k/6]`` line reaches stderr). ``--skip-1m`` (or
``PPP_BENCH_SKIP_1M=1``) leaves out the 1,000,000 row (its export alone is 790 MB and takes a
minute to write); ``--e2e-only`` skips everything else; ``--skip-e2e`` skips this part.

**The report**: ``python -m ppp_survey.report --out TMP`` on the bundled baseline (cwd = the
project folder), wall time of the whole process, against a floor measured in the same run: a fresh
interpreter that imports pandas and matplotlib and saves as many PNG bar charts, of the sizes the
report wrote (read from the PNG headers), at the report's dpi.  **The import**: ``import
ppp_survey`` timed with ``time.perf_counter`` in a fresh interpreter.

Nothing here is run by ``make test``; the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (1_340, 10_000, 100_000, 1_000_000)
E2E_SIZES = (10_000, 100_000, 1_000_000)
E2E_STEPS = ("読み込み", "集計", "政策マトリクス", "表", "図", "マニフェスト")
TOOLS = ("floor", "ppp", "ppp-ct", "ppp-core", "svy")
TOLERANCE = 1e-6
FRAME_FILE = Path("data/raw/staff_frame_r7.csv")

TARGETS = {
    "floor_ratio": 2.0,  # ppp within 2x the numpy floor at 1,000,000
    "svy_speedup": 50.0,  # ppp at least 50x faster than svy at 1,000,000
    "rss_mb": 1536.0,  # peak RSS under 1.5 GB at 1,000,000
    "report_ratio": 1.5,  # report (--no-paper) within 1.5x its matplotlib floor
    "paper_ratio": 1.5,  # the committee paper (報告書.html/.pptx/.pdf) adds at most 50% to the report
    "import_s": 0.5,  # import ppp_survey under 0.5 s
}


# =============================================================================================
# the tools (run inside worker subprocesses)
# =============================================================================================


def _questions(codebook):
    return codebook.tabulated


def run_ppp(responses, frame, codebook):
    """ppp_survey's public API, as an analyst calls it."""
    from ppp_survey.survey.tables import crosstab, make_design, tally

    by = codebook.stratum.id
    design = make_design(responses, frame, codebook)
    overall, grouped, tests = [], [], []
    for q in _questions(codebook):
        overall.append(tally(responses, design, q))
        grouped.append(tally(responses, design, q, by=by))
        tests.append(crosstab(responses, design, q, by=by).tests)
    import pandas as pd

    est = pd.concat(overall + grouped, ignore_index=True)
    est["variable"] = est["question"] + "_" + est["code"].astype(str)
    tests = pd.concat(tests, ignore_index=True)
    return _tidy_estimates(est), _tidy_tests(tests["question"], tests["code"], tests["f"], tests["df_num"])


def run_ppp_crosstab(responses, frame, codebook):
    """The public API without the repeated by-職域 tally: tally(q) and crosstab(q, by) (its cells
    hold the by-職域 shares, SEs and CIs)."""
    import pandas as pd

    from ppp_survey.survey.tables import crosstab, make_design, tally

    by = codebook.stratum.id
    design = make_design(responses, frame, codebook)
    estimates, tests = [], []
    for q in _questions(codebook):
        estimates.append(tally(responses, design, q))
        table = crosstab(responses, design, q, by=by)
        estimates.append(table.cells)
        tests.append(table.tests)
    est = pd.concat(estimates, ignore_index=True)
    est["variable"] = est["question"] + "_" + est["code"].astype(str)
    tests = pd.concat(tests, ignore_index=True)
    return _tidy_estimates(est), _tidy_tests(tests["question"], tests["code"], tests["f"], tests["df_num"])


def run_ppp_core(responses, frame, codebook):
    """The lower-level estimators: survey_mean over all indicator columns at once, rao_scott per table."""
    import pandas as pd

    from ppp_survey.survey.estimate import survey_mean
    from ppp_survey.survey.item_sums import indicators
    from ppp_survey.survey.significance import rao_scott
    from ppp_survey.survey.tables import make_design

    by = codebook.stratum.id
    design = make_design(responses, frame, codebook)
    questions = _questions(codebook)
    data = pd.concat([indicators(responses, q) for q in questions], axis=1)
    columns = list(data.columns)
    data[by] = responses[by]
    est = pd.concat([survey_mean(data, design, columns), survey_mean(data, design, columns, by=by)], ignore_index=True)
    names, codes, f, d = [], [], [], []
    for q in questions:
        targets = zip(q.option_columns, [c.code for c in q.choices]) if q.is_multi else [(q.id, None)]
        for column, code in targets:
            test = rao_scott(responses, design.without_fpc(), by, column)  # the crosstabs' test: no FPC
            names.append(q.id), codes.append(code), f.append(test.f), d.append(test.df_num)
    return _tidy_estimates(est), _tidy_tests(names, codes, f, d)


def run_floor(responses, frame, codebook, level=0.95):
    """Plain numpy: one-hot sums by np.bincount, stratified variance with FPC, logit CI, Rao–Scott F (no FPC)."""
    import numpy as np
    from scipy import special

    by = codebook.stratum.id
    strata = [str(s) for s in frame["domain"]]
    population = frame["population"].to_numpy(dtype=float)
    column = responses[by]
    position = np.array([strata.index(str(c)) for c in column.cat.categories])
    h = position[column.cat.codes.to_numpy()]
    n_strata, n = len(strata), len(h)
    n_h = np.bincount(h, minlength=n_strata).astype(float)
    w = population / n_h
    c = (1.0 - n_h / population) * n_h / (n_h - 1.0)
    c_test = n_h / (n_h - 1.0)  # the table tests have no FPC (a question about the process behind the answers)
    q = special.stdtrit(n - n_strata, 0.5 + level / 2.0)  # t quantile
    groupings = {"全体": (h, 1, ["全体"]), by: (h * n_strata + h, n_strata, strata)}

    def estimate(m, s):
        """m: (H, G) answered, s: (H, G, K) chosen → estimate, se, ci (G, K)."""
        m = m[:, :, None]
        nhat = np.einsum("h,hgk->gk", w, m * np.ones_like(s))
        r = np.einsum("h,hgk->gk", w, s) / nhat
        linear = (s - r * m) / nhat
        square = (s - 2.0 * r * s + r * r * m) / (nhat * nhat)
        var = np.einsum("h,hgk->gk", c * w * w, square - linear * linear / n_h[:, None, None])
        se = np.sqrt(np.maximum(var, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            half = q * se / (r * (1.0 - r))
            eta = np.log(r / (1.0 - r))
        return r, se, 1.0 / (1.0 + np.exp(-(eta - half))), 1.0 / (1.0 + np.exp(-(eta + half)))

    variables, groups, columns, tests = [], [], [], []
    for item in _questions(codebook):
        if item.is_multi:
            answered = ~responses[item.option_columns[0]].isna().to_numpy()
            ys = [responses[col].to_numpy(dtype=np.float64, na_value=0.0) for col in item.option_columns]
        else:
            k = responses[item.id].cat.codes.to_numpy().astype(np.intp)  # −1: no answer
            n_k = len(item.choices)
        for cell, n_groups, group_labels in groupings.values():
            size = n_strata * n_groups
            if item.is_multi:
                m = np.bincount(cell[answered], minlength=size).reshape(n_strata, n_groups).astype(float)
                s = np.stack([np.bincount(cell, weights=y, minlength=size) for y in ys], axis=-1)
                s = s.reshape(n_strata, n_groups, -1)
            else:
                counts = np.bincount(cell * (n_k + 1) + k + 1, minlength=size * (n_k + 1))
                counts = counts.reshape(n_strata, n_groups, n_k + 1)[:, :, 1:].astype(float)
                m, s = counts.sum(axis=2), counts
            for col in item.option_columns:
                variables += [col] * n_groups
                groups += group_labels
            columns.append(np.stack([a.T.reshape(-1) for a in estimate(m, s)], axis=-1))
        # Rao–Scott: 職域 (rows) × answer (columns), base = answered, own per-stratum cell counts
        if item.is_multi:
            for _col, choice, y in zip(item.option_columns, item.choices, ys):
                cell = h * (2 * n_strata) + (1 - y.astype(np.intp)) * n_strata + h  # (選択, 非選択)
                counts = np.bincount(cell[answered], minlength=n_strata * n_strata * 2)
                f, d = _floor_rao_scott(counts.reshape(n_strata, 2 * n_strata), n_strata, 2, w, c_test, n_h, n)
                tests.append((item.id, choice.code, f, d))
        else:
            base = k >= 0
            cell = h * (n_strata * n_k) + k * n_strata + h
            counts = np.bincount(cell[base], minlength=n_strata * n_strata * n_k)
            f, d = _floor_rao_scott(counts.reshape(n_strata, n_k * n_strata), n_strata, n_k, w, c_test, n_h, n)
            tests.append((item.id, None, f, d))
    import pandas as pd

    values = np.concatenate(columns)
    est = pd.DataFrame(
        {
            "variable": variables,
            "group": groups,
            "estimate": values[:, 0],
            "se": values[:, 1],
            "ci_low": values[:, 2],
            "ci_high": values[:, 3],
        }
    )
    names, codes, f, d = zip(*tests)
    return _tidy_estimates(est), _tidy_tests(names, codes, f, d)


def _floor_rao_scott(counts, n_rows, n_cols, w, c, n_h, n_total):
    """Second-order Rao–Scott F and its numerator df from per-stratum cell counts (H, rows×cols,
    rows varying fastest); levels never observed in the base are dropped."""
    import numpy as np

    table = counts.sum(axis=0).reshape(n_cols, n_rows)
    keep_r, keep_c = table.sum(axis=0) > 0, table.sum(axis=1) > 0
    keep = (keep_c[:, None] & keep_r[None, :]).reshape(-1)
    counts = counts[:, keep]
    n_rows, n_cols = int(keep_r.sum()), int(keep_c.sum())
    m_h = counts.sum(axis=1)
    nhat = float(w @ m_h)
    p = w @ counts / nhat
    linear = (counts - m_h[:, None] * p) / nhat
    # Σ_{i∈h} z z' for cell indicators: diag(counts_h) − counts_h p' − p counts_h' + m_h p p'
    k = c * w * w
    kc = k @ counts
    cov = (np.diag(kc) - np.outer(kc, p) - np.outer(p, kc) + (k @ m_h) * np.outer(p, p)) / nhat**2
    cov -= (linear * (k / n_h)[:, None]).T @ linear
    # interaction contrasts orthogonal to the main effects (R's svychisq)
    r = np.tile(np.arange(n_rows), n_cols)
    col = np.repeat(np.arange(n_cols), n_rows)
    rd = (r[:, None] == np.arange(1, n_rows)).astype(float)
    cd = (col[:, None] == np.arange(1, n_cols)).astype(float)
    x1 = np.column_stack([np.ones(r.size), rd, cd])
    x12 = (rd[:, :, None] * cd[:, None, :]).transpose(0, 2, 1).reshape(r.size, -1)
    contrasts = x12 - x1 @ np.linalg.lstsq(x1, x12, rcond=None)[0]
    dc = contrasts * np.where(p > 0, 1.0 / np.where(p > 0, p, 1.0), 0.0)[:, None]  # D⁻¹C, empty cells 0
    delta = np.linalg.solve(contrasts.T @ dc / n_total, dc.T @ cov @ dc)
    table = (n_total * p).reshape(n_cols, n_rows).T
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n_total
    pearson = float(np.sum((table - expected) ** 2 / expected))
    trace = float(np.trace(delta))
    return pearson / trace, trace * trace / float(np.trace(delta @ delta))


def run_svy(responses, frame, codebook):
    """svy: the same estimates (0/1 columns, means overall and by 職域; tabulate per crosstab)."""
    import numpy as np
    import pandas as pd
    import polars as pl
    import svy

    by = codebook.stratum.id
    questions = _questions(codebook)
    table = {by: responses[by].astype(str).to_numpy()}
    columns = []
    for item in questions:
        if item.is_multi:
            for col in item.option_columns:
                table[col] = responses[col].to_numpy(dtype=np.float64, na_value=np.nan)
                columns.append(col)
        else:
            k = responses[item.id].cat.codes.to_numpy()
            for j, col in enumerate(item.option_columns):
                table[col] = np.where(k >= 0, (k == j).astype(float), np.nan)
                columns.append(col)
            table[item.id] = responses[item.id].astype(object).to_numpy()  # labels, None = no answer
    population = dict(zip(frame["domain"].astype(str), frame["population"].astype(float)))
    stratum = pd.Series(table[by])
    n_h = stratum.map(stratum.value_counts())
    big_n = stratum.map(population)
    table["_w"] = (big_n / n_h).to_numpy()
    table["_N"] = big_n.to_numpy()
    sample = svy.Sample(pl.from_pandas(pd.DataFrame(table)), svy.Design(stratum=by, wgt="_w", pop_size="_N"))

    parts = []
    for group in (None, by):
        for variable in columns:  # one call per column: faster than passing the list (svy 0.35)
            out = sample.estimation.mean(variable, by=group, drop_nulls=True).to_polars().to_pandas()
            parts.append(
                pd.DataFrame(
                    {
                        "variable": variable,
                        "group": "全体" if group is None else out[by],
                        "estimate": out["est"],
                        "se": out["se"],
                        "ci_low": out["lci"],
                        "ci_high": out["uci"],
                    }
                )
            )
    names, codes, f, d = [], [], [], []
    for item in questions:
        targets = zip(item.option_columns, [ch.code for ch in item.choices]) if item.is_multi else [(item.id, None)]
        for col, code in targets:
            stats = sample.categorical.tabulate(by, col, where=pl.col(col).is_not_null(), drop_nulls=True).stats
            names.append(item.id), codes.append(code), f.append(stats.f.value), d.append(stats.f.df_num)
    return _tidy_estimates(pd.concat(parts, ignore_index=True)), _tidy_tests(names, codes, f, d)


def _tidy_estimates(est):
    out = est[["variable", "group", "estimate", "se", "ci_low", "ci_high"]].copy()
    out["variable"] = out["variable"].astype(str)
    out["group"] = out["group"].astype(str)
    return out.sort_values(["variable", "group"]).reset_index(drop=True)


def _tidy_tests(questions, codes, f, df_num):
    import pandas as pd

    codes = [-1 if (code is None or code != code) else int(code) for code in codes]
    out = pd.DataFrame({"question": list(questions), "code": codes, "f": list(f), "df_num": list(df_num)})
    return out.sort_values(["question", "code"]).reset_index(drop=True)


RUNNERS = {"ppp": run_ppp, "ppp-ct": run_ppp_crosstab, "ppp-core": run_ppp_core, "floor": run_floor, "svy": run_svy}


# =============================================================================================
# workers
# =============================================================================================


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _scaled_frame(codebook, n: int):
    """The staff frame scaled so that N_h ≥ n_h in every 職域 (the response rate stays near the baseline's)."""
    from ppp_survey import load_frame
    from ppp_survey.synth.generator import allocate, load_spec, scale_frame

    frame = load_frame(FRAME_FILE, codebook)
    spec_counts = {str(k): int(v) for k, v in load_spec()["respondents"].items()}
    n_h = allocate(spec_counts, n)
    factor = n / sum(spec_counts.values())
    while True:
        scaled = scale_frame(frame, factor)
        big_n = dict(zip(scaled["domain"].astype(str), scaled["population"]))
        if all(big_n[k] >= v for k, v in n_h.items()):
            return scaled
        factor *= 1.001


def worker_gen(n: int, out: Path) -> None:
    """Generate n synthetic respondents and the scaled frame; pickle them."""
    import numpy as np

    from ppp_survey import load_codebook
    from ppp_survey.synth.generator import generate

    codebook = load_codebook()
    scaled = _scaled_frame(codebook, n)
    survey = generate(codebook, n=n)
    assert len(survey.responses) == n
    rate = n / float(np.sum(scaled["population"]))
    with open(out, "wb") as fh:
        pickle.dump({"responses": survey.responses, "frame": scaled, "rate": rate}, fh, protocol=5)


def worker_export(n: int, out: Path) -> None:
    """In folder ``out``: ``export.csv`` (n synthetic respondents as a Forms CSV, UTF-8 with BOM),
    ``frame.csv`` (the staff frame scaled to n) and ``codebook.yaml`` (the packaged codebook with
    ``survey.population`` = the frame's total and ``survey.respondents`` = n)."""
    from importlib import resources

    import pandas as pd

    from ppp_survey import load_codebook, write_export
    from ppp_survey.synth.generator import generate

    codebook = load_codebook()
    scaled = _scaled_frame(codebook, n)
    survey = generate(codebook, n=n)
    write_export(survey.responses, survey.free_text, codebook, out / "export.csv")
    pd.DataFrame({"職域": scaled["domain"].astype(str), "職員数": scaled["population"]}).to_csv(
        out / "frame.csv", index=False, encoding="utf-8"
    )
    text = (resources.files("ppp_survey") / "data" / "codebook_r7.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  population: \d+$", f"  population: {int(scaled['population'].sum())}", text)
    text = re.sub(r"(?m)^  respondents: \d+$", f"  respondents: {n}", text)
    (out / "codebook.yaml").write_text(text, encoding="utf-8")


def worker_load(data: Path, codebook_file: Path, out: Path) -> None:
    """The loader alone: seconds inside load_responses (imports before the clock)."""
    from ppp_survey import load_codebook
    from ppp_survey.ingest.load import load_responses

    codebook = load_codebook(codebook_file)
    start = time.perf_counter()
    result = load_responses(data, codebook)
    seconds = time.perf_counter() - start
    out.write_text(json.dumps({"seconds": seconds, "read": result.report.n_read}), encoding="utf-8")


def worker_tool(tool: str, data: Path, repeats: int, out: Path) -> None:
    """Load the data, time the tool's estimate set `repeats` times, save times and results."""
    import gc

    from ppp_survey import load_codebook

    runner = RUNNERS[tool]
    if tool == "svy":
        import polars  # noqa: F401  (imported before the clock, as the analyst's session would)
        import svy  # noqa: F401
    else:  # the package's modules are imported before the clock too
        import scipy.special  # noqa: F401

        import ppp_survey.survey.estimate  # noqa: F401
        import ppp_survey.survey.significance  # noqa: F401
        import ppp_survey.survey.tables  # noqa: F401
    codebook = load_codebook()
    with open(data, "rb") as fh:
        payload = pickle.load(fh)
    responses, frame = payload["responses"], payload["frame"]
    rss_before = _rss_mb()
    times, result = [], None
    for _ in range(repeats):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = runner(responses, frame, codebook)
        times.append(time.perf_counter() - start)
    with open(out, "wb") as fh:
        pickle.dump({"times": times, "rss_before": rss_before, "estimates": result[0], "tests": result[1]}, fh)


def worker_chart_floor(sizes: list[tuple[int, int]], dpi: float, out: Path) -> None:
    """The report's floor: import pandas and matplotlib, save len(sizes) bar charts of those pixel sizes,
    each as PNG and as SVG (the report writes both for every chart since issue 17)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    values = pd.Series(np.linspace(5, 60, 10), index=[f"option {i}" for i in range(10)])
    for i, (width, height) in enumerate(sizes):
        fig, ax = plt.subplots(figsize=(width / dpi, height / dpi), dpi=dpi)
        ax.barh(values.index, values.to_numpy())
        ax.set_title(f"chart {i}")
        ax.set_xlabel("%")
        fig.savefig(out / f"floor_{i:02d}.png", dpi=dpi)
        fig.savefig(out / f"floor_{i:02d}.svg")
        plt.close(fig)


# =============================================================================================
# the driver
# =============================================================================================


def run_measured(cmd: list[str], *, cwd: Path | None = None) -> tuple[float, float, str]:
    """Run a subprocess; return wall seconds, its own peak RSS (MB, from os.wait4) and its stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        if proc.returncode != 0:
            out.seek(0)
            raise RuntimeError(
                f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                f"{out.read().decode('utf-8', 'replace')}\n{stderr}"
            )
    return seconds, usage.ru_maxrss / 1024.0, stderr


def _me(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def _png_size(path: Path) -> tuple[int, int, float | None]:
    """Width, height and dpi (from the pHYs chunk, if any) of a PNG."""
    data = path.read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    dpi = None
    at = data.find(b"pHYs")
    if at > 0:
        ppu_x, _, unit = struct.unpack(">IIB", data[at + 4 : at + 13])
        if unit == 1:
            dpi = round(ppu_x * 0.0254)
    return width, height, dpi


def bench_estimates(sizes, repeats, svy_repeats_large, tools, work: Path, log) -> list[dict]:
    rows = []
    for n in sizes:
        data = work / f"respondents_{n}.pkl"
        gen_s, gen_rss, _ = run_measured(_me("--worker", "gen", "--n", str(n), "--out", str(data)))
        with open(data, "rb") as fh:
            rate = pickle.load(fh)["rate"]
        log(f"n = {n:>9,}: generated in {gen_s:.1f} s (response rate {rate:.1%})")
        for tool in tools:
            reps = repeats
            if tool == "svy" and n >= 1_000_000:
                reps = min(repeats, svy_repeats_large)
            out = work / f"{tool}_{n}.pkl"
            wall, rss, _ = run_measured(
                _me("--worker", tool, "--data", str(data), "--repeats", str(reps), "--out", str(out))
            )
            with open(out, "rb") as fh:
                result = pickle.load(fh)
            seconds = statistics.median(result["times"])
            rows.append(
                {
                    "n": n,
                    "tool": tool,
                    "seconds": seconds,
                    "times": result["times"],
                    "repeats": reps,
                    "rss": rss,
                    "rss_before": result["rss_before"],
                    "estimates": result["estimates"],
                    "tests": result["tests"],
                }
            )
            log(
                f"    {tool:<9} median {seconds:8.3f} s of {reps} "
                f"({', '.join(f'{t:.3f}' for t in result['times'])}); peak RSS {rss:,.0f} MB"
            )
        data.unlink()
    return rows


def agreement(rows: list[dict]) -> tuple[list[str], bool]:
    """Max |difference| of estimates, SEs, CIs and Rao–Scott F/df of every tool against ppp."""
    lines, ok = [], True
    header = (
        f"{'n':>9}  {'tool vs ppp':<11}{'cells':>6}{'|Δ estimate|':>14}{'|Δ SE|':>11}"
        f"{'|Δ CI|':>11}{'tests':>7}{'|Δ F|':>11}{'|Δ df|':>11}"
    )
    lines.append(header)
    by_n = {}
    for row in rows:
        by_n.setdefault(row["n"], {})[row["tool"]] = row
    for n, tools in by_n.items():
        if "ppp" not in tools:
            continue
        ref = tools["ppp"]
        for tool, row in tools.items():
            if tool == "ppp":
                continue
            a = ref["estimates"].merge(row["estimates"], on=["variable", "group"], suffixes=("", "_o"))
            t = ref["tests"].merge(row["tests"], on=["question", "code"], suffixes=("", "_o"))
            if len(a) != len(ref["estimates"]) or len(t) != len(ref["tests"]):
                ok = False
            d_est = (a["estimate"] - a["estimate_o"]).abs().max()
            d_se = (a["se"] - a["se_o"]).abs().max()
            d_ci = max((a["ci_low"] - a["ci_low_o"]).abs().max(), (a["ci_high"] - a["ci_high_o"]).abs().max())
            d_f = (t["f"] - t["f_o"]).abs().max()
            d_df = (t["df_num"] - t["df_num_o"]).abs().max()
            # svy's intervals use the df of each domain's rows, ppp the design's (README): not compared
            ci = f"{d_ci:11.1e}" if tool != "svy" else f"{'(df)':>11}"
            bad = max(d_est, d_se, d_f, d_df) > TOLERANCE or (tool != "svy" and d_ci > TOLERANCE)
            ok &= not bad
            lines.append(
                f"{n:>9,}  {tool:<11}{len(a):>6}{d_est:14.1e}{d_se:11.1e}{ci}{len(t):>7}"
                f"{d_f:11.1e}{d_df:11.1e}" + ("  ← DISAGREE" if bad else "")
            )
    return lines, ok


def timing_table(rows: list[dict]) -> list[str]:
    by_n = {}
    for row in rows:
        by_n.setdefault(row["n"], {})[row["tool"]] = row
    lines = [
        f"| {'n':>9} | {'tool':<8} | {'seconds':>9} | {'runs':>4} | {'× floor':>8} | {'svy / tool':>10} "
        f"| {'peak RSS MB':>11} | {'RSS before MB':>13} |",
        f"| {'-' * 9}:| {'-' * 8} | {'-' * 9}:| {'-' * 4}:| {'-' * 8}:| {'-' * 10}:| {'-' * 11}:| {'-' * 13}:|",
    ]
    for n, tools in by_n.items():
        floor = tools.get("floor")
        svy_row = tools.get("svy")
        for tool in TOOLS:
            if tool not in tools:
                continue
            row = tools[tool]
            ratio = f"{row['seconds'] / floor['seconds']:.2f}" if floor else "-"
            speedup = f"{svy_row['seconds'] / row['seconds']:.1f}" if svy_row and tool.startswith("ppp") else ""
            lines.append(
                f"| {n:>9,} | {tool:<8} | {row['seconds']:>9.3f} | {row['repeats']:>4} | {ratio:>8} "
                f"| {speedup:>10} | {row['rss']:>11,.0f} | {row['rss_before']:>13,.0f} |"
            )
    return lines


def growth_lines(rows: list[dict]) -> list[str]:
    """Time per respondent and the growth factor per ×10 of n (1.0 = linear), from 10,000 up."""
    lines = []
    for tool in TOOLS:
        series = sorted((r["n"], r["seconds"]) for r in rows if r["tool"] == tool and r["n"] >= 10_000)
        if len(series) < 2:
            continue
        steps = []
        for (n0, s0), (n1, s1) in zip(series, series[1:]):
            steps.append(f"{n0:,}→{n1:,}: ×{s1 / s0:.1f} time for ×{n1 / n0:.0f} n")
        per = ", ".join(f"{1e6 * s / n:.2f}" for n, s in series)
        lines.append(f"  {tool:<9} {'; '.join(steps)}   (µs per respondent: {per})")
    return lines


def run_steps(cmd: list[str], *, cwd: Path | None = None) -> tuple[float, float, dict[str, float]]:
    """Run the report; return wall seconds, peak RSS (MB) and the seconds of each step, from the
    moment its ``[k/N]`` line reached stderr to the next one (the last: to the process's end)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marks, lines = [], []
    assert proc.stderr is not None
    for raw in proc.stderr:
        line = raw.decode("utf-8", "replace")
        lines.append(line)
        step = re.match(r"\[(\d+)/\d+\] (\S+?)[:：\s（(]", line)
        if step:
            marks.append((step.group(2), time.perf_counter()))
    _, status, usage = os.wait4(proc.pid, 0)
    end = time.perf_counter()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{''.join(lines[-20:])}")
    marks.append(("", end))
    steps = {name: t1 - t0 for (name, t0), (_, t1) in zip(marks, marks[1:])}
    steps["(start-up)"] = marks[0][1] - start
    return end - start, usage.ru_maxrss / 1024.0, steps


def bench_end_to_end(sizes: list[int], root: Path, work: Path, log) -> list[dict]:
    """Per n: make the export, time the loader alone, then the report end to end."""
    rows = []
    for n in sizes:
        folder = work / f"e2e_{n}"
        folder.mkdir()
        gen_s, _, _ = run_measured(_me("--worker", "export", "--n", str(n), "--out", str(folder)), cwd=root)
        data, frame, codebook = folder / "export.csv", folder / "frame.csv", folder / "codebook.yaml"
        size_mb = data.stat().st_size / 2**20
        log(f"n = {n:>9,}: export of {size_mb:,.0f} MB written in {gen_s:.1f} s")
        _, load_rss, _ = run_measured(
            _me(
                "--worker", "load", "--data", str(data), "--codebook", str(codebook), "--out", str(folder / "load.json")
            ),
            cwd=root,
        )
        load_s = json.loads((folder / "load.json").read_text(encoding="utf-8"))["seconds"]
        log(f"    loader alone {load_s:8.2f} s; peak RSS {load_rss:,.0f} MB")
        cmd = [sys.executable, "-m", "ppp_survey.report", "--data", str(data), "--frame", str(frame)]
        cmd += ["--codebook", str(codebook), "--out", str(folder / "out")]
        wall, rss, steps = run_steps(cmd, cwd=root)
        log(
            f"    report       {wall:8.2f} s; peak RSS {rss:,.0f} MB; steps "
            + ", ".join(f"{k} {v:.2f}" for k, v in steps.items())
        )
        rows.append({"n": n, "mb": size_mb, "load": load_s, "load_rss": load_rss, "report": wall})
        rows[-1].update({"report_rss": rss, "steps": steps})
        shutil.rmtree(folder)  # the 1,000,000 export alone is 790 MB
    return rows


def e2e_table(rows: list[dict]) -> list[str]:
    head = "| n | CSV MB | loader s | loader peak RSS MB | report s | report peak RSS MB | " + " | ".join(
        f"{s} s" for s in E2E_STEPS
    )
    lines = [head + " |", "|" + "---:|" * (6 + len(E2E_STEPS))]
    for r in rows:
        steps = " | ".join(f"{r['steps'].get(s, float('nan')):.2f}" for s in E2E_STEPS)
        lines.append(
            f"| {r['n']:,} | {r['mb']:,.0f} | {r['load']:.2f} | {r['load_rss']:,.0f} | {r['report']:.2f} "
            f"| {r['report_rss']:,.0f} | {steps} |"
        )
    by_n = {r["n"]: r for r in rows}
    for small, big in ((10_000, 100_000), (100_000, 1_000_000)):
        if small in by_n and big in by_n:
            a, b = by_n[small], by_n[big]
            lines.append(
                f"growth {big:,}/{small:,} (×{big // small} n): loader ×{b['load'] / a['load']:.1f} time, "
                f"report ×{b['report'] / a['report']:.1f} time, report peak RSS ×{b['report_rss'] / a['report_rss']:.1f}"
            )
    return lines


def bench_report(repeats: int, root: Path, work: Path, log) -> dict:
    """The report without and with the committee paper against its matplotlib floor, the three
    taking turns in each repeat (the machine's speed drifts between runs: each ratio is measured
    under the same load); one untimed report first gives the floor its chart sizes."""
    out = work / "report_out"
    report = [sys.executable, "-m", "ppp_survey.report", "--out", str(out), "--no-paper"]
    run_measured(report, cwd=root)  # the charts' sizes for the floor (and warm file caches)
    pngs = sorted((out / "figures").glob("*.png"))
    sizes = [_png_size(p) for p in pngs]
    dpis = {d for _, _, d in sizes if d}
    dpi = dpis.pop() if len(dpis) == 1 else 150
    floor_dir = work / "floor_out"
    floor_dir.mkdir(exist_ok=True)
    spec = json.dumps([[w, h] for w, h, _ in sizes])
    floor = _me("--worker", "charts", "--sizes", spec, "--dpi", str(dpi), "--out", str(floor_dir))
    times, rss, paper_times, f_times, f_rss = [], [], [], [], []
    for _ in range(repeats):
        seconds, peak, _ = run_measured(report, cwd=root)
        times.append(seconds), rss.append(peak)
        seconds, _, _ = run_measured(
            [sys.executable, "-m", "ppp_survey.report", "--out", str(work / "paper_out")], cwd=root
        )
        paper_times.append(seconds)
        seconds, peak, _ = run_measured(floor, cwd=root)
        f_times.append(seconds), f_rss.append(peak)
    log(f"report with the committee paper: runs {', '.join(f'{t:.2f}' for t in paper_times)} s")
    log(
        f"report: {len(pngs)} PNGs at {dpi} dpi, "
        f"{min(w for w, _, _ in sizes)}–{max(w for w, _, _ in sizes)} × "
        f"{min(h for _, h, _ in sizes)}–{max(h for _, h, _ in sizes)} px; runs "
        f"{', '.join(f'{t:.2f}' for t in times)} s"
    )
    log(f"matplotlib floor: runs {', '.join(f'{t:.2f}' for t in f_times)} s")
    paired = [r / f for r, f in zip(times, f_times)]
    log(
        f"report / floor repeat by repeat: {', '.join(f'{x:.2f}' for x in paired)} "
        f"(median {statistics.median(paired):.2f}; the target is judged on the medians of the times)"
    )
    return {
        "report": statistics.median(times),
        "report_rss": max(rss),
        "paper": statistics.median(paper_times),
        "floor": statistics.median(f_times),
        "floor_rss": max(f_rss),
        "n_png": len(pngs),
        "dpi": dpi,
        "repeats": repeats,
    }


def bench_import(repeats: int, root: Path) -> tuple[float, list[float]]:
    code = "import time; t = time.perf_counter(); import ppp_survey; print(time.perf_counter() - t)"
    times = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
        times.append(float(proc.stdout.strip()))
    return statistics.median(times), times


def estimates_summary(rows: list[dict], repeats: int, log) -> bool:
    """Agreement, timing table and growth of the estimate set; False if the tools disagree."""
    log("")
    log("Agreement with ppp_survey's public API (max absolute difference; estimates and SEs as proportions):")
    lines, ok = agreement(rows)
    for line in lines:
        log("  " + line)
    log(
        f"  → {'all agree' if ok else 'DISAGREEMENT'} within {TOLERANCE:g} "
        "(svy's CIs use each domain's own df, so they are not compared)"
    )

    log("")
    svy_note = [r for r in rows if r["tool"] == "svy" and r["repeats"] < repeats]
    log(
        f"Full estimate set: seconds = median of {repeats} runs"
        + (f" (svy at n ≥ 1,000,000: median of {svy_note[0]['repeats']})" if svy_note else "")
        + "."
    )
    for line in timing_table(rows):
        log(line)
    log("")
    log("Growth from n = 10,000 (linear: ×10 time for ×10 n):")
    for line in growth_lines(rows):
        log(line)
    return ok


def main(argv: list[str] | None = None) -> int:  # noqa: C901 (one flat CLI: each option is an independent branch)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="respondent counts (comma-separated)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per tool and n (median reported)")
    parser.add_argument(
        "--svy-repeats-large", type=int, default=1, help="svy runs at n ≥ 1,000,000 (default 1: one run takes minutes)"
    )
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"subset of {','.join(TOOLS)}")
    parser.add_argument("--skip-report", action="store_true", help="skip the report and import timings")
    parser.add_argument("--quick", action="store_true", help="n = 1,340 and 10,000 only, 3 repeats")
    parser.add_argument(
        "--e2e-sizes", default=",".join(map(str, E2E_SIZES)), help="respondent counts of the end-to-end rows"
    )
    parser.add_argument("--skip-1m", action="store_true", help="no n ≥ 1,000,000 anywhere (also: PPP_BENCH_SKIP_1M=1)")
    parser.add_argument("--e2e-only", action="store_true", help="only the end-to-end rows (export → loader, report)")
    parser.add_argument("--skip-e2e", action="store_true", help="no end-to-end rows")
    # worker mode (internal)
    parser.add_argument("--worker", choices=("gen", "charts", "export", "load", *TOOLS), help=argparse.SUPPRESS)
    parser.add_argument("--codebook", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dpi", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker == "gen":
        worker_gen(args.n, args.out)
        return 0
    if args.worker == "charts":
        worker_chart_floor([tuple(s) for s in json.loads(args.sizes)], args.dpi, args.out)
        return 0
    if args.worker == "export":
        worker_export(args.n, args.out)
        return 0
    if args.worker == "load":
        worker_load(args.data, args.codebook, args.out)
        return 0
    if args.worker:
        worker_tool(args.worker, args.data, args.repeats, args.out)
        return 0

    root = Path.cwd()
    if not (root / FRAME_FILE).is_file():
        print(f"エラー: run from the project folder ({FRAME_FILE} not found under {root})", file=sys.stderr)
        return 2
    sizes = [1_340, 10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    e2e_sizes = [10_000] if args.quick else [int(s) for s in args.e2e_sizes.split(",")]
    if args.skip_1m or os.environ.get("PPP_BENCH_SKIP_1M", "") not in ("", "0"):
        sizes = [n for n in sizes if n < 1_000_000]
        e2e_sizes = [n for n in e2e_sizes if n < 1_000_000]
    if args.e2e_only:
        sizes, args.skip_report = [], True
    if args.skip_e2e:
        e2e_sizes = []
    repeats = 3 if args.quick else args.repeats
    tools = [t for t in TOOLS if t in args.tools.split(",")]

    def log(message: str) -> None:
        print(message, flush=True)

    import platform

    log(
        f"ppp_survey benchmark — Python {platform.python_version()}, {os.cpu_count()} CPU(s), "
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory(prefix="ppp_bench_") as tmp:
        work = Path(tmp)
        rows = bench_estimates(sizes, repeats, args.svy_repeats_large, tools, work, log)
        report = None if args.skip_report else bench_report(repeats, root, work, log)
        e2e = bench_end_to_end(e2e_sizes, root, work, log)
    imported = None if args.skip_report else bench_import(repeats, root)

    ok = True
    if rows:
        ok = estimates_summary(rows, repeats, log)
    if report:
        log("")
        log(f"| {'what':<46} | {'seconds':>8} | {'peak RSS MB':>11} |")
        log(f"| {'-' * 46} | {'-' * 7}:| {'-' * 10}:|")
        log(
            f"| {'python -m ppp_survey.report (baseline, 1,340)':<46} | {report['report']:>8.2f} "
            f"| {report['report_rss']:>11,.0f} |"
        )
        log(
            f"| {'matplotlib floor (' + str(report['n_png']) + ' PNGs + SVGs, same sizes)':<46} | "
            f"{report['floor']:>8.2f} | {report['floor_rss']:>11,.0f} |"
        )
        log(f"| {'ratio report / floor':<46} | {report['report'] / report['floor']:>8.2f} | {'':>11} |")
        log(f"| {'report with 報告書.html/.pptx/.pdf':<46} | {report['paper']:>8.2f} | {'':>11} |")
        log(f"| {'ratio with / without the paper':<46} | {report['paper'] / report['report']:>8.2f} | {'':>11} |")
        log(f"| {'import ppp_survey (in-process)':<46} | {imported[0]:>8.3f} | {'':>11} |")
        log(f"(medians of {report['repeats']}; import runs: {', '.join(f'{t:.3f}' for t in imported[1])} s)")

    if e2e:
        log("")
        log("End to end: a Forms CSV export through the loader alone and through python -m ppp_survey.report")
        log("(seconds; each step of the report from its [k/6] line to the next):")
        for line in e2e_table(e2e):
            log(line)

    log("")
    log("Targets:")
    at = {r["tool"]: r for r in rows if r["n"] == max(sizes)} if rows else {}
    big = max(sizes, default=0)
    checks = []
    if "ppp" in at and "floor" in at:
        for tool in ("ppp", "ppp-ct", "ppp-core"):
            if tool in at:
                ratio = at[tool]["seconds"] / at["floor"]["seconds"]
                checks.append(
                    (
                        f"{tool} within {TARGETS['floor_ratio']:g}× the numpy floor at n = {big:,}",
                        ratio <= TARGETS["floor_ratio"],
                        f"{ratio:.2f}×",
                    )
                )
    if "ppp" in at and "svy" in at:
        for tool in ("ppp", "ppp-ct", "ppp-core"):
            if tool in at:
                speed = at["svy"]["seconds"] / at[tool]["seconds"]
                checks.append(
                    (
                        f"{tool} ≥ {TARGETS['svy_speedup']:g}× faster than svy at n = {big:,}",
                        speed >= TARGETS["svy_speedup"],
                        f"{speed:.0f}×",
                    )
                )
    if "ppp" in at:
        checks.append(
            (
                f"ppp peak RSS < {TARGETS['rss_mb']:,.0f} MB at n = {big:,}",
                at["ppp"]["rss"] < TARGETS["rss_mb"],
                f"{at['ppp']['rss']:,.0f} MB",
            )
        )
        series = sorted((r["n"], r["seconds"]) for r in rows if r["tool"] == "ppp" and r["n"] >= 10_000)
        if len(series) >= 2:
            (n0, s0), (n1, s1) = series[-2], series[-1]
            factor = (s1 / s0) / (n1 / n0)
            checks.append(
                ("ppp linear in n from 10,000 (last step time ratio / n ratio ≤ 1.5)", factor <= 1.5, f"{factor:.2f}")
            )
    if report:
        ratio = report["report"] / report["floor"]
        checks.append(
            (
                f"report within {TARGETS['report_ratio']:g}× its matplotlib floor",
                ratio <= TARGETS["report_ratio"],
                f"{ratio:.2f}× ({report['report']:.2f} s vs {report['floor']:.2f} s)",
            )
        )
        paper = report["paper"] / report["report"]
        checks.append(
            (
                f"the committee paper adds at most {100 * (TARGETS['paper_ratio'] - 1):.0f}% to the report",
                paper <= TARGETS["paper_ratio"],
                f"{paper:.2f}× ({report['paper']:.2f} s vs {report['report']:.2f} s)",
            )
        )
        checks.append(
            (
                f"import ppp_survey < {TARGETS['import_s']:g} s",
                imported[0] < TARGETS["import_s"],
                f"{imported[0]:.3f} s",
            )
        )
    for label, passed, value in checks:
        log(f"  [{'met ' if passed else 'MISS'}] {label}: {value}")
    log(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
