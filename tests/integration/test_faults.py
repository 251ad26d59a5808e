"""Faults inside a run: a trial whose steering blows up (NaN/inf) or answers nothing is marked
failed with its reason, and the search goes on (real model, real Optuna studies, real MLflow)."""

from __future__ import annotations

import math

import optuna
import pytest
import torch

from fusion.config.schema import SearchConfig
from fusion.evaluate.outcomes import Candidate
from fusion.model.generation import encode, eos_ids, greedy
from fusion.model.reference import reference_means
from fusion.model.steering import steering
from fusion.search.weights import best_trial, search_prompt
from fusion.tracking.runs import read_table
from tests.helpers import run_fusion, runs_of
from tests.integration.test_steering import QUESTION, REFERENCE, SPAN

HUGE = "3e38"  # alpha * gamma = 9e76: inf in float32, so the residual stream turns inf/NaN


def test_a_row_whose_logits_turn_nonfinite_stops_and_is_reported(loaded):
    targets = reference_means(loaded.model, loaded.tokenizer, loaded.decoder_layers, REFERENCE, SPAN)
    stop = eos_ids(loaded.model, loaded.tokenizer)
    strengths = torch.tensor([[0.3] * loaded.num_layers, [math.inf] * loaded.num_layers])
    broken: set[int] = set()
    with steering(loaded.decoder_layers, targets, strengths) as session:
        rows = greedy(
            loaded.model,
            encode(loaded.tokenizer, [QUESTION] * 2),
            max_new_tokens=12,
            stop_ids=stop,
            session=session,
            nonfinite_rows=broken,
        )
    assert broken == {1}
    assert rows[1] == []  # stopped at the first step: no token chosen by argmax over NaN
    with steering(loaded.decoder_layers, targets, strengths[:1]) as session:
        alone = greedy(
            loaded.model, encode(loaded.tokenizer, [QUESTION]), max_new_tokens=12, stop_ids=stop, session=session
        )
    assert rows[0] == alone[0] and len(alone[0]) > 0  # the healthy row is untouched by its neighbour


def scores_with_failures(rows):
    """Rows whose first strength is below 0.25 'answer nothing': a real function of the weights."""
    return [Candidate("", 0.0, math.inf, "empty answer") if r[0] < 0.25 else Candidate("ok", r[0], 10.0) for r in rows]


def test_failed_trials_are_told_fail_skipped_by_best_and_read_back(tmp_path):
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    cfg = SearchConfig(n_trials=8, batch_size=4, sampler="random")
    trials = search_prompt(scores_with_failures, 1, cfg, seed=3, storage=storage, study_name="p")
    assert len(trials) == 8  # the budget is spent although some trials failed
    failed = [t for t in trials if t.failure]
    assert failed and len(failed) < 8, "seed 3 draws both kinds of trial"
    assert all(t.failure == "empty answer" for t in failed)
    study = optuna.load_study(study_name="p", storage=storage)
    states = {t.number: t.state for t in study.trials}
    assert {n for n, s in states.items() if s == optuna.trial.TrialState.FAIL} == {t.number for t in failed}
    assert all(study.trials[t.number].user_attrs["failure"] == "empty answer" for t in failed)
    assert not best_trial(trials).failure
    assert search_prompt(scores_with_failures, 1, cfg, seed=3, storage=storage, study_name="p") == trials


def test_a_job_whose_every_trial_blows_up_finishes_and_records_why(tmp_path):
    run_fusion(
        tmp_path,
        "data.limit=1",
        "search.n_trials=2",
        "search.batch_size=1",
        f"search.alpha.low={HUGE}",
        f"search.alpha.high={HUGE}",
        f"search.gamma.low={HUGE}",
        f"search.gamma.high={HUGE}",
    )
    client, runs = runs_of(tmp_path)
    assert [r.info.status for r in runs] == ["FINISHED"]
    run = runs[0]
    assert run.data.metrics["failed_trials"] == 2
    trials = read_table(client, run.info.run_id, "trials.json")
    assert [t["state"] for t in trials] == ["FAIL", "FAIL"]
    assert all(t["failure"].startswith("non-finite activations") for t in trials)
    prompts = read_table(client, run.info.run_id, "prompts.json")
    assert prompts[0]["failed_trials"] == 2 and prompts[0]["n_trials"] == 2
    (study_db,) = (tmp_path / "optuna").glob("*.db")
    (summary,) = optuna.get_all_study_summaries(f"sqlite:///{study_db}")
    study = optuna.load_study(study_name=summary.study_name, storage=f"sqlite:///{study_db}")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2
    assert all(math.isfinite(t["objective"]) for t in trials)


def test_a_resumed_job_says_how_many_prompts_it_answered_itself(tmp_path, monkeypatch):
    """Ctrl-C after the first prompt is committed; the rerun reads that prompt back and answers the
    other two, and says so (``fusion study`` times a resumed job by the prompts it answered)."""
    from fusion.errors import Interrupted
    from fusion.job import pipeline

    overrides = ["steering=baseline", "data.limit=3", "prompts.max_new_tokens=8",
                 f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}"]  # fmt: skip
    real_commit = pipeline.commit

    def commit_once_then_stop(context, outcome):
        if context.kept:  # one prompt is committed already
            raise KeyboardInterrupt
        real_commit(context, outcome)

    monkeypatch.setattr(pipeline, "commit", commit_once_then_stop)
    with pytest.raises(Interrupted):
        pipeline.run_job(overrides, tmp_path / "first")
    monkeypatch.setattr(pipeline, "commit", real_commit)
    result = pipeline.run_job(overrides, tmp_path / "again")
    assert (len(result.outcomes), result.answered, result.read_back) == (3, 2, False)
