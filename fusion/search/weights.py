"""Per-prompt weight search with Optuna's ask/tell interface, a batch of trials at a time.

One study per prompt, its sampler seeded from the job seed and the prompt's row index, so a
prompt's search does not depend on which other prompts run in the job (shards, packs and resumed
runs give the same numbers). Each batch of asked trials is evaluated together (one batched
generation) and told back in order; the batches of several prompts can be packed into one
generation (:func:`search_prompts`).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import optuna

from fusion.config.schema import SearchConfig
from fusion.evaluate.outcomes import Candidate, TrialResult
from fusion.evaluate.scoring import search_objective
from fusion.profiling import stage

if TYPE_CHECKING:
    from tqdm import tqdm

# Evaluates rows of per-group strengths (alpha*gamma) as one batch.
Evaluate = Callable[[Sequence[Sequence[float]]], list[Candidate]]
# Where complete studies are kept (an Optuna storage; the job gives its URL)
Storage = optuna.storages.BaseStorage
# A trial's extra parameters beyond alpha and gamma (a steering method's, e.g. single_layer's layer)
SuggestExtra = Callable[[optuna.Trial], dict[str, float]]


def prompt_seed(job_seed: int, prompt_index: int) -> int:
    """A stable per-prompt seed (independent of Python's hash randomisation)."""
    digest = hashlib.sha256(f"{job_seed}:{prompt_index}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def make_sampler(cfg: SearchConfig, seed: int) -> optuna.samplers.BaseSampler:
    if cfg.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=cfg.n_startup_trials)


def _stored_results(study: optuna.Study, n_segments: int, extra: Sequence[str] = ()) -> list[TrialResult]:
    """Rebuild trial results from a stored study (each trial keeps its answer and scores as attrs)."""
    results = []
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
    for t in sorted(study.get_trials(states=states), key=lambda t: t.number):
        results.append(
            TrialResult(
                t.number,
                tuple(t.params[f"alpha_{s}"] for s in range(n_segments)),
                tuple(t.params[f"gamma_{s}"] for s in range(n_segments)),
                t.user_attrs["answer"],
                t.user_attrs["overlap"],
                float(t.user_attrs["perplexity"]),
                float(t.user_attrs.get("objective", t.value or 0.0)),  # studies stored before failures were kept
                t.user_attrs.get("failure", ""),
                {name: float(t.params[name]) for name in extra if name in t.params}
                | {name: float(v) for name, v in t.user_attrs.get("fixed_params", {}).items()},
            )
        )
    return results


@dataclass(frozen=True)
class StudySpec:
    """One prompt's study in a packed search: its sampler seed and, with a storage, its name."""

    seed: int
    name: str | None = None


# Evaluates (prompt slot, per-group strengths, extra parameters) rows of several prompts as one batch.
EvaluatePacked = Callable[[Sequence[tuple[int, Sequence[float], dict[str, float]]]], list[Candidate]]
# Called with (prompt slot, result) for every trial told or read back from storage.
OnTrial = Callable[[int, TrialResult], None]


def count_trials(bar: tqdm | None) -> OnTrial:
    """An ``on_trial`` callback that advances ``bar`` by one per finished trial and shows every count.

    A packed round tells all its trials in a burst after one batched generation (and a stored study
    is read back in one), faster than tqdm's ``mininterval``: left to itself tqdm would draw the
    first of them ("1/25") and keep that on screen while the pack is graded and logged.
    """

    def on_trial(_slot: int, _result: TrialResult) -> None:
        if bar is None:
            return
        if getattr(bar, "postfix", None):  # the batch has finished decoding: its last decode step is no longer news
            bar.set_postfix_str("", refresh=False)
        if not bar.update(1):
            bar.refresh()  # a no-op on a disabled bar

    return on_trial


def show_decode_steps(bar: tqdm | None, max_new_tokens: int, every_seconds: float = 0.5) -> Callable[[int, int], None]:
    """An ``on_step`` callback for a batched generation: the bar's postfix shows the decode step and
    the rows still running, so progress moves while one packed batch of trials generates (on a CPU
    that is minutes before the first trial is told). Redrawn at most every ``every_seconds``."""
    last = [0.0]

    def on_step(step: int, running: int) -> None:
        now = time.monotonic()
        if bar is None or (now - last[0] < every_seconds and running):
            return
        last[0] = now
        bar.set_postfix_str(f"decoding step {step}/{max_new_tokens}, {running} rows running")

    return on_step


def _open_study(
    spec: StudySpec, cfg: SearchConfig, n_segments: int, storage: Storage | None, extra: Sequence[str] = ()
) -> optuna.Study | list[TrialResult]:
    """A new study for ``spec`` (in memory unless ``cfg.studies_in_memory`` is false: :func:`_keep`
    stores it once complete), or the results of a stored one that holds all its trials.

    An incomplete stored study (the job died mid-search) is deleted and searched from its start,
    so the seeded sampler draws the same weights as an uninterrupted run would.
    """
    if storage is not None and spec.name is not None:
        try:
            stored = optuna.load_study(study_name=spec.name, storage=storage)
        except KeyError:
            stored = None
        if stored is not None:
            done = _stored_results(stored, n_segments, extra)
            if len(done) >= cfg.n_trials:
                return done[: cfg.n_trials]
            optuna.delete_study(study_name=spec.name, storage=storage)
    on = None if cfg.studies_in_memory else storage  # false: asked and told on the storage, the old path
    sampler = make_sampler(cfg, spec.seed)  # reads the same trials either way: the same weights
    return optuna.create_study(direction="maximize", sampler=sampler, storage=on, study_name=spec.name)


def _keep(study: optuna.Study, name: str, storage: Storage) -> None:
    """A complete study written to ``storage`` in one go, a transaction per trial (asked and told
    there, each parameter and attribute took one: 4x the CPU per trial on SQLite, docs/speed.md)."""
    optuna.create_study(direction="maximize", storage=storage, study_name=name).add_trials(
        study.get_trials(deepcopy=False)
    )


def search_prompts(
    evaluate: EvaluatePacked,
    specs: Sequence[StudySpec],
    n_segments: int,
    cfg: SearchConfig,
    *,
    on_trial: OnTrial | None = None,
    storage: str | None = None,
    suggest_extra: SuggestExtra | None = None,
    extra_params: Sequence[str] = (),
) -> list[list[TrialResult]]:
    """Search several prompts at once: one study per prompt, their trial batches packed together.

    Each round asks every unfinished study for its next ``cfg.batch_size`` trials, evaluates all of
    them as one batch, and tells each study its own results. A study sees exactly the asks and tells
    it would see searched alone, and rows of a batch do not interact, so packing changes no trial.
    Studies already complete in ``storage`` are read back, not searched. ``on_trial(slot, result)``
    is called for every trial told (read-back trials included), in order. ``suggest_extra`` draws a
    trial's extra parameters (named ``extra_params``) after its alphas and gammas; values it fixes
    rather than draws are kept as the trial's user attribute ``fixed_params``.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # one connection for the pack: given a URL, each Optuna call would open the database anew
    store = optuna.storages.get_storage(storage) if storage is not None else None
    results: list[list[TrialResult]] = [[] for _ in specs]
    studies: list[optuna.Study | None] = []
    for slot, spec in enumerate(specs):
        with stage("search (Optuna)"):
            opened = _open_study(spec, cfg, n_segments, store, extra_params)
        if isinstance(opened, list):
            results[slot] = opened
            studies.append(None)
            for result in opened:
                if on_trial is not None:
                    on_trial(slot, result)
        else:
            studies.append(opened)
    while True:
        with stage("search (Optuna)"):
            asked = _ask_round(studies, results, cfg, n_segments, suggest_extra)
        if not asked:
            return results
        candidates = evaluate([(a.slot, [x * g for x, g in zip(a.alphas, a.gammas)], a.params) for a in asked])
        for ask, cand in zip(asked, candidates):
            study = studies[ask.slot]
            assert study is not None
            with stage("search (Optuna)"):
                result = _tell(study, ask, cand, cfg)
            results[ask.slot].append(result)
            if on_trial is not None:
                on_trial(ask.slot, result)
        for slot, study in enumerate(studies):
            if study is not None and len(results[slot]) >= cfg.n_trials:
                name = specs[slot].name
                if store is not None and name is not None and cfg.studies_in_memory:
                    with stage("search (Optuna)"):
                        _keep(study, name, store)
                studies[slot] = None


@dataclass(frozen=True)
class _Asked:
    """A trial asked of a prompt's study: its slot, the trial, its alphas and gammas and extra parameters."""

    slot: int
    trial: optuna.trial.Trial
    alphas: tuple[float, ...]
    gammas: tuple[float, ...]
    params: dict[str, float]


def _ask_round(
    studies: Sequence[optuna.Study | None],
    results: Sequence[Sequence[TrialResult]],
    cfg: SearchConfig,
    n_segments: int,
    suggest_extra: SuggestExtra | None,
) -> list[_Asked]:
    """The next ``cfg.batch_size`` trials of every unfinished study, in slot order."""
    asked = []
    for slot, study in enumerate(studies):
        if study is None:
            continue
        for _ in range(min(cfg.batch_size, cfg.n_trials - len(results[slot]))):
            trial = study.ask()
            alphas = tuple(trial.suggest_float(f"alpha_{s}", cfg.alpha.low, cfg.alpha.high) for s in range(n_segments))
            gammas = tuple(trial.suggest_float(f"gamma_{s}", cfg.gamma.low, cfg.gamma.high) for s in range(n_segments))
            params = suggest_extra(trial) if suggest_extra is not None else {}
            if fixed := {k: v for k, v in params.items() if k not in trial.params}:
                trial.set_user_attr("fixed_params", fixed)
            asked.append(_Asked(slot, trial, alphas, gammas, params))
    return asked


def _tell(study: optuna.Study, ask: _Asked, cand: Candidate, cfg: SearchConfig) -> TrialResult:
    """Score a trial's candidate, keep its answer and scores on the trial, tell its study."""
    trial = ask.trial
    value = search_objective(
        cfg.objective, cand.answer, cand.overlap, cand.perplexity, cfg.objective_weight, cfg.perplexity_cap
    )
    # JSON-safe: an empty answer has perplexity inf
    trial.set_user_attr("answer", cand.answer)
    trial.set_user_attr("overlap", cand.overlap)
    trial.set_user_attr("perplexity", cand.perplexity if math.isfinite(cand.perplexity) else "inf")
    trial.set_user_attr("objective", value)
    if cand.failure:
        trial.set_user_attr("failure", cand.failure)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial, value)
    return TrialResult(
        trial.number,
        ask.alphas,
        ask.gammas,
        cand.answer,
        cand.overlap,
        cand.perplexity,
        value,
        cand.failure,
        ask.params,
    )


def search_prompt(
    evaluate: Evaluate,
    n_segments: int,
    cfg: SearchConfig,
    seed: int,
    *,
    on_trial: Callable[[TrialResult], None] | None = None,
    storage: str | None = None,
    study_name: str | None = None,
) -> list[TrialResult]:
    """One prompt's search: :func:`search_prompts` with a pack of one."""
    return search_prompts(
        lambda rows: evaluate([strengths for _, strengths, _ in rows]),
        [StudySpec(seed, study_name)],
        n_segments,
        cfg,
        on_trial=None if on_trial is None else (lambda _slot, result: on_trial(result)),
        storage=storage,
    )[0]


def best_trial(results: Sequence[TrialResult]) -> TrialResult:
    """The trial with the highest objective among those that did not fail (all of them if every
    trial failed); ties go to the earliest trial (deterministic)."""
    pool = [r for r in results if not r.failure] or list(results)
    return max(pool, key=lambda r: (r.objective, -r.number))
