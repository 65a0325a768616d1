"""The committee paper printed: ``報告書.pdf`` by headless Chromium, and the three files in one call.

:func:`write_committee_paper` writes ``報告書.html`` (:mod:`.committee_page`), starts printing it to
``報告書.pdf``, writes ``報告書.pptx`` (:mod:`.committee_deck`) while the browser prints, and waits
for the PDF; :func:`committee_paper` does the same around a block of the caller's work (the report
draws its charts in it). Without a browser there is no PDF and :data:`PDF_HINT` says how to get one;
a browser that fails costs the PDF only: the HTML page is the paper, complete without it.

:func:`write_committee_pdf` (or :func:`start_committee_pdf` and :meth:`PdfJob.finish`) prints with
Chromium, Chrome or Edge: A4 portrait, the page's own margins, header and page numbers. Its dates
and structure ids are pinned (:func:`pin_pdf`), so one browser version prints the same page to the
same bytes;
:func:`ppp_survey.files.pin_package` does the same for the deck (an Office zip package).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ppp_survey.analysis import Analysis
from ppp_survey.compare.changes import ChangeTable
from ppp_survey.errors import CommitteeError
from ppp_survey.outputs.committee_deck import DECK_NAME, Layout, write_committee_deck
from ppp_survey.outputs.committee_page import HTML_NAME, HeatmapPlace, write_committee_html
from ppp_survey.policy.assess import PolicyResult
from ppp_survey.workers import Child, WorkerDied, Workers

__all__ = [
    "PDF_HINT",
    "PDF_NAME",
    "CommitteeError",
    "CommitteePaper",
    "PaperFiles",
    "PaperOptions",
    "PdfJob",
    "committee_paper",
    "find_browser",
    "pin_pdf",
    "start_committee_pdf",
    "write_committee_paper",
    "write_committee_pdf",
]

PDF_NAME = "報告書.pdf"
PDF_HINT = (
    "報告書.pdf は作成しませんでした（Chromium が見つかりません）。Debian/Ubuntu では "
    "sudo apt-get install -y chromium で入れて再実行してください。Windows では 報告書.html を "
    "Microsoft Edge で開き、印刷 →「PDF として保存」（用紙 A4・縦、「背景のグラフィック」オン）で作れます。"
)
PRINT_IT = "報告書.html をブラウザで開いて印刷すれば PDF にできます"
#: Browsers tried in this order (a Chromium-family browser prints the page's margin boxes).
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "msedge", "microsoft-edge")
WINDOWS_EDGE = (
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    r"C:\Program Files\Microsoft\Edge\Application\msedge.exe",
)


@dataclass(frozen=True)
class CommitteePaper:
    """The files :func:`write_committee_paper` wrote: ``pdf`` is ``None`` when none could be printed,
    and ``message`` then says why (one line in Japanese, for the user)."""

    html: Path
    deck: Path
    pdf: Path | None
    message: str = ""


def write_committee_paper(
    folder: str | Path,
    analysis: Analysis,
    policy: PolicyResult | None,
    *,
    synthetic: bool,
    changes: ChangeTable | None = None,
    weighted: bool = False,
    layout: Layout | str = Layout.WIDE,
    meanwhile: Callable[[], object] | None = None,
    heatmaps: HeatmapPlace | str = HeatmapPlace.AFTER,
    trends=None,
    workers: Workers | None = None,
) -> CommitteePaper:
    """報告書.html, 報告書.pptx and (with a browser) 報告書.pdf in ``folder``, from the same results.

    ``meanwhile()`` is the caller's other work (the report draws its charts): the paper is made
    meanwhile, in a forked process where ``workers`` allow one (default
    :meth:`~ppp_survey.workers.Workers.from_environment`), else while the browser prints. The files are the same either way. A
    missing or failing browser never fails the call: see ``CommitteePaper.message``.
    ``heatmaps``: the tables by 職域 after each chart (``"after"``) or in an appendix.
    """
    layout, heatmaps = Layout(layout), HeatmapPlace(heatmaps)
    options = dict(synthetic=synthetic, changes=changes, weighted=weighted, heatmaps=heatmaps, trends=trends)
    alone = Workers(1)  # nothing to do meanwhile: nothing to fork for
    run = _start_paper(
        Path(folder),
        analysis,
        policy,
        options,
        layout,
        workers=(workers or Workers.from_environment()) if meanwhile is not None else alone,
    )
    try:
        if meanwhile is not None:
            meanwhile()
        return run.result()
    finally:
        run.cancel()


class PaperOptions(Protocol):
    """What :func:`committee_paper` reads of the report's options (``ReportOptions``): the folder,
    whether to make the paper, the 架空データ label, design-based estimates in the charts (and,
    where the options have it, ``heatmaps``: ``"after"`` each chart or ``"appendix"``)."""

    @property
    def figures(self) -> Path: ...

    @property
    def paper(self) -> bool: ...

    @property
    def synthetic(self) -> bool: ...

    @property
    def weighted(self) -> bool: ...


@dataclass
class PaperFiles:
    """The files :func:`committee_paper` wrote, known when its block has ended (none with ``paper`` off)."""

    files: list[Path] = field(default_factory=list)


@contextlib.contextmanager
def committee_paper(
    options: PaperOptions,
    analysis: Analysis,
    policy: PolicyResult | None,
    changes: ChangeTable | None = None,
    *,
    trends=None,
    progress: Callable[[str], None] | None = None,
    workers: Workers | None = None,
) -> Iterator[PaperFiles]:
    """The committee paper made in ``options.figures`` while the block runs (the report draws its
    charts in it), as :func:`write_committee_paper` with the block as ``meanwhile``; nothing when
    ``options.paper`` is false; in a forked process where ``workers`` allow one (default
    :meth:`~ppp_survey.workers.Workers.from_environment`). ``progress`` gets the files' names and, without a PDF, why. An
    exception in the block stops the paper (its browser too) and leaves no partial file."""
    made = PaperFiles()
    if not options.paper:
        yield made
        return
    extra = dict(
        synthetic=options.synthetic,
        changes=changes,
        weighted=options.weighted,
        heatmaps=HeatmapPlace(getattr(options, "heatmaps", HeatmapPlace.AFTER)),
        trends=trends,
    )
    run = _start_paper(
        Path(options.figures), analysis, policy, extra, Layout.WIDE, workers=workers or Workers.from_environment()
    )
    try:
        yield made
        paper = run.result()
    finally:
        run.cancel()
    made.files = [p for p in (paper.html, paper.deck, paper.pdf) if p is not None]
    if progress is not None:
        progress("        " + "、".join(p.name for p in made.files))
        if paper.message:
            progress(f"        {paper.message}")


def _start_paper(
    folder: Path, analysis, policy, options: dict, layout: Layout, *, workers: Workers
) -> _Forked | _Inline:
    """Start making the paper: in a forked process where ``workers`` allow one, else here."""
    child = workers.fork(functools.partial(_paper_here, folder, analysis, policy, options, layout))
    return _Forked(child) if child is not None else _Inline(folder, analysis, policy, options, layout)


@dataclass
class _Forked:
    """The paper made in a forked process (:meth:`Workers.fork`); its death is a CommitteeError."""

    child: Child

    def result(self) -> CommitteePaper:
        try:
            return self.child.result()
        except WorkerDied as exc:
            raise CommitteeError(f"報告書を作るプロセスが異常終了しました（終了コード {exc.exitcode}）") from None

    def cancel(self) -> None:
        self.child.cancel()


def _paper_here(folder: Path, analysis, policy, options: dict, layout: Layout) -> CommitteePaper:
    run = _Inline(folder, analysis, policy, options, layout)
    try:
        return run.result()
    finally:
        run.cancel()


class _Inline:
    """The paper made in this process: the page and the browser's start at once, then (at
    :meth:`result`) the deck while the browser prints, and the PDF."""

    def __init__(self, folder: Path, analysis, policy, options: dict, layout: Layout):
        self.folder, self.analysis, self.policy, self.options, self.layout = folder, analysis, policy, options, layout
        self.page = write_committee_html(folder / HTML_NAME, analysis, policy, **options)
        self.job: PdfJob | None = None
        self.message = PDF_HINT
        try:
            self.job = start_committee_pdf(self.page, folder / PDF_NAME, date=analysis.codebook.survey.fielded_to)
        except CommitteeError as exc:
            self.message = f"{exc}。{PRINT_IT}"

    def result(self) -> CommitteePaper:
        deck = write_committee_deck(
            self.folder / DECK_NAME, self.analysis, self.policy, layout=self.layout, **self.options
        )
        if self.job is None:
            return CommitteePaper(self.page, deck, None, self.message)
        try:
            return CommitteePaper(self.page, deck, self.job.finish())
        except CommitteeError as exc:
            return CommitteePaper(self.page, deck, None, f"{exc}。{PRINT_IT}")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()


def find_browser() -> str | None:
    """A Chromium-family browser that prints to PDF headless: Chromium, Chrome or Edge on the PATH,
    else Edge where Windows installs it; ``None`` when there is none."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    if os.name == "nt":
        return next((p for p in WINDOWS_EDGE if Path(p).is_file()), None)
    return None


