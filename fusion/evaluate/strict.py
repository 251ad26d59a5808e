"""The strict verdict on answers made anywhere: the judge's grade, the fluency measures and
``strict`` (CORRECT and not degenerate, :func:`fusion.evaluate.scoring.correct_fluent`).

Shared by ``fusion grade`` (``fusion/grade.py``) and the MLflow scorer
(``fusion/tracking/scorer.py``). Torch-free: only the judge decides what it loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fusion.evaluate.answer_end import cut_answer
from fusion.evaluate.fluency import Fluency, fluency
from fusion.evaluate.grading import GRADE_KEY
from fusion.evaluate.judges import Judge
from fusion.evaluate.scoring import correct_fluent
from fusion.records import Grade, GradeRequest


@dataclass(frozen=True)
class StrictGrade:
    """One answer's grade, fluency and strict verdict."""

    grade: Grade
    fluency: Fluency
    strict: bool

    def fields(self) -> dict[str, Any]:
        """The graded fields of a ``fusion grade`` output line."""
        return {
            GRADE_KEY: self.grade.label,
            "quality": self.grade.quality,
            "rationale": self.grade.rationale,
            "judge": self.grade.judge,
            "rubric": self.grade.rubric,
            "degenerate": self.fluency.degenerate,
            "fluency": self.fluency.metrics(),
            "strict": self.strict,
        }


def grade_strict(judge: Judge, requests: Sequence[GradeRequest]) -> list[StrictGrade]:
    """Grade ``requests`` in one batch with ``judge``; one :class:`StrictGrade` per request, in order.

    Each answer is first cut where it ends (:func:`fusion.evaluate.answer_end.cut_answer`: before a
    new ``Question:`` or ``Q:`` line); grade, fluency and verdict are of what is left."""
    # the answer ends before the next question frame of a raw-text prompt, as a job's answers do
    graded = [GradeRequest(r.question, r.gold, cut_answer(r.answer)) for r in requests]
    grades = judge.grade(graded)
    return [
        StrictGrade(grade, fluency(r.answer), correct_fluent(grade.label, r.answer)) for grade, r in zip(grades, graded)
    ]
