"""``fusion study``: the controlled comparison of a model on a question set, in one command.

    fusion study model=gemma3_270m data=halueval data.limit=260 --seeds 0,1,2

runs, into one sweep of its own, the unsteered baseline, the reference as a prompt (in_context),
Fusion Steering (full, segmented), single-layer steering, a global steering vector (mean_diff) and
the placebo (full toward another question's reference), each searched method once per search
seed; optionally the paper's exact decoding on the first questions beside the cached runs. It
prints a time estimate before it starts and each job as it goes, and writes ``REPORT.md`` (every
group, the verdicts with Holm-adjusted p-values, the seed handling) with the answers file beside
it. Interrupted, the same command resumes: a finished job is read back, an unfinished one resumes
its own run. The overrides are Hydra's, passed to every job (``fusion run``'s). The plan and the
runs are :mod:`fusion.job.study`'s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = (
    "the controlled comparison in one command: baseline, in_context, full, segmented, single_layer, mean_diff, placebo"
)
DESCRIPTION = (
    "The controlled comparison of a model on a question set in one command: every steering method, the "
    "unsteered baseline, the reference as a prompt and the placebo, each searched method once per search seed, "
    "into one sweep; then REPORT.md with the verdicts. Interrupted, the same command resumes."
)


def parser() -> argparse.ArgumentParser:
    from fusion.job.study import GROUPS  # torch-free: the method specs

    groups = ",".join(g for g in GROUPS if g != "oracle")
    parser = argparse.ArgumentParser(prog="fusion study", description=DESCRIPTION)
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides for every job, e.g. model=gemma3_270m data.limit=40"
    )
    parser.add_argument("--name", default="study", help="the study's sweep and folder name (default: study)")
    parser.add_argument("--out", type=Path, default=None, help="where REPORT.md goes (default: studies/NAME)")
    parser.add_argument("--seeds", default="0", help="search seeds of every searched group, e.g. 0,1,2")
    parser.add_argument(
        "--groups",
        default=None,
        help=f"which groups, comma-separated (default: {groups}; and "
        "oracle, the placebo's method toward the gold and explanation, where the reference is not "
        "an oracle)",
    )
    parser.add_argument(
        "--exact",
        type=int,
        default=0,
        help="also full, segmented and single_layer with exact decoding on the first N questions",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="hand labels that adjudicate the strict positives (fusion report --labels)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the time estimate only")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_intermixed_args(argv)  # overrides before or after the options
    from fusion.errors import Interrupted

    try:
        return study(args)
    except KeyboardInterrupt as stop:  # the job's run keeps what it finished; the study resumes
        interrupted = stop if isinstance(stop, Interrupted) else Interrupted()
        print(interrupted.line().replace("the same command resumes the job", "the same command resumes the study"),
              file=sys.stderr, flush=True)  # fmt: skip
        return 128 + interrupted.signum


def study(args: argparse.Namespace) -> int:
    from fusion.config.schema import JobConfig
    from fusion.errors import one_line_errors
    from fusion.job.study import SECONDS_PER_QUESTION, default_groups, estimate, minutes, plan, report, run_all

    with one_line_errors():
        from fusion.job.launch import split_launcher
        from fusion.job.preflight import check_questions, checked_job, prepare

        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        launcher, overrides = split_launcher(args.overrides)  # hydra/launcher=ray_cluster: no job's override
        defaults = default_groups(overrides)
        groups = [g for g in args.groups.split(",") if g] if args.groups else defaults
        jobs = plan(groups, seeds, args.exact, overrides)
        # every job's config checked before the first one starts
        first, *rest = [checked_job(job.overrides)[0] for job in jobs]
        prompts = prepare(first).prompts
        for config in rest:  # a later job's method may need more of the questions (mean_diff: both folds)
            check_questions(config, prompts)
        total = len(prompts)
        out = args.out or Path("studies") / args.name
        # the rates are the default model's (JobConfig's default): another model's are timed as it goes
        other_model = first.model.name != JobConfig().model.name
        rates = "the default model's rates" + ("; the first jobs time this model's" * other_model)
        print(f"fusion study {args.name}: {len(jobs)} jobs on {total} questions; about "
              f"{minutes(estimate(jobs, total, SECONDS_PER_QUESTION))} on a 2-core CPU ({rates})",
              flush=True)  # fmt: skip
        for job in jobs:
            print(f"  {job.label}: {' '.join(job.overrides)}")
        if args.dry_run:
            return 0
        wall, read_back = run_all(jobs, args.name, total, launcher, overrides)
        command = " ".join(["fusion study", *args.overrides, f"--name {args.name}", f"--seeds {args.seeds}"]
                           + [f"--groups {args.groups}"] * (groups != defaults)
                           + [f"--exact {args.exact}"] * bool(args.exact))  # fmt: skip
        if read_back:  # the wall time below is this invocation's, not the study's
            command += f" (resumed: {read_back} of {len(jobs)} jobs were read back from an earlier attempt)"
        report(first, args.name, out, command, wall, args.labels)
        print(f"fusion study {args.name}: {len(jobs)} jobs in {minutes(wall)}; report in {out / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
