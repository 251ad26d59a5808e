"""The rules judge's reading of what an answer rejects and chooses (rules-v5, rules 14-16 of
:mod:`fusion.evaluate.judges.rules`).

Negation: a gold mention right after "not", "isn't", "wasn't", "aren't", "weren't", "rather than" or
"instead of" (one preposition may stand between: "not in 1995") is rejected, not claimed: "It was
not Michio Sugeno; it was Lotfi Zadeh." holds no claim of "Michio Sugeno".

Choice questions: when the question names the gold as one of its options ("Which magazine was
started first, Arthur's Magazine or First for Women?", "Which of A and B is older?"), the gold's
words are in the question by construction, so they are evidence only as a choice: the first
sentence that names one option and not another (or names both, not joined as a list: the first
named is its claim) is the answer's choice. Yes/no questions ("Are A and B both ...?"): the first
"yes" or "no" of the answer is its choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from fusion.evaluate.judges.rules_claims import _COPIED, _FUNCTION_WORDS, _find, _Gold, _gold
from fusion.evaluate.judges.rules_tokens import _Tok, _tokens, normalise

_NEGATIONS = {"not", "isnt", "wasnt", "arent", "werent"}
_NEGATING_PAIRS = {("rather", "than"), ("instead", "of")}
_BETWEEN = {"in", "on", "at", "by"}  # "not in 1995": a preposition between the cue and the mention
_LIST_JOINS = {"or", "and", ","}
_NAME_GLUE = {"of", "for", "and", "the", "de", "von", "van", "on", "in"}  # inside an option's name
_YES_NO = {"yes", "no"}
# a yes/no question opens with one of these ("Are A and B both American?")
_AUXILIARIES = set("is are was were do does did can could has have had will would should".split())


@dataclass(frozen=True)
class Choice:
    """A question's options: the gold's and the others (each a _Gold to find in the answer)."""

    gold: _Gold
    others: tuple[_Gold, ...]
    yes_no: bool = False


def negated(answer: list[_Tok], span: tuple[int, int], name: frozenset[str] = frozenset()) -> bool:
    """Is the mention at ``span`` rejected by a negation right before it (in its sentence)? Words of
    ``name`` right before the span belong to the mention ("not Michio Sugeno" for a surname match)."""
    start = span[0]
    while start > 0 and answer[start - 1].norm in name:
        start -= 1
    before: list[str] = []
    for i in range(start - 1, -1, -1):
        if answer[i].norm == "|" or len(before) == 3:
            break
        if answer[i].kind != "punct":
            before.insert(0, answer[i].norm)
    if before and before[-1] in _BETWEEN:
        before = before[:-1]
    return bool(before) and (before[-1] in _NEGATIONS or tuple(before[-2:]) in _NEGATING_PAIRS)


def affirmed(gold: _Gold, answer: list[_Tok], fuzzy: bool) -> tuple[tuple[int, int] | None, bool]:
    """(span of the first mention of the gold that no negation rejects, whether a rejected one was seen)."""
    seen, rejected = list(answer), False
    while (span := _find(gold, seen, fuzzy)) is not None:
        if not negated(answer, span):
            return span, rejected
        rejected = True
        seen[span[0] : span[1]] = [_COPIED] * (span[1] - span[0])
    return None, rejected


def _in_name(tok: _Tok) -> bool:
    """Can ``tok`` be part of an option's name: a capitalised word (not "Which"), a number, a glue word?"""
    if tok.kind == "punct" or (tok.cap and tok.norm in _FUNCTION_WORDS):
        return False
    return tok.cap or tok.kind != "word" or tok.norm in _NAME_GLUE


def _option_before(words: list[_Tok], end: int) -> list[_Tok]:
    """The name that ends at ``end`` (exclusive), read backwards: capitalised words and numbers,
    glued by "of", "for", ... inside it."""
    out: list[_Tok] = []
    for tok in reversed(words[:end]):
        if not _in_name(tok):
            break
        out.insert(0, tok)
    while out and out[0].norm in _NAME_GLUE:
        out.pop(0)
    return out


