"""Anonymity: small groups pooled before anything is estimated, free text kept out, real data kept
out of git, outputs written atomically. The attacks on the published files are tests/test_disclosure.py."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import FRAME, REPO
from ppp_survey import generate, load_codebook, write_export
from ppp_survey.files import atomic_output
from ppp_survey.report.cli import main
from ppp_survey.survey.privacy import POOL_JOIN, POOLED, PRIMARY, SECONDARY, UNIFORM, suppressed_groups
from ppp_survey.synth.generator import load_spec

SMALL = "技能労務"


pytestmark = [
    pytest.mark.usefixtures("one_process"),
    pytest.mark.report,
]  # one process (conftest); left out of make quick


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A synthetic export in which 技能労務 has 3 respondents, run through the whole report."""
    cb = load_codebook()
    spec = load_spec()
    spec["respondents"][SMALL] = 3
    spec["respondents"]["一般行政"] += 21  # keep 1,340 respondents
    survey = generate(cb, spec)
    folder = tmp_path_factory.mktemp("small")
    data = write_export(survey.responses, survey.free_text, cb, folder / "small_synthetic.xlsx")
    out = folder / "out"
    assert main(["--data", str(data), "--frame", str(FRAME), "--out", str(out)]) == 0
    return survey, out


def test_suppression_rule():
    bases = pd.Series({"a": 100, "b": 3, "c": 40, "d": 12, "e": 0})
    assert suppressed_groups(bases, 10) == {"b": PRIMARY, "d": SECONDARY}  # the next smallest, not the empty one
    assert suppressed_groups(pd.Series({"a": 5, "b": 4, "c": 50}), 10) == {"a": PRIMARY, "b": PRIMARY}
    assert suppressed_groups(pd.Series({"a": 50, "b": 40}), 10) == {}


def _pool_label(out: Path) -> str:
    rates = pd.read_csv(out / "data" / "processed" / "response_rates.csv", encoding="utf-8-sig", dtype=str)
    (label,) = [d for d in rates.iloc[:, 0] if SMALL in d.split(POOL_JOIN)]
    return label


def test_three_respondents_are_published_only_in_a_pool(small_run, codebook):
    """技能労務 with 3 respondents is merged with the smallest other 職域 before anything is estimated:
    every output shows the pool 「技能労務＋…」, none shows 技能労務 alone, nothing needs an x."""
    survey, out = small_run
    processed = out / "data" / "processed"
    pool = _pool_label(out)
    assert pool != SMALL and len(pool.split(POOL_JOIN)) >= 2
    cells = pd.read_csv(processed / "crosstab_cells.csv", encoding="utf-8-sig", dtype=str)
    by_domain = cells[cells["by"] == "domain"]
    assert SMALL not in set(by_domain["group"]) and pool in set(by_domain["group"])
    assert not (by_domain[["share", "estimate"]] == "x").any().any()  # pooled, not masked
    likert = pd.read_csv(processed / "likert_summary.csv", encoding="utf-8-sig", dtype=str)
    assert SMALL not in set(likert["group"]) and pool in set(likert["group"])
    audit = pd.read_csv(processed / "suppression_audit.csv", encoding="utf-8-sig")
    assert ((audit["group"] == SMALL) & (audit["action"] == POOLED)).sum() == 1

    wb = load_workbook(processed / "集計表_架空データ.xlsx")
    ws = wb["クロス集計（職域）"]
    first = [r[0] for r in ws.iter_rows(values_only=True)]
    assert SMALL not in first and pool in first

    # no table, sheet or page names the small 職域 alone (only the audit says it was pooled)
    texts = [p.read_text(encoding="utf-8-sig") for p in out.rglob("*.csv") if p.name != "suppression_audit.csv"]
    texts.append((out / "figures" / "2-08_政策マトリクス.html").read_text(encoding="utf-8"))
    texts += [
        str(v)
        for sheet in wb.worksheets
        if sheet.title != "秘匿"
        for row in sheet.iter_rows(values_only=True)
        for v in row
    ]
    leftover = [t for t in texts if SMALL in t.replace(pool, "")]
    assert not leftover, leftover[:3]


