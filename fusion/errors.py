"""The one error type a user sees: bad input, or a service that is not there.

Every message is one line that names the key or the thing at fault and the fix. Every entry point
(``fusion.run``, ``fusion.report.build``, ``fusion.steer``, ``fusion.tracking.studies``,
``fusion.grade``) runs inside :func:`one_line_errors`, which prints it as ``fusion: <message>`` and
exits with the error's code; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
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


@contextmanager
def one_line_errors() -> Iterator[None]:
    """The one handler of fusion's errors: ``fusion: <message>`` on stderr and the error's exit code
    (2 bad input, 1 a service gone mid-run). Anything else is a bug and keeps its traceback."""
    try:
        yield
    except FusionError as error:
        print(f"fusion: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
