"""The one error type a user sees: bad input, or a service that is not there.

Every message is one line that names the key or the thing at fault and the fix. Every command
(:mod:`fusion.commands`: ``fusion run``, ``fusion report``, ``fusion steer``, ...) runs inside
:func:`one_line_errors`, which prints it as ``fusion: <message>`` and exits with the error's code; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class FusionError(Exception):
    """Base of fusion's user-facing errors; ``exit_code`` 2 = bad input."""

    exit_code = 2
    label = ""  # printed before the message, e.g. "config error: "

    def __str__(self) -> str:
        return f"{self.label}{super().__str__()}"


class ConfigError(FusionError):
    """A configuration value that cannot work, found before anything loads."""

    label = "config error: "


class SetupError(FusionError):
    """Bad input found while preparing a job: a model, data, judge or device that is not there."""


class ServiceUnavailable(FusionError):
    """A service the job needs stopped answering mid-run; finished prompts are kept, a rerun resumes."""

    exit_code = 1

    def __str__(self) -> str:
        return f"{super().__str__()}; finished prompts are kept: rerun the same command to resume"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, which the entry point turns into one) during a job: not an error. Once
    the job has its MLflow run, it says which run and how many of its prompts that run keeps; the
    entry point prints that in one line and exits with 128 + the signal (130 for Ctrl-C)."""

    def __init__(self, signum: int = signal.SIGINT, run_id: str = "", kept: int = 0, total: int = 0) -> None:
        super().__init__(f"signal {signum}")
        self.signum, self.run_id, self.kept, self.total = signum, run_id, kept, total

    def line(self) -> str:
        how = "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name
        resumes = "the same command resumes the job"
        if not self.run_id:  # before the job's run existed, or a sweep's launcher waiting on its jobs
            return f"fusion: interrupted ({how}): every prompt a job finished is kept: {resumes}"
        were = "is" if self.kept == 1 else "are"
        return f"fusion: interrupted ({how}): {self.kept} of {self.total} prompts {were} kept in MLflow run {self.run_id}: {resumes}"


@contextmanager
def one_line_errors() -> Iterator[None]:
    """The one handler of fusion's errors: ``fusion: <message>`` on stderr and the error's exit code
    (2 bad input, 1 a service gone mid-run). Anything else is a bug and keeps its traceback."""
    try:
        yield
    except FusionError as error:
        print(f"fusion: {error}", file=sys.stderr)
        sys.exit(error.exit_code)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so a terminated job still closes its MLflow run (as KILLED)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then raise :class:`Interrupted`. A write to a
    SQLite tracking store cut in half leaves its transaction open (the traceback keeps the
    connection alive), and the write that marks the run KILLED then waits on that lock and fails; a
    prompt's commit is short, so it finishes first. A second signal interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        if held:
            raise Interrupted(signum)
        held.append(signum)

    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        # a signal ignored (SIGINT in a shell's background job) stays ignored; None: a handler
        # set outside Python, which could not be put back
        if signal.getsignal(number) not in (signal.SIG_IGN, None):
            previous[number] = signal.signal(number, hold)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if held:
        raise Interrupted(held[0])
