"""The rules judge: a deterministic, offline grader (CORRECT, INCORRECT, NOT_ATTEMPTED) by answer matching.

It stands in for the authors' LLM judges (mistral-small) where none is reachable. It follows the
rubric the authors gave their grader (the paper's grading prompt): ignore case and punctuation,
allow hedging when the answer is present, count a partial answer as INCORRECT, count an answer
that also offers a contradicting alternative as INCORRECT ("Newton, Einstein, and Galileo
discovered gravity."), tolerate minor typos in names. The answer graded is the model's
continuation only; the caller must strip the echoed question.

Normalisation (gold and answer alike)
  Unicode accents folded (``José`` = ``Jose``), lower case, curly apostrophes straightened,
  ``&`` = ``and``; possessive ``'s`` dropped, other apostrophes removed (``O'Neill`` =
  ``oneill``); hyphens split words; other punctuation dropped (a '.' after an initial or a
  title such as "Dr" ends no sentence); articles (a, an, the) dropped.
  Numbers: thousands separators, trailing decimal zeros and leading zeros dropped (``1,000`` =
  ``1000``, ``3.0`` = ``3``); ordinal suffixes dropped (``5th`` = ``5``; a decade such as
  ``1830s`` is not the number 1830); number words two to twenty and the tens up to ninety become
  digits (``two`` = ``2``; not "one", mostly a pronoun); ``thousand``/``million``/``billion``
  after a number multiply it (``1.2 million`` = ``1200000``).
  Dates become ISO tokens: ``January 5, 2008``, ``5 January 2008``, ``5th of January, 2008``,
  ``Jan. 5, 2008`` and ``2008-01-05`` are all ``2008-01-05``; ``January 2008`` is ``2008-01``;
  ``January 5`` is ``--01-05``. A more specific date in the answer matches a coarser gold
  (answer ``January 5, 2008`` matches gold ``2008`` or ``January 2008``), never the reverse.

Labels, in this order
  1. NOT_ATTEMPTED if the answer has no word or number at all (or, degenerate, the gold has none).
  2. CORRECT if every gold token (ignoring of/and/in/on/at/for/to/by when the gold has other
     words) occurs, in any order, within a window of the answer two tokens longer than the gold
     ("Sugeno, Michio" and "Dr. Michio K. Sugeno" match "Michio Sugeno"; "Michio Kakezawa ...
     Sugeno" does not).
  3. Person names: when the gold looks like a person's name (2-5 capitalised words or initials;
     no digit, comma or acronym; no institution or place word such as College, University,
     Award, River, Range), the capitalised surname alone counts as CORRECT, as in the authors'
     rubric, where "Newton discovered gravity." is CORRECT for "Isaac Newton"; unless the answer
     names someone else with it: a different capitalised given name right before any
     occurrence ("Takeshi Sugeno"), or a gold given name before a different surname ("Michio
     Kakezawa ... Sugeno"). Name words of 5+ letters may differ by one edit ("Sugino").
  4. A match from 2 or 3 is INCORRECT instead when
     - the answer states an answer ("The answer is X", "Answer: X", to the end of that
       sentence) and no such statement holds the gold;
     - it lists multiple-choice options (two or more lines starting "A.", "B)", ...) and states
       none;
     - in the same sentence, the matched gold is joined by "or", "and", "nor" or "/" (directly,
       or through a comma list ending in one of them) to an alternative of the same kind:
       another number or date for a numeric gold, another capitalised name (not an acronym,
       title, function word or institution word) for a capitalised gold: "1995 or 1996",
       "between 1995 and 1998", "Newton, Einstein, and Galileo".
  5. NOT_ATTEMPTED if the gold is absent and the answer refuses or hedges: "I don't know", "not
     sure", "cannot answer", "can't say", "unable to determine", "no information", "not
     available", "not aware", "it depends", "need more context", ... A hedged answer that
     contains the gold is CORRECT (hedging is allowed); a committed wrong guess ("probably X")
     is INCORRECT.
  6. INCORRECT otherwise.

rules-v3: babble and the first claim
  7. A degenerate answer (:func:`fusion.evaluate.fluency.fluency`: repetition, glued digits, symbols) is
     never CORRECT: a match becomes INCORRECT with quality 2; a degenerate answer without any gold
     token grades 1.
  8. For a numeric, person or institution gold, the first sentence naming a candidate of the
     gold's kind (another number or date; two name words in a row outside an institution's name;
     a name before an institution or place word) is the answer's claim: a match after it is
     INCORRECT (quality 3). Numbers and names in the question are no candidates.
  9. "The answer is ..." states an answer only when it names something of the gold's kind (a number
     or date for a numeric gold, a capitalised word for a capitalised gold).

rules-v4: what a careful reader saw (hand labels, docs/judges.md)
  10. Gold words the question holds are evidence only where the answer did not lift them from the
      question with a neighbour that is no gold word ("... won 12 maxi challenges in Season 4 of
      RPDR" is no answer "4"); a person's surname the question holds ("Olga Vadimovna von Root")
      never counts alone.
  11. A numeric gold found only in a list is INCORRECT: a line of two or more numbers and no word
      ("191 1", "2022:2014"), or bare-number lines with different numbers ("2013\n2012\n...").
  12. Fluency has four more measures (fusion.evaluate.fluency): number runs, digit strings, lines of
      fragments and year salad; the repetition thresholds moved to 2.2 / 0.4.
  13. Dates in the question also ask their month and year: "December 2012" is no competing claim
      when the question says "as of December 5, 2012".

rules-v5: what an answer rejects and chooses (fusion.evaluate.judges.rules_choice)
  14. A gold mention right after "not", "isn't", "wasn't", "aren't", "weren't", "rather than" or
      "instead of" (a preposition may stand between: "not in 1995") is rejected: INCORRECT 3 when
      no other mention affirms it; a rejected candidate is no first claim (rule 8).
  15. Choice questions: where the question names the gold as an option ("..., A or B?", "Which of
      A and B ...?"), the first sentence naming one option and not another (or both, not listed
      together: the first named) is the choice: CORRECT 5 (4 hedged) for the gold, INCORRECT 2 for
      another; INCORRECT 3 when it names the options without choosing. Yes/no questions ("Are A
      and B both ...?"): the first "yes" or "no" is the choice.
  16. The rationale says when the gold's words were found only where the answer copies the question.

rules-v6: the first claim is of the gold's kind (HaluEval's calibration labels)
  17. A number with unit words ("6.213 km long") is a numeric gold for rule 8: another number
      before it is the answer's claim; its match starts at the number, not at an earlier
      number's units. A gold holding a date is claimed only by another date or year ("season 2"
      is no claim before "born March 28, 1941").

Quality grade (1-5), after the authors' 1-5 rubric
  CORRECT: 5 when the whole gold matched exactly; 4 when the match needed leniency (surname
  only, a typo) or the answer hedges ("mostly correct, minor gaps").
  INCORRECT: 3 when the gold is present but contradicted, declared otherwise or preceded by
  another claim ("partially correct"); otherwise 2, as the paper's judge grades most wrong answers
  ("mostly incorrect, small fragments that match"); degenerate at most 2, 1 without a gold token.
  NOT_ATTEMPTED: 1.

Limits
  No synonyms, paraphrase or world knowledge ("USA" vs "United States", "JFK" vs "John F.
  Kennedy", "3 kg" vs "3000 g" are INCORRECT). Numbers must match exactly: no rounding to the
  gold's significant figures, units ignored. Numeric day-month dates (``05/01/2008``) are not
  parsed. A gold that the question already contains can be matched by an answer that merely
  repeats the question's words (gold "4", answer "... in Season 4"). The contradiction check
  sees only alternatives adjacent to the gold in its sentence, only for numeric or capitalised
  golds, and also flags two true facts listed together ("won in 1995 and 2001"). Hedges are a
  phrase list; person names a heuristic. Calibrated on the even-``prompt_id`` half of the authors'
  Mistral-graded answers; on the odd half it agrees at Cohen's kappa 0.64 (accurate decision) and
  quadratic-weighted kappa 0.71 (docs/judges.md, ``fusion parity DIR --judges``). Use it
  for smoke runs, tests and comparisons between runs graded alike.

Code
  This module holds the labels, grades and the judge. The normalised tokens are
  :mod:`fusion.evaluate.judges.rules_tokens`; the gold's kind, where the answer holds it and what
  else the answer claims (the matching behind rules 2-4, 8 and 9) are
  :mod:`fusion.evaluate.judges.rules_claims`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fusion.config.judges import JudgeSpec
from fusion.evaluate.fluency import fluency
from fusion.evaluate.judges.rules_choice import Choice, affirmed, choice_of, chosen, negated, unclaimed
from fusion.evaluate.judges.rules_claims import (
    _contradicted,
    _find,
    _first_claim,
    _Gold,
    _gold,
    _holds,
    _lists_numbers,
    _mask_question_copies,
    _recall,
    _states_answer,
    _surname,
)
from fusion.evaluate.judges.rules_tokens import _fold, _Tok, _tokens, normalise
from fusion.records import Grade, GradeLabel, GradeRequest

RUBRIC = "rules-v6"
# a degenerate answer (fusion.evaluate.fluency) is never CORRECT and grades at most this
DEGENERATE_MAX_QUALITY = 2

_DECLARED = re.compile(  # "The answer is X." / "Answer: X": the answer the text commits to
    r"(?i)(?:\bthe\s+(?:correct\s+|final\s+)?answer\s+is|\banswer\s*\**\s*:)"
    r"(?P<declared>.+?)(?=[.!?](?:\s|$)|\n\s*\n|$)",
    re.DOTALL,
)
_OPTION_LINE = re.compile(r"(?m)^\W*\(?[A-Ea-e][.)]\W")  # "A. Piano", "**B.** Paris", "(c) ..."
_HEDGE = re.compile(
    r"\b(?:i\s+(?:do\s+not|don't)\s+know|not\s+(?:entirely\s+|completely\s+|quite\s+)?sure|unsure|uncertain"
    r"|(?:cannot|can't|can\s+not|could\s+not|couldn't|unable\s+to|not\s+able\s+to)\s+"
    r"(?:answer|say|determine|find|provide|confirm|verify|tell|identify|be\s+certain)"
    r"|no\s+(?:reliable\s+|available\s+|public\s+|specific\s+)?(?:information|record|data)"
    r"|(?:don't|do\s+not)\s+have\s+(?:enough\s+|any\s+|the\s+|specific\s+)?(?:information|data|details)"
    r"|not\s+(?:publicly\s+)?available|not\s+aware|it\s+depends|depends\s+on\s+(?:the\s+)?interpretation"
    r"|(?:need|without)\s+more\s+(?:context|information|details))\b"
)


def grade_answer(gold_text: str, answer_text: str, question: str = "") -> tuple[GradeLabel, int, str]:
    """(grade label, 1-5 quality, reason) for one answer, by the rules in the module docstring."""
    label, quality, reason = _match_grade(gold_text, answer_text, question)
    measured = fluency(answer_text)
    if measured.degenerate and label != "NOT_ATTEMPTED":
        why = "degenerate (" + ", ".join(measured.reasons) + ")"
        if label == "CORRECT":
            return "INCORRECT", DEGENERATE_MAX_QUALITY, f"gold present but the answer is {why}"
        if not _recall(_gold(gold_text), _tokens(answer_text)):
            return label, 1, f"{reason}; {why}"  # babble without a fragment of the gold
        return label, min(quality, DEGENERATE_MAX_QUALITY), f"{reason}; {why}"
    return label, quality, reason


def _match_grade(gold_text: str, answer_text: str, question: str) -> tuple[GradeLabel, int, str]:
    answer = _tokens(answer_text)
    gold = _gold(gold_text)
    if not gold.tokens:
        return "NOT_ATTEMPTED", 1, "the gold answer has no words to match"
    if not any(t.kind != "punct" for t in answer):
        return "NOT_ATTEMPTED", 1, "empty answer"
    hedged = bool(_HEDGE.search(_fold(answer_text).lower()))
    choice = choice_of(gold_text, question)
    if choice is not None and (graded := _choice_grade(choice, answer, hedged)) is not None:
        return graded
    masked = _mask_question_copies(gold, answer, question)
    (span, rejected), lenient = affirmed(gold, masked, fuzzy=False), False
    if span is None and gold.person:
        (span, fuzzy_rejected), lenient = affirmed(gold, masked, fuzzy=True), True
        rejected |= fuzzy_rejected
        if (
            span is None
            and (span := _surname(gold, gold_text, masked, question)) is not None
            and negated(masked, span, frozenset(gold.tokens))
        ):
            span, rejected = None, True
    if span is not None:
        return _matched_grade(gold, gold_text, answer_text, masked, question, span, lenient or hedged, lenient)
    if rejected:
        return "INCORRECT", 3, "gold named only to be rejected (not X, rather than X, instead of X)"
    if hedged:
        return "NOT_ATTEMPTED", 1, "refuses or hedges without the gold"
    recall = _recall(gold, masked)
    if _find(gold, answer, fuzzy=gold.person) is not None or _surname_asked(gold, answer, question):
        return "INCORRECT", 2, f"gold words found only in text copied from the question (token recall {recall:.2f})"
    return "INCORRECT", 2, f"gold not found (token recall {recall:.2f})"


def _matched_grade(
    gold: _Gold,
    gold_text: str,
    answer_text: str,
    answer: list[_Tok],
    question: str,
    span: tuple[int, int],
    softened: bool,
    lenient: bool,
) -> tuple[GradeLabel, int, str]:
    """The grade of an answer that holds the gold at ``span``: rules 4 and 8, else CORRECT."""
    declared = [_tokens(m.group("declared")) for m in _DECLARED.finditer(_fold(answer_text))]
    declared = [d for d in declared if _states_answer(gold, d)]
    if declared and not any(_holds(gold, gold_text, d) for d in declared):
        return "INCORRECT", 3, "gold present but the stated answer is something else"
    if not declared and len(_OPTION_LINE.findall(answer_text)) >= 2:
        return "INCORRECT", 3, "gold only among listed options, none chosen"
    if _contradicted(gold, answer, span):
        return "INCORRECT", 3, "gold present but offered beside a contradicting alternative"
    if _lists_numbers(gold, answer_text):
        return "INCORRECT", 3, "gold present but only in a list of numbers, none chosen"
    if _first_claim(gold, unclaimed(answer), question, span):
        return "INCORRECT", 3, "gold present but the answer first commits to something else"
    if softened:
        return "CORRECT", 4, "gold present " + ("(surname or typo match)" if lenient else "with a hedge")
    return "CORRECT", 5, "gold present"


def _surname_asked(gold: _Gold, answer: list[_Tok], question: str) -> bool:
    """A person gold's surname in the answer that the question already names (rule 10)."""
    return gold.person and gold.tokens[-1] in normalise(question) and any(t.norm == gold.tokens[-1] for t in answer)


