"""Files in and out: decoding text exports, writing outputs safely and reproducibly.

Text inputs (CSV exports, staff frames) are decoded by one rule (:func:`decode_text`: a UTF-16 BOM →
UTF-16, a UTF-8 BOM → UTF-8, else strict UTF-8, else CP932) with a message naming the line that fails.

Every output is written to a temporary name beside its target and moved into place only when it is
complete (:func:`atomic_output`), so an interrupted run never leaves a half-written file that looks
finished. Excel workbooks are zip files that carry the time they were written; :func:`pin_xlsx`
rewrites those stamps to a fixed value so the same tables give the same bytes.

A report's outputs are one unit: :func:`output_lock` keeps a second run out of the folder;
:class:`Staging` swaps a complete new set in for the previous one, or puts everything back.

Text a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR at the start) is
written inert: :func:`inert_text` prefixes ``'`` in CSV; the workbook writer stores it as a string
cell. :func:`check_zip_size` refuses a workbook that expands beyond a size limit (a zip bomb).
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

import pandas as pd

from ppp_survey.errors import LoadError, PppSurveyError

# Floats in published CSVs and frozen baselines carry 12 significant digits: every estimate is
# exact far beyond what is printed, and the bytes no longer depend on the last bit a particular
# numpy/BLAS build leaves in a sum (Python's %g: 0.52 → 0.52, 1340.0 → 1340, 1/3 → 0.333333333333).
CSV_FLOAT_FORMAT = "%.12g"
PINNED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
PINNED_ISO_TIME = "1980-01-01T00:00:00Z"
_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.partial{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def pin_xlsx(path: str | Path) -> None:
    """Rewrite an .xlsx in place with fixed zip entry times and fixed document dates."""
    p = Path(path)
    with zipfile.ZipFile(p) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _CORE_DATES.sub(rb"\g<1>" + PINNED_ISO_TIME.encode() + rb"\g<3>", data)
            pinned = zipfile.ZipInfo(info.filename, date_time=PINNED_ZIP_TIME)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = 0o644 << 16
            dst.writestr(pinned, data)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# A cell that begins with one of these is a formula to Excel, LibreOffice or Google Sheets (OWASP,
# "CSV Injection"): =HYPERLINK(…), +cmd|' /C calc'!A0, @SUM(…), -2+3, or a tab/CR before one.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ... except a plain number written as text ("-15.2", "+0.2", "-3%"): a spreadsheet reads it as the
# number it is, nothing runs. A lone "-" (no value) is not a formula either.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")


def inert_text(value):
    """A CSV cell as a spreadsheet must read it: text that a spreadsheet would run as a formula gets
    a leading apostrophe (OWASP's advice); numbers, plain numbers written as text and anything that
    is not text are returned as they are."""
    if isinstance(value, str) and value[:1] in FORMULA_START and value != "-" and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def inert_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every formula-like text cell and header made inert (:func:`inert_text`); the
    same object when there is none. Numeric, boolean and date columns are never touched."""
    fixed: dict[int, pd.Series] = {}
    for j, dtype in enumerate(table.dtypes):
        if dtype.kind in "biufcmM":  # numbers (a negative number is not text), booleans, dates
            continue
        column = table.iloc[:, j]
        if column.map(lambda v: inert_text(v) is not v, na_action="ignore").fillna(False).astype(bool).any():
            fixed[j] = column.astype(object).map(inert_text, na_action="ignore")
    headers = [inert_text(c) for c in table.columns] if not isinstance(table.columns, pd.MultiIndex) else None
    renamed = headers is not None and any(h is not c for h, c in zip(headers, table.columns, strict=True))
    if not fixed and not renamed:
        return table
    out = table.copy()
    for j, column in fixed.items():
        out.isetitem(j, column)
    if renamed:
        out.columns = headers
    return out


def csv_bytes(table: pd.DataFrame) -> bytes:
    """A table as CSV for Excel on Windows: UTF-8 with BOM, CRLF line ends, floats to 12 significant
    digits, formula-like text made inert (:func:`inert_table`)."""
    buf = io.StringIO()
    inert_table(table).to_csv(buf, index=False, lineterminator="\r\n", float_format=CSV_FLOAT_FORMAT)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """:func:`csv_bytes` written atomically to `path`."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(csv_bytes(table))
    return Path(path)


_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"\xef\xbb\xbf", "utf-8-sig"))


def decode_text(data: bytes, path: Path | str) -> tuple[str, str]:
    """Decode a text file: a UTF-16 BOM → UTF-16 (Excel's 「Unicode テキスト」); a UTF-8 BOM → UTF-8; else
    strict UTF-8; else CP932. Returns (text, encoding); a line that is neither is a one-line :class:`LoadError`."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec, errors="strict"), codec
            except UnicodeDecodeError as exc:
                line = data[len(bom) : exc.start + len(bom)].decode(codec, errors="replace").count("\n") + 1
                name = "UTF-8（ファイルの先頭はUTF-8のBOM）" if codec == "utf-8-sig" else "UTF-16（Unicode テキスト）"
                raise LoadError(
                    f"{path}: {line}行目が{name}として正しくありません（{exc.reason}。途中で切れているか壊れている"
                    "可能性があります）。ファイルを書き出し直してください"
                ) from None
    try:
        return data.decode("utf-8", errors="strict"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":  # valid UTF-8 cut off inside its last character
            raise LoadError(
                f"{path}: ファイルが文字の途中で終わっています（途中で切れた？）。書き出し直してください"
            ) from None
    try:
        return data.decode("cp932", errors="strict"), "cp932"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LoadError(
            f"{path}: {line}行目がUTF-8でもCP932（Shift_JIS）でもありません（バイト {data[exc.start : exc.start + 1].hex()}）。"
            "Excelで「CSV UTF-8（コンマ区切り）」として保存し直してください"
        ) from None


# A workbook whose parts expand beyond this is refused before any reader unpacks it: a survey export
# of 40,000 staff × 200 columns is about 300 MB of sheet XML; a zip bomb is gigabytes or more.
ZIP_SIZE_LIMIT = 512 * 1024 * 1024


def check_zip_size(source: str | Path | bytes, limit: int = ZIP_SIZE_LIMIT, *, name: str | None = None) -> int | None:
    """Refuse a zip archive (an ``.xlsx``) that expands beyond ``limit`` bytes; return its expanded size.

    Two checks, the second not trusting the first: the sizes the archive declares for its parts
    (``ZipInfo.file_size``, summed), then the parts actually decompressed, counted as they stream
    and stopped as soon as the total passes ``limit`` (so at most ``limit`` bytes are ever produced,
    and never held in memory). ``source`` is a path or the file's bytes; ``name`` is the file named
    in the message (default: the path). A file that is not a zip archive is not checked here
    (returns None): the reader says what is wrong with it. Raises :class:`LoadError` (one line) when
    the archive expands beyond ``limit`` or a part of it cannot be decompressed.
    """
    label = name if name is not None else (Path(source).name if isinstance(source, (str, Path)) else "workbook")
    if not zipfile.is_zipfile(io.BytesIO(source) if isinstance(source, bytes) else source):
        return None
    too_big = (
        f"{label}: 展開すると{limit / 1024**2:,.0f} MBの上限を超えるため読み込みません（zip爆弾の疑い）。"
        "正しいファイルか確認し、本当に大きなデータなら CSV UTF-8 で保存して --data に指定してください"
    )
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            members = archive.infolist()
            if sum(info.file_size for info in members) > limit:
                raise LoadError(too_big)
            total = 0
            for info in members:
                if info.is_dir():
                    continue
                # declared size := what is left of the limit + a margin (so the CRC check at the declared
                # end cannot fire first): a part that lies about its size is counted as it expands
                bounded = copy.copy(info)
                bounded.file_size = limit - total + (4 << 20)
                with archive.open(bounded) as part:
                    while block := part.read(1 << 20):
                        total += len(block)
                        if total > limit:
                            raise LoadError(too_big)
            return total
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise LoadError(
            f"{label}: Excelブックの一部を展開できません（{exc}）。Excelで開いて保存し直してから再実行してください"
        ) from None


# ---------------------------------------------------------------- the output folder as one unit


class OutputError(PppSurveyError):
    """The output folder cannot be written, or another run is writing to it."""


LOCK_NAME = ".ppp_survey.lock"
STAGING_NAME = ".ppp_survey_staging"
# The folder beside the published outputs for files that must never be published (rejected cells'
# raw values, free text); its name, and the name of every file in it, says so.
INTERNAL_FOLDER = "内部用_公開禁止"
INTERNAL_MARK = "_内部用_公開禁止"
_UNREADABLE_LOCK_IS_STALE_AFTER = 30.0  # seconds: a lock file its creator never got to write


@contextlib.contextmanager
def deferred_interrupts(*, reraise: bool = True) -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back during the block; afterwards raise KeyboardInterrupt if one came
    (``reraise=False``: drop it). Worker processes forked inside the block inherit the holding
    handler, so a Ctrl-C sent to the whole console ends the run once, without their tracebacks.
    Outside the main thread (where signals cannot be handled) the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    if caught and reraise:
        raise KeyboardInterrupt


@contextlib.contextmanager
def output_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the lock of an output folder for the block: a lock file created atomically
    (``O_CREAT | O_EXCL``) holding this process's id and computer name, removed afterwards.

    A second run on the same folder is refused with :class:`OutputError`. A lock left by a run
    that no longer exists (killed, power cut: same computer, process gone) is taken over.
    """
    lock = Path(folder) / LOCK_NAME
    try:
        descriptor = _create_lock(lock)
    except OSError as exc:
        raise OutputError(
            f"出力先 {lock.parent} に書き込めません（{os_error_reason(exc)}）。書き込めるフォルダを --out に指定してください"
        ) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n{socket.gethostname()}\n")
        yield lock
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()


def _create_lock(lock: Path) -> int:
    for _ in range(3):
        try:
            return os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _lock_holder(lock)
            if holder is not None:
                raise OutputError(
                    f"出力先 {lock.parent} には別の実行（{holder}）が書き込み中です。終わるのを待ってから再実行してください"
                    f"（実行中のものがなければ {lock.name} を削除してから再実行）"
                ) from None
            _break_stale_lock(lock)
    raise OutputError(
        f"出力先 {lock.parent} のロック {lock.name} を取得できません。ほかの実行が終わるのを待ってから再実行してください"
    )


def _lock_holder(lock: Path) -> str | None:
    """Who holds a lock, as the message names it; None when the lock is stale (its process has ended)."""
    try:
        lines = lock.read_text(encoding="utf-8").split()
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return None  # released meanwhile
    except (OSError, UnicodeDecodeError):
        return "不明"
    try:
        pid, host = int(lines[0]), lines[1]
    except (IndexError, ValueError):  # being written now, or its writer died before writing
        return None if age > _UNREADABLE_LOCK_IS_STALE_AFTER else "不明"
    if host != socket.gethostname():  # a shared folder: the process cannot be checked from here
        return f"コンピューター {host} のプロセス {pid}"
    return f"プロセス {pid}" if pid_alive(pid) else None


def _break_stale_lock(lock: Path) -> None:
    """Remove a stale lock, one process at a time (the ``.break`` file), re-checking it is stale:
    two runs that find the same stale lock never both take it."""
    breaker = lock.with_name(lock.name + ".break")
    try:
        os.close(os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        with contextlib.suppress(OSError):
            if time.time() - breaker.stat().st_mtime > _UNREADABLE_LOCK_IS_STALE_AFTER:
                breaker.unlink()
        return
    try:
        if _lock_holder(lock) is None:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
    finally:
        with contextlib.suppress(OSError):
            breaker.unlink()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this computer (never signals it: on Windows
    ``os.kill(pid, 0)`` would end it)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists
        try:
            code = ctypes.c_ulong()
            return not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def safe_relative(path: str) -> bool:
    """Whether ``path`` (as a manifest records it: relative, ``/``-separated) names a place inside
    the output folder: no absolute path, drive, ``..``, backslash, or the staging folder and lock."""
    if not isinstance(path, str) or not path or path.startswith("/"):
        return False
    parts = PurePosixPath(path).parts
    ok = all(p not in ("", ".", "..") and "\\" not in p and ":" not in p for p in parts)
    return ok and bool(parts) and parts[0] not in (STAGING_NAME, LOCK_NAME)


class Staging:
    """The staging folder of a run, ``<out>/.ppp_survey_staging`` (same disk: files move by renaming).
    Under :func:`output_lock`, write every output under :attr:`new` (the layout of ``out``), then
    :meth:`commit`. Entering clears what a killed run left (rolling back a swap it had begun);
    leaving removes the folder, so a run that fails before :meth:`commit` leaves ``out`` as it was.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.root = self.out / STAGING_NAME
        self.new = self.root / "new"
        self._previous = self.root / "previous"
        self._journal = self.root / "journal.json"
        self._keep = False  # a swap could not be rolled back: the backup must survive for the next run
        self.recovered = False

    def __enter__(self) -> Staging:
        self.recovered = self.recover()
        try:
            self.new.mkdir(parents=True)
            (self.root / ".gitignore").write_text("*\n", encoding="utf-8")  # git never lists staged real data
        except OSError as exc:
            self._remove()
            raise OutputError(
                f"出力先 {self.out} に書き込めません（{os_error_reason(exc)}）。書き込めるフォルダを --out に指定してください"
            ) from None
        return self

    def __exit__(self, *exc_info) -> None:
        if not self._keep:
            with deferred_interrupts(reraise=False):
                self._remove()

    def recover(self) -> bool:
        """Clear what a killed run left in the staging folder; a swap it had begun is rolled back
        (the previous outputs come back). Returns whether there was one to roll back."""
        if not os.path.lexists(self.root):
            return False
        journal = self._read_journal()
        rolled = journal is not None and not journal.get("done")
        if journal is not None and rolled:
            self._roll_back(journal["new"], journal["old"])
        self._remove()
        if os.path.lexists(self.root):
            raise OutputError(
                f"前回の実行の一時フォルダ {self.root} を削除できません。"
                "中のファイルを開いているプログラムを閉じるか、フォルダを削除してから再実行してください"
            )
        return rolled

    def commit(self, owned: Iterable[str]) -> list[str]:
        """Swap the staged outputs in: the previous set (``owned``: paths relative to ``out``) and any
        file where a new one goes are moved aside, the new files moved in, the old ones dropped;
        nothing else in ``out`` is touched. If a move fails (a file open in Excel on Windows), every
        move is undone and :class:`OutputError` names the file; a run killed during the swap is
        rolled back by the next (:meth:`recover`, from the journal written first). Returns the files
        of the previous set that the new set no longer has."""
        new = sorted(p.relative_to(self.new).as_posix() for p in self.new.rglob("*") if p.is_file())
        old = sorted({rel for rel in (*owned, *new) if safe_relative(rel) and os.path.lexists(self.out / rel)})
        old = [rel for rel in old if not (self.out / rel).is_dir()]
        self._write_journal(new, old, done=False)
        with deferred_interrupts(reraise=False):  # begun is finished (or undone), never left halfway
            try:
                for rel in old:
                    (self._previous / rel).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(self.out / rel, self._previous / rel)
                for rel in new:
                    (self.out / rel).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(self.new / rel, self.out / rel)
                self._write_journal(new, old, done=True)
            except Exception as exc:
                try:
                    self._roll_back(new, old)
                except OSError:
                    self._keep = True
                    raise OutputError(
                        f"出力の置き換えに失敗し（{os_error_reason(exc)}）、前回の出力を戻せませんでした。"
                        f"前回の出力は {self._previous} にあります。ファイルを開いているプログラムを閉じて再実行すると元に戻します"
                    ) from None
                if not isinstance(exc, OSError):
                    raise
                raise OutputError(
                    f"出力を置き換えられません（{os_error_reason(exc)}）。"
                    "Excel などで開いている出力ファイルを閉じてから再実行してください（前回の出力はそのままです）"
                ) from None
        gone = sorted(set(old) - set(new))
        self._prune(gone)
        return gone

    def _roll_back(self, new: list[str], old: list[str]) -> None:
        """Undo a swap: new files already moved in go back to staging, the previous files come back."""
        for rel in new:
            staged, target = self.new / rel, self.out / rel
            if not os.path.lexists(staged) and os.path.lexists(target):
                staged.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, staged)
        for rel in old:
            backup = self._previous / rel
            if os.path.lexists(backup):
                (self.out / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(backup, self.out / rel)

    def _prune(self, gone: list[str]) -> None:
        """Remove folders that the files gone leave empty (never the output folder itself)."""
        for rel in gone:
            folder = (self.out / rel).parent
            while folder != self.out and self.out in folder.parents:
                try:
                    folder.rmdir()
                except OSError:
                    break
                folder = folder.parent

    def _write_journal(self, new: list[str], old: list[str], *, done: bool) -> None:
        with atomic_output(self._journal) as tmp:
            tmp.write_text(json.dumps({"new": new, "old": old, "done": done}, ensure_ascii=False), encoding="utf-8")

    def _read_journal(self) -> dict | None:
        try:
            journal = json.loads(self._journal.read_text(encoding="utf-8"))
            return {k: [r for r in journal[k] if safe_relative(r)] for k in ("new", "old")} | {"done": journal["done"]}
        except (OSError, ValueError, TypeError, KeyError):
            return None  # no swap was begun (the journal is written, atomically, before any move)

    def _remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def os_error_reason(exc: BaseException) -> str:
    """An OS error as a short Japanese reason naming the file (no traceback)."""
    if isinstance(exc, OSError):
        name = Path(exc.filename).name if exc.filename else ""
        reasons = {
            errno.EACCES: "アクセスが拒否された（開いているか、権限がない）",
            errno.EPERM: "操作が許可されない",
            errno.ENOSPC: "ディスクの空きがない",
            errno.EROFS: "読み取り専用",
            errno.EBUSY: "使用中",
            errno.ENOTDIR: "途中にフォルダでなくファイルがある",
        }
        what = reasons.get(exc.errno or 0, exc.strerror or type(exc).__name__)
        return f"{name}: {what}" if name else what
    return f"{type(exc).__name__}: {exc}"
