"""The report's tables: one row per group (``report.md``) or per seed, and the number formats the
report's other texts (:mod:`fusion.report.verdicts`, :mod:`fusion.report.replication`) share."""

from __future__ import annotations

from typing import Any


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
            if e["role"] == "baseline"
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
            f"| {_pct(e['accuracy'], e['accuracy_sd'])} | {'n/a' if degenerate is None else f'{degenerate:.3g}'} "
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
        "exact steering, [fluent] / [paper] the search objective, [fixed-median] / [fixed-median_correct] strengths "
        "fixed in advance by that rule from other questions' searches (no search: trials —). in_context is the "
        "reference text given in the prompt (no steering, no search)."
    )
    return "\n".join(lines)


def seed_table(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| mode | seed | shards | prompts | correct & fluent | accuracy | composite mean | overlap mean "
        "| SimpleQA correct | control accuracy | failed trials | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, e in summary.items():
        # a seed is the search's: the baseline and in_context (role "prompted") search nothing
        for r in e["replicates"]:
            lines.append(
                f"| {label} | {r['seed'] if e['role'] == 'steered' else '—'} | {r['shards']} | {int(r['n_prompts'] or 0)} "
                f"| {_pct(r.get('correct_fluent'))} | {_pct(r['accuracy'])} | {_num(r['composite_mean'])} "
                f"| {_num(r['overlap_mean'])} "
                f"| {_pct(r['simpleqa_correct'])} | {_pct(r.get('control_accuracy'))} "
                f"| {int(r.get('failed_trials') or 0)} | {(r.get('wall_seconds') or 0):.0f}{'*' * bool(r.get('resumed'))} |"
            )
    if any(r.get("resumed") for e in summary.values() for r in e["replicates"]):
        lines += ["", "\\* resumed after an interruption: the wall time of its last attempt only."]
    return "\n".join(lines)
