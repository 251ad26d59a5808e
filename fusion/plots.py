"""Plots logged with each job: the per-layer weight profile and the composite scores."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no display on CI or servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:
    from fusion.pipeline import PromptOutcome


def save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def layer_profile(outcomes: Sequence[PromptOutcome], segments: Sequence[range], num_layers: int) -> np.ndarray:
    """``[prompts, layers]`` best alpha*gamma per layer (each layer takes its segment's value)."""
    profile = np.zeros((len(outcomes), num_layers))
    for row, outcome in enumerate(outcomes):
        for segment, strength in zip(segments, outcome.strengths):
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
        [[o.baseline_composite for o in outcomes], [o.composite for o in outcomes]],
        bins=np.linspace(0, 1, 11),
        label=["unsteered", "this run"],
    )
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label="accuracy threshold")
    ax.set(xlabel="composite score", ylabel="prompts", title="Composite scores")
    ax.legend()
    paths.append(save(fig, out_dir / "composite_hist.png"))
    return paths
