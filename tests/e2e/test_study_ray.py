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

import pytest
from mlflow.tracking import MlflowClient

from tests.e2e.test_ray import RAY_ENV, services  # noqa: F401 (the Ray head and tracking server)
from tests.helpers import PROJECT_ROOT

# seven groups on four questions (mean_diff's cross-fitting needs two per fold), one trial, four
# tokens; one question per pack, so a job is killable between its questions
SHARED = ["data=simpleqa", "data.limit=4", "search.n_trials=1", "prompts.max_new_tokens=4", "search.max_batch_rows=1"]
# lines that say where and how long, not what: the command, the wall times (a resumed run's
# footnote among them), the sweep's name
VARYING = re.compile(r"^(- (Command|Wall time|Sweep):|\\\* resumed after an interruption: the wall time)")


def study(*args: str, cwd: Path) -> list[str]:
    return [sys.executable, "-m", "fusion", "study", *SHARED, *args, "--out", str(cwd / "report")]


def report_text(folder: Path) -> str:
    """REPORT.md without the lines that name the command, the sweep and the wall time, and without
    the per-seed table's last column (each run's wall seconds); blank lines aside."""
    kept, timed = [], False
    for line in (folder / "REPORT.md").read_text().splitlines():
        timed = line.endswith("| wall (s) |") or (timed and line.startswith("|"))
        if line.strip() and not VARYING.match(line):
            kept.append(line.rsplit("|", 2)[0] if timed else line)
    return "\n".join(kept)


# a Ray job computes with one torch thread (num_cpus=1), the single process with two: the
# perplexity's float sums run in another order and agree to about 1e-6, not to the last bit
THREADED = ("perplexity", "objective")


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
    """Run the study; once the second wave has a job with its first question done, SIGKILL
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
            found = re.search(r"\(_run_job pid=(\d+)\).*prompts done: 1 of 4", line)
            if second_wave and found and not killed:
                killed = int(found.group(1))
                os.kill(killed, signal.SIGKILL)
                out.write(f"### test: SIGKILL to Ray worker {killed}\n")
        return proc.wait(timeout=1200), killed


def test_study_on_ray_survives_a_killed_worker_and_reports_as_the_single_process_study(services, tmp_path):  # noqa: F811
    started = time.monotonic()
    name = f"ray-{tmp_path.name}"
    env = {**os.environ, **RAY_ENV, "RAY_DEDUP_LOGS": "0"}  # every job's lines, the one to kill at included
    single_command = study(
        f"tracking.uri=sqlite:///{tmp_path / 'single' / 'mlflow.db'}", "--name", "single", cwd=tmp_path / "single"
    )
    # the single-process study beside the one on Ray (2 cores shared with whatever else runs)
    with (tmp_path / "single.log").open("w") as single_log:
        single = subprocess.Popen(single_command, cwd=tmp_path, stdout=single_log, stderr=subprocess.STDOUT)
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
        assert single.wait(timeout=1800) == 0, (tmp_path / "single.log").read_text()[-4000:]
        assert "(resumed: 7 of 7 jobs were read back" in (tmp_path / "ray" / "report" / "REPORT.md").read_text()
        launched, alone = answers(tmp_path / "ray" / "report"), answers(tmp_path / "single" / "report")
        assert sorted(launched) == sorted(alone) and len(launched) == 7 * 4
        for job, row in launched.items():  # texts, grades, strengths: the same; perplexities to 1e-6
            assert {k: v for k, v in row.items() if k not in THREADED} == {
                k: v for k, v in alone[job].items() if k not in THREADED
            }, job
            assert [row[k] for k in THREADED] == pytest.approx([alone[job][k] for k in THREADED], rel=1e-5), job
        assert report_text(tmp_path / "ray" / "report") == report_text(tmp_path / "single" / "report")
    finally:
        single.kill()
        shutil.rmtree(PROJECT_ROOT / "outputs" / "studies" / name, ignore_errors=True)  # the jobs' folders
    print(f"fusion study on Ray, killed and resumed, then read back: {time.monotonic() - started:.0f} s")
