"""Scoring: pure functions, no model code.

Token overlap follows the authors exactly where it can: they computed
``set(nltk.word_tokenize(text.lower()))`` minus the tokens ``t`` with ``t in string.punctuation``
and took the recall of the gold set. ``word_tokenize`` needs NLTK's downloaded Punkt model, which
this project cannot fetch, so :func:`word_tokens` re-implements it without data (see there). The
search objective, composite score and accuracy threshold are the paper's (docs/method.md, sections 4
and 5).
"""

from __future__ import annotations

import math
import re
import statistics
import string
from collections.abc import Sequence

from fusion.evaluate.fluency import is_degenerate
from fusion.evaluate.grading import GRADE_KEY
from fusion.records import GRADE_LABELS

# search.objective=fluent ranks every degenerate answer below every fluent one (the penalty
# exceeds the objective's whole range of 1), so a loop of gold words cannot win the search; among
# answers of one kind the paper's objective still decides
DEGENERACY_PENALTY = 1.0

# --- NLTKWordTokenizer (nltk.tokenize.destructive, Apache-2.0), ported rule for rule. ----------
# These substitutions run in this order on one sentence; the result is split on whitespace.
_STARTING_QUOTES = [
    (re.compile("([«“‘„]|[`]+)"), r" \1 "),
    (re.compile(r'^"'), r"``"),
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r"([ \(\[{<])(\"|\'{2})"), r"\1 `` "),
    (re.compile(r"(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b"), r"\1 \2"),
]
_PUNCTUATION = [
    (re.compile(r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*)\s*$"), r"\1 \2 \3 "),
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.{2,}"), r" \g<0> "),
    (re.compile(r"[;@#$%&]"), r" \g<0> "),
    (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 "),
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
    (re.compile(r"[*]"), r" \g<0> "),
    (re.compile(r"[\]\[\(\)\{\}\<\>]"), r" \g<0> "),
    (re.compile(r"--"), r" -- "),
]
_ENDING_QUOTES = [
    (re.compile("([»”’])"), r" \1 "),
    (re.compile(r"''"), " '' "),
    (re.compile(r'"'), " '' "),
    (re.compile(r"\s+"), " "),
    (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
]
_CONTRACTIONS = [
    re.compile(p)
    for p in (
        r"(?i)\b(can)(not)\b",
        r"(?i)\b(d)('ye)\b",
        r"(?i)\b(gim)(me)\b",
        r"(?i)\b(gon)(na)\b",
        r"(?i)\b(got)(ta)\b",
        r"(?i)\b(lem)(me)\b",
        r"(?i)\b(more)('n)\b",
        r"(?i)\b(wan)(na)(?=\s)",
        r"(?i) ('t)(is)\b",
        r"(?i) ('t)(was)\b",
    )
]


def _tokenize_sentence(sentence: str) -> list[str]:
    """NLTKWordTokenizer.tokenize on one sentence (identical output, checked against nltk 3.9)."""
    for pattern, repl in _STARTING_QUOTES + _PUNCTUATION:
        sentence = pattern.sub(repl, sentence)
    sentence = f" {sentence} "
    for pattern, repl in _ENDING_QUOTES:
        sentence = pattern.sub(repl, sentence)
    for pattern in _CONTRACTIONS:
        sentence = pattern.sub(r" \1 \2 ", sentence)
    return sentence.split()


# --- Punkt sentence boundaries, without the trained English model. ----------------------------
# Candidates are Punkt's: '.', '?' or '!' followed by whitespace + a token, or by one of its
# non-word characters. Sentence splitting only matters to the word tokenizer through its
# final-period rule, so only the decisions at '.' need care. See `word_tokens` for the rule.
_END_CANDIDATE = re.compile(r"""[.?!](?=(?P<after>[)";}\]*:@'({\[!?]|\s+(?P<next>\S+)))""")
_WORD_END = re.compile(r"""[\s)";}\]*:@'({\[!?]""")  # Punkt: whitespace or a non-word char
_NUMBER = re.compile(r"^-?[.,]?\d[\d,.\-]*$")
_INITIAL = re.compile(r"^[^\W\d]$")
_REALIGN = re.compile(r"""["')\]}]+?(?:\s+|(?=--)|$)""", re.MULTILINE)
# Abbreviations that Punkt's English model does not end a sentence on (a common subset; the
# model's own list cannot be downloaded here).
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof rev st jr sr gen col lt capt sgt gov sen rep inc corp co ltd vs etc cf al "
    "e.g i.e u.s u.k u.n a.m p.m vol fig approx dept univ ft mt jan feb aug sept oct nov dec".split()
)


def _is_break(text: str, match: re.Match[str]) -> bool:
    if match.group() != ".":
        return True  # '?' and '!' always end a Punkt sentence
    before = text[max(0, match.start() - 200) : match.start()]
    if before.endswith("."):
        return False  # an ellipsis ends a sentence only before a capitalised word
    prev = _WORD_END.split(before)[-1].lstrip('("`{[:;&#*@)}]-,')  # the word the '.' ends
    if prev in ABBREVIATIONS:
        return False
    if _NUMBER.match(prev) or _INITIAL.match(prev):
        nxt = match.group("next") or match.group("after")
        return not (nxt[0].islower() or nxt[0] in ";:,.!?")
    return True  # any other word, or a lone '.', ends the sentence


def sentences(text: str) -> list[str]:
    """Punkt-style sentence split of lower-cased ``text`` (see :func:`word_tokens`)."""
    spans: list[tuple[int, int]] = []
    last = 0
    for match in _END_CANDIDATE.finditer(text):
        if match.group("after") in ("!", "?") or not _is_break(text, match):
            continue  # in a run like '?!' only the last mark ends the sentence, as in Punkt
        spans.append((last, match.end()))
        last = match.start("next") if match.group("next") else match.end()
    spans.append((last, len(text.rstrip())))
    out: list[str] = []
    shift = 0
    for i, (start, end) in enumerate(spans):
        start, shift = start + shift, 0
        if i + 1 < len(spans) and (realign := _REALIGN.match(text, spans[i + 1][0])):
            # closing quotes or brackets after the period belong to this sentence
            end = spans[i + 1][0] + len(realign.group().rstrip())
            shift = realign.end() - spans[i + 1][0]
        if start < end:
            out.append(text[start:end])
    return out


def word_tokens(text: str) -> list[str]:
    """``nltk.word_tokenize(text)`` without NLTK or its downloaded Punkt model.

    The word tokenizer is NLTK's ``NLTKWordTokenizer`` ported rule for rule, applied per
    sentence. The sentence split stands in for Punkt's English model on *lower-cased* text (the
    authors lower-cased before tokenizing): a '?' or '!' followed by a space or a closing mark
    ends a sentence; a '.' does too, except after an ellipsis, after an abbreviation in
    :data:`ABBREVIATIONS`, and after a number or single letter when the next token starts
    lower-case or with ``;:,`` (Punkt's orthographic rule: "in 2010. he" keeps the token "2010.").
    Sentence boundaries matter only because the word tokenizer splits the final period of a
    sentence off its word ("sugeno." -> "sugeno", "."). On the authors' 520 published
    steered-answer overlaps this reproduces every value (see ``fusion parity``).
    """
    return [tok for sentence in sentences(text) for tok in _tokenize_sentence(sentence)]


def words(text: str) -> set[str]:
    """The authors' word set: ``set(word_tokenize(text.lower()))`` minus punctuation tokens.

    A token is dropped when ``token in string.punctuation``, a *substring* test as in the
    authors' code: every single punctuation character goes, while multi-character tokens such
    as the quote tokens ``` `` ``` and ``''``, ``--`` and ``...`` stay (they are not substrings
    of ``string.punctuation``). Tokens keep inner punctuation: "1,000", "3.5", "u.s.",
    "japanese-born", "o'neill", "ac/dc"; clitics split off ("sugeno's" -> "sugeno", "'s";
    "can't" -> "ca", "n't"; "cannot" -> "can", "not").
    """
    return {tok for tok in word_tokens(text.lower()) if tok not in string.punctuation}


def token_overlap(gold: str, answer: str) -> float:
    """|words(gold) ∩ words(answer)| / |words(gold)|, rounded to 4 decimals as the authors did.

    0 when the gold has no words (the authors' guard against division by zero).
    """
    gold_words = words(gold)
    if not gold_words:
        return 0.0
    return round(len(gold_words & words(answer)) / len(gold_words), 4)


def perplexity(mean_nll: float) -> float:
    """exp(mean NLL); ``inf`` for an unscorable (nan or infinite) NLL, never an overflow."""
    if not math.isfinite(mean_nll):
        return math.inf
    return math.exp(min(mean_nll, 700.0))


def objective(overlap: float, perplexity: float, weight: float = 0.7, perplexity_cap: float = 100.0) -> float:
    """The search objective, maximised: ``weight * overlap - (1 - weight) * min(ppl / cap, 1)``.

    A nan or infinite perplexity counts as the cap, the worst fluency term, so a broken answer
    can never win on fluency.
    """
    fluency = min(perplexity / perplexity_cap, 1.0) if math.isfinite(perplexity) else 1.0
    return weight * overlap - (1.0 - weight) * fluency


def search_objective(
    name: str, answer: str, overlap: float, perplexity: float, weight: float = 0.7, perplexity_cap: float = 100.0
) -> float:
    """The value the search maximises under ``search.objective=name`` (:data:`fusion.config.schema.OBJECTIVES`).

    ``paper`` is :func:`objective`. ``fluent`` subtracts :data:`DEGENERACY_PENALTY` from it when the
    answer is degenerate (:func:`fusion.evaluate.fluency.fluency`): perplexity under the answering model
    cannot make that distinction, since a loop is what the model predicts best once it has begun.
    """
    value = objective(overlap, perplexity, weight, perplexity_cap)
    if name == "fluent" and is_degenerate(answer):
        value -= DEGENERACY_PENALTY
    return value


def composite(overlap: float, quality_grade: float, overlap_weight: float = 0.5) -> float:
    """The paper's composite: ``0.5 * overlap + 0.5 * grade / 5`` (grade 1-5; 0 if missing)."""
    return overlap_weight * overlap + (1.0 - overlap_weight) * quality_grade / 5.0


def accuracy(composites: Sequence[float], threshold: float = 0.6) -> float:
    """Share of prompts whose composite reaches ``threshold`` (0 for no prompts)."""
    return sum(c >= threshold for c in composites) / len(composites) if composites else 0.0


def std(values: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1), as the authors' pandas ``.std()``; 0 below 2 values.

    The published composite std 0.15 / 0.24 / 0.27 are pandas' sample std; the population std
    of the same 260 values rounds the same, so the figures cannot tell them apart, and we follow
    the code.
    """
    return statistics.stdev(values) if len(values) > 1 else 0.0


def correct_fluent(grade: str, answer: str) -> bool:
    """The strict verdict: the judge says CORRECT and the answer is not degenerate (fusion.evaluate.fluency)."""
    return grade == "CORRECT" and not is_degenerate(answer)


def summarize(
    composites: Sequence[float],
    overlaps: Sequence[float],
    grades: Sequence[str],
    threshold: float = 0.6,
    answers: Sequence[str] | None = None,
) -> dict[str, float]:
    """Summary metrics of one method over its prompts.

    ``composite_std`` is the sample std (:func:`std`); the three ``<GRADE_KEY>_*`` keys are shares
    in [0, 1] of the grades CORRECT / INCORRECT / NOT_ATTEMPTED. With the ``answers``:
    ``correct_fluent``, the share that is CORRECT and not degenerate (:func:`correct_fluent`, the
    strict metric), ``degenerate``, the share of degenerate answers, and ``accurate_degenerate``, how
    many of the answers the paper's metric calls accurate (composite >= threshold) are degenerate.
    """
    n = len(composites)
    out = {
        "accuracy": accuracy(composites, threshold),
        "composite_mean": statistics.fmean(composites) if n else 0.0,
        "composite_median": statistics.median(composites) if n else 0.0,
        "composite_std": std(composites),
        "overlap_mean": statistics.fmean(overlaps) if overlaps else 0.0,
        **{f"{GRADE_KEY}_{g.lower()}": (grades.count(g) / len(grades) if grades else 0.0) for g in GRADE_LABELS},
    }
    if answers is not None:
        degenerate = [is_degenerate(a) for a in answers]
        out["correct_fluent"] = sum(g == "CORRECT" and not d for g, d in zip(grades, degenerate)) / n if n else 0.0
        out["degenerate"] = sum(degenerate) / n if n else 0.0
        out["accurate_degenerate"] = float(sum(d and c >= threshold for d, c in zip(degenerate, composites)))
    return out
