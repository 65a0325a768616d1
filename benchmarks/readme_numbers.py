"""The numbers README.md and README.en.md state about accuracy, error rates and speed (issue 32).

Run from the project folder (``make readme-numbers``)::

    .venv/bin/python benchmarks/readme_numbers.py            # every measurement, writes readme_numbers.json
    .venv/bin/python benchmarks/readme_numbers.py --quick    # few replications (a smoke run; not committed)

Each README number is followed by an invisible marker ``<!-- n:KEY -->``; ``tests/test_readme_numbers.py``
reads the number before each marker and fails when it differs from ``numbers[KEY].value`` in
``benchmarks/readme_numbers.json`` by more than half the entry's ``precision`` (the README prints the
value rounded to its precision). So a README number changes only with this file.

What is measured (seeds are this script's own, none of them used by the tests):

* **Marks under a full null** (``marks``): WAVES waves of the generator with every difference between
  groups removed (no ``by_stratum``, no ``dependence``), drawn in one generator call and dealt out by
  職域 as ``tests/test_marks_null.py`` does; each wave's 21 tables (7 questions × 職域, 職位, 年代) get
  the package's cell test and Holm in one array pass. Per table: share of tables with any mark; per
  report: share of waves with a mark in any of their 21 tables. The first release's rule (unadjusted,
  where the Rao–Scott test is significant) through ``crosstab`` on the first PROTECTED waves.
* **Rao–Scott tests under the same null** (``rao_scott``): the crosstabs' table tests (検定 sheet, the
  matrix's "differs by 職域" rules) on PROTECTED other null waves, with the FPC (as the report tested
  them before 2026-12-06) and without (as now): the share significant at 5% (why they drop the FPC).
* **Changes when nothing changed** (``changes``): PAIRS pairs of independent regenerations of the R7
  generator (both waves fresh, nothing changed), each analysed as the report does and compared without
  the FPC (the default), with it (``--fpc-change``) and with Benjamini–Hochberg (``--change-fdr``);
  tested rows as ``tests/test_compare.py`` counts them. Monte Carlo error: the standard deviation of
  the per-pair rates over √PAIRS (rows of one comparison are correlated).
* **Regenerations of R7** (``regenerations``): REGEN waves of the R7 generator (with its built-in
  dependence). The association model's 95% intervals with and without the FPC against the true log odds
  ratios (``synthetic_r7.yaml``), the 職位 term's test (no effect built in) at 5%; and the published
  shares' 95% intervals by 職域 and 全体 (``tally``: logit, Korn–Graubard under 30 or at 0%/100%) with
  and without the FPC against the process's share in each 職域 — the "attitude behind the answers" —
  taken from one separate generation of TRUTH_FACTOR × 1,340 respondents (全体: the staff-weighted mean).
* **The bundled baseline** (deterministic): the FPC's cut of the 全体 standard errors, raking with the
  illustrative margins (largest move of a 全体 share, SE of R's calibrate vs rake variance), the
  Korn–Graubard upper bound of 0 of 24.
* **Speed** (``machine_dependent: true``): copied from ``benchmarks/RESULTS.md``, the record of
  ``make bench`` (each section states its date, machine and load); this script does not time anything.
  The README's performance table is a verbatim excerpt of that file (the test checks it line by line).

Runtime with the default counts: about 13 minutes on 2 cores under a load average of 7–12 (``generated.seconds`` in the file).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "readme_numbers.json"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
FRAME = REPO / "data" / "raw" / "staff_frame_r7.csv"
BASELINE = REPO / "data" / "raw" / "synthetic_r7_responses.xlsx"
MARGINS = REPO / "data" / "raw" / "staff_margins_r7.csv"

# Seeds of this script (the tests use 5, 6, 7, 11, 12, 101…2020, 1000–1199, 5000, 30001+, 20250718, 20260716).
SEED_MARKS = 3_201_001
SEED_CHANGES = 3_202_000  # pair i: SEED_CHANGES + 2i and + 2i + 1
SEED_REGEN = 3_203_000  # wave i: SEED_REGEN + i
SEED_TRUTH = 3_204_001
SEED_RAO_SCOTT = 3_205_001

FULL = {"waves": 500, "protected": 40, "pairs": 150, "regen": 500, "truth_factor": 400}
QUICK = {"waves": 40, "protected": 4, "pairs": 6, "regen": 30, "truth_factor": 20}
TRUTH = {"q3:choice:1": 0.7, "q6:top2": 0.9, "age=30代": -0.2, "age=40代": -0.35, "age=50代以上": -0.5}
SIGNIFICANT = ("改善", "悪化", "増加", "減少")


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


class Numbers:
    """The entries of the results file, each with its provenance."""

    def __init__(self, stamp: dict) -> None:
        self.stamp = stamp
        self.entries: dict[str, dict] = {}

    def add(self, key: str, value: float, precision: float, what: str, **extra) -> None:
        entry = {"value": float(value), "precision": precision, "what": what}
        entry.update(extra)
        entry.setdefault("seeds", None)
        entry.setdefault("replications", None)
        entry.setdefault("machine_dependent", False)
        entry.update(
            date=extra.get("date", self.stamp["date"]),
            machine=extra.get("machine", self.stamp["machine"]),
            package_version=self.stamp["package_version"],
        )
        self.entries[key] = entry


# ---------------------------------------------------------------------------------------- marks


def null_spec():
    from ppp_survey.synth.generator import load_spec

    spec = copy.deepcopy(load_spec())
    for question in spec["questions"].values():
        question.pop("by_stratum", None)
    spec.pop("dependence", None)
    return spec


def holm_any_mark(waves: pd.DataFrame, frame, codebook, item, attr, n_waves: int) -> np.ndarray:
    """Whether each wave's table (item × attr) shows a mark under Holm: tests/test_marks_null.py's one pass."""
    from ppp_survey.constants import MIN_BASE
    from ppp_survey.survey.item_sums import item_sums
    from ppp_survey.survey.kernels import StratumSums
    from ppp_survey.survey.multiplicity import adjust_p_values
    from ppp_survey.survey.significance import versus_rest_score_arrays
    from ppp_survey.survey.tables import make_design

    design = make_design(waves, frame.assign(population=frame["population"] * n_waves), codebook)
    levels = waves[attr.id].cat.categories
    key = waves["wave"].to_numpy() * len(levels) + waves[attr.id].cat.codes.to_numpy()
    key = pd.Categorical.from_codes(np.where(waves[attr.id].isna(), -1, key), categories=range(n_waves * len(levels)))
    parts = item_sums(waves.assign(wave_group=key), design, item, "wave_group")
    assert parts.groups.size == n_waves * len(levels)
    c, _, k = parts.sums.count.shape

    def by_level(a):
        return a.reshape(c, n_waves, len(levels), k).transpose(0, 2, 1, 3).reshape(c, len(levels), n_waves * k)

    s = parts.sums
    sums = StratumSums(
        count=by_level(s.count),
        s1=by_level(s.s1),
        s2=by_level(s.s2),
        binary=np.tile(s.binary, n_waves),
        shift=np.tile(s.shift, n_waves),
    )
    p = versus_rest_score_arrays(design, sums)["p_value"].reshape(len(levels), n_waves, k).transpose(1, 0, 2)
    tested = (parts.base.reshape(n_waves, len(levels), 1) >= MIN_BASE) & np.isfinite(p)
    adjusted = np.stack([adjust_p_values(np.where(t, q, np.nan).ravel(), "holm") for t, q in zip(tested, p)])
    return (adjusted.reshape(p.shape) < 0.05).any(axis=(1, 2))


def measure_marks(numbers: Numbers, codebook, frame, counts: dict) -> None:
    from ppp_survey.constants import MarkRule
    from ppp_survey.survey.tables import crosstab, make_design
    from ppp_survey.synth.generator import generate

    n_waves = counts["waves"]
    spec = null_spec()
    per_wave = sum(spec["respondents"].values())
    responses = generate(codebook, spec, n=n_waves * per_wave, seed=SEED_MARKS).responses
    wave = responses.groupby(codebook.stratum.id, observed=True).cumcount().to_numpy() % n_waves
    waves = responses.assign(wave=wave)
    tables = [(i, a) for i in codebook.tabulated for a in codebook.attributes]
    any_mark = np.stack([holm_any_mark(waves, frame, codebook, i, a, n_waves) for i, a in tables], axis=1)
    per_table = any_mark.mean()
    per_wave_rate = any_mark.mean(axis=1)
    per_report = any_mark.any(axis=1).mean()
    seeds = f"{SEED_MARKS} (one generator call of {n_waves} × {per_wave} respondents, dealt out by 職域)"
    common = {"seeds": seeds, "replications": n_waves}
    numbers.add(
        "marks_null_waves",
        n_waves,
        1,
        "null waves (no group differs) on which the marks' false-mark rates are measured",
        **common,
    )
    numbers.add(
        "marks_false_per_table_pct",
        100 * per_table,
        0.1,
        f"% of the {n_waves} × {len(tables)} null tables that show any ▲▼△▽ (default rule: Holm over the table's cells)",
        unit="%",
        mc_error=100 * per_wave_rate.std(ddof=1) / np.sqrt(n_waves),
        **common,
    )
    numbers.add(
        "marks_false_per_report_pct",
        100 * per_report,
        0.1,
        f"% of the {n_waves} null reports (waves) with at least one false mark somewhere in their {len(tables)} tables (Holm)",
        unit="%",
        mc_error=100 * np.sqrt(per_report * (1 - per_report) / n_waves),
        **common,
    )
    protected = []
    for w in range(counts["protected"]):
        one = waves[waves["wave"] == w].drop(columns="wave").reset_index(drop=True)
        design = make_design(one, frame, codebook)
        for item, attr in tables:
            cells = crosstab(one, design, item, by=attr.id, marks=MarkRule.PROTECTED).cells
            protected.append(bool((cells["mark"] != "").any()))
    rate = np.mean(protected)
    numbers.add(
        "marks_false_per_table_protected_pct",
        100 * rate,
        1,
        "% of null tables with any mark under the first release's rule (unadjusted, where the Rao–Scott test is significant)",
        unit="%",
        mc_error=100 * np.sqrt(rate * (1 - rate) / (len(protected) / 3)),  # 3 attributes per question: not independent
        seeds=seeds + f"; the first {counts['protected']} waves",
        replications=counts["protected"],
    )


def _table_tests(one: pd.DataFrame, design, item, by: str) -> np.ndarray:
    """The Rao–Scott p-values of one question by ``by`` on ``design`` as given (with or without its FPC):
    the whole table (single answer) or each option (multi-select), as the crosstabs define them."""
    from ppp_survey.survey.significance import rao_scott

    if not item.is_multi:
        return np.array([rao_scott(one, design, by, item.id).p_value])
    out = []
    for col in item.option_columns:
        flag = one[col].astype("Float64").map({1.0: "選択", 0.0: "非選択"}, na_action="ignore").astype(object)
        data = pd.DataFrame({by: one[by], col: pd.Categorical(flag, categories=["選択", "非選択"])}, index=one.index)
        if data.dropna()[col].nunique() == 2:
            out.append(rao_scott(data, design, by, col).p_value)
    return np.array(out)


def measure_rao_scott(numbers: Numbers, codebook, frame, counts: dict) -> None:
    """The crosstabs' Rao–Scott tests (検定 sheet; the matrix's "differs by 職域" rules) under a full null,
    with the FPC (as the report tested them before 2026-12-06) and without it (as it tests them now):
    the share of tests significant at 5%."""
    from ppp_survey.survey.tables import make_design
    from ppp_survey.synth.generator import generate

    n_waves = counts["protected"]
    spec = null_spec()
    per_wave = sum(spec["respondents"].values())
    responses = generate(codebook, spec, n=n_waves * per_wave, seed=SEED_RAO_SCOTT).responses
    wave = responses.groupby(codebook.stratum.id, observed=True).cumcount().to_numpy() % n_waves
    items = codebook.tabulated
    rejected = {True: [], False: []}
    for w in range(n_waves):
        one = responses[wave == w].reset_index(drop=True)
        for fpc in (True, False):
            design = make_design(one, frame, codebook, fpc=fpc)
            for item in items:
                for attr in codebook.attributes:
                    p = _table_tests(one, design, item, attr.id)
                    rejected[fpc].extend(p[np.isfinite(p)] < 0.05)
    for fpc, tag in ((True, "fpc"), (False, "nofpc")):
        rate = float(np.mean(rejected[fpc]))
        numbers.add(
            f"rao_scott_null_rejection_{tag}_pct",
            100 * rate,
            0.1,
            f"% of the crosstabs' Rao–Scott tests significant at 5% when no group differs, {'with' if fpc else 'without'} the FPC"
            f" ({len(rejected[fpc])} tests: each single-answer question and multi-select option × 職域, 職位, 年代)",
            unit="%",
            mc_error=100 * np.sqrt(rate * (1 - rate) / (len(rejected[fpc]) / 3)),
            seeds=f"{SEED_RAO_SCOTT} (one generator call of {n_waves} × {per_wave} null respondents, dealt out by 職域)",
            replications=n_waves,
        )


# -------------------------------------------------------------------------------------- changes


def false_verdicts(table: pd.DataFrame) -> tuple[int, int]:
    """(significant verdicts, tested rows): tests/test_compare.py's count (not the response rate, not
    suppressed, not 参考値)."""
    tested = table[(table["kind"] != "rate") & ~table["suppressed"] & table["p_value"].notna()]
    return int(tested["verdict"].isin(SIGNIFICANT).sum()), len(tested)


def measure_changes(numbers: Numbers, codebook, frame, counts: dict) -> None:
    from ppp_survey import compare as cmp
    from ppp_survey.analysis import analyse
    from ppp_survey.synth.generator import generate

    def wave(seed):
        return cmp.Wave.of(analyse(generate(codebook, seed=seed).responses, frame, codebook, tables=False))

    pairs = counts["pairs"]
    rates = {"none": [], "fpc": []}
    hits = {"none": 0, "fpc": 0, "bh": 0}
    rows = 0
    any_bh = 0
    for i in range(pairs):
        a, b = wave(SEED_CHANGES + 2 * i), wave(SEED_CHANGES + 2 * i + 1)
        for name, options in (("none", {}), ("fpc", {"fpc": True}), ("bh", {"adjust": "bh"})):
            h, n = false_verdicts(cmp.compare(a, b, **options).rows)
            hits[name] += h
            if name in rates:
                rates[name].append(h / n)
            if name == "bh":
                any_bh += h > 0
        rows += n
    seeds = f"{SEED_CHANGES}…{SEED_CHANGES + 2 * pairs - 1} (pair i: {SEED_CHANGES} + 2i and + 2i + 1)"
    common = {"seeds": seeds, "replications": pairs}
    numbers.add(
        "changes_null_pairs", pairs, 1, "pairs of independent R7 regenerations compared (nothing changed)", **common
    )
    numbers.add(
        "changes_null_rows", rows, 1, "tested rows over those pairs (54 indicators × 全体 + 8 職域 each)", **common
    )
    for name, what in (("none", "without the FPC (the default)"), ("fpc", "with the FPC (--fpc-change)")):
        numbers.add(
            f"changes_false_{name if name == 'fpc' else 'default'}_pct",
            100 * hits[name] / rows,
            0.1,
            f"% of tested rows judged 改善/悪化/増加/減少 when nothing changed, {what}",
            unit="%",
            mc_error=100 * np.std(rates[name], ddof=1) / np.sqrt(pairs),
            **common,
        )
    numbers.add(
        "changes_false_bh_rows",
        hits["bh"],
        1,
        "rows judged changed with --change-fdr (Benjamini–Hochberg over every tested row) when nothing changed",
        **common,
    )
    numbers.add(
        "changes_false_bh_any_pct",
        100 * any_bh / pairs,
        1,
        "% of comparisons with --change-fdr that flag any row when nothing changed",
        unit="%",
        mc_error=100 * np.sqrt(any_bh / pairs * (1 - any_bh / pairs) / pairs),
        **common,
    )


# -------------------------------------------------------------------------------- regenerations


def shares_by_domain(responses, design, codebook):
    from ppp_survey.survey.tables import tally

    parts = []
    for item in codebook.tabulated:
        for by in (None, codebook.stratum.id):
            t = tally(responses, design, item, by=by)
            parts.append(t[["question", "group", "code", "estimate", "ci_low", "ci_high"]])
    return pd.concat(parts, ignore_index=True)


def truth_shares(codebook, frame, factor: int) -> pd.DataFrame:
    """The process's share of every choice in each 職域 (and the staff-weighted 全体): the plain shares of
    one large generation (the generator draws respondents independently given their 職域)."""
    from ppp_survey.constants import ALL
    from ppp_survey.synth.generator import generate, load_spec

    n = factor * sum(load_spec()["respondents"].values())
    big = generate(codebook, n=n, seed=SEED_TRUTH).responses
    stratum = codebook.stratum.id
    rows = []
    population = dict(zip(frame["domain"].astype(str), frame["population"]))
    for item in codebook.tabulated:
        for choice in item.choices:
            if item.is_multi:
                col = item.option_columns[item.choices.index(choice)]
                x = big[col].astype("Float64")
            else:
                x = (big[item.id] == choice.label).astype("Float64").where(big[item.id].notna())
            by = x.groupby(big[stratum].astype(str), observed=True).mean()
            overall = sum(by[d] * population[d] for d in by.index) / sum(population[d] for d in by.index)
            rows += [(item.id, d, choice.code, float(by[d])) for d in by.index]
            rows.append((item.id, ALL, choice.code, float(overall)))
    return pd.DataFrame(rows, columns=["question", "group", "code", "truth"])


def measure_regenerations(numbers: Numbers, codebook, frame, counts: dict) -> None:
    from ppp_survey.constants import ALL
    from ppp_survey.survey.associations import association_model
    from ppp_survey.survey.tables import make_design
    from ppp_survey.synth.generator import generate

    regen = counts["regen"]
    truth = truth_shares(codebook, frame, counts["truth_factor"])
    coverage = {True: {name: 0 for name in TRUTH}, False: {name: 0 for name in TRUTH}}
    position = {True: 0, False: 0}
    covered = {True: [], False: []}
    for i in range(regen):
        responses = generate(codebook, seed=SEED_REGEN + i).responses
        for fpc in (True, False):
            design = make_design(responses, frame, codebook, fpc=fpc)
            model = association_model(responses, design, codebook)
            table = model.table.set_index("name")
            for name, value in TRUTH.items():
                coverage[fpc][name] += table.loc[name, "ci_low"] <= value <= table.loc[name, "ci_high"]
            tests = model.tests.set_index("term")
            position[fpc] += tests.loc["position", "p_value"] < 0.05
            shares = shares_by_domain(responses, design, codebook).merge(truth, on=["question", "group", "code"])
            covered[fpc].append(
                shares.assign(hit=(shares["ci_low"] <= shares["truth"]) & (shares["truth"] <= shares["ci_high"]))
            )
    seeds = f"{SEED_REGEN}…{SEED_REGEN + regen - 1}; process shares from seed {SEED_TRUTH} ({counts['truth_factor']} × 1,340 respondents)"
    common = {"seeds": seeds, "replications": regen}
    se_cov = 100 * np.sqrt(0.95 * 0.05 / regen)
    numbers.add(
        "regenerations", regen, 1, "regenerations of the synthetic R7 wave (its built-in dependence kept)", **common
    )
    for fpc, tag in ((False, "nofpc"), (True, "fpc")):
        rates = [100 * c / regen for c in coverage[fpc].values()]
        label = "with" if fpc else "without"
        numbers.add(
            f"assoc_coverage_{tag}_min_pct",
            min(rates),
            1 if fpc else 0.1,
            f"lowest coverage of the true log odds ratio by the association model's 95% intervals ({label} the FPC), over its 5 built-in effects",
            unit="%",
            mc_error=se_cov,
            **common,
        )
        numbers.add(
            f"assoc_coverage_{tag}_max_pct",
            max(rates),
            1 if fpc else 0.1,
            f"highest such coverage ({label} the FPC)",
            unit="%",
            mc_error=se_cov,
            **common,
        )
        cells = pd.concat(covered[fpc], ignore_index=True)
        by_group = cells.groupby("group")["hit"].mean() * 100
        domains = by_group.drop(ALL)
        numbers.add(
            f"shares_coverage_{tag}_domain_min_pct",
            domains.min(),
            1,
            f"published shares by 職域 ({label} the FPC): lowest 職域 coverage of the process's share by the 95% interval (all choices of the 7 questions; {domains.idxmin()})",
            unit="%",
            mc_error=100 * np.sqrt(0.9 * 0.1 / regen),
            **common,
        )
        numbers.add(
            f"shares_coverage_{tag}_domain_max_pct",
            domains.max(),
            1,
            f"highest 職域 coverage ({label} the FPC; {domains.idxmax()})",
            unit="%",
            mc_error=100 * np.sqrt(0.9 * 0.1 / regen),
            **common,
        )
        numbers.add(
            f"shares_coverage_{tag}_overall_pct",
            by_group[ALL],
            1,
            f"全体 shares ({label} the FPC): coverage of the staff-weighted process share by the 95% interval",
            unit="%",
            mc_error=100 * np.sqrt(0.9 * 0.1 / regen),
            by_domain={k: round(float(v), 2) for k, v in by_group.items()},
            **common,
        )
    rate = position[False] / regen
    numbers.add(
        "assoc_position_rejection_pct",
        100 * rate,
        0.1,
        "% of regenerations in which the 職位 term (no effect built in) is significant at 5% (design-based Wald F, no FPC)",
        unit="%",
        mc_error=100 * np.sqrt(rate * (1 - rate) / regen),
        **common,
    )


# ------------------------------------------------------------------------------ bundled baseline


def measure_baseline(numbers: Numbers, codebook, frame) -> None:
    from ppp_survey import load_responses, survey_mean
    from ppp_survey.spec.margins import load_margins
    from ppp_survey.survey.calibration import calibrated_mean, rake
    from ppp_survey.survey.tables import make_design, tally
    from ppp_survey.survey.weights_comparison import compare_weights

    responses = load_responses(BASELINE, codebook).responses
    with_fpc, without = make_design(responses, frame, codebook), make_design(responses, frame, codebook, fpc=False)
    cut = []
    for item in codebook.tabulated:
        a, b = tally(responses, with_fpc, item), tally(responses, without, item)
        ok = b["se"] > 0
        cut.append(1 - a.loc[ok, "se"].to_numpy() / b.loc[ok, "se"].to_numpy())
    cut = 100 * np.concatenate(cut)
    base = {"seeds": "none (the bundled data/raw/synthetic_r7_responses.xlsx)", "replications": None}
    for key, value, what in (
        ("fpc_se_cut_min_pct", cut.min(), "smallest"),
        ("fpc_se_cut_median_pct", np.median(cut), "median"),
        ("fpc_se_cut_max_pct", cut.max(), "largest"),
    ):
        numbers.add(
            key,
            value,
            1,
            f"{what} cut of a 全体 share's standard error by the FPC (1 − SE with / SE without), over the {cut.size} choices of the bundled baseline",
            unit="%",
            **base,
        )
    margins = load_margins(MARGINS, codebook).targets()
    cal = rake(responses, with_fpc, margins)
    items = codebook.questions_of_type("sa", "likert")
    table = compare_weights(responses, cal, items)
    move = 100 * table["difference"].abs()
    worst = table.loc[move.idxmax()]
    numbers.add(
        "raking_max_move_points",
        move.max(),
        0.01,
        f"largest move of a 全体 share (percentage points) when raked to the illustrative margins: {codebook.item(worst['question']).number} {worst['label']}",
        unit="points",
        **base,
    )
    ids = ["q1", "q2", "q3"]
    a = calibrated_mean(responses, cal, ids)
    b = calibrated_mean(responses, rake(responses, with_fpc, margins, variance="rake"), ids)
    numbers.add(
        "raking_calibrate_vs_rake_se_pct",
        100 * np.max(np.abs(a["se"] / b["se"] - 1)),
        0.01,
        "largest relative difference (%) between the SEs of R's calibrate and R's rake variance, shares of 2-(1)–(3), bundled baseline raked to the illustrative margins",
        unit="%",
        **base,
    )
    small = responses.assign(never=0.0)
    row = survey_mean(small, with_fpc, "never", by=codebook.stratum.id).set_index("group").loc["技能労務"]
    numbers.add(
        "kg_zero_of_n_upper_pct",
        100 * row["ci_high"],
        0.1,
        f"upper end of the 95% interval of a 0% share with base {int(row['n'])} (Korn–Graubard = Clopper–Pearson on the base)",
        unit="%",
        base_n=int(row["n"]),
        **base,
    )
    numbers.add("kg_zero_of_n_base", row["n"], 1, "the base of that example", **base)


# ----------------------------------------------------------------------------------------- speed


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = re.search(r"\n#{1,3} ", text[start + len(heading) :])
    return text[start : start + len(heading) + (following.start() if following else len(text))]


def _find(section: str, pattern: str, group: int = 1) -> float:
    match = re.search(pattern, section)
    if not match:
        raise SystemExit(f"benchmarks/RESULTS.md: pattern not found: {pattern}")
    return float(match.group(group).replace(",", ""))


def speed_numbers(numbers: Numbers) -> None:
    """Speed numbers the README quotes, read from benchmarks/RESULTS.md (make bench's record)."""
    text = RESULTS.read_text(encoding="utf-8")
    first = _section(text, "# Benchmark results")
    machine_1129 = "2 cores, 24 GB RAM, Linux; Python 3.11.7 (benchmarks/RESULTS.md, first section)"
    common = {"machine_dependent": True, "source": "benchmarks/RESULTS.md: # Benchmark results", "date": "2026-11-29"}
    common["machine"] = machine_1129
    assert "- Date: 2026-11-29" in first and "2 cores, 24 GB RAM" in first
    low, high = re.search(r"then the report took (\d+\.\d+)–(\d+\.\d+) s here", first).groups()
    numbers.add(
        "bench_report_one_process_min_s",
        float(low),
        0.1,
        "report with PPP_SURVEY_JOBS=1 (s), fastest",
        unit="s",
        **common,
    )
    numbers.add(
        "bench_report_one_process_max_s",
        float(high),
        0.1,
        "report with PPP_SURVEY_JOBS=1 (s), slowest",
        unit="s",
        **common,
    )
    floor = re.search(
        r"floor ranged (\d+\.\d+)–(\d+\.\d+) s within this run and (\d+\.\d+)–(\d+\.\d+) s", first
    ).groups()
    numbers.add(
        "bench_floor_min_s",
        min(map(float, floor)),
        0.1,
        "matplotlib floor, fastest run of that day (s)",
        unit="s",
        **common,
    )
    numbers.add(
        "bench_floor_max_s",
        max(map(float, floor)),
        0.1,
        "matplotlib floor, slowest run of that day (s)",
        unit="s",
        **common,
    )
    ratios = [float(x) for x in re.search(r"came out (\d+\.\d+) and (\d+\.\d+)", first).groups()]
    ratios.append(_find(first, r"ratio report / floor\s+\|\s+(\d+\.\d+)"))
    numbers.add(
        "bench_report_floor_ratio_min",
        min(ratios),
        0.01,
        "report / floor ratio, lowest of that day's runs",
        unit="×",
        **common,
    )
    numbers.add(
        "bench_report_floor_ratio_max",
        max(ratios),
        0.01,
        "report / floor ratio, highest of that day's runs",
        unit="×",
        **common,
    )
    agreement = re.search(r"Agreement with ppp_survey's public API.*?→ all agree", first, re.S).group(0)
    deltas = [float(x) for x in re.findall(r"\d\.\de[-+]\d\d", agreement)]
    numbers.add("bench_agreement_max", max(deltas), 1e-8, "largest |Δ| between tools (estimates, SEs, F, df)", **common)
    core = _find(first, r"ppp-core within 2× the numpy floor at n = 1,000,000: (\d+\.\d+)×")
    numbers.add(
        "bench_ppp_core_floor_1m",
        core,
        0.01,
        "ppp-core's time / the numpy floor's at n = 1,000,000",
        unit="×",
        **common,
    )
    svy = _find(first, r"svy\s+median\s+(\d+\.\d+) s of 1")
    numbers.add("bench_svy_1m_s", svy, 1, "svy's one run of the estimate set at n = 1,000,000 (s)", unit="s", **common)

    paper = _section(text, "### Report with and without the committee paper")
    common_paper = {
        "machine_dependent": True,
        "source": "benchmarks/RESULTS.md: ### Report with and without the committee paper",
        "date": "2026-12-01",
        "machine": "same machine (2 cores, 24 GB), not quiet",
    }
    numbers.add(
        "bench_paper_without_s",
        _find(paper, r"medians (\d+\.\d+) →"),
        0.01,
        "report --no-paper, median of 3 (s)",
        unit="s",
        **common_paper,
    )
    numbers.add(
        "bench_paper_with_s",
        _find(paper, r"medians \d+\.\d+ → (\d+\.\d+) s"),
        0.01,
        "report with the committee paper, median of 3 (s)",
        unit="s",
        **common_paper,
    )
    numbers.add(
        "bench_paper_factor",
        _find(paper, r"s, ×(\d+\.\d+)"),
        0.01,
        "report time with the paper / without",
        unit="×",
        **common_paper,
    )
    numbers.add(
        "bench_paper_factor_rerun",
        _find(paper, r"paper ×(\d+\.\d+)"),
        0.01,
        "the same factor in the rerun of 05:26 UTC",
        unit="×",
        **common_paper,
    )

    e2e = _section(text, "### End to end again")
    common_e2e = {
        "machine_dependent": True,
        "source": "benchmarks/RESULTS.md: ### End to end again",
        "date": "2026-12-01",
        "machine": "same machine (2 cores, 24 GB), load average 1.6–2.9",
    }
    numbers.add(
        "bench_holm_report_s",
        _find(e2e, r"A first run gave (\d+\.\d+) s at 100,000"),
        0.1,
        "report at 100,000 with statsmodels' Holm (s)",
        unit="s",
        **common_e2e,
    )
    numbers.add(
        "bench_holm_step_s",
        _find(e2e, r"(\d+\.\d+) s of the 集計 step"),
        0.1,
        "of which the 集計 step in statsmodels' Holm (s)",
        unit="s",
        **common_e2e,
    )
    numbers.add(
        "bench_holm_import_s",
        _find(e2e, r"and (\d+\.\d+) s of imports"),
        0.1,
        "of which importing statsmodels (s)",
        unit="s",
        **common_e2e,
    )


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="few replications (smoke run); does not overwrite the committed file"
    )
    parser.add_argument("--out", type=Path, default=None, help=f"results file (default {OUT.relative_to(REPO)})")
    parser.add_argument(
        "--only", default="", help="comma-separated subset of marks,rao_scott,changes,regenerations,baseline,speed"
    )
    args = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    out = args.out or (REPO / "benchmarks" / "readme_numbers.quick.json" if args.quick else OUT)
    os.chdir(REPO)
    from ppp_survey import load_codebook, load_frame

    codebook = load_codebook()
    frame = load_frame(FRAME, codebook)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    stamp = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "package_version": version("ppp_survey"),
        "git_commit": commit,
    }
    numbers = Numbers(stamp)
    started = time.perf_counter()
    steps = {
        "baseline": lambda: measure_baseline(numbers, codebook, frame),
        "speed": lambda: speed_numbers(numbers),
        "marks": lambda: measure_marks(numbers, codebook, frame, counts),
        "rao_scott": lambda: measure_rao_scott(numbers, codebook, frame, counts),
        "changes": lambda: measure_changes(numbers, codebook, frame, counts),
        "regenerations": lambda: measure_regenerations(numbers, codebook, frame, counts),
    }
    only = [s for s in args.only.split(",") if s] or list(steps)
    seconds = {}
    for name in only:
        t = time.perf_counter()
        steps[name]()
        seconds[name] = round(time.perf_counter() - t, 1)
        print(f"{name}: {seconds[name]} s", file=sys.stderr, flush=True)
    generated = {
        **stamp,
        "machine": {**stamp["machine"], "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "counts": counts,
        "seconds": seconds,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    if args.only and out.exists():  # a partial run updates the entries it measured; the full run's stamp stays
        old = json.loads(out.read_text(encoding="utf-8"))
        numbers.entries = {**old["numbers"], **numbers.entries}
        updates = old["generated"].get("partial_updates", [])
        generated = {**old["generated"], "partial_updates": [*updates, {**generated, "only": only}]}
    result = {
        "about": "Numbers stated in README.md and README.en.md (markers <!-- n:KEY -->), made by benchmarks/readme_numbers.py",
        "generated": generated,
        "numbers": dict(sorted(numbers.entries.items())),
    }
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for key, entry in result["numbers"].items():
        mc = f" ± {entry['mc_error']:.2f}" if entry.get("mc_error") is not None else ""
        print(f"{key:42s} {entry['value']:.6g}{mc}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
