"""The report's text, from summaries built by hand (torch-free, no MLflow)."""

from __future__ import annotations

from fusion.report.text import seed_table


def replicate(wall: float, resumed: bool) -> dict:
    return {
        "seed": 0,
        "shards": 1,
        "n_prompts": 40,
        "accuracy": 0.1,
        "composite_mean": 0.25,
        "overlap_mean": 0.2,
        "simpleqa_correct": 0.05,
        "control_accuracy": 0.0,
        "failed_trials": 0,
        "wall_seconds": wall,
        "resumed": resumed,
    }


def test_a_resumed_runs_wall_time_is_marked_as_its_last_attempt():
    summary = {
        "full": {"mode": "full", "role": "steered", "replicates": [replicate(968.4, True)]},
        "segmented": {"mode": "segmented", "role": "steered", "replicates": [replicate(4033.0, False)]},
    }
    lines = seed_table(summary).splitlines()
    assert lines[2].endswith("| 968* |") and lines[3].endswith("| 4033 |")
    assert lines[-1] == "\\* resumed after an interruption: the wall time of its last attempt only."


def test_without_a_resumed_run_there_is_no_footnote():
    table = seed_table({"full": {"mode": "full", "role": "steered", "replicates": [replicate(100.0, False)]}})
    assert "*" not in table and "resumed" not in table
