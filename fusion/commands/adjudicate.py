"""``fusion adjudicate``: export the judge's strict positives that no person has labelled, blind, for hand labels.

The work is :func:`fusion.report.adjudication.export_pending`, imported after parsing; the batch
file it names is what ``fusion label`` reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "export the judge's strict positives that no person has labelled, blind, for hand labels"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fusion adjudicate",
        description="Export the judge's strict positives that no person has labelled yet, blind (question, gold "
        "and answer only, shuffled), as a batch file to label; then `fusion report --labels DIR` uses the labels.",
    )
    p.add_argument(
        "--answers", type=Path, nargs="+", required=True, help="answers files (answers.jsonl.gz, as a report writes)"
    )
    p.add_argument(
        "--labels", type=Path, required=True, help="the hand-labels folder (items.jsonl, key.jsonl, labels.jsonl)"
    )
    p.add_argument(
        "--regrade",
        nargs="+",
        default=None,
        metavar="OVERRIDE",
        help="grade every answer first with the judge these Hydra overrides compose (e.g. judge=rules)",
    )
    p.add_argument("--dry-run", action="store_true", help="only count what would be exported; write nothing")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from fusion.errors import one_line_errors

    with one_line_errors():
        from fusion.report.adjudication import export_pending
        from fusion.tracking.answers import read_answers, regrade

        reps = [rep for path in args.answers for rep in read_answers(path)]
        if args.regrade:
            from fusion.evaluate.judges.factory import judge_from

            reps = regrade(reps, judge_from(args.regrade, judge_keys_only=False))
        done = export_pending(reps, args.labels, dry_run=args.dry_run)
    if done.known:
        print(f"{done.joined} strict positives repeat the text of {done.known} labelled answers: their labels hold"
              + (" (not recorded: --dry-run)" if args.dry_run else ""))  # fmt: skip
    if done.batch is None:
        print(f"{done.todo} strict positives carry no hand label")
    else:
        print(f"{done.todo} answers to label (blind: question, gold, answer): {done.batch}")
        print(f"label them with: fusion label {done.batch} --labeller NAME")
    return 0


if __name__ == "__main__":
    sys.exit(main())
