"""Protection across publications: two publications of one wave one respondent apart.

A first run publishes the wave without a late answer; a second, with the late answer accepted,
would let anyone subtract the two and read the late respondent's answers. The publication record
(:mod:`ppp_survey.report.ledger`) stops the second run by default; republishing the earlier set
gives the same bytes; publishing anyway keeps the earlier pooling and says how many respondents
the difference discloses.

The first publication is the session's default R7 run (conftest.shared_report("r7"): the bundled
wave, which is the generator's wave (tests/test_baseline.py), committee paper included), copied;
the second export is that wave with one late respondent more.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import FRAME
from ppp_survey import generate, load_codebook, write_export
from ppp_survey.files import INTERNAL_FOLDER
from ppp_survey.report.cli import main
from ppp_survey.report.ledger import LEDGER_NAME, Ledger, Publication

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)


def _published(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and INTERNAL_FOLDER not in p.parts and p.name != LEDGER_NAME
    }


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The bundled generator's wave with one late answer more: the last respondent of another draw
    of the generator, under the next respondent id."""
    cb = load_codebook()
    survey = generate(cb)
    folder = tmp_path_factory.mktemp("exports")
    late = generate(cb, seed=int(survey.seed) + 1).responses.iloc[[-1]].copy()
    late["respondent_id"] = str(len(survey.responses) + 1)
    assert late["respondent_id"].iloc[0] not in set(survey.responses["respondent_id"])
    responses = pd.concat([survey.responses, late], ignore_index=True)
    second = write_export(responses, survey.free_text, cb, folder / "second.xlsx")
    return second


def _run(data: Path, out: Path, *extra: str, paper: bool = False) -> int:
    return main(
        ["--data", str(data), "--frame", str(FRAME), "--out", str(out), *extra, *([] if paper else ["--no-paper"])]
    )


@pytest.fixture(scope="module")
def first_publication(shared_report, tmp_path_factory):
    """The first publication (the wave without the late answer): the shared default R7 run, copied
    (the shared folder is read only; this copy's record and files are the ones the tests run into)."""
    run = shared_report("r7")
    assert run.status == 0
    out = tmp_path_factory.mktemp("pub") / "out"
    shutil.copytree(run.out, out)
    return out, _published(out)


def test_a_second_publication_one_respondent_apart_stops(exports, first_publication, capsys, monkeypatch):
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    out, before = first_publication
    capsys.readouterr()
    assert _run(exports, out) == 2
    err = capsys.readouterr().err.strip().splitlines()  # progress lines, then the one error line
    errors = [line for line in err if line.startswith("エラー")]
    assert errors == [err[-1]] and err[-1].startswith("エラー: 公表記録:") and "Traceback" not in "\n".join(err)
    assert "1人" in err[-1] and "--hold-new-respondents" in err[-1] and "--publish-anyway" in err[-1]
    assert _published(out) == before  # nothing was published


def test_republishing_the_earlier_set_gives_the_same_bytes(exports, first_publication, tmp_path, monkeypatch):
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    out, before = first_publication
    again = tmp_path / "again"
    ledger = out / LEDGER_NAME
    # with the paper: the first publication (the shared run) has one, and every published byte is compared
    assert _run(exports, again, "--ledger", str(ledger), "--hold-new-respondents", paper=True) == 0
    assert _published(again) == before
    internal = json.loads((again / INTERNAL_FOLDER / "manifest_内部用_公開禁止.json").read_text(encoding="utf-8"))
    assert internal["export"]["file"] == "second.xlsx"  # the export is named internally only


