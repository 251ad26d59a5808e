"""``data=jsonl``: a question set of your own as a JSON Lines file (one object per line);
``data.columns`` maps its keys to the set's fields (fusion.data.table)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fusion.config.schema import DataConfig
from fusion.data.spec import SetSpec
from fusion.data.table import existing_file, rows
from fusion.errors import SetupError
from fusion.records import Prompt


def read_jsonl(text: str, where: str) -> list[dict[str, Any]]:
    """The objects of a JSON Lines text (blank lines skipped); one line naming the first bad line."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise SetupError(
                f"{where}: line {number} is not JSON ({error.msg}): write one JSON object per line"
            ) from None
        if not isinstance(record, dict):
            raise SetupError(f"{where}: line {number} is not a JSON object: write one object per line")
        records.append(record)
    return records


class JsonlSet:
    spec = SetSpec("jsonl", "your own questions in a JSON Lines file (data.path), keys mapped by data.columns")

    def load(self, data: DataConfig) -> Sequence[Prompt]:
        path = existing_file(data, "jsonl")
        where = f"data file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise SetupError(f"{where} is not UTF-8 text: give a JSON Lines file") from None
        records = read_jsonl(text, where)
        columns = list(dict.fromkeys(key for record in records for key in record))
        return rows(records, columns, data, where)

    def source(self, data: DataConfig) -> str:
        return str(existing_file(data, "jsonl"))


QUESTION_SET = JsonlSet()
