"""The rules judge's reading of gold and answer: what kind the gold is, and what the answer claims.

The kind of gold (number or date, person, capitalised name, institution) decides which other
candidates count against it, so finding the gold in the answer, its contradicting alternatives
and the answer's first claim (rules 2-4, 8 and 9 of :mod:`fusion.evaluate.judges.rules`) share
these helpers; the labels and grades they feed stay in that module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fusion.evaluate.fluency import YEAR
from fusion.evaluate.judges.rules_tokens import _TITLES, _same, _Tok, _tokens, normalise

_GOLD_STOPWORDS = {"of", "and", "in", "on", "at", "for", "to", "by"}
_CONNECTORS = {"or", "and", "nor"}
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


@dataclass(frozen=True)
class _Gold:
    tokens: list[str]  # tokens every match needs
    person: bool  # looks like a person's name: surname-only and typo leniency apply
    numeric: bool  # every token is a number or date: alternatives are other numbers
    proper: bool  # starts with a capital: alternatives are other capitalised names
    # rules-v6: a number and its unit words ("6.213 km long") is answered by a number too, and a gold
    # holding a date by a date or a year, not by any number ("season 2" before "born March 28, 1941")
    measure: bool = False
    dated: bool = False


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
    measure = len(toks) >= 2 and toks[0].kind == "num" and all(t.kind == "word" and not t.cap for t in toks[1:])
    dated = any(t.kind == "date" for t in toks)
    return _Gold(list(dict.fromkeys(required)), person, numeric, proper, measure, dated)


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


_COPIED = _Tok("\u2400", False, "word")  # an answer word copied from the question: matches no gold


def _mask_question_copies(gold: _Gold, answer: list[_Tok], question: str) -> list[_Tok]:
    """The answer with gold words that it copied from the question blanked out (rules-v4).

    A gold word the question also holds ("4" in "... in Season 4 of RPDR?", "Root" in "Olga
    Vadimovna von Root") is evidence only where the answer did not lift it with its neighbour from
    the question: an occurrence next to the same neighbour as in the question ("in Season 4")
    is blanked. Gold words the question lacks are never touched.
    """
    asked = [t.norm for t in _tokens(question) if t.kind != "punct"]
    shared = set(gold.tokens) & set(asked)
    if not shared:
        return answer
    pairs = set(zip(asked, asked[1:]))
    content = [i for i, t in enumerate(answer) if t.kind != "punct"]
    out = list(answer)
    for k, i in enumerate(content):
        if answer[i].norm not in shared:
            continue
        before = answer[content[k - 1]].norm if k else None
        after = answer[content[k + 1]].norm if k + 1 < len(content) else None
        # lifted with a neighbour that is no gold word ("Season" of "Season 4"): a gold phrase
        # the question also holds ("High School" of "Birmingham High School") stays evidence
        if ((before, answer[i].norm) in pairs and before not in gold.tokens) or (
            (answer[i].norm, after) in pairs and after not in gold.tokens
        ):
            out[i] = _COPIED
    return out


_BARE_NUMBERS = re.compile(r"\d")
_WORDISH = re.compile(r"[^\W\d_]{2,}")


def _lists_numbers(gold: _Gold, answer_text: str) -> bool:
    """Does the answer list numbers instead of committing to one (rules-v4)? For a numeric gold:
    a line of two or more numbers and no word ("191 1", "2022:2014"), or two bare-number lines
    with different numbers ("2013\n2012\n2012 was ...")."""
    if not gold.numeric:
        return False
    bare = [
        tuple(t.norm for t in _tokens(line) if t.kind in ("num", "date"))
        for line in answer_text.split("\n")
        if _BARE_NUMBERS.search(line) and not _WORDISH.search(line)
    ]
    return any(len(numbers) >= 2 for numbers in bare) or len(set(bare)) >= 2


def _surname(gold: _Gold, gold_text: str, answer: list[_Tok], question: str = "") -> tuple[int, int] | None:
    """Span of the gold surname in the answer, unless the answer names someone else with it, or
    the question already holds the surname (rules-v4).

    Someone else: a different given name right before the surname ("Takeshi Sugeno"), or a gold
    given name right before a different surname ("Michio Kakezawa").
    """
    known = set(normalise(gold_text)) | _TITLES
    asked = set(normalise(question))
    surname, given = gold.tokens[-1], set(gold.tokens[:-1])
    if surname in asked:
        return None  # the question names the family ("Olga Vadimovna von Root"): no evidence alone

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
    if gold.numeric or gold.measure:
        kinds = ("date",) if gold.dated else ("num", "date")
        return any(
            (t.kind in kinds or (gold.dated and YEAR.fullmatch(t.norm))) and t.norm not in asked for t in sentence
        )
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
    # a date in the question also asks its month and year ("December 2012" for "December 5, 2012")
    asked |= {d[: len(d) - 3 * k] for d in asked if re.fullmatch(r"\d{4}-\d\d(?:-\d\d)?", d) for k in (1, 2)}
    asked = {a for a in asked if a}
    first = span[0]
    if gold.measure:  # the match's window can open on an earlier number's units ("20.5 km long. ... 6.213 km long")
        first = next((i for i in range(span[0], min(span[1], len(answer))) if answer[i].norm == gold.tokens[0]), first)
    start = 0
    for end in [i for i, t in enumerate(answer) if t.norm == "|"] + [len(answer)]:
        if end > first:
            return False  # this sentence holds the gold: the gold is the first claim
        if _claims(gold, answer[start:end], asked):
            return True
        start = end + 1
    return False
