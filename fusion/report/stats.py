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
- the words of a verdict and of a p-value (:func:`evidence`, :func:`p_value`).

:mod:`fusion.report.comparison` applies them to two groups given as prompt -> per-seed observations.

Pure functions of their inputs; the bootstrap is seeded, so a report is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def bootstrap_draws(n: int, resamples: int, seed: int) -> np.ndarray:
    """``[resamples, n]`` indices of ``n`` paired items drawn with replacement: the same draws for
    the same ``n`` and seed wherever a report resamples its prompts."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


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
    means = diffs[bootstrap_draws(len(diffs), resamples, seed)].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(diffs.mean()), float(low), float(high)


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
