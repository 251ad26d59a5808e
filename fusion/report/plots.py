"""Plots: a job's per-layer weight profile and composite scores, and the report's comparisons."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no display on CI or servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fusion.config.segments import parse_segments_tag  # noqa: E402

if TYPE_CHECKING:
    from fusion.evaluate.outcomes import PromptOutcome


def save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")  # legends placed outside the axes stay in
    plt.close(fig)
    return path


def layer_profile(outcomes: Sequence[PromptOutcome], segments: Sequence[range], num_layers: int) -> np.ndarray:
    """``[prompts, layers]`` best alpha*gamma per layer (each layer takes its segment's value)."""
    profile = np.zeros((len(outcomes), num_layers))
    for row, outcome in enumerate(outcomes):
        for segment, strength in zip(segments, outcome.steered.strengths):
            profile[row, segment.start : segment.stop] = strength
    return profile


def job_plots(
    outcomes: Sequence[PromptOutcome], segments: Sequence[range], num_layers: int, out_dir: Path, threshold: float
) -> list[Path]:
    paths = []
    profile = layer_profile(outcomes, segments, num_layers)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    layers = np.arange(num_layers)
    mean, sd = profile.mean(axis=0), profile.std(axis=0)
    for row in profile:
        ax.plot(layers, row, color="tab:blue", alpha=0.15, linewidth=1)
    ax.plot(layers, mean, color="tab:blue", linewidth=2, label="mean over prompts")
    ax.fill_between(layers, mean - sd, mean + sd, color="tab:blue", alpha=0.2, label="± 1 sd")
    ax.set(xlabel="decoder layer", ylabel="alpha × gamma", title="Per-layer steering strength of the best trial")
    ax.legend(loc="upper right")
    paths.append(save(fig, out_dir / "layer_profile.png"))

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(
        [[o.baseline.composite for o in outcomes], [o.steered.composite for o in outcomes]],
        bins=[i / 10 for i in range(11)],
        label=["unsteered", "this run"],
    )
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label="accuracy threshold")
    ax.set(xlabel="composite score", ylabel="prompts", title="Composite scores")
    ax.legend()
    paths.append(save(fig, out_dir / "composite_hist.png"))
    return paths


def report_plots(summary: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    """The report's plots: accuracy per group, composite box plots, mean per-layer weight profiles."""
    modes = list(summary)  # labels: a mode, or mode@trials when several budgets ran
    # groups on different question sets (an exact-mode subset) say how many questions each bar holds
    counts = {summary[m].get("n_prompts") for m in modes}
    ticks = [f"{m}\n({summary[m]['n_prompts']} q.)" for m in modes] if len(counts) > 1 else modes
    paths = []
    fig, ax = plt.subplots(figsize=(5, 3.5) if len(modes) < 5 else (8, 4))
    x = np.arange(len(modes))
    strict = [100 * (summary[m].get("correct_fluent") or 0.0) for m in modes]
    strict_sd = [100 * (summary[m].get("correct_fluent_sd") or 0.0) for m in modes]
    ax.bar(x - 0.2, strict, 0.4, yerr=strict_sd, color="tab:green", label="correct & fluent (strict)")
    ax.bar(
        x + 0.2,
        [100 * summary[m]["accuracy"] for m in modes],
        0.4,
        yerr=[100 * summary[m]["accuracy_sd"] for m in modes],
        color="tab:blue",
        label="accuracy (paper: composite >= 0.6)",
    )
    ax.set_xticks(x, ticks)
    ax.set(ylabel="share of questions (%)", title="Strict metric and the paper's accuracy")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    ax.tick_params(axis="x", labelrotation=20)  # mode@trials labels would overlap
    paths.append(save(fig, out / "accuracy.png"))
    fig, ax = plt.subplots(figsize=(5, 3.5) if len(modes) < 5 else (7, 4))
    ax.boxplot([summary[m]["composites"] for m in modes], tick_labels=ticks)
    ax.set(ylabel="composite score", title="Composite scores per prompt")
    ax.tick_params(axis="x", labelrotation=20)
    paths.append(save(fig, out / "composite_box.png"))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for mode in modes:
        rows = summary[mode]["strengths"]
        if summary[mode]["mode"] in ("baseline", "in_context") or not rows:  # nothing steered
            continue
        segments = parse_segments_tag(summary[mode]["segments"])
        profile = [0.0] * segments[-1].stop
        for i, segment in enumerate(segments):
            mean = statistics.fmean(r[i] for r in rows)
            for layer in segment:
                profile[layer] = mean
        ax.plot(range(len(profile)), profile, label=mode, drawstyle="steps-mid")
    ax.set(xlabel="decoder layer", ylabel="mean best alpha × gamma", title="Per-layer weight profile")
    if ax.get_legend_handles_labels()[0]:  # outside the axes: the lines fill the plot
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    paths.append(save(fig, out / "layer_profiles.png"))
    return paths
