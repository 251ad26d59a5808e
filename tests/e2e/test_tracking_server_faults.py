"""A real ``mlflow server`` that goes away in the middle of a job: the job stops with one line, its
finished prompts stay in its local records, and the rerun, once the server is back, resumes the
same run without duplicates."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from fusion.tracking.runs import read_table
from fusion.tracking.traces import EXPECTATION, FEEDBACK
from tests.e2e.servers import free_ports, start_mlflow_server, stop
from tests.helpers import PROJECT_ROOT

JOB = [
    "steering=full",
    "data=simpleqa",  # by name: the checks read SimpleQA row indices 0, 1, 2
    "data.limit=3",
    "search.n_trials=2",
    "search.batch_size=2",
    "search.max_batch_rows=2",
    "prompts.max_new_tokens=12",
    "search.study_storage=memory",
]


def start_server(tmp_path: Path, port: int) -> subprocess.Popen:
    return start_mlflow_server(tmp_path, port, tmp_path / f"mlflow-{time.monotonic_ns()}.log")


def command(uri: str, run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "fusion.run", f"tracking.uri={uri}", f"hydra.run.dir={run_dir}", *JOB]


def test_the_tracking_server_going_away_stops_the_job_in_one_line_and_the_rerun_resumes(tmp_path):
    (port,) = free_ports(1)
    uri = f"http://127.0.0.1:{port}"
    server = start_server(tmp_path, port)
    try:
        job = subprocess.Popen(
            command(uri, tmp_path / "first"),
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        records = tmp_path / "first" / "prompts.jsonl"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and job.poll() is None and not records.exists():
            time.sleep(0.1)
        assert job.poll() is None, "the job ended before the server could be stopped"
        stop(server)  # the server goes away after the first prompt is committed
        _, stderr = job.communicate(timeout=600)
        lines = [line for line in stderr.splitlines() if line.startswith("fusion: ")]
        assert job.returncode == 1, stderr[-3000:]
        assert len(lines) == 1 and f"tracking.uri={uri} stopped answering" in lines[0], stderr[-3000:]
        assert "finished prompts are kept: rerun the same command to resume" in lines[0]
        assert "Traceback" not in stderr
        kept = [json.loads(line)["index"] for line in records.read_text().splitlines()]
        assert kept and kept[0] == 0, "the finished prompts stay in the job's local records"

        server = start_server(tmp_path, port)  # back, on the same store
        rerun = subprocess.run(
            command(uri, tmp_path / "second"), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900
        )
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        client = MlflowClient(tracking_uri=uri)
        (run,) = client.search_runs([client.get_experiment_by_name("fusion").experiment_id])
        assert run.info.status == "FINISHED" and run.data.tags["fusion.resumed"] == "true"
        prompts = read_table(client, run.info.run_id, "prompts.json")
        trials = read_table(client, run.info.run_id, "trials.json")
        assert [p["index"] for p in prompts] == [0, 1, 2]
        assert sorted((t["index"], t["trial"]) for t in trials) == [(i, t) for i in range(3) for t in range(2)]
        traces = client.search_traces(locations=[run.info.experiment_id], run_id=run.info.run_id, max_results=100)
        assert len(traces) == 3 * 3, "each prompt's baseline, control and steered traces, once"
        for trace in traces:  # sent with their trace, through the server's REST API
            assert sorted(a.name for a in trace.info.assessments) == sorted([EXPECTATION, *FEEDBACK]), trace.info.tags
    finally:
        stop(server)
