"""The rules judge: a deterministic, offline SimpleQA grader by normalised answer matching.

It stands in for the authors' LLM judges (mistral-small) where none is reachable. It follows the
rubric the authors gave their SimpleQA grader (the paper's grading prompt): ignore case and punctuation,
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
  quadratic-weighted kappa 0.71 (docs/judges.md, ``python -m fusion.report.parity DIR --judges``). Use it
  for smoke runs, tests and comparisons between runs graded alike.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from fusion.evaluate.fluency import fluency
from fusion.records import Grade, GradeRequest, SimpleQAGrade

RUBRIC = "rules-v3"
# a degenerate answer (fusion.evaluate.fluency) is never CORRECT and grades at most this
DEGENERATE_MAX_QUALITY = 2

_MONTHS = "january february march april may june july august september october november december".split()
_MONTH_RE = (
    r"(?P<{g}>(?i:january|february|march|april|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?|May)"
)
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th)?"
_DATES = [  # (pattern, ISO template); the first that matches a span wins
    (re.compile(rf"\b{_MONTH_RE.format(g='m')}\s+{_DAY},?\s+(?P<y>\d{{4}})\b"), "{y}-{m}-{d}"),
    (re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH_RE.format(g='m')},?\s+(?P<y>\d{{4}})\b"), "{y}-{m}-{d}"),
    (re.compile(r"\b(?P<y>\d{4})[-/.](?P<m>[01]?\d)[-/.](?P<d>[0-3]?\d)\b"), "{y}-{m}-{d}"),
    (re.compile(rf"\b{_MONTH_RE.format(g='m')},?\s+(?P<y>\d{{4}})\b"), "{y}-{m}"),
    (re.compile(rf"\b{_MONTH_RE.format(g='m')}\s+{_DAY}\b(?!\s*[,/.:]?\s*\d)"), "--{m}-{d}"),
    (re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH_RE.format(g='m')}\b"), "--{m}-{d}"),
]
_DATE_MARK = "\ue000"  # marks the ISO dates we wrote, so raw text like "1990-95" is never a date
_TOKEN = re.compile(
    f"{_DATE_MARK}"
    r"(?P<date>\d{4}-\d\d(?:-\d\d)?|--\d\d-\d\d)"
    r"|(?P<num>\d+(?:,\d{3}(?!\d))*(?:\.\d+)?)(?:st|nd|rd|th)?(?![^\W\d_])"  # "1830s" is no number
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)*)"
    r"|(?P<punct>[,/;.!?\n])"
)
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
    if w != "one"  # mostly a pronoun ("one of the ...")
} | {w: str(10 * i) for i, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), start=3)}
_MULTIPLIERS = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
_ARTICLES = {"a", "an", "the"}
_GOLD_STOPWORDS = {"of", "and", "in", "on", "at", "for", "to", "by"}
_CONNECTORS = {"or", "and", "nor"}
_TITLES = {
    "dr",
    "prof",
    "professor",
    "mr",
    "mrs",
    "ms",
    "sir",
    "dame",
    "lord",
    "lady",
    "saint",
    "st",
    "president",
    "king",
    "queen",
    "prince",
    "princess",
    "general",
    "captain",
    "judge",
    "justice",
}
_NAME_PARTICLES = {"van", "von", "de", "da", "di", "del", "der", "den", "le", "la", "du", "bin", "ibn", "al", "y"}
_NOT_PERSON = set(
    "university college school institute academy award prize medal company corporation inc ltd group association "
    "organization organisation federation union "
    "museum library river lake mount mountain island islands city county state province district park "
    "church cathedral temple hospital society club bank party street road avenue station records band "
    "festival league cup championship foundation council committee ministry department agency army navy "
    "theatre theater hall tower bridge center centre republic kingdom empire airport stadium hotel "
    "range hills valley desert plateau sea ocean bay gulf peninsula forest falls glacier canal strait "
    "region fort palace castle mosque garden gardens zoo tv radio network channel series show album "
    "song novel book magazine newspaper journal north south east west new saint".split()
)
_FUNCTION_WORDS = set(
    "he she it they we i you his her its their our this that these those there here in on at as for from "
    "with by after before during when while what which who whom where why how but so if then also however "
    "answer explanation question yes no".split()
)
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


@dataclass(frozen=True)
class _Tok:
    norm: str  # normalised text; "," "/" for those marks, "|" for a sentence boundary
    cap: bool  # the original started with a capital letter (evidence of a name)
    kind: str  # "word", "num", "date" or "punct"
    acronym: bool = False  # the original was all capitals ("IEEE")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace("’", "'").replace("‘", "'").replace("&", " and ")


def _iso_date(match: re.Match[str], template: str) -> str:
    parts = match.groupdict()
    month = parts.get("m") or ""
    if month and not month.isdigit():
        month = str(next(i for i, m in enumerate(_MONTHS, 1) if m.startswith(month.lower()[:3])))
    if month:
        parts["m"] = f"{int(month):02d}"
    if parts.get("d"):
        if not 1 <= int(parts["d"]) <= 31:
            return match.group()
        parts["d"] = f"{int(parts['d']):02d}"
    if parts.get("m") and not 1 <= int(parts["m"]) <= 12:
        return match.group()
    return f" {_DATE_MARK}{template.format(**parts)} "


def _number(text: str) -> str:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return text
    return format(value.normalize(), "f")


def _tokens(text: str) -> list[_Tok]:
    """The normalised token stream of ``text`` (see the module docstring)."""
    text = _fold(text)
    for pattern, template in _DATES:
        text = pattern.sub(functools.partial(_iso_date, template=template), text)
    out: list[_Tok] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        raw = match.group(kind)
        if kind == "punct":
            if raw == "." and out and out[-1].kind == "word" and (len(out[-1].norm) == 1 or out[-1].norm in _TITLES):
                continue  # the period of an initial or a title ("J.", "Dr.") ends no sentence
            norm = raw if raw in ",/" else "|"
            if not (out and out[-1].norm == norm == "|"):
                out.append(_Tok(norm, False, "punct"))
            continue
        cap = raw[0].isupper()
        norm = raw.lower()
        if kind == "word":
            norm = re.sub(r"'s$", "", norm).replace("'", "")
            if norm in _ARTICLES:
                continue
            if norm in _MULTIPLIERS and out and out[-1].kind == "num":
                out[-1] = _Tok(_number(str(Decimal(out[-1].norm) * _MULTIPLIERS[norm])), out[-1].cap, "num")
                continue
            if norm in _NUMBER_WORDS:
                norm, kind = _NUMBER_WORDS[norm], "num"
        elif kind == "num":
            norm = _number(raw)
        out.append(_Tok(norm, cap, kind, len(raw) > 1 and raw.isupper()))
    return out


def normalise(text: str) -> list[str]:
    """The normalised content tokens of ``text`` (words, numbers, ISO dates), in order."""
    return [t.norm for t in _tokens(text) if t.kind != "punct"]


def _edit1(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion or substitution."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return a[i + (len(a) == len(b)) :] == b[i + 1 :]
    return True


def _same(gold: str, answer: str, fuzzy: bool) -> bool:
    if gold == answer:
        return True
    if re.fullmatch(r"\d{4}(-\d\d)?", gold) and answer.startswith(gold + "-") and len(answer) in (7, 10):
        return True  # gold year or year-month inside a more specific answer date
    if gold.startswith("--") and re.fullmatch(r"\d{4}-\d\d-\d\d", answer) and answer[4:] == gold[1:]:
        return True  # gold month-day inside a full answer date
    return fuzzy and len(gold) >= 5 and gold.isalpha() and answer.isalpha() and _edit1(gold, answer)


@dataclass(frozen=True)
class _Gold:
    tokens: list[str]  # tokens every match needs
    person: bool  # looks like a person's name: surname-only and typo leniency apply
    numeric: bool  # every token is a number or date: alternatives are other numbers
    proper: bool  # starts with a capital: alternatives are other capitalised names


def _gold(text: str) -> _Gold:
    toks = [t for t in _tokens(text) if t.kind != "punct"]
    required = [t.norm for t in toks if t.norm not in _GOLD_STOPWORDS] or [t.norm for t in toks]
    words = [t for t in toks if t.kind == "word"]
    person = (
        "," not in text  # "Kallithea, Athens" is a place
        and 2 <= len(toks) <= 5
        and len(words) == len(toks)
        and all(t.cap or t.norm in _NAME_PARTICLES for t in words)
        and not any(t.acronym for t in words)
        and not any(t.norm in _NOT_PERSON for t in words)
        and words[-1].norm not in _NAME_PARTICLES
    )
    numeric = bool(toks) and all(t.kind in ("num", "date") for t in toks)
    proper = bool(words) and words[0].cap
    return _Gold(list(dict.fromkeys(required)), person, numeric, proper)


def _find(gold: _Gold, answer: list[_Tok], fuzzy: bool) -> tuple[int, int] | None:
    """Token span of the first answer window holding every gold token, or None."""
    content = [i for i, t in enumerate(answer) if t.kind != "punct"]
    width = len(gold.tokens) + 2
    for start in range(len(content)):
        window = content[start : start + width]
        found = [next((i for i in window if _same(g, answer[i].norm, fuzzy)), None) for g in gold.tokens]
        hits = [h for h in found if h is not None]
        if len(hits) == len(found):
            return min(hits), max(hits) + 1
    return None


def _surname(gold: _Gold, gold_text: str, answer: list[_Tok]) -> tuple[int, int] | None:
    """Span of the gold surname in the answer, unless the answer names someone else with it.

    Someone else: a different given name right before the surname ("Takeshi Sugeno"), or a gold
    given name right before a different surname ("Michio Kakezawa").
    """
    known = set(normalise(gold_text)) | _TITLES
    surname, given = gold.tokens[-1], set(gold.tokens[:-1])

    def foreign(i: int) -> bool:
        return 0 <= i < len(answer) and _is_name_word(answer[i]) and answer[i].norm not in known

    hits = [i for i, tok in enumerate(answer) if tok.kind == "word" and tok.cap and _same(surname, tok.norm, True)]
    if not hits or any(foreign(i - 1) for i in hits):
        return None
    if any(tok.norm in given and foreign(i + 1) for i, tok in enumerate(answer)):
        return None
    return hits[0], hits[0] + 1


def _is_name_word(tok: _Tok) -> bool:
    """A capitalised word that can start or continue a different name (not 'He', 'IEEE', 'Award')."""
    return (
        tok.kind == "word" and tok.cap and tok.norm not in _FUNCTION_WORDS | _TITLES | _NOT_PERSON and not tok.acronym
    )


def _contradicted(gold: _Gold, answer: list[_Tok], span: tuple[int, int]) -> bool:
    """Is the matched gold joined by or/and/nor/'/' to an alternative of the same kind?"""
    if not (gold.numeric or gold.proper):
        return False
    start = max((i + 1 for i in range(span[0]) if answer[i].norm == "|"), default=0)
    end = next((i for i in range(span[1], len(answer)) if answer[i].norm == "|"), len(answer))
    known = set(gold.tokens)
    shape = ""
    for i in range(start, end):
        tok = answer[i]
        if span[0] <= i < span[1]:
            char = "G"
        elif tok.norm in (",", "/"):
            char = "c" if tok.norm == "," else "o"
        elif tok.norm in _CONNECTORS:
            char = "o"
        elif gold.numeric:
            char = "X" if tok.kind in ("num", "date") and not any(_same(g, tok.norm, False) for g in known) else "w"
        else:
            char = "X" if _is_name_word(tok) and tok.norm not in known else "w"
        if not (char in "GX" and shape.endswith(char)):
            shape += char
    return any("G" in m and "X" in m for m in re.findall(r"[GX](?:c[GX])*c?o[GX]", shape))


def _recall(gold: _Gold, answer: list[_Tok]) -> float:
    found = sum(any(_same(g, t.norm, gold.person) for t in answer) for g in gold.tokens)
    return found / len(gold.tokens) if gold.tokens else 0.0


def _states_answer(gold: _Gold, declared: list[_Tok]) -> bool:
    """Is "the answer is ..." followed by an answer? For a numeric or capitalised gold it must name
    a number or a capitalised word: "The answer is directly related to the question" states none."""
    if gold.numeric:
        return any(t.kind in ("num", "date") for t in declared)
    if gold.proper:
        return any(t.kind != "punct" and (t.cap or t.kind != "word") for t in declared)
    return any(t.kind != "punct" for t in declared)


def _holds(gold: _Gold, gold_text: str, answer: list[_Tok]) -> bool:
    """Does this (part of an) answer contain the gold, leniently for names?"""
    if _find(gold, answer, fuzzy=gold.person) is not None:
        return True
    return gold.person and _surname(gold, gold_text, answer) is not None


def _claims(gold: _Gold, sentence: list[_Tok], asked: set[str]) -> bool:
    """Does ``sentence`` name an answer of the gold's kind that the question and gold do not hold?

    Numeric gold: another number or date. Person gold: another person, two name words in a row
    that are not part of an institution's name ("Association for Computing Machinery"). Other
    capitalised gold that ends in an institution or place word ("Radcliffe College"): another
    name before such a word ("Harvard University").
    """
    if gold.numeric:
        return any(t.kind in ("num", "date") and t.norm not in asked for t in sentence)
    if gold.person:
        runs: list[list[_Tok]] = [[]]
        for tok in sentence:  # runs of capitalised words, joined by "of", "for", "and", ...
            if tok.kind == "word" and (tok.cap or (runs[-1] and tok.norm in _GOLD_STOPWORDS)):
                runs[-1].append(tok)
            else:
                runs.append([])
        for run in runs:
            names = [t for t in run if _is_name_word(t) and len(t.norm) > 1]  # not initials
            if len(names) >= 2 and not any(t.norm in _NOT_PERSON for t in run):
                if not {t.norm for t in names} <= asked:
                    return True
        return False
    if gold.tokens[-1] in _NOT_PERSON:
        return any(
            _is_name_word(a) and b.norm in _NOT_PERSON and a.norm not in asked for a, b in zip(sentence, sentence[1:])
        )
    return False


def _first_claim(gold: _Gold, answer: list[_Tok], question: str, span: tuple[int, int]) -> bool:
    """Does the answer commit to something else before it reaches the gold?

    The answer's first sentence that names a candidate of the gold's kind (:func:`_claims`) is its
    first claim. True when that sentence ends before the matched gold: "As of December 5, 0 DLCs
    were released ... 3 more" for the gold "3".
    """
    asked = set(normalise(question)) | set(gold.tokens)
    start = 0
    for end in [i for i, t in enumerate(answer) if t.norm == "|"] + [len(answer)]:
        if end > span[0]:
            return False  # this sentence holds the gold: the gold is the first claim
        if _claims(gold, answer[start:end], asked):
            return True
        start = end + 1
    return False


def grade_answer(gold_text: str, answer_text: str, question: str = "") -> tuple[SimpleQAGrade, int, str]:
    """(SimpleQA label, 1-5 quality, reason) for one answer, by the rules in the module docstring."""
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


def _match_grade(gold_text: str, answer_text: str, question: str) -> tuple[SimpleQAGrade, int, str]:
    answer = _tokens(answer_text)
    gold = _gold(gold_text)
    if not gold.tokens:
        return "NOT_ATTEMPTED", 1, "the gold answer has no words to match"
    if not any(t.kind != "punct" for t in answer):
        return "NOT_ATTEMPTED", 1, "empty answer"
    hedged = bool(_HEDGE.search(_fold(answer_text).lower()))
    span, lenient = _find(gold, answer, fuzzy=False), False
    if span is None and gold.person:
        span, lenient = _find(gold, answer, fuzzy=True) or _surname(gold, gold_text, answer), True
    if span is not None:
        declared = [_tokens(m.group("declared")) for m in _DECLARED.finditer(_fold(answer_text))]
        declared = [d for d in declared if _states_answer(gold, d)]
        if declared and not any(_holds(gold, gold_text, d) for d in declared):
            return "INCORRECT", 3, "gold present but the stated answer is something else"
        if not declared and len(_OPTION_LINE.findall(answer_text)) >= 2:
            return "INCORRECT", 3, "gold only among listed options, none chosen"
        if _contradicted(gold, answer, span):
            return "INCORRECT", 3, "gold present but offered beside a contradicting alternative"
        if _first_claim(gold, answer, question, span):
            return "INCORRECT", 3, "gold present but the answer first commits to something else"
        if lenient or hedged:
            return "CORRECT", 4, "gold present " + ("(surname or typo match)" if lenient else "with a hedge")
        return "CORRECT", 5, "gold present"
    if hedged:
        return "NOT_ATTEMPTED", 1, "refuses or hedges without the gold"
    recall = _recall(gold, answer)
    return "INCORRECT", 2, f"gold not found (token recall {recall:.2f})"


class RulesJudge:
    """The Judge protocol over :func:`grade_answer`: deterministic, offline, no model."""

    name = "rules"

    def grade(self, requests: Sequence[GradeRequest]) -> list[Grade]:
        grades = []
        for request in requests:
            label, quality, reason = grade_answer(request.gold, request.answer, request.question)
            grades.append(Grade(label, quality, self.name, RUBRIC, reason))
        return grades
