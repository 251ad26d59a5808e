"""Answers as MLflow traces, through the tracker on a real store: a prompt interrupted between its
traces and its row gets its traces exactly once when the run is resumed, and the dataset input is
logged once per run. No model: the outcomes are written by hand."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from fusion.config.schema import JobConfig
from fusion.errors import ServiceUnavailable
from fusion.evaluate.fluency import fluency
from fusion.evaluate.outcomes import GradedAnswer, PromptOutcome, SteeredAnswer
from fusion.methods import resolve
from fusion.records import Prompt
from fusion.tracking.datasets import prompt_digest
from fusion.tracking.runs import Tracker, read_table
from fusion.tracking.traces import (
    CORRECT_FLUENT_SOURCE,
    EXPECTATION,
    FEEDBACK,
    FLUENCY_SOURCE,
    INDEX_TAG,
    KIND_TAG,
    answer_traces,
    log_answer_traces,
)

PROMPTS = [Prompt(0, "Who wrote Hamlet?", "William Shakespeare"), Prompt(1, "Capital of France?", "Paris")]


def outcome(position: int, prompt: Prompt) -> PromptOutcome:
    graded = GradedAnswer("I do not know.", 0.0, "NOT_ATTEMPTED", 1, 0.1)
    steered = SteeredAnswer(prompt.gold, 1.0, "CORRECT", 5, 1.0, judge="rules", rationale="gold present")
    return PromptOutcome(position, prompt.index, prompt.question, prompt.gold, "", graded, graded, steered, 2, 0.1)


def start(uri: str, tmp_path) -> Tracker:
    tracker = Tracker(uri, "fusion", (tmp_path / "artifacts").as_uri())
    tracker.start("full-test", {}, {}, "job-key")
    return tracker


def test_a_prompt_interrupted_after_some_traces_has_each_trace_once_after_resume(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    job = JobConfig()
    answers = [
        answer_traces(job, resolve(job.steering).spec, outcome(i, p), p.question, f"Question: {p.question}")
        for i, p in enumerate(PROMPTS)
    ]
    first = start(uri, tmp_path)
    assert first.log_dataset(job.data, PROMPTS)
    first.log_prompt(outcome(0, PROMPTS[0]).row(), [], answers[0])
    assert first.run is not None
    run_id = first.run.info.run_id
    # the crash: prompt 1's first two traces are logged, its row is not
    log_answer_traces(first.client, first.experiment_id, run_id, answers[1][:2])
    first.end("KILLED")

    resumed = start(uri, tmp_path)
    assert resumed.resumed and resumed.run is not None and resumed.run.info.run_id == run_id
    assert not resumed.log_dataset(job.data, PROMPTS), "the run has its dataset: not logged again"
    assert [row["index"] for row in resumed.finished_prompts()] == [0]
    resumed.log_prompt(outcome(1, PROMPTS[1]).row(), [], answers[1])
    resumed.end()

    client = MlflowClient(tracking_uri=uri)
    traces = client.search_traces(locations=[resumed.experiment_id], run_id=run_id, max_results=100)
    keys = sorted((int(t.info.tags[INDEX_TAG]), t.info.tags[KIND_TAG]) for t in traces)
    assert keys == [(i, kind) for i in (0, 1) for kind in ("baseline", "control", "steered")]
    for trace in traces:
        names = sorted(a.name for a in trace.info.assessments)
        assert names == sorted([EXPECTATION, *FEEDBACK]), (trace.info.tags, names)
    run = client.get_run(run_id)
    assert run.inputs is not None
    (dataset,) = [i.dataset for i in run.inputs.dataset_inputs]
    assert (dataset.name, dataset.digest) == (job.data.name, prompt_digest(PROMPTS))
    assert [row["index"] for row in read_table(client, run_id, "prompts.json")] == [0, 1]


def test_a_degenerate_answer_is_traced_as_such_whatever_the_judge_said(tmp_path):
    """Fluency is code's verdict (fusion.evaluate.fluency), beside the judge's grade: a loop of gold words the
    judge called CORRECT is degenerate and not correct_fluent, with the measures behind it."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    loop = "William Shakespeare " * 10
    babble = outcome(0, PROMPTS[0])
    babble.steered.answer = loop
    tracker = start(uri, tmp_path)
    assert tracker.run is not None
    run_id = tracker.run.info.run_id
    tracker.log_prompt(
        babble.row(), [], answer_traces(JobConfig(), resolve(JobConfig().steering).spec, babble, "q", "s")
    )
    tracker.end()
    traces = tracker.client.search_traces(locations=[tracker.experiment_id], run_id=run_id, max_results=10)
    by_kind = {t.info.tags[KIND_TAG]: {a.name: a for a in t.info.assessments} for t in traces}
    steered, baseline = by_kind["steered"], by_kind["baseline"]
    assert steered["simpleqa"].value == "CORRECT" and steered["correct_fluent"].value is False
    degenerate = steered["degenerate"]
    assert degenerate.value is True
    assert (degenerate.source.source_type, degenerate.source.source_id) == ("CODE", FLUENCY_SOURCE)
    assert degenerate.rationale == "over the threshold: compression_ratio, repeated_ngram_share"
    measured = fluency(loop).metrics()
    assert degenerate.metadata == {k: str(v) for k, v in measured.items() if k != "degenerate"}
    assert steered["correct_fluent"].source.source_id == CORRECT_FLUENT_SOURCE
    assert steered["correct_fluent"].metadata == {"judge": "rules"}
    assert baseline["degenerate"].value is False and baseline["degenerate"].rationale is None
    assert baseline["correct_fluent"].value is False  # NOT_ATTEMPTED


def test_a_baseline_job_traces_its_baseline_and_control_answers_only():
    job = JobConfig()
    job.steering.mode = "baseline"
    traces = answer_traces(job, resolve(job.steering).spec, outcome(0, PROMPTS[0]), "b", "s")
    assert [(t.kind, t.prompt) for t in traces] == [("baseline", "b"), ("control", "s")]


def test_the_digest_follows_the_rows_not_the_run():
    assert prompt_digest(PROMPTS) == prompt_digest(list(PROMPTS))
    assert prompt_digest(PROMPTS) != prompt_digest(PROMPTS[::-1])
    changed = [PROMPTS[0], Prompt(1, "Capital of France?", "Lyon")]
    assert prompt_digest(changed) != prompt_digest(PROMPTS), "the same indices with another gold answer"


def test_a_trace_mlflow_drops_stops_the_job_before_the_prompts_row(tmp_path):
    """MLflow's tracing never raises (it drops a trace with a warning); the tracker reads the
    traces back, so a prompt whose traces are missing is not marked finished."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = start(uri, tmp_path)
    assert tracker.run is not None
    run_id = tracker.run.info.run_id
    mlflow.tracing.disable()
    try:
        with pytest.raises(ServiceUnavailable, match="did not store the traces of the baseline of prompt 0"):
            tracker.log_prompt(
                outcome(0, PROMPTS[0]).row(),
                [],
                answer_traces(JobConfig(), resolve(JobConfig().steering).spec, outcome(0, PROMPTS[0]), "q", "s"),
            )
    finally:
        mlflow.tracing.enable()
        tracker.end("KILLED")
    assert read_table(tracker.client, run_id, "prompts.json") == []
