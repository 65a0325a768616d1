"""Attacks on the published files (issue 15): an attacker holds every file a run publishes, the
codebook, the staff frame and this source code, and wants the answers of a group below the
anonymity threshold k (default 10).

The property that defeats every such attack: *no published number depends on which of the
protected respondents belongs to which protected group*. It is tested directly: two exports that
differ only in which respondents of a pool belong to the small group and which to its partner (the
small group's answers differ between them) must publish the same bytes. If they do, no equation,
rounding or difference over the published files can tell the small group's answers apart from
its partner's: the attacker learns only the pool's totals, which are published as a group of ≥ k.

Before pooling (the first release), the same data gave the 3-person 職域's answers exactly: the
plain 全体 count gives a + b and the design-based 全体 estimate with the published weights N_h/n_h
gives 30·a + 4.92·b (issue 15). With the strata collapsed, both give a + b only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import FRAME, REPO
from ppp_survey import generate, load_codebook, write_export
from ppp_survey.files import INTERNAL_FOLDER
from ppp_survey.report.cli import main
from ppp_survey.report.ledger import LEDGER_NAME
from ppp_survey.survey.privacy import POOL_JOIN
from ppp_survey.synth.generator import load_spec

SMALL = {"domain": ("技能労務", 3), "position": ("課長級以上", 4), "age": ("20代以下", 5)}
#: Respondents left blank: one 職位 and a group of four 年代 (each pooled, as a group of its own 無回答).
BLANK = {"position": 1, "age": 4}
MARGINS = REPO / "data" / "raw" / "staff_margins_r7.csv"


def _small_groups_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic wave with a 3-person 職域, a 4-person 職位 and a 5-person 年代 (and its free text)."""
    cb = load_codebook()
    spec = load_spec()
    spec["respondents"]["技能労務"] = 3
    spec["respondents"]["一般行政"] += 21  # keep 1,340 respondents
    survey = generate(cb, spec)
    responses = survey.responses.copy()
    for attr, (label, size) in SMALL.items():
        if attr == "domain":
            continue
        members = np.flatnonzero((responses[attr] == label).to_numpy())
        other = next(lab for lab in cb.item(attr).labels if lab != label)
        responses.loc[responses.index[members[size:]], attr] = other
    for attr, size in BLANK.items():  # keep `size` blanks of the attribute (among complete respondents)
        blank = np.flatnonzero(responses[attr].isna().to_numpy())
        complete = _complete(responses, cb)
        keep = [i for i in blank if complete[i]][:size]
        fill = [i for i in blank if i not in keep]
        responses.loc[responses.index[fill], attr] = next(lab for lab in cb.item(attr).labels if lab != SMALL[attr][0])
        missing = size - len(keep)
        if missing > 0:
            extra = [i for i in np.flatnonzero(complete & responses[attr].notna().to_numpy()) if i not in keep]
            responses.loc[responses.index[extra[:missing]], attr] = np.nan
        assert int(responses[attr].isna().sum()) == size, attr
    return responses, survey.free_text


def _complete(responses: pd.DataFrame, cb) -> np.ndarray:
    """Respondents who answered every question (a swap among them changes no question's base)."""
    ok = np.ones(len(responses), dtype=bool)
    for q in cb.tabulated:
        ok &= responses[q.option_columns[0] if q.is_multi else q.id].notna().to_numpy()
    return ok


def _swap(responses: pd.DataFrame, cb, attr: str, small: str, partner: str, k: int) -> pd.DataFrame:
    """Exchange the group labels of k respondents of ``small`` and k of ``partner`` chosen so that
    the small group's answers change: the k partners all gave one answer to 2-(2) that not all of the
    k small-group members gave (so its count in the small group rises); every group's size stays."""
    out = responses.copy()
    ok = _complete(responses, cb)
    mine = np.flatnonzero((responses[attr] == small).to_numpy() & ok)[:k]
    answers = responses[cb.item("q2").id].astype(str).to_numpy()
    candidates = np.flatnonzero((responses[attr] == partner).to_numpy() & ok)
    common = pd.Series(answers[candidates]).value_counts().index  # the partner's most frequent answers first
    answer = next(a for a in common if (answers[mine] != a).any())
    theirs = [i for i in candidates if answers[i] == answer][: len(mine)]
    assert len(mine) == len(theirs) > 0, (attr, small, partner)
    out.loc[out.index[mine], attr] = partner
    out.loc[out.index[theirs], attr] = small
    return out


