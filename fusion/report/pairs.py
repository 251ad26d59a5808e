"""Which groups of a report are compared, a - b, and their paired statistics: segmented vs full,
each steered group vs the baseline, reference vs shuffled target, cached vs exact, fluent vs the
paper's objective (:mod:`fusion.report.comparison`)."""

from __future__ import annotations

from fusion.report.comparison import PairedComparison, compare_groups, with_holm
from fusion.report.summary import GroupSummary, Summary, per_model

# a searched group's identity within its model: mode, budget, target, exact, objective
SearchKey = tuple[str, int, str | None, bool | None, str | None]


def comparisons(summary: Summary) -> list[tuple[str, str]]:
    """The pairs of groups to compare, ``(a, b)`` for a - b, within each model (:func:`_comparisons`)."""
    pairs = []
    for part in per_model(summary).values():
        full_label = {g.local: label for label, g in part.items()}
        local = {g.local: g for g in part.values()}
        pairs += [(full_label[a], full_label[b]) for a, b in _comparisons(local)]
    return pairs


def _comparisons(summary: Summary) -> list[tuple[str, str]]:
    """The pairs of one model's groups: each steered method against the methods it declares it is
    compared with (segmented vs full; same budget, variant and objective), every steered and
    prompted group vs the baseline, the searches vs fixed strengths and vs the reference given as a
    prompt (same target), reference vs shuffled target (the placebo: of the same method where it ran,
    else of any), cached vs exact, fluent vs paper objective
    (each with everything else the same). Whether they share prompts is checked when they are
    compared. Read from each group's role and declared comparisons, never from a method's name."""
    steered = {label: g for label, g in summary.items() if g.role != "baseline"}
    searched = {label: g for label, g in steered.items() if g.steered and not g.fixed}
    by_key: dict[SearchKey, str] = {
        (g.mode, g.n_trials, g.target, g.exact, g.objective): label for label, g in searched.items()
    }
    pairs: list[tuple[str, str]] = []
    for (_, trials, target, exact, objective), label in by_key.items():
        for other in summary[label].compare_with:
            if against := by_key.get((other, trials, target, exact, objective)):
                pairs.append((label, against))
    pairs += [(label, base) for label in steered for base, g in summary.items() if g.role == "baseline"]
    pairs += _fixed_and_prompted(steered, by_key)
    pairs += _placebos(by_key)
    for (mode, trials, target, exact, objective), label in by_key.items():
        if not exact and (exact_twin := by_key.get((mode, trials, target, True, objective))):
            pairs.append((label, exact_twin))
    for (mode, trials, target, exact, objective), label in by_key.items():
        if objective == "fluent" and (paper := by_key.get((mode, trials, target, exact, "paper"))):
            pairs.append((label, paper))
    return pairs


def _fixed_and_prompted(steered: dict[str, GroupSummary], by_key: dict[SearchKey, str]) -> list[tuple[str, str]]:
    """Each search against fixed strengths of the same method, target and kind of steering (the
    objective of the search: the one the strengths were chosen with is not recorded, any compares),
    then against the reference given as a prompt (same target, cached steering)."""
    pairs = []
    for label, g in steered.items():
        if g.fixed:
            pairs += [
                (other, label)
                for (mode, _, target, exact, _), other in by_key.items()
                if (mode, target, exact) == (g.mode, g.target, g.exact)
            ]
    prompted = {g.target: label for label, g in steered.items() if g.role == "prompted"}
    for (_, _, target, exact, _), label in by_key.items():
        if not exact and target in prompted:
            pairs.append((label, prompted[target]))
    return pairs


def _placebos(by_key: dict[SearchKey, str]) -> list[tuple[str, str]]:
    """Each method toward its own question's reference vs the placebo: the same method toward another
    question's, else (a study runs one placebo) any method toward another question's, same budget."""
    pairs = []
    for (mode, trials, target, exact, objective), label in by_key.items():
        if target != "reference":
            continue
        if same := by_key.get((mode, trials, "shuffled", exact, objective)):
            pairs.append((label, same))
            continue
        pairs += [
            (label, other) for (_, t, tg, ex, ob), other in by_key.items()
            if tg == "shuffled" and (t, ex, ob) == (trials, exact, objective)
        ]  # fmt: skip
    return pairs


def paired(summary: Summary, resamples: int = 10_000, seed: int = 0) -> list[PairedComparison]:
    """Paired statistics (:func:`fusion.report.comparison.compare_groups`) of every pair of
    :func:`comparisons` that shares at least one prompt."""
    out = []
    for a, b in comparisons(summary):
        result = compare_groups(a, summary[a].observations, b, summary[b].observations, resamples=resamples, seed=seed)
        if result is not None:
            out.append(result)
    return with_holm(out)
