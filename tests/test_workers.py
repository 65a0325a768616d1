"""Forked work (ppp_survey.workers): the number of processes decided once, one way to fork."""

from __future__ import annotations

import sys
import time
import weakref

import pytest

from ppp_survey.workers import JOBS_VARIABLE, MAX_JOBS, Workers

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are forked on Linux only")


def test_the_number_of_processes_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(JOBS_VARIABLE, "1")
    assert Workers.from_environment() == Workers(1)
    monkeypatch.setenv(JOBS_VARIABLE, "3")
    assert Workers.from_environment() == Workers(3)
    monkeypatch.setenv(JOBS_VARIABLE, "many")  # not a count: one process
    assert Workers.from_environment() == Workers(1)
    monkeypatch.delenv(JOBS_VARIABLE)
    assert 1 <= Workers.from_environment().jobs <= MAX_JOBS


def test_one_job_forks_nothing():
    assert Workers(1).fork(lambda: 1) is None
    assert Workers(1).for_tasks(10) == 1
    assert Workers(8).for_tasks(0) == 1 or not sys.platform.startswith("linux")


_OFFSET: list[int] = []


def _setup(offset: int) -> None:
    _OFFSET.append(offset)


def _shifted_square(i: int) -> int:
    return _OFFSET[-1] + i * i


@linux
def test_map_gives_every_result_in_order():
    assert Workers(2).for_tasks(5) == 2
    assert list(Workers(2).map(_shifted_square, 5, setup=_setup, setup_args=(10,))) == [10, 11, 14, 19, 26]
    assert _OFFSET == []  # the setup ran in the workers only


@linux
def test_a_forked_value_and_a_forked_error_come_back():
    child = Workers(2).fork(lambda: {"answer": 42})
    assert child is not None and child.result() == {"answer": 42}

    def broken():
        raise ValueError("壊れた")

    child = Workers(2).fork(broken)
    assert child is not None
    with pytest.raises(ValueError, match="壊れた") as raised:
        child.result()
    assert any("Traceback" in note for note in raised.value.__notes__)  # the child's traceback, as a note


@linux
def test_a_child_stopped_inside_a_callback_ends_at_once_and_prints_nothing(tmp_path, capfd):
    """Stopping the committee paper's process (Ctrl-C during the charts) sends it SIGTERM; when that
    lands in a weakref callback or __del__ (garbage collection while drawing), Python ignores the exit
    it raises, prints "Exception ignored … Traceback" and lets the child run on. The child asks for the
    exit again instead: it ends at once and prints nothing."""
    inside = tmp_path / "inside-the-callback"

    def task():
        class Thing:
            pass

        def callback(_):
            inside.write_text("yes")
            time.sleep(10)  # SIGTERM arrives here

        thing = Thing()
        ref = weakref.ref(thing, callback)
        del thing  # runs the callback
        time.sleep(30)
        return ref

    child = Workers(2).fork(task)
    assert child is not None
    deadline = time.monotonic() + 30
    while not inside.exists():
        assert time.monotonic() < deadline, "the child never reached its callback"
        time.sleep(0.01)
    started = time.monotonic()
    child.cancel()
    assert time.monotonic() - started < 5  # not after the callback's 10 s and the task's 30 s
    assert child.process.exitcode == 1
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err, err
