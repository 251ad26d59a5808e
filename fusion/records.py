"""Plain value types passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GradeLabel = Literal["CORRECT", "INCORRECT", "NOT_ATTEMPTED"]
GRADE_LABELS: tuple[GradeLabel, ...] = ("CORRECT", "INCORRECT", "NOT_ATTEMPTED")


@dataclass(frozen=True)
class Prompt:
    """One question of a question set (fusion.data). ``index`` is its row in the set's source, 0-based
    (a subset of another set's rows keeps that set's rows). ``qid`` is the set's stable string id
    (``halueval:17``, or a user file's id column), what pairing, hand labels and reports key on;
    ``passage`` the set's supporting text, where it has one (HaluEval's knowledge)."""

    index: int
    question: str
    gold: str
    topic: str = ""
    qid: str = ""
    passage: str | None = None

    @property
    def key(self) -> str:
        """What identifies it within a job: its ``qid`` (a prompt made without one: its row)."""
        return self.qid or f"#{self.index}"


@dataclass(frozen=True)
class GradeRequest:
    """What a judge sees: the question, the gold answer and the answer to grade."""

    question: str
    gold: str
    answer: str


@dataclass(frozen=True)
class Grade:
    """A judge's verdict on one answer; `judge` and `rubric` say who graded and how."""

    label: GradeLabel  # CORRECT, INCORRECT, NOT_ATTEMPTED
    quality: int  # 1-5 (correctness, relevance, completeness)
    judge: str
    rubric: str
    rationale: str = ""
