"""What the READMEs state is what was measured (issue 32).

Every number README.md and README.en.md state about accuracy, error rates or speed is followed by an
invisible marker ``<!-- n:KEY -->`` (an HTML comment: GitHub renders nothing). The number is the one
right before the marker, optionally followed by a unit (%, points, s, ×) or counter (行, 回分, 組). ``KEY`` names an entry of
``benchmarks/readme_numbers.json``, written by ``benchmarks/readme_numbers.py`` (``make
readme-numbers``) with its seeds, replications, date, machine and package version. The README's
number must be the entry's value rounded to the entry's ``precision`` (half a unit of it either
way); a marker may ask for a coarser rounding, ``<!-- n:KEY p=1 -->`` for "about 3%", and
``<!-- n:KEY:mc_error -->`` marks the entry's Monte Carlo error (same precision).

The README's performance table is not marked cell by cell: it is a verbatim excerpt of
``benchmarks/RESULTS.md`` (``make bench``'s record), checked line by line.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from conftest import REPO

RESULTS_FILE = REPO / "benchmarks" / "readme_numbers.json"
READMES = ("README.md", "README.en.md")
MARKER = re.compile(r"<!-- n:([a-z0-9_]+(?::mc_error)?)(?: p=([0-9.e-]+))? -->")
# the number right before a marker: digits with thousands commas, a decimal part or an exponent,
# then optionally a unit or a Japanese counter
NUMBER_BEFORE = re.compile(r"(\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?)\s*(?:%|％|points|ポイント|s|秒|×|倍|行|回分|組)?\s*$")
PROVENANCE = ("value", "precision", "what", "seeds", "replications", "date", "machine", "package_version")

# The statements each README must keep marked (a removed marker would otherwise pass silently).
REQUIRED = {
    "README.md": {
        "marks_false_per_table_pct",
        "marks_false_per_report_pct",
        "marks_null_waves",
        "changes_false_default_pct",
        "changes_false_fpc_pct",
        "changes_null_pairs",
        "changes_false_bh_rows",
        "changes_null_rows",
        "assoc_position_rejection_pct",
        "regenerations",
        "shares_coverage_fpc_domain_min_pct",
        "shares_coverage_fpc_domain_max_pct",
        "shares_coverage_nofpc_domain_min_pct",
        "shares_coverage_nofpc_domain_max_pct",
        "shares_coverage_fpc_overall_pct",
        "shares_coverage_nofpc_overall_pct",
        "fpc_se_cut_min_pct",
        "fpc_se_cut_max_pct",
    },
    "README.en.md": {
        "marks_false_per_table_pct",
        "marks_false_per_report_pct",
        "marks_null_waves",
        "marks_false_per_table_protected_pct",
        "changes_false_default_pct",
        "changes_false_fpc_pct",
        "changes_null_pairs",
        "changes_false_bh_rows",
        "changes_null_rows",
        "fpc_se_cut_min_pct",
        "fpc_se_cut_median_pct",
        "fpc_se_cut_max_pct",
        "kg_zero_of_n_upper_pct",
        "kg_zero_of_n_base",
        "raking_max_move_points",
        "raking_calibrate_vs_rake_se_pct",
        "assoc_coverage_nofpc_min_pct",
        "assoc_coverage_nofpc_max_pct",
        "assoc_coverage_fpc_min_pct",
        "assoc_coverage_fpc_max_pct",
        "assoc_position_rejection_pct",
        "regenerations",
        "bench_agreement_max",
        "bench_report_one_process_min_s",
        "bench_report_one_process_max_s",
        "bench_floor_min_s",
        "bench_floor_max_s",
        "bench_report_floor_ratio_min",
        "bench_report_floor_ratio_max",
        "bench_paper_factor",
        "bench_paper_factor_rerun",
        "bench_paper_with_s",
        "bench_paper_without_s",
        "bench_ppp_core_floor_1m",
        "bench_svy_1m_s",
        "bench_holm_step_s",
        "bench_holm_report_s",
        "bench_holm_import_s",
    },
}


@pytest.fixture(scope="module")
def results() -> dict:
    return json.loads(RESULTS_FILE.read_text(encoding="utf-8"))


def markers(text: str) -> list[tuple[str, float, float | None, int]]:
    """(key, the number before the marker, the marker's own precision, line number) of every marker."""
    found = []
    for match in MARKER.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        number = NUMBER_BEFORE.search(before)
        line = text.count("\n", 0, match.start()) + 1
        assert number, f"line {line}: no number right before <!-- n:{match.group(1)} -->: …{before!r}"
        precision = float(match.group(2)) if match.group(2) else None
        found.append((match.group(1), float(number.group(1).replace(",", "")), precision, line))
    return found


def test_every_entry_records_how_it_was_made(results):
    generated = results["generated"]
    assert {"date", "machine", "package_version", "git_commit", "counts"} <= set(generated)
    assert {"platform", "cpu_count"} <= set(generated["machine"])
    for key, entry in results["numbers"].items():
        missing = [field for field in PROVENANCE if field not in entry]
        assert not missing, (key, missing)
        assert entry["precision"] > 0 and math.isfinite(entry["value"]), key
        if entry.get("machine_dependent"):
            assert entry.get("source"), key  # a speed number says which record it comes from


@pytest.mark.parametrize("readme", READMES)
def test_readme_numbers_are_the_measured_ones(readme, results):
    text = (REPO / readme).read_text(encoding="utf-8")
    numbers = results["numbers"]
    found = markers(text)
    wrong = []
    for key, stated, coarser, line in found:
        name, _, field = key.partition(":")
        assert name in numbers, f"{readme}:{line}: <!-- n:{key} --> names no entry of {RESULTS_FILE.name}"
        entry = numbers[name]
        value = entry[field or "value"]
        precision = entry["precision"]
        if coarser is not None:
            assert coarser >= precision, f"{readme}:{line}: p={coarser} is finer than the entry's {precision}"
            precision = coarser
        if abs(stated - value) > precision / 2 + 1e-9 * max(1.0, abs(value)):
            wrong.append(f"{readme}:{line}: {key} = {stated}, measured {value:.6g} (precision {precision})")
    assert not wrong, "\n".join(wrong)
    missing = REQUIRED[readme] - {key for key, *_ in found}
    assert not missing, f"{readme}: statements without their marker: {sorted(missing)}"


def test_the_performance_table_is_an_excerpt_of_results_md():
    """README.en.md's table, growth lines and targets of the 2026-11-29 run, line by line in RESULTS.md."""
    readme = (REPO / "README.en.md").read_text(encoding="utf-8")
    recorded = {line.strip() for line in (REPO / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8").splitlines()}
    part = readme.split("## Performance", 1)[1].split("Notes on the numbers", 1)[0]
    part = part.split("complete output in `benchmarks/RESULTS.md`):", 1)[1]
    lines = [line.strip() for line in part.splitlines() if line.strip()]
    assert len(lines) > 40  # the table, the growth lines, the report/import table and the targets
    absent = [line for line in lines if line not in recorded]
    assert not absent, absent
