"""Fixed strengths (search.strengths, search.strengths_from): no per-question search, one steered
generation per question, the given strengths applied (the real default model, real MLflow runs)."""

from __future__ import annotations

import json
import statistics

import optuna
import pytest

from fusion.config.schema import JobConfig, PromptsConfig, SearchConfig, SteeringConfig
from fusion.data.simpleqa import load_simpleqa
from fusion.evaluate.judges.rules import RulesJudge
from fusion.job.runner import PromptRunner
from fusion.tracking.runs import read_table
from tests.helpers import run_fusion, runs_of


def test_fixed_strengths_generate_one_row_per_question_and_open_no_study(loaded, tmp_path, monkeypatch):
    storage = f"sqlite:///{tmp_path / 'studies.db'}"

    def runner_for(search: SearchConfig, fixed: list[float] | None) -> PromptRunner:
        job = JobConfig(
            steering=SteeringConfig(mode="segmented", boundaries=[10, 20]),
            search=search,
            prompts=PromptsConfig(chat_template=True, max_new_tokens=12),
        )
        return PromptRunner(job, loaded, RulesJudge(), key="fixed", fixed_strengths=fixed)

    fixed = [0.3, 0.0, 0.1]
    runner = runner_for(SearchConfig(strengths=fixed, study_storage="url", study_url=storage), fixed)
    rows: list[int] = []
    generate = runner.answerer.generate
    monkeypatch.setattr(
        runner.answerer, "generate", lambda texts, **kw: rows.append(len(texts)) or generate(texts, **kw)
    )
    prompts = load_simpleqa()[:3]
    runner.answerer.answer_unsteered(prompts, ["baseline", "control", "explanation"])  # as the pipeline does first
    rows.clear()
    outcomes = list(runner.run_pack(list(enumerate(prompts))))
    assert rows == [3]  # one steered batch: one row per question
    for outcome in outcomes:
        assert outcome.n_trials == 1 and [t.number for t in outcome.trials] == [0]
        assert outcome.steered.strengths == pytest.approx(fixed)
        assert outcome.steering is not None  # the vectors it applied are saved like a search's
        assert outcome.steering.strengths[0, :10].tolist() == pytest.approx([0.3] * 10)
    assert not (tmp_path / "studies.db").exists()  # no study was opened in the job's storage

    # the same storage with a search: one study per question lands there, so the check above can fail
    searching = runner_for(SearchConfig(n_trials=1, batch_size=1, study_storage="url", study_url=storage), None)
    searching.answerer.answer_unsteered(prompts, ["baseline", "control", "explanation"])
    list(searching.run_pack(list(enumerate(prompts))))
    assert len(optuna.get_all_study_names(storage)) == 3


def test_strengths_from_an_earlier_run_apply_its_median_with_no_search(tmp_path):
    common = ["steering=full", "search.n_trials=2", "search.batch_size=2"]
    run_fusion(tmp_path, *common, "data.limit=3", "data.num_shards=2", "data.shard=0")  # 2 questions
    client, (source,) = runs_of(tmp_path)
    chosen = [row["strengths"][0] for row in read_table(client, source.info.run_id, "prompts.json")]
    run_fusion(
        tmp_path,
        *common,
        "data.limit=3",
        "data.num_shards=2",
        "data.shard=1",
        f"search.strengths_from={source.info.run_id}",
    )
    _, runs = runs_of(tmp_path)
    (fixed,) = [r for r in runs if r.info.run_id != source.info.run_id]
    assert json.loads(fixed.data.tags["fusion.fixed_strengths"]) == pytest.approx([statistics.median(chosen)])
    assert fixed.info.run_name == "full-cached-fixed-median-smollm2_135m"  # the rule that chose them
    trials = read_table(client, fixed.info.run_id, "trials.json")
    (row,) = read_table(client, fixed.info.run_id, "prompts.json")  # the other half: 1 question
    assert len(trials) == 1 and row["n_trials"] == 1
    assert row["strengths"] == pytest.approx([statistics.median(chosen)])
    assert len(list((tmp_path / "optuna").glob("*.db"))) == 1  # the source's study file only
