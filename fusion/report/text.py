"""The report's tables: one row per group (``report.md``), per seed, the paired statistics and the
per-question agreement, and the number formats the report's other texts
(:mod:`fusion.report.verdicts`, :mod:`fusion.report.replication`) share."""

from __future__ import annotations

from fusion.evaluate.grading import GRADE_NAME
from fusion.report.comparison import PairedComparison
from fusion.report.oracle import all_oracle, oracle_statement
from fusion.report.stats import p_value, signed
from fusion.report.summary import GroupSummary, Summary, per_model


def pct(v: float | None, sd: float | None = 0.0) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %" + (f" ± {100 * sd:.1f}" if sd else "")


def num(v: float | None, sd: float | None = 0.0) -> str:
    return "n/a" if v is None else f"{v:.3f}" + (f" ± {sd:.3f}" if sd else "")


ORACLE_LEGEND = "Oracle results: the steering target is built from the gold answer."
LEGEND = (
    "**Correct & fluent** is the strict "
    "metric: the judge says CORRECT and the answer is not degenerate (fusion.evaluate.fluency). **Accuracy** is the "
    "paper's metric, kept for parity; *of which degenerate* counts its accurate answers that are babble "
    "(mean over seeds). ± is the sd over search seeds (replicates) of one group; median and std are means "
    "over replicates. The zero-steering control is the steering prompt answered without hooks, on the same "
    "prompts. Labels name the variant where the groups differ in it: [shuffled] the placebo target, [exact] "
    "exact steering, [fluent] / [paper] the search objective, [fixed-median] / [fixed-median_correct] strengths "
    "fixed in advance by that rule from other questions' searches (no search: trials —). in_context is the "
    "reference text given in the prompt (no steering, no search)."
)


