"""One job: answer, build references, search weights per prompt, score, log.

:func:`run_job` reads as the README's "A run in ten lines"; each step is a function below it.
Everything that can fail cheaply (config, data, model path, judge credentials, device) fails
before the model is loaded (:mod:`fusion.job.preflight`). What a question gets (an unsteered
answer, a reference in the prompt, a search over layer weights) is its steering method's to say
(:mod:`fusion.methods`): the job reads the method's spec, never its name.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from tqdm.auto import tqdm

from fusion.config.compose import named_model_config
from fusion.config.schema import JobConfig
from fusion.config.targets import shuffled_partners
from fusion.errors import Interrupted, ServiceUnavailable, SetupError, interrupts_held, sigterm_as_interrupt
from fusion.evaluate.judges import Judge
from fusion.evaluate.metrics import rounded_summary, run_description, summary_metrics, trial_rows
from fusion.evaluate.outcomes import PromptOutcome
from fusion.job.answering import Answerer, select_baseline_failed
from fusion.job.keys import default_run_name, job_key
from fusion.job.preflight import Prepared, checked_job, prepare
from fusion.job.runner import PromptRunner
from fusion.job.tags import run_tags
from fusion.model.loading import LoadedModel, QuantizationConfig, shared_model
from fusion.model.prompts import render, render_in_context
from fusion.model.vectors import save_vectors
from fusion.profiling import stage
from fusion.records import Prompt
from fusion.references import blinded, oracle_line
from fusion.report import plots
from fusion.tracking.prepare import PrepareStore
from fusion.tracking.runs import TRACKING_ERRORS, Tracker, flatten, read_table
from fusion.tracking.stores import optuna_storage, redact, tracking_uri
from fusion.tracking.traces import answer_traces
from fusion.tracking.vectors import artifact_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobResult:
    run_id: str
    tracking_uri: str
    summary: dict[str, float]
    outcomes: list[PromptOutcome]
    read_back: bool = False  # finished by an earlier attempt of the same sweep: nothing ran now
    answered: int = 0  # prompts this attempt answered; a resumed run read the others back


def run_job(
    overrides: Sequence[str] = (),
    output_dir: str | Path | None = None,
    *,
    config: DictConfig | None = None,
    sweep_id: str = "",
    prepared: Prepared | None = None,
) -> JobResult:
    """One job, as the README's "A run in ten lines". From Python, ``overrides`` are composed and
    checked as ``python -m fusion.run OVERRIDES`` does; the command passes the ``config`` Hydra
    composed, its sweep and what its preflight prepared. Records go to ``output_dir`` (default
    ``outputs/api/<date>/<time>``); the result holds the MLflow run id, the summary and each
    prompt's outcome. Bad input raises :class:`~fusion.errors.FusionError` (one line); Ctrl-C or
    SIGTERM raises :class:`~fusion.errors.Interrupted` once the run keeps what it finished."""
    started = time.perf_counter()
    job, resolved_config = checked_job(overrides, config)  # 1. config, data, model, judge and device checked
    prepared = prepared or prepare(job)
    folder = Path(output_dir) if output_dir else Path("outputs") / "api" / time.strftime("%Y-%m-%d/%H-%M-%S")
    loaded, scorer = load_models(job, prepared)  # 2. the model on its device
    # the precision and kernels `auto` resolved to are part of what the job computes
    key = job_key(
        {**resolved_config, "resolved_dtype": loaded.placement.dtype_name, "resolved_linear": loaded.placement.linear}
    )
    uri = tracking_uri(job)
    tracker = Tracker(uri, job.tracking.experiment, PrepareStore.artifact_location(uri))
    if sweep_id and (earlier := finished_before(tracker, key, sweep_id, folder)) is not None:
        return earlier
    answerer = Answerer(job, loaded, key, scorer)
    prompts, selection = select_prompts(job, answerer, prepared.judge, prepared.prompts)
    # a global method (mean_diff) builds its targets from the job's questions
    runner = PromptRunner(
        job, loaded, prepared.judge, key, fixed_strengths=prepared.fixed_strengths, questions=prompts, answerer=answerer
    )
    tags = run_tags(job, prepared, runner, prompts, sweep_id)
    # from the run's creation on, everything sits in the try: an interruption anywhere marks the run
    # KILLED (left open, MLflow's exit handler would close it as FINISHED)
    status, run_id, context = "FAILED", "", None
    try:
        with sigterm_as_interrupt():
            run_id = tracker.start(job.tracking.run_name or default_run_name(job), tags, flatten(resolved_config), key)
            log.info(
                "%s MLflow run %s in %s (job key %s)", "resumed" if tracker.resumed else "opened", run_id, uri, key
            )
            if selection and not tracker.resumed:
                tracker.log_selection(selection)
            tracker.log_dataset(job.data, prompts)  # skipped if the run has it (resumed)
            torch.manual_seed(job.seed)  # after the run exists, so run names do not repeat
            context = JobContext(job, runner, tracker, folder, prompts, placebo_sources(job, prompts))
            with stage("questions"):  # what is left of it: a job's time per question (fusion bench --profile)
                outcomes, answered = answer_all(context)  # 3.-7. unsteered answers, references, searches, grades, logs
            summary = finish(context, outcomes, resolved_config, time.perf_counter() - started)  # 8. the summary
        status = "FINISHED"
        log.info("summary, records and plots logged to run %s; local records in %s", run_id, context.records)
        return JobResult(run_id, uri, summary, outcomes, answered=answered)
    except KeyboardInterrupt as stop:
        status = "KILLED"  # the prompts committed so far stay: the same command resumes the run
        kept = len(context.kept) if context is not None else 0
        raise Interrupted(getattr(stop, "signum", signal.SIGINT), run_id, kept, len(prompts)) from None
    except TRACKING_ERRORS as error:
        raise store_gone(uri, error, folder) from error
    finally:
        tracker.end(status)


@dataclass(frozen=True)
class JobContext:
    """What the steps after the run's start share."""

    job: JobConfig
    runner: PromptRunner
    tracker: Tracker
    output_dir: Path
    prompts: list[Prompt]
    # the prompt whose reference each question gets (the placebo), by row index; None: its own
    target_of: dict[int, Prompt] | None
    # the prompts committed so far (records and MLflow rows), earlier attempts' included
    kept: list[PromptOutcome] = field(default_factory=list)

    @property
    def records(self) -> Path:
        return self.output_dir / "prompts.jsonl"


