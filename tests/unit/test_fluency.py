"""Fluency measures on hand-made strings, and the search objective that uses them."""

from __future__ import annotations

import pytest

from fusion.evaluate.fluency import (
    MAX_COMPRESSION_RATIO,
    broken_word_share,
    compression_ratio,
    fluency,
    fragment_share,
    longest_digits,
    number_run,
    repeated_ngram_share,
    symbol_share,
    year_salad,
)
from fusion.evaluate.scoring import objective, search_objective

SENTENCE = (
    "Michio Sugeno received the IEEE Frank Rosenblatt Award in 2010 for his pioneering work on fuzzy "
    "systems, which shaped control engineering in Japan and abroad."
)
LOOP = "the Coast Guard " * 20
CHER = "Cher\n\nCher\n\nCher\n\nCher\n\nCher\n\nCher\n\nCher\n\nCher\n\nCher"


def test_compression_ratio():
    assert compression_ratio("") == 0.0
    assert compression_ratio(SENTENCE) < 1.5
    assert compression_ratio(LOOP) > 4  # 320 bytes that zlib stores in a few dozen
    assert compression_ratio(LOOP) > MAX_COMPRESSION_RATIO > compression_ratio(SENTENCE)


def test_repeated_ngram_share():
    assert repeated_ngram_share("") == 0.0
    assert repeated_ngram_share("one two") == 0.0  # no 3-gram at all
    assert repeated_ngram_share("a b c a b c") == pytest.approx(1 / 4)  # 4 trigrams, "a b c" again
    assert repeated_ngram_share(SENTENCE) == 0.0
    assert repeated_ngram_share("The Coast Guard the coast guard") == pytest.approx(1 / 4)  # case-blind
    assert repeated_ngram_share(LOOP) == pytest.approx(55 / 58)  # 3 distinct trigrams of 58


def test_broken_word_share():
    assert broken_word_share("") == 0.0
    assert broken_word_share("in 1ji, received in 2in the award") == pytest.approx(2 / 7)
    assert broken_word_share("The7th Day") == pytest.approx(1 / 2)
    # ordinals, decades and units are words
    assert broken_word_share("the 5th time in the 1830s, 3kg and 10km, at 5pm") == 0.0
    assert broken_word_share("**2023** was the year.") == 0.0


def test_symbol_share():
    assert symbol_share("") == 0.0
    assert symbol_share("abc") == 0.0
    assert symbol_share("a,,,,") == pytest.approx(4 / 5)
    assert symbol_share("** ** ** **") == 1.0


def test_fluency_verdicts():
    assert not fluency(SENTENCE).degenerate and fluency(SENTENCE).reasons == ()
    loop = fluency(LOOP)
    assert loop.degenerate and "compression_ratio" in loop.reasons and "repeated_ngram_share" in loop.reasons
    # compression 2.14 is under rules-v4's 2.2; the symbols still give it away
    assert fluency("Paris, in 1, in, in, in,,,,,,,,,,,,,,,,,,,,,,,,,,,,,").reasons == ("symbol_share",)
    assert fluency("Answer: 1ji 2in 3ka").reasons == ("broken_word_share",)  # short: broken words only
    assert not fluency("Paris.").degenerate  # too short for the ratios
    assert fluency(CHER).degenerate
    assert set(fluency(LOOP).metrics()) == {
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
    assert fluency(LOOP).metrics()["degenerate"] == 1.0


def test_fluent_objective_prefers_a_sentence_to_a_loop_of_gold_words():
    # the case: "Cher" repeated scores perplexity 1.3 and holds the gold word
    loop = dict(answer=CHER, overlap=1.0, perplexity=1.31)
    sentence = dict(answer="The song was recorded by Cyndi Lauper in 1986.", overlap=0.5, perplexity=12.0)
    paper = {k: search_objective("paper", **v) for k, v in (("loop", loop), ("sentence", sentence))}
    fluent = {k: search_objective("fluent", **v) for k, v in (("loop", loop), ("sentence", sentence))}
    assert paper["loop"] > paper["sentence"]  # the paper's objective picks the babble
    assert fluent["sentence"] > fluent["loop"]  # the fluent one does not
    assert paper["sentence"] == fluent["sentence"] == objective(0.5, 12.0)
    # every degenerate answer ranks below every fluent one, whatever its overlap and perplexity
    worst_fluent = search_objective("fluent", "A plain sentence without the gold.", 0.0, float("inf"))
    best_loop = search_objective("fluent", CHER, 1.0, 1.0)
    assert best_loop < worst_fluent


def test_rules_v4_measures_catch_babble_that_repeats_nothing():
    assert number_run("1992:2000:2001:2002") == 4 and number_run("480 x 800") == 1
    assert fluency("1992:2000:2001:2002:2003").reasons[0] == "number_run"
    assert longest_digits("999999999999999999 was a school") == 18
    assert "longest_digits" in fluency("999999999999999999 was a 1920s British medical school in India.").reasons
    assert fragment_share("1977\nThe 1977 was\n1-A\nThe award was given to him in spring.") == 0.75
    assert fragment_share("one line\ntwo") == 0.0  # fewer than four lines: no fragments
    salad = "1977 was a 1997 Award of the 2017 Award of the 2017, a.B. (1997)"
    assert year_salad(salad) > 0.15 and "year_salad" in fluency(salad).reasons
    # ordinary prose with dates and a life span stays fluent
    for text in (
        "Johann Wilhelm von Hachmann (1754-1833)",
        "Kris Cuppens was born on April 22, 1962.",
        "The resolution of the phone is 480 x 800.",
    ):
        assert not fluency(text).degenerate, text
