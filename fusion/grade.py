"""Grade answers made elsewhere: ``fusion grade IN.jsonl [--out OUT.jsonl] [judge overrides]``.

Each input line is a JSON object with ``question``, ``gold`` and ``answer`` (strings) and
optionally ``id``; other keys are carried through. Each output line is the input plus the judge's
``simpleqa``, ``quality``, ``rationale``, ``judge`` and ``rubric``, the answer's ``fluency`` and
``degenerate``, and ``strict`` (CORRECT and not degenerate). The judge is the job's
(``fusion/conf/judge``, default ``rules``), chosen by the same overrides (``judge=openai
judge.model=...``). Bad input stops with one line naming the line and the fix (exit 2), before
anything is written; ``--out`` is written whole or not at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from fusion.errors import SetupError, one_line_errors
from fusion.evaluate.judges.factory import judge_from
from fusion.evaluate.strict import grade_strict
from fusion.records import GradeRequest

REQUIRED = ("question", "gold", "answer")
FIX = "write one JSON object per line with question, gold and answer (strings)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's two lines become fusion's one
        raise SetupError(f"grade: {message} (fusion grade --help)")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The input lines as objects; SetupError naming the line and the fix for anything else."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SetupError(f"{path}: no such file: give a JSONL file of answers") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SetupError(f"{path}: cannot read ({error}): give a UTF-8 JSONL file of answers") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue  # blank lines (a trailing newline) hold nothing
        where = f"{path} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise SetupError(f"{where}: not JSON ({error.msg} at column {error.colno}): {FIX}") from None
        if not isinstance(row, dict):
            raise SetupError(f"{where}: a JSON {type(row).__name__}, not an object: {FIX}")
        for key in REQUIRED:
            if key not in row:
                raise SetupError(f"{where}: no {key!r} key: {FIX}")
            if not isinstance(row[key], str):
                raise SetupError(f"{where}: {key!r} is {json.dumps(row[key])[:40]}, not a string: quote it")
        if "id" in row and (isinstance(row["id"], bool) or not isinstance(row["id"], (str, int))):
            raise SetupError(f"{where}: 'id' is {json.dumps(row['id'])[:40]}: make it a string or an integer")
        rows.append(row)
    if not rows:
        raise SetupError(f"{path}: no answers (the file is empty): {FIX}")
    return rows


def write_atomically(path: Path, text: str) -> None:
    """``text`` to ``path`` through a temporary file beside it: the whole file or none."""
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise SetupError(
            f"--out {path}: cannot write in {path.parent} ({error.strerror}): choose another path"
        ) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="fusion grade",
        usage="fusion grade IN.jsonl [--out OUT.jsonl] [OVERRIDE ...]",
        description="Grade answers made elsewhere with fusion's judge and strict verdict (docs/judges.md).",
        epilog="Also python -m fusion.grade. Example: fusion grade answers.jsonl --out graded.jsonl judge=rules",
    )
    parser.add_argument(
        "input", metavar="IN.jsonl", type=Path, nargs="?", help="one JSON object per line: question, gold, answer"
    )
    parser.add_argument(
        "--out", type=Path, default=None, metavar="OUT.jsonl", help="write the graded lines here (default: stdout)"
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="OVERRIDE",
        help="the judge, as for fusion run: judge=rules (default), judge=openai judge.model=..., judge=hf",
    )
    with one_line_errors():
        args = parser.parse_intermixed_args(argv)
        if args.input is None:
            raise SetupError("grade: no input file: fusion grade IN.jsonl [--out OUT.jsonl] [judge overrides]")
        if args.out is not None and (args.out.is_dir() or not args.out.parent.is_dir()):
            raise SetupError(f"--out {args.out}: not a file in an existing folder: choose another path")
        rows = read_rows(args.input)
        judge = judge_from(args.overrides)  # only judge=... and judge.KEY=...
        graded = grade_strict(judge, [GradeRequest(r["question"], r["gold"], r["answer"]) for r in rows])
        text = "".join(json.dumps({**row, **g.fields()}, ensure_ascii=False) + "\n" for row, g in zip(rows, graded))
        if args.out is None:
            sys.stdout.write(text)
        else:
            write_atomically(args.out, text)
        strict = sum(g.strict for g in graded)
        correct = sum(g.grade.simpleqa == "CORRECT" for g in graded)
        print(
            f"fusion grade: {len(rows)} answers, {strict} strict (CORRECT and fluent), {correct} CORRECT; "
            f"judge {graded[0].grade.judge}, rubric {graded[0].grade.rubric}"
            + (f" -> {args.out}" if args.out is not None else ""),
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