def load_models(job: JobConfig, prepared: Prepared) -> tuple[LoadedModel, LoadedModel | None]:
    """The job's model, and the perplexity model where ``search.perplexity_model`` is another one."""
    loaded = shared_model(job.model, job.quantization, job.weights_cache_dir)
    if prepared.scorer_source is None or prepared.scorer_source == prepared.source:
        return loaded, None
    assert job.search.perplexity_model is not None
    scorer = shared_model(named_model_config(job.search.perplexity_model), QuantizationConfig(), job.weights_cache_dir)
    return loaded, scorer


def finished_before(tracker: Tracker, key: str, sweep_id: str, output_dir: Path) -> JobResult | None:
    """A multirun into a sweep that ran before continues it: a job it finished is read back."""
    try:
        finished = tracker.finished_in_sweep(key, sweep_id)
        if finished is None:
            return None
        log.info("this job finished before in sweep %s (MLflow run %s): not run again", sweep_id, finished)
        rows = read_table(tracker.client, finished, "prompts.json")
        metrics = tracker.client.get_run(finished).data.metrics
    except TRACKING_ERRORS as error:
        raise store_gone(tracker.uri, error, output_dir) from error
    return JobResult(
        finished, tracker.uri, dict(metrics), [PromptOutcome.from_row(row) for row in rows], read_back=True
    )


def select_prompts(
    job: JobConfig, answerer: Answerer, judge: Judge, prompts: list[Prompt]
) -> tuple[list[Prompt], list[dict[str, Any]]]:
    """The job's prompts, or with ``data.select=baseline_failed`` those the model gets wrong unsteered."""
    storage = optuna_storage(job, answerer.key) if answerer.key else None
    if storage and storage.startswith("sqlite:///"):
        Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if job.data.select != "baseline_failed":
        return prompts, []
    kept, selection = select_baseline_failed(answerer, judge, prompts)
    if not kept:
        raise SetupError(f"data.select=baseline_failed kept none of {len(selection)} prompts: raise data.limit")
    return kept, selection


def placebo_sources(job: JobConfig, prompts: list[Prompt]) -> dict[int, Prompt] | None:
    """With ``steering.target=shuffled``, each question's partner in a seeded derangement of the
    job's questions (a function of the prompts and the seed: a resumed job keeps it)."""
    if job.steering.target != "shuffled":
        return None
    by_index = {p.index: p for p in prompts}
    return {i: by_index[j] for i, j in shuffled_partners(list(by_index), job.seed).items()}


