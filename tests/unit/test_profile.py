"""The stage profile (``fusion bench --profile``): exclusive and inclusive seconds of nested stages,
nothing collected when off, and the decode fill of a real generation on a tiny model, where
dropping ended rows from a cached batch changes no token."""

from __future__ import annotations

import pytest
import torch

from fusion import profiling
from fusion.bench.profiled import QUESTIONS, JobProfile, table
from fusion.model.generation import greedy
from fusion.model.random_models import random_model
from fusion.model.steering import steering
from tests.unit.test_devices import layer_means, left_padded, prompts


class Clock:
    """A clock the test moves by hand: the profile's seconds are then exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(profiling.time, "perf_counter", fake)
    return fake


def test_a_stage_keeps_its_own_seconds_and_the_outer_one_the_rest(clock):
    with profiling.profiling() as p:
        with profiling.stage(QUESTIONS):
            clock.now += 1.0
            with profiling.stage("reference pass"):
                clock.now += 2.0
                with profiling.stage("explanation"):
                    clock.now += 4.0
            with profiling.stage("explanation"):
                clock.now += 8.0
        with profiling.stage("logging"):
            clock.now += 16.0
    assert p.seconds == {"explanation": 12.0, "reference pass": 2.0, QUESTIONS: 1.0, "logging": 16.0}
    assert p.inclusive == {"explanation": 12.0, "reference pass": 6.0, QUESTIONS: 15.0, "logging": 16.0}
    assert p.calls == {"explanation": 2, "reference pass": 1, QUESTIONS: 1, "logging": 1}


def test_a_stage_inside_itself_counts_once_in_its_inclusive_seconds(clock):
    with profiling.profiling() as p, profiling.stage("perplexity"):
        clock.now += 1.0
        with profiling.stage("perplexity"):
            clock.now += 2.0
    assert p.seconds == {"perplexity": 3.0}
    assert p.inclusive == {"perplexity": 3.0}


def test_nothing_is_collected_without_a_profile_and_one_profile_at_a_time(clock):
    with profiling.stage("grading"):
        clock.now += 1.0
    profiling.decode_step(4, 2)  # no profile: a no-op, not an error
    assert profiling._active is None
    with profiling.profiling(), pytest.raises(RuntimeError, match="already"):
        with profiling.profiling():
            pass
    assert profiling._active is None  # the outer one ended too


def test_the_job_profile_splits_the_job_into_stages_questions_and_the_rest(clock):
    with profiling.profiling() as p:
        with profiling.stage(QUESTIONS):
            clock.now += 3.0
            with profiling.stage("trial decoding"):
                clock.now += 6.0
        clock.now += 1.0
    job = JobProfile("full", seconds=10.0, answered=3, profile=p)
    assert job.per_question == pytest.approx(3.0)
    assert job.overhead == pytest.approx(1.0)
    stages = job.stage_seconds()
    assert stages["trial decoding"] == 6.0 and stages["other (questions)"] == 3.0 and stages["other (job)"] == 1.0
    assert sum(stages.values()) == pytest.approx(job.seconds)  # every second is somewhere, once
    lines = table([job]).splitlines()
    assert "| trial decoding | 2.000 | 60.0 % |" in lines
    assert lines[-1] == "| whole job | 3.333 | 100 % |"


def steered_batch(drop_finished: bool) -> tuple[list[list[int]], profiling.Profile]:
    """16 prompts of different lengths, each its own target and strengths, cached, with eight stop
    tokens so that rows end at different steps."""
    model = random_model("tiny")
    n = 16
    rows = prompts([5 + (i * 7) % 11 for i in range(n)], seed=4)
    targets = layer_means(model, prompts([7] * n, seed=2))
    strengths = torch.rand(n, len(model.model.layers), generator=torch.Generator().manual_seed(3))
    with profiling.profiling() as p, steering(model.model.layers, targets, strengths, cached=True) as session:
        with profiling.stage("trial decoding"):
            out = greedy(
                model,
                left_padded(rows),
                max_new_tokens=40,
                stop_ids=set(range(1, 9)),
                session=session,
                use_cache=True,
                drop_finished=drop_finished,
            )
    return out, p


def test_dropping_ended_rows_changes_no_token_and_is_counted_in_the_fill():
    kept, before = steered_batch(drop_finished=False)
    dropped, after = steered_batch(drop_finished=True)
    assert dropped == kept
    lengths = sorted(len(answer) for answer in kept)
    assert lengths[0] < 10 and lengths[-1] == 40, "rows must end at different steps for this to test anything"
    old, new = before.fill["trial decoding"], after.fill["trial decoding"]
    assert (old.batches, old.steps, new.steps) == (1, 39, 39)  # the prefill, then 39 decode steps
    assert old.row_steps == 16 * 39
    # the running rows are the same; only the ended ones are gone (at least 2 rows always stay)
    assert new.running_row_steps == old.running_row_steps == sum(min(len(a), 39) for a in kept)
    assert new.row_steps == new.running_row_steps < old.row_steps
    assert new.finished_share == 0.0 < old.finished_share
    widths = [5 + (i * 7) % 11 for i in range(16)]
    assert old.prefill_cells == 16 * max(widths) and old.prefill_padding == 16 * max(widths) - sum(widths)
