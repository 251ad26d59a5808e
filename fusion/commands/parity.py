"""``fusion parity DIR``: our scoring and judge against the paper's published files.

Recomputes the paper's composite-score figures from the authors' published result files with our
scoring in the paper's variant, or (``--judges``) sets our rules judge beside the authors' Mistral
grader; how the files are joined is :mod:`fusion.bench.parity`'s. Exit status: 0 when every
accuracy is within 0.5 percentage points of the published one, 1 otherwise, 2 when DIR lacks a file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "our scoring and judge against the paper's published files"
DESCRIPTION = (
    "Parity with the paper: recompute its headline numbers from the authors' published files with our "
    "scoring in the paper's variant (exit 1 when an accuracy is more than 0.5 points off), or set our rules "
    "judge beside the authors' Mistral grades (--judges)."
)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusion parity", description=DESCRIPTION)
    parser.add_argument(
        "dir", type=Path, help="folder with the authors' published CSV files (their public repository's results)"
    )
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument(
        "--judges", action="store_true", help="our rules judge against the authors' Mistral grades (even/odd halves)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from fusion.bench.parity import missing_files

    missing = missing_files(args.dir)
    if missing:
        print(f"fusion parity: {args.dir / missing[0]} is missing (DIR must hold the authors' files)", file=sys.stderr)
        return 2
    return judges(args.dir, args.json) if args.judges else numbers(args.dir, args.json)


def judges(directory: Path, as_json: bool) -> int:
    import json
    from dataclasses import asdict

    from fusion.bench.parity import RULES_RUBRIC, agreement_text, judge_agreement

    table = judge_agreement(directory)
    if as_json:
        data = {half: {g: asdict(a) for g, a in groups.items()} for half, groups in table.items()}
        print(json.dumps({"rubric": RULES_RUBRIC, "agreement": data}, indent=2))
    else:
        print(agreement_text(table))
    return 0


def numbers(directory: Path, as_json: bool) -> int:
    import json

    from fusion.bench.parity import KEYS, METHODS, PUBLISHED, TOLERANCE_PT, failed_methods, paper_numbers

    ours = paper_numbers(directory)
    failed = failed_methods(ours)
    if as_json:
        report = {"ours": ours, "published": PUBLISHED, "tolerance_pt": TOLERANCE_PT, "failed": failed}
        print(json.dumps(report, indent=2))
        return 1 if failed else 0
    print(f"{'method':<10}" + "".join(f"{k:>22}" for k in KEYS))
    for m in METHODS:
        print(f"{m:<10}" + "".join(f"{f'{ours[m][k]:.3f} ({PUBLISHED[m][k]})':>22}" for k in KEYS))
    print(
        "ours (published); composite = 0.5*overlap + 0.5*grade/5; overlap on the whole text, echoed question included"
    )
    for m in METHODS:
        o = ours[m]
        equal = o["overlap_equal_to_authors"]
        agree = "" if equal is None else f", overlap = authors' column for {equal}/{o['n']}"
        print(
            f"{m}: {o['hits']}/{o['n']} accurate, {o['ungraded_prompts']} without a grade (scored 0), "
            f"{o['graded_text_differs']} graded texts differ from the answer{agree}"
        )
    print("accuracy parity: " + ("OK" if not failed else f"FAILED for {', '.join(failed)} (> {TOLERANCE_PT} pt)"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
