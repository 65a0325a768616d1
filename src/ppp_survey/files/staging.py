"""The output folder as one unit: its lock, and the switch from one complete set of outputs to the next.

A run holds the folder's lock (:func:`output_lock`), writes every output under a staging folder
(:class:`Staging`, ``<out>/.ppp_survey_staging/new``: same disk, so files move by renaming) and
switches the whole published set in one journaled step (:meth:`Staging.commit`).

**One step.** Many files cannot be renamed at once (not on Windows, not across folders), so the
switch is made one step by its journal. Once the new set is completely staged, ``journal.json``
is written atomically in the staging folder: every file to move aside, every file to move in with
its size. That write is the switch: from then on the new set is the published one, whatever
happens to the process.

* An error during the moves (on Windows a file open in Excel cannot be moved) undoes the switch at
  once: the journal is marked ``undo`` first, the previous set comes back, one line names the file.
* A process that dies during the moves (killed, power cut) leaves the journal. Whoever next
  touches the folder completes the switch (rolls forward: the new set was completely staged), or
  undoes it when the journal says ``undo`` or a staged file is missing or not its size: the next
  run, :func:`~ppp_survey.compare.load_baseline`, and any reader calling :func:`settle` first.
* Without a journal nothing was moved: the folder holds the previous set as it was; the staging
  folder is only cleared, by the next run (under the lock).

**Folders outside the output folder** (a frozen baseline written elsewhere): :meth:`Staging.place`
stages them beside themselves, in ``.<name>.ppp_survey_staging/`` on the same disk, under that
folder's own lock ``.<name>.ppp_survey.lock``. Their moves are part of the run's one journal, so
the output folder and the baseline switch together; the staging folder beside the baseline points
to that journal, and :func:`settle` on the baseline settles the run's folder. A baseline frozen on
its own (:func:`~ppp_survey.compare.freeze_baseline` without a run) is a switch of its own, staged
beside its folder the same way, with its own journal.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ppp_survey.errors import OutputError
from ppp_survey.files.lock import (
    LOCK_NAME,
    clear_stale_lock,
    deferred_interrupts,
    lock_path,
    os_error_reason,
    output_lock,
)

STAGING_NAME = ".ppp_survey_staging"
# The folder beside the published outputs for files that must never be published (rejected cells'
# raw values, free text); its name, and the name of every file in it, says so.
INTERNAL_FOLDER = "内部用_公開禁止"
INTERNAL_MARK = "_内部用_公開禁止"
_JOURNAL = "journal.json"
_POINTER = "switch.json"  # in a staging folder beside an outside folder: the journal that decides it
_SETTLE_WAIT = 15.0  # seconds a reader waits for a run that is switching the folder right now


def staging_root(folder: str | Path, *, beside: bool = False) -> Path:
    """The staging folder of ``folder``: inside it, or (``beside``) next to it on the same disk."""
    folder = Path(folder)
    return folder.parent / f".{folder.name}{STAGING_NAME}" if beside else folder / STAGING_NAME


def safe_relative(path: str) -> bool:
    """Whether ``path`` (as a manifest records it: relative, ``/``-separated) names a place inside
    the output folder: no absolute path, drive, ``..``, backslash, or the staging folder and lock."""
    if not isinstance(path, str) or not path or path.startswith("/"):
        return False
    parts = PurePosixPath(path).parts
    ok = all(p not in ("", ".", "..") and "\\" not in p and ":" not in p for p in parts)
    return ok and bool(parts) and parts[0] not in (STAGING_NAME, LOCK_NAME)


# ------------------------------------------------------------------------------- the switch


@dataclass
class _Unit:
    """One folder of a switch: its files move between ``target``, ``staged`` (the new set, the
    layout of ``target``) and ``previous`` (the old files moved aside). ``root``: the staging folder
    of an outside folder (None for the staging's own folder)."""

    target: Path
    staged: Path
    previous: Path
    root: Path | None = None
    new: dict[str, int] = field(default_factory=dict)  # relative path → size
    old: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"target": str(self.target) if self.root else None, "root": str(self.root) if self.root else None}


def _staged_sizes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def _new_file_ready(unit: _Unit, rel: str, size: int) -> bool:
    """Whether the new file ``rel`` is whole, still staged or already moved in."""
    staged, target = unit.staged / rel, unit.target / rel
    if os.path.lexists(staged):
        where = staged
    elif os.path.lexists(target) and (rel not in unit.old or os.path.lexists(unit.previous / rel)):
        where = target  # moved in (an old file of that name was moved aside first)
    else:
        return False
    return size < 0 or where.stat().st_size == size


