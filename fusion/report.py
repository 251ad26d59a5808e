"""Paper-style report from MLflow runs: ``python -m fusion.report [--sweep-id ID | --run-ids ...]``.

Reads finished job runs (by experiment, sweep id or run ids), groups them by steering mode and
writes a markdown table (accuracy, composite mean / median / std, overlap mean, SimpleQA grade
shares), PNG plots (accuracy bars, composite box plots, per-layer weight profiles), logs them as
artifacts of a ``report`` run, and prints the table (``--json``: the numbers). Several runs of one
mode (search seeds) are summarised as mean and sd over runs.

Runs steered toward a shuffled target (tag ``fusion.steering_target=shuffled``) form their own
groups (``full[shuffled]``), and so do exact runs when the runs mix exact and cached steering
(``full[exact]``). Groups measured on the same prompts are compared pairwise with paired
statistics (:mod:`fusion.stats`): segmented vs full, each steered group vs the baseline,
reference vs shuffled target, cached vs exact; ``report.json`` holds them as ``paired``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
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
from fusion.scoring import summarize
from fusion.stats import Observation, PairedComparison, compare_groups
from fusion.tracking import read_table

MODES = ("baseline", "full", "segmented")
METRICS = ("accuracy", "composite_mean", "composite_median", "composite_std", "overlap_mean",
           "simpleqa_correct", "simpleqa_incorrect", "simpleqa_not_attempted")
# the zero-steering control and the unsteered baseline, measured on the same prompts in every run
CONTROL_METRICS = ("control_accuracy", "control_composite_mean", "baseline_accuracy", "baseline_composite_mean")
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
    runs = client.search_runs([exp.experiment_id], query, order_by=["attributes.start_time ASC"])
    return [r for r in runs if "n_prompts" in r.data.metrics]  # a job's summary marks it complete


# params that say where a run logged, kept its studies or which slice of the data it ran, not what it computed
_NOT_IDENTITY = ("tracking.", "data.shard", "search.storage")


def replicates(runs: list[Run]) -> list[list[Run]]:
    """Group runs that differ only in ``data.shard``: the shards of one job, merged as one result."""
    groups: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        params = {k: v for k, v in run.data.params.items() if not k.startswith(_NOT_IDENTITY)}
        groups[json.dumps(params, sort_keys=True)].append(run)
    return [sorted(g, key=lambda r: int(r.data.params.get("data.shard", 0))) for g in groups.values()]


def replicate_metrics(client: MlflowClient, shards: list[Run]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """A replicate's metrics and prompt rows. One run: its own logged metrics. Several shards:
    recomputed over their merged prompt rows with the pipeline's own summary function."""
    rows = sorted((p for r in shards for p in read_table(client, r.info.run_id, "prompts.json")), key=lambda p: p["index"])
    if len(shards) == 1:
        return dict(shards[0].data.metrics), rows
    threshold = float(shards[0].data.params.get("eval.accuracy_threshold", 0.6))
    metrics: dict[str, float] = {"n_prompts": float(len(rows))}
    for prefix in ("", "baseline_", "control_"):
        part = summarize([p[f"{prefix}composite"] for p in rows], [p[f"{prefix}overlap"] for p in rows],
                         [p[f"{prefix}simpleqa"] for p in rows], threshold)
        metrics.update({f"{prefix}{k}": v for k, v in part.items()})
    metrics["wall_seconds"] = sum(r.data.metrics.get("wall_seconds", 0.0) for r in shards)
    return metrics, rows


def group_label(mode: str, n_trials: str, budgets: set[str]) -> str:
    """The mode, plus its trial budget when runs of that mode used several budgets."""
    return mode if mode == "baseline" or len(budgets) == 1 else f"{mode}@{n_trials}"


def steering_variant(run: Run) -> tuple[str, bool]:
    """``(target, exact)`` of a run: runs before these tags existed steered toward the reference
    target, exactly (the default then and now)."""
    tags = run.data.tags
    return tags.get("fusion.steering_target", "reference"), tags.get("fusion.steering_exact", "true") == "true"


