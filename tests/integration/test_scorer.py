"""The strict judge as an MLflow GenAI scorer: ``mlflow.genai.evaluate`` on a local SQLite store,
on a list of rows and on an app's own traces."""

from __future__ import annotations

import json
from typing import Any

import mlflow
import pytest

import fusion
from fusion.evaluate.judges.rules import RUBRIC
from fusion.tracking.scorer import strict_answer, strict_scorer

QUESTION = "Who received the IEEE Frank Rosenblatt Award in 2010?"
GOLD = "Michio Sugeno"
RIGHT = "The award went to Michio Sugeno."
WRONG = "It was Geoffrey Hinton."


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("scorer")
    yield uri
    mlflow.set_tracking_uri(previous)


def feedbacks(name: str, run_id: str | None = None) -> dict[str, Any]:
    """The feedback called ``name`` on each trace (of a run), by the answer the trace holds."""
    found = {}
    for trace in mlflow.search_traces(run_id=run_id, return_type="list"):
        [feedback] = [a for a in trace.info.assessments if a.name == name]
        found[json.loads(trace.data.response)] = feedback
    return found


def test_evaluate_logs_the_strict_verdict_of_a_right_and_a_wrong_answer(store):
    assert fusion.strict_answer is strict_answer  # the public name is the module's scorer
    data = [
        {"inputs": {"question": QUESTION}, "outputs": answer, "expectations": {"expected_response": GOLD}}
        for answer in (RIGHT, WRONG)
    ]
    result = mlflow.genai.evaluate(data=data, scorers=[strict_answer])
    assert result.metrics["strict_answer/mean"] == 0.5
    logged = feedbacks("strict_answer", result.run_id)
    assert set(logged) == {RIGHT, WRONG}
    right, wrong = logged[RIGHT], logged[WRONG]
    assert right.value is True and wrong.value is False
    assert right.rationale == "gold present" and wrong.rationale.startswith("gold not found")
    assert {k: right.metadata[k] for k in ("simpleqa", "quality", "degenerate", "judge", "rubric")} == {
        "simpleqa": "CORRECT",
        "quality": "5",
        "degenerate": "False",
        "judge": "rules",
        "rubric": RUBRIC,
    }
    assert (wrong.metadata["simpleqa"], wrong.metadata["degenerate"]) == ("INCORRECT", "False")
    assert (right.source.source_type, right.source.source_id) == ("CODE", "rules")


def test_evaluate_grades_an_apps_own_traces_with_their_logged_expectations(store):
    @mlflow.trace
    def app(question: str) -> str:
        return RIGHT if "2010" in question else WRONG

    for question in (QUESTION, QUESTION.replace("2010", "2011")):
        app(question)
        trace_id = mlflow.get_last_active_trace_id()
        mlflow.flush_trace_async_logging()  # the trace is in the store before its expectation
        mlflow.log_expectation(trace_id=trace_id, name="expected_response", value=GOLD)
    judged = strict_scorer(["judge=rules"], name="strict_rules")  # a judge chosen by overrides
    result = mlflow.genai.evaluate(data=mlflow.search_traces(), scorers=[judged])
    assert result.metrics["strict_rules/mean"] == 0.5
    logged = feedbacks("strict_rules")
    assert {a: (f.value, f.metadata["simpleqa"]) for a, f in logged.items()} == {
        RIGHT: (True, "CORRECT"),
        WRONG: (False, "INCORRECT"),
    }


def test_the_scorer_called_directly_and_its_one_line_error():
    feedback = strict_answer(inputs={"question": QUESTION}, outputs=RIGHT, expectations={"gold": GOLD})
    assert feedback.value is True and feedback.metadata["quality"] == "5"
    with pytest.raises(fusion.FusionError, match="strict_answer: expectations must be a string or hold one under"):
        strict_answer(inputs=QUESTION, outputs=RIGHT, expectations={"answer": GOLD})
    with pytest.raises(fusion.FusionError, match="'steering=full' is no judge override"):
        strict_scorer(["steering=full"])
    with pytest.raises(fusion.FusionError, match="judge.modle: no such key"):
        strict_scorer(["judge.modle=x"])
