"""Per-prompt stages on a loaded model: unsteered answers, references, packed search, grading.

What a question gets is its steering method's to say (fusion.methods): one unsteered answer (a
method that does not steer: the bare question, or the question after its reference text), or a
search over the method's weights with hooks on the layers it weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from fusion.config.schema import JobConfig
from fusion.evaluate.judges import Judge
from fusion.evaluate.outcomes import Candidate, PromptOutcome, TrialResult, trial_failure
from fusion.evaluate.scoring import perplexity, search_objective
from fusion.job.answering import Answerer
from fusion.job.targets import JobTargets
from fusion.methods import SteeringMethod, resolve
from fusion.methods.segments import segments_tag
from fusion.model.devices import default_batch_rows
from fusion.model.loading import LoadedModel
from fusion.model.prompts import PromptTexts, render, render_in_context
from fusion.model.steering import steering
from fusion.profiling import stage
from fusion.records import GradeRequest, Prompt
from fusion.references import blinded
from fusion.search.weights import (
    OnTrial,
    StudySpec,
    best_trial,
    count_trials,
    prompt_seed,
    search_prompts,
    show_decode_steps,
)
from fusion.tracking.stores import optuna_storage
from fusion.tracking.vectors import prompt_vectors


class PromptRunner:
    """Runs the per-prompt stages on a loaded model: references, packed search, grading. The
    unsteered answers and their scoring are its :class:`Answerer`'s; the steering targets are built
    from its :class:`JobTargets` (the job's questions, given at construction)."""

    def __init__(
        self,
        job: JobConfig,
        loaded: LoadedModel,
        judge: Judge,
        key: str = "",
        scorer: LoadedModel | None = None,
        fixed_strengths: Sequence[float] | None = None,
        *,
        questions: Sequence[Prompt] = (),
        answerer: Answerer | None = None,
    ) -> None:
        self.job, self.loaded, self.key, self.judge = job, loaded, key, judge
        # the selection's answerer, if any (its unsteered answers and perplexity model carry over)
        self.answerer = answerer or Answerer(job, loaded, key, scorer)
        self.method: SteeringMethod = resolve(job.steering, job.steering.plugin)
        # applied to every question with no search (search.strengths, search.strengths_from)
        self.fixed_strengths = tuple(fixed_strengths) if fixed_strengths is not None else None
        self.storage = optuna_storage(job, key) if key else None  # no key: a benchmark or test, nothing kept
        # the layer groups that each get one (alpha, gamma): checks segment boundaries and layers
        self.segments = self.method.groups(loaded.num_layers, job.steering)
        # what a method builds its targets from: every question of the job, its seed, a job-long cache
        # (without their gold answers where the reference is no oracle: fusion.references.blinded)
        self.targets = JobTargets(self.answerer, tuple(blinded(self.answerer.reference, questions)), job.seed)

    def layer_weights(self, rows: Sequence[tuple[Sequence[float], dict[str, float]]]) -> torch.Tensor:
        """``[rows, layers]`` weights (alpha*gamma per layer) of (per-group strengths, parameters) rows."""
        n = self.loaded.num_layers
        weights = [self.method.layer_weights(s, params, self.segments, n) for s, params in rows]
        return torch.tensor(weights, dtype=torch.float32)

    def _candidates(
        self, prompt: Prompt, prompt_text: str, rows: list[list[int]], nonfinite_rows: set[int]
    ) -> list[Candidate]:
        answers = [self.answerer.decode(r) for r in rows]
        nll = self.answerer.nll(prompt_text, rows, answers)
        return [
            Candidate(
                a,
                self.answerer.search_overlap(prompt, self.job.prompts.steer, a),
                perplexity(n),
                trial_failure(i, a, nonfinite_rows),
            )
            for i, (a, n) in enumerate(zip(answers, nll))
        ]

    def prompts_per_pack(self) -> int:
        """How many prompts' trial batches fit in one generated batch of ``search.max_batch_rows``."""
        exact = self.job.steering.decoding == "exact"
        rows = self.job.search.max_batch_rows or default_batch_rows(self.loaded.device, exact)
        return max(1, rows // self.rows_per_prompt())

    def rows_per_prompt(self) -> int:
        """Generated rows per question and round: a batch of trials, or one with fixed strengths."""
        return 1 if self.fixed_strengths is not None else min(self.job.search.batch_size, self.job.search.n_trials)

    def search_pack(
        self,
        prompts: Sequence[Prompt],
        texts: Sequence[PromptTexts],
        targets: Sequence[torch.Tensor],
        on_trial: OnTrial | None = None,
        on_step: Callable[[int, int], None] | None = None,
    ) -> list[list[TrialResult]]:
        """The searches of several prompts, their trials generated together (one batch per round).

        Perplexity is scored per prompt (one batch of its own trials), as an unpacked search does.
        """
        job = self.job

        def evaluate(rows: Sequence[tuple[int, Sequence[float], dict[str, float]]]) -> list[Candidate]:
            slots = [slot for slot, _, _ in rows]
            strengths = self.layer_weights([(s, params) for _, s, params in rows])
            row_targets = torch.stack([targets[slot] for slot in slots])  # [rows, layers, d]
            nonfinite: set[int] = set()
            cached, additive = job.steering.decoding == "cached", self.method.spec.update == "add"
            with steering(
                self.loaded.decoder_layers, row_targets, strengths, cached=cached, additive=additive
            ) as session:
                ids = self.answerer.generate(
                    [texts[slot].steer for slot in slots],
                    session=session,
                    use_cache=job.steering.decoding == "cached",
                    nonfinite_rows=nonfinite,
                    on_step=on_step,
                )
            candidates: list[Candidate | None] = [None] * len(rows)
            for slot in dict.fromkeys(slots):
                mine = [i for i, s in enumerate(slots) if s == slot]
                scored = self._candidates(
                    prompts[slot],
                    texts[slot].steer,
                    [ids[i] for i in mine],
                    {k for k, i in enumerate(mine) if i in nonfinite},
                )
                for i, cand in zip(mine, scored):
                    candidates[i] = cand
            return [c for c in candidates if c is not None]

        if self.fixed_strengths is not None:
            return self._fixed(evaluate, len(prompts), on_trial)
        specs = [StudySpec(prompt_seed(job.search.seed, p.index), f"fusion-{self.key}-{p.index}") for p in prompts]
        num_layers, steering_config = self.loaded.num_layers, job.steering
        return search_prompts(
            evaluate,
            specs,
            len(self.segments),
            job.search,
            on_trial=on_trial,
            storage=self.storage,
            suggest_extra=lambda trial: self.method.suggest(trial, num_layers, steering_config),
            extra_params=self.method.spec.extra_params,
        )

    def _fixed(
        self, evaluate: Callable[..., list[Candidate]], n: int, on_trial: OnTrial | None
    ) -> list[list[TrialResult]]:
        """No search and no study: one row per question with the fixed strengths."""
        fixed, search = self.fixed_strengths, self.job.search
        assert fixed is not None
        params = self.method.fixed_params(self.loaded.num_layers, self.job.steering)
        ones = (1.0,) * len(fixed)  # alpha = the strength, gamma = 1: only the product steers
        out = []
        for slot, cand in enumerate(evaluate([(slot, fixed, params) for slot in range(n)])):
            scores = (cand.answer, cand.overlap, cand.perplexity, search.objective_weight, search.perplexity_cap)
            value = search_objective(search.objective, *scores)
            result = TrialResult(
                0, fixed, ones, cand.answer, cand.overlap, cand.perplexity, value, cand.failure, params
            )
            if on_trial is not None:
                on_trial(slot, result)
            out.append([result])
        return out

    def _unsteered_answers(self, prompts: Sequence[Prompt], sources: Sequence[Prompt]) -> list[Chosen]:
        """One answer per question without hooks, scored as a search scores a trial: the bare
        question (a baseline method), or the question after its reference text (a prompted one:
        the reference as a prompt); the prompted answers are generated as one batch."""
        job = self.job
        if self.method.spec.role == "prompted":
            completions = self.answerer.reference_completions(sources)
            explanations = [explanation for explanation, _ in completions]
            asked = [
                render_in_context(job.prompts, self.loaded.tokenizer, p, completion)
                for p, (_, completion) in zip(prompts, completions)
            ]
            rows = self.answerer.generate_stored(asked)
            # overlap of the answer alone (under overlap=echo with the steer prompt's echo: the
            # in-context prompt would echo the gold answer itself)
            template = job.prompts.steer
        else:
            explanations = [""] * len(prompts)
            asked = [render(job.prompts, self.loaded.tokenizer, p).baseline for p in prompts]
            rows = [self.answerer.unsteered_ids(p, "baseline") for p in prompts]
            template = job.prompts.baseline
        out = []
        zeros = (0.0,) * max(1, len(self.segments))
        for prompt, explanation, prompt_text, ids in zip(prompts, explanations, asked, rows):
            answer = self.answerer.decode(ids)
            overlap = self.answerer.search_overlap(prompt, template, answer)
            ppl = perplexity(self.answerer.nll(prompt_text, [ids], [answer])[0])
            value = search_objective(
                job.search.objective, answer, overlap, ppl, job.search.objective_weight, job.search.perplexity_cap
            )
            out.append(Chosen(explanation, [], TrialResult(-1, zeros, zeros, answer, overlap, ppl, value)))
        return out

    def _steered(self, prompts: Sequence[Prompt], sources: Sequence[Prompt], trial_bar: tqdm | None) -> list[Chosen]:
        """Each question's steering target, as its method builds it (its own reference means, the
        placebo's partner's, a global vector), then the packed search."""
        job = self.job
        texts = [render(job.prompts, self.loaded.tokenizer, p) for p in prompts]
        references = self.method.targets(self.targets, prompts, sources)
        searches = self.search_pack(
            prompts,
            texts,
            [targets for _, targets in references],
            count_trials(trial_bar),
            show_decode_steps(trial_bar, job.prompts.max_new_tokens),
        )
        return [
            Chosen(explanation, trials, best_trial(trials), targets)
            for (explanation, targets), trials in zip(references, searches)
        ]

    def run_pack(
        self,
        pack: Sequence[tuple[int, Prompt]],
        trial_bar: tqdm | None = None,
        target_of: dict[int, Prompt] | None = None,
    ) -> Iterator[PromptOutcome]:
        """Answer (or search), grade and score the prompts of one pack; ``pack`` holds (position, prompt).

        ``target_of`` maps a prompt's index to the prompt whose reference it gets (the placebo);
        None: each prompt's own. Graded and handed over one prompt at a time: the caller commits
        each before the next is graded, so a judge that goes down mid-pack loses no finished prompt.
        """
        start = time.perf_counter()
        prompts = [prompt for _, prompt in pack]
        sources = [target_of[p.index] for p in prompts] if target_of else prompts
        # answered and searched without the gold where the reference is no oracle; graded with it
        reference = self.answerer.reference
        if self.method.spec.steers:
            chosen = self._steered(blinded(reference, prompts), blinded(reference, sources), trial_bar)
        else:
            chosen = self._unsteered_answers(blinded(reference, prompts), blinded(reference, sources))
        seconds = round((time.perf_counter() - start) / len(pack), 3)
        for (position, prompt), pick, source in zip(pack, chosen, sources):
            yield self._graded(position, prompt, pick, source, seconds)

    def _graded(self, position: int, prompt: Prompt, pick: Chosen, source: Prompt, seconds: float) -> PromptOutcome:
        """The prompt's three answers graded, its outcome, and the steering that made its answer."""
        (seen,) = blinded(self.answerer.reference, [prompt])  # as answered: the gold is for the judge alone
        answers = [self.answerer.decode(self.answerer.unsteered_ids(seen, k)) for k in ("baseline", "control")]
        answers.append(pick.best.answer)
        with stage("grading"):
            grades = self.judge.grade([GradeRequest(prompt.question, prompt.gold, a) for a in answers])
        overlap = None  # an oracle's search scored the gold overlap the outcome reports
        if not self.answerer.reference.spec.oracle:
            template = self.job.prompts.baseline if self.method.spec.role == "baseline" else self.job.prompts.steer
            overlap = self.answerer.overlap(prompt, template, pick.best.answer)
        outcome = self.answerer.outcome(
            position, prompt, pick.explanation, pick.trials, pick.best, grades, seconds, overlap
        )
        if self.method.spec.reference:
            outcome.steered.target_index = source.index
        if self.method.spec.steers and pick.targets is not None:
            outcome.steering = prompt_vectors(
                self.job,
                self.loaded,
                segments_tag(self.segments),
                outcome,
                render(self.job.prompts, self.loaded.tokenizer, prompt).steer,
                pick.targets,
                self.layer_weights([(pick.best.strengths, pick.best.params)]),
            )
        return outcome


@dataclass(frozen=True)
class Chosen:
    """A question's answer before grading: its explanation, its trials and the chosen one, and the
    reference means it was steered toward (None when nothing steered)."""

    explanation: str
    trials: list[TrialResult]
    best: TrialResult
    targets: torch.Tensor | None = None
