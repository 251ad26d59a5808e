"""Pure scoring functions on hand-made cases, tokenisation checked against what NLTK does."""

from __future__ import annotations

import math
import statistics

import pytest

from fusion.evaluate.scoring import (
    accuracy,
    composite,
    objective,
    perplexity,
    sentences,
    std,
    summarize,
    token_overlap,
    word_tokens,
    words,
)

# text -> nltk.word_tokenize(text) (nltk 3.9, English Punkt), for texts already lower-cased
WORD_TOKENIZE = [
    ("michio sugeno.", ["michio", "sugeno", "."]),
    ("**michio kakezawa** won in 2010.", ["*", "*", "michio", "kakezawa", "*", "*", "won", "in", "2010", "."]),
    ("he won in 2010. he was glad.", ["he", "won", "in", "2010.", "he", "was", "glad", "."]),  # no break
    ("he was sugeno. he was glad.", ["he", "was", "sugeno", ".", "he", "was", "glad", "."]),
    ("it cost 1,000 dollars; 3.5 more", ["it", "cost", "1,000", "dollars", ";", "3.5", "more"]),
    ("japanese-born o'neill's ac/dc", ["japanese-born", "o'neill", "'s", "ac/dc"]),
    ("i can't, cannot", ["i", "ca", "n't", ",", "can", "not"]),
    ('it was "hold on." then', ["it", "was", "``", "hold", "on", ".", "''", "then"]),
    ("dr. annick bricaud", ["dr.", "annick", "bricaud"]),  # English Punkt knows "dr": no break
    ("peter j. schwartz", ["peter", "j.", "schwartz"]),
    ("wow!! ok?", ["wow", "!", "!", "ok", "?"]),
    ("(born 1950.) next", ["(", "born", "1950", ".", ")", "next"]),
    ("in 1999.\n\n**explanation:**", ["in", "1999", ".", "*", "*", "explanation", ":", "*", "*"]),
]


@pytest.mark.parametrize("text, tokens", WORD_TOKENIZE)
def test_word_tokens_match_nltk(text, tokens):
    assert word_tokens(text) == tokens


def test_sentences():
    assert sentences("one two. three four? five") == ["one two.", "three four?", "five"]
    assert sentences("peter j. schwartz") == ["peter j. schwartz"]  # an initial before lower case
    assert sentences('he said "no." then') == ['he said "no."', "then"]  # closing quote stays
    assert sentences("") == []


def test_words_lowercase_and_drop_punctuation_tokens():
    assert words("Michio Sugeno.") == {"michio", "sugeno"}
    assert words("It cost 1,000 dollars; Japanese-born!") == {"it", "cost", "1,000", "dollars", "japanese-born"}
    assert words("...!?") == {"..."}  # multi-character tokens are not in string.punctuation: kept
    assert words('"Quoted"') == {"``", "quoted", "''"}
    assert words("?! , ; *") == set()
    assert words("") == set()


def test_token_overlap_is_set_recall_of_gold_words():
    assert token_overlap("Michio Sugeno", "The winner was michio SUGENO, of Japan.") == 1.0
    assert token_overlap("Michio Sugeno", "It was Sugeno.") == 0.5
    assert token_overlap("Michio Sugeno", "Sugeno Sugeno Sugeno") == 0.5  # a set: repeats do not count
    assert token_overlap("Annick Bricaud", "Peter Schwartz") == 0.0
    assert token_overlap("a b c", "a") == 0.3333  # rounded to 4 decimals, as the authors did
    assert token_overlap("2010", "He won in 2010. he was glad") == 0.0  # NLTK keeps "2010." here
    assert token_overlap("", "anything") == 0.0  # empty gold
    assert token_overlap("?!", "anything ?!") == 0.0  # punctuation-only gold has no words


def test_perplexity():
    assert perplexity(0.0) == 1.0
    assert perplexity(math.log(20.0)) == pytest.approx(20.0)
    assert perplexity(math.inf) == math.inf and perplexity(math.nan) == math.inf
    assert perplexity(1e6) == math.exp(700.0)  # no OverflowError


def test_objective():
    assert objective(1.0, 10.0) == pytest.approx(0.7 - 0.3 * 0.1)
    assert objective(0.5, 250.0) == pytest.approx(0.35 - 0.3)  # perplexity capped at 100
    assert objective(0.0, math.inf) == pytest.approx(-0.3)
    assert objective(0.0, math.nan) == pytest.approx(-0.3)  # nan counts as the cap
    assert objective(1.0, 50.0, weight=0.5, perplexity_cap=50.0) == pytest.approx(0.0)


def test_composite_and_accuracy():
    assert composite(1.0, 1) == pytest.approx(0.6)  # full recall passes even with the worst grade
    assert composite(0.0, 5) == pytest.approx(0.5)
    assert composite(0.5, 0) == pytest.approx(0.25)  # missing grade scored 0, as the authors did
    assert composite(1.0, 5, overlap_weight=0.2) == pytest.approx(1.0)
    assert accuracy([0.6, 0.59, 0.9, 0.1]) == 0.5
    assert accuracy([0.5], threshold=0.5) == 1.0
    assert accuracy([]) == 0.0


def test_std_is_the_sample_std():
    assert std([0.2, 0.6, 1.0]) == pytest.approx(0.4)
    assert std([0.3]) == 0.0 and std([]) == 0.0


def test_summarize():
    s = summarize([0.2, 0.6, 1.0], [0.0, 0.5, 1.0], ["CORRECT", "INCORRECT", "INCORRECT"])
    assert set(s) == {
        "accuracy",
        "composite_mean",
        "composite_median",
        "composite_std",
        "overlap_mean",
        "simpleqa_correct",
        "simpleqa_incorrect",
        "simpleqa_not_attempted",
    }
    assert s["accuracy"] == pytest.approx(2 / 3)
    assert s["composite_mean"] == pytest.approx(0.6) and s["composite_median"] == pytest.approx(0.6)
    assert s["composite_std"] == pytest.approx(statistics.stdev([0.2, 0.6, 1.0]))
    assert s["overlap_mean"] == pytest.approx(0.5)
    shares = (s["simpleqa_correct"], s["simpleqa_incorrect"], s["simpleqa_not_attempted"])
    assert shares == pytest.approx((1 / 3, 2 / 3, 0))


def test_summarize_empty():
    s = summarize([], [], [])
    assert all(v == 0.0 for v in s.values())
