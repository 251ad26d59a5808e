"""The report's paired comparisons as text: the verdict paragraphs, whether the paper's ordering
held, and the paired-statistics and agreement tables."""

from __future__ import annotations

from typing import Any

from fusion.report.groups import per_model
from fusion.report.stats import ALPHA, PairedComparison, p_value, signed
from fusion.report.text import _pct


def _strict_step(pair: PairedComparison) -> str:
    if pair.strict_diff is None:
        return "correct & fluent: not recorded"
    return (
        f"correct & fluent {signed(pair.strict_diff, 1)} points [{signed(pair.strict_ci_low or 0.0, 1)}, "
        f"{signed(pair.strict_ci_high or 0.0, 1)}], exact {pair.strict_p_text}: {pair.strict_evidence}"
    )


def _step(pair: PairedComparison) -> str:
    """One comparison as paired tests: the strict metric, then the paper's accuracy and composite."""
    return (
        f"{pair.a} - {pair.b}: {_strict_step(pair)}; paper's accuracy {signed(pair.accuracy_diff, 1)} points "
        f"[{signed(pair.accuracy_ci_low, 1)}, {signed(pair.accuracy_ci_high, 1)}], exact {p_value(pair.mcnemar_p)}, "
        f"composite {signed(pair.composite_diff, 3)} [{signed(pair.ci_low, 3)}, {signed(pair.ci_high, 3)}]: "
        f"{pair.evidence}"
    )


def _plain(entry: dict[str, Any]) -> bool:
    """The reference target, a per-question search, and cached steering where exact runs are a
    group of their own."""
    return not entry.get("fixed") and not ({"shuffled", "exact"} & set(entry["variant"].split(",")))


def ordering(summary: dict[str, dict[str, Any]], pairs: list[PairedComparison] | None = None) -> str:
    """Whether the paper's ordering (segmented > full > baseline) held, on the strict metric and on the
    paper's accuracy, per trial budget and search objective (plain groups only: the reference target,
    and cached steering where exact runs are separate), and each step of it as a paired test where
    ``pairs`` has one."""
    parts = per_model(summary)
    out = []
    for model, part in parts.items():
        lines = _ordering(part, pairs)
        out += [f"- {model}:", *(f"  {line}" for line in lines)] if len(parts) > 1 and lines else lines
    return "\n".join(out) or "- not enough modes to compare."


def _ordering(summary: dict[str, dict[str, Any]], pairs: list[PairedComparison] | None) -> list[str]:
    """:func:`ordering` for one model's groups: the methods the paper ranks (their ``paper_rank``,
    e.g. segmented 2 > full 1 > baseline 0), plain groups of one budget and objective."""
    base_label = next((label for label, e in summary.items() if e["role"] == "baseline"), None)
    plain = {label: e for label, e in summary.items() if _plain(e) and e["role"] != "baseline"}
    ranked = {e["paper_rank"] for e in plain.values() if e["role"] == "steered" and e.get("paper_rank") is not None}
    tested = {(c.a, c.b): c for c in pairs or []}
    split_objective = len({e["objective"] for e in plain.values()}) > 1
    out: list[str] = []
    for budget, objective in sorted({(e["n_trials"], e["objective"] or "") for e in plain.values()}):
        label_of = {
            e["paper_rank"]: label
            for label, e in plain.items()
            if e["n_trials"] == budget
            and (e["objective"] or "") == objective
            and e["role"] == "steered"
            and e.get("paper_rank") is not None
        }
        if base_label is None or len(ranked) < 2 or set(label_of) != ranked:
            continue
        labels = [base_label, *(label_of[rank] for rank in sorted(label_of))]  # lowest rank first
        groups = [summary[label] for label in labels]
        names = [e["mode"] for e in groups]
        claim = " > ".join(reversed(names))
        counts = [int(e["n_prompts"]) for e in groups]
        caveat = (
            ""
            if len(set(counts)) == 1
            else f" (not on the same prompts: {' / '.join(map(str, counts))} prompts, the baseline's are a superset)"
        )
        held_lines = []
        for name, key in (("correct & fluent", "correct_fluent"), ("the paper's accuracy", "accuracy")):
            if any(e.get(key) is None for e in groups):
                continue  # a study recorded before the strict metric
            values = [float(e[key]) for e in groups]
            held = all(high > low for low, high in zip(values, values[1:]))
            held_lines.append(
                f"{name} {', '.join(f'{n} {_pct(v)}' for n, v in zip(names, values))}: "
                + (f"{claim} **held**" if held else f"{claim} **did not hold**")
            )
        what = f"{budget} trials" + (f", {objective} objective" if split_objective else "")
        out.append(f"- {what}: " + "; ".join(held_lines) + caveat + ".")
        steps = [tested.get((high, low)) for low, high in reversed(list(zip(labels, labels[1:])))]
        out += [f"  - {_step(c)}." for c in steps if c is not None]
        strict = [e.get("correct_fluent") for e in groups]
        held = None not in strict and all(high > low for low, high in zip(strict, strict[1:]))  # type: ignore[operator]
        if held and any(c is not None and c.strict_evidence.startswith("no evidence") for c in steps):
            out.append(
                "  - So on the strict metric it held in the point estimates only: a step without evidence of a "
                "difference may be noise."
            )
    return out


