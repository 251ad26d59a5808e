"""``fusion bench``: speed benchmarks, both sides of every comparison measured in one process.

``--study`` (``make bench``): the comparison's projected wall time from a short measured run, and
the new generation path against the old one side by side (:mod:`fusion.bench.projection`);
``--profile OVERRIDES``: one job with its stage breakdown (:mod:`fusion.bench.profiled`). By
default the pipeline on the real default model (:mod:`fusion.bench.pipeline`, ``make
bench-pipeline``); ``--random-weights ARCH [--device cuda]`` the generation loop and hooks on a
random-weight model of a real architecture (:mod:`fusion.bench.device`), importing only torch and
transformers so that it runs on a GPU machine with neither network nor the experiment stack.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "speed benchmarks (--study: projected study time; --profile: a job's stages; CPU pipeline; --random-weights)"
DESCRIPTION = (
    "Fusion Steering speed benchmarks: the pipeline on the real default model, or (--random-weights) the "
    "generation loop on a random-weight model of a real architecture; both sides of every comparison run in "
    "this one process, and the results are printed and written as JSON."
)
RANDOM = "with --random-weights: "


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusion bench", description=DESCRIPTION)
    parser.add_argument("overrides", nargs="*", help="with --study or --profile: Hydra overrides for the jobs")
    parser.add_argument(
        "--study",
        action="store_true",
        help="project the study's wall time (seven groups, one seed) from a short run, old vs new path side by side",
    )
    parser.add_argument("--profile", action="store_true", help="run the job of OVERRIDES and print where its time went")
    parser.add_argument(
        "--questions",
        type=int,
        default=32,
        help="with --study: questions each timed job answers (32: one unsteered batch)",
    )
    parser.add_argument("--total", type=int, default=260, help="with --study: questions the projection is for")
    parser.add_argument(
        "--old",
        action="append",
        default=None,
        help="with --study: an override of the old side (repeatable; default: the old path, search.drop_finished=false search.in_place_cache=false search.studies_in_memory=false search.max_batch_rows=40)",
    )
    parser.add_argument("--new", action="append", default=None, help="with --study: an override of the new side")
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
    command = parser()
    args = command.parse_intermixed_args(argv)  # overrides before or after the options
    if args.study and args.profile:
        command.error("--study or --profile, not both: --study times its own jobs")
    if args.overrides and not (args.study or args.profile):
        command.error(f"{args.overrides[0]}: overrides are for the jobs of --study or --profile: add one of them")
    from fusion.bench.results import machine, report
    from fusion.paths import PROJECT_ROOT

    if args.study or args.profile:
        return _study_or_profile(args)
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


def _study_or_profile(args: argparse.Namespace) -> int:
    """``--study`` or ``--profile``: jobs of the pipeline, timed; bad overrides fail in one line."""
    import json
    import tempfile

    from fusion.errors import one_line_errors
    from fusion.paths import PROJECT_ROOT

    with one_line_errors():
        if args.profile:
            from fusion.bench.profiled import profile_job, table

            with tempfile.TemporaryDirectory(prefix="fusion-profile-") as tmp:
                job = profile_job(args.overrides, Path(tmp), "job")
            print(table([job]))
            path = args.json or PROJECT_ROOT / "bench-profile.json"
            path.write_text(json.dumps(job.as_dict(), indent=2) + "\n")
        else:
            from fusion.bench.projection import SIDES, run_projection
            from fusion.bench.results import machine, report

            sides = {"old": args.old or SIDES["old"], "new": args.new or SIDES["new"]}
            results, breakdown = run_projection(args.questions, args.total, args.overrides, sides)
            profiles, changed = results.pop("profiles"), results.pop("changed_answers")
            print(breakdown)
            path = args.json or PROJECT_ROOT / "bench-study.json"
            report({"machine": machine(), **results}, path)
            for c in changed:  # each answer the two sides gave differently, by question and kind
                print(f"changed: {c['answer']}: {c['old']!r} -> {c['new']!r}")
            kept = {**json.loads(path.read_text()), "changed_answers": changed, "profiles": profiles}
            path.write_text(json.dumps(kept, indent=2) + "\n")
            return 0
    print(f"(written to {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
