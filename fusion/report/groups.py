"""Replicates grouped for the report: per steering mode, its metrics as mean and sd over replicates
(search seeds), and the pairs of groups it compares.

Runs steered toward a shuffled target (tag ``fusion.steering_target=shuffled``) form their own
groups (``full[shuffled]``), and so do exact runs when the runs mix exact and cached steering
(``full[exact]``). Groups measured on the same prompts are compared pairwise with paired
statistics (:mod:`fusion.report.stats`): segmented vs full, each steered group vs the baseline,
reference vs shuffled target, cached vs exact.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from fusion.errors import SetupError
from fusion.evaluate.metrics import summary_metrics
from fusion.methods import MethodSpec, spec_of_run
from fusion.report.adjudication import HAND, adjudicated_strict
from fusion.report.stats import Observation, PairedComparison, compare_groups, with_holm
from fusion.tracking.answers import ANSWER_PREFIXES, Replicate

# the order of a report's groups: the unsteered baseline, the steered methods (in the paper's
# ordering, then the others), the prompted ones
ROLE_ORDER = {"baseline": 0, "steered": 1, "prompted": 2}
METRICS = (
    "accuracy",
    "correct_fluent",
    "degenerate",
    "accurate_degenerate",
    "composite_mean",
    "composite_median",
    "composite_std",
    "overlap_mean",
    "simpleqa_correct",
    "simpleqa_incorrect",
    "simpleqa_not_attempted",
)
# the zero-steering control and the unsteered baseline, measured on the same prompts in every run
CONTROL_METRICS = (
    "control_accuracy",
    "control_composite_mean",
    "control_correct_fluent",
    "baseline_accuracy",
    "baseline_composite_mean",
    "baseline_correct_fluent",
)


def replicate_metrics(rep: Replicate) -> dict[str, float]:
    """A replicate's summary, recomputed over its rows with the pipeline's own function (so a
    regraded or merged replicate is scored exactly as a job scores itself)."""
    metrics = summary_metrics(rep.rows, rep.threshold)
    metrics.update(rep.metrics)
    if any(f"{prefix}{HAND}" in row for row in rep.rows for prefix in ANSWER_PREFIXES):
        # adjudicated: a judge positive counts only where the hand label confirms it
        for prefix in ANSWER_PREFIXES:
            metrics[f"{prefix}judge_correct_fluent"] = metrics[f"{prefix}correct_fluent"]
            metrics[f"{prefix}correct_fluent"] = sum(adjudicated_strict(r, prefix) for r in rep.rows) / len(rep.rows)
    return metrics


def spec_of(rep: Replicate) -> MethodSpec:
    """The steering method a replicate ran, as its run recorded it."""
    return spec_of_run(rep.tags)


def group_label(mode: str, n_trials: str, budgets: set[str], searched: bool = True) -> str:
    """The method, plus its trial budget when searched runs of that method used several budgets."""
    return mode if not searched or len(budgets) == 1 else f"{mode}@{n_trials}"


def steering_variant(rep: Replicate) -> tuple[str, bool]:
    """``(target, exact)`` of a replicate: runs before these tags existed steered toward the
    reference target, exactly (the default then and now)."""
    tags = rep.tags
    return tags.get("fusion.steering_target", "reference"), tags.get("fusion.steering_exact", "true") == "true"


def fixed_of(rep: Replicate) -> str:
    """How a replicate's fixed strengths were chosen (``fixed-median``, ``fixed-median_correct``,
    ``fixed`` where they were given), or "" for a per-question search."""
    if not rep.tags.get("fusion.fixed_strengths"):
        return ""
    source = rep.params.get("search.strengths_from")
    return f"fixed-{rep.params.get('search.strengths_rule', 'median')}" if source not in (None, "None", "") else "fixed"


def variant_suffix(target: str, exact: bool, split_exact: bool, objective: str = "", fixed: str = "") -> str:
    """``[exact]``, ``[shuffled]``, ``[exact,shuffled,paper]``, ``[fixed-median]`` or nothing: the
    reference target and, unless the runs mix exact and cached steering, either kind of steering
    keep the plain label; ``objective`` is named where the runs mix objectives (empty: they do not)."""
    parts = ["exact"] * (exact and split_exact) + ["shuffled"] * (target == "shuffled") + [fixed] * bool(fixed)
    parts += [objective] * bool(objective)
    return f"[{','.join(parts)}]" if parts else ""


def prompt_observations(
    rows: list[dict[str, Any]], threshold: float, dataset: str
) -> dict[tuple[str, int], Observation]:
    """A replicate's ``(accuracy 0/1, composite, correct and fluent 0/1)`` per prompt, keyed by
    (data set, SimpleQA index): the index alone names different questions in different data sets."""
    return {
        (dataset, int(p["index"])): (
            float(p["composite"] >= threshold),
            float(p["composite"]),
            float(adjudicated_strict(p)),
        )
        for p in rows
    }


def _mean_sd(entry: dict[str, Any], key: str, values: list[float]) -> None:
    entry[key] = statistics.fmean(values) if values else None
    entry[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0


def objective_of(rep: Replicate) -> str:
    """The search objective of a steered replicate; runs logged before it existed used the paper's."""
    return rep.params.get("search.objective", "paper")


