"""All or nothing (issue 28, item 3): the published set, frozen baseline included, switches in one step.

A real previous set (the bundled R7 data) and a real new set (R8 compared with R7, a baseline frozen)
are switched again and again, failing at every move of the switch in turn:

* ``error``: the k-th move raises PermissionError (a file open in Excel): undone at once;
* ``killed``: the process dies at the k-th move (a BaseException that skips every clean-up, locks
  left behind as a dead process leaves them); the next reader (the next run, :func:`settle`,
  :func:`load_baseline`) completes the switch: the new set was whole;
* ``error_then_killed``: the k-th move fails and the process dies while undoing it: the next
  reader finishes the undo.

Each time the folders hold the complete previous set or the complete new set, every file's bytes
compared, with the baseline frozen inside the output folder and beside it (another folder). One
run is killed for real (SIGKILL in a child process) in the middle of its switch.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO
from ppp_survey.compare.baseline import BaselineError, load_baseline
from ppp_survey.files import LOCK_NAME, STAGING_NAME, OutputError, Staging, output_lock, settle
from ppp_survey.report.cli import main
from ppp_survey.report.ledger import LEDGER_NAME

pytestmark = pytest.mark.report  # runs whole reports: left out of make quick (conftest.py)

R8 = [
    "--data",
    str(REPO / "data/raw/synthetic_r8_responses.xlsx"),
    "--frame",
    str(REPO / "data/raw/staff_frame_r8.csv"),
]
R8 += ["--codebook", "codebook_r8.yaml", "--compare", str(REPO / "data/processed/baseline_r7")]
R8 += ["--mapping", "mapping_r7_r8.yaml"]
NEW_BASELINE = "data/processed/baseline_r8"
OUTSIDE = "elsewhere/baseline_r8"


class Killed(BaseException):
    """The process dies here: nothing after this line runs, not even a clean-up."""


def quiet(argv) -> int:
    with contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


_digests: dict[tuple, str] = {}


def digest(path: str | Path) -> str:
    """A file's SHA-256 (cached by inode: the cases are hard links, and no move rewrites a file)."""
    st = os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _digests:
        with open(path, "rb") as fh:
            _digests[key] = hashlib.sha256(fh.read()).hexdigest()
    return _digests[key]


def ours(rel: str) -> bool:
    """Files of the switch's machinery (staging folders, locks) and the publication record (written
    by the run itself, not switched) are not part of a set."""
    parts = rel.split("/")
    return not any(STAGING_NAME in p or LOCK_NAME in p for p in parts) and parts[-1] != LEDGER_NAME


def _walk(folder: Path) -> Iterator[tuple[str, str, bool]]:
    """Every entry under ``folder`` (hidden ones too, symbolic links not followed): its path, its
    path relative to ``folder`` (``/``-separated) and whether it is a folder. Plain strings, no
    pathlib: the loop of test_failing_at_every_move_leaves_the_old_or_the_new_set reads every case."""
    top = os.fspath(folder)
    for root, dirs, files in os.walk(top):
        rel_root = os.path.relpath(root, top).replace(os.sep, "/")
        prefix = "" if rel_root == "." else rel_root + "/"
        for name in dirs:
            yield os.path.join(root, name), prefix + name, True
        for name in files:
            yield os.path.join(root, name), prefix + name, False


def snapshot(folder: Path) -> dict[str, str]:
    return {rel: digest(path) for path, rel, is_dir in _walk(folder) if not is_dir and ours(rel)}


def machinery(folder: Path) -> list[str]:
    """Staging folders and lock files left behind."""
    return sorted(
        rel for _, rel, _ in _walk(folder) if STAGING_NAME in rel.split("/")[-1] or LOCK_NAME in rel.split("/")[-1]
    )


def link_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, copy_function=os.link, dirs_exist_ok=True)


@dataclass(frozen=True)
class Tree:
    """The folders and files of a set that no longer changes (sets["old"], sets["staged"]), listed
    once: :meth:`link_into` gives a case the same tree as :func:`link_tree` (every folder, every file
    a hard link), without listing the set and copying folder times again for each of the loop's cases."""

    folders: tuple[str, ...]
    files: tuple[str, ...]

    @classmethod
    def of(cls, folder: Path) -> Tree:
        entries = list(_walk(folder))
        return cls(tuple(rel for _, rel, d in entries if d), tuple(rel for _, rel, d in entries if not d))

    def link_into(self, src: Path, dst: Path) -> None:
        src_s, dst_s = os.fspath(src), os.fspath(dst)
        os.makedirs(dst_s, exist_ok=True)
        for rel in self.folders:  # os.walk lists a folder before what is in it
            os.makedirs(os.path.join(dst_s, rel), exist_ok=True)
        for rel in self.files:
            os.link(os.path.join(src_s, rel), os.path.join(dst_s, rel))


