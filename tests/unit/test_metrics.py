"""A run's metrics: the steered answers' summary beside the baseline's and the control's, computed
from the ``prompts.json`` rows (per-prompt values are no metrics: they live in the rows and traces)."""

from __future__ import annotations

import pytest

from fusion.metrics import summary_metrics
from fusion.outcomes import GradedAnswer, PromptOutcome, SteeredAnswer


def outcome(position: int, composite: float, failed: int = 0) -> PromptOutcome:
    baseline = GradedAnswer("a", 0.5, "INCORRECT", 2, 0.3)
    control = GradedAnswer("c", 0.7, "CORRECT", 4, 0.75)
    steered = SteeredAnswer("b", 0.8, "CORRECT", 5, composite, strengths=[0.1, 0.2], perplexity=12.0, objective=0.5)
    return PromptOutcome(
        position, position, "q", "g", "", baseline, control, steered, n_trials=5, seconds=1.0, failed_trials=failed
    )


def test_summary_metrics_put_steered_baseline_and_control_side_by_side():
    rows = [outcome(0, 0.9).row(), outcome(1, 0.1, failed=2).row()]
    metrics = summary_metrics(rows, 0.6)
    assert metrics["accuracy"] == 0.5  # one of two composites >= 0.6
    assert metrics["composite_mean"] == pytest.approx(0.5)
    assert metrics["baseline_composite_mean"] == pytest.approx(0.3) and metrics["baseline_accuracy"] == 0.0
    assert metrics["control_composite_mean"] == pytest.approx(0.75) and metrics["control_accuracy"] == 1.0
    assert metrics["simpleqa_correct"] == 1.0 and metrics["baseline_simpleqa_incorrect"] == 1.0
    assert metrics["failed_trials"] == 2.0 and metrics["n_prompts"] == 2.0
    assert metrics["objective_mean"] == pytest.approx(0.5)
    assert not any("/" in name or name.startswith("prompt") for name in metrics), "no per-prompt names"
