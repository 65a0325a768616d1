"""The policy matrix never disappears silently (issue 27): a matrix that does not fit the run's
codebook stops the run with one line saying how to go on; --no-matrix publishes without it, and then
no published output mentions it."""

from __future__ import annotations

import json
import zipfile
from importlib import resources

import pytest
import yaml
from openpyxl import load_workbook

from conftest import BASELINE, FRAME
from ppp_survey.files import INTERNAL_FOLDER
from ppp_survey.report.cli import main

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)


@pytest.fixture(scope="module")
def renamed_codebook(tmp_path_factory):
    """The packaged codebook with 2-(5)'s id renamed (q5 → q5x): the packaged matrix names q5."""
    raw = yaml.safe_load((resources.files("ppp_survey") / "data" / "codebook_r7.yaml").read_text(encoding="utf-8"))
    for item in raw["questions"]:
        if item["id"] == "q5":
            item["id"] = "q5x"
    path = tmp_path_factory.mktemp("cb") / "codebook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _args(codebook, out, *extra):
    return ["--data", str(BASELINE), "--frame", str(FRAME), "--codebook", str(codebook), "--out", str(out), *extra]


def test_a_matrix_that_does_not_fit_stops_the_run(renamed_codebook, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    assert main(_args(renamed_codebook, tmp_path / "out", "--no-paper")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("エラー: 同梱の政策マトリクス") and "--matrix" in err[-1] and "--no-matrix" in err[-1]
    assert not (tmp_path / "out" / "figures").exists() or not any((tmp_path / "out" / "figures").iterdir())


def _published_text(out) -> dict[str, str]:
    texts = {}
    for path in sorted(out.rglob("*")):
        if not path.is_file() or INTERNAL_FOLDER in path.parts or path.suffix in (".png", ".pdf"):
            continue
        if path.suffix == ".xlsx":
            book = load_workbook(path, read_only=True)
            texts[path.name] = "\n".join(
                str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None
            )
            book.close()
        elif path.suffix == ".pptx":
            with zipfile.ZipFile(path) as z:
                texts[path.name] = "\n".join(
                    z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xml")
                )
        else:
            texts[path.name] = path.read_text(encoding="utf-8", errors="ignore")
    return texts


def test_no_matrix_publishes_without_mentioning_it(renamed_codebook, tmp_path, monkeypatch):
    monkeypatch.setenv("PPP_SURVEY_JOBS", "1")
    out = tmp_path / "out"
    assert main(_args(renamed_codebook, out, "--no-matrix")) == 0
    texts = _published_text(out)
    assert "集計表_架空データ.xlsx" in texts and "manifest.json" in texts
    mentions = {name: text.count("マトリクス") for name, text in texts.items() if "マトリクス" in text}
    assert not mentions, mentions
    assert json.loads(texts["manifest.json"])["options"]["no_matrix"] == "True"
