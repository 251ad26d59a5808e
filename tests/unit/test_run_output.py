"""What ``make run`` prints of the shown question's answers: composite, the strict verdict, and
which fluency thresholds a degenerate answer crossed."""

from __future__ import annotations

from fusion.commands.run import answer_line
from fusion.evaluate.outcomes import GradedAnswer


def test_a_correct_fluent_answer_reads_strict_yes_without_a_flag():
    line = answer_line("steered", GradedAnswer("Paris is the capital of France.", 1.0, "CORRECT", 5, 1.0))
    assert line == "  steered  1.00  strict yes  Paris is the capital of France."


def test_a_degenerate_answer_is_flagged_with_its_reasons_even_when_graded_correct():
    loop = "the Coast Guard " * 12
    line = answer_line("steered", GradedAnswer(loop, 1.0, "CORRECT", 5, 1.0))
    assert line.startswith("  steered  1.00  strict no   the Coast Guard the Coast Guard")
    assert line.endswith("  [degenerate: compression_ratio, repeated_ngram_share]")


def test_a_long_answer_is_cut_before_its_flag():
    words = " ".join(f"word{i}x" for i in range(60))  # glued letters and digits: broken words
    line = answer_line("control", GradedAnswer(words, 0.0, "INCORRECT", 1, 0.0))
    assert "...  [degenerate: " in line and line.endswith("broken_word_share]")
    assert "strict no " in line
