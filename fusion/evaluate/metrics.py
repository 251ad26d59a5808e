"""Shaping results for MLflow: trial rows and a run's summary metrics.

Torch-free and shared: the pipeline logs these, and the report recomputes the summary of merged
shards from their ``prompts.json`` rows with the same function.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fusion.evaluate.grading import GRADE_KEY, GRADE_NAME
from fusion.evaluate.outcomes import PromptOutcome
from fusion.evaluate.scoring import summarize

# the run's summary: the steered answers (no prefix), the unsteered ones and the zero-steering control
SUMMARY_PREFIXES = ("", "baseline_", "control_")


def summary_metrics(rows: Sequence[Mapping[str, Any]], threshold: float) -> dict[str, float]:
    """A run's metrics from its ``prompts.json`` rows (:meth:`PromptOutcome.row`), plus the unsteered
    answers' (``baseline_*``) and the zero-steering control's (``control_*``) on the same prompts,
    scored the same way."""
    metrics: dict[str, float] = {}
    for prefix in SUMMARY_PREFIXES:
        part = summarize(
            [r[f"{prefix}composite"] for r in rows],
            [r[f"{prefix}overlap"] for r in rows],
            [r[f"{prefix}{GRADE_KEY}"] for r in rows],
            threshold,
            [r[f"{prefix}answer"] for r in rows],
        )
        metrics.update({f"{prefix}{k}": v for k, v in part.items()})
    metrics["objective_mean"] = sum(r["objective"] for r in rows) / len(rows)
    metrics["failed_trials"] = float(sum(r.get("failed_trials", 0) for r in rows))
    metrics["n_prompts"] = float(len(rows))
    return metrics


@dataclass(frozen=True)
class GradeMetrics:
    """The grade's metrics of a set of graded answers, as the paper of its scheme reports them (Wei
    et al. 2024, "Measuring short-form factuality in large language models"): the shares of all questions graded
    CORRECT, INCORRECT and NOT_ATTEMPTED; ``attempted``, the share answered at all (correct +
    incorrect); ``correct_given_attempted``, correct / attempted; and ``f1``, the harmonic mean of
    correct and correct given attempted. Each is a field, so a group's mean over replicates is the
    mean of each (a mean of F1s, not the F1 of means)."""

    correct: float
    incorrect: float
    not_attempted: float
    attempted: float
    correct_given_attempted: float
    f1: float

    @classmethod
    def of(cls, grades: Sequence[str]) -> GradeMetrics:
        """The metrics of these grades; 0 where nothing was attempted (as the paper's own code)."""
        n = len(grades) or 1
        correct, incorrect = grades.count("CORRECT") / n, grades.count("INCORRECT") / n
        attempted = correct + incorrect
        given = correct / attempted if attempted else 0.0
        f1 = 2 * correct * given / (correct + given) if correct + given else 0.0
        return cls(correct, incorrect, grades.count("NOT_ATTEMPTED") / n, attempted, given, f1)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


# summary keys that count things (whole numbers), and the one that is a duration
COUNT_KEYS = ("n_prompts", "failed_trials", "accurate_degenerate", "selection_pool", "selection_kept")


def rounded_summary(metrics: Mapping[str, float]) -> dict[str, float]:
    """The summary as it is logged and shown: counts whole, seconds to a tenth, shares and means to
    four decimals (a share of 260 questions moves in steps of 0.0038; more digits are float noise
    that MLflow's tables would print in full)."""

    def places(key: str) -> int:
        if key.endswith(COUNT_KEYS):
            return 0
        return 1 if key == "wall_seconds" else 4

    return {k: round(float(v), places(k)) if math.isfinite(v) else v for k, v in metrics.items()}


def trial_rows(outcome: PromptOutcome) -> list[dict[str, Any]]:
    """One row of ``trials.json`` per Optuna trial of the prompt."""
    rows = []
    for t in outcome.trials:
        row: dict[str, Any] = {"position": outcome.position, "index": outcome.index, "trial": t.number}
        for s, (a, g) in enumerate(zip(t.alphas, t.gammas)):
            row[f"alpha_{s}"], row[f"gamma_{s}"], row[f"strength_{s}"] = a, g, a * g
        row.update(t.params)  # a method's extra parameters (single_layer: layer)
        perplexity_value = t.perplexity if math.isfinite(t.perplexity) else None
        row.update(
            overlap=t.overlap,
            perplexity=perplexity_value,
            objective=t.objective,
            answer=t.answer,
            state="FAIL" if t.failure else "COMPLETE",
            failure=t.failure,
        )
        rows.append(row)
    return rows


# the summary table's lines: label, summary key (after the answer kind's prefix), format
SUMMARY_ROWS = (
    ("accuracy (paper: composite >= threshold)", "accuracy", "{:.1%}"),
    # the paper's accurate answers that are babble: loops of gold words can reach the threshold
    ("of which degenerate (count)", "accurate_degenerate", "{:.0f}"),
    ("correct & fluent (strict)", "correct_fluent", "{:.1%}"),
    ("composite mean", "composite_mean", "{:.3f}"),
    ("overlap mean", "overlap_mean", "{:.3f}"),
    (f"{GRADE_NAME} correct", f"{GRADE_KEY}_correct", "{:.1%}"),
    ("degenerate answers", "degenerate", "{:.1%}"),
)


def _cell(fmt: str, value: float) -> str:
    """``value`` formatted, or n/a: a summary logged before a metric existed lacks its key."""
    return "n/a" if math.isnan(value) else fmt.format(value)


def summary_table(summary: Mapping[str, float]) -> str:
    """The run's scores next to the unsteered baseline and the zero-steering control, with the
    differences: what the console prints and the run's MLflow description shows."""
    lines = ["| | steered | baseline | control | steered - baseline | steered - control |", "|---|---|---|---|---|---|"]
    for label, key, fmt in SUMMARY_ROWS:
        steered, baseline, control = (summary.get(f"{p}{key}", math.nan) for p in SUMMARY_PREFIXES)
        signed = fmt.replace("{:", "{:+")
        lines.append(
            f"| {label} | {_cell(fmt, steered)} | {_cell(fmt, baseline)} | {_cell(fmt, control)} | "
            f"{_cell(signed, steered - baseline)} | {_cell(signed, steered - control)} |"
        )
    return "\n".join(lines)


def run_description(
    mode: str, model: str, n_prompts: int, decoding: str, summary: Mapping[str, float], oracle: str
) -> str:
    """MLflow's note of a run: the runs list reads without opening anything. ``oracle``: the run's
    oracle line (:func:`fusion.references.oracle_line`)."""
    return (
        f"**{mode}** steering ({decoding}) of {model} on {n_prompts} prompts; {oracle}."
        f"\n\n{summary_table(summary)}\n\n"
        "Accuracy is the paper's metric, which a loop of gold words can pass; *correct & fluent* is the strict "
        "one: the judge says CORRECT and the answer is not degenerate (fusion.evaluate.fluency).\n"
    )
