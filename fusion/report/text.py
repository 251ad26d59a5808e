"""The report's text: the markdown table, the paired statistics and the replication's REPORT.md."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from fusion.report.stats import PairedComparison, signed
from fusion.tracking.answers import Replicate


def _pct(v: float | None, sd: float = 0.0) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %" + (f" ± {100 * sd:.1f}" if sd else "")


def _num(v: float | None, sd: float = 0.0) -> str:
    return "n/a" if v is None else f"{v:.3f}" + (f" ± {sd:.3f}" if sd else "")


def markdown(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| mode | trials | seeds | prompts | correct & fluent (strict) | accuracy (paper: composite >= 0.6) "
        "| of which degenerate | composite mean | median | std | overlap mean "
        "| SimpleQA correct / incorrect / not attempted | zero-steering control: strict, accuracy, composite mean |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, e in summary.items():
        grades = " / ".join(_pct(e[f"simpleqa_{g}"]) for g in ("correct", "incorrect", "not_attempted"))
        control = (
            "—"
            if e["mode"] == "baseline"
            else (
                f"{_pct(e.get('control_correct_fluent'), e.get('control_correct_fluent_sd', 0.0))}, "
                f"{_pct(e['control_accuracy'], e['control_accuracy_sd'])}, "
                f"{_num(e['control_composite_mean'], e['control_composite_mean_sd'])}"
            )
        )
        degenerate = e.get("accurate_degenerate")
        lines.append(
            f"| {label} | {e['n_trials'] or '—'} | {len(e['replicates'])} | {e['n_prompts']} "
            f"| {_pct(e.get('correct_fluent'), e.get('correct_fluent_sd', 0.0))} "
            f"| {_pct(e['accuracy'], e['accuracy_sd'])} | {'n/a' if degenerate is None else f'{degenerate:g}'} "
            f"| {_num(e['composite_mean'], e['composite_mean_sd'])} "
            f"| {_num(e['composite_median'])} | {_num(e['composite_std'])} | {_num(e['overlap_mean'], e['overlap_mean_sd'])} "
            f"| {grades} | {control} |"
        )
    lines.append("")
    lines.append(
        "Oracle results: the steering target is built from the gold answer. **Correct & fluent** is the strict "
        "metric: the judge says CORRECT and the answer is not degenerate (fusion.evaluate.fluency). **Accuracy** is the "
        "paper's metric, kept for parity; *of which degenerate* counts its accurate answers that are babble "
        "(mean over seeds). ± is the sd over search seeds (replicates) of one group; median and std are means "
        "over replicates. The zero-steering control is the steering prompt answered without hooks, on the same "
        "prompts. Labels name the variant where the groups differ in it: [shuffled] the placebo target, [exact] "
        "exact steering, [fluent] / [paper] the search objective."
    )
    return "\n".join(lines)


def seed_table(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| mode | seed | shards | prompts | correct & fluent | accuracy | composite mean | overlap mean "
        "| SimpleQA correct | control accuracy | failed trials | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, e in summary.items():
        for r in e["replicates"]:
            lines.append(
                f"| {label} | {r['seed'] if e['mode'] != 'baseline' else '—'} | {r['shards']} | {int(r['n_prompts'] or 0)} "
                f"| {_pct(r.get('correct_fluent'))} | {_pct(r['accuracy'])} | {_num(r['composite_mean'])} "
                f"| {_num(r['overlap_mean'])} "
                f"| {_pct(r['simpleqa_correct'])} | {_pct(r.get('control_accuracy'))} "
                f"| {int(r.get('failed_trials') or 0)} | {(r.get('wall_seconds') or 0):.0f}{'*' * bool(r.get('resumed'))} |"
            )
    if any(r.get("resumed") for e in summary.values() for r in e["replicates"]):
        lines += ["", "\\* resumed after an interruption: the wall time of its last attempt only."]
    return "\n".join(lines)


def _strict_step(pair: PairedComparison) -> str:
    if pair.strict_diff is None:
        return "correct & fluent: not recorded"
    return (
        f"correct & fluent {signed(pair.strict_diff, 1)} points [{signed(pair.strict_ci_low or 0.0, 1)}, "
        f"{signed(pair.strict_ci_high or 0.0, 1)}], McNemar p = {pair.strict_mcnemar_p:.3f}: {pair.strict_evidence}"
    )


def _step(pair: PairedComparison) -> str:
    """One comparison as paired tests: the strict metric, then the paper's accuracy and composite."""
    return (
        f"{pair.a} - {pair.b}: {_strict_step(pair)}; paper's accuracy {signed(pair.accuracy_diff, 1)} points "
        f"[{signed(pair.accuracy_ci_low, 1)}, {signed(pair.accuracy_ci_high, 1)}], McNemar p = {pair.mcnemar_p:.3f}, "
        f"composite {signed(pair.composite_diff, 3)} [{signed(pair.ci_low, 3)}, {signed(pair.ci_high, 3)}]: "
        f"{pair.evidence}"
    )