def _option_after(words: list[_Tok], start: int) -> list[_Tok]:
    out: list[_Tok] = []
    for tok in words[start:]:
        if not _in_name(tok):
            break
        out.append(tok)
    while out and out[-1].norm in _NAME_GLUE:
        out.pop()
    return out


def choice_of(gold_text: str, question: str) -> Choice | None:
    """The question's options when it asks to choose and the gold is one of them; None otherwise."""
    gold = _gold(gold_text)
    asked = _tokens(question)
    if gold.tokens and set(gold.tokens) <= _YES_NO and len(gold.tokens) == 1:
        if not asked or asked[0].norm not in _AUXILIARIES:
            return None
        return Choice(gold, (_gold("no" if gold.tokens == ["yes"] else "yes"),), yes_no=True)
    wanted = normalise(gold_text)
    if not wanted:
        return None
    norms = [t.norm for t in asked]
    for start in range(len(asked) - len(wanted) + 1):
        if norms[start : start + len(wanted)] != wanted:
            continue
        end = start + len(wanted)
        if end < len(asked) and norms[end] in ("or", "and"):
            other = _option_after(asked, end + 1)
        elif start > 0 and norms[start - 1] in ("or", "and"):
            other = _option_before(asked, start - 1)
        else:
            continue
        other_text = " ".join(t.norm for t in other)
        if other and normalise(other_text) != wanted:
            return Choice(gold, (_gold(other_text),))
    return None


def _mention(option: _Gold, sentence: list[_Tok], blank: tuple[int, int] | None) -> tuple[int, int] | None:
    seen = list(sentence)
    if blank is not None:  # an option inside the gold's own name ("Tahoe" in "Lake Tahoe") is no other mention
        seen[blank[0] : blank[1]] = [_COPIED] * (blank[1] - blank[0])
    span = _find(option, seen, fuzzy=False)
    return None if span is None or negated(sentence, span) else span


def _choice_in(choice: Choice, sentence: list[_Tok]) -> bool | None:
    """The option one sentence chooses: the only one it names, or the first of two not listed
    together ("Of A and B, A is older" reads past the list)."""
    while True:
        mine = _mention(choice.gold, sentence, None)
        theirs = [s for o in choice.others if (s := _mention(o, sentence, mine)) is not None]
        if mine is None or not theirs:
            return None if mine is None and not theirs else mine is not None
        first, second = sorted([mine, min(theirs)])
        if not all(t.norm in _LIST_JOINS for t in sentence[first[1] : second[0]]):
            return first == mine
        sentence = sentence[second[1] :]  # "Arthur's Magazine or First for Women": the options, listed


def chosen(choice: Choice, answer: list[_Tok]) -> bool | None:
    """True: the answer chooses the gold's option; False: another; None: it chooses none."""
    if choice.yes_no:
        first = next((t.norm for t in answer if t.norm in _YES_NO), None)
        return None if first is None else first == choice.gold.tokens[0]
    start = 0
    for end in [i for i, t in enumerate(answer) if t.norm == "|"] + [len(answer)]:
        verdict = _choice_in(choice, answer[start:end])
        if verdict is not None:
            return verdict
        start = end + 1
    return None


def unclaimed(answer: list[_Tok]) -> list[_Tok]:
    """The answer with the names and numbers it rejects blanked ("not Lotfi Zadeh"): no claims."""
    out = list(answer)
    for i, tok in enumerate(answer):
        if tok.kind == "punct" or not negated(answer, (i, i + 1)):
            continue
        j = i
        while j < len(answer) and answer[j].kind != "punct" and (answer[j].cap or answer[j].kind != "word"):
            out[j] = _COPIED
            j += 1
    return out
