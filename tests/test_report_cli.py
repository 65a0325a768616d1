"""The command line: outputs written from the bundled baseline; user errors are one line, exit 2."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from conftest import BASELINE, FRAME, REPO, shared_argv
from ppp_survey.files import sha256_file
from ppp_survey.outputs.committee_pdf import find_browser
from ppp_survey.report.cli import main
from ppp_survey.report.ledger import LEDGER_NAME

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)

# What a default run publishes, by name (not by count): the tables, the workbook and the manifest;
TABLES = {
    f"data/processed/{name}"
    for name in (
        "response_rates.csv", "validation_summary.csv", "gt.csv", "crosstab_cells.csv", "crosstab_tests.csv",
        "likert_summary.csv", "suppression_audit.csv", "policy_matrix_evidence.csv", "policy_matrix_findings.csv",
        "policy_matrix_kpi.csv", "association_coefficients.csv", "association_tests.csv",
        "集計表_架空データ.xlsx", "manifest.json",
    )
}  # fmt: skip
# the charts of section 2 (the README's gallery, committed) and the forest plot 2-09, each as PNG and SVG,
# and the matrix page;
CHARTS = {
    f"figures/{name}{suffix}"
    for name in [p.stem for p in (REPO / "docs" / "gallery").glob("*.png")] + ["2-09_意欲と関連する要因_オッズ比"]
    for suffix in (".png", ".svg")
} | {"figures/2-08_政策マトリクス.html"}
# the committee paper: 報告書.html and 報告書.pptx, and 報告書.pdf where a browser prints it;
PAPER = {"figures/報告書.html", "figures/報告書.pptx"} | ({"figures/報告書.pdf"} if find_browser() else set())
# internal (公開禁止): the rejected rows, their manifest and the folder's .gitignore
INTERNAL = {
    "内部用_公開禁止/.gitignore",
    "内部用_公開禁止/manifest_内部用_公開禁止.json",
    "内部用_公開禁止/validation_rejected_rows_内部用_公開禁止.csv",
}


def output_files(folder):
    """Every file a run leaves in its output folder but the internal publication record (its salt is
    random: two records of the same publication differ by design)."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and p.name != LEDGER_NAME)


def run_report(tmp_path, *extra):
    return main(["--data", str(BASELINE), "--frame", str(FRAME), "--out", str(tmp_path), *extra])


@contextlib.contextmanager
def one_process():
    """This test's own runs draw their charts and make the paper in the calling process
    (``PPP_SURVEY_JOBS=1``): the same files as forked workers write (the reproducibility tests below
    compare such a run with the session's shared run, made with the default workers), for less CPU
    than forking on the test machine's two cores, which pytest-xdist's workers already fill."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PPP_SURVEY_JOBS", "1")
        yield


@pytest.fixture(scope="module")
def two_runs(shared_report, tmp_path_factory):
    """The report run twice on the same inputs into two folders: the session's shared run of the
    default R7 report (conftest.shared_report, read only here) and a run of its own, with exactly
    the same command line (in one process: :func:`one_process`); and what the first printed."""
    first = shared_report("r7")
    assert first.status == 0, first.stderr
    second = tmp_path_factory.mktemp("run2")
    with one_process():
        assert main(shared_argv("r7", second)) == 0
    return first.out, second, first.stderr


def test_report_is_byte_for_byte_reproducible(two_runs):
    first, second, _ = two_runs
    files = output_files(first)
    assert (first / LEDGER_NAME).is_file() and (second / LEDGER_NAME).is_file()
    assert {p.as_posix() for p in files} == TABLES | CHARTS | PAPER | INTERNAL
    assert output_files(second) == files
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_readme_gallery_is_the_reports_charts(two_runs):
    """docs/gallery holds the bundled data's charts for the README; it must match what the report draws."""
    first = two_runs[0]
    gallery = sorted((REPO / "docs" / "gallery").glob("*.png"))
    assert len(gallery) == 15
    for png in gallery:
        assert png.read_bytes() == (first / "figures" / png.name).read_bytes(), (
            f"{png.name}: the report draws it differently now; run `make baseline` to refresh docs/gallery"
        )
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in re.findall(r"\]\(docs/gallery/([^)]+)\)", readme):
        assert (REPO / "docs" / "gallery" / name).is_file(), name


