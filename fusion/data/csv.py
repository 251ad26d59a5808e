"""``data=csv``: a question set of your own as a CSV (or .csv.gz) file with a header row; ``data.columns``
maps its columns to the set's fields (fusion.data.table)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence

import pandas as pd

from fusion.config.schema import DataConfig
from fusion.data.spec import SetSpec
from fusion.data.table import existing_file, rows
from fusion.errors import SetupError
from fusion.records import Prompt


class CsvSet:
    spec = SetSpec("csv", "your own questions in a CSV file (data.path), columns mapped by data.columns")

    def load(self, data: DataConfig) -> Sequence[Prompt]:
        path = existing_file(data, "csv")
        try:
            # every cell as text: default parsing would turn an answer "None" into NaN, "200.00" into 200.0
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, zipfile.BadZipFile) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise SetupError(
                f"data.path={data.path} is not a CSV file ({reason[:120]}): give a UTF-8 .csv or .csv.gz with a header row"
            ) from error
        return rows(frame.to_dict("records"), list(frame.columns), data, f"data file {path}")

    def source(self, data: DataConfig) -> str:
        return str(existing_file(data, "csv"))


QUESTION_SET = CsvSet()