def test_a_pool_is_drawn_as_one_group(small_run, frame, codebook):
    from ppp_survey.analysis import analyse
    from ppp_survey.outputs import plots

    survey, out = small_run
    analysis = analyse(survey.responses, frame, codebook)
    pool = _pool_label(out)
    with plots.theme():
        ax = plots.plot_stacked(analysis.tally("q2", by="domain"), analysis.codebook.item("q2"))
        ticks = [t.get_text().split("（")[0] for t in ax.get_yticklabels()]
        assert SMALL not in ticks and any(t.startswith(pool) for t in ticks)
        heat = plots.plot_heatmap(analysis.crosstabs[("q2", "domain")])
        assert not np.ma.getmaskarray(heat.collections[0].get_array()).any()  # every cell coloured


def _all_text(folder: Path) -> str:
    """Every text an output folder publishes: CSV/JSON as text, workbooks' XML parts."""
    parts = []
    for path in folder.rglob("*"):
        if path.suffix in (".csv", ".json"):
            parts.append(path.read_text(encoding="utf-8-sig"))
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                parts += [z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")]
    return "\n".join(parts)


def test_free_text_stays_out_unless_asked(small_run, tmp_path):
    survey, out = small_run
    texts = set(survey.free_text["text"])
    assert texts
    published = _all_text(out)
    assert not [t for t in texts if t in published]
    data = next(out.parent.glob("*.xlsx"))
    # --tables-only: only the internal free-text file is read, written from the export whatever the
    # charts and the paper (small_run makes this export's, checked above for free text).
    argv = ["--data", str(data), "--frame", str(FRAME), "--out", str(tmp_path), "--export-free-text", "--tables-only"]
    assert main(argv) == 0
    internal = tmp_path / "内部用_公開禁止" / "自由記述_内部用_公開禁止.csv"
    assert set(pd.read_csv(internal, encoding="utf-8-sig")["text"]) == texts


def test_threshold_below_three_is_refused(tmp_path, capsys):
    from conftest import BASELINE

    assert main(["--data", str(BASELINE), "--frame", str(FRAME), "--out", str(tmp_path), "--min-group", "2"]) == 2
    assert "3以上の整数" in capsys.readouterr().err


def test_pooling_collapses_the_strata(small_run, frame, codebook):
    """The pool is one stratum: its staff summed, one weight for all its respondents."""
    from ppp_survey.analysis import analyse

    survey, _ = small_run
    analysis = analyse(survey.responses, frame, codebook)
    ((pool, members),) = analysis.pools.by_attribute["domain"].items()
    assert SMALL in members and pool == POOL_JOIN.join(members)
    rates = analysis.rates.set_index(analysis.rates["domain"].astype(str))
    staff = frame.set_index(frame["domain"].astype(str))["population"]
    assert rates.loc[pool, "population"] == staff[list(members)].sum()
    assert pool in analysis.codebook.stratum.labels and SMALL not in analysis.codebook.stratum.labels
    weights = analysis.design.weights[analysis.responses["domain"].astype(str).to_numpy() == pool]
    assert np.ptp(weights) == 0


def test_uniform_answers_are_flagged(frame, codebook):
    from ppp_survey.analysis import analyse

    survey = generate(codebook)
    responses = survey.responses.copy()
    responses.loc[responses["domain"] == "教育・保育", "q3"] = "ない"  # everyone in the group gives one answer
    analysis = analyse(responses, frame, codebook)
    flags = analysis.audit[(analysis.audit["reason"] == UNIFORM) & (analysis.audit["question"] == "q3")]
    assert "教育・保育" in set(flags["group"])


def test_nobody_ticking_an_option_is_flagged_for_multi_select_only(frame, codebook):
    from ppp_survey.analysis import analyse

    survey = generate(codebook)
    responses = survey.responses.copy()
    group = responses["domain"] == "教育・保育"
    q4 = codebook.item("q4")
    answered = group & responses[q4.option_columns[0]].notna()
    responses.loc[answered, q4.option_columns[0]] = 0  # nobody in the group ticks the first option
    analysis = analyse(responses, frame, codebook)
    flags = analysis.audit[(analysis.audit["reason"] == UNIFORM) & (analysis.audit["by"] == "domain")]
    assert "教育・保育" in set(flags.loc[flags["question"] == "q4", "group"])
    # a single-answer choice nobody gave is not a disclosure of everyone's answer
    q1 = analysis.crosstabs[("q1", "domain")].cells
    zero = set(q1.loc[(q1["share"] == 0.0) & (q1["base_n"] > 0), "group"])
    full = set(q1.loc[q1["share"] == 1.0, "group"])
    assert set(flags.loc[flags["question"] == "q1", "group"]) == full
    assert zero - full  # the synthetic data do have 0% single-answer cells (消防 and 技能労務: q1 重要ではない)


def test_interrupted_write_leaves_nothing(tmp_path):
    target = tmp_path / "table.csv"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half a table", encoding="utf-8")
            raise RuntimeError("interrupted")
    assert not target.exists() and not list(tmp_path.iterdir())


def test_real_data_is_ignored_by_git():
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0

    for real in (
        "data/raw/回答_本番.xlsx",
        "data/raw/export.csv",
        "data/processed/集計表.xlsx",
        "data/processed/internal/自由記述_内部用_公開禁止.csv",
        "figures/2-01_官民連携の重要性.png",
        "figures/2-08_政策マトリクス.html",
    ):
        assert ignored(real), real
    # no chart is tracked: a report on real data into the default folders leaves git clean
    tracked = subprocess.run(["git", "ls-files", "figures"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert tracked in ([], ["figures/.gitkeep"]), tracked
    assert ignored("data/processed/baseline_r10/manifest.json")  # a real wave's frozen baseline
    for synthetic in (
        "data/raw/synthetic_r7_responses.xlsx",
        "data/raw/staff_frame_r7.csv",
        "data/raw/synthetic_r8_responses.xlsx",
        "data/raw/staff_frame_r8.csv",
        "data/processed/baseline_r7/manifest.json",
        "data/processed/baseline_r7/indicators.csv",
        "data/processed/baseline_r8/manifest.json",  # the bundled synthetic R8, frozen for the trend example
        "data/raw/synthetic_r9_responses.xlsx",
    ):
        assert not ignored(synthetic), synthetic


def test_a_pooled_stratum_with_more_respondents_than_staff_is_refused(small_run, frame, codebook, tmp_path, capsys):
    """The frame is checked against each 職域 as answered, before pooling: 3 respondents against 2
    staff stop the run (one line naming the 職域, exit 2) although the pool's total would pass."""
    from ppp_survey.analysis import analyse
    from ppp_survey.errors import FrameError

    survey, out = small_run
    shrunk = frame.assign(population=frame["population"].where(frame["domain"].astype(str) != SMALL, 2))
    with pytest.raises(FrameError, match=f"{SMALL}」の回答者 3人が職員数 2人を超える"):
        analyse(survey.responses, shrunk, codebook)
    staff = dict(zip(frame["domain"].astype(str), frame["population"].astype(int)))
    staff["一般行政"] += staff[SMALL] - 2  # the total kept (the codebook's 3,138)
    staff[SMALL] = 2
    small_frame = tmp_path / "職員数.csv"
    small_frame.write_text("職域,職員数\n" + "".join(f"{d},{n}\n" for d, n in staff.items()), encoding="utf-8")
    data = next(out.parent.glob("*.xlsx"))
    argv = ["--data", str(data), "--frame", str(small_frame), "--out", str(tmp_path / "o"), "--tables-only"]
    assert main(argv) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("エラー: ") and SMALL in last and "3人" in last
