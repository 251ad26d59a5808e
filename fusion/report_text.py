"""The report's text: the markdown table, the paired statistics and the replication's REPORT.md."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from mlflow.entities import Run

from fusion.stats import PairedComparison, signed


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
        control = (
            "—"
            if e["mode"] == "baseline"
            else (
                f"{_pct(e['control_accuracy'], e['control_accuracy_sd'])}, {_num(e['control_composite_mean'], e['control_composite_mean_sd'])}"
            )
        )
        lines.append(
            f"| {label} | {e['n_trials'] or '—'} | {len(e['replicates'])} | {e['n_prompts']} "
            f"| {_pct(e['accuracy'], e['accuracy_sd'])} | {_num(e['composite_mean'], e['composite_mean_sd'])} "
            f"| {_num(e['composite_median'])} | {_num(e['composite_std'])} | {_num(e['overlap_mean'], e['overlap_mean_sd'])} "
            f"| {grades} | {control} |"
        )
    lines.append("")
    lines.append(
        "Oracle results: the steering target is built from the gold answer. ± is the sd over search seeds "
        "(replicates) of one mode; median and std are means over replicates. The zero-steering control is "
        "the steering prompt answered without hooks, on the same prompts."
    )
    return "\n".join(lines)


def seed_table(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| mode | seed | shards | prompts | accuracy | composite mean | overlap mean | SimpleQA correct "
        "| control accuracy | failed trials | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, e in summary.items():
        for r in e["replicates"]:
            lines.append(
                f"| {label} | {r['seed'] if e['mode'] != 'baseline' else '—'} | {r['shards']} | {int(r['n_prompts'] or 0)} "
                f"| {_pct(r['accuracy'])} | {_num(r['composite_mean'])} | {_num(r['overlap_mean'])} "
                f"| {_pct(r['simpleqa_correct'])} | {_pct(r.get('control_accuracy'))} "
                f"| {int(r.get('failed_trials') or 0)} | {(r.get('wall_seconds') or 0):.0f}{'*' * bool(r.get('resumed'))} |"
            )
    if any(r.get("resumed") for e in summary.values() for r in e["replicates"]):
        lines += ["", "\\* resumed after an interruption: the wall time of its last attempt only."]
    return "\n".join(lines)


def _step(pair: PairedComparison) -> str:
    """One step of the ordering as a paired test: the difference, its interval, the p-value."""
    return (
        f"{pair.a} - {pair.b} {signed(pair.accuracy_diff, 1)} points "
        f"[{signed(pair.accuracy_ci_low, 1)}, {signed(pair.accuracy_ci_high, 1)}], McNemar p = {pair.mcnemar_p:.3f}, "
        f"composite {signed(pair.composite_diff, 3)} [{signed(pair.ci_low, 3)}, {signed(pair.ci_high, 3)}]: "
        f"{pair.evidence}"
    )


def ordering(summary: dict[str, dict[str, Any]], pairs: list[PairedComparison] | None = None) -> str:
    """Whether the paper's ordering (segmented > full > baseline in accuracy) held, per budget
    (plain groups only: the reference target, and cached steering where exact runs are separate),
    and each step of it as a paired test where ``pairs`` has one."""
    base = summary.get("baseline")
    plain = {label: e for label, e in summary.items() if not e["variant"]}
    tested = {(c.a, c.b): c for c in pairs or []}
    out = []
    for budget in sorted({e["n_trials"] for e in plain.values() if e["mode"] != "baseline"}):
        label_of = {e["mode"]: label for label, e in plain.items() if e["n_trials"] == budget}
        by_mode = {mode: plain[label] for mode, label in label_of.items()}
        if base is None or not {"full", "segmented"} <= set(by_mode):
            continue
        acc = [base["accuracy"], by_mode["full"]["accuracy"], by_mode["segmented"]["accuracy"]]
        comp = [base["composite_mean"], by_mode["full"]["composite_mean"], by_mode["segmented"]["composite_mean"]]
        held = acc[2] > acc[1] > acc[0]
        counts = [int(e["n_prompts"]) for e in (base, by_mode["full"], by_mode["segmented"])]
        caveat = (
            ""
            if len(set(counts)) == 1
            else (
                f" (not on the same prompts: {counts[0]} / {counts[1]} / {counts[2]} prompts, the baseline's are a superset)"
            )
        )
        out.append(
            f"- {budget} trials: accuracy baseline {_pct(acc[0])}, full {_pct(acc[1])}, segmented {_pct(acc[2])}; "
            f"composite mean {comp[0]:.3f} / {comp[1]:.3f} / {comp[2]:.3f}: "
            + ("segmented > full > baseline **held**" if held else "segmented > full > baseline **did not hold**")
            + caveat
            + "."
        )
        steps = [tested.get((label_of["segmented"], label_of["full"])), tested.get((label_of["full"], "baseline"))]
        out += [f"  - {_step(c)}." for c in steps if c is not None]
        if held and any(c is not None and c.evidence.startswith("no evidence") for c in steps):
            out.append(
                "  - So it held in the point estimates only: a step without evidence of a difference may be noise."
            )
    return "\n".join(out) or "- not enough modes to compare."


def machine() -> str:
    import os
    import platform

    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, no GPU used; Python {platform.python_version()}, torch {_version('torch')}"


def _version(package: str) -> str:
    # the installed version without importing it: the report must not pay for loading torch
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


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
            f"| {signed(c.accuracy_diff, 1)} [{signed(c.accuracy_ci_low, 1)}, {signed(c.accuracy_ci_high, 1)}] "
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
        lines.append(
            f"| {c.a} - {c.b} | {c.n_prompts} | {_pct(c.both_accurate)} | {_pct(c.both_inaccurate)} "
            f"| {_pct(c.only_a)} | {_pct(c.only_b)} |"
        )
    return "\n".join(lines)


def limits_of(summary: dict[str, dict[str, Any]], runs: list[Run]) -> list[str]:
    """What the study leaves open, read from its own runs (model, judge, seeds, subsets)."""
    models = sorted({r.data.params.get("model.name", "?") for r in runs})
    judges = sorted({r.data.tags.get("fusion.judge", "?") for r in runs})
    seeds = max((len(e["replicates"]) for e in summary.values() if e["mode"] != "baseline"), default=0)
    counts = sorted({int(e["n_prompts"]) for e in summary.values()})
    lines = ["- Steering toward a reference built from the gold answer says nothing about answering without it."]
    if not any(m.startswith("gemma2_2b") for m in models):
        lines.append(
            f"- The model is {', '.join(models)}, not the paper's Gemma-2-2B-IT: the effect sizes are not the paper's."
        )
    if any(j.startswith("rules") for j in judges):
        lines.append(
            "- The rules judge grades by matching the gold answer, not with an LLM as the paper did: "
            "the SimpleQA grades and quality scores are not comparable with the paper's."
        )
    if seeds == 1:
        lines.append("- One search seed per group: the intervals resample questions, not the search's own variation.")
    if len(counts) > 1:
        lines.append(
            f"- Groups ran on {' and '.join(str(c) for c in counts)} questions: a comparison holds only for "
            "the questions both groups answered (the paired statistics use exactly those)."
        )
    return lines


def replication_report(
    summary: dict[str, dict[str, Any]],
    runs: list[Run],
    command: str,
    wall_seconds: float | None,
    pairs: list[PairedComparison] | None = None,
) -> str:
    """experiments/paper_replication/REPORT.md: the paper-style table with what it was measured on."""
    first = runs[0].data
    tags = {
        k: sorted({r.data.tags.get(k, "") for r in runs})
        for k in (
            "fusion.judge",
            "fusion.model_identity",
            "fusion.steering_exact",
            "fusion.sweep_id",
            "mlflow.source.git.commit",
        )
    }
    limits = [
        f"the first {v}" if v != "None" else "all"
        for v in sorted(  # data.limit=null is all of them
            {r.data.params.get("data.limit", "None") for r in runs}, key=lambda v: (len(v), v)
        )
    ]
    # a baseline run steers nothing: its decoding setting says nothing about the steering
    exact = sorted(
        {r.data.tags.get("fusion.steering_exact", "") for r in runs if r.data.tags["fusion.mode"] != "baseline"}
    )
    steering = (
        "exact (the paper's: no KV cache)"
        if exact == ["true"]
        else (
            "cached (KV cache, running means: not the paper's exact mode)"
            if exact == ["false"]
            else "cached and exact (the paper's), in separate runs: the table's mode column says which"
        )
    )
    if wall_seconds is None:  # from the first run's start to the last run's end
        wall_seconds = (max(r.info.end_time for r in runs) - min(r.info.start_time for r in runs)) / 1000
    wall = f"{wall_seconds / 60:.1f} min"
    return "\n".join(
        [
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
            ordering(summary, pairs),
            "",
            "## Paired statistics",
            "",
            *(f"- {c.sentence}." for c in pairs or []),
            *([""] if pairs else []),
            paired_markdown(pairs or []),
            *(["", "Per-question agreement (share of prompts):", "", agreement_table(pairs)] if pairs else []),
            "",
            "## What these numbers do not say",
            "",
            *limits_of(summary, runs),
            "",
            "## Per seed",
            "",
            seed_table(summary),
            "",
            "Plots: `accuracy.png`, `composite_box.png`, `layer_profiles.png`; numbers: `report.json`.",
            "",
        ]
    )
