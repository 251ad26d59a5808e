"""The comparison's projected wall time from a short measured run (``make bench``, ``fusion bench
--study``), with the speed-up of the new generation path over the old one measured side by side.

Each side runs, on the first questions (a full batch of unsteered answers at least: smaller
batches than the study's would overstate its time) and into a cold store of its own, the two kinds of job a
study is made of, in the study's order: the unsteered baseline (its baseline and control answers
land in the answer store) and a searched job (full steering: it reads them back and generates the
explanations, which in a study the in_context job generates instead: the work is counted once
either way). Their seconds per question and outside the questions project the study's plan
(:func:`fusion.job.study.plan`: seven groups, one seed) onto its questions; the searched jobs after
the first read the explanations and the reference means back from the answer store, as they do in
a study, so their projection leaves those stages out. By default the old side is the path before the levers: it keeps
ended rows in the generated batches (``search.drop_finished=false``), grows the KV cache by
concatenation (``search.in_place_cache=false``), asks and tells each study
on the storage trial by trial (``search.studies_in_memory=false``), packs 40 rows
(``search.max_batch_rows=40``) and reads no reference means back; the new side is the
default; ``--old``/``--new`` compare other levers (``search.max_batch_rows=160`` against 40). Where the two
sides compute the same thing they must give the same answers: the bench counts the ones that differ.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fusion.bench.profiled import JobProfile, profile_job, table

# what tells the two sides apart by default: the lever's switch
# (the old side also packs 40 rows, the CPU default before 160, and its searched jobs read no
# reference means back: they had no store for them)
SIDES = {
    "old": (
        "search.drop_finished=false",
        "search.in_place_cache=false",
        "search.studies_in_memory=false",
        "search.max_batch_rows=40",
    ),
    "new": (),
}
# the job of each kind the bench times (the study's first of each kind)
KINDS = {"unsteered": ["steering=baseline"], "searched": ["steering=full"]}


@dataclass(frozen=True)
class Side:
    """One side's timed jobs, by kind, and every answer they gave."""

    name: str
    jobs: dict[str, JobProfile]
    answers: list[tuple[str, str]]
    stored_means: bool = True  # its later searched jobs read the reference means from the answer store

    def projected(self, total: int, overrides: Sequence[str] = ()) -> float:
        """Seconds the study's plan should take on ``total`` questions at this side's rates (a
        ``data.limit`` among ``overrides`` is the timed jobs', not the study's)."""
        from fusion.job.study import default_groups, plan, spec_of

        study = [o for o in overrides if not o.startswith("data.limit=")]
        jobs = plan(default_groups(study), [0], 0, study)
        searched = [j for j in jobs if j.kind == "searched"]
        seconds = 0.0
        for j in jobs:
            timed = self.jobs[j.kind]
            per_question = timed.per_question
            if j in searched[1:]:  # the answer store gives it what the first searched job made
                toward = spec_of(j.label.split()[0]).update == "toward"
                per_question -= self.read_back(timed, toward and self.stored_means)
            seconds += timed.overhead + j.questions(total) * per_question
        return seconds

    @staticmethod
    def read_back(timed: JobProfile, means: bool) -> float:
        """Seconds per question a later searched job of the study reads from the answer store instead
        of computing: the explanations, and (``means``: a method toward each question's reference)
        the reference passes; mean_diff captures its own answers' means, as many passes again."""
        own = timed.profile.seconds
        return (own.get("explanation", 0.0) + own.get("reference pass", 0.0) * means) / max(timed.answered, 1)


def run_side(name: str, questions: int, overrides: Sequence[str], folder: Path) -> Side:
    """The unsteered and the searched job of one side (``overrides`` ending with the side's own),
    into ``folder``'s store, in the study's order."""
    jobs: dict[str, JobProfile] = {}
    answers: list[tuple[str, str]] = []
    for kind, method in KINDS.items():
        job_overrides = [*method, *overrides, f"data.limit={questions}"]  # --questions wins
        jobs[kind] = profile_job(job_overrides, folder, f"{kind} {name}")
        answers += jobs[kind].answers
    return Side(name, jobs, answers)


def run_projection(
    questions: int,
    total: int = 260,
    overrides: Sequence[str] = (),
    sides_overrides: Mapping[str, Sequence[str]] = SIDES,
) -> tuple[dict[str, Any], str]:
    """Both sides, old then new (``sides_overrides``: each side's overrides after ``overrides``);
    the results (``bench-study.json``) and the profile table."""
    sides = {}
    for name in ("old", "new"):
        with tempfile.TemporaryDirectory(prefix=f"fusion-bench-{name}-") as tmp:
            side = run_side(name, questions, [*overrides, *sides_overrides[name]], Path(tmp))
        old_path = name == "old" and tuple(sides_overrides[name]) == SIDES["old"]
        sides[name] = replace(side, stored_means=not old_path)
    old, new = sides["old"], sides["new"]
    r: dict[str, Any] = {"questions": questions, "projected_questions": total}
    for name, side in sides.items():
        r[f"{name}_overrides"] = " ".join(sides_overrides[name]) or "(the defaults)"
        r[f"study_projected_min_{name}"] = side.projected(total, overrides) / 60
        for kind, job in side.jobs.items():
            r[f"{kind}_s_per_question_{name}"] = job.per_question
            r[f"{kind}_job_outside_questions_s_{name}"] = job.overhead
    r["speedup_new_vs_old"] = r["study_projected_min_old"] / r["study_projected_min_new"]
    for kind in KINDS:
        r[f"speedup_{kind}_new_vs_old"] = old.jobs[kind].per_question / new.jobs[kind].per_question
    r["answers_compared"] = len(new.answers)
    changed = [(which, a, b) for (which, a), (_, b) in zip(old.answers, new.answers, strict=True) if a != b]
    r["answers_changed"] = len(changed)
    r["changed_answers"] = [{"answer": which, "old": a, "new": b} for which, a, b in changed]
    r["profiles"] = [job.as_dict() for side in sides.values() for job in side.jobs.values()]
    return r, table([job for side in sides.values() for job in side.jobs.values()])
