"""The paper's two grading rubrics as chat messages, and pure parsers for a judge's replies.

Both LLM judges (``openai``, ``hf``) send these messages and parse the replies with these
functions, so a grade depends only on the judge model, not on which client asked it.

Rubrics (the texts of the authors' grading prompts; docs/judges.md; the authors ran both on
``mistral-small-latest`` at temperature 0, with the system message "You are a grading assistant."):

``GRADE_RUBRIC`` ("Grader 1", its id in fusion/conf/grade.yaml)
    A condensed form of OpenAI's grader of short factual answers: the three classes, the "Who
    discovered gravity? / Isaac Newton" examples and five rules (ignore case, punctuation and
    grammar; hedging is allowed when the answer is present; a partial answer is INCORRECT; numbers
    to the last significant figure; tolerate small typos in names). The judge replies with one letter: A = CORRECT,
    B = INCORRECT, C = NOT_ATTEMPTED.
``paper-quality-v1`` ("Grader 2")
    A 1-5 grade for correctness, relevance and completeness (5 fully correct ... 1 totally wrong),
    plus a hallucination flag and notes. Deviation: the authors' prompt did not say how to lay the
    reply out although their parser looked for "Score: N"; we ask for that layout explicitly,
    because small local judges otherwise rarely produce it.

Parsing, and what happens to a reply that cannot be parsed (never silently a good grade):

- Grade: the first grade the reply names wins (as in the authors' first-match regex): a
  stand-alone letter A/B/C ("A", "(B)", "**C**", "Answer: B."; not the article in "A predicted
  answer ...") or an upper-case label (CORRECT, INCORRECT, NOT_ATTEMPTED; "NOT CORRECT" is not
  CORRECT); a reply that is only a lower-case letter or label also counts. Stricter than the
  authors: a reply that lists two or more options ("A: CORRECT\nB: INCORRECT", the legend echoed
  back, which small models do) or whose letter contradicts its label ("B: CORRECT") chose
  nothing. Nothing chosen: NOT_ATTEMPTED (the authors' default, too).
- Quality: "Score: N" (also "score of N", "Rating - N", "**Score:** N"), else "N/5" or "N out of 5",
  else a reply that is only the digit. Nothing found, or a number outside 1-5: quality 1.
- Either fallback makes the Grade's rationale start with ``unparsed:`` and quote the reply, so
  fallbacks can be counted (``rationale LIKE 'unparsed:%'``) and are never mistaken for verdicts.

A change to a rubric text or to a parser must bump its version: the id is recorded with every
Grade, and the openai judge's reply cache is keyed by it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fusion.evaluate.grading import GRADE_KEY, GRADE_RUBRIC
from fusion.records import Grade, GradeLabel, GradeRequest

QUALITY_RUBRIC = "paper-quality-v1"
RUBRIC = f"{GRADE_RUBRIC}+{QUALITY_RUBRIC}"  # what a Grade records: both rubrics made it

SYSTEM = "You are a grading assistant."

Message = dict[str, str]

GRADE_TEMPLATE = """\
You are a factuality grader. Given a question, a gold target (the correct answer) and a predicted \
answer, assign one of these grades:
- "CORRECT": the predicted answer fully contains the correct information, with no contradictions.
- "INCORRECT": it contains incorrect, misleading or contradictory information.
- "NOT_ATTEMPTED": it fails to answer, or gives only irrelevant information.

### Example grades
CORRECT:
- Question: "Who discovered gravity?"
  - Gold target: "Isaac Newton"
  - Predicted: "Isaac Newton"
  - Predicted: "Newton discovered gravity."
  - Predicted: "Most believe Isaac Newton discovered gravity."

INCORRECT:
- Question: "Who discovered gravity?"
  - Gold target: "Isaac Newton"
  - Predicted: "Albert Einstein"
  - Predicted: "Newton, Einstein, and Galileo discovered gravity." (contradicts the correct answer)
  - Predicted: "Gravity was first theorized in 1905." (incorrect)

NOT_ATTEMPTED:
- Question: "Who discovered gravity?"
  - Gold target: "Isaac Newton"
  - Predicted: "I don't know."
  - Predicted: "It depends on interpretation."
  - Predicted: "Without more context, I cannot say."