def _swap_blank(responses: pd.DataFrame, cb, attr: str, partner: str, k: int) -> pd.DataFrame:
    """Exchange k respondents who left ``attr`` blank with k members of ``partner`` (a group the
    blank is pooled with) chosen so that the blank group's answers to 2-(2) change."""
    out = responses.copy()
    ok = _complete(responses, cb)
    mine = np.flatnonzero(responses[attr].isna().to_numpy() & ok)[:k]
    answers = responses[cb.item("q2").id].astype(str).to_numpy()
    candidates = np.flatnonzero((responses[attr] == partner).to_numpy() & ok)
    answer = next(a for a in pd.Series(answers[candidates]).value_counts().index if (answers[mine] != a).any())
    theirs = [i for i in candidates if answers[i] == answer][: len(mine)]
    assert len(mine) == len(theirs) == k, (attr, partner)
    out[attr] = out[attr].astype(object)
    out.loc[out.index[mine], attr] = partner
    out.loc[out.index[theirs], attr] = np.nan
    return out


def _published(out: Path) -> dict[str, bytes]:
    """Every published file's bytes, keyed by its path in the output folder: tables, workbook,
    charts, paper, matrix page, manifests and the frozen baseline (nothing names the export); not
    the internal folder nor the internal publication record."""
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file() and INTERNAL_FOLDER not in path.parts and path.name != LEDGER_NAME
    }


pytestmark = [
    pytest.mark.usefixtures("one_process"),
    pytest.mark.report,
]  # one process (conftest); left out of make quick


@pytest.fixture(scope="module")
def swapped_exports(tmp_path_factory):
    """The small-groups wave and the wave with every small group's members swapped with members of
    its pool partner, and the blank 職位 respondent and the blank 年代 group swapped with members of
    the group their blank is pooled with; each written as an export once (both pairs read them)."""
    from ppp_survey.analysis import analyse
    from ppp_survey.spec.frame import load_frame
    from ppp_survey.survey.privacy import NO_ANSWER

    cb = load_codebook()
    first, free_text = _small_groups_data()
    pools = analyse(first, load_frame(FRAME, cb), cb, tables=False).pools.by_attribute
    assert set(pools) == set(SMALL), pools  # every small group was pooled
    second = first
    for attr, (label, size) in SMALL.items():
        ((pool, members),) = pools[attr].items()
        partner = next(m for m in members if m not in (label, NO_ANSWER))
        second = _swap(second, cb, attr, label, partner, size)
    for attr, size in BLANK.items():
        ((pool, members),) = pools[attr].items()
        assert NO_ANSWER in members, (attr, pool)  # the blank is a group, pooled as any small group
        partner = next(m for m in members if m not in (NO_ANSWER, SMALL[attr][0]))
        second = _swap_blank(second, cb, attr, partner, size)
    exports = []
    for side, responses in (("a", first), ("b", second)):
        folder = tmp_path_factory.mktemp(f"export-{side}")
        exports.append(write_export(responses, free_text, cb, folder / "export.xlsx"))
    return first, second, pools, exports


def _swapped_pair(tmp_path_factory, exports, name: str, options: list[str]):
    """The same report (with ``options``) on the two exports of :func:`swapped_exports`, each run
    frozen as a baseline too."""
    first, second, pools, data = exports
    runs = []
    for side, export in zip(("a", "b"), data):
        out = tmp_path_factory.mktemp(f"{name}-{side}") / "out"
        args = [
            "--data",
            str(export),
            "--frame",
            str(FRAME),
            "--out",
            str(out),
            "--freeze-baseline",
            str(out / "baseline"),
        ]
        assert main([*args, *options]) == 0
        runs.append(out)
    return first, second, pools, runs


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, swapped_exports):
    """The swapped pair with the 職域 weights."""
    return _swapped_pair(tmp_path_factory, swapped_exports, "plain", [])


@pytest.fixture(scope="module")
def two_raked_runs(tmp_path_factory, swapped_exports):
    """The swapped pair raked to the staff list's 職位 and 年代 margins (--margins --calibrate): the
    margins are pooled as the groups are, so the raked weights do not tell pool members apart."""
    return _swapped_pair(tmp_path_factory, swapped_exports, "raked", ["--margins", str(MARGINS), "--calibrate"])