def variant_suffix(target: str, exact: bool, split_exact: bool) -> str:
    """``[exact]``, ``[shuffled]``, ``[exact,shuffled]`` or nothing: the reference target and,
    unless the runs mix exact and cached steering, either kind of steering keep the plain label."""
    parts = ["exact"] * (exact and split_exact) + ["shuffled"] * (target == "shuffled")
    return f"[{','.join(parts)}]" if parts else ""


def prompt_observations(rows: list[dict[str, Any]], threshold: float, dataset: str) -> dict[tuple[str, int], Observation]:
    """A replicate's ``(accuracy 0/1, composite)`` per prompt, keyed by (data set, SimpleQA index):
    the index alone names different questions in different data sets."""
    return {(dataset, int(p["index"])): (float(p["composite"] >= threshold), float(p["composite"])) for p in rows}


def _mean_sd(entry: dict[str, Any], key: str, values: list[float]) -> None:
    entry[key] = statistics.fmean(values) if values else None
    entry[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(client: MlflowClient, runs: list[Run]) -> dict[str, dict[str, Any]]:
    """Per mode (and trial budget): metrics as mean and sd over replicates (search seeds), each
    replicate being one run or the merged shards of one job."""
    budgets: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        budgets[run.data.tags["fusion.mode"]].add(run.data.params.get("search.n_trials", ""))
    # exact runs get their own groups only when there are cached ones to compare them with
    split_exact = len({steering_variant(r)[1] for r in runs if r.data.tags["fusion.mode"] != "baseline"}) > 1
    grouped: dict[str, list[list[Run]]] = defaultdict(list)
    sort_key: dict[str, tuple[int, int, bool, bool]] = {}
    for shards in replicates(runs):
        first = shards[0]
        mode = first.data.tags["fusion.mode"]
        n_trials = first.data.params.get("search.n_trials", "")
        # the baseline is not steered: target and kind of steering do not apply to it
        target, exact = steering_variant(first) if mode != "baseline" else ("reference", False)
        label = group_label(mode, n_trials, budgets[mode]) + variant_suffix(target, exact, split_exact)
        grouped[label].append(shards)
        sort_key[label] = (MODES.index(mode) if mode in MODES else 99, int(n_trials or 0) if mode != "baseline" else 0,
                           exact and split_exact, target == "shuffled")

    out: dict[str, dict[str, Any]] = {}
    for label in sorted(grouped, key=sort_key.__getitem__):
        first = grouped[label][0][0]
        steered = first.data.tags["fusion.mode"] != "baseline"
        target, exact = steering_variant(first)
        entry: dict[str, Any] = {
            "mode": first.data.tags["fusion.mode"],
            "n_trials": int(first.data.params.get("search.n_trials", 0)) if steered else 0,
            "target": target if steered else None,
            "exact": exact if steered else None,
            "variant": label.partition("[")[2].rstrip("]"),
            "runs": [r.info.run_id for shards in grouped[label] for r in shards],
            "replicates": [],
            "composites": [],
            "strengths": [],
            "observations": defaultdict(list),  # (data set, index) -> one (accuracy, composite) per replicate
            "segments": first.data.tags.get("fusion.segments", ""),
        }
        per_replicate = []
        for shards in grouped[label]:
            metrics, rows = replicate_metrics(client, shards)
            per_replicate.append(metrics)
            params = shards[0].data.params
            replicate = prompt_observations(rows, float(params.get("eval.accuracy_threshold", 0.6)), params.get("data.name", ""))
            for key, observation in replicate.items():
                entry["observations"][key].append(observation)
            entry["replicates"].append({
                "seed": int(shards[0].data.params.get("search.seed", 0)),
                "shards": len(shards),
                "runs": [r.info.run_id for r in shards],
                **{k: metrics.get(k) for k in (*METRICS, *CONTROL_METRICS, "n_prompts", "wall_seconds", "failed_trials")},
            })
            entry["composites"] += [p["composite"] for p in rows]
            entry["strengths"] += [p["strengths"] for p in rows]
        entry["n_prompts"] = int(per_replicate[0].get("n_prompts", 0))
        for key in (*METRICS, *CONTROL_METRICS):
            _mean_sd(entry, key, [m[key] for m in per_replicate if key in m])
        out[label] = entry
    return out


# summary keys that hold per-prompt data (plots, paired statistics), not numbers for report.json
PER_PROMPT = ("composites", "strengths", "observations")


def comparisons(summary: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The pairs of groups to compare, ``(a, b)`` for a - b: segmented vs full (same budget and
    variant), every steered group vs the baseline, reference vs shuffled target (same mode, budget
    and kind of steering), cached vs exact (same mode, budget and target). Whether they share
    prompts is checked when they are compared."""
    steered = {label: e for label, e in summary.items() if e["mode"] != "baseline"}
    by_key = {(e["mode"], e["n_trials"], e["target"], e["exact"]): label for label, e in steered.items()}
    pairs: list[tuple[str, str]] = []
    for label, e in steered.items():
        mode, trials, target, exact = e["mode"], e["n_trials"], e["target"], e["exact"]
        if mode == "segmented" and (full := by_key.get(("full", trials, target, exact))):
            pairs.append((label, full))
    pairs += [(label, "baseline") for label in steered if "baseline" in summary]
    for (mode, trials, target, exact), label in by_key.items():
        if target == "reference" and (other := by_key.get((mode, trials, "shuffled", exact))):
            pairs.append((label, other))
    for (mode, trials, target, exact), label in by_key.items():
        if not exact and (other := by_key.get((mode, trials, target, True))):
            pairs.append((label, other))
    return pairs


def paired(summary: dict[str, dict[str, Any]], resamples: int = 10_000, seed: int = 0) -> list[PairedComparison]:
    """Paired statistics (:func:`fusion.stats.compare_groups`) of every pair of
    :func:`comparisons` that shares at least one prompt."""
    out = []
    for a, b in comparisons(summary):
        result = compare_groups(a, summary[a]["observations"], b, summary[b]["observations"], resamples=resamples, seed=seed)
        if result is not None:
            out.append(result)
    return out


def _pct(v: float | None, sd: float = 0.0) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %" + (f" ± {100 * sd:.1f}" if sd else "")


def _num(v: float | None, sd: float = 0.0) -> str:
    return "n/a" if v is None else f"{v:.3f}" + (f" ± {sd:.3f}" if sd else "")


def markdown(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| mode | trials | seeds | prompts | accuracy (composite >= 0.6) | composite mean | median | std | overlap mean "
        "| SimpleQA correct / incorrect / not attempted | zero-steering control: accuracy, composite mean |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, e in summary.items():
        grades = " / ".join(_pct(e[f"simpleqa_{g}"]) for g in ("correct", "incorrect", "not_attempted"))
        control = "—" if e["mode"] == "baseline" else (
            f"{_pct(e['control_accuracy'], e['control_accuracy_sd'])}, {_num(e['control_composite_mean'], e['control_composite_mean_sd'])}"
        )
        lines.append(
            f"| {label} | {e['n_trials'] or '—'} | {len(e['replicates'])} | {e['n_prompts']} "
            f"| {_pct(e['accuracy'], e['accuracy_sd'])} | {_num(e['composite_mean'], e['composite_mean_sd'])} "
            f"| {_num(e['composite_median'])} | {_num(e['composite_std'])} | {_num(e['overlap_mean'], e['overlap_mean_sd'])} "
            f"| {grades} | {control} |"
        )
    lines.append("")
    lines.append("Oracle results: the steering target is built from the gold answer. ± is the sd over search seeds "
                 "(replicates) of one mode; median and std are means over replicates. The zero-steering control is "
                 "the steering prompt answered without hooks, on the same prompts.")
    return "\n".join(lines)


def seed_table(summary: dict[str, dict[str, Any]]) -> str:
    lines = ["| mode | seed | shards | prompts | accuracy | composite mean | overlap mean | SimpleQA correct "
             "| control accuracy | failed trials | wall (s) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, e in summary.items():
        for r in e["replicates"]:
            lines.append(
                f"| {label} | {r['seed'] if e['mode'] != 'baseline' else '—'} | {r['shards']} | {int(r['n_prompts'] or 0)} "
                f"| {_pct(r['accuracy'])} | {_num(r['composite_mean'])} | {_num(r['overlap_mean'])} "
                f"| {_pct(r['simpleqa_correct'])} | {_pct(r.get('control_accuracy'))} "
                f"| {int(r.get('failed_trials') or 0)} | {(r.get('wall_seconds') or 0):.0f} |"
            )
    return "\n".join(lines)


def ordering(summary: dict[str, dict[str, Any]]) -> str:
    """Whether the paper's ordering (segmented > full > baseline in accuracy) held, per budget
    (plain groups only: the reference target, and cached steering where exact runs are separate)."""
    base = summary.get("baseline")
    plain = [e for e in summary.values() if not e["variant"]]
    out = []
    for budget in sorted({e["n_trials"] for e in plain if e["mode"] != "baseline"}):
        by_mode = {e["mode"]: e for e in plain if e["n_trials"] == budget}
        if base is None or not {"full", "segmented"} <= set(by_mode):
            continue
        acc = [base["accuracy"], by_mode["full"]["accuracy"], by_mode["segmented"]["accuracy"]]
        comp = [base["composite_mean"], by_mode["full"]["composite_mean"], by_mode["segmented"]["composite_mean"]]
        held = acc[2] > acc[1] > acc[0]
        counts = [int(e["n_prompts"]) for e in (base, by_mode["full"], by_mode["segmented"])]
        caveat = "" if len(set(counts)) == 1 else (
            f" (not on the same prompts: {counts[0]} / {counts[1]} / {counts[2]} prompts, the baseline's are a superset)")
        out.append(
            f"- {budget} trials: accuracy baseline {_pct(acc[0])}, full {_pct(acc[1])}, segmented {_pct(acc[2])}; "
            f"composite mean {comp[0]:.3f} / {comp[1]:.3f} / {comp[2]:.3f}: "
            + ("segmented > full > baseline **held**" if held else "segmented > full > baseline **did not hold**")
            + caveat + "."
        )
    return "\n".join(out) or "- not enough modes to compare."


def machine() -> str:
    import os
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, no GPU used; Python {platform.python_version()}, torch {_version('torch')}"


def _version(package: str) -> str:
    # the installed version without importing it: the report must not pay for loading torch
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _points(value: float) -> str:
    return f"{round(value, 1) + 0.0:+.1f}"


def paired_markdown(pairs: list[PairedComparison]) -> str:
    """The paired statistics as a table, then the rule behind them."""
    if not pairs:
        return "No two groups were measured on the same prompts: no paired statistics."
    level = f"{100 * pairs[0].level:g} %"
    lines = [
        f"| a - b | prompts | seeds a / b | accuracy diff (points) [{level} CI] | discordant a / b | McNemar p "
        f"| composite diff [{level} CI] | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in pairs:
        lines.append(
            f"| {c.a} - {c.b} | {c.n_prompts} | {c.seeds_a} / {c.seeds_b} "
            f"| {_points(c.accuracy_diff)} [{_points(c.accuracy_ci_low)}, {_points(c.accuracy_ci_high)}] "
            f"| {c.b_count} / {c.c_count} | {c.mcnemar_p:.3f} "
            f"| {c.composite_diff:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}] | {c.evidence} |"
        )
    lines += ["", PAIRED_RULE.format(resamples=pairs[0].resamples, seed=pairs[0].seed)]
    return "\n".join(lines)


PAIRED_RULE = (
    "Paired over the prompts both groups answered (the prompt is the unit). Per prompt, a group's accuracy "
    "(composite >= the run's threshold) and composite are averaged over its search seeds. Differences are a - b "
    "of these per-prompt values, averaged over prompts; intervals are percentile bootstraps resampling prompts "
    "({resamples} resamples, seed {seed}). McNemar's exact test counts the prompts where a is the more often "
    "accurate (discordant a) and where b is (discordant b); with one seed per group this is McNemar's test, "
    "with several the sign test on the seed-averaged accuracies (seeds of one prompt are not independent "
    "questions). Evidence of a difference: McNemar p < 0.05 and/or the composite interval excluding 0 (the "
    "verdict says which); p-values are not adjusted for the number of comparisons."
)


def agreement_table(pairs: list[PairedComparison]) -> str:
    """Per-question agreement of each compared pair: shares of prompts both get right, both get
    wrong, or only one of them (several seeds: averaged over the pairings of one seed of each)."""
    lines = ["| a - b | prompts | both accurate | both not | only a | only b |", "|---|---|---|---|---|---|"]
    for c in pairs:
        lines.append(f"| {c.a} - {c.b} | {c.n_prompts} | {_pct(c.both_accurate)} | {_pct(c.both_inaccurate)} "
                     f"| {_pct(c.only_a)} | {_pct(c.only_b)} |")
    return "\n".join(lines)


def replication_report(summary: dict[str, dict[str, Any]], runs: list[Run], command: str, wall_seconds: float | None,
                       pairs: list[PairedComparison] | None = None) -> str:
    """experiments/paper_replication/REPORT.md: the paper-style table with what it was measured on."""
    first = runs[0].data
    tags = {k: sorted({r.data.tags.get(k, "") for r in runs}) for k in
            ("fusion.judge", "fusion.model_identity", "fusion.steering_exact", "fusion.sweep_id", "mlflow.source.git.commit")}
    limits = [f"the first {v}" if v != "None" else "all" for v in  # data.limit=null is all of them
              sorted({r.data.params.get("data.limit", "None") for r in runs}, key=lambda v: (len(v), v))]
    exact = tags["fusion.steering_exact"]
    steering = "exact (the paper's: no KV cache)" if exact == ["true"] else (
        "cached (KV cache, running means: not the paper's exact mode)" if exact == ["false"] else "mixed")
    if wall_seconds is None:  # from the first run's start to the last run's end
        wall_seconds = (max(r.info.end_time for r in runs) - min(r.info.start_time for r in runs)) / 1000
    wall = f"{wall_seconds / 60:.1f} min"
    return "\n".join([
        "# Paper replication: Fusion Steering on the paper's 260 questions",
        "",
        "Generated by `python -m fusion.report --replication` from the MLflow runs of one sweep.",
        "",
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- Wall time of the whole sweep: {wall}",
        f"- Model: {first.params.get('model.name', '?')} ({', '.join(tags['fusion.model_identity'])})",
        f"- Judge: {', '.join(tags['fusion.judge'])}; accuracy = share of prompts with composite >= "
        f"{first.params.get('eval.accuracy_threshold', '0.6')}; token overlap variant {first.params.get('eval.overlap', '?')}",
        f"- Prompts: {' or '.join(limits)} of the paper's 260 (data=paper260, offset "
        f"{first.params.get('data.offset', '0')}; the table's prompts column says which); "
        f"max {first.params.get('prompts.max_new_tokens', '?')} new tokens",
        f"- Steering: {steering}",
        f"- Search: Optuna {first.params.get('search.sampler', '?')} sampler, batches of {first.params.get('search.batch_size', '?')}, "
        f"seeds {', '.join(sorted({r.data.params.get('search.seed', '?') for r in runs if r.data.tags['fusion.mode'] != 'baseline'}))}",
        f"- Sweep: {', '.join(tags['fusion.sweep_id'])}; code {', '.join(c[:10] for c in tags['mlflow.source.git.commit'])}",
        "",
        "**These are oracle results**: the steering target of every prompt is built from its gold answer, so they "
        "measure how far steering toward a known answer moves the model, not question answering without the answer.",
        "",
        "## Results",
        "",
        markdown(summary),
        "",
        "Paper (Gemma-2-2B-IT, 5 trials, LLM judge): accuracy 3.5 / 16.2 / 25.4 % for baseline / full / segmented; "
        "SimpleQA CORRECT 0 / 9.2 / 13.1 %.",
        "",
        "## Did segmented > full > baseline hold?",
        "",
        ordering(summary),
        "",
        "## Paired statistics",
        "",
        *(f"- {c.sentence}." for c in pairs or []),
        *([""] if pairs else []),
        paired_markdown(pairs or []),
        *(["", "Per-question agreement (share of prompts):", "", agreement_table(pairs)] if pairs else []),
        "",
        "## Per seed",
        "",
        seed_table(summary),
        "",
        "Plots: `accuracy.png`, `composite_box.png`, `layer_profiles.png`; numbers: `report.json`.",
        "",
    ])


def plots(summary: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    modes = list(summary)  # labels: a mode, or mode@trials when several budgets ran
    paths = []
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(modes, [100 * summary[m]["accuracy"] for m in modes],
           yerr=[100 * summary[m]["accuracy_sd"] for m in modes], color="tab:blue")
    ax.set(ylabel="accuracy (%)", title="Accuracy (composite >= 0.6)")
    ax.tick_params(axis="x", labelrotation=20)  # mode@trials labels would overlap
    paths.append(save(fig, out / "accuracy.png"))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.boxplot([summary[m]["composites"] for m in modes], tick_labels=modes)
    ax.set(ylabel="composite score", title="Composite scores per prompt")
    ax.tick_params(axis="x", labelrotation=20)
    paths.append(save(fig, out / "composite_box.png"))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for mode in modes:
        rows = summary[mode]["strengths"]
        if summary[mode]["mode"] == "baseline" or not rows:
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
    parser.add_argument("--replication", action="store_true",
                        help="also write OUT/REPORT.md: the table with the command, machine, wall time and judge")
    parser.add_argument("--command", default="", help="the command that ran the sweep (for REPORT.md)")
    parser.add_argument("--wall-seconds", type=float, default=None,
                        help="the sweep's wall time for REPORT.md (default: first run's start to last run's end)")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples of the paired statistics")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the paired bootstrap")
    args = parser.parse_args(argv)
    client = MlflowClient(tracking_uri=args.tracking_uri)
    runs = find_runs(client, args.experiment, args.sweep_id, args.run_ids)
    if not runs:
        print("fusion.report: no finished runs match: check --sweep-id / --run-ids / --experiment", file=sys.stderr)
        return 2
    summary = summarise(client, runs)
    pairs = paired(summary, args.resamples, args.bootstrap_seed)
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown(summary)
    if pairs:  # a single group (or groups on disjoint prompts) keeps the report as it was
        table += "\n\n## Paired statistics\n\n" + paired_markdown(pairs)
    written = [args.out / "report.md"]
    written[0].write_text(table + "\n")
    if args.replication:
        written.append(args.out / "REPORT.md")
        written[-1].write_text(replication_report(summary, runs, args.command, args.wall_seconds, pairs))
    paths = plots(summary, args.out)
    numbers: dict[str, Any] = {m: {k: v for k, v in e.items() if k not in PER_PROMPT} for m, e in summary.items()}
    if pairs:  # beside the group labels; absent when nothing was compared, as before
        numbers["paired"] = [dataclasses.asdict(c) for c in pairs]
    written.append(args.out / "report.json")
    written[-1].write_text(json.dumps(numbers, indent=2) + "\n")
    if not args.no_log:
        mlflow.set_tracking_uri(args.tracking_uri)
        experiment = client.get_experiment_by_name(args.experiment)
        with mlflow.start_run(experiment_id=experiment.experiment_id if experiment else None,
                              run_name=f"report-{args.sweep_id or 'all'}", tags={"fusion.kind": "report"}):
            for path in [*written, *paths]:
                mlflow.log_artifact(str(path))
    print(json.dumps(numbers, indent=2) if args.json else table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
