"""The report over real runs: shards merged into one result, seeds and budgets of the replication."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from tests.test_pipeline import PROJECT_ROOT, SUMMARY, run_fusion, runs_of


def report(tmp_path, *args: str, experiment: str = "fusion") -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "fusion.report", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
         "--experiment", experiment, "--out", str(tmp_path / "report"), "--json", "--no-log", *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_two_shards_merge_into_the_numbers_of_one_unsharded_job(tmp_path):
    run_fusion(tmp_path, "steering=baseline", "data.limit=3", "data.num_shards=2", "data.shard=0,1", multirun=True)
    _, shards = runs_of(tmp_path)
    assert sorted(r.data.params["data.shard"] for r in shards) == ["0", "1"]
    assert sorted(int(r.data.metrics["n_prompts"]) for r in shards) == [1, 2]
    (sweep_id,) = {r.data.tags["fusion.sweep_id"] for r in shards}
    merged = report(tmp_path, "--sweep-id", sweep_id)["baseline"]
    assert merged["n_prompts"] == 3 and len(merged["replicates"]) == 1 and merged["replicates"][0]["shards"] == 2

    whole = tmp_path / "whole"
    whole.mkdir()
    run_fusion(whole, "steering=baseline", "data.limit=3")
    _, (single,) = runs_of(whole)
    for key in SUMMARY + ["composite_median", "composite_std"]:
        assert merged[key] == pytest.approx(single.data.metrics[key]), key


def test_replication_groups_budgets_averages_seeds_and_writes_report_md(tmp_path):
    run_fusion(tmp_path, "+experiment=paper_replication", "steering=full", "data.limit=1", "search.seed=0,1",
               "search.n_trials=1,2", multirun=True)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("paper_replication")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4
    numbers = report(tmp_path, "--replication", "--command", "make replication", "--wall-seconds", "60",
                     experiment="paper_replication")
    assert list(numbers) == ["full@1", "full@2"]
    for label, budget in (("full@1", "1"), ("full@2", "2")):
        mine = [r for r in runs if r.data.params["search.n_trials"] == budget]
        assert sorted(r["seed"] for r in numbers[label]["replicates"]) == [0, 1]
        for key in ("accuracy", "composite_mean", "simpleqa_correct", "control_composite_mean"):
            assert numbers[label][key] == pytest.approx(statistics.fmean(r.data.metrics[key] for r in mine)), key
        assert numbers[label]["n_prompts"] == 1
    text = (tmp_path / "report" / "REPORT.md").read_text()
    assert "`make replication`" in text and "oracle results" in text and "Wall time of the whole sweep: 1.0 min" in text
    assert "| full@2 | 2 | 2 | 1 |" in text and "Judge: rules" in text
    assert "Prompts: the first 1 of the paper's 260" in text
