"""Per-prompt values in a real MLflow store: ``per_prompt/*`` series, one step per prompt, also
when a resumed run logs the values a crash kept it from logging."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from fusion.metrics import prompt_metrics
from fusion.outcomes import GradedAnswer, PromptOutcome, SteeredAnswer
from fusion.tracking import Tracker


def outcome(position: int) -> PromptOutcome:
    graded = GradedAnswer("a", 0.5, "INCORRECT", 2, 0.3)
    steered = SteeredAnswer("b", 0.8, "CORRECT", 5, 0.1 * position, strengths=[0.2], perplexity=9.0)
    return PromptOutcome(position, 10 + position, "q", "g", "", graded, graded, steered, n_trials=1, seconds=1.0)


def test_per_prompt_series_have_one_step_per_prompt_and_resume_fills_only_the_gaps(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "fusion", (tmp_path / "artifacts").as_uri())
    run_id = tracker.start("r", {}, {}, "key")
    try:
        first = outcome(0)
        tracker.log_prompt(0, first.row(), prompt_metrics(first), [])
        # a resumed job calls this for every finished prompt: prompt 0 is there, prompt 1 is not
        for position in (0, 1):
            tracker.log_missing_metrics(position, prompt_metrics(outcome(position)))
    finally:
        tracker.end()
    client = MlflowClient(tracking_uri=uri)
    logged = client.get_run(run_id).data.metrics
    assert sorted(logged) == sorted(prompt_metrics(first))
    assert all(key.startswith("per_prompt/") for key in logged)
    history = client.get_metric_history(run_id, "per_prompt/composite")
    assert sorted((m.step, m.value) for m in history) == [(0, 0.0), (1, 0.1)]
