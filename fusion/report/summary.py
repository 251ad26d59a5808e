"""The report's groups as typed records: one :class:`GroupSummary` per group of replicates (a method,
budget, target, kind of steering and objective of one model), built by
:func:`fusion.report.groups.summarise` and read by every text, table and verdict of the report.

``report.json`` (``fusion report --json``) is :meth:`GroupSummary.to_dict` of each group: the same
keys in the same order as before the records existed, so committed reports rebuild byte for byte;
keys added since (the grade's metrics, :class:`~fusion.evaluate.metrics.GradeMetrics`) come last.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from fusion.evaluate.grading import GRADE_KEY
from fusion.evaluate.metrics import GradeMetrics
from fusion.methods import Role
from fusion.report.stats import Observation

# a question as the report pairs answers: its set's name (``data.name``) and its question id
# (:meth:`fusion.tracking.answers.Replicate.qid`)
PromptKey = tuple[str, str]


@dataclass(frozen=True)
class Metrics:
    """A replicate's summary metrics, or a group's mean (or sd) of them over its replicates; None
    where the runs did not record one (a study from before the strict metric)."""

    accuracy: float | None = None
    correct_fluent: float | None = None
    degenerate: float | None = None
    accurate_degenerate: float | None = None
    composite_mean: float | None = None
    composite_median: float | None = None
    composite_std: float | None = None
    overlap_mean: float | None = None
    # shares of the grades CORRECT, INCORRECT, NOT_ATTEMPTED (report.json and the runs' metrics name
    # them ``<GRADE_KEY>_correct`` ...: :data:`METRICS`)
    grade_correct: float | None = None
    grade_incorrect: float | None = None
    grade_not_attempted: float | None = None
    # the zero-steering control and the unsteered baseline, measured on the same prompts in every run
    control_accuracy: float | None = None
    control_composite_mean: float | None = None
    control_correct_fluent: float | None = None
    baseline_accuracy: float | None = None
    baseline_composite_mean: float | None = None
    baseline_correct_fluent: float | None = None

    @classmethod
    def of(cls, values: Mapping[str, float | None]) -> Metrics:
        """From a run's metrics (:data:`METRICS` keys)."""
        return cls(**{f.name: values.get(key) for f, key in zip(fields(cls), METRICS)})

    def to_dict(self) -> dict[str, float | None]:
        return {key: getattr(self, f.name) for f, key in zip(fields(self), METRICS)}


# the metrics' keys, as the runs log them and report.json holds them: the fields' names, the grade's
# shares under the name the rows give the grade
METRICS: tuple[str, ...] = tuple(
    f"{GRADE_KEY}{f.name.removeprefix('grade')}" if f.name.startswith("grade_") else f.name for f in fields(Metrics)
)


@dataclass(frozen=True)
class ReplicateSummary:
    """One replicate of a group (a run, or the merged shards of one job): its search seed and metrics."""

    seed: int
    shards: int
    runs: list[str]
    resumed: bool  # its wall time counts its last attempt only
    metrics: Metrics
    n_prompts: float | None
    wall_seconds: float | None
    failed_trials: float | None
    # the grade's metrics of its answers (:func:`fusion.report.groups.replicate_grade_metrics`); None: not computed
    grade_metrics: GradeMetrics | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "shards": self.shards,
            "runs": self.runs,
            "resumed": self.resumed,
            **self.metrics.to_dict(),
            "n_prompts": self.n_prompts,
            "wall_seconds": self.wall_seconds,
            "failed_trials": self.failed_trials,
            # after the keys that came before it, so older keys keep their order
            f"{GRADE_KEY}_metrics": _grade_metrics_dict(self.grade_metrics),
        }


def _grade_metrics_dict(metrics: GradeMetrics | None) -> dict[str, float] | None:
    return None if metrics is None else metrics.to_dict()


