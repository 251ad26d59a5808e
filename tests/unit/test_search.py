"""Per-prompt Optuna studies (real studies, a deterministic stand-in for the model's scores)."""

from __future__ import annotations

import io
import re

import optuna
import pytest
from tqdm.auto import tqdm

from fusion.config.schema import SearchConfig
from fusion.evaluate.outcomes import Candidate
from fusion.search.weights import (
    StudySpec,
    best_trial,
    count_trials,
    make_sampler,
    prompt_seed,
    search_prompt,
    search_prompts,
)


def named(strengths) -> str:
    return "strengths " + ", ".join(f"{s:.4f}" for s in strengths)


def scorer(log: list):
    """Scores each row by how close its strengths are to 0.3: a real function of the weights. The
    answer names the strengths, rounded (an 18-digit float would read as a digit run: babble)."""

    def evaluate(rows):
        log.append(len(rows))
        return [Candidate(named(r), 1.0 - sum(abs(s - 0.3) for s in r) / len(r), 20.0) for r in rows]

    return evaluate


def test_batches_ask_the_configured_number_of_trials():
    sizes: list[int] = []
    trials = search_prompt(scorer(sizes), 3, SearchConfig(n_trials=7, batch_size=3), seed=1)
    assert sizes == [3, 3, 1]
    assert [t.number for t in trials] == list(range(7))
    for t in trials:
        assert len(t.alphas) == len(t.gammas) == 3
        assert all(0.01 <= v <= 1.0 for v in (*t.alphas, *t.gammas))
        assert t.answer == named([a * g for a, g in zip(t.alphas, t.gammas)])


def test_same_seed_same_trials_and_batching_does_not_change_them():
    one_at_a_time = search_prompt(scorer([]), 2, SearchConfig(n_trials=5, batch_size=1), seed=prompt_seed(0, 42))
    batched = search_prompt(scorer([]), 2, SearchConfig(n_trials=5, batch_size=5), seed=prompt_seed(0, 42))
    again = search_prompt(scorer([]), 2, SearchConfig(n_trials=5, batch_size=5), seed=prompt_seed(0, 42))
    # within TPE's random start-up phase the sampled weights do not depend on the batching
    assert [t.alphas for t in one_at_a_time] == [t.alphas for t in batched] == [t.alphas for t in again]
    other = search_prompt(scorer([]), 2, SearchConfig(n_trials=5), seed=prompt_seed(0, 43))
    assert [t.alphas for t in other] != [t.alphas for t in batched]


def test_objective_and_best_trial():
    trials = search_prompt(scorer([]), 1, SearchConfig(n_trials=6, sampler="random"), seed=3)
    for t in trials:
        assert t.objective == pytest.approx(0.7 * t.overlap - 0.3 * 0.2)
    best = best_trial(trials)
    assert best.objective == max(t.objective for t in trials)
    assert prompt_seed(0, 1) != prompt_seed(1, 0) and prompt_seed(5, 9) == prompt_seed(5, 9)


def test_sampler_choice():
    tpe = make_sampler(SearchConfig(sampler="tpe", n_startup_trials=2), seed=0)
    assert isinstance(tpe, optuna.samplers.TPESampler) and tpe._n_startup_trials == 2
    assert isinstance(make_sampler(SearchConfig(sampler="random"), seed=0), optuna.samplers.RandomSampler)