def _plain(entry: dict[str, Any]) -> bool:
    """The reference target, and cached steering where exact runs are a group of their own."""
    return not ({"shuffled", "exact"} & set(entry["variant"].split(",")))


def ordering(summary: dict[str, dict[str, Any]], pairs: list[PairedComparison] | None = None) -> str:
    """Whether the paper's ordering (segmented > full > baseline) held, on the strict metric and on the
    paper's accuracy, per trial budget and search objective (plain groups only: the reference target,
    and cached steering where exact runs are separate), and each step of it as a paired test where
    ``pairs`` has one."""
    base = summary.get("baseline")
    plain = {label: e for label, e in summary.items() if _plain(e) and e["mode"] != "baseline"}
    tested = {(c.a, c.b): c for c in pairs or []}
    split_objective = len({e["objective"] for e in plain.values()}) > 1
    out = []
    for budget, objective in sorted({(e["n_trials"], e["objective"] or "") for e in plain.values()}):
        label_of = {
            e["mode"]: label
            for label, e in plain.items()
            if e["n_trials"] == budget and (e["objective"] or "") == objective
        }
        if base is None or not {"full", "segmented"} <= set(label_of):
            continue
        groups = [base, summary[label_of["full"]], summary[label_of["segmented"]]]
        counts = [int(e["n_prompts"]) for e in groups]
        caveat = (
            ""
            if len(set(counts)) == 1
            else f" (not on the same prompts: {counts[0]} / {counts[1]} / {counts[2]} prompts, the baseline's are a superset)"
        )
        held_lines = []
        for name, key in (("correct & fluent", "correct_fluent"), ("the paper's accuracy", "accuracy")):
            if any(e.get(key) is None for e in groups):
                continue  # a study recorded before the strict metric
            values = [float(e[key]) for e in groups]
            held = values[2] > values[1] > values[0]
            held_lines.append(
                f"{name} baseline {_pct(values[0])}, full {_pct(values[1])}, segmented {_pct(values[2])}: "
                + ("segmented > full > baseline **held**" if held else "segmented > full > baseline **did not hold**")
            )
        what = f"{budget} trials" + (f", {objective} objective" if split_objective else "")
        out.append(f"- {what}: " + "; ".join(held_lines) + caveat + ".")
        steps = [tested.get((label_of["segmented"], label_of["full"])), tested.get((label_of["full"], "baseline"))]
        out += [f"  - {_step(c)}." for c in steps if c is not None]
        strict = [e.get("correct_fluent") for e in groups]
        held = None not in strict and strict[2] > strict[1] > strict[0]  # type: ignore[operator]
        if held and any(c is not None and c.strict_evidence.startswith("no evidence") for c in steps):
            out.append(
                "  - So on the strict metric it held in the point estimates only: a step without evidence of a "
                "difference may be noise."
            )
    return "\n".join(out) or "- not enough modes to compare."


# the questions a report answers, and which comparisons answer each: (a's entry, b's entry) -> bool
VERDICT_QUESTIONS: list[tuple[str, Any]] = [
    ("Does steering beat the unsteered baseline?", lambda a, b: b["mode"] == "baseline" and _plain(a)),
    (
        "Does steering toward the question's own reference beat the placebo (another question's reference)?",
        lambda a, b: b["mode"] != "baseline" and b["target"] == "shuffled" and a["target"] == "reference",
    ),
    ("Does segmented beat full?", lambda a, b: a["mode"] == "segmented" and b["mode"] == "full"),
    (
        "Does the fluent objective beat the paper's?",
        lambda a, b: b["mode"] != "baseline" and a["objective"] == "fluent" and b["objective"] == "paper",
    ),
    (
        "Does cached steering differ from exact?",
        lambda a, b: b["mode"] != "baseline" and bool(b["exact"]) and not a["exact"],
    ),
]


