"""Derive fusion/resources/paper260.json: the SimpleQA row indices of the paper's 260 questions.

The authors ran the first 500 SimpleQA rows and kept the 260 whose baseline was graded INCORRECT
(``incorrect.csv``, in original order). Each question is matched to its SimpleQA row by text,
among the first 500 rows. Run once: ``python scripts/derive_paper260.py ../shared/data/paper``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from fusion.data import RESOURCES, load_simpleqa

POOL = 500


def normalise(text: str) -> str:
    return " ".join(str(text).split())


def main(paper_dir: Path) -> None:
    questions = pd.read_csv(paper_dir / "incorrect.csv")["prompt"].map(normalise).tolist()
    pool: dict[str, list[int]] = {}
    for prompt in load_simpleqa()[:POOL]:
        pool.setdefault(normalise(prompt.question), []).append(prompt.index)
    indices, used = [], set()
    for question in questions:
        candidates = [i for i in pool.get(question, []) if i not in used]
        if not candidates:
            raise SystemExit(f"no SimpleQA row among the first {POOL} matches: {question!r}")
        indices.append(candidates[0])
        used.add(candidates[0])
    if indices != sorted(indices):
        raise SystemExit("matched indices are not in file order: the match is wrong")
    out = RESOURCES / "paper260.json"
    out.write_text(json.dumps(indices) + "\n")
    print(f"{len(indices)} indices, first {indices[:6]}, last {indices[-1]} -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/paper"))
