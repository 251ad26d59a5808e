"""Finished job runs read from MLflow for the report: which runs it reads, and the shards of one
job merged back into one :class:`~fusion.tracking.answers.Replicate`."""

from __future__ import annotations

import json
from collections import defaultdict

from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from fusion.errors import SetupError
from fusion.tracking.answers import Replicate
from fusion.tracking.runs import read_table


def find_runs(client: MlflowClient, experiment: str, sweep_id: str | None, run_ids: list[str] | None) -> list[Run]:
    if run_ids:
        return [client.get_run(r) for r in run_ids]
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise SetupError(f"no experiment {experiment!r} in this store: pass --experiment or --tracking-uri")
    query = "attributes.status = 'FINISHED' and tags.`fusion.mode` != ''"
    if sweep_id:
        query += f" and tags.`fusion.sweep_id` = '{sweep_id}'"
    runs = client.search_runs([exp.experiment_id], query, order_by=["attributes.start_time ASC"])
    return [r for r in runs if "n_prompts" in r.data.metrics]  # a job's summary marks it complete


# params that say where a run logged, kept its studies or which slice of the data it ran, not what it computed
_NOT_IDENTITY = (
    "tracking.",
    "data.shard",
    "search.study_",
    "search.storage",
    "search.max_batch_rows",
    "search.drop_finished",
    "search.in_place_cache",
    "search.studies_in_memory",
    "model.device",
)


def shard_groups(runs: list[Run]) -> list[list[Run]]:
    """Group runs that differ only in ``data.shard``: the shards of one job, merged as one result."""
    groups: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        params = {k: v for k, v in run.data.params.items() if not k.startswith(_NOT_IDENTITY)}
        groups[json.dumps(params, sort_keys=True)].append(run)
    return [sorted(g, key=lambda r: int(r.data.params.get("data.shard", 0))) for g in groups.values()]


def replicates_from_runs(client: MlflowClient, runs: list[Run]) -> list[Replicate]:
    """One :class:`Replicate` per job: a run, or the merged shards of one job, with its rows."""
    out = []
    for shards in shard_groups(runs):
        rows = sorted(
            (p for r in shards for p in read_table(client, r.info.run_id, "prompts.json")), key=lambda p: p["index"]
        )
        tags = dict(shards[0].data.tags)
        # a resumed run's wall_seconds counts its last attempt only
        tags["fusion.resumed"] = str(any(r.data.tags.get("fusion.resumed") == "true" for r in shards)).lower()
        metrics = {k: sum(r.data.metrics.get(k, 0.0) for r in shards) for k in ("wall_seconds", "failed_trials")}
        out.append(
            Replicate(
                id=shards[0].info.run_id,
                params=dict(shards[0].data.params),
                tags=tags,
                rows=rows,
                run_ids=[r.info.run_id for r in shards],
                start_time=min(r.info.start_time or 0 for r in shards),
                end_time=max(r.info.end_time or 0 for r in shards),
                metrics=metrics,
            )
        )
    return out
