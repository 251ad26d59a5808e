"""The rules judge: every normalisation rule, each case with its exact grade."""

from __future__ import annotations

import pytest

from fusion.judges.factory import make_judge
from fusion.judges.rules import RulesJudge, normalise
from fusion.records import GradeRequest

CASES = [
    # gold, answer, SimpleQA grade, quality
    ("Michio Sugeno", "The award went to Michio Sugeno.", "CORRECT", 5),
    ("Michio Sugeno", "MICHIO SUGENO", "CORRECT", 5),
    ("Michio Sugeno", "Sugeno", "INCORRECT", 3),  # surname alone: SimpleQA wants the full answer
    ("Michio Sugeno", "Geoffrey Hinton", "INCORRECT", 1),
    ("Annick Bricaud", "Dr. Annick Bricaud, a marine scientist", "CORRECT", 5),
    ("José Martí", "Jose Marti wrote it", "CORRECT", 5),  # accents
    ("The Beatles", "Beatles", "CORRECT", 5),  # articles
    ("120,000", "She was ordered to pay 120000 naira.", "CORRECT", 5),  # thousands separator
    ("3", "There were three of them.", "CORRECT", 5),  # number words
    ("3.0", "3", "CORRECT", 5),
    ("12", "It was 120.", "INCORRECT", 1),  # numbers match exactly
    ("January 5, 2008", "On 5 January 2008.", "CORRECT", 5),  # dates
    ("January 5, 2008", "2008-01-05", "CORRECT", 5),
    ("5th of May 1990", "May 5, 1990", "CORRECT", 5),
    ("Radcliffe College", "I don't know.", "NOT_ATTEMPTED", 1),  # refusal
    ("Radcliffe College", "I'm not sure, maybe Wellesley College.", "NOT_ATTEMPTED", 1),  # hedge
    ("Radcliffe College", "I'm not sure, but I think Radcliffe College.", "CORRECT", 5),  # hedge with the answer
    ("Radcliffe College", "", "NOT_ATTEMPTED", 1),
    ("Radcliffe College", "Wellesley College", "INCORRECT", 3),
    ("Michio Sugeno", "Michio Sugeno " + "and more words " * 25, "CORRECT", 4),  # correct but padded
]


@pytest.mark.parametrize("gold, answer, label, quality", CASES)
def test_grade(gold, answer, label, quality):
    (grade,) = RulesJudge().grade([GradeRequest("Q?", gold, answer)])
    assert (grade.simpleqa, grade.quality) == (label, quality)
    assert grade.judge == "rules" and grade.rubric == "rules-v1"


def test_normalise():
    assert normalise("The 1,000 Années-folles, 5th") == ["1000", "annees", "folles", "5"]


def test_factory():
    assert make_judge({"name": "rules"}).name == "rules"
    with pytest.raises(ValueError, match="judge.name='nope' is unknown"):
        make_judge({"name": "nope"})