def test_publishing_anyway_states_the_disclosure(exports, first_publication, tmp_path, monkeypatch):
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    out, _ = first_publication
    anyway = tmp_path / "anyway"
    assert _run(exports, anyway, "--ledger", str(out / LEDGER_NAME), "--publish-anyway", "--tables-only") == 0
    manifest = json.loads((anyway / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["disclosure_audit"]["difference_from_earlier_publication"] == 1


def test_the_record_holds_ids_only_as_keyed_hashes(tmp_path):
    ledger = Ledger(tmp_path / LEDGER_NAME)
    ids = [f"R{i:04d}" for i in range(20)]
    a = Publication("r7", "R7", ledger.fingerprints(ids), {}, 10)
    ledger.record(a)
    text = (tmp_path / LEDGER_NAME).read_text(encoding="utf-8")
    assert "R0001" not in text and len(json.loads(text)["publications"]) == 1
    again = Ledger(tmp_path / LEDGER_NAME)
    assert again.risk(Publication("r7", "R7", again.fingerprints(ids), {}, 10)) is None  # the same set
    near = again.risk(Publication("r7", "R7", again.fingerprints(ids[:-3]), {}, 10))
    assert near is not None and near.removed == 3 and near.added == 0
    far = Publication("r7", "R7", again.fingerprints([*ids, *[f"N{i}" for i in range(10)]]), {}, 10)
    assert again.risk(far) is None  # ten new respondents: a group as large as any published one
    repooled = Publication("r7", "R7", again.fingerprints(ids), {"domain": {"a＋b": ["a", "b"]}}, 10)
    assert again.risk(repooled) is not None and again.risk(repooled).pools_differ
    other = Ledger(tmp_path / "other.json")
    assert np.intersect1d(sorted(other.fingerprints(ids)), sorted(again.fingerprints(ids))).size == 0  # salted


@pytest.fixture(scope="module")
def real_exports(tmp_path_factory):
    """A real-looking survey (no 架空 mark in a name, a frame that is not illustrative): its export at
    the deadline and again with one late answer, in one folder as an office keeps them."""
    cb = load_codebook()
    survey = generate(cb)
    root = tmp_path_factory.mktemp("real")
    folder = root / "回答データ"
    folder.mkdir()
    on_time = survey.responses.iloc[:-1]
    free = survey.free_text[survey.free_text["respondent_id"].isin(on_time["respondent_id"])]
    first = write_export(on_time, free, cb, folder / "回答_締切.xlsx")
    second = write_export(survey.responses, survey.free_text, cb, folder / "回答_締切後.xlsx")
    frame = root / "職員数.csv"
    lines = FRAME.read_text(encoding="utf-8").splitlines()
    frame.write_text("\n".join(x for x in lines if not x.startswith("#")) + "\n", encoding="utf-8")
    return first, second, frame


def _real(export: Path, frame: Path, out: Path, *extra: str) -> int:
    return main(["--data", str(export), "--frame", str(frame), "--out", str(out), "--tables-only", *extra])


def test_a_real_exports_second_publication_into_another_folder_stops(real_exports, tmp_path, capsys, monkeypatch):
    """A real export's record is kept beside it too: publishing the set one respondent apart into a
    new output folder (a 最終版 folder, or after clearing the first) stops as in the same folder;
    the same set into a third folder, or the earlier set again, is published."""
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    first, second, frame = real_exports
    assert _real(first, frame, tmp_path / "初版") == 0
    record = json.loads((first.parent / LEDGER_NAME).read_text(encoding="utf-8"))
    assert [p["where"] for p in record["publications"]] == ["初版"]
    assert str(first.stem) not in json.dumps(record, ensure_ascii=False)  # fingerprints only
    capsys.readouterr()
    assert _real(second, frame, tmp_path / "最終版") == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("エラー: 公表記録:") and "（初版）" in last and "1人" in last
    assert not (tmp_path / "最終版" / "data").exists()  # nothing published
    assert (
        _real(second, frame, tmp_path / "別記録", "--ledger", str(tmp_path / "新しい記録.json")) == 2
    )  # a fresh --ledger
    assert "（初版）" in capsys.readouterr().err.strip().splitlines()[-1]
    assert _real(first, frame, tmp_path / "再掲") == 0
    assert _published(tmp_path / "再掲") == _published(tmp_path / "初版")
    assert _real(second, frame, tmp_path / "保留", "--hold-new-respondents") == 0
    assert (
        _published(tmp_path / "保留")["data/processed/gt.csv"] == _published(tmp_path / "初版")["data/processed/gt.csv"]
    )


def test_a_record_beside_the_export_that_cannot_be_written_is_said(real_exports, tmp_path, capsys, monkeypatch):
    """A read-only export folder (a shared drive): the run publishes, keeps the output folder's
    record, and says that other output folders cannot be checked and what to do."""
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    first, _, frame = real_exports
    beside = first.parent / LEDGER_NAME
    original = Ledger.record

    def read_only(self, new):
        if self.path == beside:
            raise PermissionError(13, "Permission denied")
        return original(self, new)

    monkeypatch.setattr(Ledger, "record", read_only)  # as root (CI) a chmod would not stop the write
    capsys.readouterr()
    assert _real(first, frame, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "公表記録を回答データのフォルダに書けない" in err and "--ledger" in err
    assert (tmp_path / "out" / LEDGER_NAME).is_file()


def test_synthetic_data_keep_their_record_in_the_output_folder_only(tmp_path, monkeypatch):
    """The bundled inputs are never written to (and synthetic data have no respondents to protect
    across folders): the bundled wave's run leaves data/raw as it was."""
    from conftest import BASELINE

    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    before = sorted(p.name for p in BASELINE.parent.iterdir())
    assert main(["--data", str(BASELINE), "--frame", str(FRAME), "--out", str(tmp_path / "o"), "--tables-only"]) == 0
    assert sorted(p.name for p in BASELINE.parent.iterdir()) == before
    assert (tmp_path / "o" / LEDGER_NAME).is_file()


def test_published_groups_are_compared_member_by_member(tmp_path):
    """The record compares the respondents of groups pooled differently: a pool and the group it was
    pooled with, published alone later, differ by the pooled respondents (a risk, however many
    respondents the two sets differ by overall); the same members under a pool label listed in
    another order are the same group; groups of the same categories are the whole set's rule (ten
    late respondents spread over the 職域 are as far apart as the threshold asks)."""
    ledger = Ledger(tmp_path / LEDGER_NAME)
    ids = [f"R{i:03d}" for i in range(60)]
    big, small, other = ids[:45], ids[45:48], ids[48:]
    fp = ledger.fingerprints

    def publication(respondents, groups):
        return Publication("s", "S", fp(respondents), {}, 10, groups={"職域": {k: fp(v) for k, v in groups.items()}})

    ledger.record(publication(ids, {"上下水道局＋教育委員会": big + small, "消防局": other}))
    dropped = publication(big, {"上下水道局": big})  # 15 fewer respondents: the whole sets are far apart
    risk = ledger.risk(dropped)
    assert risk is not None and risk.group == ("職域", "上下水道局＋教育委員会", "上下水道局", 3)
    reordered = publication(ids, {"教育委員会＋上下水道局": small + big, "消防局": other})
    assert ledger.risk(reordered) is None
    late = [f"L{i}" for i in range(10)]
    spread = publication([*ids, *late], {"上下水道局＋教育委員会": big + small + late[:2], "消防局": other + late[2:]})
    assert ledger.risk(spread) is None


@pytest.fixture(scope="module")
def small_group_exports(tmp_path_factory):
    """A real-looking survey in which one 職域 has 3 respondents (pooled with the smallest other),
    exported whole and without that 職域 and a whole other one (more than the threshold apart)."""
    from ppp_survey.synth.generator import load_spec

    cb = load_codebook()
    spec = load_spec()
    spec["respondents"]["技能労務"] = 3
    spec["respondents"]["一般行政"] += 21
    survey = generate(cb, spec)
    folder = tmp_path_factory.mktemp("small") / "回答データ"
    folder.mkdir()
    whole = write_export(survey.responses, survey.free_text, cb, folder / "回答.xlsx")
    keep = ~survey.responses["domain"].astype(str).isin(["技能労務", "福祉"])
    kept = survey.responses[keep]
    free = survey.free_text[survey.free_text["respondent_id"].isin(kept["respondent_id"])]
    fewer = write_export(kept, free, cb, folder / "回答_福祉を除く.xlsx")
    frame = folder.parent / "職員数.csv"
    lines = FRAME.read_text(encoding="utf-8").splitlines()
    frame.write_text("\n".join(x for x in lines if not x.startswith("#")) + "\n", encoding="utf-8")
    return whole, fewer, frame


def test_a_version_without_some_groups_cannot_subtract_a_pool(small_group_exports, tmp_path, capsys, monkeypatch):
    """Publishing the survey again without the 3-person 職域 and a whole other one (so that the
    pool's partner is published alone) stops: the pool and the partner differ by the 3 respondents
    (the groups of 職位 and 年代 of the same categories differ by the removed respondents, more
    than the threshold in all: the whole set's rule)."""
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    whole, fewer, frame = small_group_exports
    assert _real(whole, frame, tmp_path / "全体版") == 0
    pools = pd.read_csv(tmp_path / "全体版" / "data" / "processed" / "response_rates.csv", encoding="utf-8-sig")
    (pool,) = [d for d in pools.iloc[:, 0].astype(str) if "技能労務" in d]
    capsys.readouterr()
    assert _real(fewer, frame, tmp_path / "一部版") == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("エラー: 公表記録:") and f"「{pool}」" in last and "3人だけ違うため" in last, last
    assert not (tmp_path / "一部版" / "data").exists()
    from ppp_survey.report.ledger import closest_groups

    record = json.loads((whole.parent / LEDGER_NAME).read_text(encoding="utf-8"))
    (earlier,) = [Publication.from_json(e) for e in record["publications"]]
    ledger = Ledger(whole.parent / LEDGER_NAME)
    pooled = {"職域": {pool: earlier.groups["職域"][pool]}}
    partner = pool.replace("技能労務", "").strip("＋")
    alone = {"職域": {partner: earlier.groups["職域"][pool] - ledger.fingerprints(_ids_of(whole, "技能労務"))}}
    assert closest_groups(pooled, alone, 10) == ("職域", pool, partner, 3)


def _ids_of(export: Path, domain: str) -> list[str]:
    """The respondent ids of one 職域 in an export, as the loader reads them."""
    from ppp_survey import load_responses

    responses = load_responses(export, load_codebook()).responses
    return responses.loc[responses["domain"].astype(str) == domain, "respondent_id"].astype(str).tolist()
