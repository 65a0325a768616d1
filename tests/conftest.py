"""Shared fixtures: the repository's bundled inputs, the packaged codebook, a seeded rng, and the
whole report runs that several test files read (:func:`shared_report`)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from hypothesis import settings

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]  # tests may locate the repo; library code may not
BASELINE = REPO / "data" / "raw" / "synthetic_r7_responses.xlsx"
FRAME = REPO / "data" / "raw" / "staff_frame_r7.csv"
R8_DATA = REPO / "data" / "raw" / "synthetic_r8_responses.xlsx"
R8_FRAME = REPO / "data" / "raw" / "staff_frame_r8.csv"
BASELINE_R7 = REPO / "data" / "processed" / "baseline_r7"

# The committee document's section 2 (令和7年11月), as its text has it: the headings (1)-(7) and the
# 2-(8) table the package's wording is checked against. A public document: the excerpt is in the
# repository (tests/data/), so the checks run in every clone.
COMMITTEE_SECTION_2 = REPO / "tests" / "data" / "committee_r7_section2.txt"


def committee_document_text() -> str:
    """The committee document's section 2, from "2 職員意識調査の結果" to the heading of section 3."""
    return COMMITTEE_SECTION_2.read_text(encoding="utf-8")


# Property-based tests: CI (CI=true) replays the same derandomised examples on every run, so a
# submission never lands or fails by luck; a developer's run explores new examples (and keeps the
# ones that failed in .hypothesis/). A failure found locally becomes a plain regression test.
# max_examples is the count of the tests that do not set their own: the expensive ones, each example
# of which runs the whole report (test_load_properties.test_cli_never_shows_a_traceback: 15-60 s an
# example on a busy machine). CI runs a few fixed examples, chosen by the seed and checked to reach
# both of the command line's ends (a report written, a one-line error; see that test); a developer's
# make test runs as many, new ones each time, and HYPOTHESIS_PROFILE=explore runs 25 (about five
# minutes more). No deadline: a loaded CI machine runs one example in a minute.
CI_EXAMPLES = 3
settings.register_profile(
    "ci", derandomize=True, database=None, print_blob=True, deadline=None, max_examples=CI_EXAMPLES
)
settings.register_profile("dev", print_blob=True, deadline=None, max_examples=CI_EXAMPLES)
settings.register_profile("explore", print_blob=True, deadline=None, max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# `make test` hands whole files to pytest-xdist's workers (--dist loadfile) in collection order, and
# a worker takes the next file when it has finished one: the longest files go first, so that the
# run does not end with one worker on a long file while the other idles (longest processing time
# first). The files of a whole-suite profile taking over ~40 s of test time, longest first; the
# others keep their order after them. A file missing here only costs balance, never a test.
LONGEST_FIRST = (
    "test_staging.py",
    "test_report_cli.py",
    "test_compare.py",
    "test_switch.py",
    "test_disclosure.py",
    "test_committee.py",
    "test_trend_outputs.py",
    "test_notebooks.py",
    "test_comparison_text.py",
    "test_ledger.py",
    "test_own_survey.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's tests keep their order


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def one_process():
    """The module's report runs in one process (``PPP_SURVEY_JOBS=1``; a module opts in with
    ``pytestmark = pytest.mark.usefixtures("one_process")``): the same files as a forked run (the
    shared runs are forked, and test_report_cli compares the two byte for byte), without forking a
    pool per run, which under pytest-xdist on cores already busy costs CPU (copy-on-write) and gains
    no time; the charts' text metrics also stay cached between a module's runs."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PPP_SURVEY_JOBS", "1")
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(20250718)


@pytest.fixture(scope="session")
def codebook():
    from ppp_survey import load_codebook

    return load_codebook()


@pytest.fixture(scope="session")
def forms(baseline, codebook):
    """The bundled baseline as a Forms table, times written as Excel shows them (as write_export's
    CSV): the export tests write in other forms (read only: copy it before changing a cell)."""
    from ppp_survey.synth.forms import to_forms_frame

    table = to_forms_frame(baseline.responses, baseline.free_text, codebook)
    for col in ("開始時刻", "完了時刻"):
        table[col] = table[col].dt.strftime("%Y/%m/%d %H:%M:%S").fillna("")
    return table


@pytest.fixture(scope="session")
def frame(codebook):
    from ppp_survey import load_frame

    return load_frame(FRAME, codebook)


@pytest.fixture(scope="session")
def baseline(codebook):
    """The bundled synthetic baseline, loaded once per test session."""
    from ppp_survey import load_responses

    return load_responses(BASELINE, codebook)


@pytest.fixture(scope="session")
def synthetic(codebook):
    from ppp_survey import generate

    return generate(codebook)


# ------------------------------------------------------------------ whole report runs, shared

# The report configurations several test files read, run once per test session (each run takes
# 15-25 s, 60+ s on a loaded machine): by name, the command line without ``--out``.
SHARED_RUNS: dict[str, tuple[str, ...]] = {
    # the bundled R7 data, every option at its default (the committee paper included)
    "r7": ("--data", str(BASELINE), "--frame", str(FRAME)),
    # the bundled R8 wave compared with the frozen R7 baseline, through the bundled mapping (paper included)
    "r8_compared": (
        "--data", str(R8_DATA), "--frame", str(R8_FRAME), "--codebook", "codebook_r8.yaml",
        "--compare", str(BASELINE_R7), "--mapping", "mapping_r7_r8.yaml",
    ),
}  # fmt: skip


def shared_argv(name: str, out: Path) -> list[str]:
    """The command line of the shared configuration ``name`` writing into ``out``: a test that needs
    a second, independent run of the same configuration (reproducibility) runs exactly this."""
    return [*SHARED_RUNS[name], "--out", str(out)]


@dataclass(frozen=True)
class SharedRun:
    """A finished report run: its exit status, its output folder (READ ONLY: copy it with
    shutil.copytree before running into it or changing it) and what it printed on stderr."""

    name: str
    status: int
    out: Path
    stderr: str
    files: dict[str, tuple[int, int, int]] = field(repr=False, compare=False)


def _stat_files(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``folder``: relative path → (size, mtime, inode), to see that nobody wrote to it."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[p.relative_to(folder).as_posix()] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


class SharedReports:
    """Report runs shared by the whole test session, across pytest-xdist's worker processes: each
    configuration of :data:`SHARED_RUNS` is run once, into ``<root>/<name>/out``, under a file lock
    (pytest-xdist's "Making session-scoped fixtures execute only once"); a worker that needs a run
    another one is making waits for it, then reads it. The tests check its exit status as they
    checked their own runs'. A run that raised is not retried: every test that needs it fails,
    with the first traceback."""

    def __init__(self, root: Path):
        self.root = root
        self.handed_out: dict[str, SharedRun] = {}

    def __call__(self, name: str) -> SharedRun:
        if name not in self.handed_out:
            self.handed_out[name] = self._get(name)
        return self.handed_out[name]

    def _get(self, name: str) -> SharedRun:
        from filelock import FileLock

        folder = self.root / name
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / f"{name}.lock")):
            done, failed = folder / "status.txt", folder / "failed.txt"
            if failed.is_file():
                pytest.fail(f"shared report run {name!r} raised earlier in this session:\n{failed.read_text('utf-8')}")
            if not done.is_file():
                if folder.exists():  # a worker died while making it: start again
                    shutil.rmtree(folder)
                folder.mkdir()
                self._build(name, folder)
            status = int(done.read_text(encoding="utf-8"))
            stderr = (folder / "stderr.txt").read_text(encoding="utf-8")
        out = folder / "out"
        return SharedRun(name, status, out, stderr, _stat_files(out) if out.is_dir() else {})

    @staticmethod
    def _build(name: str, folder: Path) -> None:
        from ppp_survey.report.cli import main

        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                status = main(shared_argv(name, folder / "out"))
        except BaseException:
            (folder / "failed.txt").write_text(traceback.format_exc() + err.getvalue()[-4000:], encoding="utf-8")
            raise
        (folder / "stderr.txt").write_text(err.getvalue(), encoding="utf-8")
        (folder / "status.txt").write_text(str(status), encoding="utf-8")  # written last: the run is complete

    def check_untouched(self) -> None:
        """Shared output folders are read only: a test that wrote into one would change what others read."""
        for run in self.handed_out.values():
            now = _stat_files(run.out) if run.out.is_dir() else {}
            changed = sorted(k for k in run.files.keys() | now.keys() if run.files.get(k) != now.get(k))
            assert not changed, f"a test changed the shared report folder {run.name!r} (copy it first): {changed[:10]}"


@pytest.fixture(scope="session")
def shared_report(tmp_path_factory):
    """``shared_report(name)`` → :class:`SharedRun`: the report run of ``SHARED_RUNS[name]``, made once
    for the whole session. Under pytest-xdist the runs live beside the workers' own temporary folders
    (``getbasetemp().parent``, one folder per session), so every worker reads the same run."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared_reports"
    runs = SharedReports(root)
    yield runs
    runs.check_untouched()
