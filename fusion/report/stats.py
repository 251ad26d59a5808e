"""Paired statistics for two groups of runs measured on the same prompts (torch-free).

The modes of a sweep answer the *same* questions, so their differences are paired: a prompt that
is easy for one mode tends to be easy for the other. Comparing the two accuracies as if they came
from independent samples throws that pairing away and needs far more prompts to see anything;
these functions keep it:

- :func:`mcnemar_exact`: exact McNemar test on the discordant counts (prompts only one group gets
  right), the standard paired test for a 0/1 outcome such as accuracy;
- :func:`exchangeable_p`: the same question when a group ran several search seeds, as an exact
  permutation test of the runs within each prompt: it equals McNemar's test with one run per group
  and, unlike a sign test on seed means, does not favour the group with more seeds;
- :func:`holm`: Holm's step-down adjustment over a report's family of verdicts;
- :func:`paired_bootstrap_ci`: mean difference and percentile bootstrap interval, resampling
  prompts (pairs) with replacement, for a continuous outcome such as the composite score;
- :func:`compare_groups`: both, for two groups given as prompt -> per-seed observations, with the
  rule for several search seeds and a plain-words sentence.

Pure functions of their inputs; the bootstrap is seeded, so a report is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

# the conventional level below which a report says "evidence of a difference"
ALPHA = 0.05

# one run's result on one prompt: (accuracy 0/1, composite score) or, with the strict metric,
# (accuracy 0/1, composite score, correct and fluent 0/1)
Observation = tuple[float, ...]


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` (only the first group
    right) and ``c`` (only the second).

    Under the null both kinds of discordance are equally likely, so ``min(b, c)`` is binomial with
    p = 1/2 on ``n = b + c`` trials: p = min(1, 2 * sum_{k <= min(b, c)} C(n, k) / 2^n). Exact
    rather than the chi-square approximation because the discordant counts of a few dozen prompts
    are small; computed in integers so p = 1 exactly when b == c. No discordant pair: p = 1.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = Fraction(sum(math.comb(n, k) for k in range(min(b, c) + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


def exchangeable_p(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    """Two-sided exact p-value that two groups of 0/1 runs are the same generator, per prompt.

    ``a[i]`` and ``b[i]`` are prompt ``i``'s outcomes, one per run (search seed) of each group.
    The statistic is ``T = sum_i (mean(a[i]) - mean(b[i]))``, the difference of the seed-averaged
    hit counts. Under the null the runs of one prompt are exchangeable whatever group they carry,
    so given a prompt's ``k`` hits among its ``n_a + n_b`` runs, the hits that fall to ``a`` are
    hypergeometric, independently across prompts. The null distribution of ``T`` is the
    convolution of those (computed exactly, in integers), and ``p = P(|T| >= |t|)``.

    Why not the sign test on seed means: with no real difference, a prompt counts for a 3-seed
    group about three times as often as for a 1-seed group (it has three chances to hit), so the
    sign test sees a "gain" that is only the extra seeds. Here the extra seeds enter as the
    hypergeometric's draw size, so more seeds do not tilt the test. With one run per group it is
    exactly McNemar's test (a discordant prompt is +1 or -1 with probability 1/2).
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    scale = math.lcm(*(len(x) * len(y) for x, y in zip(a, b))) if a else 1
    observed = 0
    null = np.ones(1)  # pmf of the scaled statistic, index 0 = `low`
    low = 0
    for x, y in zip(a, b):
        n_a, n_b = len(x), len(y)
        if not n_a or not n_b:
            raise ValueError("every prompt needs at least one run in each group")
        hits_a, k = round(sum(x)), round(sum(x) + sum(y))
        unit = scale // (n_a * n_b)  # T_i * scale = (h * (n_a + n_b) - k * n_a) * unit for h hits in a
        observed += (hits_a * (n_a + n_b) - k * n_a) * unit
        if k in (0, n_a + n_b):
            continue  # every run agrees: this prompt adds exactly 0 under any relabelling
        support = range(max(0, k - n_b), min(k, n_a) + 1)
        values = [(h * (n_a + n_b) - k * n_a) * unit for h in support]
        probs = [math.comb(k, h) * math.comb(n_a + n_b - k, n_a - h) / math.comb(n_a + n_b, n_a) for h in support]
        step = np.zeros(values[-1] - values[0] + 1)
        step[[v - values[0] for v in values]] = probs
        null = np.convolve(null, step)
        low += values[0]
    totals = np.arange(low, low + len(null))
    return float(min(1.0, null[np.abs(totals) >= abs(observed)].sum()))


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


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the i-th smallest of m raw values
    is multiplied by m - i + 1, then made monotone and capped at 1. Controls the chance of any
    false verdict in the family at the nominal level, without assuming the tests independent."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def paired_bootstrap_ci(
    a: Sequence[float], b: Sequence[float], *, resamples: int = 10_000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """``(mean(a - b), low, high)``: the mean paired difference and its percentile bootstrap
    interval at ``level``.

    Each resample draws ``len(a)`` pairs with replacement (``numpy.random.default_rng(seed)``,
    one ``integers(0, n, size=(resamples, n))`` draw), so the interval reflects which prompts
    happened to be asked, the variation that matters when the same prompts are answered by both
    groups. Percentiles use numpy's default (linear) interpolation. Deterministic for a seed.
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    if not a:
        raise ValueError("no pairs to compare")
    if resamples < 1 or not 0 < level < 1:
        raise ValueError(f"need resamples >= 1 and 0 < level < 1, got {resamples}, {level}")
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(resamples, len(diffs)))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(diffs.mean()), float(low), float(high)


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


def strict_evidence(p: float, alpha: float = ALPHA, adjusted: bool = False) -> str:
    """The strict verdict, from the exact test alone (the strict metric is a 0/1 outcome); with
    ``adjusted``, ``p`` is Holm-adjusted over the report's family and the words say so."""
    name = "Holm-adjusted p" if adjusted else "exact p"
    return f"evidence of a difference ({name} < {alpha:g})" if p < alpha else "no evidence of a difference"