def test_report_writes_tables_chart_and_manifest(two_runs, tmp_path, capsys):
    tmp_path = two_runs[0]
    rates = pd.read_csv(tmp_path / "data" / "processed" / "response_rates.csv", encoding="utf-8-sig")
    assert rates.iloc[-1].tolist() == ["全体", 3138, 1340, 42.7]
    summary = pd.read_csv(tmp_path / "data" / "processed" / "validation_summary.csv", encoding="utf-8-sig")
    assert summary["件数"].iloc[:3].tolist() == [1340, 1340, 0]
    from PIL import Image

    with Image.open(tmp_path / "figures" / "2-00_職域別回答率.png") as png:  # an A4-width chart at print resolution
        assert png.width >= 1500 and png.info.get("dpi", (0,))[0] >= 199
        assert len(png.convert("RGB").getcolors(1 << 20) or []) > 20  # drawn: bars, text, not a blank page
    manifest = json.loads((tmp_path / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True
    assert len(manifest["inputs"]["frame"]["sha256"]) == 64 and len(manifest["inputs"]["codebook"]["sha256"]) == 64
    assert "data" not in manifest["inputs"] and "data" not in manifest["options"]  # the export: internal only
    assert any(o["path"].endswith("2-00_職域別回答率.png") for o in manifest["outputs"])
    assert {o["path"] for o in manifest["outputs"]} == (TABLES | CHARTS | PAPER) - {"data/processed/manifest.json"}
    assert manifest["disclosure_audit"]["passed"] is True
    for out in manifest["outputs"]:
        assert sha256_file(tmp_path / out["path"]) == out["sha256"]
    assert (tmp_path / "data" / "processed" / "集計表_架空データ.xlsx").is_file()
    # the published folders hold exactly what the manifest lists, and nothing internal
    published = {p.relative_to(tmp_path).as_posix() for d in ("figures", "data") for p in (tmp_path / d).rglob("*")}
    listed = {o["path"] for o in manifest["outputs"]} | {"data/processed/manifest.json"}
    assert {p for p in published if (tmp_path / p).is_file()} == listed
    assert not any("公開禁止" in p or "rejected" in p for p in listed)
    internal = json.loads((tmp_path / "内部用_公開禁止" / "manifest_内部用_公開禁止.json").read_text(encoding="utf-8"))
    assert [o["path"] for o in internal["outputs"]] == ["内部用_公開禁止/validation_rejected_rows_内部用_公開禁止.csv"]
    assert internal["published_manifest"] == "data/processed/manifest.json"
    for out in internal["outputs"]:
        assert sha256_file(tmp_path / out["path"]) == out["sha256"]


def test_progress_is_shown(two_runs):
    err = two_runs[2]
    assert "[1/6]" in err and "採用1,340行" in err and "[6/6]" in err and "指標25件" in err


def test_user_error_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("ID,何か\n1,2\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "ppp_survey.report", "--data", str(bad), "--frame", str(FRAME), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == proc.stderr.strip().count("\n") + 1  # ends with the one message line
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("エラー: ") and "列がありません" in last
    assert "Traceback" not in proc.stderr


def test_missing_frame_is_one_line(tmp_path, capsys):
    assert main(["--data", str(BASELINE), "--frame", str(tmp_path / "none.csv"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("エラー: 職員数フレーム none.csv") and "ファイルが見つからない" in err[-1]


R8_DATA = REPO / "data" / "raw" / "synthetic_r8_responses.xlsx"
R8_FRAME = REPO / "data" / "raw" / "staff_frame_r8.csv"
BASELINE_R7 = REPO / "data" / "processed" / "baseline_r7"


def run_compare(out, *extra):
    return main(
        [
            "--data",
            str(R8_DATA),
            "--frame",
            str(R8_FRAME),
            "--codebook",
            "codebook_r8.yaml",
            "--compare",
            str(BASELINE_R7),
            "--out",
            str(out),
            *extra,
        ]
    )


@pytest.fixture(scope="module")
def compared(shared_report, tmp_path_factory):
    """The synthetic R8 wave compared against the frozen R7 baseline, twice: the session's shared
    run (conftest.shared_report, read only here) and a run of its own with the same command line
    (in one process: :func:`one_process`); and what both printed."""
    first = shared_report("r8_compared")
    assert first.status == 0, first.stderr
    second = tmp_path_factory.mktemp("cmp2")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), one_process():
        assert main(shared_argv("r8_compared", second)) == 0
    return first.out, second, first.stderr + err.getvalue()


def test_compare_report_outputs(compared):
    """--compare writes the change tables, a dumbbell and a heatmap per question, the change sheets,
    and fills the KPI table's next-year column from the new wave; byte for byte reproducible."""
    first, second, err = compared
    files = output_files(first)
    assert output_files(second) == files
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    names = {p.name for p in files}
    assert {"changes_overall.csv", "changes_by_group.csv", "2-08_政策マトリクス.html"} <= names
    charts = [n for n in names if n.startswith("変化_")]
    assert len(charts) == 2 * (1 + 2 * 7)  # response rates + (dumbbell + heatmap) per question, PNG and SVG
    tables = first / "data" / "processed"
    overall = pd.read_csv(tables / "changes_overall.csv", encoding="utf-8-sig").set_index("指標")
    assert overall.loc["q6:top2", "判定"] == "改善" and overall.loc["rate", "R8(%)"] == 47.3
    kpi = pd.read_csv(tables / "policy_matrix_kpi.csv", encoding="utf-8-sig", keep_default_na=False)
    keyed = kpi[kpi["比較キー"] != ""]
    assert len(keyed) and (keyed["R8（今回）"] != "").all()
    # the next-year value is the change table's estimate for the same key
    row = keyed[keyed["比較キー"] == "q6:top2"].iloc[0]
    assert float(row["R8（今回）"]) == overall.loc["q6:top2", "R8(%)"] and row["単位"] == "%"
    assert (kpi.loc[kpi["比較キー"] == "", "判定"] == "比較対象外").all()
    manifest = json.loads((tables / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["baseline"]["manifest_sha256"] == sha256_file(BASELINE_R7 / "manifest.json")
    assert manifest["baseline"]["fpc"] is False  # the default: no FPC on a change (issue 16)
    from openpyxl import load_workbook

    book = load_workbook(tables / "集計表_架空データ.xlsx", read_only=True)
    assert {"変化（全体）", "変化（職域別）", "比較対象外", "政策マトリクス", "KPI"} <= set(book.sheetnames)
    book.close()
    assert "[4/7] 経年比較" in err and "基準値: R7" in err


def test_compare_without_mapping_is_refused_naming_the_item(tmp_path, capsys):
    """R8 changed questions (a choice added, a 職域 renamed): without the mapping the run stops
    with one line that names what changed."""
    assert run_compare(tmp_path) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("エラー: ") and "企業（上下水道）" in last and "Traceback" not in last


def test_freeze_baseline_from_the_report(tmp_path, capsys):
    """--freeze-baseline writes the same frozen baseline as the committed one (same inputs)."""
    folder = tmp_path / "baseline"
    # --tables-only: only the frozen baseline is read here. It is written from the run's analysis,
    # which the charts and the paper only read (on Linux in forked processes). The same R7 report
    # with its charts and paper is conftest.shared_report("r7").
    with one_process():
        assert run_report(tmp_path, "--freeze-baseline", str(folder), "--tables-only") == 0
    assert (folder / "codebook.yaml").read_bytes() == (BASELINE_R7 / "codebook.yaml").read_bytes()
    # Numbers compared as numbers: another numpy/BLAS build may move the 12th digit (issue 13); text exactly.
    for name in ("indicators.csv", "response_rates.csv"):
        fresh, committed = (
            pd.read_csv(f / name, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
            for f in (folder, BASELINE_R7)
        )
        assert list(fresh.columns) == list(committed.columns) and len(fresh) == len(committed), name
        numeric = fresh.select_dtypes("number").columns
        pd.testing.assert_frame_equal(fresh.drop(columns=numeric), committed.drop(columns=numeric), obj=name)
        pd.testing.assert_frame_equal(fresh[numeric], committed[numeric], rtol=1e-9, atol=1e-12, obj=name)


def test_tables_only_writes_the_full_runs_tables_and_nothing_else(shared_report, tmp_path, capsys):
    """--tables-only: every table of the default run (the CSVs and the workbook) byte for byte, and no
    chart, matrix page or paper: run over a full set, it leaves none of that set's figures; the
    manifest lists the tables alone and records the option."""
    full = shared_report("r7")
    assert full.status == 0
    out = tmp_path / "out"
    shutil.copytree(full.out, out)
    capsys.readouterr()
    with one_process():
        assert run_report(out, "--tables-only") == 0
    assert "[5/6] 図: 作らない（--tables-only）" in capsys.readouterr().err

    def tables(root):
        folder = root / "data" / "processed"
        return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "manifest.json"}

    made = tables(out)
    assert made == tables(full.out) and any(name.endswith(".xlsx") for name in made)
    assert any((full.out / "figures").glob("*.png")) and not any(p.is_file() for p in (out / "figures").rglob("*"))
    manifest = json.loads((out / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["options"]["tables_only"] == "True" and manifest["options"]["paper"] == "False"
    assert sorted(o["path"] for o in manifest["outputs"]) == sorted(f"data/processed/{name}" for name in made)


@pytest.mark.parametrize("entry", [["-m", "ppp_survey"], ["-m", "ppp_survey.report"]])
def test_help_is_shown(entry):
    """--help prints the Japanese help and exits 0 (a '%' in a help text once made it a traceback)."""
    done = subprocess.run([sys.executable, *entry, "--help"], capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 0, done.stderr[-400:]
    assert "Traceback" not in done.stderr
    for option in ("--data", "--frame", "--marks", "--fpc-change", "--min-group"):
        assert option in done.stdout
    assert "5%水準" in done.stdout


def _published_text(out) -> dict[str, str]:
    """Every published file's text: CSV, HTML, JSON as text, workbooks' XML parts, PNG chunks as bytes."""
    import zipfile

    texts = {}
    for path in sorted(p for d in ("figures", "data/processed") for p in (out / d).rglob("*") if p.is_file()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                texts[path.name] = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
        elif path.suffix in (".csv", ".html", ".json", ".yaml"):
            texts[path.name] = path.read_text(encoding="utf-8-sig")
        elif path.suffix == ".png":
            texts[path.name] = _png_text(path.read_bytes())
        else:  # SVG and anything else: the bytes as text
            texts[path.name] = path.read_bytes().decode("latin-1")
    return texts


def _png_text(data: bytes) -> str:
    """The text a PNG carries: its tEXt/iTXt/zTXt chunks (Latin-1/UTF-8), not the compressed image,
    whose bytes may spell anything (a chart once contained the bytes of "C:\\")."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"tEXt":
            out.append(body.decode("latin-1"))
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            out.append(key.decode("latin-1") + zlib.decompress(rest[1:]).decode("latin-1"))
        elif kind == b"iTXt":
            out.append(body.decode("utf-8", errors="replace"))
        at += 12 + length
    return "\n".join(out)


def test_manifest_carries_no_folder_of_this_machine(tmp_path):
    """Published files name inputs and outputs without the writer's folders (issue 15, item 4):
    every published CSV, HTML, JSON, workbook and chart, on a run with every option that names a
    file (a rejected row, the free-text export, --compare with --mapping and --matrix, a frozen baseline)."""
    import shutil

    inputs = tmp_path / "入力_秘密のフォルダ"
    inputs.mkdir()
    data = inputs / "回答_r8_synthetic.csv"
    table = pd.read_excel(R8_DATA, dtype=object, engine="calamine")
    table.iloc[0, 8] = '=HYPERLINK("http://x","y")'  # not a choice of 2-(1): a rejected cell, its raw value internal
    for col in ("開始時刻", "完了時刻"):
        table[col] = pd.to_datetime(table[col]).dt.strftime("%Y/%m/%d %H:%M:%S")
    table.to_csv(data, index=False, encoding="utf-8")
    frame = shutil.copy(R8_FRAME, inputs / "frame.csv")
    out = tmp_path / "公開用"
    with one_process():
        code = main(
            [
                "--data", str(data), "--frame", str(frame), "--codebook", "codebook_r8.yaml",
                "--compare", str(BASELINE_R7), "--mapping", "mapping_r7_r8.yaml", "--on-invalid", "reject",
                "--export-free-text", "--freeze-baseline", str(out / "data" / "processed" / "baseline_r8"),
                "--out", str(out),
            ]
        )  # fmt: skip
    assert code == 0
    texts = _published_text(out)
    assert {"manifest.json", "集計表_架空データ.xlsx", "2-08_政策マトリクス.html", "changes_overall.csv"} <= set(texts)
    assert any(name.startswith("変化_") for name in texts)
    for name, text in texts.items():
        for folder in (str(tmp_path), str(REPO), str(inputs.name), "/tmp/", "/work/", "C:\\", "\\Users\\"):
            assert folder not in text, (name, folder)
    manifest = json.loads(texts["manifest.json"])
    assert "data" not in manifest["inputs"] and data.name not in texts["manifest.json"]  # named internally only
    assert manifest["options"]["compare"] == BASELINE_R7.name
    # the internal files exist, in their own folder, and are not published
    internal = out / "内部用_公開禁止"
    rejected = pd.read_csv(internal / "validation_rejected_rows_内部用_公開禁止.csv", encoding="utf-8-sig")
    assert len(rejected) >= 1
    assert (internal / "自由記述_内部用_公開禁止.csv").is_file()
    assert not any("HYPERLINK" in text for text in texts.values())
    assert not [o for o in manifest["outputs"] if "公開禁止" in o["path"] or "rejected" in o["path"]]


def test_the_matrix_file_names_the_association_model(tmp_path):
    """Issue 19: the policy matrix file's ``associations`` (response and terms) is the model the report
    fits and tabulates; here without 職位 and 年代 (the table only: --tables-only)."""
    source = (REPO / "src" / "ppp_survey" / "data" / "policy_matrix_r7.yaml").read_text(encoding="utf-8")
    old = 'terms: [domain, position, age, "q3:choice:ある", "q6:top2"]'
    assert source.count(old) == 2  # the comment's example and the entry
    head, entry = source.rsplit(old, 1)
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(head + 'terms: [domain, "q3:choice:ある", "q6:top2"]' + entry, encoding="utf-8")
    out = tmp_path / "out"
    with one_process():
        assert main(["--matrix", str(matrix), "--out", str(out), "--tables-only"]) == 0
    table = pd.read_csv(out / "data" / "processed" / "association_coefficients.csv")
    terms = " ".join(table.iloc[:, 0])
    assert "職域" in terms and "2-(6) 肯定的回答" in terms and "2-(3) ある" in terms
    assert "職位" not in terms and "年代" not in terms
