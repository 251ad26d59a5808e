"""The rules judge: every rule of its docstring, each case with its exact grade."""

from __future__ import annotations

import pytest

from fusion.evaluate.judges import Judge
from fusion.evaluate.judges.factory import make_judge
from fusion.evaluate.judges.rules import RUBRIC, RulesJudge, RulesJudgeConfig
from fusion.evaluate.judges.rules_tokens import normalise
from fusion.records import GRADE_LABELS, GradeRequest

CASES = [
    # gold, answer (continuation only), SimpleQA grade, quality
    # exact match, case, punctuation, articles, accents
    ("Michio Sugeno", "The award went to Michio Sugeno.", "CORRECT", 5),
    ("Michio Sugeno", "MICHIO SUGENO!!", "CORRECT", 5),
    ("Michio Sugeno", "Sugeno, Michio", "CORRECT", 5),  # any order within a short window
    ("The Beatles", "Beatles", "CORRECT", 5),
    ("José Martí", "Jose Marti wrote it", "CORRECT", 5),
    ("O'Neill", "Eugene O’Neill's play", "CORRECT", 5),  # curly apostrophe, possessive
    ("University of Pennsylvania", "the Pennsylvania University", "CORRECT", 5),  # 'of' not required
    ("Radcliffe College", "Radcliffe is a college", "CORRECT", 5),
    ("Radcliffe College", "Radcliffe founded it, and much later the college", "INCORRECT", 2),  # too far apart
    # numbers
    ("120,000", "She was ordered to pay 120000 naira.", "CORRECT", 5),
    ("3", "There were three of them.", "CORRECT", 5),
    ("3.0", "3", "CORRECT", 5),
    ("3", "It took 3.50 hours", "INCORRECT", 2),
    ("1.2 million", "about 1,200,000 people", "CORRECT", 5),
    ("1", "He was one of the founders.", "INCORRECT", 2),  # "one" is not read as a number
    ("12", "It was 120.", "INCORRECT", 2),  # exact, no rounding
    ("1830", "in the 1830s", "INCORRECT", 2),  # a decade is not the year
    ("5th", "he finished 5th", "CORRECT", 5),
    # dates
    ("January 5, 2008", "On 5 January 2008.", "CORRECT", 5),
    ("January 5, 2008", "2008-01-05", "CORRECT", 5),
    ("5th of May 1990", "May 5, 1990", "CORRECT", 5),
    ("January 2008", "on Jan. 5th, 2008", "CORRECT", 5),  # more specific answer holds the gold
    ("2008", "on January 5, 2008", "CORRECT", 5),
    ("January 5, 2008", "January 2008", "INCORRECT", 2),  # missing the day
    ("January 5, 2008", "January 6, 2008", "INCORRECT", 2),
    # person names
    ("Isaac Newton", "Newton discovered gravity.", "CORRECT", 4),  # surname only, as in the rubric
    ("Michio Sugeno", "Takeshi Sugeno won it. Sugeno was glad.", "INCORRECT", 2),  # another given name
    ("Michio Sugeno", "Michio Kakezawa, a colleague of Sugeno", "INCORRECT", 2),  # another surname
    ("Michio Sugeno", "Michio Sugino", "CORRECT", 4),  # minor typo
    ("Peter J. Schwartz", "Dr. Peter Schwartz", "CORRECT", 4),  # middle initial missing
    ("John Cundall", "C. Cundall", "INCORRECT", 2),  # a different initial; half the tokens
    ("Satpura Range", "a mountain range", "INCORRECT", 2),  # not a person: no surname rule
    ("Kallithea, Athens", "He was born in Athens.", "INCORRECT", 2),
    # hedges and refusals
    ("Radcliffe College", "I don't know.", "NOT_ATTEMPTED", 1),
    ("Radcliffe College", "I'm not sure, maybe Wellesley College.", "NOT_ATTEMPTED", 1),
    ("Radcliffe College", "Sorry, I cannot answer that.", "NOT_ATTEMPTED", 1),
    ("Radcliffe College", "There is no reliable information about it.", "NOT_ATTEMPTED", 1),
    ("Radcliffe College", "I'm not sure, but I think Radcliffe College.", "CORRECT", 4),  # hedge + gold
    ("Radcliffe College", "It was probably Wellesley College.", "INCORRECT", 2),  # committed guess
    ("Radcliffe College", "", "NOT_ATTEMPTED", 1),
    ("Radcliffe College", " ... ** \n", "NOT_ATTEMPTED", 1),
    # contradicting alternatives
    ("Isaac Newton", "Newton, Einstein, and Galileo discovered gravity.", "INCORRECT", 3),
    ("Michio Sugeno", "Michio Sugeno and Geoffrey Hinton shared it", "INCORRECT", 3),
    ("Michio Sugeno", "Michio Sugeno and the IEEE committee", "CORRECT", 5),  # not a name
    ("Michio Sugeno", "Michio Sugeno, a Japanese engineer", "CORRECT", 5),
    ("1995", "in 1995 or 1996", "INCORRECT", 3),
    ("1995", "between 1995 and 1998", "INCORRECT", 3),
    ("1995", "Born in 1950, he won in 1995.", "CORRECT", 5),
    ("Radcliffe College", "Radcliffe College or Wellesley College", "INCORRECT", 3),
    ("Violin", "The answer is **(A) Piano**. A violin is nice.", "INCORRECT", 3),  # states another answer
    ("Violin", "The answer is **Violin**. A piano is nice.", "CORRECT", 5),
    ("Paris", "A. London\nB. Paris\nC. Rome", "INCORRECT", 3),  # options, none chosen
    # rules-v3: a wrong answer is graded 2 ("mostly incorrect, small fragments that match"), as the
    # paper's judge grades most wrong answers, whatever share of the gold's words it holds
    ("Radcliffe College", "Wellesley College", "INCORRECT", 2),
    ("Marjorie and James Sanger Center", "the Smith Center", "INCORRECT", 2),
    ("Michio Sugeno", "Geoffrey Hinton", "INCORRECT", 2),
    # rules-v3: degenerate text is never CORRECT, however many gold words it repeats (rules-v4 thresholds)
    (
        "Coast Guard",
        "The Coast Guard requested the Coast Guard requested the Coast Guard requested the Coast Guard",
        "INCORRECT",
        2,
    ),
    ("Rosalba Carriera", "Carriera was a Carriera was a Carriera was a Carriera was a Carriera was a", "INCORRECT", 2),
    (
        "Michio Sugeno",
        "was was was was was was was was was was was was was was was was",
        "INCORRECT",
        1,
    ),  # babble, no gold
    ("2023", "The gallery rebranded in 1ji0 and 2ki then2023 in 3ab, 4cd.", "INCORRECT", 2),  # broken words
    # rules-v3: the answer's first claim decides
    ("3", "As of December 5, 0 DLCs were released. Later 3 more came out.", "INCORRECT", 3),
    ("Michio Sugeno", "Geoffrey Hinton won the award. Michio Sugeno was also nominated.", "INCORRECT", 3),
    ("Radcliffe College", "It is part of Harvard University today. It was called Radcliffe College.", "INCORRECT", 3),
    ("Judea Pearl", "The Association for Computing Machinery gave it to Judea Pearl.", "CORRECT", 5),  # no person
    ("1995", "The band formed in Leeds. It won in 1995, after a tour in 1994.", "CORRECT", 5),  # gold sentence first
    ("CodeMiko", "CodeMiko won it. The answer is directly related to the question.", "CORRECT", 5),  # states nothing
    # a fluent correct answer with an explanation
    (
        "Michio Sugeno",
        "Michio Sugeno received the IEEE Frank Rosenblatt Award in 2010 for his work on fuzzy systems. "
        "He is a Japanese engineer known for the Takagi-Sugeno model.",
        "CORRECT",
        5,
    ),
]