def _choice_grade(choice: Choice, answer: list[_Tok], hedged: bool) -> tuple[GradeLabel, int, str] | None:
    """The grade of an answer to a choice question (rule 15); None: a yes/no answer with neither word,
    graded by the other rules."""
    verdict = chosen(choice, answer)
    options = "yes or no" if choice.yes_no else "the question's options"
    if verdict is True:
        return "CORRECT", 4 if hedged else 5, f"chooses the gold of {options}" + (" with a hedge" if hedged else "")
    if verdict is False:
        return "INCORRECT", 2, f"chooses another of {options}, not the gold"
    if choice.yes_no:
        return None
    if _find(choice.gold, answer, fuzzy=False) is not None:
        return "INCORRECT", 3, "names the question's options without choosing one (gold words copied from the question)"
    if hedged:
        return "NOT_ATTEMPTED", 1, "refuses or hedges without choosing an option"
    return "INCORRECT", 2, "chooses none of the question's options"


class RulesJudge:
    """The Judge protocol over :func:`grade_answer`: deterministic, offline, no model."""

    name = "rules"

    def grade(self, requests: Sequence[GradeRequest]) -> list[Grade]:
        grades = []
        for request in requests:
            label, quality, reason = grade_answer(request.gold, request.answer, request.question)
            grades.append(Grade(label, quality, self.name, RUBRIC, reason))
        return grades


@dataclass
class RulesJudgeConfig:
    """``judge=rules``: deterministic answer matching, offline; no settings."""

    name: str = "rules"


JUDGE = JudgeSpec(
    name="rules",
    summary="deterministic, offline answer matching (the module docstring's rules)",
    schema=RulesJudgeConfig,
    build=lambda settings: RulesJudge(),
)
