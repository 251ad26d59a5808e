"""Fluency: gold-free measures of whether an answer is text or babble. Pure functions, torch-free.

Steering toward a reference built from the gold answer can push a model into loops of the gold's
words ("the Coast Guard the Coast Guard ..."). Such text holds every gold token, so token overlap
and a matching judge reward it, and the answering model's perplexity rewards it too: once a loop
has started, each repeated token is predicted almost surely (a loop of "Cher" scored perplexity
1.3), so perplexity under the answering model cannot be the fluency measure. These measures need
neither the gold answer nor a model:

- :func:`compression_ratio`: UTF-8 bytes / zlib-compressed bytes. Repetition compresses well; on
  the authors' 56 answers their judge graded 4 or 5 the ratio stayed at or below 1.81.
- :func:`repeated_ngram_share`: the share of word 3-grams that occurred earlier in the answer.
- :func:`broken_word_share`: the share of tokens gluing letters and digits ("1in", "2ji",
  "The7th"), a sign of derailed decoding; ordinals, decades and units ("5th", "1830s", "3kg") are
  words.
- :func:`symbol_share`: the share of non-space characters that are neither letters nor digits
  (",,,,,,", "** ** **").

:func:`fluency` applies the thresholds below (chosen on the even-``prompt_id`` half of the authors'
graded answers, docs/judges.md) and says which fired. A degenerate answer is never CORRECT under
the ``rules`` judge (``rules-v3``), is not ``correct_fluent`` in any run summary, and loses under
``search.objective=fluent``.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

# Thresholds (calibrated on the even half of the authors' graded answers; see docs/judges.md)
MAX_COMPRESSION_RATIO = 2.0
MAX_REPEATED_NGRAM_SHARE = 0.2
MAX_BROKEN_WORD_SHARE = 0.05
MAX_SYMBOL_SHARE = 0.3
NGRAM = 3
# below this many characters a text is too short for the ratios to mean anything
MIN_CHARS = 24

_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"\S+")
_GLUED = re.compile(r"[^\W\d_]\d|\d[^\W\d_]")
_UNIT_OR_ORDINAL = re.compile(r"(?i)\d+(?:st|nd|rd|th|s|'s|km|kg|mg|cm|mm|m|g|ml|l|h|am|pm|bc|ad|d|k|x)")
_STRIP = "*_.,;:!?()[]{}\"'`«»“”‘’-"


def compression_ratio(text: str) -> float:
    """UTF-8 length / zlib-compressed length (0 for empty text); about 1-1.8 for prose."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data, 9)) if data else 0.0


def repeated_ngram_share(text: str, n: int = NGRAM) -> float:
    """Share of the word n-grams (lower-cased) that already occurred earlier in the text."""
    words = [w.lower() for w in _WORD.findall(text)]
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for gram in grams:
        repeats += gram in seen
        seen.add(gram)
    return repeats / len(grams)


def broken_word_share(text: str) -> float:
    """Share of whitespace tokens that glue letters to digits, units and ordinals excepted."""
    tokens = [t.strip(_STRIP) for t in _TOKEN.findall(text)]
    tokens = [t for t in tokens if t]
    if not tokens:
        return 0.0
    broken = sum(1 for t in tokens if _GLUED.search(t) and not _UNIT_OR_ORDINAL.fullmatch(t))
    return broken / len(tokens)


def symbol_share(text: str) -> float:
    """Share of non-space characters that are neither letters nor digits."""
    chars = [c for c in text if not c.isspace()]
    return sum(1 for c in chars if not c.isalnum()) / len(chars) if chars else 0.0


@dataclass(frozen=True)
class Fluency:
    """An answer's fluency measures and the verdict drawn from them."""

    compression_ratio: float
    repeated_ngram_share: float
    broken_word_share: float
    symbol_share: float
    # the measures over their thresholds, e.g. ("compression_ratio",); empty: not degenerate
    reasons: tuple[str, ...] = ()

    @property
    def degenerate(self) -> bool:
        return bool(self.reasons)

    def metrics(self) -> dict[str, float]:
        """The measures as flat numbers (``degenerate`` as 0/1), for logs and records."""
        return {
            "compression_ratio": round(self.compression_ratio, 4),
            "repeated_ngram_share": round(self.repeated_ngram_share, 4),
            "broken_word_share": round(self.broken_word_share, 4),
            "symbol_share": round(self.symbol_share, 4),
            "degenerate": float(self.degenerate),
        }


def fluency(text: str) -> Fluency:
    """All measures of ``text`` and which of them exceed their threshold.

    Texts shorter than :data:`MIN_CHARS` are judged only by broken words (a short answer cannot
    repeat itself much, and its ratios are dominated by zlib's header).
    """
    measures = {
        "compression_ratio": compression_ratio(text),
        "repeated_ngram_share": repeated_ngram_share(text),
        "broken_word_share": broken_word_share(text),
        "symbol_share": symbol_share(text),
    }
    limits = {
        "compression_ratio": MAX_COMPRESSION_RATIO,
        "repeated_ngram_share": MAX_REPEATED_NGRAM_SHARE,
        "broken_word_share": MAX_BROKEN_WORD_SHARE,
        "symbol_share": MAX_SYMBOL_SHARE,
    }
    checked = limits if len(text.strip()) >= MIN_CHARS else {"broken_word_share": MAX_BROKEN_WORD_SHARE}
    reasons = tuple(name for name, limit in checked.items() if measures[name] > limit)
    return Fluency(**measures, reasons=reasons)


def is_degenerate(text: str) -> bool:
    return fluency(text).degenerate
