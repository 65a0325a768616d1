"""Forked work: how many processes a run may use, and the two ways the report uses them.

A run decides once (:meth:`Workers.from_environment`, the only reader of ``PPP_SURVEY_JOBS``) and
passes the :class:`Workers` down: :meth:`Workers.map` (or :meth:`Workers.started`) draws the charts in a pool of forked
processes, :meth:`Workers.fork` makes the committee paper in one forked process while the charts
are drawn. Processes are forked only on Linux (where forking a process that has loaded matplotlib
and pandas is safe and fast) and never from inside a worker; elsewhere, or with ``jobs == 1``,
everything runs in the calling process and gives the same files.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["JOBS_VARIABLE", "MAX_JOBS", "Child", "WorkerDied", "Workers"]

#: The environment variable that sets the number of processes (``1``: everything in one process).
JOBS_VARIABLE = "PPP_SURVEY_JOBS"
#: At most this many processes by default (the charts of one report gain nothing beyond).
MAX_JOBS = 4


class WorkerDied(RuntimeError):
    """A forked process ended without handing back its result (killed, or crashed)."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"a forked process ended with exit code {exitcode}")
        self.exitcode = exitcode


@dataclass(frozen=True)
class Workers:
    """How many processes a run may use (``jobs``; 1 = only the calling process)."""

    jobs: int = 1

    @classmethod
    def from_environment(cls) -> Workers:
        """``PPP_SURVEY_JOBS`` when set (a count; anything else means 1), else one process per CPU
        (at most :data:`MAX_JOBS`) where processes can be forked, else 1."""
        value = os.environ.get(JOBS_VARIABLE, "").strip()
        if value:
            return cls(int(value) if value.isdigit() else 1)
        return cls(min(os.cpu_count() or 1, MAX_JOBS) if _can_fork() else 1)

    def for_tasks(self, n_tasks: int) -> int:
        """The processes worth starting for ``n_tasks`` tasks (1: do them here)."""
        if not _can_fork():
            return 1
        return max(1, min(self.jobs, n_tasks))

    def map(
        self, task: Callable[[int], Any], n_tasks: int, *, setup: Callable[..., None], setup_args: Sequence[Any]
    ) -> Iterator[Any]:
        """``task(i)`` for i in 0..n_tasks-1 in forked processes, results in order. Each process runs
        ``setup(*setup_args)`` first: with fork the arguments reach it unpickled (closures too), so
        only the workers hold them. Call only when :meth:`for_tasks` is more than 1."""
        with self.started(task, n_tasks, setup=setup, setup_args=setup_args) as results:
            yield from results

    @contextlib.contextmanager
    def started(
        self, task: Callable[[int], Any], n_tasks: int, *, setup: Callable[..., None], setup_args: Sequence[Any]
    ) -> Iterator[Iterator[Any]]:
        """As :meth:`map`, but the processes start working on entering the block, which the caller
        uses meanwhile; the block gets the iterator of results (in order). Leaving the block ends the
        processes, finished or not. Call only when :meth:`for_tasks` is more than 1."""
        context = multiprocessing.get_context("fork")
        with context.Pool(self.for_tasks(n_tasks), initializer=setup, initargs=tuple(setup_args)) as pool:
            yield pool.imap(task, range(n_tasks))

    def fork(self, task: Callable[[], object]) -> Child | None:
        """Start ``task()`` in a forked process and return it; ``None`` (the caller then runs the task
        itself) with one job, off Linux, or inside a worker (which may not fork)."""
        if self.jobs <= 1 or not _can_fork():
            return None
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_run_child, args=(task, send), daemon=True)
        process.start()
        send.close()
        return Child(process, receive)


@dataclass
class Child:
    """A forked process computing one value (:meth:`Workers.fork`)."""

    process: Any
    receive: Any

    def result(self) -> Any:
        """The child's value, or its exception raised here (with the child's traceback as a note);
        :class:`WorkerDied` when it ended without an answer."""
        try:
            kind, value, trace = self.receive.recv()
        except EOFError:
            self.process.join()
            raise WorkerDied(self.process.exitcode) from None
        self.process.join()
        if kind == "ok":
            return value
        value.add_note(trace)
        raise value

    def cancel(self) -> None:
        """End the child if it still runs; nothing once :meth:`result` returned."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.receive.close()


def _can_fork() -> bool:
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


def _run_child(task: Callable[[], object], send) -> None:
    # Ctrl-C is the parent's to handle (it ends this process); SIGTERM runs the finally blocks, so
    # whatever the task started (a browser) is stopped and its partial files removed
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_term)
    sys.unraisablehook = _exit_again
    try:
        send.send(("ok", task(), ""))
    except Exception as exc:  # handed to the parent, which raises it
        trace = traceback.format_exc()
        try:
            send.send(("error", exc, trace))
        except Exception:  # an exception that cannot be pickled
            send.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}"), trace))
    finally:
        send.close()


def _exit_on_term(signum: int, frame: object) -> None:
    raise SystemExit(1)


def _exit_again(unraisable: Any) -> None:
    """A SIGTERM's exit raised where Python ignores exceptions (a weakref callback, ``__del__``)
    would print "Exception ignored … Traceback" and let the child run on: print nothing and exit
    10 ms later instead (a timer's signal, handled outside the callback; again if it lands in one)."""
    if isinstance(unraisable.exc_value, SystemExit):
        signal.signal(signal.SIGALRM, _exit_on_term)
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        return
    sys.__unraisablehook__(unraisable)