@pytest.mark.parametrize("gold, answer, label, quality", CASES)
def test_grade(gold, answer, label, quality):
    (grade,) = RulesJudge().grade([GradeRequest("Q?", gold, answer)])
    assert (grade.label, grade.quality) == (label, quality), grade.rationale
    assert grade.judge == "rules" and grade.rubric == RUBRIC and grade.rationale


def test_batch_keeps_order_and_is_deterministic():
    judge: Judge = RulesJudge()
    requests = [GradeRequest("Q?", gold, answer) for gold, answer, _, _ in CASES]
    first, second = judge.grade(requests), judge.grade(requests)
    assert first == second
    assert [(g.label, g.quality) for g in first] == [(label, q) for _, _, label, q in CASES]
    assert {g.label for g in first} == set(GRADE_LABELS)
    assert judge.grade([]) == []


def test_normalise():
    assert normalise("The 1,000 Années-folles, 5th of May 1990, 3.50 two million") == [
        "1000",
        "annees",
        "folles",
        "1990-05-05",
        "3.5",
        "2000000",
    ]
    assert normalise("1990-95") == ["1990", "95"]  # a range is not a date


def test_factory():
    assert make_judge(RulesJudgeConfig()).name == "rules"
    assert make_judge(None).name == "rules"  # a JobConfig built outside Hydra


