"""Answers without hooks on a loaded model, and how answers are scored: the baseline, the zero-steering
control and the explanations (batched across prompts, kept in the sweep's answer store), the overlap and
perplexity of any answer, each question's reference means and its own answer's (what a steering method
builds its targets from, :mod:`fusion.job.targets`), a question's graded outcome, and the paper's
selection of the questions the model gets wrong unsteered. The runner holds one (:mod:`fusion.job.runner`)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict
from functools import partial
from typing import Any

import torch
import transformers
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase

from fusion.config.schema import JobConfig
from fusion.evaluate.answer_end import answer_stops, cut_answer, find_stop
from fusion.evaluate.fluency import fluency
from fusion.evaluate.grading import GRADE_KEY
from fusion.evaluate.judges import Judge
from fusion.evaluate.outcomes import GradedAnswer, PromptOutcome, SteeredAnswer, TrialResult
from fusion.evaluate.scoring import composite, token_overlap
from fusion.model.devices import input_device
from fusion.model.generation import StopStrings, encode, eos_ids, greedy
from fusion.model.likelihood import continuation_nll
from fusion.model.loading import LoadedModel
from fusion.model.prompts import PromptTexts, reference_text, render, split_explanation
from fusion.model.reference import reference_means
from fusion.profiling import stage
from fusion.records import Grade, GradeRequest, Prompt
from fusion.references import resolve as resolve_reference
from fusion.tracking.answer_store import AnswerStore, batch_key
from fusion.tracking.stores import study_folder, tracking_uri


def stop_strings(tokenizer: PreTrainedTokenizerBase, stops: Sequence[str]) -> StopStrings | None:
    """What ends a row of the generation at ``stops``, by the rule of :func:`cut_answer`; None: nothing."""
    return StopStrings(tokenizer, stops, partial(find_stop, stops=stops)) if stops else None


class Answerer:
    """The loaded model's unsteered answers and the scoring every answer gets."""

    def __init__(self, job: JobConfig, loaded: LoadedModel, key: str = "", scorer: LoadedModel | None = None) -> None:
        self.job, self.loaded, self.key = job, loaded, key
        self.scorer = scorer  # the perplexity model, if not the loaded one (search.perplexity_model)
        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        # what each question's reference text is, and what a search trial's overlap is scored against
        self.reference = resolve_reference(job.reference.name, job.reference.plugin)
        self.layers = loaded.decoder_layers
        self.stop = eos_ids(self.model, self.tokenizer)
        # a model without a chat template answers the raw prompt and then writes its next question
        # frame: generation stops there and answers are cut before it (fusion.evaluate.answer_end)
        self.stops = answer_stops(job.prompts.stop_strings, job.prompts.chat_template)
        self.stop_strings = stop_strings(self.tokenizer, self.stops)
        # unsteered answers by (question id, "baseline" | "control"), answered in batches up front
        self._unsteered: dict[tuple[str, str], list[int]] = {}
        # ... and kept beside the tracking store for the other jobs of a sweep and for a rerun
        # (no key: a benchmark or test, which must time or check the generation itself)
        self.answer_store = AnswerStore(study_folder(tracking_uri(job)).parent / "answers") if key else None
        self._answer_identity = [
            loaded.source.identity,
            asdict(job.model),
            asdict(job.quantization),
            str(loaded.device),
            loaded.placement.dtype_name,
            loaded.placement.linear,
            torch.__version__,
            transformers.__version__,
            job.prompts.max_new_tokens,
            sorted(self.stop),
            self.tokenizer.pad_token_id,
        ]
        if self.stops:  # only then: the stores of answers generated without stops stay valid
            self._answer_identity.append(list(self.stops))

    def generate(self, texts: Sequence[str], **kwargs: Any) -> list[list[int]]:
        """Greedy answers; unsteered ones use the KV cache (no hook, so nothing to recompute)."""
        kwargs.setdefault("use_cache", True)
        # a steered generation is a search's trials; an unsteered one keeps its caller's stage
        with stage("trial decoding") if kwargs.get("session") is not None else nullcontext():
            return greedy(
                self.model,
                encode(self.tokenizer, texts),
                max_new_tokens=self.job.prompts.max_new_tokens,
                stop_ids=self.stop,
                stop_strings=self.stop_strings,
                drop_finished=self.job.search.drop_finished,
                in_place_cache=self.job.search.in_place_cache,
                **kwargs,
            )

    def decode(self, ids: list[int]) -> str:
        """An answer's text: it ends before the next question frame (``prompts.stop_strings``)."""
        return cut_answer(str(self.tokenizer.decode(ids, skip_special_tokens=True)), self.stops).strip()

    def overlap(self, prompt: Prompt, template: str, answer: str, against: str | None = None) -> float:
        """The answer's token overlap with the gold, or with ``against`` (what the reference scores a
        search trial against, fusion.references)."""
        if self.job.eval.overlap == "echo":
            # the authors decoded the whole sequence, so gold words in the question counted
            answer = template.format(question=prompt.question, gold=prompt.gold) + " " + answer
        return token_overlap(prompt.gold if against is None else against, answer)

    def search_overlap(self, prompt: Prompt, template: str, answer: str) -> float:
        """The overlap a search trial (or an unsteered answer in its place) is scored by."""
        return self.overlap(prompt, template, answer, self.reference.scored_against(prompt))

    def nll(self, prompt_text: str, rows: list[list[int]], answers: list[str]) -> list[float]:
        """Mean NLL of each answer after the prompt, under the perplexity model. Another model
        re-tokenises the answer text with its own tokenizer (token ids do not carry over)."""
        with stage("perplexity"):
            if self.scorer is None:
                return continuation_nll(self.model, self.tokenizer, prompt_text, rows)
            tok = self.scorer.tokenizer
            ids = [tok(a, add_special_tokens=False)["input_ids"] if a else [] for a in answers]
            return continuation_nll(self.scorer.model, tok, prompt_text, ids)

    def answer_unsteered(
        self, prompts: Sequence[Prompt], kinds: Sequence[str] = ("baseline", "control"), progress: bool = False
    ) -> None:
        """Answer ``prompts`` without steering, ``prompts.unsteered_batch_size`` prompts per batch:
        the bare question (``baseline``), the steering prompt (``control``) or the explanation prompt
        (``explanation``, the model's own explanation after the gold answer).

        A left-padded batch of prompts costs little more than one prompt on a CPU (``make
        bench-pipeline``: 2.8x faster for 8, same answers). With ``progress``, a bar counts the
        answers as their batches finish (minutes on a CPU before the first question is searched).
        """
        size = self.job.prompts.unsteered_batch_size
        todo_of = {kind: [p for p in prompts if (p.key, kind) not in self._unsteered] for kind in kinds}
        total = sum(len(todo) for todo in todo_of.values())
        with tqdm(
            total=total,
            desc=f"unsteered answers [{', '.join(kinds)}]",
            unit="answer",
            disable=not progress or not total,
        ) as bar:
            for kind, todo in todo_of.items():
                self._answer_kind(kind, todo, size, bar)

    def _answer_kind(self, kind: str, todo: list[Prompt], size: int, bar: tqdm) -> None:
        for start in range(0, len(todo), size):
            chunk = todo[start : start + size]
            rendered = [render(self.job.prompts, self.tokenizer, p) for p in chunk]
            # the control is the steering prompt answered without hooks
            texts = [{"control": r.steer, "explanation": r.explanation}.get(kind, r.baseline) for r in rendered]
            for prompt, ids in zip(chunk, self.generate_stored(texts, kind == "explanation")):
                self._unsteered[(prompt.key, kind)] = ids
            bar.update(len(chunk))

    def generate_stored(self, texts: list[str], explanation: bool = False) -> list[list[int]]:
        """Unsteered answers of one batch, from the answer store when an earlier job generated them
        (``explanation``: the batch is of explanations, for the profile)."""
        with stage("explanation" if explanation else "unsteered answers"):
            if self.answer_store is None:
                return self.generate(texts)
            key = batch_key(self._answer_identity, texts)
            rows = self.answer_store.get(key, len(texts))
            if rows is None:
                rows = self.generate(texts)
                self.answer_store.put(key, rows)
            return rows

    def unsteered_ids(self, prompt: Prompt, kind: str) -> list[int]:
        if (prompt.key, kind) not in self._unsteered:
            self.answer_unsteered([prompt], [kind])
        return self._unsteered[(prompt.key, kind)]

    def explanations(self, prompts: Sequence[Prompt]) -> list[str]:
        """Each prompt's explanation of its gold answer, generated unsteered in batches of prompts."""
        self.answer_unsteered(prompts, ["explanation"])
        marker = self.job.prompts.explanation_marker
        return [split_explanation(self.decode(self.unsteered_ids(p, "explanation")), marker) for p in prompts]

    def reference_completions(self, prompts: Sequence[Prompt]) -> list[tuple[str, str]]:
        """Each prompt's explanation ("" where the reference needs none) and reference completion."""
        needs = self.reference.spec.explanation
        explanations = self.explanations(prompts) if needs else [""] * len(prompts)
        return [(e, self.reference.completion(p, e)) for p, e in zip(prompts, explanations)]

    def references(
        self, prompts: Sequence[Prompt], texts: Sequence[PromptTexts] | None = None
    ) -> list[tuple[str, torch.Tensor]]:
        """Each prompt's explanation and reference means ``h_l``."""
        texts = texts or [render(self.job.prompts, self.tokenizer, p) for p in prompts]
        pairs = zip(texts, self.reference_completions(prompts))
        return [(explanation, self.means(*reference_text(text, done))) for text, (explanation, done) in pairs]

    def means(self, text: str, span: tuple[int, int]) -> torch.Tensor:
        """``h_l`` of ``text`` over ``span``, from the answer store where an earlier job of the sweep
        captured it (the same forward pass, so the same tensor bit for bit)."""
        with stage("reference pass"):
            key = batch_key([*self._answer_identity, "means"], [text, f"{span[0]}:{span[1]}"])
            store = self.answer_store
            found = store.get_tensor(key, input_device(self.model)) if store else None
            if found is None:
                found = reference_means(self.model, self.tokenizer, self.layers, text, span)
                if store:
                    store.put_tensor(key, found)
            return found

    def answer_means(self, prompts: Sequence[Prompt]) -> list[torch.Tensor | None]:
        """Each prompt's own unsteered answer to the steering prompt (the zero-steering control),
        averaged per layer where a reference would be (None for an empty answer)."""
        out: list[torch.Tensor | None] = []
        for prompt in prompts:
            texts = render(self.job.prompts, self.tokenizer, prompt)
            answer = self.decode(self.unsteered_ids(prompt, "control"))
            prefix = texts.steer + texts.reference_separator
            span = (len(prefix), len(prefix) + len(answer))
            out.append(self.means(prefix + answer, span) if answer.strip() else None)
        return out

    def outcome(
        self,
        position: int,
        prompt: Prompt,
        explanation: str,
        trials: list[TrialResult],
        chosen: TrialResult,
        grades: Sequence[Grade],
        seconds: float,
        overlap: float | None = None,
    ) -> PromptOutcome:
        """``overlap``: the chosen answer's overlap with the gold where its search scored it against
        another text (a reference that is no oracle); None: the search's own."""
        baseline_grade, control_grade, grade = grades
        chosen_overlap = chosen.overlap if overlap is None else overlap
        unsteered = []
        for kind, template, kind_grade in (
            ("baseline", self.job.prompts.baseline, baseline_grade),
            ("control", self.job.prompts.steer, control_grade),
        ):
            answer = self.decode(self.unsteered_ids(prompt, kind))
            overlap = self.overlap(prompt, template, answer)
            unsteered.append(
                GradedAnswer(
                    answer,
                    overlap,
                    kind_grade.label,
                    kind_grade.quality,
                    composite(overlap, kind_grade.quality),
                    fluency=fluency(answer).metrics(),
                )
            )
        steered = SteeredAnswer(
            chosen.answer,
            chosen_overlap,
            grade.label,
            grade.quality,
            composite(chosen_overlap, grade.quality),
            fluency=fluency(chosen.answer).metrics(),
            explanation=explanation,
            alphas=list(chosen.alphas),
            gammas=list(chosen.gammas),
            strengths=list(chosen.strengths),
            params=dict(chosen.params),
            perplexity=chosen.perplexity,
            objective=chosen.objective,
            judge=grade.judge,
            rubric=grade.rubric,
            rationale=grade.rationale,
        )
        return PromptOutcome(
            position=position,
            index=prompt.index,
            qid=prompt.qid,
            question=prompt.question,
            gold=prompt.gold,
            topic=prompt.topic,
            baseline=unsteered[0],
            control=unsteered[1],
            steered=steered,
            n_trials=len(trials),
            failed_trials=sum(1 for t in trials if t.failure),
            seconds=seconds,
            trials=trials,
        )


def select_baseline_failed(
    answerer: Answerer, judge: Judge, pool: Sequence[Prompt]
) -> tuple[list[Prompt], list[dict[str, Any]]]:
    """The paper's selection: answer the pool unsteered, grade, keep the INCORRECT ones
    (NOT_ATTEMPTED answers are dropped, as the authors did). Returns the kept prompts and a
    record per pool prompt."""
    answerer.answer_unsteered(pool, ["baseline"])
    answers = [answerer.decode(answerer.unsteered_ids(p, "baseline")) for p in pool]
    grades = judge.grade([GradeRequest(p.question, p.gold, a) for p, a in zip(pool, answers)])
    keys = ("index", "question", "gold", "baseline_answer", GRADE_KEY, "judge", "kept")
    rows = [
        dict(zip(keys, (p.index, p.question, p.gold, a, g.label, g.judge, g.label == "INCORRECT")))
        for p, a, g in zip(pool, answers, grades)
    ]
    return [p for p, row in zip(pool, rows) if row["kept"]], rows
