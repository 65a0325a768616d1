"""The lock of an output folder: one run at a time; and the one-line reasons of OS errors."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ppp_survey.errors import OutputError

LOCK_NAME = ".ppp_survey.lock"
_UNREADABLE_LOCK_IS_STALE_AFTER = 30.0  # seconds: a lock file its creator never got to write


def lock_path(folder: str | Path, *, beside: bool = False) -> Path:
    """The lock file of ``folder``: inside it, or (``beside``) next to it."""
    folder = Path(folder)
    return folder.parent / f".{folder.name}{LOCK_NAME}" if beside else folder / LOCK_NAME


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
def output_lock(folder: str | Path, *, beside: bool = False) -> Iterator[Path]:
    """Hold the lock of an output folder for the block: a lock file created atomically
    (``O_CREAT | O_EXCL``) holding this process's id and computer name, removed afterwards
    (``beside``: the lock of a folder staged beside itself, next to it; its parent is created).

    A second run on the same folder is refused with :class:`OutputError`. A lock left by a run
    that no longer exists (killed, power cut: same computer, process gone) is taken over.
    """
    lock = lock_path(folder, beside=beside)
    try:
        if beside:
            lock.parent.mkdir(parents=True, exist_ok=True)
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


def clear_stale_lock(lock: Path) -> None:
    """Remove a lock left by a process that no longer exists (a live one's stays)."""
    if os.path.lexists(lock) and _lock_holder(lock) is None:
        _break_stale_lock(lock)


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
