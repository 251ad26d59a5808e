"""One job run with its stage profile (``fusion bench --profile OVERRIDES``): where its seconds
went (unsteered answers, explanations, the reference pass, trial decoding, perplexity, the
search's bookkeeping, grading, logging) and how full its generated batches were.

The job is the pipeline's own (:func:`fusion.job.pipeline.run_job`) with the timers of
:mod:`fusion.profiling` switched on; its tracking store, answer store and studies go to a folder of
their own (a cold store unless ``tracking.uri`` says otherwise), so nothing is read back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fusion.profiling import STAGES, DecodeFill, Profile, profiling

QUESTIONS = "questions"  # the stage around a job's questions (fusion.job.pipeline.run_job)


@dataclass(frozen=True)
class JobProfile:
    """A job's wall time, how many questions it answered, its profile, and every answer it gave
    (each question's baseline, control and chosen answer, then its trials', in order)."""

    label: str
    seconds: float
    answered: int
    profile: Profile
    answers: tuple[tuple[str, str], ...] = ()  # (question id and which answer, its text)

    @property
    def per_question(self) -> float:
        """Seconds per question: the job's time inside its questions over how many it answered."""
        return self.profile.inclusive.get(QUESTIONS, 0.0) / max(self.answered, 1)

    @property
    def overhead(self) -> float:
        """Seconds outside its questions: the run's start, the dataset, the summary and plots
        (the model is loaded before the job is timed)."""
        return self.seconds - self.profile.inclusive.get(QUESTIONS, 0.0)

    def stage_seconds(self) -> dict[str, float]:
        """Every stage's own seconds, the rest of the questions' time, and what no stage marks
        (the run's start, the summary and plots): every second of the job once."""
        own = self.profile.seconds
        rows = {name: own.get(name, 0.0) for name in STAGES}
        rows["other (questions)"] = own.get(QUESTIONS, 0.0)
        rows["other (job)"] = self.seconds - sum(own.values())
        return rows

    def fill(self) -> dict[str, DecodeFill]:
        return dict(self.profile.fill)

    def as_dict(self) -> dict[str, object]:
        fills = {
            kind: {
                "batches": f.batches,
                "steps_per_batch": round(f.steps_per_batch, 2),
                "rows_per_step": round(f.rows_per_step, 2),
                "finished_row_share": round(f.finished_share, 4),
                "prefill_padding_share": round(f.padding_share, 4),
            }
            for kind, f in self.fill().items()
        }
        return {
            "label": self.label,
            "seconds": round(self.seconds, 2),
            "answered": self.answered,
            "per_question_s": round(self.per_question, 3),
            "stages_s": {k: round(v, 4) for k, v in self.stage_seconds().items()},
            "calls": dict(self.profile.calls),
            "fill": fills,
        }


def profile_job(overrides: Sequence[str], folder: Path, label: str = "") -> JobProfile:
    """Run the job of ``overrides`` with its store in ``folder`` (unless they name a
    ``tracking.uri``), the model loaded first, and return its profile."""
    from fusion.job.pipeline import load_models, run_job
    from fusion.job.preflight import checked_job, prepare

    folder.mkdir(parents=True, exist_ok=True)
    overrides = list(overrides)
    if not any(o.startswith("tracking.uri=") for o in overrides):
        overrides.append(f"tracking.uri=sqlite:///{folder / 'mlflow.db'}")
    job, _ = checked_job(overrides)
    load_models(job, prepare(job))  # the process's shared copy: the job below finds it loaded
    with profiling() as profile:
        start = time.perf_counter()
        result = run_job(overrides, folder / (label or "job"))  # its own checks, as in a study
        seconds = time.perf_counter() - start
    answers = [
        (f"{o.qid or o.index} {what}", text)
        for o in result.outcomes
        for what, text in (
            ("baseline", o.baseline.answer),
            ("control", o.control.answer),
            ("chosen", o.steered.answer),
            *((f"trial {t.number}", t.answer) for t in o.trials),
        )
    ]
    return JobProfile(label or " ".join(overrides), seconds, result.answered, profile, tuple(answers))


def table(profiles: Sequence[JobProfile]) -> str:
    """The stage breakdown of each job side by side: seconds per question and share of its time."""
    head = ["stage"] + [f"{p.label} s/question" for p in profiles] + [f"{p.label} share" for p in profiles]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in profiles[0].stage_seconds():
        per_q = [f"{p.stage_seconds()[name] / max(p.answered, 1):.3f}" for p in profiles]
        share = [f"{100 * p.stage_seconds()[name] / p.seconds:.1f} %" for p in profiles]
        lines.append("| " + " | ".join([name, *per_q, *share]) + " |")
    totals = [f"{p.seconds / max(p.answered, 1):.3f}" for p in profiles]
    lines.append("| " + " | ".join(["whole job", *totals, *["100 %"] * len(profiles)]) + " |")
    for p in profiles:
        for kind, f in p.fill().items():
            lines.append(
                f"{p.label}, {kind}: {f.batches} batches, {f.steps_per_batch:.1f} decode steps per batch, "
                f"{f.rows_per_step:.1f} rows per step, {100 * f.finished_share:.1f} % of row-steps on ended "
                f"rows, {100 * f.padding_share:.1f} % of prefill positions padding"
            )
    return "\n".join(lines)
