"""The reference as a prompt (steering.mode=in_context): the reference text that full and segmented
steer toward goes into the prompt, with no hooks and no search (the real default model)."""

from __future__ import annotations

import json

from fusion.config.schema import JobConfig, PromptsConfig, SearchConfig, SteeringConfig
from fusion.data.simpleqa import load_simpleqa
from fusion.evaluate.judges.rules import RulesJudge
from fusion.job.runner import PromptRunner
from fusion.model.prompts import reference_completion
from fusion.tracking.traces import KIND_TAG
from tests.helpers import run_fusion, runs_of


def test_the_reference_goes_into_the_prompt_and_no_hook_is_registered(loaded, monkeypatch):
    job = JobConfig(
        steering=SteeringConfig(mode="in_context"),
        search=SearchConfig(study_storage="memory"),
        prompts=PromptsConfig(chat_template=True, max_new_tokens=16),
    )
    runner = PromptRunner(job, loaded, RulesJudge())
    asked: list[str] = []
    generate = runner._generate
    monkeypatch.setattr(runner, "_generate", lambda texts, **kw: asked.extend(texts) or generate(texts, **kw))
    hooks: list[object] = []
    for layer in loaded.decoder_layers:  # every hook the steering would add goes through here
        monkeypatch.setattr(layer, "register_forward_hook", lambda *a, **k: hooks.append(a))
    prompts = load_simpleqa()[:2]
    outcomes = list(runner.run_pack(list(enumerate(prompts))))
    assert not hooks
    for prompt, outcome, explanation in zip(prompts, outcomes, runner.explanations(prompts)):
        reference = reference_completion(prompt.gold, explanation)
        given = [t for t in asked if reference in t and prompt.question in t]
        assert len(given) == 1 and explanation, prompt.index  # one generation with the reference in its prompt
        assert outcome.steering is None and outcome.n_trials == 0 and outcome.trials == []
        assert outcome.steered.explanation == explanation and outcome.steered.strengths == [0.0]
        assert outcome.steered.target_index == prompt.index


def test_baseline_full_and_in_context_run_as_one_sweep(tmp_path):
    run_fusion(
        tmp_path,
        "steering=baseline,full,in_context",
        "data.limit=2",
        "search.n_trials=2",
        "search.batch_size=2",
        multirun=True,
    )
    client, runs = runs_of(tmp_path)
    by_mode = {run.data.tags["fusion.mode"]: run for run in runs}
    assert sorted(by_mode) == ["baseline", "full", "in_context"]
    assert by_mode["in_context"].info.run_name == "in_context-smollm2_135m"
    in_context = by_mode["in_context"].info.run_id
    assert not client.list_artifacts(in_context, "vectors")  # nothing steered, nothing saved
    (records,) = (tmp_path / "sweep").glob("*in_context/prompts.jsonl")
    first = json.loads(records.read_text().splitlines()[0])
    assert first["n_trials"] == 0 and first["explanation"]
    traces = client.search_traces(locations=[by_mode["in_context"].info.experiment_id], run_id=in_context)
    steered = [t for t in traces if t.info.tags.get(KIND_TAG) == "steered"]
    assert len(steered) == 2 and all("Reference:" in t.data.request for t in steered)  # the prompt it was given
