"""Agreement between two graders: Cohen's kappa, quadratic-weighted kappa, confusion matrices.

Pure functions, torch-free. ``fusion parity DIR --judges`` uses them to set our judge
beside the paper's Mistral grader on the authors' own answers (docs/judges.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Cohen's kappa of two yes/no decisions on the same items (nan when chance agreement is 1)."""
    n = len(a)
    if n == 0:
        return float("nan")
    observed = sum(x == y for x, y in zip(a, b)) / n
    pa, pb = sum(a) / n, sum(b) / n
    chance = pa * pb + (1 - pa) * (1 - pb)
    return (observed - chance) / (1 - chance) if chance < 1 else float("nan")


def quadratic_weighted_kappa(a: Sequence[int], b: Sequence[int], low: int = 1, high: int = 5) -> float:
    """Cohen's kappa with quadratic weights for two ordinal grades in ``low..high``."""
    k = high - low + 1
    n = len(a)
    if n == 0:
        return float("nan")
    observed = [[0] * k for _ in range(k)]
    for x, y in zip(a, b):
        observed[x - low][y - low] += 1
    rows = [sum(observed[i]) for i in range(k)]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    disagreement = sum((i - j) ** 2 * observed[i][j] for i in range(k) for j in range(k))
    expected = sum((i - j) ** 2 * rows[i] * cols[j] / n for i in range(k) for j in range(k))
    return 1 - disagreement / expected if expected else float("nan")


def confusion(reference: Sequence[int], ours: Sequence[int], low: int = 1, high: int = 5) -> list[list[int]]:
    """``m[i][j]``: items the reference graded ``low + i`` and we graded ``low + j``."""
    k = high - low + 1
    matrix = [[0] * k for _ in range(k)]
    for x, y in zip(reference, ours):
        matrix[x - low][y - low] += 1
    return matrix


@dataclass(frozen=True)
class Agreement:
    """How our accurate decisions and 1-5 grades agree with a reference grader's on ``n`` items."""

    n: int
    exact: float  # share of items with the same 1-5 grade
    kappa: float  # Cohen's kappa of the accurate decision
    precision: float  # of our accurate items, the share the reference calls accurate
    recall: float  # of the reference's accurate items, the share we call accurate
    qwk: float  # quadratic-weighted kappa of the 1-5 grade
    # accurate decision: [[both no, only ours], [only the reference, both]]
    decisions: tuple[tuple[int, int], tuple[int, int]]
    grades: list[list[int]]  # 5x5: reference grade (rows) by our grade (columns)


def agreement(reference: Sequence[int], ours: Sequence[int], ours_accurate: Sequence[bool], cut: int = 4) -> Agreement:
    """Agreement of our grades (and accurate decisions) with a reference's 1-5 grades, where the
    reference calls an item accurate at ``grade >= cut``."""
    theirs = [g >= cut for g in reference]
    both = sum(o and t for o, t in zip(ours_accurate, theirs))
    only_ours = sum(o and not t for o, t in zip(ours_accurate, theirs))
    only_theirs = sum(t and not o for o, t in zip(ours_accurate, theirs))
    neither = len(theirs) - both - only_ours - only_theirs
    return Agreement(
        n=len(theirs),
        exact=sum(x == y for x, y in zip(reference, ours)) / len(theirs) if theirs else float("nan"),
        kappa=cohen_kappa(list(ours_accurate), theirs),
        precision=both / (both + only_ours) if both + only_ours else float("nan"),
        recall=both / (both + only_theirs) if both + only_theirs else float("nan"),
        qwk=quadratic_weighted_kappa(list(reference), list(ours)),
        decisions=((neither, only_ours), (only_theirs, both)),
        grades=confusion(reference, ours),
    )