def p_value(p: float | None) -> str:
    """``p = 0.016``, or ``p < 0.001`` where three places would print a p-value of zero."""
    if p is None:  # a study recorded before the strict metric
        return "p = n/a"
    return "p < 0.001" if p < 0.0005 else f"p = {p:.3f}"


def signed(value: float, digits: int) -> str:
    # round first and add 0.0 so that a tiny negative does not print as "-0.000"
    return f"{round(value, digits) + 0.0:+.{digits}f}"


def evidence(p: float, ci_low: float, ci_high: float, alpha: float = ALPHA) -> str:
    """The verdict in words, saying which test gave it: the McNemar p-value below ``alpha``
    and/or the composite interval excluding 0."""
    reasons = [f"exact p < {alpha:g}"] * (p < alpha) + ["composite CI excludes 0"] * (ci_low > 0 or ci_high < 0)
    return f"evidence of a difference ({' and '.join(reasons)})" if reasons else "no evidence of a difference"


def compare_groups(
    a_label: str,
    a: Mapping[Hashable, Sequence[Observation]],
    b_label: str,
    b: Mapping[Hashable, Sequence[Observation]],
    *,
    resamples: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedComparison | None:
    """Paired comparison of two groups given as ``prompt -> [(accuracy 0/1, composite), ...]``,
    one observation per search seed (replicate) of the group. None if no prompt is in both.

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
    shared = [p for p in a if p in b and a[p] and b[p]]
    if not shared:
        return None

    def means(group: Mapping[Hashable, Sequence[Observation]], part: int) -> list[float]:
        return [sum(o[part] for o in group[p]) / len(group[p]) for p in shared]

    def zero_one(part: int) -> tuple[list[float], list[float], float, float, float, int, int, float]:
        """A 0/1 outcome's seed means, mean difference and interval, discordant counts and McNemar p."""
        x, y = means(a, part), means(b, part)
        diff, lo, hi = paired_bootstrap_ci(x, y, resamples=resamples, seed=seed, level=level)
        more, fewer = sum(u > v for u, v in zip(x, y)), sum(u < v for u, v in zip(x, y))
        runs_a, runs_b = ([[o[part] for o in g[q]] for q in shared] for g in (a, b))
        return x, y, diff, lo, hi, more, fewer, exchangeable_p(runs_a, runs_b)

    acc_a, acc_b, acc_diff, acc_low, acc_high, b_count, c_count, p = zero_one(0)
    comp_diff, low, high = paired_bootstrap_ci(means(a, 1), means(b, 1), resamples=resamples, seed=seed, level=level)
    n = len(shared)
    both = sum(x * y for x, y in zip(acc_a, acc_b)) / n
    neither = sum((1 - x) * (1 - y) for x, y in zip(acc_a, acc_b)) / n
    only_a = sum(x * (1 - y) for x, y in zip(acc_a, acc_b)) / n
    only_b = sum((1 - x) * y for x, y in zip(acc_a, acc_b)) / n
    verdict = evidence(p, low, high)
    strict: dict[str, object] = {}
    if all(len(o) > 2 for q in shared for o in (*a[q], *b[q])):
        _, _, s_diff, s_low, s_high, s_b, s_c, s_p = zero_one(2)
        strict = dict(
            strict_diff=100 * s_diff,
            strict_ci_low=100 * s_low,
            strict_ci_high=100 * s_high,
            strict_b_count=s_b,
            strict_c_count=s_c,
            strict_mcnemar_p=s_p,
            strict_evidence=strict_evidence(s_p),
        )
    sentence = (
        f"{a_label} - {b_label} ({n} prompts): {signed(100 * acc_diff, 1)} points accuracy "
        f"({b_count} vs {c_count} discordant prompts), composite {signed(comp_diff, 3)} "
        f"[{signed(low, 3)}, {signed(high, 3)}], exact {p_value(p)}: {verdict}"
    )
    return PairedComparison(
        a=a_label,
        b=b_label,
        n_prompts=n,
        accuracy_diff=100 * acc_diff,
        accuracy_ci_low=100 * acc_low,
        accuracy_ci_high=100 * acc_high,
        b_count=b_count,
        c_count=c_count,
        mcnemar_p=p,
        composite_diff=comp_diff,
        ci_low=low,
        ci_high=high,
        both_accurate=both,
        both_inaccurate=neither,
        only_a=only_a,
        only_b=only_b,
        seeds_a=max(len(a[q]) for q in shared),
        seeds_b=max(len(b[q]) for q in shared),
        resamples=resamples,
        seed=seed,
        level=level,
        evidence=verdict,
        sentence=sentence,
        **strict,  # type: ignore[arg-type]
    )
