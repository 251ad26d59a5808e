"""Write the first half (positions 0 .. n/2 - 1) of one searched group's per-question rows as the
``prompts.jsonl`` that ``search.strengths_from`` reads, for the fixed-strength control.

Usage: ``first_half.py SOURCE MODE OUT [MODEL]``. SOURCE is the search job's ``prompts.jsonl``, or
an answers file (``answers.jsonl.gz``, as the replication commits) from which the cached search of
MODE by MODEL (default smollm2_135m, the replication's) with the fluent objective, the gold-answer
target and seed 0 is taken: the committed file also holds the controls' searches (other seeds,
another model).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fusion.errors import SetupError
from fusion.tracking.answers import read_answers


def searched_rows(source: Path, mode: str, model: str = "smollm2_135m") -> list[dict[str, Any]]:
    if not source.name.endswith(".jsonl.gz"):
        return [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    reps = [
        r
        for r in read_answers(source)
        if r.mode == mode
        and r.params.get("model.name") == model
        and r.params.get("search.objective") == "fluent"
        and r.params.get("steering.decoding") == "cached"
        and r.tags.get("fusion.steering_target", "reference") == "reference"
        and r.params.get("search.seed") == "0"
        and not r.tags.get("fusion.fixed_strengths")
    ]
    if len(reps) != 1:
        raise SetupError(
            f"{source}: {len(reps)} cached fluent {mode} searches of {model} with seed 0, need exactly one"
        )
    return reps[0].rows


def main(source: str, mode: str, out: str, model: str = "smollm2_135m") -> None:
    rows = searched_rows(Path(source), mode, model)
    half = [r for r in rows if r["position"] < len(rows) // 2]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("".join(json.dumps(r) + "\n" for r in half))
    print(f"{out}: strengths of {len(half)} of {len(rows)} {mode} questions (positions 0..{len(half) - 1})")


if __name__ == "__main__":
    main(*sys.argv[1:])
