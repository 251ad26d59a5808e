"""Derive fusion/resources/paper260.json: the SimpleQA row indices of the paper's 260 questions.

The authors answered the first 500 SimpleQA rows and kept the 260 whose baseline was graded
INCORRECT (``incorrect.csv``, column ``prompt``, in file order). Their CSVs carry no row ids, so
each question is matched to SimpleQA's ``problem`` by text: exact match first, then with
whitespace collapsed. A question found in several rows takes the one below 500 (the authors' pool)
and is reported; a question with no row below 500, or more than one, stops the script.

Run once after ``make setup``; only the JSON is committed, not the authors' CSV:

    .venv/bin/python scripts/derive_paper260.py [PAPER_DIR]   # default: ../shared/data/paper
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd

from fusion.data.simpleqa import RESOURCES, load_simpleqa

POOL = 500  # the authors ran SimpleQA rows 0..499
PAPER_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "paper"  # beside the checkout


def normalise(text: str) -> str:
    """Collapse runs of whitespace: spreadsheet round-trips change spacing, not words."""
    return " ".join(text.split())


def derive(questions: list[str]) -> tuple[list[int], list[str]]:
    """Row index of each question, and notes on every match that was not a unique exact one."""
    exact: dict[str, list[int]] = defaultdict(list)
    loose: dict[str, list[int]] = defaultdict(list)
    for prompt in load_simpleqa():
        exact[prompt.question].append(prompt.index)
        loose[normalise(prompt.question)].append(prompt.index)
    indices: list[int] = []
    notes: list[str] = []
    for n, question in enumerate(questions):
        rows, how = exact.get(question, []), "exact"
        if not rows:
            rows, how = loose.get(normalise(question), []), "whitespace-normalised"
            if rows:
                notes.append(f"paper row {n}: matched only after collapsing whitespace -> {rows}")
        in_pool = [i for i in rows if i < POOL]
        if len(in_pool) != 1:
            raise SystemExit(f"paper row {n}: {len(in_pool)} SimpleQA rows < {POOL} match ({how}): {question!r}")
        if len(rows) > 1:
            notes.append(f"paper row {n}: {how} text in SimpleQA rows {rows}; took {in_pool[0]} (< {POOL})")
        indices.append(in_pool[0])
    if len(set(indices)) != len(indices):
        raise SystemExit("two paper questions matched the same SimpleQA row")
    if indices != sorted(indices):
        raise SystemExit("matched rows are not in file order, but the authors kept file order: wrong match")
    return indices, notes


def main(paper_dir: Path) -> None:
    questions = pd.read_csv(paper_dir / "incorrect.csv", dtype=str, keep_default_na=False)["prompt"].tolist()
    indices, notes = derive(questions)
    for note in notes:
        print(note)
    print(f"{len(notes)} ambiguous or inexact matches")
    out = RESOURCES / "paper260.json"
    out.write_text(json.dumps(indices) + "\n")
    print(f"{len(indices)} indices, first {indices[:6]}, last {indices[-1]} -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else PAPER_DIR)
