"""Paired statistics against hand computations; no model, no MLflow."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fusion.report.comparison import compare_groups
from fusion.report.stats import evidence, exchangeable_p, holm, mcnemar_exact, paired_bootstrap_ci
from tests.helpers import PROJECT_ROOT


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (1, 5, 2 * (1 + 6) / 64),  # n = 6: 2 * (C(6,0) + C(6,1)) / 2^6 = 0.21875
        (5, 1, 0.21875),  # two-sided: symmetric in b and c
        (0, 6, 2 / 64),  # 0.03125
        (0, 0, 1.0),  # no discordant prompt: nothing to test
        (3, 3, 1.0),  # 2 * (1 + 6 + 15 + 20) / 64 > 1: capped
        (0, 1, 1.0),  # one discordant prompt can never be evidence
        (2, 8, 2 * (1 + 10 + 45) / 1024),  # 0.109375
    ],
)
def test_mcnemar_exact_matches_hand_computed_binomial_tails(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p, abs=0, rel=1e-15)


def test_mcnemar_rejects_negative_counts():
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def test_bootstrap_equals_an_independent_resampling_with_the_same_generator():
    a = [0.9, 0.4, 0.7, 0.2, 0.55, 0.3]
    b = [0.5, 0.5, 0.1, 0.2, 0.35, 0.6]
    diffs = [x - y for x, y in zip(a, b)]
    # the same draw (one call: numpy's bounded integers buffer within a call), then plain Python
    picks = np.random.default_rng(7).integers(0, 6, size=(2000, 6)).tolist()
    means = sorted(sum(diffs[i] for i in row) / 6 for row in picks)

    # numpy's linear percentile by hand: position q * (n - 1) between two order statistics
    def percentile(q: float) -> float:
        pos = q * (len(means) - 1)
        lo = int(pos)
        return means[lo] + (pos - lo) * (means[min(lo + 1, len(means) - 1)] - means[lo])

    mean, low, high = paired_bootstrap_ci(a, b, resamples=2000, seed=7, level=0.9)
    assert mean == pytest.approx(sum(diffs) / 6)
    assert low == pytest.approx(percentile(0.05))
    assert high == pytest.approx(percentile(0.95))
    assert paired_bootstrap_ci(a, b, resamples=2000, seed=7, level=0.9) == (mean, low, high)  # deterministic
    assert paired_bootstrap_ci(a, b, resamples=2000, seed=8, level=0.9) != (mean, low, high)


def test_bootstrap_interval_of_three_pairs_is_the_exact_bootstrap_range():
    # differences 0, 1, 2: of the 27 equally likely resamples, one has mean 0 and one mean 2
    # (3.7 % each, more than the 2.5 % tails), so the 95 % interval is [0, 2] whatever the draws
    assert paired_bootstrap_ci([0, 1, 2], [0, 0, 0], seed=3) == (1.0, 0.0, 2.0)


def test_bootstrap_interval_collapses_when_every_difference_is_equal():
    mean, low, high = paired_bootstrap_ci([0.75, 0.5, 1.0, 0.25], [0.5, 0.25, 0.75, 0.0])
    assert (mean, low, high) == (0.25, 0.25, 0.25)


def test_bootstrap_rejects_unpaired_or_empty_input():
    with pytest.raises(ValueError):
        paired_bootstrap_ci([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        paired_bootstrap_ci([], [])


def test_compare_groups_pairs_prompts_and_averages_seeds_by_hand():
    # group a: two seeds on prompts 0..3 (and prompt 9, which b lacks); group b: one run
    a = {
        0: [(1, 0.8), (1, 0.7)],
        1: [(1, 0.7), (0, 0.1)],
        2: [(0, 0.1), (0, 0.1)],
        3: [(1, 0.9), (0, 0.2)],
        9: [(1, 1.0), (1, 1.0)],
    }
    b = {0: [(0, 0.1)], 1: [(1, 0.7)], 2: [(0, 0.2)], 3: [(0, 0.3)], 4: [(1, 0.9)]}
    c = compare_groups("full", a, "baseline", b, resamples=500, seed=1)
    assert c is not None and c.n_prompts == 4 and (c.seeds_a, c.seeds_b) == (2, 1)
    # per-prompt seed means of a: accuracy 1, .5, 0, .5; composite .75, .4, .1, .55
    # d accuracy = 1, -.5, 0, .5 -> discordant a: prompts 0 and 3, b: prompt 1. The exact test
    # relabels runs within a prompt: prompts 0 and 1 (2 hits of 3 runs) give T = 1 (p 1/3) or -.5,
    # prompt 3 (1 hit) gives .5 (p 2/3) or -1, prompt 2 nothing; observed T = 1, and
    # P(|T| >= 1) = (2 + 1 + 4 + 4 + 4) / 27 over the 8 relabellings
    assert (c.b_count, c.c_count) == (2, 1) and c.mcnemar_p == pytest.approx(15 / 27)
    assert c.accuracy_diff == pytest.approx(100 * (1 - 0.5 + 0 + 0.5) / 4)
    assert c.composite_diff == pytest.approx((0.65 - 0.3 - 0.1 + 0.25) / 4)
    assert (c.ci_low, c.ci_high) == pytest.approx(
        paired_bootstrap_ci([0.75, 0.4, 0.1, 0.55], [0.1, 0.7, 0.2, 0.3], resamples=500, seed=1)[1:]
    )
    # agreement averaged over seed pairings: both accurate only on prompt 1 (one seed of two)
    assert c.both_accurate == pytest.approx(0.5 / 4)
    assert c.both_inaccurate == pytest.approx((1 + 0.5) / 4)  # prompt 2, and prompt 3's second seed
    assert c.only_a == pytest.approx((1 + 0.5) / 4) and c.only_b == pytest.approx(0.5 / 4)
    assert c.only_a - c.only_b == pytest.approx(c.accuracy_diff / 100)
    assert c.sentence.startswith(
        "full - baseline (4 prompts): +25.0 points accuracy (2 vs 1 discordant prompts), composite +0.125 ["
    )
    assert c.sentence.endswith("exact p = 0.556: no evidence of a difference")
    assert compare_groups("a", {1: [(1, 1.0)]}, "b", {2: [(1, 1.0)]}) is None


def test_compare_groups_adds_the_strict_metric_when_every_observation_has_it():
    # (accuracy, composite, correct and fluent): a is accurate on all 4 but fluent on 1; b on none
    a = {i: [(1, 0.8, float(i == 0))] for i in range(4)}
    b = {i: [(0, 0.1, 0.0)] for i in range(4)}
    c = compare_groups("full", a, "baseline", b, resamples=200, seed=0)
    assert c is not None and (c.b_count, c.c_count) == (4, 0)
    assert c.strict_diff == pytest.approx(25.0) and (c.strict_b_count, c.strict_c_count) == (1, 0)
    assert c.strict_mcnemar_p == 1.0 and c.strict_evidence == "no evidence of a difference"
    assert c.strict_sentence.startswith("full - baseline (4 prompts): +25.0 points correct and fluent [")
    # one observation without it: no strict numbers at all, rather than numbers over some prompts
    b[0] = [(0, 0.1)]
    c = compare_groups("full", a, "baseline", b, resamples=200, seed=0)
    assert c is not None and c.strict_diff is None and c.strict_sentence == ""


def test_evidence_says_which_test_gave_it():
    assert evidence(0.03, -0.1, 0.2) == "evidence of a difference (exact p < 0.05)"
    assert evidence(0.2, 0.01, 0.2) == "evidence of a difference (composite CI excludes 0)"
    assert evidence(0.01, -0.3, -0.1) == "evidence of a difference (exact p < 0.05 and composite CI excludes 0)"
    assert evidence(0.05, -0.1, 0.0) == "no evidence of a difference"


@pytest.mark.parametrize("module", ["fusion.report.stats", "fusion.report.build", "fusion.commands.report"])
def test_statistics_do_not_import_torch(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


def test_a_p_value_below_three_places_is_not_printed_as_zero():
    from fusion.report.stats import p_value

    assert [p_value(p) for p in (0.0, 0.0004, 0.0005, 0.016, 1.0)] == [
        "p < 0.001",
        "p < 0.001",
        "p = 0.001",
        "p = 0.016",
        "p = 1.000",
    ]


def test_exchangeable_p_is_mcnemar_with_one_run_per_group():
    # 5 prompts only a gets right, 1 only b, 4 concordant
    a = [[1.0]] * 5 + [[0.0]] + [[1.0]] * 2 + [[0.0]] * 2
    b = [[0.0]] * 5 + [[1.0]] + [[1.0]] * 2 + [[0.0]] * 2
    assert exchangeable_p(a, b) == pytest.approx(mcnemar_exact(5, 1), rel=1e-12)
    assert exchangeable_p([[1.0], [0.0]], [[0.0], [1.0]]) == pytest.approx(1.0)


def test_exchangeable_p_by_hand_with_three_seeds_against_one():
    # one prompt: a hits once in 3 seeds, b misses. k = 1 hit among 4 runs; under relabelling the
    # hit falls to a with probability 3/4 (T = 1/3) and to b with 1/4 (T = -1): P(|T| >= 1/3) = 1
    assert exchangeable_p([[1.0, 0.0, 0.0]], [[0.0]]) == pytest.approx(1.0)
    # b hits, a misses 3 times: T = -1, and only that relabelling reaches |T| >= 1: p = 1/4
    assert exchangeable_p([[0.0, 0.0, 0.0]], [[1.0]]) == pytest.approx(0.25)


def test_unequal_seed_counts_do_not_favour_the_group_with_more_seeds():
    """Identical generators (every run hits 3 % of 260 prompts at random), 3 seeds against 1, 2,000
    simulated studies: the exact test's false-positive rate at alpha 0.05 stays at most 0.06, where
    the sign test on seed means (the old rule) rejected in about 70 % of them."""
    rng = np.random.default_rng(2026)
    rejections = sign_rejections = 0
    for _ in range(2000):
        a = (rng.random((260, 3)) < 0.03).astype(float)
        b = (rng.random((260, 1)) < 0.03).astype(float)
        rejections += exchangeable_p(a.tolist(), b.tolist()) < 0.05
        more = int((a.mean(1) > b[:, 0]).sum())
        fewer = int((a.mean(1) < b[:, 0]).sum())
        sign_rejections += mcnemar_exact(more, fewer) < 0.05
    assert rejections / 2000 <= 0.06
    assert sign_rejections / 2000 > 0.5  # the defect the test guards against is real in this setting


def test_holm_adjusts_in_step_down_order():
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([]) == []
    assert holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])
