"""The speed levers change no answer (the real default model, float32, CPU): rows whose answers
ended leave the generated batch (``search.drop_finished``) and the KV cache is written in place
(``search.in_place_cache``), and the trials, their scores and the unsteered answers are bit for
bit what they were with the rows kept and the cache concatenated; and the benchmark that measures
it (``fusion bench --profile``, ``--study``) runs the pipeline's own jobs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fusion import profiling
from fusion.config.schema import JobConfig, PromptsConfig, SearchConfig, SteeringConfig
from fusion.data.simpleqa import load_simpleqa
from fusion.evaluate.judges.rules import RulesJudge
from fusion.job.runner import PromptRunner
from tests.helpers import PROJECT_ROOT


def runner(loaded, levers: bool) -> PromptRunner:
    search = SearchConfig(
        n_trials=5,
        batch_size=5,
        max_batch_rows=25,
        study_storage="memory",
        drop_finished=levers,
        in_place_cache=levers,
    )
    job = JobConfig(
        steering=SteeringConfig(mode="full", decoding="cached"),
        search=search,
        prompts=PromptsConfig(chat_template=True, max_new_tokens=40),
    )
    return PromptRunner(job, loaded, RulesJudge())


def searched(loaded, levers: bool):
    """Five questions' searches in one packed batch of 25 rows, and 10 unsteered answers in one batch."""
    prompts = load_simpleqa()[:10]
    run = runner(loaded, levers)
    with profiling.profiling() as p:
        outcomes = list(run.run_pack(list(enumerate(prompts[:5]))))
        run.answerer.answer_unsteered(prompts, ["baseline"])
    unsteered = [run.answerer.unsteered_ids(q, "baseline") for q in prompts]
    return outcomes, unsteered, p


def test_dropping_ended_rows_and_the_in_place_cache_give_the_same_trials_scores_and_answers(loaded):
    kept, kept_unsteered, before = searched(loaded, levers=False)
    dropped, dropped_unsteered, after = searched(loaded, levers=True)
    strip = lambda row: {k: v for k, v in row.items() if k != "seconds"}  # noqa: E731
    assert [strip(o.row()) for o in dropped] == [strip(o.row()) for o in kept]
    assert [o.trials for o in dropped] == [o.trials for o in kept]  # answers, perplexities, objectives
    assert dropped_unsteered == kept_unsteered
    # the lever did something: fewer rows ran, the same rows generated
    for kind in ("trial decoding", "unsteered answers"):
        old, new = before.fill[kind], after.fill[kind]
        assert new.running_row_steps == old.running_row_steps
        assert new.row_steps < old.row_steps, kind
    assert len({t.answer for o in kept for t in o.trials}) > 12  # the trials differ: many answers compared


def bench(tmp_path, *args: str) -> subprocess.CompletedProcess:
    small = ["data.limit=2", "search.n_trials=2", "search.batch_size=2", "prompts.max_new_tokens=12"]
    command = [sys.executable, "-m", "fusion", "bench", *args, *small, "--json", str(tmp_path / "out.json")]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_the_profile_of_a_job_accounts_for_its_time_stage_by_stage(tmp_path):
    done = bench(tmp_path, "--profile", "steering=full")
    result = json.loads((tmp_path / "out.json").read_text())
    stages = result["stages_s"]
    assert result["answered"] == 2
    for stage in ("unsteered answers", "explanation", "reference pass", "trial decoding", "perplexity"):
        assert stages[stage] > 0, stage
    # the rules judge takes milliseconds: counted by its calls, one per question
    assert result["calls"]["grading"] == 2 and result["calls"]["logging"] == 2
    assert sum(stages.values()) == pytest.approx(result["seconds"], abs=0.05)
    assert result["fill"]["trial decoding"]["batches"] == 1  # one packed batch: 2 questions x 2 trials
    assert "| trial decoding |" in done.stdout


def test_the_study_bench_projects_the_study_and_compares_the_two_paths(tmp_path):
    done = bench(tmp_path, "--study", "--questions", "2")
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["answers_changed"] == 0 and result["answers_compared"] > 8 and result["changed_answers"] == []
    assert result["study_projected_min_new"] > 0 and result["speedup_new_vs_old"] > 0
    # seven groups: 2 unsteered and 5 searched jobs on 260 questions, each with its time outside
    # them; the 4 searched jobs after the first read the explanations back from the answer store,
    # and the 3 of them toward a question's reference (segmented, single_layer, the placebo) its
    # means too, which the old path did not store
    for side, means in (("new", 3), ("old", 0)):
        profile = next(p for p in result["profiles"] if p["label"] == f"searched {side}")
        stages = profile["stages_s"]
        read_back = (4 * stages["explanation"] + means * stages["reference pass"]) / profile["answered"]
        unsteered, searched = result[f"unsteered_s_per_question_{side}"], result[f"searched_s_per_question_{side}"]
        per_question = 260 * (2 * unsteered + 5 * searched - read_back)
        outside = 2 * result[f"unsteered_job_outside_questions_s_{side}"]
        outside += 5 * result[f"searched_job_outside_questions_s_{side}"]
        assert result[f"study_projected_min_{side}"] * 60 == pytest.approx(per_question + outside, rel=1e-4)
    assert [p["label"] for p in result["profiles"]] == [
        "unsteered old",
        "searched old",
        "unsteered new",
        "searched new",
    ]
    assert "study_projected_min_new" in done.stdout
