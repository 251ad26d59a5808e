"""The report's paired comparisons as verdicts: one paragraph per question a report answers, the
headline, and whether the strict gain held on each model. Whether the paper's ordering held:
:mod:`fusion.report.ordering`; the tables: :mod:`fusion.report.text`."""

from __future__ import annotations

from collections.abc import Callable

from fusion.report.comparison import PairedComparison
from fusion.report.stats import ALPHA, p_value, signed
from fusion.report.summary import GroupSummary, Summary, per_model


def _strict_step(pair: PairedComparison) -> str:
    if pair.strict_diff is None:
        return "correct & fluent: not recorded"
    return (
        f"correct & fluent {signed(pair.strict_diff, 1)} points [{signed(pair.strict_ci_low or 0.0, 1)}, "
        f"{signed(pair.strict_ci_high or 0.0, 1)}], exact {pair.strict_p_text}: {pair.strict_evidence}"
    )


def step(pair: PairedComparison) -> str:
    """One comparison as paired tests: the strict metric, then the paper's accuracy and composite."""
    return (
        f"{pair.a} - {pair.b}: {_strict_step(pair)}; paper's accuracy {signed(pair.accuracy_diff, 1)} points "
        f"[{signed(pair.accuracy_ci_low, 1)}, {signed(pair.accuracy_ci_high, 1)}], exact {p_value(pair.mcnemar_p)}, "
        f"composite {signed(pair.composite_diff, 3)} [{signed(pair.ci_low, 3)}, {signed(pair.ci_high, 3)}]: "
        f"{pair.evidence}"
    )


def _declared(a: GroupSummary, b: GroupSummary) -> bool:
    """a is a steered method that declares itself compared with b's (segmented with full), both
    toward the same target (against the placebo is a question of its own)."""
    return a.steered and b.steered and b.mode in a.compare_with and a.target == b.target


EXACT_QUESTION = "Does cached steering differ from exact?"
# the questions a report answers, and which comparisons answer each: (a's group, b's group) -> bool
VERDICT_QUESTIONS: list[tuple[str, Callable[[GroupSummary, GroupSummary], bool]]] = [
    (
        "Does steering beat the unsteered baseline?",
        lambda a, b: b.role == "baseline" and a.steered and a.plain,
    ),
    (
        "Does steering beat giving the model the same reference text in its prompt?",
        lambda a, b: b.role == "prompted" and a.steered,
    ),
    (
        "Does the per-question search beat strengths fixed in advance (chosen on other questions)?",
        lambda a, b: bool(b.fixed) and not a.fixed and a.steered,
    ),
    (
        "Does the reference as a prompt beat the unsteered baseline?",
        lambda a, b: b.role == "baseline" and a.role == "prompted",
    ),
    (
        "Does steering toward the question's own reference beat the placebo (another question's reference)?",
        lambda a, b: b.role != "baseline" and b.target == "shuffled" and a.target == "reference",
    ),
    ("Does {a} beat {b}?", _declared),  # one question per pair of methods
    (
        "Does the fluent objective beat the paper's?",
        lambda a, b: b.role != "baseline" and a.objective == "fluent" and b.objective == "paper",
    ),
    (
        EXACT_QUESTION,
        lambda a, b: b.role != "baseline" and bool(b.exact) and not a.exact,
    ),
]


def same_answers(a: GroupSummary, b: GroupSummary) -> str:
    """How often two groups (cached and exact steering) wrote the very same answer, on the
    questions both answered with one replicate each: the two decodings differ in more than grades."""
    shared = [k for k in a.answers.keys() & b.answers.keys() if len(a.answers[k]) == len(b.answers[k]) == 1]
    if not shared:
        return ""
    same = sum(a.answers[k] == b.answers[k] for k in shared)
    return f"; the same answer text on {same} of {len(shared)} questions"


def verdicts(summary: Summary, pairs: list[PairedComparison]) -> str:
    """One paragraph per question of :data:`VERDICT_QUESTIONS` (a question naming ``{a}`` and
    ``{b}`` is asked once per pair of methods): each comparison that answers it, on the strict
    metric and the paper's, with intervals and p-values."""
    out = []
    for question, answers in VERDICT_QUESTIONS:
        asked: dict[str, list[PairedComparison]] = {}
        for c in pairs:
            a, b = summary[c.a], summary[c.b]
            if answers(a, b):
                asked.setdefault(question.format(a=a.mode, b=b.mode), []).append(c)
        for title, mine in asked.items():
            steps = [
                step(c) + (same_answers(summary[c.a], summary[c.b]) if title == EXACT_QUESTION else "") for c in mine
            ]
            out += [f"**{title}**", "", *(f"- {s}." for s in steps), ""]
    return "\n".join(out).rstrip() or "No two groups were compared."


def headline(summary: Summary, pairs: list[PairedComparison]) -> str:
    """The report's first lines: does any per-question steering search beat the unsteered baseline on
    the strict metric (Holm-adjusted), with each comparison's numbers. Empty without such pairs."""
    mine = [
        c
        for c in pairs
        if summary[c.a].steered and summary[c.a].plain and summary[c.b].role == "baseline" and c.strict_diff is not None
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


def across_models(summary: Summary, pairs: list[PairedComparison]) -> str:
    """Whether the strict gain of steering over the baseline and over the placebo held on each model,
    for the searched groups of the objective that every model ran (so the models are compared like
    for like); empty with one model."""
    parts = per_model(summary)
    if len(parts) < 2:
        return ""
    steered = [g for g in summary.values() if g.steered and g.plain and g.objective]
    shared = set.intersection(*({g.objective for g in steered if g.model == m} for m in parts))
    if len(shared) != 1:
        return ""
    objective = shared.pop()
    out, tested, held = [], [], []
    for model in parts:
        mine = [c for c in pairs if _against_controls(summary[c.a], summary[c.b], model, objective)]
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


def _against_controls(a: GroupSummary, b: GroupSummary, model: str, objective: str | None) -> bool:
    """a is a plain search of ``model`` with ``objective``, b the baseline or the placebo."""
    return (
        a.model == model
        and a.steered
        and a.plain
        and a.objective == objective
        and (b.role == "baseline" or b.target == "shuffled")
    )
