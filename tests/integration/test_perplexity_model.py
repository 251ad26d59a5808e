"""search.perplexity_model: the search's perplexity scored by another causal LM (real models)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from fusion.config.compose import named_model_config
from fusion.config.schema import JobConfig
from fusion.evaluate.judges.rules import RulesJudge
from fusion.job.runner import PromptRunner
from fusion.model.generation import encode, eos_ids, greedy
from fusion.model.loading import QuantizationConfig, cache_key, load_configured
from fusion.model.sources import resolve_source
from tests.helpers import DEFAULT_MODEL, PROJECT_ROOT, model_cache_dir

QUESTION = "Question: Who received the IEEE Frank Rosenblatt Award in 2010?\nAnswer and explanation:"


@pytest.fixture(scope="module")
def prompt_and_answers(loaded):
    tok = loaded.tokenizer
    # the instruct model answers inside its chat template (raw text gets an immediate end of turn)
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": QUESTION}], tokenize=False, add_generation_prompt=True
    )
    rows = greedy(loaded.model, encode(tok, [prompt]), max_new_tokens=20, stop_ids=eos_ids(loaded.model, tok))
    rows.append(tok("Michio Sugeno", add_special_tokens=False)["input_ids"])
    # only answers whose text tokenises back to the same ids can be compared across tokenisations
    return prompt, [r for r in rows if r and tok(tok.decode(r), add_special_tokens=False)["input_ids"] == r]


def test_another_copy_of_the_model_as_scorer_gives_the_same_perplexity(loaded, prompt_and_answers):
    prompt, answers = prompt_and_answers
    copy_dir = model_cache_dir() / cache_key(resolve_source(DEFAULT_MODEL), "float32")
    scorer = load_configured(named_model_config(str(copy_dir)), QuantizationConfig(), None)
    assert scorer.source.identity != loaded.source.identity
    job = JobConfig()
    texts = [loaded.tokenizer.decode(r) for r in answers]
    own = PromptRunner(job, loaded, RulesJudge()).answerer.nll(prompt, answers, texts)
    other = PromptRunner(job, loaded, RulesJudge(), scorer=scorer).answerer.nll(prompt, answers, texts)
    assert len(answers) == 2 and all(math.isfinite(v) for v in own)
    assert other == pytest.approx(own, abs=1e-4)


def test_a_different_model_scores_differently(loaded, prompt_and_answers):
    prompt, answers = prompt_and_answers
    gemma = load_configured(named_model_config("gemma3_270m"), QuantizationConfig(), model_cache_dir())
    texts = [loaded.tokenizer.decode(r) for r in answers]
    own = PromptRunner(JobConfig(), loaded, RulesJudge()).answerer.nll(prompt, answers, texts)
    other = PromptRunner(JobConfig(), loaded, RulesJudge(), scorer=gemma).answerer.nll(prompt, answers, texts)
    assert all(math.isfinite(v) for v in other) and other != pytest.approx(own, abs=1e-2)
    # an empty answer has nothing to score under any model
    assert PromptRunner(JobConfig(), loaded, RulesJudge(), scorer=gemma).answerer.nll(prompt, [[]], [""]) == [math.inf]


def test_a_missing_perplexity_model_fails_in_one_line_before_loading():
    result = subprocess.run(
        [sys.executable, "-m", "fusion.run", "search.perplexity_model=/nonexistent/model"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "fusion: search.perplexity_model=/nonexistent/model: model.id: /nonexistent/model is not a model directory "
        "(no config.json)"
    ]