def model_of(rep: Replicate) -> str:
    return rep.params.get("model.name", "")


def summarise(reps: list[Replicate]) -> dict[str, dict[str, Any]]:
    """Per model, mode (and trial budget, target, kind of steering and objective): metrics as mean
    and sd over replicates (search seeds), each replicate being one run or the merged shards of one
    job. Where the runs hold several models, each model's groups are labelled ``model/label`` and
    only compared with each other; every entry keeps its ``model`` and its ``local`` label."""
    models = sorted({model_of(r) for r in reps})
    out: dict[str, dict[str, Any]] = {}
    for model in models:
        for label, entry in _summarise_model([r for r in reps if model_of(r) == model]).items():
            out[f"{model}/{label}" if len(models) > 1 else label] = {**entry, "model": model, "local": label}
    return out


def per_model(summary: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """The summary split by model, each part keyed by the full labels (model order as summarised)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for label, entry in summary.items():
        out.setdefault(entry.get("model", ""), {})[label] = entry
    return out


def _summarise_model(reps: list[Replicate]) -> dict[str, dict[str, Any]]:
    budgets: dict[str, set[str]] = defaultdict(set)
    for rep in reps:
        budgets[rep.mode].add(rep.params.get("search.n_trials", ""))
    steered_reps = [r for r in reps if spec_of(r).steers]
    # exact runs (and each objective) get their own groups only when there is another to compare with
    split_exact = len({steering_variant(r)[1] for r in steered_reps}) > 1
    searched_reps = [r for r in steered_reps if not fixed_of(r)]  # a fixed-strength run has no objective
    split_objective = len({objective_of(r) for r in searched_reps}) > 1
    grouped: dict[str, list[Replicate]] = defaultdict(list)
    sort_key: dict[str, tuple[int, int, str, int, bool, bool, str, str]] = {}
    for rep in reps:
        spec, mode = spec_of(rep), rep.mode
        n_trials = rep.params.get("search.n_trials", "")
        # the baseline is not steered: target, kind of steering and objective do not apply to it; a
        # prompted method (the reference as a prompt) has a target but no steering and no search
        target, exact = steering_variant(rep) if spec.role != "baseline" else ("reference", False)
        exact = exact and spec.steers
        fixed = fixed_of(rep)
        objective = objective_of(rep) if spec.steers and split_objective and not fixed else ""
        label = group_label(mode, n_trials, budgets[mode], spec.steers) + variant_suffix(
            target, exact, split_exact, objective, fixed
        )
        grouped[label].append(rep)
        sort_key[label] = (
            ROLE_ORDER[spec.role],
            99 if spec.paper_rank is None else spec.paper_rank,
            mode,
            int(n_trials or 0) if spec.steers else 0,
            exact and split_exact,
            target == "shuffled",
            fixed,
            objective,
        )

    out: dict[str, dict[str, Any]] = {}
    for label in sorted(grouped, key=sort_key.__getitem__):
        first = grouped[label][0]
        spec = spec_of(first)
        steered = spec.steers
        target, exact = steering_variant(first)
        entry: dict[str, Any] = {
            "mode": first.mode,
            # what the method is (fusion.methods): the report compares these, never the names
            "role": spec.role,
            "compare_with": list(spec.compare_with),
            "paper_rank": spec.paper_rank,
            "n_trials": int(first.params.get("search.n_trials", 0)) if steered and not fixed_of(first) else 0,
            "target": target if spec.role != "baseline" else None,
            "exact": exact if steered else None,
            "objective": objective_of(first) if steered and not fixed_of(first) else None,
            "fixed": fixed_of(first),
            "variant": label.partition("[")[2].rstrip("]"),
            "runs": [r for rep in grouped[label] for r in rep.run_ids],
            "replicates": [],
            "composites": [],
            "strengths": [],
            "params": [],
            # (data set, index) -> one (accuracy, composite, correct and fluent) per replicate
            "observations": defaultdict(list),
            # (data set, index) -> the steered answer's text per replicate (cached vs exact: the same?)
            "answers": defaultdict(list),
            "segments": first.tags.get("fusion.segments", ""),
        }
        per_replicate = []
        answered: dict[int, set[tuple[str, int]]] = defaultdict(set)  # search seed -> prompts answered
        for rep in grouped[label]:
            metrics = replicate_metrics(rep)
            per_replicate.append(metrics)
            dataset = rep.params.get("data.name", "")
            observed = prompt_observations(rep.rows, rep.threshold, dataset)
            # the same job twice (answers files of two reruns joined) would count as two seeds
            seed = int(rep.params.get("search.seed", 0))
            if answered[seed] & observed.keys():
                raise SetupError(
                    f"{model_of(first)}/{label}: two replicates with search seed {seed} answered the same "
                    f"prompts (runs {', '.join(rep.run_ids)} and another): join answers of different groups or seeds"
                )
            answered[seed] |= observed.keys()
            for prompt_key, observation in observed.items():
                entry["observations"][prompt_key].append(observation)
            for p in rep.rows:
                entry["answers"][(dataset, int(p["index"]))].append(p["answer"])
            entry["replicates"].append(
                {
                    "seed": seed,
                    "shards": len(rep.run_ids),
                    "runs": rep.run_ids,
                    "resumed": rep.tags.get("fusion.resumed") == "true",
                    **{
                        k: metrics.get(k)
                        for k in (*METRICS, *CONTROL_METRICS, "n_prompts", "wall_seconds", "failed_trials")
                    },
                }
            )
            entry["composites"] += [p["composite"] for p in rep.rows]
            entry["strengths"] += [p["strengths"] for p in rep.rows]
            entry["params"] += [p.get("params") or {} for p in rep.rows]
        entry["n_prompts"] = int(per_replicate[0].get("n_prompts", 0))
        for key in (*METRICS, *CONTROL_METRICS):
            _mean_sd(entry, key, [m[key] for m in per_replicate if key in m])
        out[label] = entry
    return out


# summary keys that hold per-prompt data (plots, paired statistics), not numbers for report.json
PER_PROMPT = ("composites", "strengths", "params", "observations", "answers")


def comparisons(summary: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The pairs of groups to compare, ``(a, b)`` for a - b, within each model (:func:`_comparisons`)."""
    pairs = []
    for part in per_model(summary).values():
        full_label = {e.get("local", label): label for label, e in part.items()}
        local = {e.get("local", label): e for label, e in part.items()}
        pairs += [(full_label[a], full_label[b]) for a, b in _comparisons(local)]
    return pairs


def _comparisons(summary: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The pairs of one model's groups: each steered method against the methods it declares it is
    compared with (segmented vs full; same budget, variant and objective), every steered and
    prompted group vs the baseline, the searches vs fixed strengths and vs the reference given as a
    prompt (same target), reference vs shuffled target (the placebo: of the same method where it ran,
    else of any), cached vs exact, fluent vs paper objective
    (each with everything else the same). Whether they share prompts is checked when they are
    compared. Read from each group's role and declared comparisons, never from a method's name."""
    steered = {label: e for label, e in summary.items() if e["role"] != "baseline"}
    searched = {label: e for label, e in steered.items() if e["role"] == "steered" and not e.get("fixed")}
    by_key = {
        (e["mode"], e["n_trials"], e["target"], e["exact"], e["objective"]): label for label, e in searched.items()
    }
    pairs: list[tuple[str, str]] = []
    for (_, trials, target, exact, objective), label in by_key.items():
        for other in summary[label].get("compare_with", []):
            if against := by_key.get((other, trials, target, exact, objective)):
                pairs.append((label, against))
    pairs += [(label, base) for label in steered for base, e in summary.items() if e["role"] == "baseline"]
    # fixed strengths vs the per-question search of the same method, target and kind of steering (the
    # objective of the search: the one the strengths were chosen with is not recorded, any compares)
    for label, e in steered.items():
        if e.get("fixed"):
            pairs += [
                (other, label)
                for (mode, _, target, exact, _), other in by_key.items()
                if (mode, target, exact) == (e["mode"], e["target"], e["exact"])
            ]
    prompted = {e["target"]: label for label, e in steered.items() if e["role"] == "prompted"}
    for (_, _, target, exact, _), label in by_key.items():
        if not exact and target in prompted:
            pairs.append((label, prompted[target]))
    # each method toward its own question's reference vs the placebo: the same method toward another
    # question's, else (a study runs one placebo) any method toward another question's, same budget
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
    for (mode, trials, target, exact, objective), label in by_key.items():
        if not exact and (other := by_key.get((mode, trials, target, True, objective))):
            pairs.append((label, other))
    for (mode, trials, target, exact, objective), label in by_key.items():
        if objective == "fluent" and (other := by_key.get((mode, trials, target, exact, "paper"))):
            pairs.append((label, other))
    return pairs


def paired(summary: dict[str, dict[str, Any]], resamples: int = 10_000, seed: int = 0) -> list[PairedComparison]:
    """Paired statistics (:func:`fusion.report.stats.compare_groups`) of every pair of
    :func:`comparisons` that shares at least one prompt."""
    out = []
    for a, b in comparisons(summary):
        result = compare_groups(
            a, summary[a]["observations"], b, summary[b]["observations"], resamples=resamples, seed=seed
        )
        if result is not None:
            out.append(result)
    return with_holm(out)