def answer_all(context: JobContext) -> tuple[list[PromptOutcome], int]:
    """Every prompt answered, searched, graded and committed, a pack of prompts at a time; with how
    many of them this attempt answered (what it took its time for).

    A rerun of an interrupted job continues its run: finished prompts are neither redone nor
    relogged. A prompt is committed (record, MLflow rows) once its pack is searched and graded;
    an interrupted pack is redone on resume, reading back the studies it had completed.
    """
    job, runner, prompts = context.job, context.runner, context.prompts
    spec = runner.method.spec
    context.output_dir.mkdir(parents=True, exist_ok=True)
    outcomes = context.kept
    outcomes += [PromptOutcome.from_row(row) for row in context.tracker.finished_prompts()]
    done = {o.index for o in outcomes}
    if done:
        log.info("%d of %d prompts were finished by an earlier attempt: not redone", len(done), len(prompts))
    # every unsteered generation of the job up front, in batches across prompts (batches cut from
    # the whole list: a resumed job batches the same): the baseline, the zero-steering control and
    # the explanations the references are built from; the explanations first: in a study on Ray the
    # in_context job runs beside the baseline job, which meanwhile stores the baseline and control
    reference = runner.answerer.reference  # no gold in what is answered where it is no oracle
    explain = ["explanation"] * (spec.reference and reference.spec.explanation)
    runner.answerer.answer_unsteered(blinded(reference, prompts), explain + ["baseline", "control"], progress=True)
    per_prompt = 1 if runner.fixed_strengths is not None else job.search.n_trials
    trials_total = (len(prompts) - len(done)) * (per_prompt if spec.steers else 0)
    todo = [(position, prompt) for position, prompt in enumerate(prompts) if prompt.index not in done]
    size = runner.prompts_per_pack()
    log.info("%d prompts to answer, %d per generated batch, on %s (%s, %s linear kernels)", len(todo), size,
             runner.loaded.device, runner.loaded.placement.dtype_name, runner.loaded.placement.linear)  # fmt: skip
    with (
        tqdm(total=len(prompts), initial=len(done), desc=f"prompts [{job.steering.mode}]", unit="prompt") as prompt_bar,
        tqdm(total=trials_total, desc="trials", unit="trial", disable=trials_total == 0, leave=False) as trial_bar,
    ):
        for start in range(0, len(todo), size):
            for outcome in runner.run_pack(todo[start : start + size], trial_bar, context.target_of):
                # a signal waits for the commit: a prompt is kept whole or not at all, and the store
                # is left unlocked for the write that marks the run KILLED
                with stage("logging"), interrupts_held():
                    commit(context, outcome)
                    outcomes.append(outcome)
                prompt_bar.update(1)
                prompt_bar.set_postfix(composite=f"{outcome.steered.composite:.2f}")
            log.info("prompts done: %d of %d", len(outcomes), len(prompts))
    return sorted(outcomes, key=lambda o: o.position), len(todo)


def commit(context: JobContext, outcome: PromptOutcome) -> None:
    """One finished prompt kept: its local record, its steering vectors, its traces and MLflow rows."""
    job, runner = context.job, context.runner
    with context.records.open("a") as f:
        f.write(json.dumps(outcome.row()) + "\n")
    if outcome.steering is not None:  # before the row: a prompt whose row is there has its vectors
        vectors = outcome.steering
        path = save_vectors(
            context.output_dir / artifact_name(outcome.index), vectors.targets, vectors.strengths, vectors.meta
        )
        context.tracker.log_artifact(path, "vectors")
    prompt = context.prompts[outcome.position]
    texts = render(job.prompts, runner.loaded.tokenizer, prompt)
    given = None
    if runner.method.spec.role == "prompted":  # the prompt its answer was given, reference included
        source = context.target_of[prompt.index] if context.target_of else prompt  # whose reference it was given
        reference = runner.answerer.reference.completion(source, outcome.steered.explanation)
        given = render_in_context(job.prompts, runner.loaded.tokenizer, prompt, reference)
    traces = answer_traces(job, runner.method.spec, outcome, texts.baseline, texts.steer, given)
    context.tracker.log_prompt(outcome.row(), trial_rows(outcome), traces)


def finish(
    context: JobContext, outcomes: list[PromptOutcome], resolved_config: dict[str, Any], seconds: float
) -> dict[str, float]:
    """The run's summary, description, resolved config and plots, logged."""
    job, tracker, runner = context.job, context.tracker, context.runner
    summary = summary_metrics([o.row() for o in outcomes], job.eval.accuracy_threshold)
    summary["wall_seconds"] = seconds
    summary = rounded_summary(summary)  # what MLflow shows; the report recomputes from the rows
    tracker.log_summary(summary)
    spec = runner.answerer.reference.spec
    oracle = oracle_line(spec.oracle, spec.name)
    tracker.describe(
        run_description(job.steering.mode, job.model.name, len(outcomes), job.steering.decoding, summary, oracle)
    )
    config_path = context.output_dir / "resolved_config.json"
    config_path.write_text(json.dumps(resolved_config, indent=2))
    tracker.log_artifact(config_path)
    hydra_dir = context.output_dir / ".hydra"
    if hydra_dir.is_dir():
        tracker.log_artifact(hydra_dir, "hydra")
    profile = (
        runner.layer_weights([(o.steered.strengths, o.steered.params) for o in outcomes]) if runner.segments else None
    )
    for path in plots.job_plots(
        outcomes, profile, runner.loaded.num_layers, context.output_dir, job.eval.accuracy_threshold
    ):
        tracker.log_artifact(path, "plots")
    return summary


def store_gone(uri: str, error: Exception, output_dir: Path) -> ServiceUnavailable:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return ServiceUnavailable(
        f"tracking.uri={redact(uri)} stopped answering ({type(error).__name__}: {first[:200]}); "
        f"local records in {output_dir / 'prompts.jsonl'}"
    )
