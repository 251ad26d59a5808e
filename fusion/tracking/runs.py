"""MLflow logging: one run per Hydra job, records logged as the run goes.

Per prompt: a row appended to the ``prompts.json`` table and one trace per answer with its
assessments (:mod:`fusion.tracking.traces`); per trial: rows appended to ``trials.json``. A prompt's values
are no metric series: MLflow's runs tables and compare view show a series' last value, which reads
like the run's score though it is only the last prompt's (and the evaluation runs table puts such
series before the summary); the summary metrics are the only metrics. Never one run per trial or
per prompt (thousands of runs make the UI unusable). The prompt set is the run's dataset input (:mod:`fusion.tracking.datasets`).
Summary metrics, the resolved config and plots are logged at the end.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# artifact downloads (resuming a run, reports) would print progress bars into the job console
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from requests.exceptions import RequestException  # noqa: E402

from fusion.config.schema import DataConfig  # noqa: E402
from fusion.records import Prompt  # noqa: E402
from fusion.tracking.datasets import COLUMNS, prompt_dataset, prompt_rows, selection_tags  # noqa: E402
from fusion.tracking.traces import AnswerTrace, delete_prompt_traces, log_answer_traces  # noqa: E402

log = logging.getLogger(__name__)

# what a tracking store that stopped answering raises through MLflow's client
TRACKING_ERRORS = (mlflow.exceptions.MlflowException, RequestException)


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


def ensure_experiment(uri: str, name: str, artifact_location: str | None) -> str:
    """The experiment's id, creating it if it is new (artifacts at ``artifact_location``; None:
    the tracking server's artifact store)."""
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


TABLES = ("prompts.json", "trials.json")
DATASET_TABLE = "dataset.json"  # the rows of the run's dataset input (MLflow keeps only their digest and schema)


def read_table(client: MlflowClient, run_id: str, name: str) -> list[dict[str, Any]]:
    """Rows of a table artifact (MLflow's ``{"columns", "data"}`` format); [] if the run has none."""
    if name not in {a.path for a in client.list_artifacts(run_id)}:
        return []
    data = json.loads(Path(client.download_artifacts(run_id, name)).read_text())
    return [dict(zip(data["columns"], row)) for row in data["data"]]


