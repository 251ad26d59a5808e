"""Paper-style report from MLflow runs: ``python -m fusion.report [--sweep-id ID | --run-ids ...]``.

Reads finished job runs (by experiment, sweep id or run ids), groups them by steering mode, writes
the table (:mod:`fusion.report.text`), plots and ``report.json``, logs them to a ``report`` run and
prints the table. Several runs of one mode (search seeds) give mean and sd over runs.

Runs steered toward a shuffled target (tag ``fusion.steering_target=shuffled``) form their own
groups (``full[shuffled]``), and so do exact runs when the runs mix exact and cached steering
(``full[exact]``). Groups measured on the same prompts are compared pairwise with paired
statistics (:mod:`fusion.report.stats`): segmented vs full, each steered group vs the baseline,
reference vs shuffled target, cached vs exact; ``report.json`` holds them as ``paired``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from fusion.config.compose import compose_job, default_tracking_uri, validate
from fusion.errors import SetupError, one_line_errors
from fusion.evaluate.judges import Judge
from fusion.evaluate.metrics import summary_metrics
from fusion.evaluate.scoring import correct_fluent
from fusion.paths import PROJECT_ROOT
from fusion.report.plots import report_plots
from fusion.report.stats import Observation, PairedComparison, compare_groups
from fusion.report.text import markdown, paired_markdown, replication_report
from fusion.tracking.answers import Replicate, read_answers, regrade, write_answers
from fusion.tracking.runs import read_table

MODES = ("baseline", "full", "segmented")
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


def find_runs(client: MlflowClient, experiment: str, sweep_id: str | None, run_ids: list[str] | None) -> list[Run]:
    if run_ids:
        return [client.get_run(r) for r in run_ids]
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise SetupError(f"no experiment {experiment!r} in this store: pass --experiment or --tracking-uri")
    query = "attributes.status = 'FINISHED' and tags.`fusion.mode` != ''"
    if sweep_id:
        query += f" and tags.`fusion.sweep_id` = '{sweep_id}'"
    runs = client.search_runs([exp.experiment_id], query, order_by=["attributes.start_time ASC"])
    return [r for r in runs if "n_prompts" in r.data.metrics]  # a job's summary marks it complete


# params that say where a run logged, kept its studies or which slice of the data it ran, not what it computed
_NOT_IDENTITY = ("tracking.", "data.shard", "search.study_", "search.storage", "search.max_batch_rows", "model.device")


def shard_groups(runs: list[Run]) -> list[list[Run]]:
    """Group runs that differ only in ``data.shard``: the shards of one job, merged as one result."""
    groups: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        params = {k: v for k, v in run.data.params.items() if not k.startswith(_NOT_IDENTITY)}
        groups[json.dumps(params, sort_keys=True)].append(run)
    return [sorted(g, key=lambda r: int(r.data.params.get("data.shard", 0))) for g in groups.values()]


def replicates_from_runs(client: MlflowClient, runs: list[Run]) -> list[Replicate]:
    """One :class:`Replicate` per job: a run, or the merged shards of one job, with its rows."""
    out = []
    for shards in shard_groups(runs):
        rows = sorted(
            (p for r in shards for p in read_table(client, r.info.run_id, "prompts.json")), key=lambda p: p["index"]
        )
        tags = dict(shards[0].data.tags)
        # a resumed run's wall_seconds counts its last attempt only
        tags["fusion.resumed"] = str(any(r.data.tags.get("fusion.resumed") == "true" for r in shards)).lower()
        metrics = {k: sum(r.data.metrics.get(k, 0.0) for r in shards) for k in ("wall_seconds", "failed_trials")}
        out.append(
            Replicate(
                id=shards[0].info.run_id,
                params=dict(shards[0].data.params),
                tags=tags,
                rows=rows,
                run_ids=[r.info.run_id for r in shards],
                start_time=min(r.info.start_time or 0 for r in shards),
                end_time=max(r.info.end_time or 0 for r in shards),
                metrics=metrics,
            )
        )
    return out


def replicate_metrics(rep: Replicate) -> dict[str, float]:
    """A replicate's summary, recomputed over its rows with the pipeline's own function (so a
    regraded or merged replicate is scored exactly as a job scores itself)."""
    metrics = summary_metrics(rep.rows, rep.threshold)
    metrics.update(rep.metrics)
    return metrics


def group_label(mode: str, n_trials: str, budgets: set[str]) -> str:
    """The mode, plus its trial budget when runs of that mode used several budgets."""
    return mode if mode == "baseline" or len(budgets) == 1 else f"{mode}@{n_trials}"


def steering_variant(rep: Replicate) -> tuple[str, bool]:
    """``(target, exact)`` of a replicate: runs before these tags existed steered toward the
    reference target, exactly (the default then and now)."""
    tags = rep.tags
    return tags.get("fusion.steering_target", "reference"), tags.get("fusion.steering_exact", "true") == "true"


def variant_suffix(target: str, exact: bool, split_exact: bool, objective: str = "") -> str:
    """``[exact]``, ``[shuffled]``, ``[exact,shuffled,paper]`` or nothing: the reference target and,
    unless the runs mix exact and cached steering, either kind of steering keep the plain label;
    ``objective`` is named where the runs mix objectives (empty: they do not)."""
    parts = ["exact"] * (exact and split_exact) + ["shuffled"] * (target == "shuffled") + [objective] * bool(objective)
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
            float(correct_fluent(p["simpleqa"], p["answer"])),
        )
        for p in rows
    }


def _mean_sd(entry: dict[str, Any], key: str, values: list[float]) -> None:
    entry[key] = statistics.fmean(values) if values else None
    entry[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0


def objective_of(rep: Replicate) -> str:
    """The search objective of a steered replicate; runs logged before it existed used the paper's."""
    return rep.params.get("search.objective", "paper")


