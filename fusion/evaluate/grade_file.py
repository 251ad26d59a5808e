"""Grading a JSONL file of answers made elsewhere (``fusion grade``): reading and checking the
lines, the judge's strict verdict on each, the output written whole or not at all, and the
summary line. The command line is :mod:`fusion.commands.grade`.

Each input line is a JSON object with ``question``, ``gold`` and ``answer`` (strings) and
optionally ``id`` and ``searched`` (true: a search selected the answer); other keys are carried
through. Each output line is the input plus the judge's grade (key ``GRADE_KEY``), ``quality``, ``rationale``,
``judge`` and ``rubric``, the answer's ``fluency`` and ``degenerate``, and ``strict`` (CORRECT and
not degenerate). Torch-free: only the judge decides what it loads.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fusion.errors import SetupError
from fusion.evaluate.judges.factory import judge_from
from fusion.evaluate.judges.precision import SEARCHED
from fusion.evaluate.strict import StrictGrade, grade_strict
from fusion.records import GradeRequest

REQUIRED = ("question", "gold", "answer")
FIX = "write one JSON object per line with question, gold and answer (strings)"


def _checked(row: object, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise SetupError(f"{where}: a JSON {type(row).__name__}, not an object: {FIX}")
    for key in REQUIRED:
        if key not in row:
            raise SetupError(f"{where}: no {key!r} key: {FIX}")
        if not isinstance(row[key], str):
            raise SetupError(f"{where}: {key!r} is {json.dumps(row[key])[:40]}, not a string: quote it")
    if "id" in row and (isinstance(row["id"], bool) or not isinstance(row["id"], (str, int))):
        raise SetupError(f"{where}: 'id' is {json.dumps(row['id'])[:40]}: make it a string or an integer")
    if "searched" in row and not isinstance(row["searched"], bool):
        raise SetupError(f"{where}: 'searched' is {json.dumps(row['searched'])[:40]}: make it true or false")
    return row


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
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise SetupError(f"{path} line {number}: not JSON ({error.msg} at column {error.colno}): {FIX}") from None
        rows.append(_checked(row, f"{path} line {number}"))
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


def summary(rows: Sequence[dict[str, Any]], graded: Sequence[StrictGrade], searched: bool) -> str:
    """The closing line: counts, the judge, and the strict answers a person should read (those a
    search selected, with the judge's measured precision on such answers)."""
    strict = sum(g.strict for g in graded)
    correct = sum(g.grade.label == "CORRECT" for g in graded)
    grade = graded[0].grade
    line = (
        f"fusion grade: {len(rows)} answers, {strict} strict (CORRECT and fluent), {correct} CORRECT; "
        f"judge {grade.judge}, rubric {grade.rubric}"
    )
    chosen = [g for row, g in zip(rows, graded) if searched or row.get("searched") is True]
    if not chosen:
        return line
    to_read = sum(g.strict for g in chosen)
    measured = SEARCHED.get(grade.rubric)
    trust = measured.describe() if measured else f"the {grade.rubric} judge's precision on them is not measured"
    return (
        f"{line}; {len(chosen)} came from a search: read the {to_read} strict of them by hand, "
        f"since {trust} (docs/judges.md)"
    )


def grade_file(source: Path, out: Path | None, overrides: list[str], searched: bool = False) -> tuple[str, str]:
    """(the graded lines, the summary line) of ``source``; written to ``out`` when given."""
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise SetupError(f"--out {out}: not a file in an existing folder: choose another path")
    rows = read_rows(source)
    judge = judge_from(overrides)  # only judge=... and judge.KEY=...
    graded = grade_strict(judge, [GradeRequest(r["question"], r["gold"], r["answer"]) for r in rows])
    text = "".join(json.dumps({**row, **g.fields()}, ensure_ascii=False) + "\n" for row, g in zip(rows, graded))
    if out is not None:
        write_atomically(out, text)
    return text, summary(rows, graded, searched) + (f" -> {out}" if out is not None else "")