def _forward(units: list[_Unit]) -> None:
    """The moves of a switch, from wherever they stopped: every old file aside, every new file in."""
    for unit in units:
        for rel in unit.old:
            current, backup = unit.target / rel, unit.previous / rel
            waiting = rel not in unit.new or os.path.lexists(unit.staged / rel)  # else `current` is the new one
            if os.path.lexists(current) and not os.path.lexists(backup) and waiting:
                backup.parent.mkdir(parents=True, exist_ok=True)
                os.replace(current, backup)
    for unit in units:
        for rel in unit.new:
            if os.path.lexists(unit.staged / rel):
                (unit.target / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(unit.staged / rel, unit.target / rel)


def _back(units: list[_Unit]) -> None:
    """Undo a switch: new files already moved in go back to staging, the previous files come back."""
    for unit in units:
        for rel in unit.new:
            staged, target = unit.staged / rel, unit.target / rel
            if not os.path.lexists(staged) and os.path.lexists(target):
                staged.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, staged)
    for unit in units:
        for rel in unit.old:
            backup = unit.previous / rel
            if os.path.lexists(backup):
                (unit.target / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(backup, unit.target / rel)


def _write_journal(path: Path, journal: dict) -> None:
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(journal, ensure_ascii=False))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_journal(path: Path) -> dict | None:
    """A journal as ``{"token", "state", "units"}``; None when there is none (no switch was begun:
    the journal is written, atomically, before any move). A journal of an earlier version
    (``new``, ``old``, ``done``) is undone when not done, as that version did."""
    journal = _read_json(path)
    if journal is None:
        return None
    if "units" not in journal and {"new", "old", "done"} <= journal.keys():
        unit = {"target": None, "root": None, "new": dict.fromkeys(journal["new"], -1), "old": journal["old"]}
        journal = {"token": "", "state": "done" if journal["done"] else "undo", "units": [unit]}
    return journal if journal.get("state") in ("switch", "undo", "done") else None


def _pending(path: Path, token: str | None = None) -> bool:
    """Whether the journal at ``path`` is a switch not yet finished (of ``token`` if given)."""
    journal = _read_journal(path)
    return journal is not None and journal["state"] != "done" and token in (None, journal.get("token"))


def _pointer_pending(root: Path) -> bool:
    pointer = _read_json(root / _POINTER)
    return pointer is not None and _pending(Path(str(pointer.get("journal"))), str(pointer.get("token")))


_current: ContextVar[Staging | None] = ContextVar("ppp_survey_staging", default=None)