def verdicts(summary: dict[str, dict[str, Any]], pairs: list[PairedComparison]) -> str:
    """One paragraph per question of :data:`VERDICT_QUESTIONS`: each comparison that answers it,
    on the strict metric and the paper's, with intervals and p-values."""
    out = []
    for question, answers in VERDICT_QUESTIONS:
        mine = [c for c in pairs if answers(summary[c.a], summary[c.b])]
        if mine:
            out += [f"**{question}**", "", *(f"- {_step(c)}." for c in mine), ""]
    return "\n".join(out).rstrip() or "No two groups were compared."


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
        f"| a - b | prompts | seeds a / b | correct & fluent diff (points) [{level} CI] | discordant a / b | McNemar p "
        f"| strict verdict | accuracy diff (points) [{level} CI] | discordant a / b | McNemar p "
        f"| composite diff [{level} CI] | paper's-metric verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in pairs:
        strict = (
            "n/a | n/a | n/a | not recorded"
            if c.strict_diff is None
            else f"{signed(c.strict_diff, 1)} [{signed(c.strict_ci_low or 0.0, 1)}, {signed(c.strict_ci_high or 0.0, 1)}] "
            f"| {c.strict_b_count} / {c.strict_c_count} | {c.strict_mcnemar_p:.3f} | {c.strict_evidence}"
        )
        lines.append(
            f"| {c.a} - {c.b} | {c.n_prompts} | {c.seeds_a} / {c.seeds_b} | {strict} "
            f"| {signed(c.accuracy_diff, 1)} [{signed(c.accuracy_ci_low, 1)}, {signed(c.accuracy_ci_high, 1)}] "
            f"| {c.b_count} / {c.c_count} | {c.mcnemar_p:.3f} "
            f"| {c.composite_diff:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}] | {c.evidence} |"
        )
    lines += ["", PAIRED_RULE.format(resamples=pairs[0].resamples, seed=pairs[0].seed)]
    return "\n".join(lines)


