"""How much of the reference-in-prompt gain steering recovers: the practitioner's question of a study
toward a passage (can steering stand in for putting the passage in the prompt?).

Per model, for each searched group with cached steering, on the prompts it shares with the baseline
and the prompted group (in_context), on the strict metric as adjudicated (per prompt, the mean over
the group's seeds): share = (steered - baseline) / (prompted - baseline), the steered group's gain
over closed book as a fraction of the prompt's. 1 is all of it, 0 none, below 0 worse than closed
book. The interval is a percentile bootstrap resampling prompts, as the paired comparisons do. Where a
resample's prompted gain is 0 or below (the prompt did not help there) its share is unbounded: it
counts as -inf or +inf by the sign of the steered gain (-inf where that is 0 too), so a few such
resamples only widen the interval, and where more than 2.5 % of them fall on one side the
interval is unbounded and the report says so instead of printing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fusion.report.comparison import seed_means
from fusion.report.stats import bootstrap_draws
from fusion.report.summary import GroupSummary, Summary, per_model

STRICT = 2  # the strict metric's place in an observation


@dataclass(frozen=True)
class Recovery:
    """One steered group's share of the prompted group's strict gain over the baseline."""

    group: str
    prompted: str
    baseline: str
    n_prompts: int
    gain: float  # steered - baseline, points
    prompted_gain: float  # prompted - baseline, points
    share: float | None  # None: the prompt gained nothing on these prompts
    low: float | None  # None: unbounded (too many resamples' prompted gain was <= 0)
    high: float | None

    def sentence(self) -> str:
        head = (
            f"- {self.group}: {self.gain:+.1f} points over {self.baseline}, of {self.prompted}'s "
            f"{self.prompted_gain:+.1f} ({self.n_prompts} prompts)"
        )
        if self.share is None:
            return f"{head}: no share (the prompt gained nothing)."
        if self.low is None or self.high is None:
            return f"{head}: {_pct(self.share)} % (unbounded interval: too many resamples' prompt gained nothing)."
        return f"{head}: {_pct(self.share)} % [{_pct(self.low)}, {_pct(self.high)}]."


def _pct(share: float) -> int:
    """A share in whole percent; an int, so that -0.1 % reads 0, not -0."""
    return round(100 * share)


def recoveries(summary: Summary, resamples: int = 10_000, seed: int = 0) -> list[Recovery]:
    """Every searched, cached steered group's :class:`Recovery`, within each model that ran one
    baseline and one prompted group."""
    out = []
    for part in per_model(summary).values():
        bases = [label for label, g in part.items() if g.role == "baseline"]
        prompted = [label for label, g in part.items() if g.role == "prompted"]
        if len(bases) != 1 or len(prompted) != 1:
            continue
        base, prompt = part[bases[0]], part[prompted[0]]
        for label, g in part.items():
            if g.steered and not g.fixed and not g.exact:
                if (found := _recovery(label, g, prompted[0], prompt, bases[0], base, resamples, seed)) is not None:
                    out.append(found)
    return out


def _recovery(
    label: str,
    g: GroupSummary,
    prompt_label: str,
    prompt: GroupSummary,
    base_label: str,
    base: GroupSummary,
    resamples: int,
    seed: int,
) -> Recovery | None:
    shared = [p for p in g.observations if p in prompt.observations and p in base.observations]
    groups = (g, prompt, base)
    if not shared or not all(len(o) > STRICT for x in groups for p in shared for o in x.observations[p]):
        return None
    s, q, b = (np.array(seed_means(x.observations, shared, STRICT)) for x in groups)
    gain, prompted_gain = float((s - b).mean()), float((q - b).mean())
    share = gain / prompted_gain if prompted_gain > 0 else None
    low = high = None
    if share is not None:
        draws = bootstrap_draws(len(shared), resamples, seed)
        num, den = (s - b)[draws].mean(axis=1), (q - b)[draws].mean(axis=1)
        unbounded = np.where(num > 0, np.inf, -np.inf)
        ratios = np.where(den > 0, num / np.where(den > 0, den, 1.0), unbounded)
        with np.errstate(invalid="ignore"):  # interpolating between two infinite shares: nan, unbounded
            bounds = np.percentile(ratios, [2.5, 97.5])
        if np.isfinite(bounds).all():
            low, high = (float(v) for v in bounds)
    return Recovery(label, prompt_label, base_label, len(shared), 100 * gain, 100 * prompted_gain, share, low, high)


def recovery_section(found: Sequence[Recovery]) -> list[str]:
    """The report's lines on :func:`recoveries`; none where no model ran a baseline, a prompted and a
    steered group."""
    if not found:
        return []
    return [
        "**How much of the reference-in-prompt gain does steering recover?** (strict, as adjudicated: the "
        "steered group's gain over closed book as a share of the prompted group's, with a 95 % bootstrap "
        "interval over prompts; 100 % is all of it, 0 none)",
        "",
        *(r.sentence() for r in found),
        "",
    ]
