"""MLflow logging: one run per Hydra job, records logged as the run goes.

Per prompt: a row appended to the ``prompts.json`` table and per-prompt metrics with
``step = position in the job``; per trial: rows appended to ``trials.json``. Never one run per
trial or per prompt (thousands of runs make the UI unusable). Summary metrics, the resolved config
and plots are logged at the end.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# log_table re-reads its table each time it appends; its download bars would flood the console
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient

from fusion.config import PROJECT_ROOT


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}} -> {"a.b": "1"}``; MLflow params are flat strings (max 6000 chars)."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:6000]
    return flat


def ensure_experiment(uri: str, name: str, artifact_location: str) -> str:
    """The experiment's id, creating it with artifacts next to the store if it is new."""
    client = MlflowClient(tracking_uri=uri)
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location)
    except mlflow.exceptions.MlflowException:
        # another job of the same sweep created it first
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


class Tracker:
    """Owns the job's MLflow run."""

    def __init__(self, uri: str, experiment: str, artifact_location: str) -> None:
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # An inherited MLFLOW_RUN_ID would silently redirect our logging into another run.
        os.environ.pop("MLFLOW_RUN_ID", None)
        mlflow.set_tracking_uri(uri)
        self.uri = uri
        self.experiment_id = ensure_experiment(uri, experiment, artifact_location)
        self.run: mlflow.ActiveRun | None = None

    def start(self, run_name: str, tags: Mapping[str, str], params: Mapping[str, str]) -> str:
        self.run = mlflow.start_run(experiment_id=self.experiment_id, run_name=run_name, tags=dict(tags))
        items = list(params.items())
        for i in range(0, len(items), 90):  # MLflow takes at most 100 params per batch
            mlflow.log_params(dict(items[i : i + 90]))
        return self.run.info.run_id

    def log_prompt(self, step: int, record: Mapping[str, Any], metrics: Mapping[str, float], trials: Sequence[Mapping[str, Any]]) -> None:
        mlflow.log_metrics(dict(metrics), step=step)
        mlflow.log_table(data={k: [v] for k, v in record.items()}, artifact_file="prompts.json")
        if trials:
            columns = list(trials[0])
            mlflow.log_table(data={c: [t[c] for t in trials] for c in columns}, artifact_file="trials.json")

    def log_selection(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """The prompt selection (pool, baseline grades, which were kept) as a table and two metrics."""
        mlflow.log_table(data={c: [r[c] for r in rows] for c in rows[0]}, artifact_file="selection.json")
        mlflow.log_metrics({"selection_pool": len(rows), "selection_kept": sum(bool(r["kept"]) for r in rows)})

    def log_summary(self, metrics: Mapping[str, float]) -> None:
        mlflow.log_metrics(dict(metrics))

    def log_artifact(self, path: Path, subdir: str | None = None) -> None:
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=subdir)
        else:
            mlflow.log_artifact(str(path), artifact_path=subdir)

    def end(self, status: str = "FINISHED") -> None:
        if self.run is not None:
            mlflow.end_run(status=status)
            self.run = None


def environment_tags() -> dict[str, str]:
    import torch
    import transformers

    return {
        "mlflow.source.git.commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
