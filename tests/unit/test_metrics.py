"""A run's metrics: the steered answers' summary beside the baseline's and the control's, computed
from the ``prompts.json`` rows (per-prompt values are no metrics: they live in the rows and traces),
the rows themselves, and the table the console and the run's description show."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from fusion.evaluate.fluency import fluency
from fusion.evaluate.metrics import GradeMetrics, run_description, summary_metrics, summary_table
from fusion.evaluate.outcomes import GradedAnswer, PromptOutcome, SteeredAnswer

LOOP = "the Coast Guard " * 12  # gold words in a loop: accurate by the paper's metric, and babble


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


def test_summary_metrics_score_the_strict_verdict_and_count_the_accurate_babble():
    babble = outcome(0, 0.9)
    babble.steered.answer = LOOP
    rows = [babble.row(), outcome(1, 0.9).row()]
    metrics = summary_metrics(rows, 0.6)
    assert metrics["accuracy"] == 1.0 and metrics["correct_fluent"] == 0.5  # both CORRECT, one degenerate
    assert metrics["degenerate"] == 0.5 and metrics["accurate_degenerate"] == 1.0
    assert metrics["control_correct_fluent"] == 1.0 and metrics["baseline_correct_fluent"] == 0.0
    assert metrics["baseline_accurate_degenerate"] == 0.0
    # MLflow takes floats: a count is logged as one too
    assert all(type(v) is float for v in metrics.values()), {k: type(v) for k, v in metrics.items()}


def test_a_row_carries_each_answers_fluency_and_loads_back():
    original = outcome(0, 0.9)
    original.baseline.fluency = fluency(original.baseline.answer).metrics()
    original.steered.fluency = fluency(LOOP).metrics()
    row = original.row()
    assert row["fluency"]["degenerate"] == 1.0 and row["baseline_fluency"]["degenerate"] == 0.0
    assert row["control_fluency"] == {}  # not measured in this outcome
    assert set(row["baseline_fluency"]) == {
        "compression_ratio",
        "repeated_ngram_share",
        "broken_word_share",
        "symbol_share",
        "number_run",
        "longest_digits",
        "fragment_share",
        "year_salad",
        "degenerate",
    }
    again = PromptOutcome.from_row(row)
    assert again.row() == row
    assert again.steered.fluency == original.steered.fluency


def test_a_row_written_before_the_fluency_measures_still_loads():
    row = outcome(0, 0.9).row()
    old = {k: v for k, v in row.items() if not k.endswith("fluency")}
    loaded = PromptOutcome.from_row(old)
    assert (loaded.baseline.fluency, loaded.control.fluency, loaded.steered.fluency) == ({}, {}, {})
    assert loaded.steered.composite == 0.9 and loaded.baseline.answer == "a"


def test_the_summary_table_puts_the_strict_metric_beside_the_papers_accuracy():
    metrics = summary_metrics([outcome(0, 0.9).row(), outcome(1, 0.1).row()], 0.6)
    table = summary_table(metrics)
    lines = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()}
    assert "| 50.0% | 0.0% | 100.0% | +50.0% | -50.0% |" in lines["accuracy (paper: composite >= threshold)"]
    assert "| 100.0% | 0.0% | 100.0% | +100.0% | +0.0% |" in lines["correct & fluent (strict)"]
    assert "| 0 | 0 | 0 | +0 | +0 |" in lines["of which degenerate (count)"]
    note = run_description("full", "m", 2, "exact", metrics, "oracle: no (reference=passage)")
    # the note states the run's oracle status as its reference recorded it, never a fixed "oracle" sentence
    assert "correct & fluent (strict)" in note and "on 2 prompts; oracle: no (reference=passage)." in note


def test_a_summary_logged_before_a_metric_existed_shows_n_a_for_it():
    old = {
        k: v
        for k, v in summary_metrics([outcome(0, 0.9).row()], 0.6).items()
        if not k.endswith(("correct_fluent", "degenerate"))
    }
    old["control_accuracy"] = math.nan  # a value MLflow gives back as NaN reads the same
    lines = summary_table(old).splitlines()
    strict = next(line for line in lines if line.startswith("| correct & fluent (strict)"))
    assert strict == "| correct & fluent (strict) | n/a | n/a | n/a | n/a | n/a |"
    accuracy = next(line for line in lines if line.startswith("| accuracy"))
    assert accuracy.endswith("| 100.0% | 0.0% | n/a | +100.0% | n/a |")


def test_the_logged_summary_is_rounded_to_what_each_number_means():
    from fusion.evaluate.metrics import rounded_summary

    raw = {
        "accuracy": 1 / 3,
        "composite_mean": 0.123456789,
        "n_prompts": 3.0,
        "baseline_accurate_degenerate": 2.0000000001,
        "wall_seconds": 43.21987,
        "objective_mean": float("nan"),
    }
    assert rounded_summary(raw) == {
        "accuracy": 0.3333,
        "composite_mean": 0.1235,
        "n_prompts": 3.0,
        "baseline_accurate_degenerate": 2.0,
        "wall_seconds": 43.2,
        "objective_mean": pytest.approx(float("nan"), nan_ok=True),
    }


def test_simpleqas_metrics_match_a_hand_computation():
    """3 correct, 1 incorrect, 6 not attempted: 30 % correct, 40 % attempted, 75 % of the attempts
    correct, F1 = 2 * 0.3 * 0.75 / (0.3 + 0.75)."""
    m = GradeMetrics.of(["CORRECT"] * 3 + ["INCORRECT"] + ["NOT_ATTEMPTED"] * 6)
    assert (m.correct, m.incorrect, m.not_attempted) == pytest.approx((0.3, 0.1, 0.6))
    assert m.attempted == pytest.approx(0.4) and m.correct_given_attempted == pytest.approx(0.75)
    assert m.f1 == pytest.approx(0.4286, abs=5e-5)
    assert list(m.to_dict()) == ["correct", "incorrect", "not_attempted", "attempted", "correct_given_attempted", "f1"]
    # nothing attempted (or nothing at all): 0, as SimpleQA's own code, never a division by zero
    assert GradeMetrics.of(["NOT_ATTEMPTED"]).f1 == GradeMetrics.of([]).correct_given_attempted == 0.0


def test_a_row_carries_the_question_id_and_the_grade_under_its_committed_key():
    original = replace(outcome(0, 0.9), qid="halueval:7")
    row = original.row()
    assert list(row)[:3] == ["position", "index", "qid"] and row["qid"] == "halueval:7"
    # the grade keeps the key committed answers files carry (fusion/conf/grade.yaml)
    assert (row["simpleqa"], row["baseline_simpleqa"], row["control_simpleqa"]) == ("CORRECT", "INCORRECT", "CORRECT")
    assert "label" not in row and PromptOutcome.from_row(row) == original
    # a row written before rows carried a question id loads with none
    old = {k: v for k, v in row.items() if k != "qid"}
    assert PromptOutcome.from_row(old).qid == ""
