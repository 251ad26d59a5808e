"""Judges grade answers: a SimpleQA label and a 1-5 quality grade.

Every judge implements :class:`Judge`; `make_judge` builds one from the `judge` config node.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from fusion.records import Grade, GradeRequest


class Judge(Protocol):
    name: str

    def grade(self, requests: Sequence[GradeRequest]) -> list[Grade]:
        """Grade a batch of answers; one Grade per request, in order."""
        ...
