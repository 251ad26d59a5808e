"""A question set as data plus one function: the interface every set implements.

A set's :class:`SetSpec` says what it is (its name, a one-line summary, the rows it holds out for the
project's acceptance checks, whether its rows carry a passage); its ``load`` returns every row as a
:class:`~fusion.records.Prompt` in the set's own order. Selection (index file, offset, limit, shards)
and the held-out check are the same for every set (:mod:`fusion.data.select`). A set from outside the
package implements :class:`QuestionSet` and is found by an entry point or an import path
(:mod:`fusion.data`, docs/datasets.md). Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from fusion.config.schema import DataConfig
from fusion.records import Prompt


@dataclass(frozen=True)
class SetSpec:
    """What a question set is, for the preflight, the docs and the help texts."""

    name: str
    summary: str  # one line
    # [start, stop) ranges of row indices kept for the project's acceptance checks: a selection that
    # asks for one fails the preflight unless data.allow_held_out=true
    held_out: tuple[tuple[int, int], ...] = ()
    passages: bool = False  # its rows carry a supporting passage (Prompt.passage)
    # the set whose question ids its rows carry ("" : its own name): a subset of another set's rows
    # (paper260) keeps that set's ids, so its answers pair with the other set's on the same questions
    ids: str = ""
    title: str = ""  # the set as reports name it ("" : its name)

    def holds_out(self, index: int) -> bool:
        return any(start <= index < stop for start, stop in self.held_out)

    def held_out_text(self) -> str:
        """``5000-9999``: the ranges as a person writes them, last row included."""
        return ", ".join(f"{start}-{stop - 1}" for start, stop in self.held_out)


@runtime_checkable
class QuestionSet(Protocol):
    """A question set: its spec and its loader."""

    spec: SetSpec

    def load(self, data: DataConfig) -> Sequence[Prompt]:
        """Every row, in the set's order, each with a unique ``index`` (its row) and a question and a
        gold answer; ``qid`` may be left empty (the registry names it ``<set>:<index>``). Reads
        ``data.path``, ``data.columns``, ``data.options`` as the set needs; raises SetupError (one
        line naming the fix) for data that is missing or malformed."""
        ...

    def source(self, data: DataConfig) -> str:
        """Where the rows come from, as a URI MLflow's Datasets panel shows (a path or a web page)."""
        ...
