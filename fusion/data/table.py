"""A user's question set as a table (CSV, JSONL, a Hugging Face dataset) and ``data.columns``, its
mapping from the set's fields to the table's columns: no code needed.

Each row becomes a :class:`~fusion.records.Prompt` whose ``index`` is its row number (0-based, file
order) and whose ``qid`` is the ``id`` column where one is mapped. Cells are kept verbatim (an
answer "None" or "200.00" stays that text); a row without a question or a gold answer, an id given
twice, or a mapping that names a column the table lacks fails in one line naming the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fusion.config.schema import DataConfig
from fusion.errors import SetupError
from fusion.records import Prompt

FIELDS = ("question", "gold", "id", "passage", "topic")
REQUIRED = ("question", "gold")


def mapping(data: DataConfig, where: str, columns: Sequence[str]) -> dict[str, str]:
    """``data.columns`` checked against the set's fields and the table's ``columns``."""
    chosen = {str(k): str(v) for k, v in data.columns.items() if v is not None}
    unknown = sorted(set(chosen) - set(FIELDS))
    if unknown:
        raise SetupError(f"data.columns.{unknown[0]}: not a field of a question set: map {', '.join(FIELDS)}")
    for name in REQUIRED:
        if name not in chosen:
            raise SetupError(f"data.columns.{name}: not set: name the column of {where} that holds it")
    for name, column in chosen.items():
        if column not in columns:
            raise SetupError(
                f"data.columns.{name}={column}: {where} has no such column (its columns: "
                f"{', '.join(map(str, columns))[:200]}): fix the mapping"
            )
    return chosen


def _text(value: Any) -> str:
    return "" if value is None or value != value else str(value)  # None and NaN are empty cells


def rows(records: Iterable[Mapping[str, Any]], columns: Sequence[str], data: DataConfig, where: str) -> list[Prompt]:
    """Every record as a prompt, in order; ``columns``: the table's column names."""
    chosen = mapping(data, where, columns)
    prompts, seen = [], set()
    for index, record in enumerate(records):
        cell = {name: _text(record.get(column)) for name, column in chosen.items()}
        for name in REQUIRED:
            if not cell[name].strip():
                raise SetupError(
                    f"{where}: row {index} has no {name} (column {chosen[name]}): fill it in or drop the row"
                )
        qid = cell.get("id", "")
        if "id" in chosen and (not qid.strip() or qid in seen):
            problem = "no id" if not qid.strip() else f"the id {qid!r} of an earlier row"
            raise SetupError(f"{where}: row {index} has {problem} (column {chosen['id']}): give every row its own id")
        seen.add(qid)
        passage = cell.get("passage")
        prompts.append(
            Prompt(index, cell["question"], cell["gold"], cell.get("topic", ""), qid, passage if passage else None)
        )
    if not prompts:
        raise SetupError(f"{where} holds no rows: give it a header and at least one question")
    return prompts


def existing_file(data: DataConfig, kind: str) -> Path:
    """``data.path`` of a user's file, which must be there."""
    if not data.path:
        raise SetupError(f"data={kind} reads a file of yours: set data.path=FILE (see docs/datasets.md)")
    path = Path(data.path).expanduser().resolve()
    if not path.is_file():
        raise SetupError(f"data.path={data.path}: no such file {path}: give the path of your {kind} file")
    return path
