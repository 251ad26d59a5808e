"""What a job produces per prompt, as typed records, and their flat row form.

Torch-free, so the report and the plots read results without loading a model. A prompt's outcome
holds three graded answers (the unsteered baseline, the zero-steering control and the steered
answer) and its search trials; :meth:`PromptOutcome.row` flattens it into one row of
``prompts.json`` (the row format of every run so far: ``composite``, ``baseline_composite``, ...;
since the fluency measures, also ``fluency``, ``baseline_fluency`` and ``control_fluency``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from fusion.evaluate.grading import GRADE_KEY


@dataclass(frozen=True)
class Candidate:
    """What one trial produced: the answer and its two objective parts."""

    answer: str
    overlap: float
    perplexity: float
    # why the trial failed ("" if it did not): non-finite activations, an empty answer
    failure: str = ""


@dataclass(frozen=True)
class TrialResult:
    number: int
    alphas: tuple[float, ...]  # one per segment
    gammas: tuple[float, ...]
    answer: str
    overlap: float
    perplexity: float
    # a failed trial's objective is still computed (finite, for the record) but Optuna is told FAIL,
    # so the sampler does not learn from it and it is chosen only if every trial failed
    objective: float
    failure: str = ""
    # a steering method's extra parameters of this trial (single_layer: {"layer": 7.0})
    params: dict[str, float] = field(default_factory=dict)

    @property
    def strengths(self) -> tuple[float, ...]:
        """alpha * gamma per segment: the only quantity the steering hook sees."""
        return tuple(a * g for a, g in zip(self.alphas, self.gammas))


def trial_failure(row: int, answer: str, nonfinite_rows: set[int]) -> str:
    """Why a trial failed, or "": the search marks such trials FAIL and goes on."""
    if row in nonfinite_rows:
        return "non-finite activations: the steered hidden states became NaN/inf (weights too large?)"
    if not answer:
        return "empty answer: the steered model stopped before producing any text"
    return ""


@dataclass
class GradedAnswer:
    """One answer and its scores: token overlap with the gold answer, the judge's grades, composite,
    and its gold-free fluency measures."""

    answer: str
    overlap: float
    label: str  # the judge's grade: CORRECT, INCORRECT, NOT_ATTEMPTED (rows: key GRADE_KEY)
    quality: int
    composite: float
    # fusion.evaluate.fluency.Fluency.metrics() of the answer: the measures and ``degenerate`` (0/1); empty in
    # rows written before the runner recorded them (the measures follow from the answer alone)
    fluency: dict[str, float] = field(default_factory=dict)


@dataclass
class SteeredAnswer(GradedAnswer):
    """The best trial's answer, with what produced it."""

    explanation: str = ""  # the model's explanation in the reference completion
    alphas: list[float] = field(default_factory=list)  # one per segment
    gammas: list[float] = field(default_factory=list)
    strengths: list[float] = field(default_factory=list)  # alpha * gamma per segment
    params: dict[str, float] = field(default_factory=dict)  # the method's extra parameters (single_layer: layer)
    perplexity: float = math.inf
    objective: float = 0.0
    judge: str = ""
    rubric: str = ""
    rationale: str = ""  # the judge's words ("unparsed: ..." if it gave no grade)
    # the row (index) of the question whose reference steered this prompt: its own, another's with
    # steering.target=shuffled (the placebo), -1 with no steering
    target_index: int = -1


# prefixes of the flat row: baseline_answer, control_composite, ...; the steered answer has none
_UNSTEERED = ("baseline", "control")


def _key(name: str) -> str:
    """A graded answer's field as its row names it: the grade's ``label`` under ``GRADE_KEY``."""
    return GRADE_KEY if name == "label" else name


def _flat(answer: GradedAnswer, prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}{_key(k)}": v for k, v in asdict(answer).items()}


@dataclass
class PromptOutcome:
    """Everything known about one prompt at the end of its search; one row of ``prompts.json``."""

    position: int
    index: int
    question: str
    gold: str
    topic: str
    baseline: GradedAnswer  # the bare question, unsteered
    # the steering prompt answered without hooks (the paper has none, so part of its gain could
    # come from the prompt change alone)
    control: GradedAnswer
    steered: SteeredAnswer
    n_trials: int
    seconds: float
    failed_trials: int = 0  # trials marked FAIL (non-finite activations, empty answer)
    trials: list[TrialResult] = field(default_factory=list, repr=False)
    qid: str = ""  # the question's id (fusion.records.Prompt.qid); "" in rows written before rows had one
    # the steering the answer came from (fusion.tracking.vectors.SteeringVectors), while the job runs; not a row field
    steering: Any = field(default=None, repr=False, compare=False)

    def row(self) -> dict[str, Any]:
        keys = ("position", "index", "qid", "question", "gold", "topic")
        data: dict[str, Any] = {k: getattr(self, k) for k in keys}
        for prefix in _UNSTEERED:
            data.update(_flat(getattr(self, prefix), f"{prefix}_"))
        data.update(_flat(self.steered))
        data["perplexity"] = self.steered.perplexity if math.isfinite(self.steered.perplexity) else None
        data.update(n_trials=self.n_trials, seconds=self.seconds, failed_trials=self.failed_trials)
        return data

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PromptOutcome:
        """The outcome of a prompt finished by an earlier, interrupted attempt of this job."""
        # a field added since (``fluency``) is absent from older rows and keeps its default
        parts = {
            prefix: GradedAnswer(
                **{f.name: row[key] for f in fields(GradedAnswer) if (key := f"{prefix}_{_key(f.name)}") in row}
            )
            for prefix in _UNSTEERED
        }
        steered = {f.name: row[_key(f.name)] for f in fields(SteeredAnswer) if _key(f.name) in row}
        steered["perplexity"] = math.inf if steered.get("perplexity") is None else steered["perplexity"]
        return cls(
            position=row["position"],
            index=row["index"],
            question=row["question"],
            gold=row["gold"],
            topic=row["topic"],
            baseline=parts["baseline"],
            control=parts["control"],
            steered=SteeredAnswer(**steered),
            n_trials=row["n_trials"],
            seconds=row["seconds"],
            failed_trials=row.get("failed_trials", 0),
            qid=row.get("qid", ""),
        )