# rules-v4: the false positives of the strict metric on search-selected answers, each with
# its question (gold words the question holds are no evidence where the answer lifted them)
QUESTION_CASES = [
    # gold words taken from the question
    (
        "How many maxi challenges did Sharon Needles win in Season 4 of RPDR?",
        "4",
        "Shelby Needles won 12 maxi challenges in Season 4 of RPDR.",
        "INCORRECT",
    ),
    (
        'Who was the father of the Russian stage actress and singer "Baroness Olga Vadimovna von Root?"',
        "Baron Vadim Nikolayevich von Root",
        "Baroness Olga Vadimovna von Root was born in 1888. She was the daughter of a prominent actress.",
        "INCORRECT",
    ),
    # a gold phrase the question also holds stays evidence when the answer commits to it
    (
        "From which high school did the first female governor of Hawaii, United States, graduate?",
        "Birmingham High School",
        "The first female governor of Hawaii, United States, graduated from Birmingham High School.",
        "CORRECT",
    ),
    # lists of numbers instead of one answer
    ("What year was Türksat 2A decommissioned?", "2016", "1992:2000:2001:2015:2016:2017:2018:", "INCORRECT"),
    ("Which year?", "2013", "2013\n2012\n2012 was the year of the World Series.", "INCORRECT"),
    ('For how many episodes did Gabrielle Fitzpatrick star in "Roar"?', "1", "191 1", "INCORRECT"),
    # a leading gold token, then babble the v3 measures missed
    (
        "In what year was Professor Ascher Herman Shapiro awarded the Benjamin Garver Lamme Award?",
        "1977",
        "1977\n1977 was a 1997 Award of the 2017 Award of the 2017, a.B. (1997)\n\nThe 1997 Award, a 19-Benjamin Award.",
        "INCORRECT",
    ),
    ("Which year?", "1919", "9999999999999999999999919 202 was the year 1919.", "INCORRECT"),
    # a date of the question is no competing claim ("December 2012" of "December 5, 2012")
    (
        "How many DLCs were released for Elder Scrolls V: Skyrim as of December 5, 2012?",
        "3",
        "The Elder Scrolls V: Skyrim DLCs were released in December 2012.\n\nThe answer is: 3",
        "CORRECT",
    ),
]


