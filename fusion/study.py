"""``fusion study``: the controlled comparison of a model on a question set, in one command.

    fusion study model=gemma3_270m data=simpleqa data.offset=1000 data.limit=260 --seeds 0,1,2

runs, into one sweep of its own, the unsteered baseline, the reference as a prompt (in_context),
Fusion Steering (full, segmented), single-layer steering, a global steering vector (mean_diff) and
the placebo (full toward another question's reference), each searched method once per search
seed; optionally the paper's exact decoding on the first questions beside the cached runs. It
prints a time estimate before it starts and each job as it goes, and writes ``REPORT.md`` (every
group, the verdicts with Holm-adjusted p-values, the seed handling) with the answers file beside
it. Interrupted, the same command resumes: a finished job is read back, an unfinished one resumes
its own run. The overrides are Hydra's, passed to every job (``python -m fusion.run``'s).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fusion.config.schema import JobConfig
from fusion.errors import ConfigError, Interrupted, one_line_errors
from fusion.methods import MethodSpec, find

# the groups a study runs: name -> overrides (a placebo is full toward another question's reference)
GROUPS = {
    "baseline": ["steering=baseline"],
    "in_context": ["steering=in_context"],
    "full": ["steering=full"],
    "segmented": ["steering=segmented"],
    "single_layer": ["steering=single_layer"],
    "mean_diff": ["steering=mean_diff"],
    "placebo": ["steering=full", "steering.target=shuffled"],
}
# seconds per question on this project's 2-core CPU for the default model, 5 trials: the first
# estimate, before the study has timed a job of its own. Unsteered and searched from the 260-question
# study of 2026-12-05 (baseline and in_context 6-7 min, each searched group 15-16 min); exact from
# the bench's projection of the paper's study in exact mode (535 min for 2 x 260, docs/speed.md)
SECONDS_PER_QUESTION = {"unsteered": 1.4, "searched": 3.4, "exact": 60.0}
JOB_OVERHEAD = 25.0  # seconds a job spends outside its questions (run, references, summary, plots)


@dataclass(frozen=True)
class Job:
    """One job of the study: a label and the overrides that make it."""

    label: str
    overrides: list[str]
    kind: str  # unsteered | searched | exact: what it costs per question

    def questions(self, total: int) -> int:
        return questions_of(self.overrides, total)


def questions_of(overrides: Sequence[str], total: int) -> int:
    """How many of ``total`` questions the overrides answer: the last ``data.limit`` counts, as in
    Hydra (an exact job's own limit follows the user's)."""
    limit = next((o.split("=", 1)[1] for o in reversed(overrides) if o.startswith("data.limit=")), None)
    return min(total, int(limit)) if limit not in (None, "null", "None") else total


def plan(groups: Sequence[str], seeds: Sequence[int], exact: int, overrides: Sequence[str]) -> list[Job]:
    """The study's jobs, in the order they run: unsteered first (every later job reuses their
    answers), then each searched group per seed, then the exact-decoding subset."""
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ConfigError(f"--groups: no group {', '.join(unknown)}: use some of {', '.join(GROUPS)}")
    jobs = []
    for group in groups:
        if spec_of(group).searched:  # once per search seed
            jobs += [Job(f"{group} s{s}", [*GROUPS[group], f"search.seed={s}", *overrides], "searched") for s in seeds]
        else:
            jobs.append(Job(group, [*GROUPS[group], *overrides], "unsteered"))
    exact = questions_of(overrides, exact)  # the exact subset never reaches past the study's own questions
    for group in groups if exact else ():
        # exact decoding differs from cached where a layer moves toward a mean (an added vector
        # keeps no mean: the two are the same computation); the placebo is not repeated
        spec = spec_of(group)
        if spec.steers and spec.update == "toward" and "steering.target=shuffled" not in GROUPS[group]:
            limited = [*GROUPS[group], "steering.decoding=exact", *overrides, f"data.limit={exact}"]
            jobs.append(Job(f"{group} exact", limited, "exact"))
    return jobs


def spec_of(group: str) -> MethodSpec:
    """The spec of the method a study group runs (its ``steering=`` override)."""
    mode = next(o.split("=", 1)[1] for o in GROUPS[group] if o.startswith("steering="))
    method = find(mode)
    assert method is not None, mode
    return method.spec


def estimate(jobs: Sequence[Job], total: int, per_question: dict[str, float]) -> float:
    """Seconds the jobs should take, from the seconds per question of each kind."""
    return sum(JOB_OVERHEAD + job.questions(total) * per_question[job.kind] for job in jobs)


def minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fusion study",
        description="The controlled comparison of a model on a question set in one command: baseline, in_context, "
        "full, segmented, single_layer, mean_diff and the placebo, then REPORT.md.",
    )
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides for every job, e.g. model=gemma3_270m data.limit=40"
    )
    parser.add_argument("--name", default="study", help="the study's sweep and folder name (default: study)")
    parser.add_argument("--out", type=Path, default=None, help="where REPORT.md goes (default: studies/NAME)")
    parser.add_argument("--seeds", default="0", help="search seeds of every searched group, e.g. 0,1,2")
    parser.add_argument("--groups", default=",".join(GROUPS), help=f"which groups (default: {','.join(GROUPS)})")
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
    args = parser.parse_args(argv)
    try:
        return _study(args)
    except KeyboardInterrupt as stop:  # the job's run keeps what it finished; the study resumes
        interrupted = stop if isinstance(stop, Interrupted) else Interrupted()
        print(interrupted.line().replace("the same command resumes the job", "the same command resumes the study"),
              file=sys.stderr, flush=True)  # fmt: skip
        return 128 + interrupted.signum


def _study(args: argparse.Namespace) -> int:
    with one_line_errors():
        from fusion.job.launch import split_launcher
        from fusion.job.preflight import checked_job, prepare

        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        launcher, overrides = split_launcher(args.overrides)  # hydra/launcher=ray_cluster: no job's override
        jobs = plan([g for g in args.groups.split(",") if g], seeds, args.exact, overrides)
        # every job's config checked before the first one starts
        first, *_ = [checked_job(job.overrides)[0] for job in jobs]
        total = len(prepare(first).prompts)
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
                           + [f"--groups {args.groups}"] * (args.groups != ",".join(GROUPS))
                           + [f"--exact {args.exact}"] * bool(args.exact))  # fmt: skip
        if read_back:  # the wall time below is this invocation's, not the study's
            command += f" (resumed: {read_back} of {len(jobs)} jobs were read back from an earlier attempt)"
        report(first, args.name, out, command, wall, args.labels)
        print(f"fusion study {args.name}: {len(jobs)} jobs in {minutes(wall)}; report in {out / 'REPORT.md'}")
    return 0


def run_all(
    jobs: Sequence[Job], name: str, total: int, launcher: Sequence[str] = (), shared: Sequence[str] = ()
) -> tuple[float, int]:
    """Run the jobs in order, in one process (they share the loaded model), into the sweep
    ``study/NAME``; the estimate of what is left is refined from the jobs timed so far. Returns the
    wall seconds and how many jobs were read back finished from an earlier attempt. With
    ``launcher`` overrides (hydra/launcher=ray_cluster), on that launcher instead."""
    from fusion.job.launch import launch_all
    from fusion.job.pipeline import run_job

    if launcher:
        job_time = lambda rest, rates: estimate(rest, total, rates)  # noqa: E731
        return launch_all(jobs, name, launcher, shared, job_time, SECONDS_PER_QUESTION, JOB_OVERHEAD)

    started = time.perf_counter()
    read_back = 0
    per_question = dict(SECONDS_PER_QUESTION)
    for k, job in enumerate(jobs, 1):
        print(f"\n[{k}/{len(jobs)}] {job.label}", flush=True)
        begun = time.perf_counter()
        folder = Path("outputs") / "studies" / name / job.label.replace(" ", "-")
        result = run_job(job.overrides, folder, sweep_id=f"study/{name}")
        seconds = time.perf_counter() - begun
        if result.read_back:  # a job finished by an earlier attempt says nothing of speed
            read_back += 1
        elif result.answered:  # a resumed job's time went to the questions it answered now
            per_question[job.kind] = max(0.0, seconds - JOB_OVERHEAD) / result.answered
        left = estimate(jobs[k:], total, per_question)
        print(f"[{k}/{len(jobs)}] {job.label} done in {minutes(seconds)}; about {minutes(left)} left", flush=True)
    return time.perf_counter() - started, read_back


def report(job: JobConfig, name: str, out: Path, command: str, wall: float, labels: Path | None) -> None:
    """REPORT.md of the study's sweep (its jobs share ``job``'s store), with its answers file beside it."""
    from fusion.report.build import main as build
    from fusion.tracking.stores import tracking_uri

    argv = ["--tracking-uri", tracking_uri(job), "--experiment", job.tracking.experiment, "--sweep-id", f"study/{name}",
            "--out", str(out), "--replication", "--no-log", "--command", command, "--wall-seconds", str(math.ceil(wall))]  # fmt: skip
    build([*argv, *(["--labels", str(labels)] if labels else [])])


if __name__ == "__main__":
    sys.exit(main())