def test_small_and_blank_groups_answers_differ_between_the_two_exports(two_runs):
    first, second, _, _ = two_runs
    targets = [(attr, first[attr] == label, second[attr] == label) for attr, (label, _) in SMALL.items()]
    targets += [(attr, first[attr].isna(), second[attr].isna()) for attr in BLANK]
    for attr, in_first, in_second in targets:
        a = first.loc[in_first, "q2"].astype(str).value_counts().sort_index()
        b = second.loc[in_second, "q2"].astype(str).value_counts().sort_index()
        assert not a.equals(b), attr  # the attacker's target really changed


@pytest.mark.parametrize("pair", ["two_runs", "two_raked_runs"])
def test_no_published_byte_depends_on_who_is_in_a_small_or_blank_group(pair, request):
    """Tables, workbook, charts, paper, the policy matrix page, the manifests and the frozen baseline
    are byte-identical, with the 職域 weights and with weights raked to 職位 and 年代: the published
    files cannot tell the 3-person 職域, the 4-person 職位, the 5-person 年代, the one respondent
    who left 職位 blank or the four who left 年代 blank apart from their pool partners, so no
    combination of them (totals, 全体 minus the groups, weights, bases, marks, tests, evidence)
    recovers their answers."""
    _, _, pools, (a, b) = request.getfixturevalue(pair)
    left, right = _published(a), _published(b)
    assert set(left) == set(right)
    assert any(k.endswith(".png") for k in left) and any(k.startswith("baseline/") for k in left)
    assert "baseline/manifest.json" in left and any(k.endswith(".xlsx") for k in left)
    different = [k for k in left if left[k] != right[k]]
    assert not different, different
    for attr, (label, _) in SMALL.items():
        ((pool, _),) = pools[attr].items()
        assert POOL_JOIN in pool and label in pool.split(POOL_JOIN)


def test_the_audit_reports_the_blank_groups_it_checked(two_raked_runs):
    """The blank of 職位 and of 年代 are protected groups the LP audit solves for, as the small ones."""
    import json

    _, _, _, (a, _) = two_raked_runs
    audit = json.loads((a / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))["disclosure_audit"]
    assert {"position:無回答", "age:無回答"} <= set(audit["protected_groups"]), audit
    assert audit["passed"] and audit["disclosed"] == 0 and audit["counts_checked"] > 0


def test_the_workbook_names_the_pool(two_runs):
    _, _, pools, (a, _) = two_runs
    text = "\n".join(
        str(v)
        for book in (a / "data" / "processed").glob("*.xlsx")
        for ws in load_workbook(book).worksheets
        for row in ws.iter_rows(values_only=True)
        for v in row
    )
    for attr in SMALL:
        ((pool, _),) = pools[attr].items()
        assert pool in text, pool