@pytest.fixture(scope="module")
def sets(shared_report, tmp_path_factory):
    """The previous set (a run of R7, beside a file that is not the report's), the new set staged by
    a run of R8 that freezes its baseline (as its commit found it), what that commit was given, and
    the folder that run left (the complete new set). The R7 run is the session's shared default R7
    run (conftest.shared_report: --data BASELINE --frame FRAME), copied, the file added beside it."""
    base = tmp_path_factory.mktemp("sets")
    old = base / "old"
    run = shared_report("r7")
    assert run.status == 0, run.stderr
    shutil.copytree(run.out, old)
    (old / "data" / "processed" / "メモ.txt").write_text("担当者のメモ", encoding="utf-8")
    new = base / "new"
    link_tree(old, new)
    captured: dict = {}
    real = Staging.commit

    def capture(stage, owned):
        owned = list(owned)
        shutil.copytree(stage.new, base / "staged")
        captured["owned"] = owned
        return real(stage, owned)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Staging, "commit", capture)
        assert quiet([*R8, "--out", str(new), "--freeze-baseline", str(new / NEW_BASELINE)]) == 0
    assert (base / "staged" / NEW_BASELINE / "manifest.json").is_file()
    trees = {"old": Tree.of(old), "staged": Tree.of(base / "staged")}
    return {"old": old, "staged": base / "staged", "owned": captured["owned"], "new": new, "trees": trees}


def expected(sets, outside: bool) -> tuple[dict[str, str], dict[str, str]]:
    """The complete previous and new sets as a case folder holds them (``out/…``, ``elsewhere/…``)."""
    old = {f"out/{rel}": h for rel, h in snapshot(sets["old"]).items()}
    new = {}
    for rel, h in snapshot(sets["new"]).items():
        moved = outside and rel.startswith(NEW_BASELINE + "/")
        new[OUTSIDE + rel.removeprefix(NEW_BASELINE) if moved else f"out/{rel}"] = h
    assert old != new
    return old, new


def staged_case(sets, case: Path, outside: bool) -> Staging:
    """A copy of the previous set with the new set staged, as the run stages it before its commit."""
    sets["trees"]["old"].link_into(sets["old"], case / "out")
    stage = Staging(case / "out").__enter__()
    sets["trees"]["staged"].link_into(sets["staged"], stage.new)
    if outside:
        staged = stage.place(case / OUTSIDE)
        for f in sorted((stage.new / NEW_BASELINE).iterdir()):
            os.replace(f, staged / f.name)
        (stage.new / NEW_BASELINE).rmdir()
    return stage


def failing_moves(fail_at: int, kinds: list[type[BaseException] | None]):
    """os.replace failing at the ``fail_at``-th move of a file (journal writes are not moves), then
    with ``kinds[1]`` at the next one, and so on."""
    real = os.replace
    moves = []

    def replace(src, dst):
        if ".partial" not in Path(src).name:
            moves.append(src)
            i = len(moves) - fail_at
            if 0 <= i < len(kinds) and kinds[i] is not None:
                raise PermissionError(13, "Permission denied", str(src)) if kinds[i] is OSError else Killed()
        return real(src, dst)

    return replace, moves


def dies(case: Path) -> None:
    """What a killed process leaves: its lock files, naming a process that no longer exists."""
    for lock in case.rglob(f"*{LOCK_NAME}"):
        lock.write_text(f"999999999\n{socket.gethostname()}\n", encoding="utf-8")


def next_reader(case: Path, outside: bool, which: int) -> None:
    """Whoever touches the folders next: the next run, a reader calling settle, load_baseline."""
    out, baseline = case / "out", case / (OUTSIDE if outside else f"out/{NEW_BASELINE}")
    if which == 0:
        with output_lock(out), Staging(out) as run:
            assert run.recovered
    elif which == 1:
        assert settle(baseline if outside else out) in ("completed", "undone")
    else:
        with contextlib.suppress(BaselineError):  # undone: there is no new baseline to read
            load_baseline(baseline)


