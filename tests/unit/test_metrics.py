"""What a run logs as metrics: per-prompt series apart from the run's summary."""

from __future__ import annotations

from fusion.metrics import PER_PROMPT, prompt_metrics, summary_metrics
from fusion.outcomes import GradedAnswer, PromptOutcome, SteeredAnswer


def outcome(position: int, composite: float) -> PromptOutcome:
    graded = GradedAnswer("a", 0.5, "INCORRECT", 2, 0.3)
    steered = SteeredAnswer("b", 0.8, "CORRECT", 5, composite, strengths=[0.1, 0.2], perplexity=12.0, objective=0.5)
    return PromptOutcome(position, position, "q", "g", "", graded, graded, steered, n_trials=5, seconds=1.0)


def test_per_prompt_series_are_named_per_prompt_and_never_shadow_a_summary_metric():
    metrics = prompt_metrics(outcome(0, 0.9))
    assert sorted(metrics) == [
        f"{PER_PROMPT}{name}"
        for name in (
            "baseline_composite",
            "composite",
            "control_composite",
            "objective",
            "overlap",
            "perplexity",
            "quality",
            "strength_0",
            "strength_1",
        )
    ]
    assert metrics["per_prompt/composite"] == 0.9 and metrics["per_prompt/strength_1"] == 0.2
    summary = summary_metrics([outcome(i, c).row() for i, c in enumerate([0.9, 0.1])], 0.6)
    assert not set(summary) & set(metrics)
    # MLflow sorts metric columns by name: the run's scores come before any per-prompt series
    names = sorted({*summary, *metrics})
    first_series = names.index(min(metrics))
    assert {"accuracy", "composite_mean", "control_composite_mean", "overlap_mean"} <= set(names[:first_series])