def test_a_split_in_the_mapping_recovers_nothing(tmp_path):
    """教育・保育 split into 教育 and 保育 next year, with 保育 = 3 respondents: the first release
    published the combined 教育・保育 change row and 教育 alone (→ 保育 by subtraction, 51 cells).
    Now 保育 is pooled in the new wave, the comparison group is the union of the mapping's group and
    the pool, and the change table does not depend on who of the pool is in 保育."""
    from importlib import resources

    import yaml

    from ppp_survey import compare as cmp
    from ppp_survey.analysis import analyse
    from ppp_survey.compare.baseline import baseline_from_wave
    from ppp_survey.spec.codebook import parse_codebook
    from ppp_survey.spec.frame import load_frame
    from ppp_survey.spec.mapping import parse_mapping
    from ppp_survey.spec.resources import packaged_codebook

    r7 = packaged_codebook("codebook_r7.yaml")
    raw = yaml.safe_load((resources.files("ppp_survey") / "data" / "codebook_r7.yaml").read_text(encoding="utf-8"))
    raw["survey"]["id"], raw["survey"]["wave"] = "r9", "R9"
    choices = raw["attributes"][0]["choices"]
    choices[-1:] = [{"code": 9, "label": "教育"}, {"code": 10, "label": "保育"}]
    r9 = parse_codebook(raw, name="r9")
    mapping = parse_mapping(
        {"schema_version": 1, "from": "r7", "to": "r9", "strata": [{"from": "教育・保育", "to": ["教育", "保育"]}]},
        r7,
        r9,
    )
    old_frame = load_frame(FRAME, r7)
    staff = dict(zip(old_frame["domain"].astype(str), old_frame["population"]))
    staff.pop("教育・保育")
    staff.update({"教育": 60, "保育": 30})
    frame = pd.DataFrame(
        {"domain": pd.Categorical(list(staff), categories=r9.stratum.labels), "population": list(staff.values())}
    )
    responses = generate(r7).responses.copy()
    kids = np.flatnonzero((responses["domain"] == "教育・保育").to_numpy())
    labels = responses["domain"].astype(object)
    labels.iloc[kids] = "教育"
    labels.iloc[kids[:3]] = "保育"
    responses["domain"] = pd.Categorical(labels, categories=r9.stratum.labels)
    pools = analyse(responses, frame, r9).pools.by_attribute["domain"]
    ((pool, members),) = pools.items()
    partner = next(m for m in members if m != "保育")
    swapped = _swap(responses, r9, "domain", "保育", partner, 3)
    frozen = baseline_from_wave(analyse(generate(r7).responses, old_frame, r7, tables=False))
    tables = [
        cmp.compare(frozen, analyse(data, frame, r9, tables=False), mapping).rows for data in (responses, swapped)
    ]
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    groups = set(tables[0]["group"])
    assert "保育" not in groups and not any("保育" in g.split(POOL_JOIN) and g != pool for g in groups - {pool})
    (joined,) = [g for g in groups if "教育・保育" in g]
    assert partner in joined or pool in joined, joined


# ------------------------------------------------------------------------------ the audit


@pytest.fixture(scope="module")
def three_person_wave():
    """The bundled R7 wave with 技能労務 cut to 3 respondents (who answered everything)."""
    from ppp_survey.spec.frame import load_frame

    cb = load_codebook()
    survey = generate(cb)
    responses = survey.responses
    small = (responses["domain"] == "技能労務").to_numpy()
    keep = ~small | (np.cumsum(small) <= 3)
    return responses[keep].reset_index(drop=True), load_frame(FRAME, cb), cb


def test_the_audit_passes_a_pooled_publication(three_person_wave, capfd):
    from ppp_survey.analysis import analyse

    responses, frame, cb = three_person_wave
    result = analyse(responses, frame, cb).audit_disclosure()
    assert capfd.readouterr() == ("", "")  # the solver prints nothing (not even HiGHS's banner)
    assert result.protected_groups == (("domain", "技能労務"),)
    assert result.passed and result.summary()["disclosed"] == 0
    assert len(result.intervals) == sum(
        len(q.choices) + 1 if not q.is_multi else 3 * len(q.choices) for q in cb.tabulated
    )
    # the attacker's intervals are wide: at most the pool's count, never one value (except unanimous pools)
    judged = result.intervals[result.intervals["status"] == "保護"]
    assert (judged["high"] - judged["low"] >= 1 - 1e-6).all() and len(judged) > len(result.intervals) / 2


def test_the_audit_fails_a_publication_that_leaks(three_person_wave, monkeypatch):
    """The first release's design (suppress the 3-person 職域 and its complement, weight by the
    original strata) leaks: the audit finds each of its counts pinned, and to the true value."""
    import ppp_survey.analysis.run as analysis_module
    from ppp_survey.survey.privacy import Pools

    responses, frame, cb = three_person_wave
    monkeypatch.setattr(
        analysis_module, "protect", lambda r, f, c, k, **_: (r, f, c, Pools({}, {}, (("domain", "技能労務"),)))
    )
    result = analysis_module.analyse(responses, frame, cb).audit_disclosure()
    assert not result.passed
    leaked = result.intervals[result.intervals["status"] == "開示"]
    assert len(leaked) == len(result.intervals)  # every count of the group
    small = responses[responses["domain"] == "技能労務"]
    for row in leaked[leaked["question"] == "q2"].itertuples():
        truth = int((small["q2"].astype(object) == row.answer).sum()) if row.answer != "(無回答)" else 0
        assert round(row.low) == round(row.high) == truth, row