@pytest.mark.parametrize("question, gold, answer, label", QUESTION_CASES)
def test_grade_with_the_question(question, gold, answer, label):
    (grade,) = RulesJudge().grade([GradeRequest(question, gold, answer)])
    assert grade.label == label, grade.rationale


# rules-v5: a gold named only to be rejected; choice and yes/no questions; the rationale of a copy
AWARD = "Who received the IEEE Frank Rosenblatt Award in 2010?"
MAGAZINES = "Which magazine was started first, Arthur's Magazine or First for Women?"
DARCY = "Which of Bridget Jones and Mark Darcy is older?"
BIRTH = "Who was born first, Woodrow Wilson or Franklin Roosevelt?"
BOTH = "Are Pavel Urysohn and Leonid Levin both known for being mathematicians?"
REJECTION_CASES = [
    # (question, gold, answer, label, quality, words of the rationale)
    (AWARD, "Michio Sugeno", "It was not Michio Sugeno; it was Lotfi Zadeh.", "INCORRECT", 3, "rejected"),
    (AWARD, "Michio Sugeno", "It wasn't Sugeno; Zadeh won it.", "INCORRECT", 3, "rejected"),
    (AWARD, "Michio Sugeno", "The winner isn't Michio Sugeno.", "INCORRECT", 3, "rejected"),
    (AWARD, "Michio Sugeno", "Lotfi Zadeh, rather than Michio Sugeno.", "INCORRECT", 3, "rejected"),
    (AWARD, "Michio Sugeno", "They chose Lotfi Zadeh instead of Michio Sugeno.", "INCORRECT", 3, "rejected"),
    ("In which year did the bridge open?", "1995", "It opened not in 1995 but in 1996.", "INCORRECT", 3, "rejected"),
    # the negation is scoped to its mention: the gold affirmed elsewhere, or another name negated
    (AWARD, "Michio Sugeno", "It was not Lotfi Zadeh; it was Michio Sugeno.", "CORRECT", 5, "gold present"),
    (AWARD, "Michio Sugeno", "Michio Sugeno, not Lotfi Zadeh.", "CORRECT", 5, "gold present"),
    (AWARD, "Michio Sugeno", "Michio Sugeno rather than Lotfi Zadeh won it.", "CORRECT", 5, "gold present"),
    (
        "In which year did the bridge open?",
        "1995",
        "It was not until 1995 that it opened.",
        "CORRECT",
        5,
        "gold present",
    ),
    # choice questions: the gold is one of the question's options ("A or B", "which of A and B")
    (MAGAZINES, "Arthur's Magazine", "Arthur's Magazine was started first.", "CORRECT", 5, "chooses the gold"),
    (MAGAZINES, "Arthur's Magazine", "Arthur's Magazine was started before First for Women.", "CORRECT", 5, "gold"),
    (MAGAZINES, "Arthur's Magazine", "It was Arthur's Magazine, not First for Women.", "CORRECT", 5, "gold"),
    (MAGAZINES, "Arthur's Magazine", "Not First for Women: Arthur's Magazine, in 1844.", "CORRECT", 5, "gold"),
    (MAGAZINES, "Arthur's Magazine", "Probably Arthur's Magazine, I am not sure.", "CORRECT", 4, "with a hedge"),
    (MAGAZINES, "Arthur's Magazine", "First for Women was started first.", "INCORRECT", 2, "chooses another"),
    (MAGAZINES, "Arthur's Magazine", "First for Women, then Arthur's Magazine.", "INCORRECT", 2, "chooses another"),
    (MAGAZINES, "First for Women", "Arthur's Magazine came first.", "INCORRECT", 2, "chooses another"),
    (MAGAZINES, "First for Women", "First for Women was started first.", "CORRECT", 5, "chooses the gold"),
    (MAGAZINES, "Arthur's Magazine", "Arthur's Magazine or First for Women.", "INCORRECT", 3, "without choosing"),
    (
        MAGAZINES,
        "Arthur's Magazine",
        "Both Arthur's Magazine and First for Women are magazines.",
        "INCORRECT",
        3,
        "without choosing",
    ),
    (MAGAZINES, "Arthur's Magazine", "I don't know.", "NOT_ATTEMPTED", 1, "without choosing"),
    (MAGAZINES, "Arthur's Magazine", "The Saturday Evening Post.", "INCORRECT", 2, "chooses none"),
    (DARCY, "Mark Darcy", "Mark Darcy is older than Bridget Jones.", "CORRECT", 5, "chooses the gold"),
    (DARCY, "Mark Darcy", "Bridget Jones is older.", "INCORRECT", 2, "chooses another"),
    (DARCY, "Bridget Jones", "Of Bridget Jones and Mark Darcy, Bridget Jones is older.", "CORRECT", 5, "gold"),
    (BIRTH, "Woodrow Wilson", "Woodrow Wilson was born in 1856, before Roosevelt.", "CORRECT", 5, "chooses the gold"),
    (BIRTH, "Franklin Roosevelt", "Woodrow Wilson was born first.", "INCORRECT", 2, "chooses another"),
    # yes/no questions: the first yes or no is the answer
    (BOTH, "yes", "Yes, both were mathematicians.", "CORRECT", 5, "chooses the gold of yes or no"),
    (BOTH, "yes", "No. Only Levin was; yes, Urysohn too.", "INCORRECT", 2, "chooses another of yes or no"),
    (BOTH, "no", "No, only Levin was a mathematician.", "CORRECT", 5, "chooses the gold of yes or no"),
    (BOTH, "yes", "Both were Soviet mathematicians.", "INCORRECT", 2, "gold not found"),
    # the rationale says when the gold's words were only copied from the question
    (
        "How many maxi challenges did she win in Season 4 of RPDR?",
        "4",
        "She won 12 maxi challenges in Season 4 of RPDR.",
        "INCORRECT",
        2,
        "gold words found only in text copied from the question",
    ),
    ("Who is Olga Vadimovna von Root's father?", "Vadim von Root", "He was a Root.", "INCORRECT", 2, "copied"),
]


