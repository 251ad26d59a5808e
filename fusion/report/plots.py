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

from fusion.errors import ConfigError  # noqa: E402
from fusion.methods import find  # noqa: E402
from fusion.methods.segments import parse_segments_tag  # noqa: E402

if TYPE_CHECKING:
    from fusion.evaluate.outcomes import PromptOutcome


def group_profile(entry: dict[str, Any]) -> tuple[list[float], str]:
    """A report group's mean best weight per layer, by its method's own mapping from a trial's
    strengths and parameters to layers, found by the plug-in path its runs recorded (tag
    ``fusion.plugin``) or its name; ([], "") for a group that steers nothing, ([], why) where the
    method cannot be found where the report is built."""
    rows, groups = entry.get("strengths") or [], parse_segments_tag(entry.get("segments") or "")
    if entry.get("role") != "steered" or not groups or not rows:
        return [], ""
    plugin = entry.get("plugin") or None
    try:
        method = find(entry["mode"], plugin)
    except ConfigError as error:
        return [], f"{entry['mode']}: no layer profile ({error})"
    if method is None:
        return [], f"{entry['mode']}: no layer profile (the method is neither built in nor installed here)"
    params = entry.get("params") or [{}] * len(rows)
    weights = [method.layer_weights(s, p, groups, groups[-1].stop) for s, p in zip(rows, params)]
    return [statistics.fmean(column) for column in zip(*weights)], ""


def save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")  # legends placed outside the axes stay in
    plt.close(fig)
    return path


def job_plots(
    outcomes: Sequence[PromptOutcome],
    profile: Any | None,
    num_layers: int,
    out_dir: Path,
    threshold: float,
) -> list[Path]:
    """A job's plots: the best trials' weight per layer (``profile``, ``[prompts, layers]``; None
    where the method steers nothing) and the composite scores against the unsteered answers."""
    paths = []
    if profile is not None and len(outcomes):
        profile = np.asarray(profile, dtype=float)
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
    missing = []
    for mode in modes:
        profile, why = group_profile(summary[mode])
        if profile:
            ax.plot(range(len(profile)), profile, label=mode, drawstyle="steps-mid")
        elif why:
            missing.append(why)
    ax.set(xlabel="decoder layer", ylabel="mean best alpha × gamma", title="Per-layer weight profile")
    if missing:  # said under the plot, not left out in silence
        fig.text(0.01, -0.02, "\n".join(missing), fontsize="x-small", va="top", wrap=True)
    if ax.get_legend_handles_labels()[0]:  # outside the axes: the lines fill the plot
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    paths.append(save(fig, out / "layer_profiles.png"))
    return paths
