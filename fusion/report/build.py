"""Paper-style report from MLflow runs: ``python -m fusion.report [--sweep-id ID | --run-ids ...]``.

Reads finished job runs (by experiment, sweep id or run ids: :mod:`fusion.report.runs`), groups
them by steering mode (:mod:`fusion.report.groups`), writes the table (:mod:`fusion.report.text`),
plots and ``report.json``, logs them to a ``report`` run and prints the table. Several runs of one
mode (search seeds) give mean and sd over runs. Groups measured on the same prompts are compared
pairwise; ``report.json`` holds them as ``paired``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from fusion.errors import SetupError, one_line_errors
from fusion.evaluate.hand_labels import load as load_labels
from fusion.evaluate.judges.factory import judge_from
from fusion.paths import PROJECT_ROOT
from fusion.report.adjudication import adjudicate, hand_label_sections, label_index
from fusion.report.groups import PER_PROMPT, paired, summarise
from fusion.report.plots import report_plots
from fusion.report.replication import replication_report
from fusion.report.runs import find_runs, replicates_from_runs
from fusion.report.text import markdown
from fusion.report.verdicts import paired_markdown
from fusion.tracking.answers import read_answers, regrade, write_answers
from fusion.tracking.stores import default_tracking_uri


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fusion report", description="Paper-style report of Fusion Steering runs")
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
    parser.add_argument(
        "--command",
        action="append",
        default=[],
        help="the command that ran the sweep (for REPORT.md); once per command where the report joins several",
    )
    parser.add_argument(
        "--wall-seconds",
        type=float,
        action="append",
        default=[],
        help="the sweep's wall time for REPORT.md, once per --command (default: first run's start to last run's end)",
    )
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples of the paired statistics")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the paired bootstrap")
    parser.add_argument(
        "--answers",
        type=Path,
        nargs="+",
        default=None,
        help="build the report from answers files (answers.jsonl.gz; several are joined) instead of MLflow "
        "runs; nothing is logged",
    )
    parser.add_argument(
        "--regrade",
        nargs="+",
        default=None,
        metavar="OVERRIDE",
        help="grade every answer again with the judge these Hydra overrides compose (e.g. judge=rules)",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="a hand-labels folder (experiments/hand_labels): strict positives count only where a person "
        "confirmed them, and the report adds the judge's agreement with the labels",
    )
    parser.add_argument(
        "--machine",
        default=None,
        help="where runs recorded without a fusion.host tag ran (e.g. 'AMD EPYC, 2 cores, 24 GiB RAM'): "
        "stored as their tag, so the report states it wherever it is rebuilt",
    )
    args = parser.parse_args(argv)
    with one_line_errors():
        if args.wall_seconds and len(args.wall_seconds) != max(1, len(args.command)):
            raise SetupError("--wall-seconds: give one per --command, in the same order")
        if args.answers is not None:
            reps = [rep for path in args.answers for rep in read_answers(path)]
            if len({r.id for r in reps}) < len(reps):
                raise SetupError("--answers: the files share replicates: join files of different runs only")
        else:
            client = MlflowClient(tracking_uri=args.tracking_uri)
            runs = find_runs(client, args.experiment, args.sweep_id, args.run_ids)
            if not runs:
                raise SetupError("no finished runs match: check --sweep-id / --run-ids / --experiment")
            reps = replicates_from_runs(client, runs)
        if args.machine:
            reps = [
                r if r.tags.get("fusion.host") else dataclasses.replace(r, tags={**r.tags, "fusion.host": args.machine})
                for r in reps
            ]
        if args.regrade:
            reps = regrade(reps, judge_from(args.regrade, judge_keys_only=False))
        hand = ""
        if args.labels is not None:
            items = load_labels(args.labels)
            reps, counts = adjudicate(reps, label_index(items))
        summary = summarise(reps)
        if args.labels is not None:
            hand = hand_label_sections(summary, reps, items, counts)
    pairs = paired(summary, args.resamples, args.bootstrap_seed)
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown(summary)
    if pairs:  # a single group (or groups on disjoint prompts) keeps the report as it was
        table += "\n\n## Paired statistics\n\n" + paired_markdown(pairs)
    # one report file name per folder: REPORT.md (which holds the table) for the replication
    if args.replication:
        written = [args.out / "REPORT.md"]
        written[0].write_text(replication_report(summary, reps, args.command, args.wall_seconds, pairs, hand))
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
