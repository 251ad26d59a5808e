"""One job: answer, build references, search weights per prompt, score, log.

Order of work is chosen so that everything that can fail cheaply (config, data, model path, judge
credentials, device) fails before the model is loaded (see :mod:`fusion.search.preflight`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from fusion.config.compose import SEARCHED_MODES, named_model_config, optuna_storage, tracking_uri
from fusion.config.schema import JobConfig
from fusion.config.segments import segments_tag
from fusion.config.targets import shuffled_partners
from fusion.errors import ServiceUnavailable, SetupError
from fusion.evaluate.answer_end import answer_stops
from fusion.evaluate.metrics import rounded_summary, run_description, summary_metrics, trial_rows
from fusion.evaluate.outcomes import PromptOutcome
from fusion.model.loading import LoadedModel, QuantizationConfig, shared_model
from fusion.model.prompts import reference_completion, render, render_in_context
from fusion.report import plots
from fusion.search.preflight import Prepared, prepare
from fusion.search.runner import PromptRunner
from fusion.tracking.datasets import prompt_digest
from fusion.tracking.runs import TRACKING_ERRORS, PrepareStore, Tracker, environment_tags, flatten, read_table
from fusion.tracking.stores import redact
from fusion.tracking.traces import answer_traces
from fusion.tracking.vectors import artifact_name, save_vectors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobResult:
    run_id: str
    tracking_uri: str
    summary: dict[str, float]
    outcomes: list[PromptOutcome]


def get_model(job: JobConfig) -> LoadedModel:
    return shared_model(job.model, job.quantization, job.weights_cache_dir)


# how a judge is reached, not what it grades: changing these resumes the same job
_JUDGE_TRANSPORT = (
    "concurrency",
    "timeout",
    "max_retries",
    "backoff",
    "reply_cache",
    "api_key_env",
    "batch_size",
    "weights_cache_dir",
)
# where a job runs and how fast, not what it computes (packing and placement change no answer in
# float32; a device or precision change is recorded in the run's tags)
_PLACEMENT = {"model": ("device", "device_map"), "search": ("max_batch_rows",)}


def job_key(resolved_config: dict[str, Any]) -> str:
    """Identifies a job for resuming: everything in its config but where it is logged and how its
    judge is reached."""
    relevant = {k: v for k, v in resolved_config.items() if k not in ("tracking", "weights_cache_dir")}
    if isinstance(relevant.get("judge"), dict):
        relevant["judge"] = {k: v for k, v in relevant["judge"].items() if k not in _JUDGE_TRANSPORT}
    for group, keys in _PLACEMENT.items():
        if isinstance(relevant.get(group), dict):
            relevant[group] = {k: v for k, v in relevant[group].items() if k not in keys}
    prompts = relevant.get("prompts")
    if isinstance(prompts, dict) and "stop_strings" in prompts:
        # the stops as applied, and only where there are any: a job inside a chat template keeps
        # the key it had before prompts.stop_strings existed (and resumes such a run)
        stops = answer_stops(prompts["stop_strings"], bool(prompts.get("chat_template")))
        relevant["prompts"] = {k: v for k, v in prompts.items() if k != "stop_strings"}
        if stops:
            relevant["prompts"]["stop_strings"] = list(stops)
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def default_run_name(job: JobConfig) -> str:
    """What tells runs apart in MLflow's tables: mode, the placebo target, decoding, objective, seed
    (``full-shuffled-cached-fluent-s0-smollm2_135m``; the baseline searches nothing: ``baseline-smollm2_135m``)."""
    if job.steering.mode in ("baseline", "in_context"):  # no search: decoding, objective and seed change nothing
        target = ["shuffled"] if job.steering.target == "shuffled" else []
        return "-".join([job.steering.mode, *target, job.model.name])
    target = ["shuffled"] if job.steering.target == "shuffled" else []
    if job.search.strengths is not None or job.search.strengths_from is not None:  # no search: no objective, no seed
        # strengths reduced from an earlier job say by which rule, as the report's groups do
        fixed = "fixed" if job.search.strengths is not None else f"fixed-{job.search.strengths_rule}"
        return "-".join([job.steering.mode, *target, job.steering.decoding, fixed, job.model.name])
    parts = [job.steering.mode, *target, job.steering.decoding, job.search.objective, f"s{job.search.seed}"]
    return "-".join([*parts, job.model.name])


def store_gone(uri: str, error: Exception, output_dir: Path) -> ServiceUnavailable:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return ServiceUnavailable(
        f"tracking.uri={redact(uri)} stopped answering ({type(error).__name__}: {first[:200]}); "
        f"local records in {output_dir / 'prompts.jsonl'}"
    )


def run_job(
    job: JobConfig,
    resolved_config: dict[str, Any],
    *,
    output_dir: Path,
    sweep_id: str = "",
    prepared: Prepared | None = None,
) -> JobResult:
    """Run one Hydra job end to end; ``job`` must already be validated."""
    started = time.perf_counter()
    prepared = prepared or prepare(job)
    source, prompts, judge = prepared.source, prepared.prompts, prepared.judge
    uri = tracking_uri(job)
    tracker = Tracker(uri, job.tracking.experiment, PrepareStore.artifact_location(uri))

    loaded = get_model(job)
    scorer = None
    if prepared.scorer_source is not None and prepared.scorer_source != source:
        assert job.search.perplexity_model is not None
        scorer = shared_model(
            named_model_config(job.search.perplexity_model), QuantizationConfig(), job.weights_cache_dir
        )
    # the precision and kernels `auto` resolved to are part of what the job computes (float32 and
    # oneDNN here, bf16 and torch's kernels on a GPU)
    key = job_key(
        {**resolved_config, "resolved_dtype": loaded.placement.dtype_name, "resolved_linear": loaded.placement.linear}
    )
    if sweep_id:  # a multirun into a sweep directory that ran before continues it
        try:
            finished = tracker.finished_in_sweep(key, sweep_id)
            if finished is not None:
                log.info("this job finished before in sweep %s (MLflow run %s): not run again", sweep_id, finished)
                rows = read_table(tracker.client, finished, "prompts.json")
                metrics = tracker.client.get_run(finished).data.metrics
                return JobResult(finished, uri, dict(metrics), [PromptOutcome.from_row(row) for row in rows])
        except TRACKING_ERRORS as error:
            raise store_gone(uri, error, output_dir) from error
    storage = optuna_storage(job, key)
    if storage and storage.startswith("sqlite:///"):
        Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # checks segment boundaries against the layer count
    runner = PromptRunner(job, loaded, judge, key, scorer, prepared.fixed_strengths)
    selection: list[dict[str, Any]] = []
    if job.data.select == "baseline_failed":
        prompts, selection = runner.select_baseline_failed(prompts)
        if not prompts:
            raise SetupError(f"data.select=baseline_failed kept none of {len(selection)} prompts: raise data.limit")
    target_of = None
    if job.steering.target == "shuffled":  # a function of the job's prompts and seed: resume keeps it
        by_index = {p.index: p for p in prompts}
        target_of = {i: by_index[j] for i, j in shuffled_partners(list(by_index), job.seed).items()}
    tags = {
        "fusion.mode": job.steering.mode,
        "fusion.model": job.model.name,
        "fusion.model_identity": source.identity,
        "fusion.quantization": job.quantization.name,
        "fusion.judge": judge.name,
        "fusion.perplexity_model": scorer.source.identity if scorer else "loaded model",
        "fusion.sweep_id": sweep_id or "none",
        "fusion.steering_exact": str(job.steering.decoding == "exact").lower(),
        "fusion.steering_target": job.steering.target,
        "fusion.segments": segments_tag(runner.segments),
        "fusion.device": str(loaded.device) + (f" (device_map={job.model.device_map})" if job.model.device_map else ""),
        "fusion.device_name": loaded.placement.name,
        "fusion.dtype": loaded.placement.dtype_name,
        "fusion.linear_kernels": loaded.placement.linear,
        "fusion.batch_rows": str(runner.prompts_per_pack() * runner.rows_per_prompt()),
        # fixed strengths (no search), as applied: "" for a per-question search
        "fusion.fixed_strengths": json.dumps(prepared.fixed_strengths) if prepared.fixed_strengths is not None else "",
        # where answers end (prompts.stop_strings as applied; [] inside a chat template): regrading reads it
        "fusion.stop_strings": json.dumps(list(runner.stops)),
        "fusion.dataset": f"{job.data.name}:{len(prompts)}:{prompt_digest(prompts)}",  # the dataset input's digest
        **environment_tags(),
    }
    run_name = job.tracking.run_name or default_run_name(job)
    # from the run's creation on, everything sits in the try: an interruption anywhere marks the run
    # KILLED (left open, MLflow's exit handler would close it as FINISHED)
    status = "FAILED"
    try:
        run_id = tracker.start(run_name, tags, flatten(resolved_config), key)
        log.info("%s MLflow run %s in %s (job key %s)", "resumed" if tracker.resumed else "opened", run_id, uri, key)
        if selection and not tracker.resumed:
            tracker.log_selection(selection)
        tracker.log_dataset(job.data, prompts)  # skipped if the run has it (resumed)
        torch.manual_seed(job.seed)  # after the run exists, so run names do not repeat
        output_dir.mkdir(parents=True, exist_ok=True)
        records_path = output_dir / "prompts.jsonl"
        # a rerun of an interrupted job continues its run: finished prompts are neither redone nor relogged
        outcomes = [PromptOutcome.from_row(row) for row in tracker.finished_prompts()]
        done = {o.index for o in outcomes}
        if done:
            log.info("%d of %d prompts were finished by an earlier attempt: not redone", len(done), len(prompts))
        # every unsteered generation of the job up front, in batches across prompts: the baseline,
        # the zero-steering control and the explanations the references are built from
        kinds = ["baseline", "control"] + ["explanation"] * (job.steering.mode != "baseline")
        runner.answer_unsteered(
            prompts, kinds, progress=True
        )  # batches cut from the whole list: a resumed job batches the same
        searched = job.steering.mode in SEARCHED_MODES
        per_prompt = 1 if prepared.fixed_strengths is not None else job.search.n_trials
        trials_total = (len(prompts) - len(done)) * (per_prompt if searched else 0)
        with (
            tqdm(
                total=len(prompts), initial=len(done), desc=f"prompts [{job.steering.mode}]", unit="prompt"
            ) as prompt_bar,
            tqdm(total=trials_total, desc="trials", unit="trial", disable=trials_total == 0, leave=False) as trial_bar,
        ):
            todo = [(position, prompt) for position, prompt in enumerate(prompts) if prompt.index not in done]
            size = runner.prompts_per_pack()
            log.info(
                "%d prompts to search, %d per generated batch, on %s (%s, %s linear kernels)",
                len(todo),
                size,
                loaded.device,
                loaded.placement.dtype_name,
                loaded.placement.linear,
            )
            # a prompt is committed (record, MLflow rows) once its pack is searched and graded; an
            # interrupted pack is redone on resume, reading back the studies it had completed
            for start in range(0, len(todo), size):
                for outcome in runner.run_pack(todo[start : start + size], trial_bar, target_of):
                    outcomes.append(outcome)
                    with records_path.open("a") as f:
                        f.write(json.dumps(outcome.row()) + "\n")
                    if outcome.steering is not None:  # before the row: a prompt whose row is there has its vectors
                        path = save_vectors(
                            output_dir / artifact_name(outcome.index),
                            outcome.steering.targets,
                            outcome.steering.strengths,
                            outcome.steering.meta,
                        )
                        tracker.log_artifact(path, "vectors")
                    prompt = prompts[outcome.position]
                    texts = render(job.prompts, loaded.tokenizer, prompt)
                    in_context = None
                    if job.steering.mode == "in_context":  # the prompt its answer was given, reference included
                        given = target_of[prompt.index] if target_of else prompt  # whose reference it was given
                        reference = reference_completion(given.gold, outcome.steered.explanation)
                        in_context = render_in_context(job.prompts, loaded.tokenizer, prompt, reference)
                    traces = answer_traces(job, outcome, texts.baseline, texts.steer, in_context)
                    tracker.log_prompt(outcome.row(), trial_rows(outcome), traces)
                    prompt_bar.update(1)
                    prompt_bar.set_postfix(composite=f"{outcome.steered.composite:.2f}")
                log.info("prompts done: %d of %d", len(outcomes), len(prompts))
        outcomes.sort(key=lambda o: o.position)
        summary = summary_metrics([o.row() for o in outcomes], job.eval.accuracy_threshold)
        summary["wall_seconds"] = time.perf_counter() - started
        summary = rounded_summary(summary)  # what MLflow shows; the report recomputes from the rows
        tracker.log_summary(summary)
        tracker.describe(
            run_description(job.steering.mode, job.model.name, len(outcomes), job.steering.decoding, summary)
        )
        config_path = output_dir / "resolved_config.json"
        config_path.write_text(json.dumps(resolved_config, indent=2))
        tracker.log_artifact(config_path)
        hydra_dir = output_dir / ".hydra"
        if hydra_dir.is_dir():
            tracker.log_artifact(hydra_dir, "hydra")
        for path in plots.job_plots(
            outcomes, runner.segments, loaded.num_layers, output_dir, job.eval.accuracy_threshold
        ):
            tracker.log_artifact(path, "plots")
        status = "FINISHED"
        log.info("summary, records and plots logged to run %s; local records in %s", run_id, records_path)
        return JobResult(run_id, uri, summary, outcomes)
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except TRACKING_ERRORS as error:
        raise store_gone(uri, error, output_dir) from error
    finally:
        tracker.end(status)
