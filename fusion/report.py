"""Paper-style report from MLflow runs: ``python -m fusion.report [--sweep-id ID | --run-ids ...]``.

Reads finished job runs (by experiment, sweep id or run ids), groups them by steering mode and
writes a markdown table (accuracy, composite mean / median / std, overlap mean, SimpleQA grade
shares), PNG plots (accuracy bars, composite box plots, per-layer weight profiles), logs them as
artifacts of a ``report`` run, and prints the table (``--json``: the numbers). Several runs of one
mode (search seeds) are summarised as mean and sd over runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from fusion.config import PROJECT_ROOT
from fusion.plots import plt, save
from fusion.tracking import read_table

MODES = ("baseline", "full", "segmented")
METRICS = ("accuracy", "composite_mean", "composite_median", "composite_std", "overlap_mean",
           "simpleqa_correct", "simpleqa_incorrect", "simpleqa_not_attempted")
DEFAULT_URI = f"sqlite:///{PROJECT_ROOT / 'mlruns' / 'mlflow.db'}"


def find_runs(client: MlflowClient, experiment: str, sweep_id: str | None, run_ids: list[str] | None) -> list[Run]:
    if run_ids:
        return [client.get_run(r) for r in run_ids]
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise SystemExit(f"fusion.report: no experiment {experiment!r} in this store: pass --experiment or --tracking-uri")
    query = "attributes.status = 'FINISHED' and tags.`fusion.mode` != ''"
    if sweep_id:
        query += f" and tags.`fusion.sweep_id` = '{sweep_id}'"
    return client.search_runs([exp.experiment_id], query, order_by=["attributes.start_time ASC"])


def summarise(client: MlflowClient, runs: list[Run]) -> dict[str, dict[str, Any]]:
    by_mode: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_mode[run.data.tags["fusion.mode"]].append(run)
    out: dict[str, dict[str, Any]] = {}
    for mode in sorted(by_mode, key=lambda m: MODES.index(m) if m in MODES else 99):
        group = by_mode[mode]
        entry: dict[str, Any] = {"runs": [r.info.run_id for r in group], "n_prompts": int(group[0].data.metrics.get("n_prompts", 0))}
        for key in METRICS:
            values = [r.data.metrics[key] for r in group if key in r.data.metrics]
            entry[key] = statistics.fmean(values) if values else None
            entry[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows = [p for r in group for p in read_table(client, r.info.run_id, "prompts.json")]
        entry["composites"] = [p["composite"] for p in rows]
        entry["strengths"] = [p["strengths"] for p in rows]
        entry["segments"] = group[0].data.tags.get("fusion.segments", "")
        out[mode] = entry
    return out


def markdown(summary: dict[str, dict[str, Any]]) -> str:
    pct = lambda v, sd: f"{100 * v:.1f} %" + (f" ± {100 * sd:.1f}" if sd else "")  # noqa: E731
    num = lambda v, sd: f"{v:.3f}" + (f" ± {sd:.3f}" if sd else "")  # noqa: E731
    lines = [
        "| mode | runs | prompts | accuracy (composite >= 0.6) | composite mean | median | std | overlap mean | SimpleQA correct / incorrect / not attempted |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, e in summary.items():
        grades = " / ".join(pct(e[f"simpleqa_{g}"], 0) for g in ("correct", "incorrect", "not_attempted"))
        lines.append(
            f"| {mode} | {len(e['runs'])} | {e['n_prompts']} | {pct(e['accuracy'], e['accuracy_sd'])} | "
            f"{num(e['composite_mean'], e['composite_mean_sd'])} | {e['composite_median']:.3f} | {e['composite_std']:.3f} | "
            f"{num(e['overlap_mean'], e['overlap_mean_sd'])} | {grades} |"
        )
    lines.append("")
    lines.append("Oracle results: the steering target is built from the gold answer. "
                 "± is the sd over runs (search seeds) of one mode.")
    return "\n".join(lines)


def plots(summary: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    modes = list(summary)
    paths = []
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(modes, [100 * summary[m]["accuracy"] for m in modes],
           yerr=[100 * summary[m]["accuracy_sd"] for m in modes], color="tab:blue")
    ax.set(ylabel="accuracy (%)", title="Accuracy (composite >= 0.6)")
    paths.append(save(fig, out / "accuracy.png"))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.boxplot([summary[m]["composites"] for m in modes], tick_labels=modes)
    ax.set(ylabel="composite score", title="Composite scores per prompt")
    paths.append(save(fig, out / "composite_box.png"))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for mode in modes:
        rows = summary[mode]["strengths"]
        if mode == "baseline" or not rows:
            continue
        segs = [tuple(map(int, s.split("-"))) for s in summary[mode]["segments"].split(",") if s]
        profile = [0.0] * (segs[-1][1] + 1)
        for lo_hi, i in zip(segs, range(len(segs))):
            mean = statistics.fmean(r[i] for r in rows)
            for layer in range(lo_hi[0], lo_hi[1] + 1):
                profile[layer] = mean
        ax.plot(range(len(profile)), profile, label=mode, drawstyle="steps-mid")
    ax.set(xlabel="decoder layer", ylabel="mean best alpha × gamma", title="Per-layer weight profile")
    ax.legend()
    paths.append(save(fig, out / "layer_profiles.png"))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Paper-style report of Fusion Steering runs")
    parser.add_argument("--tracking-uri", default=DEFAULT_URI)
    parser.add_argument("--experiment", default="fusion")
    parser.add_argument("--sweep-id", default=None, help="only runs with this tags.fusion.sweep_id")
    parser.add_argument("--run-ids", nargs="*", default=None)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports" / "latest")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--no-log", action="store_true", help="do not log the report to MLflow")
    args = parser.parse_args(argv)
    client = MlflowClient(tracking_uri=args.tracking_uri)
    runs = find_runs(client, args.experiment, args.sweep_id, args.run_ids)
    if not runs:
        print("fusion.report: no finished runs match: check --sweep-id / --run-ids / --experiment", file=sys.stderr)
        return 2
    summary = summarise(client, runs)
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown(summary)
    (args.out / "report.md").write_text(table + "\n")
    paths = plots(summary, args.out)
    numbers = {m: {k: v for k, v in e.items() if k not in ("composites", "strengths")} for m, e in summary.items()}
    (args.out / "report.json").write_text(json.dumps(numbers, indent=2) + "\n")
    if not args.no_log:
        mlflow.set_tracking_uri(args.tracking_uri)
        experiment = client.get_experiment_by_name(args.experiment)
        with mlflow.start_run(experiment_id=experiment.experiment_id if experiment else None,
                              run_name=f"report-{args.sweep_id or 'all'}", tags={"fusion.kind": "report"}):
            for path in [args.out / "report.md", args.out / "report.json", *paths]:
                mlflow.log_artifact(str(path))
    print(json.dumps(numbers, indent=2) if args.json else table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
