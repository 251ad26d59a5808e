"""Pure scoring functions on hand-made cases."""

from __future__ import annotations

import math

import pytest

from fusion.scoring import accuracy, composite, objective, perplexity, summarize, token_overlap, words


def test_words_lowercase_and_drop_punctuation():
    assert words("Michio Sugeno.") == {"michio", "sugeno"}
    assert words("It cost 1,000 dollars; Japanese-born!") == {"it", "cost", "1,000", "dollars", "japanese-born"}
    assert words("...!?") == set()


def test_token_overlap_is_set_recall_of_gold_words():
    assert token_overlap("Michio Sugeno", "The winner was michio SUGENO, of Japan.") == 1.0
    assert token_overlap("Michio Sugeno", "It was Sugeno.") == 0.5
    assert token_overlap("Annick Bricaud", "Peter Schwartz") == 0.0
    assert token_overlap("a b c", "a") == 0.3333  # rounded to 4 decimals, as the authors did
    assert token_overlap("", "anything") == 0.0
    assert token_overlap("?!", "anything") == 0.0


def test_objective():
    assert objective(1.0, 10.0) == pytest.approx(0.7 - 0.3 * 0.1)
    assert objective(0.5, 250.0) == pytest.approx(0.35 - 0.3)  # perplexity capped at 100
    assert objective(0.0, math.inf) == pytest.approx(-0.3)
    assert objective(0.0, math.nan) == pytest.approx(-0.3)
    assert objective(1.0, 50.0, weight=0.5, perplexity_cap=50.0) == pytest.approx(0.0)


def test_perplexity():
    assert perplexity(0.0) == 1.0
    assert perplexity(math.log(20.0)) == pytest.approx(20.0)
    assert perplexity(math.inf) == math.inf and perplexity(math.nan) == math.inf


def test_composite_and_accuracy():
    assert composite(1.0, 1) == pytest.approx(0.6)  # full recall passes even with the worst grade
    assert composite(0.0, 5) == pytest.approx(0.5)
    assert accuracy([0.6, 0.59, 0.9, 0.1]) == 0.5
    assert accuracy([]) == 0.0


def test_summarize():
    s = summarize([0.2, 0.6, 1.0], [0.0, 0.5, 1.0], ["CORRECT", "INCORRECT", "INCORRECT"])
    assert s["accuracy"] == pytest.approx(2 / 3)
    assert s["composite_mean"] == pytest.approx(0.6) and s["composite_median"] == pytest.approx(0.6)
    assert s["composite_std"] == pytest.approx(math.sqrt(((0.4**2) * 2) / 3))
    assert s["overlap_mean"] == pytest.approx(0.5)
    assert (s["simpleqa_correct"], s["simpleqa_incorrect"], s["simpleqa_not_attempted"]) == pytest.approx((1 / 3, 2 / 3, 0))
