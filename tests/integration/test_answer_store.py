"""The jobs of a sweep share their unsteered answers through the answer store beside the tracking
store: a second job on the same model and prompts reads them instead of generating (the real
default model, CPU)."""

from __future__ import annotations

import torch

from fusion.config.schema import JobConfig, PromptsConfig, SearchConfig, SteeringConfig, TrackingConfig
from fusion.data.simpleqa import load_simpleqa
from fusion.evaluate.judges.rules import RulesJudge
from fusion.job.runner import PromptRunner
from fusion.tracking.answer_store import AnswerStore


def job(tmp_path, mode: str, max_new_tokens: int = 8) -> JobConfig:
    return JobConfig(
        steering=SteeringConfig(mode=mode),
        search=SearchConfig(study_storage="memory"),
        prompts=PromptsConfig(chat_template=True, max_new_tokens=max_new_tokens, unsteered_batch_size=1),
        tracking=TrackingConfig(uri=f"sqlite:///{tmp_path / 'mlflow.db'}"),
    )


def answers(runner: PromptRunner, prompts) -> list[list[int]]:
    runner.answerer.answer_unsteered(prompts, ["baseline", "explanation"])
    return [runner.answerer.unsteered_ids(p, k) for k in ("baseline", "explanation") for p in prompts]


def test_a_second_job_reads_the_unsteered_answers_of_the_first_without_generating(loaded, tmp_path):
    prompts = load_simpleqa()[:2]
    calls = []
    handle = loaded.model.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:
        first = answers(PromptRunner(job(tmp_path, "full"), loaded, RulesJudge(), key="job-a"), prompts)
        generated = len(calls)
        # another job of the sweep (segmented) on the same model and prompts: nothing to generate
        second = answers(PromptRunner(job(tmp_path, "segmented"), loaded, RulesJudge(), key="job-b"), prompts)
        assert len(calls) == generated > 0
        # and what it read is what generating gives (a runner without a key keeps no store)
        fresh = answers(PromptRunner(job(tmp_path, "full"), loaded, RulesJudge()), prompts)
        assert len(calls) > generated
        # other decoding settings are another key: generated, not read
        before = len(calls)
        answers(PromptRunner(job(tmp_path, "full", max_new_tokens=6), loaded, RulesJudge(), key="job-c"), prompts)
        assert len(calls) > before
    finally:
        handle.remove()
    assert second == first == fresh
    files = sorted((tmp_path / "answers").glob("*.json"))
    assert len(files) == 2 * 2 * 2  # two settings x two kinds x two batches (one prompt each)


def test_an_unreadable_or_short_file_is_a_miss(tmp_path):
    store = AnswerStore(tmp_path)
    store.put("k", [[1, 2], [3]])
    assert store.get("k", 2) == [[1, 2], [3]]
    assert store.get("k", 3) is None  # another batch size cannot share the file
    (tmp_path / "k.json").write_text("[[1, 2], [3")  # a truncated file (a disk that filled up)
    assert store.get("k", 2) is None
    assert store.get("absent", 1) is None


def test_a_second_job_reads_the_reference_means_of_the_first_bit_for_bit(loaded, tmp_path):
    prompts = load_simpleqa()[:2]
    first_runner = PromptRunner(job(tmp_path, "full"), loaded, RulesJudge(), key="job-a")
    first = first_runner.answerer.references(prompts)
    calls = []
    handle = loaded.model.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:  # the placebo and segmented jobs steer toward the same references: no forward pass
        second = PromptRunner(job(tmp_path, "segmented"), loaded, RulesJudge(), key="job-b").answerer.references(
            prompts
        )
        assert not calls
        # what it read is what capturing gives (a runner without a key keeps no store)
        fresh = PromptRunner(job(tmp_path, "full"), loaded, RulesJudge()).answerer.references(prompts)
        assert calls
    finally:
        handle.remove()
    for (e1, m1), (e2, m2), (e3, m3) in zip(first, second, fresh, strict=True):
        assert e1 == e2 == e3
        assert m1.shape == (loaded.num_layers, loaded.model.config.hidden_size)
        assert torch.equal(m1, m2) and torch.equal(m1, m3)
    assert len(list((tmp_path / "answers").glob("*.pt"))) == 2


def test_an_unreadable_tensor_file_is_a_miss(tmp_path):
    store = AnswerStore(tmp_path)
    store.put_tensor("m", torch.arange(6.0).reshape(2, 3))
    assert torch.equal(store.get_tensor("m", torch.device("cpu")), torch.arange(6.0).reshape(2, 3))
    (tmp_path / "m.pt").write_bytes(b"PK\x03\x04 half a file")
    assert store.get_tensor("m", torch.device("cpu")) is None
    assert store.get_tensor("absent", torch.device("cpu")) is None
    assert not list(tmp_path.glob(".tmp-*"))  # no temp file left behind
