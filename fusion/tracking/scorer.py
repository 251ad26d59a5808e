"""fusion's strict judge as an MLflow 3 GenAI scorer, for ``mlflow.genai.evaluate`` on your own data
or traces::

    import mlflow
    from fusion.tracking.scorer import strict_answer

    mlflow.genai.evaluate(
        data=[{"inputs": {"question": "..."}, "outputs": "...", "expectations": {"expected_response": "..."}}],
        scorers=[strict_answer],
    )

Each row gets a Feedback named ``strict_answer``: ``True`` when the judge says CORRECT and the answer
is not degenerate (:mod:`fusion.evaluate.strict`), with the judge's rationale and, as metadata, the
grade's label, quality, degenerate, judge and rubric. ``strict_answer`` grades with the rules judge;
``strict_scorer(["judge=openai", "judge.model=..."])`` builds one with another judge of
``fusion/conf/judge``. Imports MLflow: ``import fusion`` never imports this.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from mlflow.entities import AssessmentSource, Feedback
from mlflow.genai.scorers import Scorer, scorer

from fusion.errors import SetupError
from fusion.evaluate.grading import GRADE_KEY
from fusion.evaluate.judges.factory import judge_from, make_judge
from fusion.evaluate.strict import grade_strict
from fusion.records import GradeRequest

QUESTION_KEYS = ("question", "query", "request", "input")
ANSWER_KEYS = ("answer", "response", "output", "text")
GOLD_KEYS = ("expected_response", "gold", "expected_answer")


def _text(value: Any, keys: tuple[str, ...], what: str) -> str:
    """``value`` when a string, else its first string under ``keys``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in keys:
            if isinstance(value.get(key), str):
                return str(value[key])
    raise SetupError(f"strict_answer: {what} must be a string or hold one under {', '.join(keys)} (got {value!r:.60})")


def strict_scorer(overrides: list[str] | None = None, *, name: str = "strict_answer") -> Scorer:
    """A scorer grading with the judge ``overrides`` compose (as ``fusion run``; default: rules).

    The judge is built here, so a bad override or an unset key variable fails at once, in one line
    (an ``hf`` judge's weights still load on its first grading)."""
    judge = judge_from(list(overrides)) if overrides else make_judge(None)
    lock = threading.Lock()  # evaluate scores rows in threads; a judge grades one batch at a time

    def score(inputs: Any, outputs: Any, expectations: Any) -> Feedback:
        request = GradeRequest(
            _text(inputs, QUESTION_KEYS, "inputs"),
            _text(expectations, GOLD_KEYS, "expectations"),
            _text(outputs, ANSWER_KEYS, "outputs"),
        )
        with lock:
            [verdict] = grade_strict(judge, [request])
        grade = verdict.grade
        return Feedback(
            value=verdict.strict,
            rationale=grade.rationale,
            source=AssessmentSource(
                source_type="CODE" if grade.judge == "rules" else "LLM_JUDGE", source_id=grade.judge
            ),
            metadata={
                GRADE_KEY: grade.label,
                "quality": str(grade.quality),
                "degenerate": str(verdict.fluency.degenerate),
                "judge": grade.judge,
                "rubric": grade.rubric,
            },
        )

    score.__name__ = name
    return scorer(
        score, name=name, description="fusion's strict verdict: the judge says CORRECT and the answer is fluent"
    )


strict_answer = strict_scorer()
