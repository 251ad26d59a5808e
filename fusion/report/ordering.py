"""Whether the paper's ordering held (segmented > full > baseline): on the strict metric and the
paper's accuracy, per model, trial budget and search objective, each step as a paired test."""

from __future__ import annotations

from fusion.report.comparison import PairedComparison
from fusion.report.summary import GroupSummary, Summary, per_model
from fusion.report.text import pct
from fusion.report.verdicts import step


def ordering(summary: Summary, pairs: list[PairedComparison] | None = None) -> str:
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


def _ordering(summary: Summary, pairs: list[PairedComparison] | None) -> list[str]:
    """:func:`ordering` for one model's groups: the methods the paper ranks (their ``paper_rank``,
    e.g. segmented 2 > full 1 > baseline 0), plain groups of one budget and objective."""
    base_label = next((label for label, g in summary.items() if g.role == "baseline"), None)
    plain = {label: g for label, g in summary.items() if g.plain and g.role != "baseline"}
    ranked = {g.paper_rank for g in plain.values() if g.steered and g.paper_rank is not None}
    tested = {(c.a, c.b): c for c in pairs or []}
    split_objective = len({g.objective for g in plain.values()}) > 1
    out: list[str] = []
    for budget, objective in sorted({(g.n_trials, g.objective or "") for g in plain.values()}):
        label_of = {
            g.paper_rank: label
            for label, g in plain.items()
            if g.n_trials == budget and (g.objective or "") == objective and g.steered and g.paper_rank is not None
        }
        if base_label is None or len(ranked) < 2 or set(label_of) != ranked:
            continue
        labels = [base_label, *(label_of[rank] for rank in sorted(label_of))]  # lowest rank first
        what = f"{budget} trials" + (f", {objective} objective" if split_objective else "")
        out += _held([summary[label] for label in labels], what)
        steps = [tested.get((high, low)) for low, high in reversed(list(zip(labels, labels[1:])))]
        out += [f"  - {step(c)}." for c in steps if c is not None]
        strict = [g.mean.correct_fluent for g in (summary[label] for label in labels)]
        held = None not in strict and all(high > low for low, high in zip(strict, strict[1:]))  # type: ignore[operator]
        if held and any(c is not None and c.strict_evidence.startswith("no evidence") for c in steps):
            out.append(
                "  - So on the strict metric it held in the point estimates only: a step without evidence of a "
                "difference may be noise."
            )
    return out


def _held(groups: list[GroupSummary], what: str) -> list[str]:
    """One line: the ranked groups' strict and paper's rates, lowest rank first, and whether each
    ordering held."""
    names = [g.mode for g in groups]
    claim = " > ".join(reversed(names))
    counts = [int(g.n_prompts) for g in groups]
    caveat = (
        ""
        if len(set(counts)) == 1
        else f" (not on the same prompts: {' / '.join(map(str, counts))} prompts, the baseline's are a superset)"
    )
    held_lines = []
    for name, key in (("correct & fluent", "correct_fluent"), ("the paper's accuracy", "accuracy")):
        values = [getattr(g.mean, key) for g in groups]
        if None in values:
            continue  # a study recorded before the strict metric
        held = all(high > low for low, high in zip(values, values[1:]))
        held_lines.append(
            f"{name} {', '.join(f'{n} {pct(float(v))}' for n, v in zip(names, values))}: "
            + (f"{claim} **held**" if held else f"{claim} **did not hold**")
        )
    return [f"- {what}: " + "; ".join(held_lines) + caveat + "."]
