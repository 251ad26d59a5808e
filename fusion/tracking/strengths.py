"""Fixed strengths: one alpha*gamma value per segment, reduced from an earlier job's per-question
bests, so that a later job applies them with no per-question search (the control that separates
the steering from the oracle selection of weights, chosen on other questions)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fusion.config.compose import STRENGTH_RULES
from fusion.errors import SetupError
from fusion.evaluate.grading import GRADE_KEY
from fusion.evaluate.scoring import correct_fluent


def reduce_strengths(rows: Sequence[dict[str, Any]], rule: str) -> list[float]:
    """One value per segment from the rows' chosen strengths: their ``median``, or the median over
    the questions whose answer was correct and fluent (``median_correct``: the strengths that
    worked, where the median of all is mostly the strengths of failures)."""
    if rule not in STRENGTH_RULES:
        raise SetupError(f"search.strengths_rule={rule}: use one of {', '.join(STRENGTH_RULES)}")
    if rule == "median_correct":
        rows = [r for r in rows if correct_fluent(r[GRADE_KEY], r["answer"])]
    if not rows:
        raise SetupError(
            f"search.strengths_rule={rule}: the source job has no {'correct and fluent ' if rule != 'median' else ''}"
            "answers to take strengths from: use search.strengths_rule=median or another run"
        )
    widths = {len(r["strengths"]) for r in rows}
    if len(widths) != 1:
        raise SetupError(f"the source job's rows hold {sorted(widths)} strengths each: take them from one job")
    return [statistics.median(r["strengths"][s] for r in rows) for s in range(widths.pop())]


def source_rows(source: str, tracking_uri: str) -> list[dict[str, Any]]:
    """The per-question rows of a finished job: its ``prompts.jsonl`` (a path), or the
    ``prompts.json`` of its MLflow run (a run id in ``tracking_uri``)."""
    path = Path(source).expanduser()
    if path.is_file():
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri.removeprefix("sqlite:///")).is_file():
        # checked before MLflow would create (and migrate) an empty store just to say the run is missing
        raise SetupError(f"search.strengths_from={source}: no such file, and the store {tracking_uri} has no runs yet")
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from fusion.tracking.runs import read_table

    try:
        rows = read_table(MlflowClient(tracking_uri=tracking_uri), source, "prompts.json")
    except MlflowException as error:
        first = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise SetupError(
            f"search.strengths_from={source}: no such file, and no run of that id in {tracking_uri} ({first})"
        ) from None
    if not rows:
        raise SetupError(f"search.strengths_from={source}: the run has no finished questions (prompts.json)")
    return rows


def fixed_strengths(source: str, rule: str, tracking_uri: str) -> list[float]:
    return reduce_strengths(source_rows(source, tracking_uri), rule)