def _declared(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """a is a steered method that declares itself compared with b's (segmented with full), both
    toward the same target (against the placebo is a question of its own)."""
    return (
        a["role"] == "steered"
        and b["role"] == "steered"
        and b["mode"] in a.get("compare_with", [])
        and a["target"] == b["target"]
    )


EXACT_QUESTION = "Does cached steering differ from exact?"
# the questions a report answers, and which comparisons answer each: (a's entry, b's entry) -> bool
VERDICT_QUESTIONS: list[tuple[str, Any]] = [
    (
        "Does steering beat the unsteered baseline?",
        lambda a, b: b["role"] == "baseline" and a["role"] == "steered" and _plain(a),
    ),
    (
        "Does steering beat giving the model the same reference text in its prompt?",
        lambda a, b: b["role"] == "prompted" and a["role"] == "steered",
    ),
    (
        "Does the per-question search beat strengths fixed in advance (chosen on other questions)?",
        lambda a, b: bool(b.get("fixed")) and not a.get("fixed") and a["role"] == "steered",
    ),
    (
        "Does the reference as a prompt beat the unsteered baseline?",
        lambda a, b: b["role"] == "baseline" and a["role"] == "prompted",
    ),
    (
        "Does steering toward the question's own reference beat the placebo (another question's reference)?",
        lambda a, b: b["role"] != "baseline" and b["target"] == "shuffled" and a["target"] == "reference",
    ),
    ("Does {a} beat {b}?", _declared),  # one question per pair of methods
    (
        "Does the fluent objective beat the paper's?",
        lambda a, b: b["role"] != "baseline" and a["objective"] == "fluent" and b["objective"] == "paper",
    ),
    (
        EXACT_QUESTION,
        lambda a, b: b["role"] != "baseline" and bool(b["exact"]) and not a["exact"],
    ),
]


def same_answers(a: dict[str, Any], b: dict[str, Any]) -> str:
    """How often two groups (cached and exact steering) wrote the very same answer, on the
    questions both answered with one replicate each: the two decodings differ in more than grades."""
    shared = [k for k in a["answers"].keys() & b["answers"].keys() if len(a["answers"][k]) == len(b["answers"][k]) == 1]
    if not shared:
        return ""
    same = sum(a["answers"][k] == b["answers"][k] for k in shared)
    return f"; the same answer text on {same} of {len(shared)} questions"


def verdicts(summary: dict[str, dict[str, Any]], pairs: list[PairedComparison]) -> str:
    """One paragraph per question of :data:`VERDICT_QUESTIONS` (a question naming ``{a}`` and
    ``{b}`` is asked once per pair of methods): each comparison that answers it, on the strict
    metric and the paper's, with intervals and p-values."""
    out = []
    for question, answers in VERDICT_QUESTIONS:
        asked: dict[str, list[PairedComparison]] = {}
        for c in pairs:
            a, b = summary[c.a], summary[c.b]
            if answers(a, b):
                asked.setdefault(question.format(a=a["mode"], b=b["mode"]), []).append(c)
        for title, mine in asked.items():
            steps = [
                _step(c) + (same_answers(summary[c.a], summary[c.b]) if title == EXACT_QUESTION else "") for c in mine
            ]
            out += [f"**{title}**", "", *(f"- {step}." for step in steps), ""]
    return "\n".join(out).rstrip() or "No two groups were compared."


def headline(summary: dict[str, dict[str, Any]], pairs: list[PairedComparison]) -> str:
    """The report's first lines: does any per-question steering search beat the unsteered baseline on
    the strict metric (Holm-adjusted), with each comparison's numbers. Empty without such pairs."""
    mine = [
        c
        for c in pairs
        if summary[c.a]["role"] == "steered"
        and _plain(summary[c.a])
        and summary[c.b]["role"] == "baseline"
        and c.strict_diff is not None
    ]
    if not mine:
        return ""
    gains = [c for c in mine if _gain(c)]
    steps = "; ".join(
        f"{c.a} {signed(c.strict_diff or 0.0, 1)} points [{signed(c.strict_ci_low or 0.0, 1)}, "
        f"{signed(c.strict_ci_high or 0.0, 1)}], {c.strict_p_text}"
        for c in mine
    )
    if gains:
        return f"**Steering beats the unsteered baseline on the strict metric in {len(gains)} of {len(mine)} comparisons** ({steps})."
    return (
        f"**No steering group beats the unsteered baseline on the strict metric** ({len(mine)} comparisons, "
        f"Holm-adjusted: {steps})."
    )


def _gain(pair: PairedComparison) -> bool:
    """A strict gain: a is right more often than b, McNemar p < 0.05."""
    p = pair.strict_p_holm if pair.strict_p_holm is not None else pair.strict_mcnemar_p
    return bool(pair.strict_diff and pair.strict_diff > 0 and (p or 1.0) < ALPHA)


def across_models(summary: dict[str, dict[str, Any]], pairs: list[PairedComparison]) -> str:
    """Whether the strict gain of steering over the baseline and over the placebo held on each model,
    for the searched groups of the objective that every model ran (so the models are compared like
    for like); empty with one model."""
    parts = per_model(summary)
    if len(parts) < 2:
        return ""
    steered = [e for e in summary.values() if e["role"] == "steered" and _plain(e) and e.get("objective")]
    shared = set.intersection(*({e["objective"] for e in steered if e["model"] == m} for m in parts))
    if len(shared) != 1:
        return ""
    objective = shared.pop()
    out, tested, held = [], [], []
    for model in parts:
        mine = [
            c
            for c in pairs
            if summary[c.a]["model"] == model
            and summary[c.a]["role"] == "steered"
            and _plain(summary[c.a])
            and summary[c.a]["objective"] == objective
            and (summary[c.b]["role"] == "baseline" or summary[c.b]["target"] == "shuffled")
        ]
        if not mine:
            continue
        tested.append(model)
        gains = [c for c in mine if _gain(c)]
        if len(gains) == len(mine):
            held.append(model)
        steps = "; ".join(f"{c.a} - {c.b}: {_strict_step(c)}" for c in mine)
        out.append(f"- {model}: a strict gain in {len(gains)} of {len(mine)} comparisons ({steps}).")
    if not tested:
        return ""
    others = [m for m in tested if m not in held]
    where = (
        f"{', '.join(held)} and not on {', '.join(others)}"
        if held and others
        else ", ".join(held)
        if held
        else f"none of {', '.join(others)}"
    )
    verdict = f"The strict gain over the baseline and the placebo ({objective} objective) held on {where}."
    return "\n".join([*out, "", verdict])


def seed_spread(summary: dict[str, dict[str, Any]]) -> str:
    """How much the search seed moves each group searched with several seeds: its per-seed values,
    their sd and range, on the strict metric and the paper's accuracy, beside the group's
    difference from the baseline of its model (what a seed's noise has to be compared with)."""
    out = []
    for label, e in summary.items():
        reps = e["replicates"]
        if e["role"] != "steered" or len(reps) < 2:
            continue
        parts = []
        for name, key in (("correct & fluent", "correct_fluent"), ("the paper's accuracy", "accuracy")):
            values = [r.get(key) for r in reps]
            if None in values:
                continue
            spread = 100 * (max(values) - min(values))
            parts.append(
                f"{name} {' / '.join(_pct(v) for v in values)} (seeds {', '.join(str(r['seed']) for r in reps)}; "
                f"mean {_pct(e[key])}, sd {100 * e[f'{key}_sd']:.1f} and range {spread:.1f} points)"
            )
        base = next((b for b in summary.values() if b["role"] == "baseline" and b.get("model") == e.get("model")), None)
        gap = (
            f"; its strict gain over the baseline, {signed(100 * (e['correct_fluent'] - base['correct_fluent']), 1)} "
            f"points, is {abs(e['correct_fluent'] - base['correct_fluent']) / e['correct_fluent_sd']:.1f} seed sds"
            if base is not None and e.get("correct_fluent_sd") and base.get("correct_fluent") is not None
            else ""
        )
        out.append(f"- {label}, {len(reps)} search seeds: " + "; ".join(parts) + gap + ".")
    return "\n".join(out) or "Every steered group ran one search seed: no spread over seeds to show."


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
            f"| {c.a} - {c.b} | {c.n_prompts} | {_pct(c.both_accurate)} | {_pct(c.both_inaccurate)} "
            f"| {_pct(c.only_a)} | {_pct(c.only_b)} |"
        )
    return "\n".join(lines)
