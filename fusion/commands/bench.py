"""``fusion bench``: speed benchmarks, both sides of every comparison measured in one process.

By default the pipeline on the real default model (:mod:`fusion.bench.pipeline`, ``make bench``);
``--random-weights ARCH [--device cuda]`` the generation loop and hooks on a random-weight model
of a real architecture (:mod:`fusion.bench.device`), importing only torch and transformers so that
it runs on a GPU machine with neither network nor the experiment stack.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "speed benchmarks (CPU pipeline; --random-weights ARCH --device cuda)"
DESCRIPTION = (
    "Fusion Steering speed benchmarks: the pipeline on the real default model, or (--random-weights) the "
    "generation loop on a random-weight model of a real architecture; both sides of every comparison run in "
    "this one process, and the results are printed and written as JSON."
)
RANDOM = "with --random-weights: "


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusion bench", description=DESCRIPTION)
    parser.add_argument(
        "--prompts", type=int, default=8, help="prompts (of the default question set) for the packing comparisons"
    )
    parser.add_argument("--trials", type=int, default=5, help="search trials per prompt")
    parser.add_argument("--exact-prompts", type=int, default=4, help="prompts for the exact-mode packing comparison")
    parser.add_argument(
        "--loop-prompts", type=int, default=2, help="prompts searched with the paper's one-trial-at-a-time loop"
    )
    parser.add_argument("--max-new-tokens", type=int, default=100, help="tokens generated per answer")
    parser.add_argument(
        "--json", type=Path, default=None, help="default: bench.json (bench-<arch>-<device>.json with --random-weights)"
    )
    parser.add_argument(
        "--random-weights",
        metavar="ARCH",
        default=None,
        help="benchmark generation on a random-weight model: tiny, smollm2_135m or gemma2_2b",
    )
    parser.add_argument("--device", default="auto", help=RANDOM + "auto, cpu, cuda or cuda:N")
    parser.add_argument("--dtype", default="auto", help=RANDOM + "auto, float32, bfloat16 or float16")
    parser.add_argument(
        "--packed-rows", type=int, default=None, help=RANDOM + "rows of the packed batch (default: the device's)"
    )
    parser.add_argument("--repeats", type=int, default=2, help=RANDOM + "timed runs per measurement (best kept)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from fusion.bench.results import machine, report
    from fusion.paths import PROJECT_ROOT

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
