"""Packing the searches of several prompts into one batch changes no trial and no answer (the real
default model, float32, CPU)."""

from __future__ import annotations

import io
import re

import pytest
from tqdm.auto import tqdm

from fusion.config.schema import JobConfig, PromptsConfig, SearchConfig, SteeringConfig, TrackingConfig
from fusion.data.simpleqa import load_simpleqa
from fusion.evaluate.judges.rules import RulesJudge
from fusion.job.runner import PromptRunner


def run(loaded, prompts, *, cached: bool, mode: str, rows: int):
    job = JobConfig(
        steering=SteeringConfig(mode=mode, decoding="cached" if cached else "exact"),
        search=SearchConfig(n_trials=3, batch_size=2, max_batch_rows=rows, study_storage="memory"),
        prompts=PromptsConfig(chat_template=True, max_new_tokens=16),
    )
    runner = PromptRunner(job, loaded, RulesJudge())
    todo = list(enumerate(prompts))
    size = runner.prompts_per_pack()
    outcomes = []
    for start in range(0, len(todo), size):
        outcomes += runner.run_pack(todo[start : start + size])
    return size, outcomes


@pytest.mark.parametrize("cached", [False, True], ids=["exact", "cached"])
@pytest.mark.parametrize("mode", ["full", "segmented"])
def test_packed_and_unpacked_searches_give_identical_trials_and_answers(loaded, cached, mode):
    prompts = load_simpleqa()[:3]
    alone_size, alone = run(loaded, prompts, cached=cached, mode=mode, rows=2)
    packed_size, packed = run(loaded, prompts, cached=cached, mode=mode, rows=6)
    assert (alone_size, packed_size) == (1, 3)  # one prompt per batch vs all three in one
    strip = lambda row: {k: v for k, v in row.items() if k != "seconds"}  # noqa: E731
    assert [strip(o.row()) for o in packed] == [strip(o.row()) for o in alone]
    assert [o.trials for o in packed] == [o.trials for o in alone]
    assert all(len(o.trials) == 3 for o in packed)
    # the trials differ from each other: the comparison covers several weights, not one answer
    assert len({t.answer for o in packed for t in o.trials}) > 3


def test_the_shuffled_target_steers_each_prompt_toward_another_prompts_reference(loaded):
    """The placebo: same search, another question's reference; recorded per prompt."""
    from fusion.config.targets import shuffled_partners

    prompts = load_simpleqa()[:3]
    by_index = {p.index: p for p in prompts}
    partners = shuffled_partners(list(by_index), seed=0)
    job = JobConfig(
        steering=SteeringConfig(mode="full", decoding="cached", target="shuffled"),
        search=SearchConfig(n_trials=2, batch_size=2, study_storage="memory"),
        prompts=PromptsConfig(chat_template=True, max_new_tokens=16),
    )
    runner = PromptRunner(job, loaded, RulesJudge())
    shuffled = list(runner.run_pack(list(enumerate(prompts)), target_of={i: by_index[j] for i, j in partners.items()}))
    own = list(runner.run_pack(list(enumerate(prompts))))
    assert [o.steered.target_index for o in shuffled] == [partners[p.index] for p in prompts]
    assert all(o.steered.target_index != o.index for o in shuffled)
    assert [o.steered.target_index for o in own] == [p.index for p in prompts]
    # the partner's explanation is the one that built the reference
    by_target = {o.index: o.steered.explanation for o in own}
    assert [o.steered.explanation for o in shuffled] == [by_target[partners[p.index]] for p in prompts]
    assert [o.trials for o in shuffled] != [o.trials for o in own]


def test_the_trial_bar_advances_once_per_trial_of_a_pack_searched_or_read_back(loaded, tmp_path):
    """Three prompts' trials in one generated batch per round: after the pack the bar counts (and
    shows) all 3 x 3 trials, and again when a rerun reads the studies back from the job's storage."""
    job = JobConfig(
        steering=SteeringConfig(mode="full", decoding="cached"),
        search=SearchConfig(n_trials=3, batch_size=3, max_batch_rows=9),
        prompts=PromptsConfig(chat_template=True, max_new_tokens=8),
        tracking=TrackingConfig(uri=f"sqlite:///{tmp_path / 'mlflow.db'}"),
    )
    (tmp_path / "optuna").mkdir()  # the per-job study file's folder (the pipeline makes it)
    pack = list(enumerate(load_simpleqa()[:3]))
    runner = PromptRunner(job, loaded, RulesJudge(), key="bar")
    assert runner.prompts_per_pack() == 3
    # batched up front as the pipeline does (and kept for the rerun): the test times the search
    runner.answerer.answer_unsteered([p for _, p in pack], ["baseline", "control", "explanation"])
    for attempt in ("searched", "read back"):
        screen = io.StringIO()
        with tqdm(total=9, desc="trials", file=screen, disable=False) as bar:
            outcomes = list(runner.run_pack(pack, bar))
            assert bar.n == 9, attempt
            assert re.findall(r"(\d+/\d+)", screen.getvalue())[-1] == "9/9", attempt
        assert [o.n_trials for o in outcomes] == [3, 3, 3]
    assert len(list((tmp_path / "optuna").glob("*.db"))) == 1