def markdown(summary: Summary) -> str:
    """The results table, one row per group, and its legend."""
    lines = [
        "| mode | trials | seeds | prompts | correct & fluent (strict) | accuracy (paper: composite >= 0.6) "
        "| of which degenerate | composite mean | median | std | overlap mean "
        f"| {GRADE_NAME} correct / incorrect / not attempted | zero-steering control: strict, accuracy, composite mean |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(label, g) for label, g in summary.items()]
    # the legend states how the targets were built, as the runs recorded it (a passage study is no oracle)
    oracle = (
        ORACLE_LEGEND
        if all_oracle(summary)
        else f"Oracle status, as the runs recorded it: {oracle_statement(summary)}."
    )
    return "\n".join([*lines, "", f"{oracle} {LEGEND}"])


def _row(label: str, g: GroupSummary) -> str:
    m, sd = g.mean, g.sd
    grades = " / ".join(pct(v) for v in (m.grade_correct, m.grade_incorrect, m.grade_not_attempted))
    control = (
        "—"
        if g.role == "baseline"
        else (
            f"{pct(m.control_correct_fluent, sd.control_correct_fluent)}, "
            f"{pct(m.control_accuracy, sd.control_accuracy)}, "
            f"{num(m.control_composite_mean, sd.control_composite_mean)}"
        )
    )
    degenerate = m.accurate_degenerate
    return (
        f"| {label} | {g.n_trials or '—'} | {len(g.replicates)} | {g.n_prompts} "
        f"| {pct(m.correct_fluent, sd.correct_fluent)} "
        f"| {pct(m.accuracy, sd.accuracy)} | {'n/a' if degenerate is None else f'{degenerate:.3g}'} "
        f"| {num(m.composite_mean, sd.composite_mean)} "
        f"| {num(m.composite_median)} | {num(m.composite_std)} | {num(m.overlap_mean, sd.overlap_mean)} "
        f"| {grades} | {control} |"
    )


GRADE_METRICS_HEADING = f"## {GRADE_NAME}'s metrics"
GRADE_METRICS_LEGEND = (
    f"{GRADE_NAME}'s own metrics, as its paper reports them (Wei et al. 2024), of each group's answers, on the judge's "
    f"{GRADE_NAME} grade adjudicated by the hand labels where they exist: a strict positive a person read takes the "
    "person's verdict (CORRECT or NOT_ATTEMPTED as labelled; INCORRECT or borderline as incorrect), so these shares "
    "can differ from the judge's column above. Correct, incorrect and not attempted are shares of all questions; "
    "attempted = correct + incorrect; correct given attempted = correct / attempted; F1 is the harmonic mean of "
    "correct and correct given attempted. Means over search seeds, ± their sd. Unlike the strict metric they do not "
    "ask whether an answer is fluent: a degenerate answer graded correct counts as correct."
)


def grade_metrics_markdown(summary: Summary) -> str:
    """The grade's metrics, one table per model (headed by its name where the report holds several), and their legend."""
    models = per_model(summary)
    lines = []
    for model, groups in models.items():
        lines += [f"**{model}**", ""] if len(models) > 1 else []
        lines += [
            "| mode | seeds | prompts | correct | incorrect | not attempted | attempted | correct given attempted | F1 |",
            "|---|---|---|---|---|---|---|---|---|",
            *(_grade_metrics_row(g) for g in groups.values()),
            "",
        ]
    return "\n".join([*lines, GRADE_METRICS_LEGEND])


def _grade_metrics_row(g: GroupSummary) -> str:
    m, sd = g.grade_metrics, g.grade_metrics_sd
    if m is None or sd is None:
        return f"| {g.local} | {len(g.replicates)} | {g.n_prompts} |" + " n/a |" * 6
    shares = ("correct", "incorrect", "not_attempted", "attempted", "correct_given_attempted")
    return (
        f"| {g.local} | {len(g.replicates)} | {g.n_prompts} | "
        + " | ".join(pct(getattr(m, k), getattr(sd, k)) for k in shares)
        + f" | {num(m.f1, sd.f1)} |"
    )


def seed_table(summary: Summary) -> str:
    """One row per replicate (search seed) of every group."""
    lines = [
        "| mode | seed | shards | prompts | correct & fluent | accuracy | composite mean | overlap mean "
        f"| {GRADE_NAME} correct | control accuracy | failed trials | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, g in summary.items():
        # a seed is the search's: the baseline and in_context (role "prompted") search nothing
        for r in g.replicates:
            m = r.metrics
            lines.append(
                f"| {label} | {r.seed if g.steered else '—'} | {r.shards} | {int(r.n_prompts or 0)} "
                f"| {pct(m.correct_fluent)} | {pct(m.accuracy)} | {num(m.composite_mean)} "
                f"| {num(m.overlap_mean)} "
                f"| {pct(m.grade_correct)} | {pct(m.control_accuracy)} "
                f"| {int(r.failed_trials or 0)} | {(r.wall_seconds or 0):.0f}{'*' * r.resumed} |"
            )
    if any(r.resumed for g in summary.values() for r in g.replicates):
        lines += ["", "\\* resumed after an interruption: the wall time of its last attempt only."]
    return "\n".join(lines)


def paired_markdown(pairs: list[PairedComparison]) -> str:
    """The paired statistics as a table, then the rule behind them."""
    if not pairs:
        return "No two groups were measured on the same prompts: no paired statistics."
    level = f"{100 * pairs[0].level:g} %"
    lines = [
        f"| a - b | prompts | seeds a / b | correct & fluent diff (points) [{level} CI] | discordant a / b | exact p (Holm) "
        f"| strict verdict | accuracy diff (points) [{level} CI] | discordant a / b | exact p "
        f"| composite diff [{level} CI] | paper's-metric verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in pairs:
        strict = (
            "n/a | n/a | n/a | not recorded"
            if c.strict_diff is None
            else f"{signed(c.strict_diff, 1)} [{signed(c.strict_ci_low or 0.0, 1)}, {signed(c.strict_ci_high or 0.0, 1)}] "
            f"| {c.strict_b_count} / {c.strict_c_count} | {c.strict_p_text.removeprefix('p = ')} | {c.strict_evidence}"
        )
        lines.append(
            f"| {c.a} - {c.b} | {c.n_prompts} | {c.seeds_a} / {c.seeds_b} | {strict} "
            f"| {signed(c.accuracy_diff, 1)} [{signed(c.accuracy_ci_low, 1)}, {signed(c.accuracy_ci_high, 1)}] "
            f"| {c.b_count} / {c.c_count} | {p_value(c.mcnemar_p).removeprefix('p = ')} "
            f"| {c.composite_diff:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}] | {c.evidence} |"
        )
    lines += ["", PAIRED_RULE.format(resamples=pairs[0].resamples, seed=pairs[0].seed)]
    return "\n".join(lines)


PAIRED_RULE = (
    "Paired over the prompts both groups answered (the prompt is the unit). Per prompt, a group's correct & fluent "
    "(strict), accuracy (composite >= the run's threshold) and composite are averaged over its search seeds. "
    "Differences are a - b of these per-prompt values, averaged over prompts; intervals are percentile bootstraps "
    "resampling prompts ({resamples} resamples, seed {seed}). Discordant a / b count the prompts where a, or b, is "
    "the more often right. The exact p-value tests whether the two groups are the same generator: under that null "
    "the runs of one prompt are exchangeable, so it relabels them within each prompt (exactly, not by sampling). "
    "With one seed per group this is McNemar's exact test; with unequal seed counts it does not favour the group "
    "with more seeds, as a sign test on seed means would. The strict p-values are Holm-adjusted over every strict "
    "comparison in this report (in brackets), and the strict verdict reads the adjusted value: Holm p < 0.05. "
    "Paper's-metric verdict: exact p < 0.05 and/or the composite interval excluding 0 (it says which), unadjusted."
)


def agreement_table(pairs: list[PairedComparison]) -> str:
    """Per-question agreement of each compared pair: shares of prompts both get right, both get
    wrong, or only one of them (several seeds: averaged over the pairings of one seed of each)."""
    lines = ["| a - b | prompts | both accurate | both not | only a | only b |", "|---|---|---|---|---|---|"]
    for c in pairs:
        lines.append(
            f"| {c.a} - {c.b} | {c.n_prompts} | {pct(c.both_accurate)} | {pct(c.both_inaccurate)} "
            f"| {pct(c.only_a)} | {pct(c.only_b)} |"
        )
    return "\n".join(lines)


def seed_spread(summary: Summary) -> str:
    """How much the search seed moves each group searched with several seeds: its per-seed values,
    their sd and range, on the strict metric and the paper's accuracy, beside the group's
    difference from the baseline of its model (what a seed's noise has to be compared with)."""
    out = []
    for label, g in summary.items():
        if not g.steered or len(g.replicates) < 2:
            continue
        parts = []
        for name, key in (("correct & fluent", "correct_fluent"), ("the paper's accuracy", "accuracy")):
            values = [getattr(r.metrics, key) for r in g.replicates]
            if None in values:
                continue
            spread = 100 * (max(values) - min(values))
            parts.append(
                f"{name} {' / '.join(pct(v) for v in values)} (seeds {', '.join(str(r.seed) for r in g.replicates)}; "
                f"mean {pct(getattr(g.mean, key))}, sd {100 * getattr(g.sd, key):.1f} and range {spread:.1f} points)"
            )
        out.append(f"- {label}, {len(g.replicates)} search seeds: " + "; ".join(parts) + _seed_gap(summary, g) + ".")
    return "\n".join(out) or "Every steered group ran one search seed: no spread over seeds to show."


def _seed_gap(summary: Summary, g: GroupSummary) -> str:
    """A group's strict gain over its model's baseline, in points and in seed sds."""
    base = next((b for b in summary.values() if b.role == "baseline" and b.model == g.model), None)
    mine, sd = g.mean.correct_fluent, g.sd.correct_fluent
    if base is None or not sd or base.mean.correct_fluent is None or mine is None:
        return ""
    gain = mine - base.mean.correct_fluent
    return f"; its strict gain over the baseline, {signed(100 * gain, 1)} points, is {abs(gain) / sd:.1f} seed sds"