class Staging:
    """The staging folder of a run, ``<out>/.ppp_survey_staging`` (``beside=True``: of a folder
    switched on its own, ``.<name>.ppp_survey_staging`` next to it). Under :func:`output_lock`,
    write every output under :attr:`new` (the layout of ``out``) and any folder outside ``out``
    under :meth:`place`, then :meth:`commit`. Entering settles what a killed run left (a switch it
    had begun is completed or undone: :attr:`recovery`); leaving removes the staging folders, so a
    run that fails before :meth:`commit` leaves every folder as it was. While entered, the staging
    is :meth:`current` (so a step deep in a run stages through it).
    """

    def __init__(self, out: str | Path, *, beside: bool = False):
        self.out = Path(out)
        self.root = staging_root(self.out, beside=beside)
        self.new = self.root / "new"
        self._previous = self.root / "previous"
        self._journal = self.root / _JOURNAL
        self._outside: list[_Unit] = []
        self._locks = contextlib.ExitStack()  # the locks of the outside folders placed
        self._token = secrets.token_hex(8)
        self._keep = False  # a swap could not be rolled back: the backup must survive for the next run
        self._reset: Token[Staging | None] | None = None
        self.recovered = False
        self.recovery: str | None = None  # "completed" or "undone": what entering did to a killed switch

    @staticmethod
    def current() -> Staging | None:
        """The staging entered last in this thread (None outside one)."""
        return _current.get()

    def __enter__(self) -> Staging:
        self.recover()
        try:
            self.new.mkdir(parents=True)
            (self.root / ".gitignore").write_text("*\n", encoding="utf-8")  # git never lists staged real data
        except OSError as exc:
            self._remove()
            raise OutputError(
                f"出力先 {self.out} に書き込めません（{os_error_reason(exc)}）。書き込めるフォルダを --out に指定してください"
            ) from None
        self._reset = _current.set(self)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._reset is not None:
                _current.reset(self._reset)
            if not self._keep:
                with deferred_interrupts(reraise=False):
                    for unit in self._outside:
                        shutil.rmtree(unit.staged.parent, ignore_errors=True)
                    self._remove()
        finally:
            self._locks.close()

    def recover(self) -> bool:
        """Settle what a killed run left in the staging folder: a switch it had begun is completed
        (the new set was completely staged) or undone (it failed, or its new set is not whole);
        the rest is cleared. Returns whether there was a switch to settle (:attr:`recovery` says how)."""
        if not os.path.lexists(self.root):
            return False
        if _pointer_pending(self.root):  # beside an outside folder: the run that placed it decides
            pointer = _read_json(self.root / _POINTER) or {}
            self.recovery = _settle_root(Path(str(pointer["journal"])).parent.parent, beside=False)
        journal = _read_journal(self._journal)
        if journal is not None:
            units = self._units(journal)
            with deferred_interrupts():
                self.recovery = _finish(journal, units, self._journal)
            for unit in units:  # the staging folders beside the outside folders it switched
                if unit.root and (_read_json(unit.root / _POINTER) or {}).get("token") == journal["token"]:
                    shutil.rmtree(unit.root, ignore_errors=True)
                    clear_stale_lock(lock_path(unit.target, beside=True))
        self._remove()
        if os.path.lexists(self.root):
            raise OutputError(
                f"前回の実行の一時フォルダ {self.root} を削除できません。"
                "中のファイルを開いているプログラムを閉じるか、フォルダを削除してから再実行してください"
            )
        self.recovered = self.recovery is not None
        return self.recovered

    def place(self, folder: str | Path) -> Path:
        """Where to write the new files of ``folder`` so that :meth:`commit` switches them with the
        rest: under :attr:`new` for a folder inside ``out``; else a staging folder beside ``folder``
        (same disk), whose lock is held until the staging is left and which points to this journal."""
        target, out = Path(folder).resolve(), self.out.resolve()
        if target == out or out in target.parents:
            return self.new / target.relative_to(out)
        for unit in self._outside:
            if unit.target == target:
                return unit.staged
        self._locks.enter_context(output_lock(target, beside=True))
        Staging(target, beside=True).recover()  # what a killed run or freeze left beside it
        root = staging_root(target, beside=True)
        unit = _Unit(target, root / "new", root / "previous", root)
        try:
            unit.staged.mkdir(parents=True)
            (root / ".gitignore").write_text("*\n", encoding="utf-8")
            pointer = {"journal": str(self._journal.resolve()), "token": self._token}
            _write_journal(root / _POINTER, pointer)
        except OSError as exc:
            shutil.rmtree(root, ignore_errors=True)
            raise OutputError(
                f"{target} に書き込めません（{os_error_reason(exc)}）。書き込めるフォルダを指定してください"
            ) from None
        self._outside.append(unit)
        return unit.staged

    def final_path(self, path: Path) -> Path:
        """Where a staged file is once the switch is done (other paths as they are)."""
        for unit in (_Unit(self.out, self.new, self._previous), *self._outside):
            if unit.staged in path.parents:
                return unit.target / path.relative_to(unit.staged)
        return path

    def commit(self, owned: Iterable[str]) -> list[str]:
        """Switch the staged outputs in: the previous set (``owned``: paths relative to ``out``) and
        any file where a new one goes are moved aside, the new files moved in (those of the folders
        placed outside ``out`` too), the old ones dropped; nothing else is touched. The journal is
        written first: a run killed during the switch is completed by the next reader (:func:`settle`).
        If a move fails (a file open in Excel on Windows), every move is undone and
        :class:`OutputError` names the file. Returns the files of the previous set that the new set
        no longer has."""
        new = _staged_sizes(self.new)
        old = sorted({rel for rel in (*owned, *new) if safe_relative(rel) and os.path.lexists(self.out / rel)})
        main = _Unit(self.out, self.new, self._previous, new=new, old=[r for r in old if not (self.out / r).is_dir()])
        for unit in self._outside:
            unit.new = _staged_sizes(unit.staged)
            unit.old = [r for r in unit.new if os.path.lexists(unit.target / r) and not (unit.target / r).is_dir()]
        units = [main, *self._outside]
        journal = {
            "token": self._token,
            "state": "switch",
            "units": [u.to_json() | {"new": u.new, "old": u.old} for u in units],
        }
        _write_journal(self._journal, journal)
        with deferred_interrupts(reraise=False):  # begun is finished (or undone), never left halfway
            try:
                _forward(units)
                _write_journal(self._journal, journal | {"state": "done"})
            except Exception as exc:
                self._undo(journal, units, exc)
        gone = sorted(set(main.old) - set(new))
        _prune(self.out, gone)
        return gone

    def _undo(self, journal: dict, units: list[_Unit], exc: Exception) -> None:
        """A move failed: mark the journal ``undo`` (a kill from here on is undone too), undo, raise."""
        try:
            _write_journal(self._journal, journal | {"state": "undo"})
            _back(units)
            _write_journal(self._journal, journal | {"state": "done"})
        except OSError:
            self._keep = True
            raise OutputError(
                f"出力の置き換えに失敗し（{os_error_reason(exc)}）、前回の出力を戻せませんでした。"
                f"前回の出力は {self._previous} にあります。ファイルを開いているプログラムを閉じて再実行すると元に戻します"
            ) from None
        if not isinstance(exc, OSError):
            raise exc
        raise OutputError(
            f"出力を置き換えられません（{os_error_reason(exc)}）。"
            "Excel などで開いている出力ファイルを閉じてから再実行してください（前回の出力はそのままです）"
        ) from None

    def _units(self, journal: dict) -> list[_Unit]:
        """The folders of a journal's switch (unsafe relative paths dropped)."""
        units = []
        for entry in journal.get("units", []):
            if entry.get("root"):
                root = Path(entry["root"])
                unit = _Unit(Path(entry["target"]), root / "new", root / "previous", root)
            else:
                unit = _Unit(self.out, self.new, self._previous)
            unit.new = {r: int(s) for r, s in dict(entry.get("new", {})).items() if safe_relative(r)}
            unit.old = [r for r in entry.get("old", []) if safe_relative(r)]
            units.append(unit)
        return units

    def _remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _finish(journal: dict, units: list[_Unit], path: Path) -> str | None:
    """Settle a journal's switch: completed when it was decided and its new set is whole, else
    undone (a completion that fails, e.g. on a file open in Excel, is undone too). None when done."""
    if journal["state"] == "done":
        return None
    if journal["state"] == "switch" and all(_new_file_ready(u, r, s) for u in units for r, s in u.new.items()):
        try:
            _forward(units)
            _write_journal(path, journal | {"state": "done"})
            return "completed"
        except OSError:
            pass
    try:
        _write_journal(path, journal | {"state": "undo"})
        _back(units)
        _write_journal(path, journal | {"state": "done"})
    except OSError as exc:
        raise OutputError(
            f"前回中断された出力の置き換えを完了も取り消しもできません（{os_error_reason(exc)}）。"
            "ファイルを開いているプログラムを閉じてから再実行してください"
        ) from None
    return "undone"


