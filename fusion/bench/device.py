"""The generation benchmark on random weights: ``fusion bench --random-weights gemma2_2b --device cuda``.

Needs only torch, transformers and this package (no Hydra, MLflow or Optuna import, no download),
so it runs on a GPU machine without network. It measures the steering hooks' cost per decoding
step against the same model without hooks, and the gain of packing several prompts' trials into
one batch, on prompts of random tokens with every row generating all ``max_new_tokens`` tokens.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch

from fusion.model.cpu_linear import pack_linears
from fusion.model.devices import default_batch_rows, device_name, resolve, synchronize
from fusion.model.generation import Encoded, greedy
from fusion.model.random_models import random_model
from fusion.model.steering import capture, steering

TRIALS = 5  # the paper's trials per prompt
STUDY_GENERATIONS = 260 * 2 * TRIALS  # the paper's study: 260 prompts x (full, segmented) x 5 trials


def _timed(device: torch.device, fn: Callable[[], Any], repeats: int, warmup: bool = True) -> tuple[float, Any]:
    """Best of ``repeats`` runs, after one warm-up run unless the shapes were warmed already
    (first calls pay for kernels and allocations)."""
    value = fn() if warmup else None
    best = math.inf
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        value = fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best, value


def run_random_weights(
    architecture: str,
    device: str = "auto",
    dtype: str = "auto",
    *,
    prompt_tokens: int = 40,
    max_new_tokens: int = 100,
    packed_rows: int | None = None,
    repeats: int = 2,
    alone_prompts: int = 8,
) -> dict[str, Any]:
    """Step times with and without hooks at 5, 40 and ``packed_rows`` rows, and packed against one
    prompt per batch. One prompt alone takes the same time whichever prompt it is (random tokens, no
    stop), so the one-at-a-time side runs ``alone_prompts`` prompts and is scaled to the pack."""
    placement = resolve(device, dtype)
    dev = placement.device
    model = random_model(architecture, device=dev, dtype=placement.dtype)
    if placement.linear == "onednn":  # as load_configured does
        pack_linears(model)
    rows_packed = packed_rows or default_batch_rows(dev)
    bench = _RandomBench(model, dev, rows_packed, prompt_tokens, max_new_tokens)
    r: dict[str, Any] = {
        "device": str(dev),
        "device_name": device_name(dev),
        "dtype": placement.dtype_name,
        "linear": placement.linear,
        "torch": torch.__version__,
        "architecture": f"{architecture} (random weights)",
        "prompt_tokens": prompt_tokens,
        "max_new_tokens": max_new_tokens,
        "packed_rows": rows_packed,
    }
    exact_packed = _step_times(r, bench, dev, repeats)
    _packing(r, bench, dev, repeats, min(alone_prompts, bench.prompts), exact_packed)
    return r


class _RandomBench:
    """Random prompts of ``prompt_tokens`` tokens, ``rows_packed // TRIALS`` of them, their targets
    (each prompt's layer outputs averaged over its tokens: the model's own scale) and random strengths."""

    def __init__(
        self, model: Any, dev: torch.device, rows_packed: int, prompt_tokens: int, max_new_tokens: int
    ) -> None:
        self.model, self.rows_packed, self.max_new_tokens = model, rows_packed, max_new_tokens
        self.layers = model.model.layers
        self.prompts = rows_packed // TRIALS
        generator = torch.Generator().manual_seed(0)
        self.prompt_ids = torch.randint(2, model.config.vocab_size, (self.prompts, prompt_tokens), generator=generator)
        with capture(self.layers) as outs:
            model(input_ids=self.prompt_ids.to(dev), use_cache=False)
        self.targets = torch.stack(
            [o.float().mean(dim=1) for o in outs if o is not None], dim=1
        )  # [prompts, layers, d]
        self.strengths = torch.rand(rows_packed, len(self.layers), generator=generator) * 0.2

    def generate(self, first: int, count: int, steered: bool, cached: bool) -> list[list[int]]:
        """The trials of prompts ``first .. first+count-1`` as one batch (no stop token)."""
        ids = self.prompt_ids[first : first + count].repeat_interleave(TRIALS, dim=0)
        prompt = Encoded(ids, torch.ones_like(ids))
        kwargs: dict[str, Any] = dict(max_new_tokens=self.max_new_tokens, stop_ids=set(), use_cache=cached)
        if not steered:
            return greedy(self.model, prompt, **kwargs)
        rows = slice(first * TRIALS, (first + count) * TRIALS)
        row_targets = self.targets[first : first + count].repeat_interleave(TRIALS, dim=0)
        with steering(self.layers, row_targets, self.strengths[rows], cached=cached) as session:
            return greedy(self.model, prompt, session=session, **kwargs)


def _step_times(r: dict[str, Any], bench: _RandomBench, dev: torch.device, repeats: int) -> tuple[float, Any] | None:
    """Exact-mode step times with and without hooks at 5, 40 and the packed rows; returns the packed
    size's steered run (time, answers), which the packing comparison reuses."""
    step = 1000 / bench.max_new_tokens
    exact_packed: tuple[float, Any] | None = None
    for rows in sorted({5, 40, bench.rows_packed}):
        count = rows // TRIALS
        if count > bench.prompts:
            continue
        plain, _ = _timed(dev, lambda: bench.generate(0, count, False, False), repeats)
        hooked, answers = _timed(dev, lambda: bench.generate(0, count, True, False), repeats)
        if rows == bench.rows_packed:
            exact_packed = hooked, answers
        r[f"unsteered_step_ms_{rows}_rows"] = plain * step
        r[f"step_ms_{rows}_rows"] = hooked * step
        r[f"throughput_steered_vs_unsteered_exact_{rows}_rows"] = plain / hooked
    r["throughput_steered_vs_unsteered_exact"] = r["throughput_steered_vs_unsteered_exact_5_rows"]
    packed_key = f"throughput_steered_vs_unsteered_exact_{bench.rows_packed}_rows"
    r["throughput_steered_vs_unsteered_exact_packed"] = r[packed_key]
    return exact_packed