@pytest.mark.parametrize("question, gold, answer, label, quality, why", REJECTION_CASES)
def test_rejections_choices_and_copies(question, gold, answer, label, quality, why):
    (grade,) = RulesJudge().grade([GradeRequest(question, gold, answer)])
    assert (grade.label, grade.quality) == (label, quality), grade.rationale
    assert why in grade.rationale


# rules-v6: a measure's first claim is another number; a date's is another date or year, not any number
TRACK = "What is the length of the track where the 2013 Liqui Moly Bathurst 12 Hour was staged?"
BORN = 'In what year was the creator of the current arrangement of the "Simpson\'s Theme" born?'
CLAIM_CASES = [
    # (question, gold, answer, label, quality)
    (TRACK, "6.213 km long", "The track is 20.5 km long. The track is 6.213 km long.", "INCORRECT", 3),
    (TRACK, "6.213 km long", "The track is 6.213 km long. It hosted 20 races.", "CORRECT", 5),
    (
        BORN,
        "March 28, 1941",
        "The theme was re-arranged in season 2. Alf Clausen (born March 28, 1941) arranged it.",
        "CORRECT",
        5,
    ),
    (BORN, "March 28, 1941", "He was born in 1938. Others say March 28, 1941.", "INCORRECT", 3),
    (BORN, "March 28, 1941", "He was born on June 2, 1940. Others say March 28, 1941.", "INCORRECT", 3),
]


@pytest.mark.parametrize("question, gold, answer, label, quality", CLAIM_CASES)
def test_the_first_claim_is_of_the_gold_s_kind(question, gold, answer, label, quality):
    (grade,) = RulesJudge().grade([GradeRequest(question, gold, answer)])
    assert (grade.label, grade.quality) == (label, quality), grade.rationale