def _prune(out: Path, gone: list[str]) -> None:
    """Remove folders that the files gone leave empty (never the output folder itself)."""
    for rel in gone:
        folder = (out / rel).parent
        while folder != out and out in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent


def _settle_root(folder: Path, *, beside: bool, wait: float = _SETTLE_WAIT) -> str | None:
    """Settle the switch of ``folder`` under its lock; while a live run holds the lock (it is
    switching right now), wait for it, up to ``wait`` seconds."""
    root = staging_root(folder, beside=beside)
    deadline = time.monotonic() + wait
    while True:
        try:
            with output_lock(folder, beside=beside):
                stage = Staging(folder, beside=beside)
                stage.recover()
                return stage.recovery
        except OutputError:
            if not (_pending(root / _JOURNAL) or _pointer_pending(root)):
                return None  # the run holding the lock finished its switch meanwhile
            if time.monotonic() > deadline or not os.path.lexists(lock_path(folder, beside=beside)):
                raise  # held too long, or not held at all: the folder cannot be written
            time.sleep(0.1)


def settle(folder: str | Path) -> str | None:
    """Make ``folder`` whole before reading it: an output folder, a frozen baseline folder, or any
    folder inside an output folder. A switch of its outputs that a killed process left half done
    (its own, an enclosing output folder's, or one staged beside it) is completed, or undone when
    its new set was not whole (see the module's docstring), under the folder's lock. Returns
    ``"completed"``, ``"undone"`` or None (nothing to settle: the usual case, a few file checks).
    Waits for a run that is switching the folder right now; raises :class:`OutputError` (one line)
    when the folder cannot be settled (a file held open, no permission)."""
    folder = Path(folder).absolute()
    outcome = None
    for candidate in (folder, *folder.parents):
        if _pending(staging_root(candidate) / _JOURNAL):
            outcome = _settle_root(candidate, beside=False) or outcome
    beside = staging_root(folder, beside=True)
    if _pending(beside / _JOURNAL) or _pointer_pending(beside):
        outcome = _settle_root(folder, beside=True) or outcome
    return outcome