class Tracker:
    """Owns the job's MLflow run, and continues it when the same job is run again unfinished.

    A job is identified by ``job_key`` (a hash of its resolved config). If the experiment holds a
    run with that key that did not finish (killed, crashed, interrupted), :meth:`start` continues
    it: the records it logged are read back and the pipeline skips those prompts.

    The tables ``prompts.json`` and ``trials.json`` are whole-table artifacts in MLflow's table
    format, rewritten as they grow; ``prompts.json`` is written last for each prompt, so a prompt
    is finished exactly when its row is there. Rows of an unfinished prompt are dropped on resume.
    """

    def __init__(self, uri: str, experiment: str, artifact_location: str | None) -> None:
        # A tracking server that goes away mid-job: MLflow's client retries for minutes by default;
        # a few quick retries ride out a restart, then the job stops with one line (the user's own
        # settings of these variables win).
        for name, value in (
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3"),
            ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
            ("MLFLOW_HTTP_REQUEST_TIMEOUT", "30"),
            # a prompt's traces are awaited before its row is logged: exporting them in the
            # background would buy nothing, and would leave a queue to drain (and announce) at exit
            ("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false"),
        ):
            os.environ.setdefault(name, value)
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # An inherited MLFLOW_RUN_ID would silently redirect our logging into another run.
        os.environ.pop("MLFLOW_RUN_ID", None)
        mlflow.set_tracking_uri(uri)
        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri)
        self.experiment_id = ensure_experiment(uri, experiment, artifact_location)
        self.run: mlflow.ActiveRun | None = None
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        self.resumed = False

    def finished_in_sweep(self, job_key: str, sweep_id: str) -> str | None:
        """The run of this job that finished in this sweep, if any: a multirun into the same sweep
        directory resumes the sweep, so its finished jobs are not run again (a new sweep is a new
        directory, and runs everything)."""
        runs = self.client.search_runs(
            [self.experiment_id],
            f"tags.`fusion.job_key` = '{job_key}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
        )
        # the sweep is compared here, not in the filter: a directory name may hold any character
        return next((r.info.run_id for r in runs if r.data.tags.get("fusion.sweep_id") == sweep_id), None)

    def _unfinished_run(self, job_key: str) -> str | None:
        runs = self.client.search_runs(
            [self.experiment_id],
            f"tags.`fusion.job_key` = '{job_key}' and attributes.status != 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def start(self, run_name: str, tags: Mapping[str, str], params: Mapping[str, str], job_key: str) -> str:
        run_id = self._unfinished_run(job_key)
        if run_id is not None:
            self.resumed = True
            self.run = mlflow.start_run(run_id=run_id)
            self.tables = {name: read_table(self.client, run_id, name) for name in TABLES}
            finished = {row["index"] for row in self.tables["prompts.json"]}
            self.tables["trials.json"] = [t for t in self.tables["trials.json"] if t["index"] in finished]
            mlflow.set_tags({**tags, "fusion.resumed": "true"})
            return run_id
        self.run = mlflow.start_run(
            experiment_id=self.experiment_id, run_name=run_name, tags={**tags, "fusion.job_key": job_key}
        )
        # MLflow's UI shows these artifacts as tables (what mlflow.log_table would record)
        tables = (*TABLES, DATASET_TABLE)
        mlflow.set_tag("mlflow.loggedArtifacts", json.dumps([{"path": t, "type": "table"} for t in tables]))
        items = list(params.items())
        for i in range(0, len(items), 90):  # MLflow takes at most 100 params per batch
            mlflow.log_params(dict(items[i : i + 90]))
        return self.run.info.run_id

    def finished_prompts(self) -> list[dict[str, Any]]:
        """Rows of the prompts this run finished before (empty for a new run)."""
        return list(self.tables["prompts.json"])

    def _write_table(self, name: str) -> None:
        # one whole-table artifact in mlflow.log_table's format (log_table itself only appends,
        # which could not drop the rows of an unfinished prompt on resume)
        rows = self.tables[name]
        columns = list(dict.fromkeys(c for row in rows for c in row))
        mlflow.log_dict({"columns": columns, "data": [[row.get(c) for c in columns] for row in rows]}, name)

    def log_prompt(
        self, record: Mapping[str, Any], trials: Sequence[Mapping[str, Any]], answers: Sequence[AnswerTrace] = ()
    ) -> None:
        """Log one finished prompt: its answers' traces and its trials; its ``prompts.json`` row
        goes last and marks it finished."""
        assert self.run is not None
        run_id = self.run.info.run_id
        if answers:
            if self.resumed:  # an interrupted attempt may have logged some of this prompt's traces
                dropped = delete_prompt_traces(self.client, self.experiment_id, run_id, record["index"])
                if dropped:
                    log.info("prompt %s: deleted %d traces of an interrupted attempt", record["index"], dropped)
            log_answer_traces(self.client, self.experiment_id, run_id, answers)
        self.tables["trials.json"].extend(dict(t) for t in trials)
        self._write_table("trials.json")
        self.tables["prompts.json"].append(dict(record))
        self._write_table("prompts.json")

    def log_dataset(self, data: DataConfig, prompts: Sequence[Prompt]) -> bool:
        """The job's prompts as the run's dataset input (MLflow's Datasets panel: name, source,
        digest, schema, row count) and their rows as the ``dataset.json`` table; once per run, so
        a resumed run that has it logs nothing. True if it was logged now."""
        assert self.run is not None
        dataset = prompt_dataset(data, prompts)
        logged = self.client.get_run(self.run.info.run_id).inputs
        inputs = logged.dataset_inputs if logged is not None else []
        if any((i.dataset.name, i.dataset.digest) == (dataset.name, dataset.digest) for i in inputs):
            return False
        rows = prompt_rows(prompts)
        # the rows first: the input is the mark that both are there
        mlflow.log_dict({"columns": list(COLUMNS), "data": [[r[c] for c in COLUMNS] for r in rows]}, DATASET_TABLE)
        try:
            mlflow.log_input(dataset, context="evaluation", tags=selection_tags(data))
        except mlflow.exceptions.MlflowException:
            # parallel jobs of the same questions (a study's first wave on Ray) create the same
            # dataset: MLflow checks, then inserts, and the later insert fails; now it is there
            mlflow.log_input(dataset, context="evaluation", tags=selection_tags(data))
        return True

    def log_selection(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """The prompt selection (pool, baseline grades, which were kept) as a table and two metrics."""
        columns = list(rows[0])
        mlflow.log_dict({"columns": columns, "data": [[r[c] for c in columns] for r in rows]}, "selection.json")
        mlflow.log_metrics({"selection_pool": len(rows), "selection_kept": sum(bool(r["kept"]) for r in rows)})

    def log_summary(self, metrics: Mapping[str, float]) -> None:
        mlflow.log_metrics(dict(metrics))

    def describe(self, text: str) -> None:
        """The run's description (MLflow's note), shown in the runs list and on the run's page."""
        mlflow.set_tag("mlflow.note.content", text)

    def log_artifact(self, path: Path, subdir: str | None = None) -> None:
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=subdir)
        else:
            mlflow.log_artifact(str(path), artifact_path=subdir)

    def end(self, status: str = "FINISHED") -> None:
        if self.run is not None:
            run, self.run = self.run, None
            try:
                mlflow.end_run(status=status)
            except TRACKING_ERRORS:
                # the store is gone: the run stays RUNNING there, and a rerun resumes it
                log.warning("could not mark run %s %s: the tracking store did not answer", run.info.run_id, status)
