"""Parallel jobs: the joblib launcher runs a multirun's jobs at once into one MLflow store."""

from __future__ import annotations

import subprocess
import sys

from mlflow.tracking import MlflowClient

from fusion.tracking.runs import read_table
from tests.helpers import PROJECT_ROOT  # noqa: E402


def test_joblib_launcher_runs_jobs_in_parallel_into_one_store(tmp_path):
    store = tmp_path / "mlflow.db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion.run",
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "steering=full,segmented",
            "data=simpleqa",  # by name: the checks read SimpleQA row indices 0, 1
            "data.limit=2",
            "search.n_trials=2",
            "prompts.max_new_tokens=16",
            f"tracking.uri=sqlite:///{store}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    runs = client.search_runs([client.get_experiment_by_name("fusion").experiment_id])
    assert sorted(r.data.tags["fusion.mode"] for r in runs) == ["full", "segmented"]
    first, second = sorted(runs, key=lambda r: r.info.start_time)
    assert second.info.start_time < first.info.end_time, "the two jobs did not overlap in time"
    for run in runs:
        assert run.info.status == "FINISHED"
        tables = {name: read_table(client, run.info.run_id, name) for name in ("prompts.json", "trials.json")}
        assert [p["index"] for p in tables["prompts.json"]] == [0, 1]
        assert sorted((t["index"], t["trial"]) for t in tables["trials.json"]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
