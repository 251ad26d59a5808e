"""The reference as a prompt (steering.mode=in_context): the reference text that full and segmented
steer toward goes into the prompt, with no hooks and no search (the real default model)."""

from __future__ import annotations

from fusion.config.schema import JobConfig, PromptsConfig, SearchConfig, SteeringConfig
from fusion.data.simpleqa import load_simpleqa
from fusion.evaluate.judges.rules import RulesJudge
from fusion.job.runner import PromptRunner
from fusion.model.prompts import reference_completion


def test_the_reference_goes_into_the_prompt_and_no_hook_is_registered(loaded, monkeypatch):
    job = JobConfig(
        steering=SteeringConfig(mode="in_context"),
        search=SearchConfig(study_storage="memory"),
        prompts=PromptsConfig(chat_template=True, max_new_tokens=16),
    )
    runner = PromptRunner(job, loaded, RulesJudge())
    asked: list[str] = []
    generate = runner.answerer.generate
    monkeypatch.setattr(runner.answerer, "generate", lambda texts, **kw: asked.extend(texts) or generate(texts, **kw))
    hooks: list[object] = []
    for layer in loaded.decoder_layers:  # every hook the steering would add goes through here
        monkeypatch.setattr(layer, "register_forward_hook", lambda *a, **k: hooks.append(a))
    prompts = load_simpleqa()[:2]
    outcomes = list(runner.run_pack(list(enumerate(prompts))))
    assert not hooks
    for prompt, outcome, explanation in zip(prompts, outcomes, runner.answerer.explanations(prompts)):
        reference = reference_completion(prompt.gold, explanation)
        given = [t for t in asked if reference in t and prompt.question in t]
        assert len(given) == 1 and explanation, prompt.index  # one generation with the reference in its prompt
        assert outcome.steering is None and outcome.n_trials == 0 and outcome.trials == []
        assert outcome.steered.explanation == explanation and outcome.steered.strengths == [0.0]
        assert outcome.steered.target_index == prompt.index
