"""The rules judge's normalisation: gold and answer text as one stream of comparable tokens.

Every rule of :mod:`fusion.evaluate.judges.rules` compares these tokens, never raw text, so the
folding of accents, numbers and dates lives here, apart from the rules that use it; what it folds
is specified in that module's docstring ("Normalisation (gold and answer alike)").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

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
    """The normalised token stream of ``text`` (see the :mod:`fusion.evaluate.judges.rules` docstring)."""
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
