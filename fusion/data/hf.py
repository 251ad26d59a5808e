"""``data=hf``: a Hugging Face dataset as a question set; ``data.columns`` maps its columns to the set's
fields (fusion.data.table), ``data.split`` picks the split.

``data.path`` is a hub id (``org/name``; needs the ``datasets`` package and a network) or a local
folder: one saved by ``datasets``' ``save_to_disk`` (Arrow files beside ``state.json``, or a
``dataset_dict.json`` over one folder per split) or a folder of parquet files (a hub repo's
``data/<split>-00000-of-00001.parquet``). Local folders are read with ``datasets`` where it is
installed, else with pyarrow alone, so fusion needs no dependency for them.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fusion.config.schema import DataConfig
from fusion.data.spec import SetSpec
from fusion.data.table import rows
from fusion.errors import SetupError
from fusion.records import Prompt


def _arrow_folder(folder: Path, split: str) -> Any:
    """A folder saved by ``save_to_disk`` (a Dataset, or a DatasetDict's split), read by pyarrow."""
    import pyarrow as pa

    if (folder / "dataset_dict.json").is_file():
        splits = json.loads((folder / "dataset_dict.json").read_text()).get("splits", [])
        if split not in splits:
            raise SetupError(f"data.split={split}: {folder} holds splits {', '.join(splits)}: pick one of them")
        folder = folder / split
    state = json.loads((folder / "state.json").read_text())
    tables = []
    for entry in state.get("_data_files", []):
        with pa.memory_map(str(folder / entry["filename"])) as source:
            tables.append(pa.ipc.open_stream(source).read_all())
    return pa.concat_tables(tables)


def _parquet_folder(folder: Path, split: str) -> Any:
    import pyarrow.parquet as pq

    files = sorted(folder.rglob("*.parquet"))
    named = [f for f in files if f.name.startswith(split) or f.parent.name == split]
    if not named:
        raise SetupError(
            f"data.path={folder}: no parquet file of split {split} (named {split}-*.parquet or in a folder {split}/): "
            "set data.split, or give a folder saved by datasets"
        )
    import pyarrow as pa

    return pa.concat_tables([pq.read_table(f) for f in named])


def _local(folder: Path, split: str) -> tuple[list[dict[str, Any]], list[str]]:
    saved = (folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file()
    if importlib.util.find_spec("datasets") is not None:
        import datasets

        loaded = datasets.load_from_disk(str(folder)) if saved else datasets.load_dataset(str(folder), split=split)
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise SetupError(f"data.split={split}: {folder} holds splits {', '.join(loaded)}: pick one of them")
            loaded = loaded[split]
        return loaded.to_list(), list(loaded.column_names)
    table = _arrow_folder(folder, split) if saved else _parquet_folder(folder, split)
    return table.to_pylist(), list(table.column_names)


def _hub(name: str, split: str) -> tuple[list[dict[str, Any]], list[str]]:
    if importlib.util.find_spec("datasets") is None:
        raise SetupError(
            f"data.path={name}: a hub dataset needs the datasets package: `pip install datasets`, or give a folder "
            "it saved (save_to_disk) or of parquet files"
        )
    import datasets

    try:
        loaded = datasets.load_dataset(name, split=split)
    except Exception as error:  # noqa: BLE001 - the hub's errors (network, no such id or split) are many types
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise SetupError(f"data.path={name}: datasets could not load split {split} ({reason[:160]})") from error
    return loaded.to_list(), list(loaded.column_names)


class HuggingFaceSet:
    spec = SetSpec("hf", "a Hugging Face dataset (data.path: hub id or saved folder), columns mapped by data.columns")

    def load(self, data: DataConfig) -> Sequence[Prompt]:
        if not data.path:
            raise SetupError(
                "data=hf reads a Hugging Face dataset: set data.path=ORG/NAME or a folder (docs/datasets.md)"
            )
        folder = Path(data.path).expanduser()
        if folder.is_dir():
            records, columns = _local(folder.resolve(), data.split)
        elif folder.exists() or data.path.startswith((".", "/", "~")) or data.path.count("/") > 1:
            raise SetupError(f"data.path={data.path}: no such folder: give a dataset folder or a hub id ORG/NAME")
        else:
            records, columns = _hub(data.path, data.split)
        return rows(records, columns, data, f"dataset {data.path} ({data.split})")

    def source(self, data: DataConfig) -> str:
        folder = Path(data.path or "").expanduser()
        return str(folder.resolve()) if folder.is_dir() else f"https://huggingface.co/datasets/{data.path}"


QUESTION_SET = HuggingFaceSet()
