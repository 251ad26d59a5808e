"""`fusion study` on Ray: the study's jobs as Ray tasks on a real local Ray head with two CPUs (two
workers) logging into a real MLflow tracking server; a worker killed mid-job is rerun by Ray and
resumes its run; the same command again reads every job back; and REPORT.md says what the
single-process study of the same questions says, answer for answer."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from tests.e2e.test_ray import RAY_ENV, services  # noqa: F401 (the Ray head and tracking server)
from tests.helpers import PROJECT_ROOT

# seven groups, two questions, two trials; one question per pack, so a job is killable between its two
SHARED = ["data=simpleqa", "data.limit=2", "search.n_trials=2", "prompts.max_new_tokens=8", "search.max_batch_rows=2"]
# lines that say where and how long, not what: the command, the wall times, the sweep's name
VARYING = re.compile(r"^- (Command|Wall time|Sweep):")


def study(*args: str, cwd: Path) -> list[str]:
    return [sys.executable, "-m", "fusion", "study", *SHARED, *args, "--out", str(cwd / "report")]


def report_text(folder: Path) -> str:
    """REPORT.md without the lines that name the command, the sweep and the wall time, and without
    the per-seed table's last column (each run's wall seconds)."""
    kept, timed = [], False
    for line in (folder / "REPORT.md").read_text().splitlines():
        timed = line.endswith("| wall (s) |") or (timed and line.startswith("|"))
        if not VARYING.match(line):
            kept.append(line.rsplit("|", 2)[0] if timed else line)
    return "\n".join(kept)


def answers(folder: Path) -> dict[tuple[str, str, str, int], dict]:
    """Every graded answer by its job (mode, target, seed) and question, without its run id and time."""
    rows = [json.loads(line) for line in gzip.open(folder / "answers.jsonl.gz", "rt")]
    jobs = {
        r["id"]: (r["tags"]["fusion.mode"], r["tags"]["fusion.steering_target"], r["params"]["search.seed"])
        for r in rows
        if r["kind"] == "replicate"
    }
    return {
        (*jobs[r["replicate"]], r["index"]): {k: v for k, v in r.items() if k not in ("replicate", "seconds")}
        for r in rows
        if r["kind"] == "answer"
    }


def run_killing_one_worker(command: list[str], env: dict[str, str], log: Path) -> tuple[int, int]:
    """Run the study; once the second wave has a job with one of its two questions done, SIGKILL
    the Ray worker running that job. Returns the exit code and the killed worker's pid."""
    killed = 0
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        second_wave = False
        for line in proc.stdout:
            out.write(line)
            second_wave = second_wave or line.startswith("wave 2/2 on")
            found = re.search(r"\(_run_job pid=(\d+)\).*prompts done: 1 of 2", line)
            if second_wave and found and not killed:
                killed = int(found.group(1))
                os.kill(killed, signal.SIGKILL)
                out.write(f"### test: SIGKILL to Ray worker {killed}\n")
        return proc.wait(timeout=1200), killed


def test_study_on_ray_survives_a_killed_worker_and_reports_as_the_single_process_study(services, tmp_path):  # noqa: F811
    started = time.monotonic()
    name = f"ray-{tmp_path.name}"
    env = {**os.environ, **RAY_ENV}
    single = subprocess.run(
        study(
            f"tracking.uri=sqlite:///{tmp_path / 'single' / 'mlflow.db'}", "--name", "single", cwd=tmp_path / "single"
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert single.returncode == 0, (single.stdout + single.stderr)[-4000:]
    on_ray = study(
        f"tracking.uri={services.tracking_uri}",
        "hydra/launcher=ray_cluster",
        f"hydra.launcher.ray.init.address={services.ray_address}",
        "--name",
        name,
        cwd=tmp_path / "ray",
    )
    try:
        code, killed = run_killing_one_worker(on_ray, env, tmp_path / "ray.log")
        output = (tmp_path / "ray.log").read_text()
        assert code == 0, output[-4000:]
        assert killed, "no second-wave job reached its second question: nothing was killed"
        assert "(_run_job pid=" in output, "the jobs did not run as Ray tasks"
        assert "wave 1/2 on hydra/launcher=ray_cluster: baseline, in_context\n" in output

        client = MlflowClient(tracking_uri=services.tracking_uri)
        experiment = client.get_experiment_by_name("fusion")
        runs = client.search_runs([experiment.experiment_id], f"tags.`fusion.sweep_id` = 'study/{name}'")
        assert len(runs) == 7 and {r.info.status for r in runs} == {"FINISHED"}
        resumed = [r.data.tags["fusion.mode"] for r in runs if r.data.tags.get("fusion.resumed") == "true"]
        assert len(resumed) == 1, f"the killed job was not resumed by Ray's retry: {resumed}"
        unsteered_end = max(r.info.end_time for r in runs if r.data.tags["fusion.mode"] in ("baseline", "in_context"))
        assert all(
            r.info.start_time > unsteered_end
            for r in runs
            if r.data.tags["fusion.mode"] not in ("baseline", "in_context")
        )
        steered = sorted(
            (r for r in runs if r.data.tags["fusion.mode"] not in ("baseline", "in_context")),
            key=lambda r: r.info.start_time,
        )
        assert steered[1].info.start_time < steered[0].info.end_time, "the second wave's jobs did not run at once"

        again = subprocess.run(on_ray, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1200)
        assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
        assert "(resumed: 7 of 7 jobs were read back" in (tmp_path / "ray" / "report" / "REPORT.md").read_text()
        assert answers(tmp_path / "ray" / "report") == answers(tmp_path / "single" / "report")
        assert report_text(tmp_path / "ray" / "report") == report_text(tmp_path / "single" / "report")
    finally:
        shutil.rmtree(PROJECT_ROOT / "outputs" / "studies" / name, ignore_errors=True)  # the jobs' folders
    print(f"fusion study on Ray, killed and resumed, then read back: {time.monotonic() - started:.0f} s")
