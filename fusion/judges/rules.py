"""The rules judge: deterministic, offline grading by normalised answer matching.

What it does, in order, on the answer text (the continuation only, never the echoed question):

1. **Normalise** gold and answer: Unicode accents folded (``é`` -> ``e``), lower case, ``&`` ->
   ``and``, articles (a, an, the) dropped, punctuation dropped except inside numbers; numbers lose
   thousands separators and trailing zero decimals (``1,000`` = ``1000``, ``3.0`` = ``3``); number
   words up to twenty become digits (``two`` = ``2``); month names become month numbers and
   ordinal suffixes and a following "of" are dropped (``5th of May`` = ``May 5``), so ``January 5, 2008``, ``5 January 2008`` and
   ``2008-01-05`` share the tokens {1, 5, 2008}.
2. **CORRECT** when every normalised gold token occurs in the answer's tokens. A person's name
   needs every part (SimpleQA asks for the full answer: the surname alone is INCORRECT).
3. **NOT_ATTEMPTED** when the answer is empty, or hedges/refuses ("I don't know", "not sure",
   "cannot answer", "no information", "unable to", ...) without containing the gold answer.
4. **INCORRECT** otherwise.

Quality grade (1-5), derived from the label and the gold-token recall:
CORRECT -> 5 (4 when the answer runs over 60 words: correct but padded); INCORRECT -> 3 if at
least half of the gold tokens are present, 2 if any are, else 1; NOT_ATTEMPTED -> 1.

Limits: it cannot tell a correct answer from one that lists the gold beside wrong alternatives
("Newton or Einstein" is CORRECT here), it has no synonyms or paraphrase ("USA" vs "United States"
is INCORRECT), numbers must match exactly (no rounding to significant figures, no units), and
dates match on their parts only, not their order. It is an offline stand-in for an LLM judge, fit
for smoke runs and for tests; publishable numbers need an LLM judge.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from fusion.records import Grade, GradeRequest, SimpleQAGrade

RUBRIC = "rules-v1"
_ARTICLES = {"a", "an", "the"}
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
_MONTHS = {
    m: str(i + 1)
    for i, m in enumerate(
        "january february march april may june july august september october november december".split()
    )
}
_MONTHS.update({m[:3]: n for m, n in list(_MONTHS.items()) if m != "may"})
_MONTHS["sept"] = "9"
_HEDGES = re.compile(
    r"\b(i don'?t know|i do not know|not sure|i'?m unsure|cannot answer|can'?t answer|unable to|"
    r"no information|not (?:publicly )?available|i cannot|i can'?t|don'?t have (?:enough )?information|"
    r"do not have (?:enough )?information|not aware|no record)\b"
)
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+")
_LONG_ANSWER_WORDS = 60


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower().replace("&", " and ")


def _number(token: str) -> str:
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", token):
        token = token.replace(",", "")
    token = token.replace(",", ".") if re.fullmatch(r"\d+,\d{1,2}", token) else token
    if "." in token:
        whole, _, frac = token.partition(".")
        frac = frac.rstrip("0")
        token = f"{whole}.{frac}" if frac else whole
    return token.lstrip("0") or "0"


def normalise(text: str) -> list[str]:
    """Tokens after the normalisation described in the module docstring."""
    tokens = []
    for tok in _TOKEN.findall(_fold(text).replace("-", " ")):
        if tok[0].isdigit():
            tokens.append(_number(tok))
        elif tok in _ARTICLES:
            continue
        elif tok in _NUMBER_WORDS:
            tokens.append(_NUMBER_WORDS[tok])
        elif tok in _MONTHS:
            tokens.append(_MONTHS[tok])
        elif tok in {"st", "nd", "rd", "th", "of"} and tokens and tokens[-1].isdigit():
            continue  # "5th of May" tokenises as "5", "th", "of", "may"
        else:
            tokens.append(tok)
    return tokens


def recall(gold: str, answer: str) -> float:
    gold_tokens = set(normalise(gold))
    if not gold_tokens:
        return 0.0
    return len(gold_tokens & set(normalise(answer))) / len(gold_tokens)


def simpleqa_label(gold: str, answer: str) -> SimpleQAGrade:
    if not answer.strip():
        return "NOT_ATTEMPTED"
    if recall(gold, answer) == 1.0:
        return "CORRECT"
    if _HEDGES.search(_fold(answer)):
        return "NOT_ATTEMPTED"
    return "INCORRECT"


def quality_grade(label: SimpleQAGrade, gold: str, answer: str) -> int:
    if label == "CORRECT":
        return 4 if len(answer.split()) > _LONG_ANSWER_WORDS else 5
    if label == "NOT_ATTEMPTED":
        return 1
    found = recall(gold, answer)
    return 3 if found >= 0.5 else 2 if found > 0 else 1


class RulesJudge:
    """Grades by the rules above; deterministic and offline."""

    name = "rules"

    def grade(self, requests: Sequence[GradeRequest]) -> list[Grade]:
        grades = []
        for r in requests:
            label = simpleqa_label(r.gold, r.answer)
            grades.append(Grade(label, quality_grade(label, r.gold, r.answer), self.name, RUBRIC))
        return grades