@dataclass(frozen=True)
class GroupSummary:
    """One group of the report: what its method is (read from the spec its runs recorded, never
    from its name), its metrics as mean and sd over replicates, and its per-prompt data."""

    label: str  # the report's label: ``model/local`` where the report holds several models
    local: str  # the label within its model: full, full@5, full[shuffled] ...
    model: str
    mode: str
    role: Role
    compare_with: tuple[str, ...]
    paper_rank: int | None
    n_trials: int  # 0: nothing searched
    target: str | None  # None: the baseline has none
    exact: bool | None  # None: nothing steered
    objective: str | None  # None: nothing searched
    fixed: str  # how fixed strengths were chosen (fixed-median ...), "" for a search
    variant: str  # the label's bracket: shuffled, exact, fixed-median, fluent ...
    runs: list[str]
    replicates: list[ReplicateSummary]
    segments: str
    n_prompts: int
    mean: Metrics
    sd: Metrics  # 0.0 where a group has one replicate
    # the grade's metrics, mean and sd over replicates (the judge's grade, adjudicated by hand labels
    # where they exist: fusion.report.adjudication.adjudicated_grade); None: not computed
    grade_metrics: GradeMetrics | None = None
    grade_metrics_sd: GradeMetrics | None = None
    # the import path of a plug-in method (tag fusion.plugin; "" for a built-in): the plots find its
    # layer_weights by it; not in report.json, whose committed files predate it
    plugin: str = ""
    # the reference its targets were built from and whether it reads the gold (fusion.report.oracle);
    # not in report.json, whose committed files predate them
    reference: str = "gold_explanation"
    oracle: bool = True
    # per prompt, for the plots and the paired statistics: not in report.json
    composites: list[float] = field(default_factory=list)
    strengths: list[Any] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)
    # one (accuracy, composite, correct and fluent) per replicate of each prompt
    observations: dict[PromptKey, list[Observation]] = field(default_factory=dict)
    # the steered answer's text per replicate of each prompt (cached vs exact: the same answer?)
    answers: dict[PromptKey, list[str]] = field(default_factory=dict)

    @property
    def steered(self) -> bool:
        return self.role == "steered"

    @property
    def plain(self) -> bool:
        """The reference target, a per-question search, and cached steering where exact runs are a
        group of their own."""
        return not self.fixed and not ({"shuffled", "exact"} & set(self.variant.split(",")))

    def to_dict(self) -> dict[str, Any]:
        """The group as ``report.json`` holds it (per-prompt data left out)."""
        numbers: dict[str, Any] = {}
        mean, sd = self.mean.to_dict(), self.sd.to_dict()
        for name in METRICS:
            numbers[name] = mean[name]
            numbers[f"{name}_sd"] = sd[name]
        return {
            "mode": self.mode,
            "role": self.role,
            "compare_with": list(self.compare_with),
            "paper_rank": self.paper_rank,
            "n_trials": self.n_trials,
            "target": self.target,
            "exact": self.exact,
            "objective": self.objective,
            "fixed": self.fixed,
            "variant": self.variant,
            "runs": self.runs,
            "replicates": [r.to_dict() for r in self.replicates],
            "segments": self.segments,
            "n_prompts": self.n_prompts,
            **numbers,
            "model": self.model,
            "local": self.local,
            f"{GRADE_KEY}_metrics": _grade_metrics_dict(self.grade_metrics),
            f"{GRADE_KEY}_metrics_sd": _grade_metrics_dict(self.grade_metrics_sd),
        }

    def plot_entry(self) -> dict[str, Any]:
        """:meth:`to_dict` with the per-prompt data the plots read (fusion.report.plots)."""
        per_prompt = {"composites": self.composites, "strengths": self.strengths, "params": self.params}
        return {**self.to_dict(), **per_prompt, **({"plugin": self.plugin} if self.plugin else {})}


# the report's groups by label, in the report's order
Summary = dict[str, GroupSummary]


def per_model(summary: Mapping[str, GroupSummary]) -> dict[str, Summary]:
    """The summary split by model, each part keyed by the full labels (model order as summarised)."""
    out: dict[str, Summary] = {}
    for label, group in summary.items():
        out.setdefault(group.model, {})[label] = group
    return out