def write_committee_pdf(
    html_path: str | Path,
    pdf_path: str | Path,
    *,
    browser: str | None = None,
    date: dt.date | None = None,
    timeout: float = 180.0,
) -> Path | None:
    """Print ``html_path`` to ``pdf_path`` (A4 portrait, the page's own margins, page numbers and
    header) with headless Chromium; return the path, or ``None`` when no browser is installed
    (print :data:`PDF_HINT` then). Raises :class:`CommitteeError` when the browser fails.

    The PDF's creation and modification dates are set to ``date`` (default 1980-01-01, as the
    workbook's), so one browser version prints the same page to the same bytes; another version
    may lay out or encode differently (the HTML is the reference).
    """
    job = start_committee_pdf(html_path, pdf_path, browser=browser, date=date)
    return None if job is None else job.finish(timeout)


def start_committee_pdf(
    html_path: str | Path, pdf_path: str | Path, *, browser: str | None = None, date: dt.date | None = None
) -> PdfJob | None:
    """Start printing ``html_path`` (see :func:`write_committee_pdf`) and return at once: the
    browser prints while the caller goes on; :meth:`PdfJob.finish` waits for the PDF. ``None``
    when no browser is installed."""
    exe = browser or find_browser()
    if exe is None:
        return None
    target = Path(pdf_path)
    tmp = target.with_name(f".{target.stem}.partial{target.suffix}")
    profile = tempfile.TemporaryDirectory(prefix="ppp_survey_chromium_")
    command = [
        exe,
        "--headless",
        "--no-sandbox",  # our own page: no script, no network; the sandbox fails as root in containers
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--no-pdf-header-footer",
        "--generate-pdf-document-outline",  # bookmarks: the title, （1）…（8） and the notes
        f"--user-data-dir={profile.name}",
        f"--print-to-pdf={tmp.resolve()}",
        Path(html_path).resolve().as_uri(),
    ]
    env = {**os.environ, "TZ": "UTC"}  # the PDF's dates then carry +00'00' (pinned by finish)
    log = Path(profile.name) / "stderr.txt"  # a file, not a pipe: a chatty browser never blocks on it
    try:
        with open(log, "wb") as err:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
    except OSError as exc:
        profile.cleanup()
        raise CommitteeError(f"PDF を作成するブラウザを起動できません（{exe}: {exc.strerror}）") from None
    return PdfJob(process, exe, tmp, target, date or dt.date(1980, 1, 1), profile)


