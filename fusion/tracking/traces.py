"""Each answer of a job as an MLflow trace with assessments: where MLflow's GenAI views look.

One trace per prompt and answer kind (``baseline``, ``control``, ``steered``; a baseline-mode job
has no steered answer of its own, so only the first two), linked to the job's run: the question
and the prompt the model saw go in, the answer comes out. The gold answer is the trace's
expectation (``expected_response``, the name MLflow's own correctness scorers read), and the
scores of the ``prompts.json`` row are its feedback: the judge's grade (``GRADE_KEY``) and
``quality`` (source: the judge), ``overlap`` and ``composite`` (source: this project's scoring code),
``degenerate`` (source: fusion.evaluate.fluency; the measures behind it are its metadata, the thresholds
they crossed its rationale) and ``correct_fluent``, the strict verdict (CORRECT and not degenerate).

Torch-free. The tracker logs a prompt's traces before its row, so a prompt whose row is there has
its traces; a resumed run first deletes whatever an interrupted attempt left of an unfinished
prompt's traces, so each prompt's traces are there exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import mlflow
from mlflow.entities import AssessmentSource, AssessmentSourceType, SpanType
from mlflow.tracking import MlflowClient

from fusion.config.schema import JobConfig
from fusion.errors import ServiceUnavailable
from fusion.evaluate.fluency import fluency
from fusion.evaluate.grading import GRADE_KEY
from fusion.evaluate.outcomes import GradedAnswer, PromptOutcome
from fusion.evaluate.scoring import correct_fluent
from fusion.methods import MethodSpec

AnswerKind = Literal["baseline", "control", "steered"]
INDEX_TAG = "fusion.prompt_index"  # the question's row in its set (unique within a run)
QID_TAG = "fusion.qid"  # its question id (fusion.records.Prompt.qid), with the data set's name beside
DATASET_TAG = "fusion.dataset"
POSITION_TAG = "fusion.prompt_position"
KIND_TAG = "fusion.answer_kind"
MODE_TAG = "fusion.mode"
EXPECTATION = "expected_response"
FEEDBACK = (GRADE_KEY, "quality", "overlap", "composite", "degenerate", "correct_fluent")
# what computes the scores that are not the judge's (fusion.evaluate.scoring, fusion.evaluate.fluency)
OVERLAP_SOURCE = "fusion.evaluate.scoring.token_overlap"
COMPOSITE_SOURCE = "fusion.evaluate.scoring.composite"
FLUENCY_SOURCE = "fusion.evaluate.fluency"
CORRECT_FLUENT_SOURCE = "fusion.evaluate.scoring.correct_fluent"


@dataclass(frozen=True)
class AnswerTrace:
    """One graded answer of one prompt, as its trace shows it."""

    kind: AnswerKind
    position: int
    index: int
    mode: str
    question: str
    prompt: str  # the text the model was given (chat template applied, if any)
    gold: str
    graded: GradedAnswer
    judge: str  # the judge's name: rules, openai:<model>@<host>, hf:<model>
    dataset: str  # the data config's name: where the gold answer comes from
    rationale: str = ""  # the judge's words on the grade (kept for the steered answer only)
    attributes: Mapping[str, Any] = field(default_factory=dict)  # what produced the answer
    qid: str = ""

    def tags(self) -> dict[str, str]:
        tags = {INDEX_TAG: str(self.index), POSITION_TAG: str(self.position), KIND_TAG: self.kind, MODE_TAG: self.mode}
        return tags | ({QID_TAG: self.qid, DATASET_TAG: self.dataset} if self.qid else {})


def answer_traces(
    job: JobConfig,
    spec: MethodSpec,
    outcome: PromptOutcome,
    baseline_prompt: str,
    steer_prompt: str,
    steered_prompt: str | None = None,
) -> list[AnswerTrace]:
    """The traces of one finished prompt; ``baseline_prompt`` and ``steer_prompt`` are the texts the
    model was given for the unsteered answer and for the control and steered answers
    (``steered_prompt``, where the steered answer had another: the in-context prompt). ``spec``
    is the job's steering method: a baseline method's own answer is the baseline answer."""
    steered = outcome.steered
    baseline = AnswerTrace(
        kind="baseline",
        position=outcome.position,
        index=outcome.index,
        mode=job.steering.mode,
        question=outcome.question,
        prompt=baseline_prompt,
        gold=outcome.gold,
        graded=outcome.baseline,
        judge=steered.judge,
        dataset=job.data.name,
        qid=outcome.qid,
    )
    traces = [baseline, replace(baseline, kind="control", prompt=steer_prompt, graded=outcome.control)]
    if spec.role != "baseline":  # a baseline job's "steered" answer is its baseline answer
        attributes = {
            "fusion.alphas": steered.alphas,
            "fusion.gammas": steered.gammas,
            "fusion.strengths": steered.strengths,
            **{f"fusion.{name}": value for name, value in steered.params.items()},
            "fusion.objective": steered.objective,
            "fusion.perplexity": steered.perplexity if math.isfinite(steered.perplexity) else None,
            "fusion.target_index": steered.target_index,
            "fusion.n_trials": outcome.n_trials,
        }
        steered_trace = replace(
            baseline,
            kind="steered",
            prompt=steered_prompt or steer_prompt,
            graded=steered,
            rationale=steered.rationale,
            attributes=attributes,
        )
        traces.append(steered_trace)
    return traces


def judge_source(judge: str) -> AssessmentSource:
    """The judge as an assessment's source: the rules judge is code, the others (``openai:...``,
    ``hf:...``) are language models."""
    kind = AssessmentSourceType.CODE if judge == "rules" else AssessmentSourceType.LLM_JUDGE
    return AssessmentSource(source_type=kind, source_id=judge)


def prompt_trace_ids(client: MlflowClient, experiment_id: str, run_id: str, index: int) -> list[str]:
    """The traces the run holds for one prompt (any kind)."""
    found = client.search_traces(
        locations=[experiment_id],
        run_id=run_id,
        filter_string=f"tag.`{INDEX_TAG}` = '{index}'",
        include_spans=False,
        max_results=100,
    )
    return [t.info.trace_id for t in found]


def delete_prompt_traces(client: MlflowClient, experiment_id: str, run_id: str, index: int) -> int:
    """Delete what an interrupted attempt logged of an unfinished prompt's traces; how many."""
    ids = prompt_trace_ids(client, experiment_id, run_id, index)
    if ids:
        client.delete_traces(experiment_id, trace_ids=ids)
    return len(ids)


