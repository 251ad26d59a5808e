"""The share of the reference-in-prompt gain a steered group recovers (fusion.report.recovery)."""

from __future__ import annotations

from dataclasses import replace

from fusion.report.groups import summarise
from fusion.report.recovery import recoveries, recovery_section
from fusion.tracking.answers import read_answers
from tests.helpers import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "tests" / "data" / "answers_sample.jsonl.gz"


def _study(prompted_right: int, steered_right: int):
    """The sample's baseline and one steered group on its 8 prompts, with an in_context group; the
    strict metric (an observation's third part) is 1 on the first N prompts of each."""
    summary = summarise(read_answers(SAMPLE))
    base, steered = summary["baseline"], summary["full[fluent]"]
    keys = list(base.observations)

    def strict(right: int) -> dict:
        return {k: [(0.0, 0.0, float(i < right))] for i, k in enumerate(keys)}

    return {
        "baseline": replace(base, observations=strict(0)),
        "full": replace(steered, label="full", local="full", observations=strict(steered_right)),
        "in_context": replace(
            base, label="in_context", local="in_context", role="prompted", observations=strict(prompted_right)
        ),
    }


def test_a_steered_group_s_gain_is_read_as_a_share_of_the_prompt_s_with_an_interval_over_prompts():
    (found,) = recoveries(_study(prompted_right=8, steered_right=2))
    assert (found.group, found.prompted, found.baseline, found.n_prompts) == ("full", "in_context", "baseline", 8)
    assert (found.gain, found.prompted_gain, found.share) == (25.0, 100.0, 0.25)
    # the prompt's gain is 1 on every prompt: the share's resamples are the steered group's own mean
    assert found.low == 0.0 and 0.5 <= found.high <= 0.75
    assert found.sentence().startswith(
        "- full: +25.0 points over baseline, of in_context's +100.0 (8 prompts): 25 % [0, "
    )


def test_a_few_resamples_where_the_prompt_gained_nothing_widen_the_interval_and_many_unbound_it():
    (half,) = recoveries(_study(prompted_right=4, steered_right=2))
    # 1 in 256 resamples draws only prompts 5-8, where the prompt gained nothing: an infinite share there
    assert half.share == 0.5 and half.low is not None and half.high is not None and half.low <= 0.5 <= half.high
    (one,) = recoveries(_study(prompted_right=1, steered_right=1))
    # (7/8)^8 = 34 % of resamples miss the one prompt the prompt helped on
    assert one.share == 1.0 and one.low is None and "unbounded interval" in one.sentence()
    (none,) = recoveries(_study(prompted_right=0, steered_right=2))
    assert none.share is None and none.sentence().endswith("no share (the prompt gained nothing).")


def test_no_section_without_a_prompted_group():
    summary = summarise(read_answers(SAMPLE))
    assert recoveries(summary) == [] and recovery_section([]) == []