PAIRED_RULE = (
    "Paired over the prompts both groups answered (the prompt is the unit). Per prompt, a group's correct & fluent "
    "(strict), accuracy (composite >= the run's threshold) and composite are averaged over its search seeds. "
    "Differences are a - b of these per-prompt values, averaged over prompts; intervals are percentile bootstraps "
    "resampling prompts ({resamples} resamples, seed {seed}). McNemar's exact test counts the prompts where a is the "
    "more often right (discordant a) and where b is (discordant b), for the strict metric and for the paper's "
    "accuracy; with one seed per group this is McNemar's test, with several the sign test on the seed-averaged "
    "values (seeds of one prompt are not independent questions). Strict verdict: McNemar p < 0.05. Paper's-metric "
    "verdict: McNemar p < 0.05 and/or the composite interval excluding 0 (it says which). p-values are not "
    "adjusted for the number of comparisons."
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


def limits_of(summary: dict[str, dict[str, Any]], reps: list[Replicate]) -> list[str]:
    """What the study leaves open, read from its own runs (model, judge, seeds, subsets)."""
    models = sorted({r.params.get("model.name", "?") for r in reps})
    judges = sorted({r.tags.get("fusion.judge", "?") for r in reps})
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
            "the SimpleQA grades and quality scores are not the paper's. On the authors' own held-out answers it "
            "agrees with their Mistral grader at Cohen's kappa 0.64 (docs/judges.md): a strict verdict that "
            "hinges on a few questions may move under another judge."
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
    reps: list[Replicate],
    command: str,
    wall_seconds: float | None,
    pairs: list[PairedComparison] | None = None,
) -> str:
    """experiments/paper_replication/REPORT.md: the paper-style table with what it was measured on."""
    first = reps[0]
    tags = {
        k: sorted({r.tags.get(k, "") for r in reps})
        for k in (
            "fusion.judge",
            "fusion.model_identity",
            "fusion.steering_exact",
            "fusion.sweep_id",
            "mlflow.source.git.commit",
        )
    }
    rubrics = sorted({str(row.get("rubric", "")) for r in reps for row in r.rows if row.get("rubric")})
    regraded = any(r.tags.get("fusion.regraded") == "true" for r in reps)
    limits = [
        f"the first {v}" if v != "None" else "all"
        for v in sorted(  # data.limit=null is all of them
            {r.params.get("data.limit", "None") for r in reps}, key=lambda v: (len(v), v)
        )
    ]
    # a baseline run steers nothing: its decoding setting says nothing about the steering
    exact = sorted({r.tags.get("fusion.steering_exact", "") for r in reps if r.mode != "baseline"})
    steering = (
        "none (baseline only)"
        if not exact
        else "exact (the paper's: no KV cache)"
        if exact == ["true"]
        else (
            "cached (KV cache, running means: not the paper's exact mode)"
            if exact == ["false"]
            else "cached and exact (the paper's), in separate runs: the table's mode column says which"
        )
    )
    objectives = sorted({r.params.get("search.objective", "paper") for r in reps if r.mode != "baseline"})
    if wall_seconds is None:  # from the first run's start to the last run's end
        wall_seconds = (max(r.end_time for r in reps) - min(r.start_time for r in reps)) / 1000
    wall = f"{wall_seconds / 60:.1f} min"
    seeds = sorted({r.params.get("search.seed", "?") for r in reps if r.mode != "baseline"})
    return "\n".join(
        [
            "# Paper replication: Fusion Steering on the paper's 260 questions",
            "",
            "Generated by `python -m fusion.report --replication` from the runs of one sweep; every graded answer "
            "is in `answers.jsonl.gz`, from which `python -m fusion.report --answers answers.jsonl.gz --replication "
            "--regrade judge=rules` rebuilds this report (or grades it with another judge) without a model.",
            "",
            f"- Command: `{command}`",
            f"- Machine: {machine()}",
            f"- Wall time of the whole sweep: {wall}",
            f"- Model: {first.params.get('model.name', '?')} ({', '.join(tags['fusion.model_identity'])})",
            f"- Judge: {', '.join(tags['fusion.judge'])} (rubric {', '.join(rubrics) or '?'}"
            + ("; regraded from the recorded answers" if regraded else "")
            + f"); strict metric = CORRECT and not degenerate; the paper's accuracy = share of prompts with "
            f"composite >= {first.params.get('eval.accuracy_threshold', '0.6')}; token overlap variant "
            f"{first.params.get('eval.overlap', '?')}",
            f"- Prompts: {' or '.join(limits)} of the paper's 260 (data=paper260, offset "
            f"{first.params.get('data.offset', '0')}; the table's prompts column says which); "
            f"max {first.params.get('prompts.max_new_tokens', '?')} new tokens",
            f"- Steering: {steering}",
            f"- Search: Optuna {first.params.get('search.sampler', '?')} sampler, batches of "
            f"{first.params.get('search.batch_size', '?')}, seeds {', '.join(seeds)}; objective "
            f"{' and '.join(objectives)} (fluent: the paper's minus 1 for a degenerate answer)",
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
            "SimpleQA CORRECT 0 / 9.2 / 13.1 %. Of the paper's 42 accurate full-mode answers, its own judge graded 20 "
            "at 2 or lower (docs/method.md).",
            "",
            "## Verdicts",
            "",
            verdicts(summary, pairs or []),
            "",
            "## Did segmented > full > baseline hold?",
            "",
            ordering(summary, pairs),
            "",
            "## Paired statistics",
            "",
            paired_markdown(pairs or []),
            *(
                ["", "Per-question agreement on the paper's accuracy (share of prompts):", "", agreement_table(pairs)]
                if pairs
                else []
            ),
            "",
            "## What these numbers do not say",
            "",
            *limits_of(summary, reps),
            "",
            "## Per seed",
            "",
            seed_table(summary),
            "",
            "Plots: `accuracy.png`, `composite_box.png`, `layer_profiles.png`; numbers: `report.json`; every graded "
            "answer: `answers.jsonl.gz`.",
            "",
        ]
    )