def test_the_report_refuses_to_publish_when_the_audit_fails(three_person_wave, two_runs, monkeypatch, tmp_path, capsys):
    """The audit runs in every report: a run whose publication would leak (the first release's
    design, forced here) ends with one line and exit 2, and publishes nothing. The previous set in
    the folder is a copy of the plain swap pair's first run (a report on a wave with a pooled
    3-person 技能労務, paper included), not a run of its own."""
    import shutil

    import ppp_survey.analysis.run as analysis_module
    from ppp_survey.survey.privacy import Pools

    responses, _, cb = three_person_wave
    data = write_export(
        responses, pd.DataFrame(columns=["respondent_id", "item", "field", "text"]), cb, tmp_path / "x.csv"
    )
    out = tmp_path / "out"
    shutil.copytree(two_runs[3][0], out)  # the previous publication (the fixture's folder stays as it is)
    assert {"figures/報告書.html", "figures/報告書.pptx", "baseline/manifest.json"} <= set(_published(out))
    manifest = (out / "data" / "processed" / "manifest.json").read_text(encoding="utf-8")
    assert '"passed": true' in manifest and '"protected_groups": [\n      "domain:技能労務"' in manifest
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    monkeypatch.setattr(
        analysis_module, "protect", lambda r, f, c, k, **_: (r, f, c, Pools({}, {}, (("domain", "技能労務"),)))
    )
    # a record of its own: the folder's record would stop the differently pooled run first (report/ledger.py)
    ledger = ["--ledger", str(tmp_path / "record.json")]
    assert main(["--data", str(data), "--frame", str(FRAME), "--out", str(out), "--no-paper", *ledger]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("エラー: 開示監査: ") and "技能労務" in err[-1] and "公表を中止" in err[-1]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # the previous set, untouched


def test_the_audit_of_raked_estimates_uses_the_raked_weights(three_person_wave):
    """--calibrate (issue 19): the published shares are on raked weights, so the audit's share
    equations carry each cell's raked weight (with the design's N_h/n_h the true table would not
    satisfy them: the first try stopped with "no solution"). The pooled 3-person 職域 stays protected,
    and the leaking design is still caught on raked weights."""
    import ppp_survey.analysis.run as analysis_module
    from ppp_survey.spec.margins import load_margins

    responses, frame, cb = three_person_wave
    margins = load_margins(REPO / "data" / "raw" / "staff_margins_r7.csv", cb)
    raked = analysis_module.analyse(responses, frame, cb, margins=margins, calibrate=True)
    cal = raked.calibration
    # every respondent's weight is what weights_for gives for its categories (the attacker's weights)
    cats = raked.responses[[m.column for m in cal.margins]].astype(object).where(raked.responses.notna(), "無回答")
    np.testing.assert_allclose(cal.weights_for(cats), cal.weights, rtol=1e-12)
    result = raked.audit_disclosure()
    assert result.protected_groups == (("domain", "技能労務"),) and result.passed
    judged = result.intervals[result.intervals["status"] == "保護"]
    assert (judged["high"] - judged["low"] >= 1 - 1e-6).all() and len(judged) > len(result.intervals) / 2


def test_raked_weights_of_unseen_combinations_follow_the_raking_factors():
    """Calibration.weights_for on a combination without respondents: the product of the raking's
    factors (exact for raking without bounds), i.e. log g additive in the categories."""
    from ppp_survey.spec.margins import load_margins
    from ppp_survey.survey.calibration import rake
    from ppp_survey.survey.tables import make_design

    cb = load_codebook()
    responses = generate(cb).responses
    from ppp_survey.spec.frame import load_frame

    design = make_design(responses, load_frame(FRAME, cb), cb)
    margins = load_margins(REPO / "data" / "raw" / "staff_margins_r7.csv", cb).targets()
    cal = rake(responses, design, margins, missing="share")
    grid = pd.DataFrame(
        [(d, p, a) for d in design.strata for p in ("係員", "課長級以上") for a in ("20代以下", "50代以上")],
        columns=[m.column for m in cal.margins],
    )
    w = cal.weights_for(grid) / np.array([dict(zip(design.strata, design.stratum_weights))[d] for d in grid.iloc[:, 0]])
    log_g = np.log(w).reshape(len(design.strata), 2, 2)
    # additive: the 職位 step is the same in every 職域 and 年代
    step = log_g[:, 1, :] - log_g[:, 0, :]
    np.testing.assert_allclose(step, step[0, 0], rtol=1e-6)