### Rules
- Ignore differences in capitalization, punctuation and grammar.
- Allow hedging (e.g. "I think", "probably") as long as the correct answer is included.
- If the predicted answer matches only partly and misses key details, grade it INCORRECT.
- If the correct answer is a number, the prediction must be accurate to the last significant figure.
- Do not punish minor typos in names when the intent is clear.

### Now grade this
Question: {question}
Gold target: {gold}
Predicted answer: {answer}

Reply with:
A: CORRECT
B: INCORRECT
C: NOT_ATTEMPTED

Only return "A", "B" or "C", with no extra text."""

QUALITY_TEMPLATE = """\
You are a strict but fair evaluator. Evaluate the generated answer for correctness, relevance and \
completeness.

Question: {question}
Generated Answer: {answer}
Ground Truth Answer: {gold}

Give a score from 1 to 5 based on the following:
- 5 = Fully correct, complete, and relevant.
- 4 = Mostly correct, with minor inaccuracies or missing details.
- 3 = Partially correct, has significant omissions or minor errors.
- 2 = Mostly incorrect or irrelevant, with small fragments that match.
- 1 = Totally wrong, irrelevant, or hallucinated.

Also specify:
- Hallucination (Y/N): did the answer include fabricated information not found in the ground truth?
- Notes: a brief justification.