@dataclass
class PdfJob:
    """A PDF being printed by the browser (:func:`start_committee_pdf`)."""

    process: subprocess.Popen
    browser: str
    tmp: Path
    target: Path
    date: dt.date
    profile: tempfile.TemporaryDirectory

    def finish(self, timeout: float = 180.0) -> Path:
        """Wait for the browser, pin the PDF's dates and move it into place; return its path.
        Raises :class:`CommitteeError` (and leaves no file) when the browser fails or times out."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.cancel()
            raise CommitteeError(f"PDF の作成が{timeout:.0f}秒で終わりませんでした（{self.browser}）") from None
        try:
            if not self.tmp.is_file() or self.tmp.stat().st_size == 0:
                err = (Path(self.profile.name) / "stderr.txt").read_text("utf-8", "replace")
                tail = err.strip().splitlines()[-1:] or [f"終了コード {self.process.returncode}"]
                raise CommitteeError(f"PDF を作成できませんでした（{self.browser}: {tail[0]}）")
            self.tmp.write_bytes(pin_pdf(self.tmp.read_bytes(), self.date))
            os.replace(self.tmp, self.target)
        finally:
            self.cancel()
        return self.target

    def cancel(self) -> None:
        """Stop the browser if it still runs and remove what it left (nothing after :meth:`finish`)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.tmp.unlink(missing_ok=True)
        self.profile.cleanup()


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) ?\((D:\d{14}[^)]*)\)")
_NODE_ID = re.compile(rb"\(node(\d{8})\)")


def pin_pdf(data: bytes, date: dt.date) -> bytes:
    """The PDF with what varies from one print to the next made fixed, each string replaced by one
    of the same length (so the cross-reference offsets stay valid): /CreationDate and /ModDate set
    to ``date`` 00:00 UTC (a date of another form is left as it is), and the ids of the tagged
    structure (``(node00000031)``: DOM node numbers, one more or less when the browser is busy)
    renumbered 1, 2, … in their order, which keeps the structure's ID tree sorted."""
    fixed = f"D:{date:%Y%m%d}000000+00'00'".encode()

    def pin(match: re.Match) -> bytes:
        old = match.group(2)
        if len(old) != len(fixed):
            return match.group(0)
        return match.group(0).replace(old, fixed)

    rank = {old: b"(node%08d)" % (k + 1) for k, old in enumerate(sorted(set(_NODE_ID.findall(data))))}
    return _NODE_ID.sub(lambda m: rank[m.group(1)], _PDF_DATE.sub(pin, data))