def _packing(
    r: dict[str, Any],
    bench: _RandomBench,
    dev: torch.device,
    repeats: int,
    alone_count: int,
    exact_packed: tuple[float, Any] | None,
) -> None:
    """Packed against one prompt per batch, cached and exact, and whether they give the same answers."""
    prompts, rows_packed = bench.prompts, bench.rows_packed
    r["alone_prompts_timed"] = alone_count
    same_rows = compared_rows = 0
    for cached in (True, False):
        name = "cached" if cached else "exact"
        bench.generate(0, 1, True, cached)  # warms the one-prompt shapes; the loop below is timed once
        alone_some_s, alone = _timed(
            dev, lambda: [t for p in range(alone_count) for t in bench.generate(p, 1, True, cached)], 1, False
        )
        alone_s = alone_some_s * prompts / alone_count
        if cached or exact_packed is None:
            packed_s, packed = _timed(dev, lambda: bench.generate(0, prompts, True, cached), repeats)
        else:
            packed_s, packed = exact_packed
        same_rows += sum(a == b for a, b in zip(alone, packed))
        compared_rows += len(alone)
        r[f"packed_speedup_{name}"] = alone_s / packed_s
        # generation only: no perplexity, references or search bookkeeping
        r[f"study_projected_min_{name}_packed"] = math.ceil(STUDY_GENERATIONS / rows_packed) * packed_s / 60
        r[f"study_projected_min_{name}_unpacked"] = STUDY_GENERATIONS / TRIALS * alone_s / prompts / 60
    # float32 on the CPU: identical. In bf16 on a GPU the batch size picks other kernels, whose
    # rounding can flip a near-tie token; the share says how often that happened.
    r["packed_same_answers"] = same_rows == compared_rows
    r["packed_same_answers_share"] = same_rows / compared_rows
