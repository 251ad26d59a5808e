"""Where a job's time goes (``fusion bench --profile``): seconds per stage, and how full the
generated batches are.

Off unless :func:`profiling` is active: every timer and counter is then one check of a module
global, so the job's own code keeps its timers at no cost. A stage's seconds are its own
(exclusive): a stage inside another (the explanations inside the reference pass) is not counted
twice, and the outer one keeps the rest. What no stage covers is the profile's "other".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# the stages a job's code marks, in the order the profile table lists them
STAGES = (
    "unsteered answers",
    "explanation",
    "reference pass",
    "trial decoding",
    "perplexity",
    "search (Optuna)",
    "grading",
    "logging",
)


@dataclass
class DecodeFill:
    """How full the decode steps of one kind of generation were.

    ``row_steps``: rows run through the model, summed over decode steps; ``running_row_steps``: of
    those, rows still generating (the rest had ended, at EOS or a stop string, and fed padding).
    ``prefill_cells``/``prefill_padding``: token positions of the batches' first forward pass, and
    of those the left padding.
    """

    batches: int = 0
    steps: int = 0
    row_steps: int = 0
    running_row_steps: int = 0
    prefill_cells: int = 0
    prefill_padding: int = 0

    @property
    def rows_per_step(self) -> float:
        return self.row_steps / self.steps if self.steps else 0.0

    @property
    def steps_per_batch(self) -> float:
        return self.steps / self.batches if self.batches else 0.0

    @property
    def finished_share(self) -> float:
        """Share of the decode steps' rows spent on rows that had already ended."""
        return 1 - self.running_row_steps / self.row_steps if self.row_steps else 0.0

    @property
    def padding_share(self) -> float:
        return self.prefill_padding / self.prefill_cells if self.prefill_cells else 0.0


@dataclass
class Profile:
    """Seconds per stage (exclusive and inclusive), calls, and the decode fill per stage."""

    seconds: dict[str, float] = field(default_factory=dict)
    inclusive: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    fill: dict[str, DecodeFill] = field(default_factory=dict)
    # the stages open now, innermost last, each with the seconds its inner stages took
    _open: list[list[object]] = field(default_factory=list)

    def current(self) -> str:
        return str(self._open[-1][0]) if self._open else "other"

    def add(self, name: str, elapsed: float, inner: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - inner
        self.calls[name] = self.calls.get(name, 0) + 1
        if not any(entry[0] == name for entry in self._open):  # a stage inside itself counts once
            self.inclusive[name] = self.inclusive.get(name, 0.0) + elapsed

    def fill_of(self) -> DecodeFill:
        """The fill record of the stage open now (the generation's kind)."""
        return self.fill.setdefault(self.current(), DecodeFill())


_active: Profile | None = None


@contextmanager
def profiling() -> Iterator[Profile]:
    """Collect a profile of what runs inside the block (one at a time)."""
    global _active
    if _active is not None:
        raise RuntimeError("a profile is already being collected")
    _active = Profile()
    try:
        yield _active
    finally:
        _active = None


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Count the block's seconds toward stage ``name`` (nothing when no profile is collected)."""
    profile = _active
    if profile is None:
        yield
        return
    entry: list[object] = [name, 0.0]
    profile._open.append(entry)
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        profile._open.pop()
        profile.add(name, elapsed, float(entry[1]))  # type: ignore[arg-type]
        if profile._open:
            profile._open[-1][1] = float(profile._open[-1][1]) + elapsed  # type: ignore[arg-type]


def prefill(rows: int, width: int, real: int) -> None:
    """A generated batch starts: ``rows`` x ``width`` positions, ``real`` of them tokens."""
    if _active is not None:
        fill = _active.fill_of()
        fill.batches += 1
        fill.prefill_cells += rows * width
        fill.prefill_padding += rows * width - real


def decode_step(rows: int, running: int) -> None:
    """A decode step ran ``rows`` rows, ``running`` of them still generating."""
    if _active is not None:
        fill = _active.fill_of()
        fill.steps += 1
        fill.row_steps += rows
        fill.running_row_steps += running
