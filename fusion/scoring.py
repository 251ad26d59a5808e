"""Scoring: pure functions, no model code.

Token overlap follows the authors (set recall of gold words, lower-cased, punctuation dropped);
the authors tokenised with NLTK's ``word_tokenize``, which needs downloaded data, so :func:`words`
is a data-free approximation of it (documented below). The objective, composite score and
accuracy threshold are the paper's.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence

from fusion.records import SIMPLEQA_GRADES

# Numbers keep their inner separators ("1,000", "3.5"); words keep inner hyphens ("Japanese-born")
# as NLTK does; an apostrophe splits ("Sugeno's" -> "sugeno", "s"); all other punctuation is dropped.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|\w+(?:-\w+)*")


def words(text: str) -> set[str]:
    """The lower-cased set of word tokens in ``text``, punctuation dropped."""
    return set(_TOKEN.findall(text.lower()))


def token_overlap(gold: str, answer: str) -> float:
    """|gold words ∩ answer words| / |gold words|, rounded to 4 decimals (0 when gold has no words)."""
    gold_words = words(gold)
    if not gold_words:
        return 0.0
    return round(len(gold_words & words(answer)) / len(gold_words), 4)


def perplexity(mean_nll: float) -> float:
    """exp(mean NLL); ``inf`` for an unscorable (empty or non-finite) answer."""
    if not math.isfinite(mean_nll):
        return math.inf
    return math.exp(min(mean_nll, 700.0))


def objective(overlap: float, ppl: float, weight: float = 0.7, perplexity_cap: float = 100.0) -> float:
    """The search objective, maximised: ``weight * overlap - (1 - weight) * min(ppl / cap, 1)``.

    A non-finite perplexity counts as the cap (the worst fluency term).
    """
    fluency = 1.0 if not math.isfinite(ppl) else min(ppl / perplexity_cap, 1.0)
    return weight * overlap - (1.0 - weight) * fluency


def composite(overlap: float, quality_grade: int, overlap_weight: float = 0.5) -> float:
    """The paper's composite: ``0.5 * overlap + 0.5 * grade / 5``, grade in 1..5."""
    return overlap_weight * overlap + (1.0 - overlap_weight) * quality_grade / 5.0


def accuracy(composites: Sequence[float], threshold: float = 0.6) -> float:
    """Share of prompts whose composite reaches ``threshold``."""
    return sum(c >= threshold for c in composites) / len(composites) if composites else 0.0


def summarize(
    composites: Sequence[float], overlaps: Sequence[float], grades: Sequence[str], threshold: float = 0.6
) -> dict[str, float]:
    """The summary metrics of a set of prompts; ``composite_std`` is the population std."""
    n = len(composites)
    return {
        "accuracy": accuracy(composites, threshold),
        "composite_mean": statistics.fmean(composites) if n else 0.0,
        "composite_median": statistics.median(composites) if n else 0.0,
        "composite_std": statistics.pstdev(composites) if n else 0.0,
        "overlap_mean": statistics.fmean(overlaps) if n else 0.0,
        **{f"simpleqa_{g.lower()}": (sum(x == g for x in grades) / n if n else 0.0) for g in SIMPLEQA_GRADES},
    }
