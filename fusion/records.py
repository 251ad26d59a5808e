"""Plain value types passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SimpleQAGrade = Literal["CORRECT", "INCORRECT", "NOT_ATTEMPTED"]
SIMPLEQA_GRADES: tuple[SimpleQAGrade, ...] = ("CORRECT", "INCORRECT", "NOT_ATTEMPTED")


@dataclass(frozen=True)
class Prompt:
    """One SimpleQA item. `index` is its row in the original SimpleQA file (0-based)."""

    index: int
    question: str
    gold: str
    topic: str = ""


@dataclass(frozen=True)
class GradeRequest:
    """What a judge sees: the question, the gold answer and the answer to grade."""

    question: str
    gold: str
    answer: str


@dataclass(frozen=True)
class Grade:
    """A judge's verdict on one answer; `judge` and `rubric` say who graded and how."""

    simpleqa: SimpleQAGrade
    quality: int  # 1-5 (correctness, relevance, completeness)
    judge: str
    rubric: str
    rationale: str = ""
