"""The controlled comparison's plan and its runs (``fusion study``): which jobs, in which order,
how long they should take, and the report of their sweep.

The groups come from the method specs (:mod:`fusion.methods`): every shipped method once, the
unsteered ones first, then the methods that move toward a reference, then those that add a vector;
and the placebo, the first searched method toward another question's reference.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fusion.config.schema import JobConfig
from fusion.errors import ConfigError
from fusion.methods import MethodSpec, builtin_names, find

PLACEBO = "steering.target=shuffled"  # a steered method toward another question's reference
# the ceiling of a study whose reference does not read the gold: the placebo's method toward the
# paper's reference (gold and explanation); it comes after the user's overrides so that it wins
ORACLE = "reference=gold_explanation"
# seconds per question on this project's 2-core CPU for the default model, 5 trials: the first
# estimate, before the study has timed a job of its own. Unsteered and searched from the 260-question
# study of 2026-12-07 (baseline and in_context 5-6 min, the searched groups 13-16 min, 85 min in all);
# exact from the bench's projection of the paper's study in exact mode (535 min for 2 x 260, docs/speed.md)
SECONDS_PER_QUESTION = {"unsteered": 1.2, "searched": 3.3, "exact": 60.0}
JOB_OVERHEAD = 25.0  # seconds a job spends outside its questions (run, references, summary, plots)


def method_spec(name: str) -> MethodSpec:
    method = find(name)
    assert method is not None, name
    return method.spec


def study_groups() -> dict[str, list[str]]:
    """The groups a study runs, name -> overrides: the shipped methods in the report's order, the
    unsteered ones first (every later job reuses their answers) and those that move toward a target
    before those that add one, then the placebo."""
    specs = [method_spec(name) for name in builtin_names()]
    ordered = sorted(specs, key=lambda s: (s.steers, s.update != "toward"))  # stable: the report's order within
    groups = {spec.name: [f"steering={spec.name}"] for spec in ordered}
    placebo = next(s for s in ordered if s.searched and s.reference and s.update == "toward")
    groups["placebo"] = [f"steering={placebo.name}", PLACEBO]
    groups["oracle"] = [f"steering={placebo.name}"]  # + ORACLE after the user's overrides
    return groups


def default_groups(overrides: Sequence[str]) -> list[str]:
    """Every group, the oracle ceiling only where the study's reference does not read the gold
    (toward the paper's reference it would be the placebo's method again)."""
    from fusion.references import resolve

    name = next((o.split("=", 1)[1] for o in reversed(overrides) if o.startswith("reference=")), None)
    oracle = name is None or resolve(name).spec.oracle
    return [g for g in GROUPS if g != "oracle" or not oracle]


GROUPS = study_groups()


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
    if "oracle" in groups and "oracle" not in default_groups(overrides):
        raise ConfigError("--groups oracle: the study's reference already reads the gold (add reference=passage)")
    jobs = []
    for group in groups:
        last = [ORACLE] if group == "oracle" else []
        if spec_of(group).searched:  # once per search seed
            jobs += [Job(f"{group} s{s}", [*GROUPS[group], f"search.seed={s}", *overrides, *last], "searched")
                     for s in seeds]  # fmt: skip
        else:
            jobs.append(Job(group, [*GROUPS[group], *overrides, *last], "unsteered"))
    exact = questions_of(overrides, exact)  # the exact subset never reaches past the study's own questions
    for group in groups if exact else ():
        # exact decoding differs from cached where a layer moves toward a mean (an added vector
        # keeps no mean: the two are the same computation); the placebo is not repeated
        spec = spec_of(group)
        if spec.steers and spec.update == "toward" and PLACEBO not in GROUPS[group] and group != "oracle":
            limited = [*GROUPS[group], "steering.decoding=exact", *overrides, f"data.limit={exact}"]
            jobs.append(Job(f"{group} exact", limited, "exact"))
    return jobs


def spec_of(group: str) -> MethodSpec:
    """The spec of the method a study group runs (its ``steering=`` override)."""
    return method_spec(next(o.split("=", 1)[1] for o in GROUPS[group] if o.startswith("steering=")))


def estimate(jobs: Sequence[Job], total: int, per_question: dict[str, float]) -> float:
    """Seconds the jobs should take, from the seconds per question of each kind."""
    return sum(JOB_OVERHEAD + job.questions(total) * per_question[job.kind] for job in jobs)


def minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def run_all(
    jobs: Sequence[Job], name: str, total: int, launcher: Sequence[str] = (), shared: Sequence[str] = ()
) -> tuple[float, int]:
    """Run the jobs in order, in one process (they share the loaded model), into the sweep
    ``study/NAME``; the estimate of what is left is refined from the jobs timed so far. Returns the
    wall seconds and how many jobs were read back finished from an earlier attempt. With
    ``launcher`` overrides (hydra/launcher=ray_cluster), on that launcher instead (``shared``: the
    overrides every job has)."""
    from fusion.job.launch import launch_all
    from fusion.job.pipeline import run_job

    if launcher:
        return launch_all(jobs, name, launcher, shared, lambda rest, rates: estimate(rest, total, rates),
                          SECONDS_PER_QUESTION, JOB_OVERHEAD)  # fmt: skip

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
    from fusion.report.build import ReportOptions, build
    from fusion.tracking.stores import tracking_uri

    options = ReportOptions(out=out, tracking_uri=tracking_uri(job), experiment=job.tracking.experiment,
                            sweep_id=f"study/{name}", log=False, replication=True, commands=[command],
                            wall_seconds=[math.ceil(wall)], labels=labels)  # fmt: skip
    print(build(options).table)
