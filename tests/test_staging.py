"""The output folder is one unit (issue 15, item 5).

A run writes into a staging folder and swaps the new set in only when every step succeeded: a
failed, interrupted or killed run leaves the previous complete set; files of an earlier run that
this one does not write disappear; files the report does not own (``.gitkeep``, a frozen baseline,
a user's own files) are never touched; a second run on the same folder is refused; output places
that cannot be used are refused in one line, exit 2.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BASELINE, FRAME, REPO
from ppp_survey.files import LOCK_NAME, STAGING_NAME, OutputError, Staging, output_lock, pid_alive
from ppp_survey.report.cli import INTERRUPTED, main
from ppp_survey.report.options import ReportOptions, owned_outputs

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)

R8_DATA = REPO / "data" / "raw" / "synthetic_r8_responses.xlsx"
R8_FRAME = REPO / "data" / "raw" / "staff_frame_r8.csv"
BASELINE_R7 = REPO / "data" / "processed" / "baseline_r7"
INTERNAL = "内部用_公開禁止"


def r7(out, *extra) -> list[str]:
    return ["--data", str(BASELINE), "--frame", str(FRAME), "--out", str(out), *extra]


def r8_compare(out, *extra) -> list[str]:
    return [
        "--data", str(R8_DATA), "--frame", str(R8_FRAME), "--codebook", "codebook_r8.yaml",
        "--compare", str(BASELINE_R7), "--mapping", "mapping_r7_r8.yaml", "--out", str(out), *extra,
    ]  # fmt: skip


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) by relative path → SHA-256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def quiet(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def add_files_not_the_reports(folder: Path) -> None:
    """Files a repository's output folders hold that the report does not own."""
    (folder / "data" / "processed").mkdir(parents=True, exist_ok=True)
    (folder / "figures").mkdir(exist_ok=True)
    (folder / "data" / "processed" / ".gitkeep").write_bytes(b"")
    (folder / "figures" / ".gitkeep").write_bytes(b"")
    shutil.copytree(BASELINE_R7, folder / "data" / "processed" / "baseline_r7")
    (folder / "data" / "processed" / "メモ.txt").write_text("担当者のメモ", encoding="utf-8")
    (folder / "figures" / "自作の図.png").write_bytes(b"not the report's")


@pytest.fixture(scope="module")
def previous(shared_report, tmp_path_factory):
    """An output folder after one complete run of the bundled R7 data, beside files the report does
    not own; tests copy it before running into it. The run is the session's shared default R7 run
    (conftest.shared_report: the same command line as r7()), copied, with the files that are not the
    report's added beside it (a run leaves them as they are:
    test_a_rerun_replaces_only_what_the_report_owns)."""
    folder = tmp_path_factory.mktemp("previous")
    run = shared_report("r7")
    assert run.status == 0, run.stderr
    shutil.copytree(run.out, folder, dirs_exist_ok=True)
    add_files_not_the_reports(folder)
    return folder


