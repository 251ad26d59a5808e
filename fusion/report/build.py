"""A report of finished runs (from MLflow, or from answers files), built from typed options:
``fusion report`` (fusion/commands/report.py) parses its arguments into :class:`ReportOptions`
and calls :func:`build`.

Reads finished job runs (by experiment, sweep id or run ids: :mod:`fusion.report.runs`), groups
them by steering mode (:mod:`fusion.report.groups`), writes the table (:mod:`fusion.report.text`),
plots and ``report.json``, logs them to a ``report`` run and returns the table. Several runs of one
mode (search seeds) give mean and sd over runs. Groups measured on the same prompts are compared
pairwise; ``report.json`` holds them as ``paired``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fusion.errors import SetupError
from fusion.evaluate.hand_labels import load as load_labels
from fusion.evaluate.judges.factory import judge_from
from fusion.report.adjudication import adjudicate, label_index, tally, verdict_index
from fusion.report.comparison import PairedComparison
from fusion.report.groups import summarise
from fusion.report.hand import hand_label_sections, unread_positives
from fusion.report.oracle import oracle_statement
from fusion.report.pairs import paired
from fusion.report.plots import report_plots
from fusion.report.recovery import recoveries, recovery_section
from fusion.report.replication import Study, replication_report
from fusion.report.summary import Summary
from fusion.report.text import GRADE_METRICS_HEADING, grade_metrics_markdown, markdown, paired_markdown
from fusion.tracking.answers import Replicate, read_answers, regrade, write_answers


@dataclass(frozen=True)
class ReportOptions:
    """What to report and where (``fusion report --help`` says each)."""

    out: Path
    tracking_uri: str = ""
    experiment: str = "fusion"
    sweep_id: str | None = None
    run_ids: list[str] | None = None
    answers: list[Path] | None = None  # answers files instead of MLflow runs
    log: bool = True  # log the report to an MLflow run (never for answers files)
    replication: bool = False  # REPORT.md rather than report.md
    commands: list[str] = field(default_factory=list)
    wall_seconds: list[float] = field(default_factory=list)
    resamples: int = 10_000
    bootstrap_seed: int = 0
    regrade: list[str] | None = None  # Hydra overrides of the judge to grade with again
    labels: Path | None = None  # a hand-labels folder
    machine: str | None = None  # where runs without a fusion.host tag ran

    def __post_init__(self) -> None:
        if self.wall_seconds and len(self.wall_seconds) != max(1, len(self.commands)):
            raise SetupError("--wall-seconds: give one per --command, in the same order")

    def run_name(self) -> str:
        """The report's MLflow run name: what it reports."""
        if self.run_ids:
            shown = ",".join(r[:8] for r in self.run_ids[:3]) + (",..." if len(self.run_ids) > 3 else "")
            return f"report-runs-{shown}"
        return f"report-{self.sweep_id}" if self.sweep_id else f"report-{self.experiment}"


@dataclass(frozen=True)
class Report:
    """A built report: its groups, paired comparisons, the table it prints and the files it wrote."""

    summary: Summary
    pairs: list[PairedComparison]
    table: str
    numbers: dict[str, Any]  # report.json
    written: list[Path]


def replicates(options: ReportOptions) -> list[Replicate]:
    """The replicates to report: from the answers files, or the finished runs in MLflow; the
    machine tag added where a run lacks one, and graded again where asked."""
    if options.answers is not None:
        reps = [rep for path in options.answers for rep in read_answers(path)]
        if len({r.id for r in reps}) < len(reps):
            raise SetupError("--answers: the files share replicates: join files of different runs only")
    else:
        from mlflow.tracking import MlflowClient

        from fusion.report.runs import find_runs, replicates_from_runs

        client = MlflowClient(tracking_uri=options.tracking_uri)
        runs = find_runs(client, options.experiment, options.sweep_id, options.run_ids)
        if not runs:
            raise SetupError("no finished runs match: check --sweep-id / --run-ids / --experiment")
        reps = replicates_from_runs(client, runs)
    if options.machine:
        host = {"fusion.host": options.machine}
        reps = [r if r.tags.get("fusion.host") else dataclasses.replace(r, tags={**r.tags, **host}) for r in reps]
    if options.regrade:
        reps = regrade(reps, judge_from(options.regrade, judge_keys_only=False))
    return reps


def build(options: ReportOptions) -> Report:
    """Read, group, compare and write the report into ``options.out``; log it where asked."""
    reps = replicates(options)
    hand = ""
    if options.labels is not None:
        items = load_labels(options.labels)
        reps, counts = adjudicate(reps, label_index(items, reps))
        summary = summarise(reps, verdict_index(items, reps))
        hand = hand_label_sections(summary, reps, items, counts)
    else:
        summary = summarise(reps)
        counts = tally(reps, {})
    pairs = paired(summary, options.resamples, options.bootstrap_seed)
    options.out.mkdir(parents=True, exist_ok=True)
    table = (
        oracle_statement(summary)
        + "\n\n"
        + markdown(summary)
        + f"\n\n{GRADE_METRICS_HEADING}\n\n"
        + grade_metrics_markdown(summary)
    )
    if pairs:  # a single group (or groups on disjoint prompts) keeps the report as it was
        table += "\n\n## Paired statistics\n\n" + paired_markdown(pairs)
    found = recoveries(summary)
    if found:
        table += "\n\n" + "\n".join(recovery_section(found)).rstrip()
    # one report file name per folder: REPORT.md (which holds the table) for the replication
    if options.replication:
        unread = unread_positives(summary, counts, str(options.labels or ""))
        study = Study(summary, reps, options.commands, options.wall_seconds, pairs, hand, unread, found)
        written = [options.out / "REPORT.md"]
        written[0].write_text(replication_report(study))
        written.append(write_answers(options.out / "answers.jsonl.gz", reps))
    else:
        written = [options.out / "report.md"]
        written[0].write_text(table + "\n")
    plots = report_plots({label: g.plot_entry() for label, g in summary.items()}, options.out)
    numbers: dict[str, Any] = {label: g.to_dict() for label, g in summary.items()}
    if pairs:  # beside the group labels; absent when nothing was compared, as before
        numbers["paired"] = [dataclasses.asdict(c) for c in pairs]
    if found:
        numbers["recovery"] = [dataclasses.asdict(r) for r in found]
    written.append(options.out / "report.json")
    written[-1].write_text(json.dumps(numbers, indent=2) + "\n")
    if options.log and options.answers is None:
        log(options, [*written, *plots])
    return Report(summary, pairs, table, numbers, [*written, *plots])


def log(options: ReportOptions, paths: list[Path]) -> None:
    """The report's files as artifacts of a ``report`` run named after what it reports."""
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(options.tracking_uri)
    experiment = MlflowClient(tracking_uri=options.tracking_uri).get_experiment_by_name(options.experiment)
    with mlflow.start_run(
        experiment_id=experiment.experiment_id if experiment else None,
        run_name=options.run_name(),
        tags={"fusion.kind": "report"},
    ):
        for path in paths:
            mlflow.log_artifact(str(path))