def test_stored_study_is_read_back_not_searched_again(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    calls: list[int] = []
    cfg = SearchConfig(n_trials=4, batch_size=2)
    first = search_prompt(scorer(calls), 2, cfg, seed=7, storage=storage, study_name="p0")
    assert calls == [2, 2]
    again = search_prompt(scorer(calls), 2, cfg, seed=7, storage=storage, study_name="p0")
    assert calls == [2, 2], "a complete stored study must not be evaluated again"
    assert again == first
    # an incomplete study (the job died mid-search) is searched again from its start
    first_trial = optuna.load_study(study_name="p0", storage=storage).trials[0]
    optuna.delete_study(study_name="p0", storage=storage)
    study = optuna.create_study(direction="maximize", storage=storage, study_name="p0")
    study.add_trial(first_trial)
    redone = search_prompt(scorer(calls), 2, cfg, seed=7, storage=storage, study_name="p0")
    assert calls == [2, 2, 2, 2] and redone == first


def packed(evaluate):
    """``evaluate`` over the (slot, strengths, extra parameters) rows of a packed search."""
    return lambda rows: evaluate([strengths for _, strengths, _ in rows])


def shown_count(screen: io.StringIO) -> str:
    """The ``n/total`` of the last frame a tqdm bar drew."""
    return re.findall(r"(\d+/\d+)", screen.getvalue())[-1]


def test_the_trial_bar_counts_and_shows_every_trial_of_a_pack_and_of_a_stored_one(tmp_path):
    """A pack's trials are told in a burst after each batch: the bar must count and show each one,
    not the first of the burst; trials read back from stored studies count the same way."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    cfg = SearchConfig(n_trials=5, batch_size=5)
    specs = [StudySpec(prompt_seed(0, i), f"p{i}") for i in range(5)]
    for attempt in ("searched", "read back"):
        screen = io.StringIO()
        calls: list[int] = []
        with tqdm(total=25, desc="trials", file=screen, disable=False, mininterval=10) as bar:
            results = search_prompts(packed(scorer(calls)), specs, 2, cfg, on_trial=count_trials(bar), storage=storage)
            assert bar.n == 25, attempt
            assert shown_count(screen) == "25/25", attempt
        assert [len(r) for r in results] == [5] * 5
        assert calls == ([25] if attempt == "searched" else []), "one packed batch, then nothing to evaluate"


def test_a_disabled_trial_bar_is_left_alone():
    screen = io.StringIO()
    with tqdm(total=3, file=screen, disable=True) as bar:
        search_prompt(scorer([]), 1, SearchConfig(n_trials=3), seed=0, on_trial=lambda r: count_trials(bar)(0, r))
        assert screen.getvalue() == ""


def test_progress_moves_during_one_batched_generation():
    """A packed batch tells its trials only when it ends (minutes on a CPU): the trials bar shows
    the decode step meanwhile, driven by greedy's per-step callback on a real (tiny) model."""
    import torch

    from fusion.model.generation import Encoded, greedy
    from fusion.model.random_models import random_model
    from fusion.search.weights import show_decode_steps

    out = io.StringIO()
    seen: list[tuple[int, int]] = []
    with tqdm(total=10, desc="trials", file=out, mininterval=0) as bar:
        show = show_decode_steps(bar, max_new_tokens=6, every_seconds=0)

        def on_step(step: int, running: int) -> None:
            seen.append((step, running))
            show(step, running)

        ids = torch.tensor([[3, 4, 5], [6, 7, 8]])
        rows = greedy(
            random_model("tiny"), Encoded(ids, torch.ones_like(ids)), max_new_tokens=6, stop_ids=set(), on_step=on_step
        )
    assert [step for step, _ in seen] == list(range(1, 7)) and all(running == 2 for _, running in seen[:-1])
    assert [len(r) for r in rows] == [6, 6]
    assert "decoding step 6/6, 2 rows running" in out.getvalue()
    assert bar.n == 0  # the trial count itself moves only when trials are told


def test_studies_are_searched_in_memory_and_stored_once_complete_with_the_same_trials(tmp_path):
    """A pack's studies are asked and told in memory and written to the job's storage when their
    trials are all told (a SQLite storage took 4x the CPU per trial asked there): the trials are
    those of a search without storage, and they read back the same."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    cfg = SearchConfig(n_trials=4, batch_size=2)
    specs = [StudySpec(prompt_seed(0, i), f"p{i}") for i in range(3)]
    stored_while_searching: list[list[str]] = []

    def evaluate(rows):
        stored_while_searching.append(sorted(optuna.get_all_study_names(storage)))
        return packed(scorer([]))(rows)

    kept = search_prompts(evaluate, specs, 2, cfg, storage=storage)
    assert stored_while_searching == [[], []], "nothing is written before a study is complete"
    assert kept == search_prompts(packed(scorer([])), specs, 2, cfg)  # the same trials without storage
    for spec, results in zip(specs, kept):
        study = optuna.load_study(study_name=spec.name, storage=storage)
        assert [t.number for t in study.trials] == [r.number for r in results] == [0, 1, 2, 3]
        assert [t.user_attrs["answer"] for t in study.trials] == [r.answer for r in results]
    assert search_prompts(evaluate, specs, 2, cfg, storage=storage) == kept  # read back, not searched
    assert len(stored_while_searching) == 2


def test_the_old_path_asks_and_tells_on_the_storage_and_gives_the_same_trials(tmp_path):
    """``search.studies_in_memory=false``: each trial lands in the storage as it is told."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    cfg = SearchConfig(n_trials=4, batch_size=2, studies_in_memory=False)
    specs = [StudySpec(prompt_seed(0, i), f"p{i}") for i in range(2)]
    stored_while_searching: list[list[str]] = []

    def evaluate(rows):
        stored_while_searching.append(sorted(optuna.get_all_study_names(storage)))
        return packed(scorer([]))(rows)

    old = search_prompts(evaluate, specs, 2, cfg, storage=storage)
    assert stored_while_searching == [["p0", "p1"]] * 2
    assert old == search_prompts(packed(scorer([])), specs, 2, SearchConfig(n_trials=4, batch_size=2))
