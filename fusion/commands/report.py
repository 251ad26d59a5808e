"""``fusion report``: the paper-style report of finished runs, or of an answers file.

Parses its arguments into :class:`fusion.report.build.ReportOptions` and prints the table (or the
numbers as JSON); the report is built by :func:`fusion.report.build.build`, imported after parsing
so that ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "the paper-style report of finished runs, or of an answers file"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fusion report",
        description="Paper-style report of Fusion Steering runs: one group per method (and budget, target, "
        "kind of steering, objective), paired statistics between groups on the same questions.",
    )
    where = p.add_argument_group("what to report")
    where.add_argument(
        "--tracking-uri",
        default=None,
        help="the MLflow store to read the runs from (default: $MLFLOW_TRACKING_URI, else the project's "
        "mlruns/mlflow.db, where `fusion run` logs)",
    )
    where.add_argument("--experiment", default="fusion", help="the MLflow experiment of the runs (default: fusion)")
    where.add_argument("--sweep-id", default=None, help="only runs with this tags.fusion.sweep_id")
    where.add_argument(
        "--run-ids", nargs="*", default=None, metavar="ID", help="these MLflow runs only (default: every finished run)"
    )
    where.add_argument(
        "--answers",
        type=Path,
        nargs="+",
        default=None,
        help="build the report from answers files (answers.jsonl.gz; several are joined) instead of MLflow "
        "runs; nothing is logged",
    )
    where.add_argument(
        "--regrade",
        nargs="+",
        default=None,
        metavar="OVERRIDE",
        help="grade every answer again with the judge these Hydra overrides compose (e.g. judge=rules)",
    )
    where.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="a hand-labels folder (experiments/hand_labels): strict positives count only where a person "
        "confirmed them, and the report adds the judge's agreement with the labels",
    )
    where.add_argument(
        "--changed-from",
        type=Path,
        default=None,
        metavar="ANSWERS",
        help="also list every answer that differs from this answers file's (the same study run another "
        "way: a speed-up must not change answers)",
    )
    _output_options(p.add_argument_group("what to write"))
    return p


def _output_options(out: argparse._ArgumentGroup) -> None:
    out.add_argument(
        "--out",
        type=Path,
        default=Path("reports") / "latest",
        help="the folder to write the report, report.json and the plots into (default: reports/latest under "
        "the current folder)",
    )
    out.add_argument("--json", action="store_true", help="print the numbers as JSON instead of the table")
    out.add_argument("--no-log", action="store_true", help="do not log the report to an MLflow run")
    out.add_argument(
        "--replication",
        action="store_true",
        help="write OUT/REPORT.md: the table with the command, machine, wall time, judge and verdicts, and "
        "OUT/answers.jsonl.gz",
    )
    out.add_argument(
        "--command",
        action="append",
        default=[],
        help="the command that ran the sweep (for REPORT.md); once per command where the report joins several",
    )
    out.add_argument(
        "--wall-seconds",
        type=float,
        action="append",
        default=[],
        help="the sweep's wall time for REPORT.md, once per --command (default: first run's start to last run's end)",
    )
    out.add_argument(
        "--machine",
        default=None,
        help="where runs recorded without a fusion.host tag ran (e.g. 'AMD EPYC, 2 cores, 24 GiB RAM'): "
        "stored as their tag, so the report states it wherever it is rebuilt",
    )
    out.add_argument(
        "--resamples", type=int, default=10_000, help="bootstrap resamples of the paired statistics (default: 10000)"
    )
    out.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the paired bootstrap (default: 0)")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from fusion.errors import one_line_errors

    with one_line_errors():
        from fusion.report.build import ReportOptions, build
        from fusion.tracking.stores import default_tracking_uri

        options = ReportOptions(
            out=args.out,
            tracking_uri=args.tracking_uri or default_tracking_uri(),
            experiment=args.experiment,
            sweep_id=args.sweep_id,
            run_ids=args.run_ids,
            answers=args.answers,
            log=not args.no_log,
            replication=args.replication,
            commands=args.command,
            wall_seconds=args.wall_seconds,
            resamples=args.resamples,
            bootstrap_seed=args.bootstrap_seed,
            regrade=args.regrade,
            labels=args.labels,
            machine=args.machine,
        )
        report = build(options)
        if args.changed_from is not None:
            from fusion.report.build import replicates
            from fusion.report.changes import changes
            from fusion.tracking.answers import read_answers

            changed = changes(read_answers(args.changed_from), replicates(options))
    print(json.dumps(report.numbers, indent=2) if args.json else report.table)
    if args.changed_from is not None:
        print(f"\n## Answers changed from {args.changed_from}\n\n{changed.markdown()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
