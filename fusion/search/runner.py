"""Per-prompt stages on a loaded model: unsteered answers, references, packed search, grading."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from fusion.config.compose import SEARCHED_MODES, optuna_storage
from fusion.config.schema import JobConfig
from fusion.config.segments import segment_bounds, segments_tag
from fusion.evaluate.judges import Judge
from fusion.evaluate.outcomes import Candidate, PromptOutcome, TrialResult, trial_failure
from fusion.evaluate.scoring import perplexity, search_objective
from fusion.model.devices import default_batch_rows
from fusion.model.loading import LoadedModel
from fusion.model.prompts import (
    PromptTexts,
    reference_completion,
    reference_text,
    render,
    render_in_context,
)
from fusion.model.reference import reference_means
from fusion.model.steering import layer_strengths, steer
from fusion.records import GradeRequest, Prompt
from fusion.search.answering import Answerer
from fusion.search.weights import (
    OnTrial,
    StudySpec,
    best_trial,
    count_trials,
    prompt_seed,
    search_prompts,
    show_decode_steps,
)
from fusion.tracking.vectors import prompt_vectors


class PromptRunner(Answerer):
    """Runs the per-prompt stages on a loaded model: references, packed search, grading (the
    unsteered answers and their scoring come from :class:`Answerer`)."""

    def __init__(
        self,
        job: JobConfig,
        loaded: LoadedModel,
        judge: Judge,
        key: str = "",
        scorer: LoadedModel | None = None,
        fixed_strengths: Sequence[float] | None = None,
    ) -> None:
        super().__init__(job, loaded, key, scorer)
        self.judge = judge
        # applied to every question with no search (search.strengths, search.strengths_from)
        self.fixed_strengths = tuple(fixed_strengths) if fixed_strengths is not None else None
        self.storage = optuna_storage(job, key) if key else None  # no key: a benchmark or test, nothing kept
        self.layers = loaded.decoder_layers
        mode = job.steering.mode
        self.segments = (
            segment_bounds(loaded.num_layers, job.steering.boundaries)
            if mode == "segmented"
            else [range(loaded.num_layers)]
        )

    def _candidates(
        self, prompt: Prompt, prompt_text: str, rows: list[list[int]], nonfinite_rows: set[int]
    ) -> list[Candidate]:
        answers = [self._decode(r) for r in rows]
        nll = self._nll(prompt_text, rows, answers)
        return [
            Candidate(
                a, self._overlap(prompt, self.job.prompts.steer, a), perplexity(n), trial_failure(i, a, nonfinite_rows)
            )
            for i, (a, n) in enumerate(zip(answers, nll))
        ]

    def select_baseline_failed(self, pool: Sequence[Prompt]) -> tuple[list[Prompt], list[dict[str, Any]]]:
        """The paper's selection: answer the pool unsteered, grade, keep the INCORRECT ones
        (NOT_ATTEMPTED answers are dropped, as the authors did). Returns the kept prompts and a
        record per pool prompt."""
        self.answer_unsteered(pool, ["baseline"])
        answers = [self._decode(self.unsteered_ids(p, "baseline")) for p in pool]
        grades = self.judge.grade([GradeRequest(p.question, p.gold, a) for p, a in zip(pool, answers)])
        keys = ("index", "question", "gold", "baseline_answer", "simpleqa", "judge", "kept")
        rows = [
            dict(zip(keys, (p.index, p.question, p.gold, a, g.simpleqa, g.judge, g.simpleqa == "INCORRECT")))
            for p, a, g in zip(pool, answers, grades)
        ]
        return [p for p, row in zip(pool, rows) if row["kept"]], rows

    def references(self, prompts: Sequence[Prompt], texts: Sequence[PromptTexts]) -> list[tuple[str, torch.Tensor]]:
        """Each prompt's explanation and reference means ``h_l``."""
        out = []
        for prompt, text, explanation in zip(prompts, texts, self.explanations(prompts)):
            reference, span = reference_text(text, prompt.gold, explanation)
            out.append((explanation, reference_means(self.model, self.tokenizer, self.layers, reference, span)))
        return out

    def prompts_per_pack(self) -> int:
        """How many prompts' trial batches fit in one generated batch of ``search.max_batch_rows``."""
        rows = self.job.search.max_batch_rows or default_batch_rows(self.loaded.device)
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

        def evaluate(rows: Sequence[tuple[int, Sequence[float]]]) -> list[Candidate]:
            slots = [slot for slot, _ in rows]
            strengths = layer_strengths(torch.tensor([s for _, s in rows], dtype=torch.float32), self.segments)
            row_targets = torch.stack([targets[slot] for slot in slots])  # [rows, layers, d]
            nonfinite: set[int] = set()
            with steer(self.layers, row_targets, strengths, cached=job.steering.decoding == "cached") as session:
                ids = self._generate(
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

        if self.fixed_strengths is not None:  # no search and no study: one row per question
            fixed = self.fixed_strengths
            ones = (1.0,) * len(fixed)  # alpha = the strength, gamma = 1: only the product steers
            out = []
            for slot, cand in enumerate(evaluate([(slot, fixed) for slot in range(len(prompts))])):
                value = search_objective(
                    job.search.objective,
                    cand.answer,
                    cand.overlap,
                    cand.perplexity,
                    job.search.objective_weight,
                    job.search.perplexity_cap,
                )
                result = TrialResult(0, fixed, ones, cand.answer, cand.overlap, cand.perplexity, value, cand.failure)
                if on_trial is not None:
                    on_trial(slot, result)
                out.append([result])
            return out
        specs = [StudySpec(prompt_seed(job.search.seed, p.index), f"fusion-{self.key}-{p.index}") for p in prompts]
        return search_prompts(evaluate, specs, len(self.segments), job.search, on_trial=on_trial, storage=self.storage)

    def run_pack(
        self,
        pack: Sequence[tuple[int, Prompt]],
        trial_bar: tqdm | None = None,
        target_of: dict[int, Prompt] | None = None,
    ) -> Iterator[PromptOutcome]:
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
        slots = {p.index: slot for slot, p in enumerate(prompts)}
        reference_of: dict[int, torch.Tensor] = {}
        if job.steering.mode in ("baseline", "in_context"):
            # one unsteered answer per question, scored as a search scores a trial: the bare question
            # (baseline), or the question after its reference text (in_context: the reference as a
            # prompt, no hooks); the in-context answers are generated as one batch
            explanations = self.explanations(targets_from) if job.steering.mode == "in_context" else [""] * len(prompts)
            if job.steering.mode == "in_context":
                asked = [
                    render_in_context(job.prompts, self.tokenizer, p, reference_completion(source.gold, explanation))
                    for p, source, explanation in zip(prompts, targets_from, explanations)
                ]
                rows = self._generate_stored(asked)
            else:
                asked = [text.baseline for text in texts]
                rows = [self.unsteered_ids(p, "baseline") for p in prompts]
            for prompt, explanation, prompt_text, ids in zip(prompts, explanations, asked, rows):
                answer = self._decode(ids)
                # overlap of the answer alone (under overlap=echo with the steer prompt's echo: the
                # in-context prompt would echo the gold answer itself)
                template = job.prompts.baseline if job.steering.mode == "baseline" else job.prompts.steer
                overlap = self._overlap(prompt, template, answer)
                ppl = perplexity(self._nll(prompt_text, [ids], [answer])[0])
                value = search_objective(
                    job.search.objective, answer, overlap, ppl, job.search.objective_weight, job.search.perplexity_cap
                )
                zeros = (0.0,) * n_seg
                searched.append((explanation, [], TrialResult(-1, zeros, zeros, answer, overlap, ppl, value)))
        else:
            references = self.references(
                targets_from, [render(job.prompts, self.tokenizer, p) for p in targets_from] if target_of else texts
            )

            reference_of = {p.index: targets for p, (_, targets) in zip(prompts, references)}
            searches = self.search_pack(
                prompts,
                texts,
                [targets for _, targets in references],
                count_trials(trial_bar),
                show_decode_steps(trial_bar, job.prompts.max_new_tokens),
            )
            searched = [(explanation, t, best_trial(t)) for (explanation, _), t in zip(references, searches)]
        seconds = round((time.perf_counter() - start) / len(pack), 3)
        # graded and handed over one prompt at a time: the caller commits each before the next is
        # graded, so a judge that goes down mid-pack loses no finished prompt
        for (position, prompt), (explanation, trials, chosen), source in zip(pack, searched, targets_from):
            answers = [self._decode(self.unsteered_ids(prompt, k)) for k in ("baseline", "control")] + [chosen.answer]
            grades = self.judge.grade([GradeRequest(prompt.question, prompt.gold, a) for a in answers])
            outcome = self._outcome(position, prompt, explanation, trials, chosen, grades, seconds)
            if job.steering.mode != "baseline":
                outcome.steered.target_index = source.index
            if job.steering.mode in SEARCHED_MODES:
                strengths = layer_strengths(torch.tensor([chosen.strengths], dtype=torch.float32), self.segments)
                outcome.steering = prompt_vectors(
                    job,
                    self.loaded,
                    segments_tag(self.segments),
                    outcome,
                    texts[slots[prompt.index]].steer,
                    reference_of[prompt.index],
                    strengths,
                )
            yield outcome
