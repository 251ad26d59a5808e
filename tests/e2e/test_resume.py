"""Crash safety: a job killed with SIGKILL mid-run resumes on rerun, losing and duplicating nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from fusion.tracking.runs import read_table
from fusion.tracking.traces import EXPECTATION, FEEDBACK, INDEX_TAG, KIND_TAG
from tests.helpers import PROJECT_ROOT  # noqa: E402

# two prompts per pack (packs [0, 1] and [2]): the rerun packs what is left differently, and must
# still equal an uninterrupted run
JOB = [
    "steering=full",
    "data=simpleqa",  # by name: the checks read SimpleQA row indices 0, 1, 2
    "data.limit=3",
    "search.n_trials=2",
    "search.batch_size=2",
    "search.max_batch_rows=4",
    "prompts.max_new_tokens=16",
]


def command(store: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "fusion.run",
        f"tracking.uri=sqlite:///{store}",
        f"hydra.run.dir={run_dir}",
        *JOB,
        *extra,
    ]


def only_run(store: Path):
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("fusion")
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    return client, runs


def assert_logged_once_per_prompt(client, run, indices: list[int]) -> None:
    """Rows, steering vectors and answer traces: each prompt's once, after however many attempts,
    and the dataset input once."""
    run_id = run.info.run_id
    assert [p["index"] for p in read_table(client, run_id, "prompts.json")] == indices, "each prompt's row once"
    vectors = sorted(a.path for a in client.list_artifacts(run_id, "vectors"))
    assert vectors == [f"vectors/prompt-{i}.safetensors" for i in indices], "each prompt's vectors once"
    traces = client.search_traces(locations=[run.info.experiment_id], run_id=run_id, max_results=100)
    keys = sorted((int(t.info.tags[INDEX_TAG]), t.info.tags[KIND_TAG]) for t in traces)
    assert keys == [(i, kind) for i in indices for kind in ("baseline", "control", "steered")], "traces once"
    for trace in traces:  # none left half-assessed by the kill
        assert sorted(a.name for a in trace.info.assessments) == sorted([EXPECTATION, *FEEDBACK]), trace.info.tags
    inputs = client.get_run(run_id).inputs
    assert inputs is not None and len(inputs.dataset_inputs) == 1, "the dataset input once"
    # the run's metrics are its summary, one value each: no per-prompt series to read as the score
    for key in client.get_run(run_id).data.metrics:
        assert len(client.get_metric_history(run_id, key)) == 1, key


def test_kill_9_then_rerun_resumes_the_same_run(tmp_path):
    store = tmp_path / "mlflow.db"
    job = subprocess.Popen(
        command(store, tmp_path / "first"), cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    # The job appends each prompt to prompts.jsonl just before logging it to MLflow, so a second
    # line means the first prompt is committed in MLflow and the second is being logged. (The
    # store itself is not polled: a second client racing the job's schema migration breaks it.)
    local_records = tmp_path / "first" / "prompts.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and job.poll() is None:
        if local_records.exists() and len(local_records.read_text().splitlines()) >= 2:
            break
        time.sleep(0.1)
    assert job.poll() is None, "the job ended before it could be killed"
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    client, runs = only_run(store)
    assert len(runs) == 1 and runs[0].info.status == "RUNNING"
    killed = runs[0].info.run_id
    done_at_kill = read_table(client, killed, "prompts.json")
    assert 1 <= len(done_at_kill) < 3

    resumed = subprocess.run(
        command(store, tmp_path / "second"), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # the unsteered answers come before the first question's search: their bar says they are moving
    assert "unsteered answers [explanation, baseline, control]" in resumed.stderr
    client, runs = only_run(store)
    assert len(runs) == 1, "the rerun must continue the killed run, not start a second one"
    run = runs[0]
    assert run.info.run_id == killed and run.info.status == "FINISHED"
    assert run.data.tags["fusion.resumed"] == "true"
    prompts = read_table(client, killed, "prompts.json")
    trials = read_table(client, killed, "trials.json")
    assert [p["index"] for p in prompts] == [0, 1, 2]
    assert prompts[: len(done_at_kill)] == done_at_kill, "finished prompts are kept as they were"
    assert sorted((t["index"], t["trial"]) for t in trials) == [(i, t) for i in range(3) for t in range(2)]
    assert_logged_once_per_prompt(client, run, [0, 1, 2])
    (optuna_db,) = (tmp_path / "optuna").glob("*.db")  # one study file per job, beside the store
    studies = optuna.get_all_study_names(storage=f"sqlite:///{optuna_db}")
    assert sorted(studies) == sorted(f"fusion-{run.data.tags['fusion.job_key']}-{i}" for i in range(3))

    # and the numbers equal an uninterrupted run of the same job
    reference_store = tmp_path / "reference.db"
    subprocess.run(
        command(reference_store, tmp_path / "reference"), cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=900
    )
    ref_client, (reference,) = only_run(reference_store)
    timeless = lambda metrics: {k: v for k, v in metrics.items() if k != "wall_seconds"}  # noqa: E731
    assert timeless(run.data.metrics) == timeless(reference.data.metrics)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(prompts) == strip(read_table(ref_client, reference.info.run_id, "prompts.json"))
    assert trials == read_table(ref_client, reference.info.run_id, "trials.json")


def test_sigterm_right_after_the_run_opens_marks_it_killed_and_the_rerun_finishes_it(tmp_path):
    """SIGTERM (like Ctrl-C) while the run is being set up, before any prompt: the run is KILLED,
    not left for MLflow's exit handler to close as FINISHED, and the same command completes it."""
    from fusion.tracking.runs import ensure_experiment

    store = tmp_path / "mlflow.db"
    # the store exists and is migrated before the job starts, so polling it here races nothing
    ensure_experiment(f"sqlite:///{store}", "fusion", (tmp_path / "artifacts").as_uri())
    job = subprocess.Popen(
        command(store, tmp_path / "first"),
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 600
    runs = []
    while time.monotonic() < deadline and job.poll() is None and not runs:
        runs = only_run(store)[1]
        time.sleep(0.05)
    assert job.poll() is None and runs, "the job ended before its run could be seen"
    os.kill(job.pid, signal.SIGTERM)
    _, stderr = job.communicate(timeout=300)
    assert job.returncode != 0
    client, (run,) = only_run(store)
    assert run.info.status == "KILLED", stderr[-2000:]
    assert not (tmp_path / "first" / "prompts.jsonl").exists(), "the signal came before the first prompt"

    rerun = subprocess.run(
        command(store, tmp_path / "second"), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    client, (again,) = only_run(store)
    assert again.info.run_id == run.info.run_id and again.info.status == "FINISHED"
    assert [p["index"] for p in read_table(client, again.info.run_id, "prompts.json")] == [0, 1, 2]


# one prompt per pack: a kill lands in a known phase of the job
ONE_PER_PACK = "search.max_batch_rows=2"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference: the same job, one prompt per pack, never killed."""
    tmp_path = tmp_path_factory.mktemp("reference")
    store = tmp_path / "mlflow.db"
    subprocess.run(
        command(store, tmp_path / "run", ONE_PER_PACK), cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=900
    )
    client, (run,) = only_run(store)
    return client, run


def kill_9_then_rerun(tmp_path: Path, records_at_kill: int, *extra: str):
    """Start the one-prompt-per-pack job, SIGKILL it once ``records_at_kill`` prompts are committed
    (0: once its run is open), rerun it; return the client and the one run, checked resumed."""
    from fusion.tracking.runs import ensure_experiment

    store = tmp_path / "mlflow.db"
    # the store exists and is migrated before the job starts, so polling it here races nothing
    ensure_experiment(f"sqlite:///{store}", "fusion", (tmp_path / "artifacts").as_uri())
    job = subprocess.Popen(
        command(store, tmp_path / "first", ONE_PER_PACK, *extra),
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    records = tmp_path / "first" / "prompts.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and job.poll() is None:
        count = len(records.read_text().splitlines()) if records.exists() else 0
        if count >= records_at_kill and (records_at_kill or only_run(store)[1]):
            break
        time.sleep(0.05)
    assert job.poll() is None, f"the job ended before it could be killed at {records_at_kill} records"
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    client, (killed,) = only_run(store)
    assert killed.info.status == "RUNNING"

    rerun = subprocess.run(
        command(store, tmp_path / "second", ONE_PER_PACK, *extra),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    client, (run,) = only_run(store)
    assert run.info.run_id == killed.info.run_id and run.info.status == "FINISHED"
    return client, run


@pytest.mark.parametrize(
    "phase, records_at_kill",
    [
        ("during the first prompt", 0),  # the run is open, nothing committed
        ("during the last prompt's search and judging", 2),
        ("while the summary is being logged", 3),  # every prompt committed, the run not yet FINISHED
    ],
)
def test_kill_9_in_any_phase_then_rerun_equals_an_uninterrupted_run(phase, records_at_kill, tmp_path, uninterrupted):
    client, run = kill_9_then_rerun(tmp_path, records_at_kill)
    ref_client, reference = uninterrupted
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(read_table(client, run.info.run_id, "prompts.json")) == strip(
        read_table(ref_client, reference.info.run_id, "prompts.json")
    )
    assert read_table(client, run.info.run_id, "trials.json") == read_table(
        ref_client, reference.info.run_id, "trials.json"
    )
    timeless = lambda metrics: {k: v for k, v in metrics.items() if k != "wall_seconds"}  # noqa: E731
    assert timeless(run.data.metrics) == timeless(reference.data.metrics)
    assert_logged_once_per_prompt(client, run, [0, 1, 2])


def test_a_resumed_placebo_keeps_each_prompts_partner(tmp_path):
    """steering.target=shuffled: the prompt committed before the kill and those searched after it
    are steered toward the partners of the job's one seeded derangement."""
    from fusion.config.targets import shuffled_partners

    client, run = kill_9_then_rerun(tmp_path, 1, "steering.target=shuffled")
    rows = read_table(client, run.info.run_id, "prompts.json")
    partners = shuffled_partners([0, 1, 2], seed=0)
    assert {r["index"]: r["target_index"] for r in rows} == partners
    assert run.data.tags["fusion.steering_target"] == "shuffled"
    assert_logged_once_per_prompt(client, run, [0, 1, 2])


def test_ctrl_c_ends_in_one_line_with_exit_code_130_and_the_same_command_resumes(tmp_path):
    """Ctrl-C (SIGINT) once the first prompt is committed: no traceback, one line that counts the
    prompts this attempt kept and says the same command resumes, exit code 130, the run KILLED; the
    same command then finishes that run without redoing what it kept."""
    store = tmp_path / "mlflow.db"
    stderr_path = tmp_path / "first.stderr"
    with stderr_path.open("w") as stderr:  # a file, not a pipe: the progress bars would fill a pipe
        job = subprocess.Popen(
            command(store, tmp_path / "first", ONE_PER_PACK),
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            # Ctrl-C as in a terminal: a child of a shell's background job inherits SIGINT ignored
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        # a second line in prompts.jsonl: the first prompt is committed in MLflow (see above)
        records = tmp_path / "first" / "prompts.jsonl"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and job.poll() is None:
            if records.exists() and len(records.read_text().splitlines()) >= 2:
                break
            time.sleep(0.05)
        assert job.poll() is None, "the job ended before it could be interrupted"
        job.send_signal(signal.SIGINT)
        job.wait(timeout=300)
    text = stderr_path.read_text()
    assert job.returncode == 130, text[-3000:]
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]
    client, (killed,) = only_run(store)
    assert killed.info.status == "KILLED"
    done = read_table(client, killed.info.run_id, "prompts.json")
    assert 1 <= len(done) <= len(records.read_text().splitlines())
    # the run's count, not the local records': the prompt being logged at the signal is redone
    verb = "is" if len(done) == 1 else "are"
    assert text.strip().splitlines()[-1] == (
        f"fusion: interrupted (Ctrl-C): {len(done)} of 3 prompts {verb} kept in MLflow run {killed.info.run_id}: "
        "the same command resumes the job"
    )
    assert len([line for line in text.splitlines() if line.startswith("fusion:")]) == 1

    rerun = subprocess.run(
        command(store, tmp_path / "second", ONE_PER_PACK), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{len(done)} of 3 prompts were finished by an earlier attempt" in rerun.stdout + rerun.stderr
    client, (run,) = only_run(store)
    assert run.info.run_id == killed.info.run_id and run.info.status == "FINISHED"
    prompts = read_table(client, run.info.run_id, "prompts.json")
    assert [p["index"] for p in prompts] == [0, 1, 2] and prompts[: len(done)] == done