Reply in exactly this format:
Score: <1-5>
Hallucination: <Y or N>
Notes: <brief justification>"""


def _chat(template: str, request: GradeRequest) -> list[Message]:
    # str.format substitutes into the template only: braces inside an answer are left alone
    user = template.format(question=request.question, gold=request.gold, answer=request.answer)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def grade_messages(request: GradeRequest) -> list[Message]:
    return _chat(GRADE_TEMPLATE, request)


def quality_messages(request: GradeRequest) -> list[Message]:
    return _chat(QUALITY_TEMPLATE, request)


# rubric id -> messages; a judge asks every rubric once per answer, in this order
RUBRICS: dict[str, Callable[[GradeRequest], list[Message]]] = {
    GRADE_RUBRIC: grade_messages,
    QUALITY_RUBRIC: quality_messages,
}

_LETTERS: dict[str, GradeLabel] = {"A": "CORRECT", "B": "INCORRECT", "C": "NOT_ATTEMPTED"}
# a capital A/B/C standing alone; "A" followed by a lower-case word is the article ("A predicted ...")
_LETTER = re.compile(r"(?<![A-Za-z0-9_])([ABC])(?![A-Za-z0-9_])(?![ \t]+[a-z])")
_LABEL = re.compile(r"(?<![A-Za-z0-9_])(NOT[_ ]ATTEMPTED|INCORRECT|(?<!NOT )(?<!NOT_)CORRECT)(?![A-Za-z0-9_])")
_BARE = re.compile(r"(?i)^\W*(a|b|c|correct|incorrect|not[_ ]attempted)\W*$")
# a letter in option form, "A:" or "B)", with the label that may follow it ("A: CORRECT")
_OPTION = re.compile(r"(?<![A-Za-z0-9_])([ABC])\s*[:)]\W*(NOT[_ ]ATTEMPTED|INCORRECT|CORRECT)?")

# "Score: 4", "**Score:** 4", "score of 4", "Score (1-5): 4"; not an echoed "Score: <1-5>" or "Score: 10"
_SCORE = re.compile(
    r"(?i)\b(?:score|rating|grade)\b\s*(?:[(<\[]\s*1\s*-\s*5\s*[)>\]])?[^0-9\n]{0,16}?([1-5])(?!\d|\.\d|\s*-\s*5)"
)
_OUT_OF_FIVE = re.compile(r"(?i)(?<![\d.])([1-5])\s*(?:/|out\s+of)\s*5\b")
_BARE_SCORE = re.compile(r"^\W*([1-5])\W*$")
_HALLUCINATION = re.compile(r"(?i)hallucination\s*(?:\(y/n\))?\W{0,6}?\b(y|n|yes|no)\b(?!\s+or\b)")
_NOTES = re.compile(r"(?is)\bnotes?\b\W{0,6}?[:\-]\s*(.*)")


@dataclass(frozen=True)
class GradeVerdict:
    label: GradeLabel
    parsed: bool  # False: the reply named no grade and `label` is the NOT_ATTEMPTED fallback
    matched: str = ""  # the text that decided the grade


@dataclass(frozen=True)
class QualityVerdict:
    score: int
    parsed: bool  # False: no 1-5 score found and `score` is the fallback 1
    hallucination: bool | None = None
    notes: str = ""


def _label(token: str) -> GradeLabel:
    token = token.upper().replace(" ", "_")
    return _LETTERS[token] if token in _LETTERS else token  # type: ignore[return-value]


def parse_grade(reply: str | None) -> GradeVerdict:
    """The grade a reply names first; NOT_ATTEMPTED (parsed=False) when it names none,
    lists several options or contradicts itself."""
    text = reply or ""
    bare = _BARE.match(text)
    if bare:
        return GradeVerdict(_label(bare.group(1)), True, bare.group(1))
    options = list(_OPTION.finditer(text))
    if len({m.group(1) for m in options}) > 1:
        return GradeVerdict("NOT_ATTEMPTED", False)  # lists options instead of choosing one
    if any(m.group(2) and _label(m.group(1)) != _label(m.group(2)) for m in options):
        return GradeVerdict("NOT_ATTEMPTED", False)  # "B: CORRECT": letter and label disagree
    hits = [m for m in (_LETTER.search(text), _LABEL.search(text)) if m]
    if not hits:
        return GradeVerdict("NOT_ATTEMPTED", False)
    first = min(hits, key=lambda m: m.start())
    return GradeVerdict(_label(first.group(1)), True, first.group(1))


def parse_quality(reply: str | None) -> QualityVerdict:
    """The 1-5 score of a quality reply, with its hallucination flag and notes; 1 (parsed=False)
    when no score in 1-5 is found."""
    text = reply or ""
    hallucination = _HALLUCINATION.search(text)
    flag = hallucination.group(1).lower().startswith("y") if hallucination else None
    notes = _NOTES.search(text)
    note = _squash(notes.group(1), 300) if notes else ""
    for pattern in (_SCORE, _OUT_OF_FIVE, _BARE_SCORE):
        found = pattern.search(text)
        if found:
            return QualityVerdict(int(found.group(1)), True, flag, note)
    return QualityVerdict(1, False, flag, note)


def rubric_calls(requests: Sequence[GradeRequest]) -> list[tuple[str, list[Message]]]:
    """(rubric id, messages) for every answer and rubric: answer-major, in RUBRICS order."""
    return [(rubric, build(request)) for request in requests for rubric, build in RUBRICS.items()]


def grades_from(replies: Sequence[str | None], judge: str) -> list[Grade]:
    """One Grade per answer from the replies to :func:`rubric_calls`, in the same order."""
    width = len(RUBRICS)
    grades = []
    for start in range(0, len(replies), width):
        mine = dict(zip(RUBRICS, replies[start : start + width]))
        grades.append(grade_from_replies(mine[GRADE_RUBRIC], mine[QUALITY_RUBRIC], judge))
    return grades


def _squash(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def grade_from_replies(grade_reply: str | None, quality_reply: str | None, judge: str) -> Grade:
    """One Grade from the replies to both rubrics; unparsed parts lead the rationale as ``unparsed:``."""
    grade, quality = parse_grade(grade_reply), parse_quality(quality_reply)
    problems, parts = [], []
    if grade.parsed:
        parts.append(f"{GRADE_KEY}: {grade.matched} ({grade.label})")
    else:
        problems.append(f"unparsed: {GRADE_KEY} reply {_squash(grade_reply or '', 80)!r} -> NOT_ATTEMPTED (fallback)")
    if quality.parsed:
        flag = "" if quality.hallucination is None else f"; hallucination: {'Y' if quality.hallucination else 'N'}"
        parts.append(f"quality: {quality.score}{flag}" + (f"; notes: {quality.notes}" if quality.notes else ""))
    else:
        problems.append(f"unparsed: quality reply {_squash(quality_reply or '', 80)!r} -> 1 (fallback)")
    return Grade(grade.label, quality.score, judge, RUBRIC, "; ".join(problems + parts))
