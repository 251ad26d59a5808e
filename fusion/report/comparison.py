"""Two groups of a report compared on the prompts both answered: :func:`compare_groups` gives a
:class:`PairedComparison` (accuracy, composite and the strict metric, with intervals, exact tests
and a sentence), :func:`with_holm` adjusts a report's strict p-values over its family of verdicts.
The tests themselves: :mod:`fusion.report.stats`.

The rule over seeds: **the prompt is the unit**. Only prompts present in both groups count.
Per prompt, each group's accuracy and composite are the means over that group's seeds (a
single-run group such as the baseline has one value). Then, with d = mean_a - mean_b per prompt:

- differences (accuracy in points, composite) are the means of d over prompts, i.e. the
  difference of the seed-averaged scores on the shared prompts, with paired bootstrap
  intervals resampling prompts (same seed for both, so the same resamples);
- the test: ``b_count`` = prompts with d_accuracy > 0, ``c_count`` = prompts with
  d_accuracy < 0 (ties are concordant), and the p-value of :func:`exchangeable_p` on the
  runs: McNemar's exact test with one seed per group, an exact permutation test of the runs
  within each prompt with several. It does not favour the group with more seeds, as the sign
  test on seed means did (a 3-seed group against a 1-seed one, both hitting 3 % at random,
  "won" at p < 0.05 in 70 % of simulated studies). Pairing every (prompt, seed) instead would
  count one prompt several times as if the seeds were independent questions; seeds of two
  groups are not matched runs anyway (seed 0 of full and seed 0 of segmented share nothing
  but the number).
- agreement: shares of prompts where both are accurate, both not, only a, only b; with
  several seeds, averaged over all pairings of one seed of ``a`` with one of ``b``
  (e.g. both accurate = mean of acc_a * acc_b), so ``only_a - only_b`` = the accuracy difference.
- the strict metric (third element of every observation, when all have one): its difference in
  points with a bootstrap interval, and McNemar's test (sign test over seeds) as for accuracy.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fusion.report.stats import (
    ALPHA,
    Observation,
    evidence,
    exchangeable_p,
    holm,
    p_value,
    paired_bootstrap_ci,
    signed,
    strict_evidence,
)

# prompt -> one observation per search seed (replicate) of the group
Group = Mapping[Any, Sequence[Observation]]


def with_holm(pairs: Sequence[PairedComparison], alpha: float = ALPHA) -> list[PairedComparison]:
    """The comparisons with their strict p-values Holm-adjusted over all of them (the report's
    family of strict verdicts), and the strict verdicts read from the adjusted values."""
    tested = [i for i, c in enumerate(pairs) if c.strict_mcnemar_p is not None]
    adjusted = dict(zip(tested, holm([pairs[i].strict_mcnemar_p or 1.0 for i in tested])))
    return [
        replace(c, strict_p_holm=adjusted[i], strict_evidence=strict_evidence(adjusted[i], alpha, adjusted=True))
        if i in adjusted
        else c
        for i, c in enumerate(pairs)
    ]


@dataclass(frozen=True)
class PairedComparison:
    """Group ``a`` minus group ``b`` on the prompts both answered (``n_prompts``).

    ``accuracy_diff`` and its interval are in percentage points; ``b_count`` / ``c_count`` are
    the prompts where ``a`` / ``b`` was the more often accurate one (see :func:`compare_groups`);
    ``both_accurate`` .. ``only_b`` are shares of prompts (the per-question agreement).
    ``mcnemar_p`` and ``strict_mcnemar_p`` are :func:`exchangeable_p` (McNemar's test with one
    seed per group); ``strict_p_holm`` is the strict p-value Holm-adjusted over the report's
    family of strict verdicts (set by the report, None for a lone comparison).
    """

    a: str
    b: str
    n_prompts: int
    accuracy_diff: float
    accuracy_ci_low: float
    accuracy_ci_high: float
    b_count: int
    c_count: int
    mcnemar_p: float
    composite_diff: float
    ci_low: float
    ci_high: float
    both_accurate: float
    both_inaccurate: float
    only_a: float
    only_b: float
    seeds_a: int
    seeds_b: int
    resamples: int
    seed: int
    level: float
    evidence: str
    sentence: str
    # the strict metric (correct and fluent, fusion.evaluate.scoring.correct_fluent), in points, where every
    # shared observation has it; None for runs recorded without it
    strict_diff: float | None = None
    strict_ci_low: float | None = None
    strict_ci_high: float | None = None
    strict_b_count: int | None = None
    strict_c_count: int | None = None
    strict_mcnemar_p: float | None = None
    strict_evidence: str = ""
    strict_p_holm: float | None = None

    @property
    def strict_p_text(self) -> str:
        """``p = 0.004 (Holm 0.031)``: the raw strict p-value and, in a report, the adjusted one."""
        raw = p_value(self.strict_mcnemar_p)
        return raw if self.strict_p_holm is None else f"{raw} (Holm {p_value(self.strict_p_holm).removeprefix('p = ')})"

    @property
    def strict_sentence(self) -> str:
        """The strict comparison in words (empty without the strict metric)."""
        if self.strict_diff is None:
            return ""
        return (
            f"{self.a} - {self.b} ({self.n_prompts} prompts): {signed(self.strict_diff, 1)} points correct and fluent "
            f"[{signed(self.strict_ci_low or 0.0, 1)}, {signed(self.strict_ci_high or 0.0, 1)}] "
            f"({self.strict_b_count} vs {self.strict_c_count} discordant prompts), exact {self.strict_p_text}: "
            f"{self.strict_evidence}"
        )


def compare_groups(
    a_label: str,
    a: Group,
    b_label: str,
    b: Group,
    *,
    resamples: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedComparison | None:
    """Paired comparison of two groups given as ``prompt -> [(accuracy 0/1, composite), ...]``,
    one observation per search seed (replicate) of the group. None if no prompt is in both.

    The rule over seeds is the module's (above).
    """
    shared = [p for p in a if p in b and a[p] and b[p]]
    if not shared:
        return None
    acc = _zero_one(a, b, shared, 0, resamples, seed, level)
    comp_diff, low, high = paired_bootstrap_ci(
        seed_means(a, shared, 1), seed_means(b, shared, 1), resamples=resamples, seed=seed, level=level
    )
    n = len(shared)
    pairs = list(zip(acc.a, acc.b))
    verdict = evidence(acc.p, low, high)
    strict: dict[str, object] = {}
    if all(len(o) > 2 for q in shared for o in (*a[q], *b[q])):
        s = _zero_one(a, b, shared, 2, resamples, seed, level)
        strict = dict(
            strict_diff=100 * s.diff,
            strict_ci_low=100 * s.low,
            strict_ci_high=100 * s.high,
            strict_b_count=s.more,
            strict_c_count=s.fewer,
            strict_mcnemar_p=s.p,
            strict_evidence=strict_evidence(s.p),
        )
    sentence = (
        f"{a_label} - {b_label} ({n} prompts): {signed(100 * acc.diff, 1)} points accuracy "
        f"({acc.more} vs {acc.fewer} discordant prompts), composite {signed(comp_diff, 3)} "
        f"[{signed(low, 3)}, {signed(high, 3)}], exact {p_value(acc.p)}: {verdict}"
    )
    return PairedComparison(
        a=a_label,
        b=b_label,
        n_prompts=n,
        accuracy_diff=100 * acc.diff,
        accuracy_ci_low=100 * acc.low,
        accuracy_ci_high=100 * acc.high,
        b_count=acc.more,
        c_count=acc.fewer,
        mcnemar_p=acc.p,
        composite_diff=comp_diff,
        ci_low=low,
        ci_high=high,
        both_accurate=sum(x * y for x, y in pairs) / n,
        both_inaccurate=sum((1 - x) * (1 - y) for x, y in pairs) / n,
        only_a=sum(x * (1 - y) for x, y in pairs) / n,
        only_b=sum((1 - x) * y for x, y in pairs) / n,
        seeds_a=max(len(a[q]) for q in shared),
        seeds_b=max(len(b[q]) for q in shared),
        resamples=resamples,
        seed=seed,
        level=level,
        evidence=verdict,
        sentence=sentence,
        **strict,  # type: ignore[arg-type]
    )


def seed_means(group: Group, shared: Sequence[Hashable], part: int) -> list[float]:
    """Per shared prompt, the mean over the group's seeds of one part of its observations."""
    return [sum(o[part] for o in group[p]) / len(group[p]) for p in shared]


@dataclass(frozen=True)
class _ZeroOne:
    """A 0/1 outcome of two groups: seed means, mean difference and interval, discordant counts, exact p."""

    a: list[float]
    b: list[float]
    diff: float
    low: float
    high: float
    more: int
    fewer: int
    p: float


def _zero_one(
    a: Group, b: Group, shared: Sequence[Hashable], part: int, resamples: int, seed: int, level: float
) -> _ZeroOne:
    x, y = seed_means(a, shared, part), seed_means(b, shared, part)
    diff, lo, hi = paired_bootstrap_ci(x, y, resamples=resamples, seed=seed, level=level)
    runs_a, runs_b = ([[o[part] for o in g[q]] for q in shared] for g in (a, b))
    return _ZeroOne(
        a=x,
        b=y,
        diff=diff,
        low=lo,
        high=hi,
        more=sum(u > v for u, v in zip(x, y)),
        fewer=sum(u < v for u, v in zip(x, y)),
        p=exchangeable_p(runs_a, runs_b),
    )