def summarise(reps: list[Replicate]) -> dict[str, dict[str, Any]]:
    """Per mode (and trial budget, target, kind of steering and objective): metrics as mean and sd
    over replicates (search seeds), each replicate being one run or the merged shards of one job."""
    budgets: dict[str, set[str]] = defaultdict(set)
    for rep in reps:
        budgets[rep.mode].add(rep.params.get("search.n_trials", ""))
    steered_reps = [r for r in reps if r.mode != "baseline"]
    # exact runs (and each objective) get their own groups only when there is another to compare with
    split_exact = len({steering_variant(r)[1] for r in steered_reps}) > 1
    split_objective = len({objective_of(r) for r in steered_reps}) > 1
    grouped: dict[str, list[Replicate]] = defaultdict(list)
    sort_key: dict[str, tuple[int, int, bool, bool, str]] = {}
    for rep in reps:
        mode = rep.mode
        n_trials = rep.params.get("search.n_trials", "")
        # the baseline is not steered: target, kind of steering and objective do not apply to it
        target, exact = steering_variant(rep) if mode != "baseline" else ("reference", False)
        objective = objective_of(rep) if mode != "baseline" and split_objective else ""
        label = group_label(mode, n_trials, budgets[mode]) + variant_suffix(target, exact, split_exact, objective)
        grouped[label].append(rep)
        sort_key[label] = (
            MODES.index(mode) if mode in MODES else 99,
            int(n_trials or 0) if mode != "baseline" else 0,
            exact and split_exact,
            target == "shuffled",
            objective,
        )

    out: dict[str, dict[str, Any]] = {}
    for label in sorted(grouped, key=sort_key.__getitem__):
        first = grouped[label][0]
        steered = first.mode != "baseline"
        target, exact = steering_variant(first)
        entry: dict[str, Any] = {
            "mode": first.mode,
            "n_trials": int(first.params.get("search.n_trials", 0)) if steered else 0,
            "target": target if steered else None,
            "exact": exact if steered else None,
            "objective": objective_of(first) if steered else None,
            "variant": label.partition("[")[2].rstrip("]"),
            "runs": [r for rep in grouped[label] for r in rep.run_ids],
            "replicates": [],
            "composites": [],
            "strengths": [],
            # (data set, index) -> one (accuracy, composite, correct and fluent) per replicate
            "observations": defaultdict(list),
            "segments": first.tags.get("fusion.segments", ""),
        }
        per_replicate = []
        for rep in grouped[label]:
            metrics = replicate_metrics(rep)
            per_replicate.append(metrics)
            observed = prompt_observations(rep.rows, rep.threshold, rep.params.get("data.name", ""))
            for prompt_key, observation in observed.items():
                entry["observations"][prompt_key].append(observation)
            entry["replicates"].append(
                {
                    "seed": int(rep.params.get("search.seed", 0)),
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
        entry["n_prompts"] = int(per_replicate[0].get("n_prompts", 0))
        for key in (*METRICS, *CONTROL_METRICS):
            _mean_sd(entry, key, [m[key] for m in per_replicate if key in m])
        out[label] = entry
    return out


# summary keys that hold per-prompt data (plots, paired statistics), not numbers for report.json
PER_PROMPT = ("composites", "strengths", "observations")


def comparisons(summary: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The pairs of groups to compare, ``(a, b)`` for a - b: segmented vs full (same budget,
    variant and objective), every steered group vs the baseline, reference vs shuffled target,
    cached vs exact, fluent vs paper objective (each with everything else the same). Whether they
    share prompts is checked when they are compared."""
    steered = {label: e for label, e in summary.items() if e["mode"] != "baseline"}
    by_key = {
        (e["mode"], e["n_trials"], e["target"], e["exact"], e["objective"]): label for label, e in steered.items()
    }
    pairs: list[tuple[str, str]] = []
    for (mode, trials, target, exact, objective), label in by_key.items():
        if mode == "segmented" and (full := by_key.get(("full", trials, target, exact, objective))):
            pairs.append((label, full))
    pairs += [(label, "baseline") for label in steered if "baseline" in summary]
    for (mode, trials, target, exact, objective), label in by_key.items():
        if target == "reference" and (other := by_key.get((mode, trials, "shuffled", exact, objective))):
            pairs.append((label, other))
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
    return out


def judge_from(overrides: list[str]) -> Judge:
    """The judge a job composed with ``overrides`` would grade with (``judge=rules``, ``judge=openai
    judge.model=...``): the same composition and checks as ``fusion.run``."""
    from fusion.config.overrides import check_composition, check_overrides
    from fusion.evaluate.judges.factory import make_judge

    check_overrides(overrides)  # a misspelt key or bad value: one line, as in fusion.run
    check_composition(overrides)
    return make_judge(validate(compose_job(overrides)).judge)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Paper-style report of Fusion Steering runs")
    parser.add_argument("--tracking-uri", default=default_tracking_uri())
    parser.add_argument("--experiment", default="fusion")
    parser.add_argument("--sweep-id", default=None, help="only runs with this tags.fusion.sweep_id")
    parser.add_argument("--run-ids", nargs="*", default=None)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports" / "latest")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--no-log", action="store_true", help="do not log the report to MLflow")
    parser.add_argument(
        "--replication",
        action="store_true",
        help="also write OUT/REPORT.md: the table with the command, machine, wall time and judge",
    )
    parser.add_argument("--command", default="", help="the command that ran the sweep (for REPORT.md)")
    parser.add_argument(
        "--wall-seconds",
        type=float,
        default=None,
        help="the sweep's wall time for REPORT.md (default: first run's start to last run's end)",
    )
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples of the paired statistics")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the paired bootstrap")
    parser.add_argument(
        "--answers",
        type=Path,
        default=None,
        help="build the report from an answers file (answers.jsonl.gz) instead of MLflow runs; nothing is logged",
    )
    parser.add_argument(
        "--regrade",
        nargs="+",
        default=None,
        metavar="OVERRIDE",
        help="grade every answer again with the judge these Hydra overrides compose (e.g. judge=rules)",
    )
    args = parser.parse_args(argv)
    with one_line_errors():
        if args.answers is not None:
            reps = read_answers(args.answers)
        else:
            client = MlflowClient(tracking_uri=args.tracking_uri)
            runs = find_runs(client, args.experiment, args.sweep_id, args.run_ids)
            if not runs:
                raise SetupError("no finished runs match: check --sweep-id / --run-ids / --experiment")
            reps = replicates_from_runs(client, runs)
        if args.regrade:
            reps = regrade(reps, judge_from(args.regrade))
    summary = summarise(reps)
    pairs = paired(summary, args.resamples, args.bootstrap_seed)
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown(summary)
    if pairs:  # a single group (or groups on disjoint prompts) keeps the report as it was
        table += "\n\n## Paired statistics\n\n" + paired_markdown(pairs)
    # one report file name per folder: REPORT.md (which holds the table) for the replication
    if args.replication:
        written = [args.out / "REPORT.md"]
        written[0].write_text(replication_report(summary, reps, args.command, args.wall_seconds, pairs))
        written.append(write_answers(args.out / "answers.jsonl.gz", reps))
    else:
        written = [args.out / "report.md"]
        written[0].write_text(table + "\n")
    paths = report_plots(summary, args.out)
    numbers: dict[str, Any] = {m: {k: v for k, v in e.items() if k not in PER_PROMPT} for m, e in summary.items()}
    if pairs:  # beside the group labels; absent when nothing was compared, as before
        numbers["paired"] = [dataclasses.asdict(c) for c in pairs]
    written.append(args.out / "report.json")
    written[-1].write_text(json.dumps(numbers, indent=2) + "\n")
    if not args.no_log and args.answers is None:
        mlflow.set_tracking_uri(args.tracking_uri)
        experiment = MlflowClient(tracking_uri=args.tracking_uri).get_experiment_by_name(args.experiment)
        with mlflow.start_run(
            experiment_id=experiment.experiment_id if experiment else None,
            run_name=f"report-{args.sweep_id or 'all'}",
            tags={"fusion.kind": "report"},
        ):
            for path in [*written, *paths]:
                mlflow.log_artifact(str(path))
    print(json.dumps(numbers, indent=2) if args.json else table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
