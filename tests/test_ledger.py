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