@pytest.fixture
def out(previous, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(previous, copy)
    return copy


def no_leftovers(folder: Path) -> None:
    assert not (folder / STAGING_NAME).exists()
    assert not (folder / LOCK_NAME).exists()


# ------------------------------------------------------------------ replacing the previous set


def test_a_rerun_replaces_only_what_the_report_owns(tmp_path):
    """--compare with --export-free-text, then a plain run: the change tables and charts and the free
    text disappear; .gitkeep, the frozen baseline and the user's files stay, byte for byte."""
    out = tmp_path / "out"
    add_files_not_the_reports(out)
    theirs = snapshot(out)
    # --no-paper in both runs: what is checked is which files of the first set the rerun removes (the
    # change tables and charts, the free text) and which it leaves (those not the report's); the paper
    # (figures/報告書.*) is neither. A switch with the paper in it: test_switch.py, every move.
    assert quiet(r8_compare(out, "--export-free-text", "--no-paper"))[0] == 0
    assert list((out / "figures").glob("変化_*.png")) and (out / "data" / "processed" / "changes_overall.csv").is_file()
    assert (out / INTERNAL / "自由記述_内部用_公開禁止.csv").is_file()
    code, err = quiet(r7(out, "--no-paper"))
    assert code == 0
    assert "今回は作らないファイル" in err
    after = snapshot(out)
    assert {k: after.get(k) for k in theirs} == theirs  # not the report's: untouched
    assert not list((out / "figures").glob("変化_*.png"))
    assert not list((out / "data" / "processed").glob("changes_*.csv"))
    assert not (out / INTERNAL / "自由記述_内部用_公開禁止.csv").exists()
    # what is left is exactly: the files not the report's, the manifest's list, the internal files
    manifest = json.loads((out / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))
    internal = json.loads((out / INTERNAL / "manifest_内部用_公開禁止.json").read_text(encoding="utf-8"))
    listed = {o["path"] for o in manifest["outputs"] + internal["outputs"]}
    listed |= {"data/processed/manifest.json", f"{INTERNAL}/manifest_内部用_公開禁止.json", f"{INTERNAL}/.gitignore"}
    listed |= {"公表記録_内部用.json"}  # the internal publication record (report/ledger.py), beside the internal folder
    assert set(after) == set(theirs) | listed
    no_leftovers(out)


def add_an_earlier_versions_outputs(out: Path) -> None:
    """What a version before the internal folder left: the rejected rows and the free text in
    data/processed/, the rejected rows listed in its manifest."""
    tables = out / "data" / "processed"
    (tables / "internal").mkdir(parents=True)
    (tables / "internal" / "自由記述_内部用_公開禁止.csv").write_text("text,自由記述\n", encoding="utf-8")
    (tables / "validation_rejected_rows.csv").write_text("行,値\n3,生の値\n", encoding="utf-8")
    (tables / ".gitkeep").write_bytes(b"")
    old = {"outputs": [{"path": "data/processed/validation_rejected_rows.csv", "sha256": "0"}]}
    (tables / "manifest.json").write_text(json.dumps(old), encoding="utf-8")


@pytest.fixture(scope="module")
def held_run(tmp_path_factory):
    """One whole run of the bundled R7 data (its own process, --export-free-text) into a folder an
    earlier version wrote; while it holds the folder (it has printed [1/6]) a second run on the same
    folder is tried. Shared by test_a_second_run_on_the_same_folder_is_refused (the refusal, the
    first run's set whole) and test_earlier_versions_outputs_inside_the_published_folder_are_removed
    (what that run left of the earlier version's files); neither test writes to the folder.
    --no-paper: neither test reads the paper (figures/報告書.*) or claims anything of it; a switch
    with the paper in it is checked by test_switch.py, every move."""
    out = tmp_path_factory.mktemp("held") / "out"
    add_an_earlier_versions_outputs(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ppp_survey.report", *r7(out, "--export-free-text", "--no-paper")],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        cwd=REPO,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("[1/6]"):
            break
    second = quiet(r7(out))
    proc.stderr.read()
    return {"out": out, "pid": proc.pid, "second": second, "status": proc.wait(timeout=120)}


def test_earlier_versions_outputs_inside_the_published_folder_are_removed(held_run):
    """Before the internal folder, the rejected rows and the free text lay in data/processed/: the
    first run of this version takes them out of the published folder (the run of :func:`held_run`,
    into the files of :func:`add_an_earlier_versions_outputs`)."""
    out = held_run["out"]
    tables = out / "data" / "processed"
    assert held_run["status"] == 0
    assert not (tables / "validation_rejected_rows.csv").exists()
    assert not (tables / "internal").exists()
    assert (tables / ".gitkeep").is_file()
    assert (out / INTERNAL / "validation_rejected_rows_内部用_公開禁止.csv").is_file()


def test_a_manifest_owns_only_files_directly_in_the_published_folders(tmp_path):
    """A previous manifest (a published file anyone could edit) never makes the report delete a file
    outside figures/ and data/processed/, in a subfolder, or a hidden one."""
    opts = ReportOptions(data=BASELINE, frame=FRAME, codebook=None, out=tmp_path)
    tables = tmp_path / "data" / "processed"
    tables.mkdir(parents=True)
    (tmp_path / INTERNAL / "sub").mkdir(parents=True)
    (tmp_path / INTERNAL / "sub" / "old.csv").write_text("x", encoding="utf-8")
    paths = [
        "figures/2-00_職域別回答率.png",
        "data/processed/gt.csv",
        "data/processed/baseline_r7/manifest.json",
        "data/processed/.gitkeep",
        "figures/.gitkeep",
        "../outside.txt",
        "/etc/passwd",
        "C:/Windows/win.ini",
        "data\\processed\\..\\..\\x",
        "data/processed/../../x.csv",
        "figures/../README.md",
        "README.md",
        f"{STAGING_NAME}/new/x",
        "",
        None,
        42,
    ]
    (tables / "manifest.json").write_text(json.dumps({"outputs": [{"path": p} for p in paths]}), encoding="utf-8")
    assert owned_outputs(opts) == sorted(
        [
            "data/processed/gt.csv",
            "data/processed/internal/自由記述_内部用_公開禁止.csv",
            "figures/2-00_職域別回答率.png",
            f"{INTERNAL}/sub/old.csv",
        ]
    )
    (tables / "manifest.json").write_text("{not json", encoding="utf-8")
    assert owned_outputs(opts) == ["data/processed/internal/自由記述_内部用_公開禁止.csv", f"{INTERNAL}/sub/old.csv"]


# ------------------------------------------------------------------ failures keep the previous set


def test_a_user_error_late_in_the_run_keeps_the_previous_set(out, tmp_path):
    """--freeze-baseline onto a folder that holds another baseline fails after every table and chart
    is written (in staging): one line, exit 2, the folder as it was."""
    before = snapshot(out)
    other = tmp_path / "baseline"
    shutil.copytree(BASELINE_R7, other)
    # --no-paper: the error is raised after the paper would be finished (the baseline is frozen last),
    # so the paper changes only how many staged files are thrown away; a failure after a staged
    # paper is test_a_bug_late_in_the_run_keeps_the_previous_set.
    code, err = quiet(r7(out, "--min-group", "12", "--freeze-baseline", str(other), "--no-paper"))
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("エラー: ") and "Traceback" not in err
    assert snapshot(out) == before
    no_leftovers(out)


def test_a_bug_late_in_the_run_keeps_the_previous_set(out, monkeypatch):
    before = snapshot(out)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the manifest")

    monkeypatch.setattr("ppp_survey.report.cli.write_manifest", broken)
    with pytest.raises(RuntimeError, match="a bug"):  # a bug keeps its traceback
        quiet(r7(out, "--export-free-text"))
    assert snapshot(out) == before
    no_leftovers(out)


def test_keyboard_interrupt_is_one_line_exit_130(out, monkeypatch):
    before = snapshot(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("ppp_survey.outputs.xlsx.write_workbook", interrupted)
    code, err = quiet(r7(out))
    assert code == 130
    assert err.strip().splitlines()[-1] == INTERRUPTED and "Traceback" not in err
    assert snapshot(out) == before
    no_leftovers(out)


@pytest.mark.parametrize("entry", ["ppp_survey", "ppp_survey.report"])
def test_ctrl_c_while_the_libraries_load(tmp_path, entry):
    """Ctrl-C in the first second, while pandas and matplotlib load (longer on a PC whose virus scanner
    reads every file): one line, exit 130, no traceback. The packages ``python -m`` imports before
    their ``__main__`` load nothing, so the keypress lands where the command line catches it; here a
    pandas that raises KeyboardInterrupt on import stands for it."""
    fake = tmp_path / "libs" / "pandas"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise KeyboardInterrupt\n", encoding="utf-8")
    paths = [str(tmp_path / "libs"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(
        [sys.executable, "-m", entry, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=REPO,
    )
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr[-600:]
    assert done.stderr.strip().splitlines() == [INTERRUPTED]
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT as a console sends them: POSIX")
@pytest.mark.parametrize("during", ["[2/6]", "2-00_"], ids=["estimating", "drawing charts in forked workers"])
def test_ctrl_c_on_the_console(out, during):
    """SIGINT to the whole process group (what Ctrl-C does, forked chart workers included): exit 130,
    one line, no traceback from any process, the previous set intact."""
    before = snapshot(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ppp_survey.report", *r7(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        start_new_session=True,  # its own process group, as a console's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # whatever the test runner ignores
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.lstrip().startswith(during):  # "2-00_…png": the first chart is saved, the workers draw
            os.killpg(proc.pid, signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, "".join(seen) + rest
    assert "Traceback" not in rest
    assert rest.strip().splitlines()[-1] == INTERRUPTED
    assert snapshot(out) == before
    no_leftovers(out)


def test_a_file_that_cannot_be_replaced_keeps_the_previous_set(out, monkeypatch):
    """On Windows a workbook open in Excel cannot be moved: the swap is undone, one line, exit 2."""
    before = snapshot(out)
    real = os.replace

    def excel_has_it_open(src, dst):
        if Path(src).name.endswith(".xlsx") and STAGING_NAME not in Path(src).parts:
            raise PermissionError(13, "Permission denied", str(src))
        return real(src, dst)

    monkeypatch.setattr("ppp_survey.files.os.replace", excel_has_it_open)
    # --no-paper: the failing move is the workbook's (data/processed/, moved before any file of
    # figures/); the previous set's paper (figures/報告書.*, from the shared run) is compared byte for
    # byte with the rest of it. A staged paper thrown away: test_a_bug_late_in_the_run_keeps_the_previous_set.
    code, err = quiet(r7(out, "--no-paper"))
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("エラー: 出力を置き換えられません") and "集計表_架空データ.xlsx" in last and "閉じて" in last
    assert snapshot(out) == before
    no_leftovers(out)


def _old_and_new(out: Path) -> tuple[dict[str, str], list[str]]:
    """An output folder with a previous set, a file not the report's, and a staged new set."""
    files = {
        "figures/a.png": "old a",
        "figures/stale.png": "old stale",
        "data/processed/t.csv": "old t",
        "data/processed/.gitkeep": "",
        "data/processed/baseline_r7/manifest.json": "frozen",
        f"{INTERNAL}/free.csv": "old free text",
    }
    for rel, text in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")
    owned = ["figures/a.png", "figures/stale.png", "data/processed/t.csv", f"{INTERNAL}/free.csv"]
    return snapshot(out), owned


def _stage_new(stage: Staging) -> None:
    for rel in ("figures/a.png", "figures/b.png", "data/processed/t.csv", "data/processed/u.csv", f"{INTERNAL}/r.csv"):
        (stage.new / rel).parent.mkdir(parents=True, exist_ok=True)
        (stage.new / rel).write_text("new " + rel, encoding="utf-8")


EXPECTED_NEW = {
    "figures/a.png": "new figures/a.png",
    "figures/b.png": "new figures/b.png",
    "data/processed/t.csv": "new data/processed/t.csv",
    "data/processed/u.csv": "new data/processed/u.csv",
    f"{INTERNAL}/r.csv": f"new {INTERNAL}/r.csv",
    "data/processed/.gitkeep": "",
    "data/processed/baseline_r7/manifest.json": "frozen",
}


def _texts(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in folder.rglob("*")
        if p.is_file() and STAGING_NAME not in p.relative_to(folder).parts
    }


def test_the_swap(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    _, owned = _old_and_new(out)
    with Staging(out) as stage:
        _stage_new(stage)
        gone = stage.commit(owned)
    assert gone == ["figures/stale.png", f"{INTERNAL}/free.csv"]
    assert _texts(out) == EXPECTED_NEW
    assert not (out / STAGING_NAME).exists()


class Killed(BaseException):
    """The process dies here: nothing after this line of the swap runs, not even its clean-up."""


@pytest.mark.parametrize("fail_at", range(1, 11))
@pytest.mark.parametrize("how", ["error", "killed"])
def test_every_point_of_failure_in_the_swap_gives_back_the_previous_set(tmp_path, monkeypatch, fail_at, how):
    """The swap is 9 moves (4 files aside, 5 in); failing at any of them (a locked file: undone at
    once) leaves the previous set, byte for byte; the process dying there leaves a switch the next
    run completes from the journal (issue 28: the new set was whole), as does dying after the last move."""
    out = tmp_path / "out"
    out.mkdir()
    before, owned = _old_and_new(out)
    old_texts = _texts(out)
    real = os.replace
    calls = []

    def failing(src, dst):
        if Path(src).name != "journal.json" and ".partial" not in Path(src).name:
            calls.append(src)
            if len(calls) == fail_at:
                if how == "killed":
                    raise Killed
                raise PermissionError(13, "Permission denied", str(src))
        return real(src, dst)

    stage = Staging(out).__enter__()
    _stage_new(stage)
    monkeypatch.setattr("ppp_survey.files.os.replace", failing)
    if how == "error":
        if fail_at <= 9:
            with pytest.raises(OutputError, match="置き換えられません"):
                stage.commit(owned)
        else:
            stage.commit(owned)
        stage.__exit__(None, None, None)
    else:
        if fail_at <= 9:
            with pytest.raises(Killed):
                stage.commit(owned)
        else:
            stage.commit(owned)
        # no __exit__: the process is gone. The next run (under the lock) rolls back what was begun.
        monkeypatch.setattr("ppp_survey.files.os.replace", real)
        with Staging(out) as next_run:
            assert next_run.recovered == (fail_at <= 9)
    if fail_at <= 9 and how == "error":
        assert snapshot(out) == before and _texts(out) == old_texts
    else:
        assert _texts(out) == EXPECTED_NEW
    assert not (out / STAGING_NAME).exists()


# ------------------------------------------------------------------ one run at a time


def test_a_second_run_on_the_same_folder_is_refused(held_run):
    """A run holds the folder (it has printed [1/6]); a second one on the same folder is refused in
    one line, exit 2, and the first completes a whole, valid set (the runs of :func:`held_run`)."""
    out = held_run["out"]
    code, err = held_run["second"]
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("エラー: ") and "書き込み中" in err and str(held_run["pid"]) in err
    assert held_run["status"] == 0
    manifest = json.loads((out / "data" / "processed" / "manifest.json").read_text(encoding="utf-8"))
    for o in manifest["outputs"]:
        assert hashlib.sha256((out / o["path"]).read_bytes()).hexdigest() == o["sha256"], o["path"]
    assert (out / INTERNAL / "自由記述_内部用_公開禁止.csv").is_file()  # the first run's set, whole
    no_leftovers(out)


def test_a_live_lock_is_respected_a_dead_ones_taken_over(tmp_path):
    lock = tmp_path / LOCK_NAME
    lock.write_text(f"{os.getpid()}\n{socket.gethostname()}\n", encoding="utf-8")
    with pytest.raises(OutputError, match=f"プロセス {os.getpid()}"):
        with output_lock(tmp_path):
            pass
    lock.write_text("4242\nanother-pc\n", encoding="utf-8")  # a shared folder: cannot check, respected
    with pytest.raises(OutputError, match="another-pc"):
        with output_lock(tmp_path):
            pass
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(done.stdout)
    assert not pid_alive(dead)
    lock.write_text(f"{dead}\n{socket.gethostname()}\n", encoding="utf-8")
    with output_lock(tmp_path) as held:  # the run that left it was killed: taken over
        assert held.read_text(encoding="utf-8").split()[0] == str(os.getpid())
    assert not lock.exists()
    lock.write_text("", encoding="utf-8")  # being written by its creator right now: respected
    with pytest.raises(OutputError):
        with output_lock(tmp_path):
            pass
    os.utime(lock, (0, 0))  # ... or its creator died before writing it, long ago: taken over
    with output_lock(tmp_path):
        pass
    assert not lock.exists()


def test_the_cli_refuses_a_held_folder_before_writing_anything(tmp_path):
    (tmp_path / LOCK_NAME).write_text(f"{os.getpid()}\n{socket.gethostname()}\n", encoding="utf-8")
    code, err = quiet(r7(tmp_path))
    assert code == 2 and err.count("\n") == 1 and LOCK_NAME in err and "削除" in err
    assert not (tmp_path / "data").exists()  # refused before anything was written


# ------------------------------------------------------------------ places that cannot be used


def test_out_that_is_a_file_or_unwritable(tmp_path):
    a_file = tmp_path / "集計.txt"
    a_file.write_text("x", encoding="utf-8")
    cases = [
        (r7(a_file), "--out"),
        (r7(a_file / "sub"), "作れません"),
        (r7(tmp_path, "--freeze-baseline", str(a_file)), "--freeze-baseline"),
        (r7(tmp_path, "--freeze-baseline", str(tmp_path / "data" / "processed")), "出力先のフォルダそのもの"),
        (r7(tmp_path, "--freeze-baseline", str(tmp_path / INTERNAL / "b")), "出力先のフォルダそのもの"),
    ]
    for argv, expected in cases:
        code, err = quiet(argv)
        assert code == 2, argv
        assert err.count("\n") == 1 and err.startswith("エラー: ") and expected in err, err
    (tmp_path / "figures").write_text("a file where the charts go", encoding="utf-8")
    code, err = quiet(r7(tmp_path))
    assert code == 2 and "figures" in err and "ファイルです" in err


@pytest.mark.parametrize("failure", [errno.EACCES, errno.EROFS])
@pytest.mark.parametrize("refused", ["files and folders", "folders"])
def test_out_without_write_permission(tmp_path, monkeypatch, failure, refused):
    """A folder the report cannot write in: a read-only folder (EACCES) or disk (EROFS). The failure
    is injected, so the test also runs as root (as CI does; chmod does not stop root): inside that
    folder, creating a file with os.open (the folder's lock, the run's first write) or a folder with
    os.mkdir fails as the operating system would fail it. With folders only refused, the lock is
    taken and the staging folder is refused (the same message; the lock is removed)."""
    locked = tmp_path / "読み取り専用"
    locked.mkdir()
    real_open, real_mkdir = os.open, os.mkdir

    def refuse(path):  # in the folder (a missing parent fails first, on ENOENT, as it would)
        path = Path(os.fsdecode(path))
        if locked in path.parents and path.parent.is_dir():
            raise OSError(failure, os.strerror(failure), str(path))

    def open_(path, flags, *args, **kwargs):
        if refused == "files and folders" and flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
            refuse(path)
        return real_open(path, flags, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        refuse(path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "mkdir", mkdir)
    code, err = quiet(r7(locked))
    monkeypatch.undo()
    assert code == 2 and err.count("\n") == 1 and "書き込めません" in err, err
    reason = {errno.EACCES: "アクセスが拒否された", errno.EROFS: "読み取り専用"}[failure]
    what = LOCK_NAME if refused == "files and folders" else STAGING_NAME
    assert f"出力先 {locked} に書き込めません（{what}: {reason}" in err, err
    assert list(locked.iterdir()) == []  # nothing was written, the lock removed
