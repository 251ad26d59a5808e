"""Benchmark: ``python -m fusion.bench`` (``make bench``) prints ratios measured side by side.

Not a test: timings depend on the machine, so the output names the machine, and every comparison
runs both sides in this one process, on the same prompts and trials, back to back.

* default: the pipeline on the real default model (:mod:`fusion.bench.pipeline`).
* ``--random-weights ARCH [--device cuda]``: the generation loop and hooks on a random-weight
  model of a real architecture (:mod:`fusion.bench.device`); imports only torch and transformers,
  so it runs on a GPU machine with neither network nor the experiment stack.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

from fusion.paths import PROJECT_ROOT


def report(results: dict[str, Any], path: Path) -> None:
    """Write ``results`` as JSON and print them as aligned ``key  value`` lines."""
    path.write_text(json.dumps(results, indent=2) + "\n")
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    print(f"(written to {path})")


def machine() -> str:
    import torch

    return (
        f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} torch threads"
    ).replace(" ,", ",")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fusion bench", description="Fusion Steering speed benchmark")
    parser.add_argument("--prompts", type=int, default=8, help="SimpleQA prompts for the packing comparisons")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--exact-prompts", type=int, default=4, help="prompts for the exact-mode packing comparison")
    parser.add_argument(
        "--loop-prompts", type=int, default=2, help="prompts searched with the paper's one-trial-at-a-time loop"
    )
    parser.add_argument("--max-new-tokens", type=int, default=100)
    parser.add_argument(
        "--json", type=Path, default=None, help="default: bench.json (bench-<arch>-<device>.json with --random-weights)"
    )
    parser.add_argument(
        "--random-weights",
        metavar="ARCH",
        default=None,
        help="benchmark generation on a random-weight model: tiny, smollm2_135m or gemma2_2b",
    )
    parser.add_argument("--device", default="auto", help="with --random-weights: auto, cpu, cuda or cuda:N")
    parser.add_argument("--dtype", default="auto", help="with --random-weights: auto, float32, bfloat16 or float16")
    parser.add_argument(
        "--packed-rows",
        type=int,
        default=None,
        help="with --random-weights: rows of the packed batch (default: the device's)",
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="with --random-weights: timed runs per measurement (best kept)"
    )
    args = parser.parse_args(argv)
    if args.random_weights:
        from fusion.bench.device import run_random_weights

        results = {
            "machine": machine(),
            **run_random_weights(
                args.random_weights,
                args.device,
                args.dtype,
                max_new_tokens=args.max_new_tokens,
                packed_rows=args.packed_rows,
                repeats=args.repeats,
            ),
        }
        path = args.json or PROJECT_ROOT / f"bench-{args.random_weights}-{results['device'].replace(':', '')}.json"
    else:
        from fusion.bench.pipeline import run_pipeline

        results = {
            "machine": machine(),
            **run_pipeline(args.prompts, args.trials, args.max_new_tokens, args.loop_prompts, args.exact_prompts),
        }
        path = args.json or PROJECT_ROOT / "bench.json"
    report(results, path)


if __name__ == "__main__":
    main()