def switch(sets, case: Path, outside: bool, fail_at: int, kinds) -> str:
    """Stage the new set in ``case``, switch it failing at move ``fail_at``; the outcome's name."""
    stage = staged_case(sets, case, outside)
    replace, _ = failing_moves(fail_at, kinds)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", replace)
        try:
            stage.commit(sets["owned"])
        except Killed:
            dies(case)
            return "killed"
        except OutputError:
            stage.__exit__(None, None, None)
            return "error"
    stage.__exit__(None, None, None)
    return "done"


def count_moves(sets, tmp_path: Path, outside: bool) -> int:
    stage = staged_case(sets, tmp_path / "count", outside)
    replace, moves = failing_moves(0, [])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", replace)
        stage.commit(sets["owned"])
    stage.__exit__(None, None, None)
    return len(moves)


KINDS = {"error": [OSError], "killed": [Killed], "error_then_killed": [OSError, Killed]}


@pytest.mark.parametrize("outside", [False, True], ids=["baseline_inside", "baseline_beside"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_failing_at_every_move_leaves_the_old_or_the_new_set(sets, tmp_path, kind, outside):
    """Every move k = 1…n of the switch fails in turn (k = n+1: nothing fails). Afterwards, once the
    next reader has been, the folders hold exactly the previous set (an error; an error whose undo
    was killed) or exactly the new set (killed: the switch is completed), and no staging or lock."""
    old, new = expected(sets, outside)
    n = count_moves(sets, tmp_path, outside)
    assert n > len(new) - 5  # every new file moves in (the old ones aside): a real switch, not a toy
    outcomes = set()
    for k in range(1, n + 2):
        case = tmp_path / f"k{k}"
        result = contextvars.copy_context().run(switch, sets, case, outside, k, KINDS[kind])
        if result == "killed":
            contextvars.copy_context().run(next_reader, case, outside, k % 3)
        state = snapshot(case)
        want = new if k > n or kind == "killed" else old
        assert state == want, (kind, k, n, result, sorted(set(state.items()) ^ set(want.items()))[:6])
        assert not machinery(case), (kind, k, machinery(case))
        outcomes.add(result)
        shutil.rmtree(case)
    assert outcomes == {"killed" if kind != "error" else "error", "done"} | ({"error"} if kind != "killed" else set())


def test_a_new_set_not_whole_is_undone(sets, tmp_path):
    """Killed in the middle of the switch with a staged file gone meanwhile: the next reader cannot
    complete the switch, so it undoes it: the previous set, every byte."""
    case = tmp_path / "case"
    old, _ = expected(sets, outside=True)
    n = count_moves(sets, tmp_path, outside=True)
    assert contextvars.copy_context().run(switch, sets, case, True, n // 2, [Killed]) == "killed"
    staged = sorted(p for p in (case / "out" / STAGING_NAME / "new").rglob("*.png"))
    staged[0].unlink()
    assert settle(case / OUTSIDE) == "undone"
    assert snapshot(case) == old
    assert not machinery(case)


def test_a_run_killed_in_its_switch(sets, tmp_path):
    """A real run (its own process) killed with SIGKILL in the middle of its switch: a reader of
    the frozen baseline completes the switch; the folder then holds the same bytes as a run that
    was not killed."""
    out = tmp_path / "out"
    link_tree(sets["old"], out)
    moves = len(sets["owned"]) + 40
    hook = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "real, moves = os.replace, []\n"
        "def replace(src, dst):\n"
        "    if '.partial' not in Path(src).name:\n"
        "        moves.append(src)\n"
        f"        if len(moves) == {moves}:\n"
        "            os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(src, dst)\n"
        "os.replace = replace\n"
        "from ppp_survey.report.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = [*R8, "--out", str(out), "--freeze-baseline", str(out / NEW_BASELINE)]
    env = {**os.environ, "PPP_SURVEY_JOBS": "1"}
    done = subprocess.run([sys.executable, "-c", hook, *args], cwd=REPO, env=env, capture_output=True, timeout=900)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode("utf-8", "replace")[-600:]
    assert (out / STAGING_NAME / "journal.json").is_file()  # killed half-way: the journal decides
    assert snapshot(out) not in (snapshot(sets["old"]), snapshot(sets["new"]))
    assert load_baseline(out / NEW_BASELINE).wave
    assert snapshot(out) == snapshot(sets["new"])
    assert not machinery(out)