def _start_trace(answer: AnswerTrace, run_id: str) -> str:
    with mlflow.start_span(name=answer.kind, span_type=SpanType.LLM, run_id=run_id) as span:
        # the kind is part of the request: MLflow's trace comparison of two runs pairs traces by
        # their request, and a question's three answers must pair kind with kind
        span.set_inputs({"kind": answer.kind, "question": answer.question, "prompt": answer.prompt})
        span.set_outputs(answer.graded.answer)
        if answer.attributes:
            span.set_attributes(dict(answer.attributes))
        mlflow.update_current_trace(
            tags=answer.tags(),
            request_preview=f"[{answer.kind}] {answer.question}",
            response_preview=answer.graded.answer,
        )
        # on the trace still open, MLflow keeps the assessments with it and stores them in the
        # trace's own write: one transaction per answer instead of eight (a third of a prompt's
        # logging time on SQLite)
        _assess(span.trace_id, answer)
    return span.trace_id


def _assess(trace_id: str, answer: AnswerTrace) -> None:
    graded, judge = answer.graded, judge_source(answer.judge)
    gold_source = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=answer.dataset)
    mlflow.log_expectation(trace_id=trace_id, name=EXPECTATION, value=answer.gold, source=gold_source)
    mlflow.log_feedback(
        trace_id=trace_id, name=GRADE_KEY, value=graded.label, source=judge, rationale=answer.rationale or None
    )
    mlflow.log_feedback(trace_id=trace_id, name="quality", value=graded.quality, source=judge)
    code = AssessmentSourceType.CODE
    mlflow.log_feedback(
        trace_id=trace_id, name="overlap", value=graded.overlap, source=AssessmentSource(code, OVERLAP_SOURCE)
    )
    mlflow.log_feedback(
        trace_id=trace_id,
        name="composite",
        value=graded.composite,
        source=AssessmentSource(code, COMPOSITE_SOURCE),
        metadata={"judge": answer.judge},  # the composite weighs in the judge's quality grade
    )
    _assess_fluency(trace_id, answer)


def _assess_fluency(trace_id: str, answer: AnswerTrace) -> None:
    """``degenerate`` and ``correct_fluent``. The measures ride on ``degenerate`` as its metadata
    rather than as four more assessments each: one call per assessment, three traces per prompt."""
    graded, code = answer.graded, AssessmentSourceType.CODE
    measured = fluency(graded.answer)  # a pure function of the text: the row's ``fluency`` values
    measures = {k: str(v) for k, v in measured.metrics().items() if k != "degenerate"}
    mlflow.log_feedback(
        trace_id=trace_id,
        name="degenerate",
        value=measured.degenerate,
        source=AssessmentSource(code, FLUENCY_SOURCE),
        rationale=f"over the threshold: {', '.join(measured.reasons)}" if measured.degenerate else None,
        metadata=measures,
    )
    mlflow.log_feedback(
        trace_id=trace_id,
        name="correct_fluent",
        value=correct_fluent(graded.label, graded.answer),
        source=AssessmentSource(code, CORRECT_FLUENT_SOURCE),
        metadata={"judge": answer.judge},  # the verdict takes the judge's grade
    )


def log_answer_traces(
    client: MlflowClient, experiment_id: str, run_id: str, answers: Sequence[AnswerTrace]
) -> list[str]:
    """Log answers as traces of ``run_id``, each with its assessments; their ids."""
    ids = [_start_trace(answer, run_id) for answer in answers]
    # MLflow may export traces in the background (MLFLOW_ENABLE_ASYNC_TRACE_LOGGING): they must be
    # in the store before the row that marks the prompt finished
    mlflow.flush_trace_async_logging()
    # MLflow's tracing never raises: a trace it could not start or export is dropped with a
    # warning, its assessments with it. Read them back instead.
    stored = {i for index in {a.index for a in answers} for i in prompt_trace_ids(client, experiment_id, run_id, index)}
    missing = [f"{a.kind} of prompt {a.index}" for trace_id, a in zip(ids, answers) if trace_id not in stored]
    if missing:
        raise ServiceUnavailable(
            f"MLflow did not store the traces of the {', '.join(missing)} in run {run_id}: its tracing failed "
            "(see the warnings above) or is turned off (mlflow.tracing.disable, MLFLOW_TRACE_SAMPLING_RATIO)"
        )
    return ids
