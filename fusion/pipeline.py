"""One job: answer, build references, search weights per prompt, score, log.

Order of work is chosen so that everything that can fail cheaply (config, data, model path, judge
credentials, tracking store) fails before the model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from fusion import plots
from fusion.config import JobConfig, named_model_config, optuna_storage, segment_bounds, tracking_uri
from fusion.devices import default_batch_rows
from fusion.generation import continuation_nll, encode, eos_ids, greedy
from fusion.judges import Judge
from fusion.models import LoadedModel, QuantizationConfig, shared_model
from fusion.preflight import Prepared, SetupError, prepare
from fusion.prompts import PromptTexts, reference_text, render, split_explanation
from fusion.records import Grade, GradeRequest, Prompt
from fusion.reference import reference_means
from fusion.scoring import composite, objective, perplexity, summarize, token_overlap
from fusion.search import Candidate, StudySpec, TrialResult, best_trial, prompt_seed, search_prompts
from fusion.steering import layer_strengths, steer
from fusion.targets import shuffled_partners
from fusion.tracking import PrepareStore, Tracker, environment_tags, flatten


@dataclass
class PromptOutcome:
    """Everything known about one prompt at the end of its search; one row of ``prompts.json``."""

    position: int
    index: int
    question: str
    gold: str
    topic: str
    baseline_answer: str
    baseline_overlap: float
    baseline_simpleqa: str
    baseline_quality: int
    baseline_composite: float
    # the zero-steering control: the steering prompt answered without hooks (the paper has none,
    # so part of its gain could come from the prompt change alone)
    control_answer: str
    control_overlap: float
    control_simpleqa: str
    control_quality: int
    control_composite: float
    answer: str
    explanation: str
    alphas: list[float]
    gammas: list[float]
    strengths: list[float]
    overlap: float
    perplexity: float
    objective: float
    simpleqa: str
    quality: int
    composite: float
    judge: str
    rubric: str
    n_trials: int
    seconds: float
    failed_trials: int = 0  # trials marked FAIL (non-finite activations, empty answer)
    rationale: str = ""  # the judge's words on the chosen answer ("unparsed: ..." if it gave no grade)
    # SimpleQA index of the question whose reference steered this prompt: its own, another's with
    # steering.target=shuffled (the placebo), -1 with no steering
    target_index: int = -1
    trials: list[TrialResult] = field(default_factory=list, repr=False)

    def row(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("trials")
        data["perplexity"] = self.perplexity if math.isfinite(self.perplexity) else None
        return data

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PromptOutcome:
        """The outcome of a prompt finished by an earlier, interrupted attempt of this job."""
        known = {f for f in cls.__dataclass_fields__ if f != "trials"}
        data = {k: v for k, v in row.items() if k in known}
        data["perplexity"] = math.inf if data["perplexity"] is None else data["perplexity"]
        return cls(**data)


@dataclass(frozen=True)
class JobResult:
    run_id: str
    tracking_uri: str
    summary: dict[str, float]
    outcomes: list[PromptOutcome]


def get_model(job: JobConfig) -> LoadedModel:
    return shared_model(job.model, job.quantization, job.cache_dir)


class PromptRunner:
    """Runs the per-prompt stages on a loaded model."""

    def __init__(
        self, job: JobConfig, loaded: LoadedModel, judge: Judge, key: str = "", scorer: LoadedModel | None = None
    ) -> None:
        self.job, self.loaded, self.judge, self.key = job, loaded, judge, key
        self.scorer = scorer  # the perplexity model, if not the loaded one (eval.perplexity_model)
        self.storage = optuna_storage(job, key) if key else None
        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        self.layers = loaded.decoder_layers
        self.stop = eos_ids(self.model, self.tokenizer)
        # unsteered answers by (SimpleQA index, "baseline" | "control"), answered in batches up front
        self._unsteered: dict[tuple[int, str], list[int]] = {}
        mode = job.steering.mode
        self.segments = (
            segment_bounds(loaded.num_layers, job.steering.boundaries)
            if mode == "segmented"
            else [range(loaded.num_layers)]
        )

    def _generate(self, texts: Sequence[str], **kwargs: Any) -> list[list[int]]:
        """Greedy answers; unsteered ones use the KV cache (no hook, so nothing to recompute)."""
        kwargs.setdefault("use_cache", True)
        return greedy(
            self.model,
            encode(self.tokenizer, texts),
            max_new_tokens=self.job.prompts.max_new_tokens,
            stop_ids=self.stop,
            **kwargs,
        )

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True).strip()

    def _overlap(self, prompt: Prompt, template: str, answer: str) -> float:
        if self.job.eval.overlap == "echo":
            # the authors decoded the whole sequence, so gold words in the question counted
            answer = template.format(question=prompt.question, gold=prompt.gold) + " " + answer
        return token_overlap(prompt.gold, answer)

    def _nll(self, prompt_text: str, rows: list[list[int]], answers: list[str]) -> list[float]:
        """Mean NLL of each answer after the prompt, under the perplexity model. Another model
        re-tokenises the answer text with its own tokenizer (token ids do not carry over)."""
        if self.scorer is None:
            return continuation_nll(self.model, self.tokenizer, prompt_text, rows)
        tok = self.scorer.tokenizer
        ids = [tok(a, add_special_tokens=False)["input_ids"] if a else [] for a in answers]
        return continuation_nll(self.scorer.model, tok, prompt_text, ids)

    def _candidates(
        self, prompt: Prompt, prompt_text: str, rows: list[list[int]], nonfinite_rows: set[int]
    ) -> list[Candidate]:
        answers = [self._decode(r) for r in rows]
        nll = self._nll(prompt_text, rows, answers)
        return [
            Candidate(a, self._overlap(prompt, self.job.prompts.steer, a), perplexity(n), trial_failure(i, a, nonfinite_rows))
            for i, (a, n) in enumerate(zip(answers, nll))
        ]

    def answer_unsteered(self, prompts: Sequence[Prompt], kinds: Sequence[str] = ("baseline", "control")) -> None:
        """Answer ``prompts`` without steering, ``prompts.unsteered_batch_size`` prompts per batch.

        Decoding on a CPU is bound by reading the weights, so a left-padded batch of prompts costs
        little more than one prompt (``make bench``: 3.1x faster for 8, same answers). Batches are
        cut from the job's whole prompt list, so a resumed job batches exactly as the first attempt.
        """
        size = self.job.prompts.unsteered_batch_size
        for kind in kinds:
            todo = [p for p in prompts if (p.index, kind) not in self._unsteered]
            for start in range(0, len(todo), size):
                chunk = todo[start : start + size]
                rendered = [render(self.job.prompts, self.tokenizer, p) for p in chunk]
                # the control is the steering prompt answered without hooks
                texts = [r.steer if kind == "control" else r.baseline for r in rendered]
                for prompt, ids in zip(chunk, self._generate(texts)):
                    self._unsteered[(prompt.index, kind)] = ids

    def unsteered_ids(self, prompt: Prompt, kind: str) -> list[int]:
        if (prompt.index, kind) not in self._unsteered:
            self.answer_unsteered([prompt], [kind])
        return self._unsteered[(prompt.index, kind)]

    def select_baseline_failed(self, pool: Sequence[Prompt]) -> tuple[list[Prompt], list[dict[str, Any]]]:
        """The paper's selection: answer the pool unsteered, grade, keep the INCORRECT ones
        (NOT_ATTEMPTED answers are dropped, as the authors did). Returns the kept prompts and a
        record per pool prompt."""
        self.answer_unsteered(pool, ["baseline"])
        answers = [self._decode(self.unsteered_ids(p, "baseline")) for p in pool]
        grades = self.judge.grade([GradeRequest(p.question, p.gold, a) for p, a in zip(pool, answers)])
        rows = [
            {"index": p.index, "question": p.question, "gold": p.gold, "baseline_answer": a, "simpleqa": g.simpleqa,
             "judge": g.judge, "kept": g.simpleqa == "INCORRECT"}
            for p, a, g in zip(pool, answers, grades)
        ]
        return [p for p, row in zip(pool, rows) if row["kept"]], rows

    def references(self, prompts: Sequence[Prompt], texts: Sequence[PromptTexts]) -> list[tuple[str, torch.Tensor]]:
        """Each prompt's explanation (generated unsteered, the prompts of a pack in one batch) and
        reference means ``h_l``."""
        continuations = self._generate([t.explanation for t in texts])
        out = []
        for prompt, text, ids in zip(prompts, texts, continuations):
            explanation = split_explanation(self._decode(ids), self.job.prompts.explanation_marker)
            reference, span = reference_text(text, prompt.gold, explanation)
            out.append((explanation, reference_means(self.model, self.tokenizer, self.layers, reference, span)))
        return out

    def prompts_per_pack(self) -> int:
        """How many prompts' trial batches fit in one generated batch of ``search.max_batch_rows``."""
        rows = self.job.search.max_batch_rows or default_batch_rows(self.loaded.device)
        return max(1, rows // min(self.job.search.batch_size, self.job.search.n_trials))

    def search_pack(
        self,
        prompts: Sequence[Prompt],
        texts: Sequence[PromptTexts],
        targets: Sequence[torch.Tensor],
        on_trial: Callable[[int, TrialResult], None] | None = None,
    ) -> list[list[TrialResult]]:
        """The searches of several prompts, their trials generated together (one batch per round).

        Perplexity is scored per prompt (one batch of its own trials), as an unpacked search does.
        """
        job = self.job

        def evaluate(rows: Sequence[tuple[int, Sequence[float]]]) -> list[Candidate]:
            slots = [slot for slot, _ in rows]
            strengths = layer_strengths(torch.tensor([s for _, s in rows], dtype=torch.float32), self.segments)
            row_targets = torch.stack([targets[slot] for slot in slots])  # [rows, layers, d]
            nonfinite: set[int] = set()
            with steer(self.layers, row_targets, strengths, cached=job.steering.cache) as session:
                ids = self._generate(
                    [texts[slot].steer for slot in slots], session=session, use_cache=job.steering.cache,
                    nonfinite_rows=nonfinite,
                )
            candidates: list[Candidate | None] = [None] * len(rows)
            for slot in dict.fromkeys(slots):
                mine = [i for i, s in enumerate(slots) if s == slot]
                scored = self._candidates(
                    prompts[slot], texts[slot].steer, [ids[i] for i in mine], {k for k, i in enumerate(mine) if i in nonfinite}
                )
                for i, cand in zip(mine, scored):
                    candidates[i] = cand
            return [c for c in candidates if c is not None]

        specs = [StudySpec(prompt_seed(job.search.seed, p.index), f"fusion-{self.key}-{p.index}") for p in prompts]
        return search_prompts(evaluate, specs, len(self.segments), job.search, on_trial=on_trial, storage=self.storage)

    def run_pack(
        self, pack: Sequence[tuple[int, Prompt]], trial_bar: tqdm | None = None, target_of: dict[int, Prompt] | None = None
    ) -> list[PromptOutcome]:
        """Search, grade and score the prompts of one pack; ``pack`` holds (position, prompt).

        ``target_of`` maps a prompt's index to the prompt whose reference steers it (the placebo);
        None: each prompt's own.
        """
        start = time.perf_counter()
        job = self.job
        prompts = [prompt for _, prompt in pack]
        texts = [render(job.prompts, self.tokenizer, p) for p in prompts]
        n_seg = len(self.segments)
        searched: list[tuple[str, list[TrialResult], TrialResult]] = []
        targets_from = [target_of[p.index] for p in prompts] if target_of else prompts
        if job.steering.mode == "baseline":
            for prompt, text in zip(prompts, texts):
                ids = self.unsteered_ids(prompt, "baseline")
                answer = self._decode(ids)
                overlap = self._overlap(prompt, job.prompts.baseline, answer)
                ppl = perplexity(self._nll(text.baseline, [ids], [answer])[0])
                value = objective(overlap, ppl, job.search.objective_weight, job.search.perplexity_cap)
                searched.append(("", [], TrialResult(-1, (0.0,) * n_seg, (0.0,) * n_seg, answer, overlap, ppl, value)))
        else:
            references = self.references(
                targets_from, [render(job.prompts, self.tokenizer, p) for p in targets_from] if target_of else texts
            )

            def on_trial(_slot: int, _result: TrialResult) -> None:
                if trial_bar is not None:
                    trial_bar.update(1)

            trials = self.search_pack(prompts, texts, [targets for _, targets in references], on_trial)
            searched = [(explanation, t, best_trial(t)) for (explanation, _), t in zip(references, trials)]
        requests = []
        for prompt, (_, _, chosen) in zip(prompts, searched):
            for answer in (self._decode(self.unsteered_ids(prompt, "baseline")),
                           self._decode(self.unsteered_ids(prompt, "control")), chosen.answer):
                requests.append(GradeRequest(prompt.question, prompt.gold, answer))
        grades = self.judge.grade(requests)  # the pack's answers in one call: LLM judges run them concurrently
        seconds = round((time.perf_counter() - start) / len(pack), 3)
        outcomes = [
            self._outcome(position, prompt, explanation, trials, chosen, grades[3 * i : 3 * i + 3], seconds)
            for i, ((position, prompt), (explanation, trials, chosen)) in enumerate(zip(pack, searched))
        ]
        if job.steering.mode != "baseline":
            for outcome, source in zip(outcomes, targets_from):
                outcome.target_index = source.index
        return outcomes

    def _outcome(
        self, position: int, prompt: Prompt, explanation: str, trials: list[TrialResult], chosen: TrialResult,
        grades: Sequence[Grade], seconds: float,
    ) -> PromptOutcome:
        job = self.job
        baseline_grade, control_grade, grade = grades
        baseline_answer = self._decode(self.unsteered_ids(prompt, "baseline"))
        baseline_overlap = self._overlap(prompt, job.prompts.baseline, baseline_answer)
        control_answer = self._decode(self.unsteered_ids(prompt, "control"))
        control_overlap = self._overlap(prompt, job.prompts.steer, control_answer)
        return PromptOutcome(
            position=position,
            index=prompt.index,
            question=prompt.question,
            gold=prompt.gold,
            topic=prompt.topic,
            baseline_answer=baseline_answer,
            baseline_overlap=baseline_overlap,
            baseline_simpleqa=baseline_grade.simpleqa,
            baseline_quality=baseline_grade.quality,
            baseline_composite=composite(baseline_overlap, baseline_grade.quality),
            control_answer=control_answer,
            control_overlap=control_overlap,
            control_simpleqa=control_grade.simpleqa,
            control_quality=control_grade.quality,
            control_composite=composite(control_overlap, control_grade.quality),
            answer=chosen.answer,
            explanation=explanation,
            alphas=list(chosen.alphas),
            gammas=list(chosen.gammas),
            strengths=list(chosen.strengths),
            overlap=chosen.overlap,
            perplexity=chosen.perplexity,
            objective=chosen.objective,
            simpleqa=grade.simpleqa,
            quality=grade.quality,
            composite=composite(chosen.overlap, grade.quality),
            judge=grade.judge,
            rubric=grade.rubric,
            rationale=grade.rationale,
            n_trials=len(trials),
            failed_trials=sum(1 for t in trials if t.failure),
            seconds=seconds,
            trials=trials,
        )


def trial_failure(row: int, answer: str, nonfinite_rows: set[int]) -> str:
    """Why a trial failed, or "": the search marks such trials FAIL and goes on."""
    if row in nonfinite_rows:
        return "non-finite activations: the steered hidden states became NaN/inf (weights too large?)"
    if not answer:
        return "empty answer: the steered model stopped before producing any text"
    return ""


def trial_rows(outcome: PromptOutcome) -> list[dict[str, Any]]:
    rows = []
    for t in outcome.trials:
        row: dict[str, Any] = {"position": outcome.position, "index": outcome.index, "trial": t.number}
        for s, (a, g) in enumerate(zip(t.alphas, t.gammas)):
            row[f"alpha_{s}"], row[f"gamma_{s}"], row[f"strength_{s}"] = a, g, a * g
        perplexity_value = t.perplexity if math.isfinite(t.perplexity) else None
        row.update(overlap=t.overlap, perplexity=perplexity_value, objective=t.objective, answer=t.answer,
                   state="FAIL" if t.failure else "COMPLETE", failure=t.failure)
        rows.append(row)
    return rows


def prompt_metrics(outcome: PromptOutcome) -> dict[str, float]:
    metrics = {
        "prompt_composite": outcome.composite,
        "prompt_overlap": outcome.overlap,
        "prompt_objective": outcome.objective,
        "prompt_quality": float(outcome.quality),
        "prompt_baseline_composite": outcome.baseline_composite,
        "prompt_control_composite": outcome.control_composite,
    }
    if math.isfinite(outcome.perplexity):
        metrics["prompt_perplexity"] = outcome.perplexity
    for s, value in enumerate(outcome.strengths):
        metrics[f"prompt_strength_{s}"] = value
    return metrics


def summary_metrics(outcomes: Sequence[PromptOutcome], threshold: float) -> dict[str, float]:
    """This run's metrics, plus the unsteered answers' (``baseline_*``) and the zero-steering
    control's (``control_*``) on the same prompts, scored the same way."""
    metrics: dict[str, float] = {}
    for prefix in ("", "baseline_", "control_"):
        part = summarize(
            [getattr(o, f"{prefix}composite") for o in outcomes],
            [getattr(o, f"{prefix}overlap") for o in outcomes],
            [getattr(o, f"{prefix}simpleqa") for o in outcomes],
            threshold,
        )
        metrics.update({f"{prefix}{k}": v for k, v in part.items()})
    metrics["objective_mean"] = sum(o.objective for o in outcomes) / len(outcomes)
    metrics["failed_trials"] = float(sum(o.failed_trials for o in outcomes))
    metrics["n_prompts"] = float(len(outcomes))
    return metrics


# how a judge is reached, not what it grades: changing these resumes the same job
_JUDGE_TRANSPORT = ("concurrency", "timeout", "max_retries", "backoff", "cache", "api_key_env", "batch_size")


def job_key(resolved_config: dict[str, Any]) -> str:
    """Identifies a job for resuming: everything in its config but where it is logged and how its
    judge is reached."""
    relevant = {k: v for k, v in resolved_config.items() if k != "tracking"}
    if isinstance(relevant.get("judge"), dict):
        relevant["judge"] = {k: v for k, v in relevant["judge"].items() if k not in _JUDGE_TRANSPORT}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def dataset_digest(prompts: Sequence[Prompt]) -> str:
    return hashlib.sha256(json.dumps([p.index for p in prompts]).encode()).hexdigest()[:12]


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
        scorer = shared_model(named_model_config(job.eval.perplexity_model), QuantizationConfig(), job.cache_dir)
    key = job_key(resolved_config)
    try:
        runner = PromptRunner(job, loaded, judge, key, scorer)  # checks segment boundaries against the layer count
    except ValueError as error:
        raise SetupError(str(error).splitlines()[0]) from error
    selection: list[dict[str, Any]] = []
    if job.data.select == "baseline_failed":
        prompts, selection = runner.select_baseline_failed(prompts)
        if not prompts:
            raise ValueError(f"data.select=baseline_failed kept none of {len(selection)} prompts: raise data.limit")
    target_of = None
    if job.steering.target == "shuffled":  # a function of the job's prompts and seed: resume keeps it
        by_index = {p.index: p for p in prompts}
        try:
            target_of = {i: by_index[j] for i, j in shuffled_partners(list(by_index), job.seed).items()}
        except ValueError as error:
            raise SetupError(str(error)) from error
    tags = {
        "fusion.mode": job.steering.mode,
        "fusion.model": job.model.name,
        "fusion.model_identity": source.identity,
        "fusion.quantization": job.quantization.name,
        "fusion.judge": getattr(judge, "name", str(job.judge.get("name"))),
        "fusion.perplexity_model": scorer.source.identity if scorer else "loaded model",
        "fusion.sweep_id": sweep_id or "none",
        "fusion.steering_exact": str(not job.steering.cache).lower(),
        "fusion.steering_target": job.steering.target,
        "fusion.segments": ",".join(f"{s.start}-{s.stop - 1}" for s in runner.segments),
        "fusion.device": str(loaded.device) + (f" (device_map={job.model.device_map})" if job.model.device_map else ""),
        "fusion.device_name": loaded.placement.name,
        "fusion.dtype": loaded.placement.dtype_name,
        "fusion.batch_rows": str(runner.prompts_per_pack() * min(job.search.batch_size, job.search.n_trials)),
        "fusion.dataset": f"{job.data.name}:{len(prompts)}:{dataset_digest(prompts)}",
        **environment_tags(),
    }
    run_name = job.tracking.run_name or f"{job.steering.mode}-{job.model.name}"
    # from the run's creation on, everything sits in the try: an interruption anywhere marks the run
    # KILLED (left open, MLflow's exit handler would close it as FINISHED)
    status = "FAILED"
    try:
        run_id = tracker.start(run_name, tags, flatten(resolved_config), key)
        if selection and not tracker.resumed:
            tracker.log_selection(selection)
        torch.manual_seed(job.seed)  # after the run exists, so run names do not repeat
        output_dir.mkdir(parents=True, exist_ok=True)
        records_path = output_dir / "prompts.jsonl"
        # a rerun of an interrupted job continues its run: finished prompts are neither redone nor relogged
        outcomes = [PromptOutcome.from_row(row) for row in tracker.finished_prompts()]
        for outcome in outcomes:
            tracker.log_missing_metrics(outcome.position, prompt_metrics(outcome))
        done = {o.index for o in outcomes}
        runner.answer_unsteered(prompts)
        trials_total = (len(prompts) - len(done)) * (job.search.n_trials if job.steering.mode != "baseline" else 0)
        with tqdm(
            total=len(prompts), initial=len(done), desc=f"prompts [{job.steering.mode}]", unit="prompt"
        ) as prompt_bar, tqdm(
            total=trials_total, desc="trials", unit="trial", disable=trials_total == 0, leave=False
        ) as trial_bar:
            todo = [(position, prompt) for position, prompt in enumerate(prompts) if prompt.index not in done]
            size = runner.prompts_per_pack()
            # a prompt is committed (record, MLflow rows) once its pack is searched and graded; an
            # interrupted pack is redone on resume, reading back the studies it had completed
            for start in range(0, len(todo), size):
                for outcome in runner.run_pack(todo[start : start + size], trial_bar, target_of):
                    outcomes.append(outcome)
                    with records_path.open("a") as f:
                        f.write(json.dumps(outcome.row()) + "\n")
                    tracker.log_prompt(outcome.position, outcome.row(), prompt_metrics(outcome), trial_rows(outcome))
                    prompt_bar.update(1)
                    prompt_bar.set_postfix(composite=f"{outcome.composite:.2f}")
        outcomes.sort(key=lambda o: o.position)
        summary = summary_metrics(outcomes, job.eval.accuracy_threshold)
        summary["wall_seconds"] = time.perf_counter() - started
        tracker.log_summary(summary)
        config_path = output_dir / "resolved_config.json"
        config_path.write_text(json.dumps(resolved_config, indent=2))
        tracker.log_artifact(config_path)
        hydra_dir = output_dir / ".hydra"
        if hydra_dir.is_dir():
            tracker.log_artifact(hydra_dir, "hydra")
        for path in plots.job_plots(outcomes, runner.segments, loaded.num_layers, output_dir, job.eval.accuracy_threshold):
            tracker.log_artifact(path, "plots")
        status = "FINISHED"
        return JobResult(run_id, uri, summary, outcomes)
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        tracker.end(status)
