"""Scale-out on Ray: the shards of one job run as Ray tasks (hydra/launcher=ray_cluster) on a real
local Ray cluster and log into a real MLflow tracking server; the report merges the shards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from fusion.tracking.runs import read_table
from tests.e2e.servers import BIN, free_ports, start_mlflow_server, stop, wait_for
from tests.helpers import PROJECT_ROOT

# Set for `ray start` and for the launching process. Ray replaces 127.0.0.1 by the machine's
# outward address (and its servers listen on every interface) unless multi-node clusters are
# switched off: then head, workers and driver stay on loopback. Token auth off explicitly: with a
# ~/.ray/auth_token (any local ray.init() writes one) `ray start` enables it, but a driver that
# connects by address does not send the token unless RAY_AUTH_MODE=token.
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}


@dataclass
class Services:
    ray_address: str
    tracking_uri: str
    artifacts: Path


@pytest.fixture
def services(tmp_path) -> Iterator[Services]:
    """A Ray head (2 CPUs) and an MLflow tracking server, both on loopback, started together and
    always stopped (by their own process groups and the head's temp dir), even on failure."""
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's unix sockets live under it
    gcs, client, node, objects, agent, agent_grpc, env_agent, metrics, dash, dash_metrics, scaler, ml = free_ports(12)
    head_log, ml_log = tmp_path / "ray_head.log", tmp_path / "mlflow_server.log"
    started: list[tuple[subprocess.Popen, str | None]] = []
    try:
        with head_log.open("w") as out:
            head = subprocess.Popen(
                [
                    str(BIN / "ray"),
                    "start",
                    "--head",
                    "--block",
                    "--node-ip-address=127.0.0.1",
                    f"--port={gcs}",
                    f"--ray-client-server-port={client}",
                    f"--node-manager-port={node}",
                    f"--object-manager-port={objects}",
                    f"--dashboard-agent-listen-port={agent}",
                    f"--dashboard-agent-grpc-port={agent_grpc}",
                    f"--runtime-env-agent-port={env_agent}",
                    f"--metrics-export-port={metrics}",
                    f"--dashboard-port={dash}",
                    "--num-cpus=2",
                    "--include-dashboard=false",
                    "--disable-usage-stats",
                    f"--temp-dir={temp_dir}",
                ],
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={
                    **os.environ,
                    **RAY_ENV,
                    "DASHBOARD_METRIC_PORT": str(dash_metrics),
                    "AUTOSCALER_METRIC_PORT": str(scaler),
                },
            )
        started.append((head, temp_dir))
        server = start_mlflow_server(tmp_path, ml, ml_log)
        started.append((server, None))
        wait_for(lambda: "Ray runtime started" in head_log.read_text(), head, head_log, "ray head")
        yield Services(f"127.0.0.1:{gcs}", f"http://127.0.0.1:{ml}", tmp_path / "artifacts")
    finally:
        for proc, marker in reversed(started):
            stop(proc, marker)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_sharded_multirun_on_ray_logs_every_shard_to_the_tracking_server(services, tmp_path):
    optuna_db = f"sqlite:///{tmp_path / 'optuna.db'}"  # one shared study database, as across machines
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion.run",
            "-m",
            "hydra/launcher=ray_cluster",
            f"hydra.launcher.ray.init.address={services.ray_address}",
            "data=simpleqa",  # by name: the shards hold SimpleQA rows 0 and 1
            "data.num_shards=2",
            "data.shard=0,1",
            "data.limit=2",
            "search.n_trials=2",
            "prompts.max_new_tokens=8",
            f"tracking.uri={services.tracking_uri}",
            "search.study_storage=url",
            f"search.study_url={optuna_db}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **RAY_ENV},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "(_run_job pid=" in output, "the jobs did not run as Ray tasks"

    client = MlflowClient(tracking_uri=services.tracking_uri)
    experiment = client.get_experiment_by_name("fusion")
    # artifacts go through the server into its store, not to the local disk of the machine of a job
    assert experiment.artifact_location.startswith("mlflow-artifacts:")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {r.data.tags["fusion.sweep_id"] for r in runs} == {f"{tmp_path.name}/sweep"}
    by_shard = {r.data.params["data.shard"]: r for r in runs}
    assert sorted(by_shard) == ["0", "1"]
    assert {r.data.params["data.num_shards"] for r in runs} == {"2"}
    first, second = sorted(runs, key=lambda r: r.info.start_time)
    assert second.info.start_time < first.info.end_time, "the two shards did not run at the same time"

    indices = []
    for shard, run in sorted(by_shard.items()):
        prompts = read_table(client, run.info.run_id, "prompts.json")
        trials = read_table(client, run.info.run_id, "trials.json")
        assert len(prompts) == 1, f"shard {shard}: {len(prompts)} prompts"
        index = prompts[0]["index"]
        indices.append(index)
        assert sorted((t["index"], t["trial"]) for t in trials) == [(index, 0), (index, 1)]
        assert run.data.metrics["n_prompts"] == 1
    assert indices == [0, 1], "shards 0 and 1 hold the first and second SimpleQA question"
    assert len(list(services.artifacts.rglob("prompts.json"))) == 2

    studies = optuna.get_all_study_summaries(optuna_db)
    assert sorted(s.study_name.rsplit("-", 1)[1] for s in studies) == ["0", "1"]
    assert all(s.n_trials == 2 for s in studies)

    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion.report",
            "--tracking-uri",
            services.tracking_uri,
            "--sweep-id",
            f"{tmp_path.name}/sweep",
            "--json",
            "--no-log",
            "--out",
            str(tmp_path / "report"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    numbers = json.loads(report.stdout[report.stdout.index("{") :])
    assert numbers["full"]["n_prompts"] == 2, "the report did not merge the two shards into one result"
