"""``fusion grade``: grade answers made elsewhere (JSONL: question, gold, answer) with the judge.

Only the command line lives here; the grading is :mod:`fusion.evaluate.grade_file`. Bad input
stops with one line naming the line and the fix (exit 2), before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

HELP = "grade answers made elsewhere (JSONL: question, gold, answer) with the judge"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's two lines become fusion's one
        from fusion.errors import SetupError

        raise SetupError(f"grade: {message} (fusion grade --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="fusion grade",
        usage="fusion grade IN.jsonl [--out OUT.jsonl] [--searched] [OVERRIDE ...]",
        description="Grade answers made elsewhere with fusion's judge and strict verdict (docs/judges.md).",
        epilog="Example: fusion grade answers.jsonl --out graded.jsonl judge=rules",
    )
    p.add_argument(
        "input",
        metavar="IN.jsonl",
        type=Path,
        nargs="?",
        help="one JSON object per line: question, gold, answer (strings); optional id, and searched (true: a "
        "search selected the answer); other keys are carried through",
    )
    p.add_argument(
        "--out", type=Path, default=None, metavar="OUT.jsonl", help="write the graded lines here (default: stdout)"
    )
    p.add_argument(
        "--searched",
        action="store_true",
        help="every answer was selected by a search (steered answers): the summary says how many strict "
        "answers to read by hand, with the judge's measured precision on such answers",
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="OVERRIDE",
        help="the judge, as for fusion run: judge=rules (default), judge=openai judge.model=..., judge=hf, "
        "judge=plugin judge.plugin=package.module:NAME",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    from fusion.errors import SetupError, one_line_errors

    with one_line_errors():
        args = parser().parse_intermixed_args(argv)
        if args.input is None:
            raise SetupError("grade: no input file: fusion grade IN.jsonl [--out OUT.jsonl] [judge overrides]")
        from fusion.evaluate.grade_file import grade_file

        text, line = grade_file(args.input, args.out, args.overrides, args.searched)
        if args.out is None:
            sys.stdout.write(text)
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
