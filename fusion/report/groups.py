"""Replicates grouped for the report: per model and steering method (and trial budget, target,
kind of steering and objective: :mod:`fusion.report.labels`), its metrics as mean and sd over
replicates (search seeds), as :class:`~fusion.report.summary.GroupSummary` records.

Runs steered toward a shuffled target (tag ``fusion.steering_target=shuffled``) form their own
groups (``full[shuffled]``), and so do exact runs when the runs mix exact and cached steering
(``full[exact]``). Which groups are compared: :mod:`fusion.report.pairs`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from fusion.errors import SetupError
from fusion.evaluate.metrics import GradeMetrics, summary_metrics
from fusion.methods import spec_of_run
from fusion.report.adjudication import HAND, AnswerKey, adjudicated_grade, adjudicated_strict, answer_key
from fusion.report.labels import Labeller, fixed_of, model_of, objective_of, steering_variant
from fusion.report.oracle import is_oracle, reference_of
from fusion.report.stats import Observation
from fusion.report.summary import METRICS, GroupSummary, Metrics, PromptKey, ReplicateSummary, Summary
from fusion.tracking.answers import ANSWER_PREFIXES, Replicate


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


def replicate_grade_metrics(rep: Replicate, verdicts: Mapping[AnswerKey, str]) -> GradeMetrics:
    """The grade's metrics of a replicate's own answers, on the judge's grades adjudicated by the hand
    labels in its rows and their ``verdicts`` (:func:`~fusion.report.adjudication.adjudicated_grade`)."""
    return GradeMetrics.of([adjudicated_grade(row, "", verdicts.get(answer_key(rep, row, ""))) for row in rep.rows])


def _over_replicates(values: Sequence[GradeMetrics]) -> tuple[GradeMetrics, GradeMetrics]:
    """Each grade metric's mean and sd (0.0 for one replicate) over replicates."""
    columns = {f.name: [getattr(v, f.name) for v in values] for f in fields(GradeMetrics)}
    mean = GradeMetrics(**{k: statistics.fmean(v) for k, v in columns.items()})
    sd = GradeMetrics(**{k: statistics.stdev(v) if len(v) > 1 else 0.0 for k, v in columns.items()})
    return mean, sd


def prompt_key(rep: Replicate, row: dict[str, Any]) -> PromptKey:
    """The question a row answers, as the report pairs answers: (question set, question id)."""
    return rep.dataset, rep.qid(row)


def prompt_observations(rep: Replicate) -> dict[PromptKey, Observation]:
    """A replicate's ``(accuracy 0/1, composite, correct and fluent 0/1)`` per prompt (:func:`prompt_key`)."""
    return {
        prompt_key(rep, p): (
            float(p["composite"] >= rep.threshold),
            float(p["composite"]),
            float(adjudicated_strict(p)),
        )
        for p in rep.rows
    }


def summarise(reps: list[Replicate], verdicts: Mapping[AnswerKey, str] | None = None) -> Summary:
    """Per model, mode (and trial budget, target, kind of steering and objective): metrics as mean
    and sd over replicates (search seeds), each replicate being one run or the merged shards of one
    job. Where the runs hold several models, each model's groups are labelled ``model/label`` and
    only compared with each other; every group keeps its ``model`` and its ``local`` label.
    ``verdicts``: the hand labels' verdicts (:func:`fusion.report.adjudication.verdict_index`)."""
    models = sorted({model_of(r) for r in reps})
    out: Summary = {}
    for model in models:
        mine = [r for r in reps if model_of(r) == model]
        labeller = Labeller.of(mine)
        grouped: dict[str, list[Replicate]] = defaultdict(list)
        order = {}
        for rep in mine:
            label, order[label] = labeller.label(rep)
            grouped[label].append(rep)
        for local in sorted(grouped, key=order.__getitem__):
            label = f"{model}/{local}" if len(models) > 1 else local
            out[label] = _group(label, local, model, grouped[local], verdicts or {})
    return out


def _group(
    label: str, local: str, model: str, reps: Sequence[Replicate], verdicts: Mapping[AnswerKey, str]
) -> GroupSummary:
    """One group's record from its replicates."""
    first = reps[0]
    spec = spec_of_run(first.tags)
    searched = spec.steers and not fixed_of(first)
    target, exact = steering_variant(first)
    observations: dict[PromptKey, list[Observation]] = defaultdict(list)
    answers: dict[PromptKey, list[str]] = defaultdict(list)
    per_replicate, replicates = [], []
    answered: dict[int, set[PromptKey]] = defaultdict(set)  # search seed -> prompts answered
    for rep in reps:
        metrics = replicate_metrics(rep)
        per_replicate.append(metrics)
        observed = prompt_observations(rep)
        # the same job twice (answers files of two reruns joined) would count as two seeds
        seed = int(rep.params.get("search.seed", 0))
        if answered[seed] & observed.keys():
            raise SetupError(
                f"{model}/{local}: two replicates with search seed {seed} answered the same "
                f"prompts (runs {', '.join(rep.run_ids)} and another): join answers of different groups or seeds"
            )
        answered[seed] |= observed.keys()
        for question, observation in observed.items():
            observations[question].append(observation)
        for p in rep.rows:
            answers[prompt_key(rep, p)].append(p["answer"])
        replicates.append(_replicate(rep, seed, metrics, replicate_grade_metrics(rep, verdicts)))
    grade_metrics, grade_metrics_sd = _over_replicates([r.grade_metrics for r in replicates if r.grade_metrics])
    means = {k: [m[k] for m in per_replicate if k in m] for k in METRICS}
    return GroupSummary(
        label=label,
        local=local,
        model=model,
        mode=first.mode,
        # what the method is (fusion.methods): the report compares these, never the names
        role=spec.role,
        compare_with=tuple(spec.compare_with),
        paper_rank=spec.paper_rank,
        n_trials=int(first.params.get("search.n_trials", 0)) if searched else 0,
        target=target if spec.role != "baseline" else None,
        exact=exact if spec.steers else None,
        objective=objective_of(first) if searched else None,
        fixed=fixed_of(first),
        variant=local.partition("[")[2].rstrip("]"),
        runs=[r for rep in reps for r in rep.run_ids],
        replicates=replicates,
        segments=first.tags.get("fusion.segments", ""),
        plugin=first.tags.get("fusion.plugin", ""),
        reference=reference_of(first),
        oracle=is_oracle(first),
        n_prompts=int(per_replicate[0].get("n_prompts", 0)),
        mean=Metrics.of({k: statistics.fmean(v) if v else None for k, v in means.items()}),
        sd=Metrics.of({k: statistics.stdev(v) if len(v) > 1 else 0.0 for k, v in means.items()}),
        grade_metrics=grade_metrics,
        grade_metrics_sd=grade_metrics_sd,
        composites=[p["composite"] for rep in reps for p in rep.rows],
        strengths=[p["strengths"] for rep in reps for p in rep.rows],
        params=[p.get("params") or {} for rep in reps for p in rep.rows],
        observations=observations,
        answers=answers,
    )


def _replicate(rep: Replicate, seed: int, metrics: dict[str, float], grades: GradeMetrics) -> ReplicateSummary:
    return ReplicateSummary(
        seed=seed,
        shards=len(rep.run_ids),
        runs=rep.run_ids,
        resumed=rep.tags.get("fusion.resumed") == "true",
        metrics=Metrics.of(metrics),
        n_prompts=metrics.get("n_prompts"),
        wall_seconds=metrics.get("wall_seconds"),
        failed_trials=metrics.get("failed_trials"),
        grade_metrics=grades,
    )
