"""Preparing a job: every check on its inputs that needs no model weights, before anything heavy.

Runs right after the config is validated and before transformers or MLflow are imported, so
a missing model package or path, missing data, an unknown judge or an unset key variable,
segment boundaries past the model's last layer (read from the GGUF header or config.json), a
method whose functions fail on a dry input at that depth (fusion.methods.dry_run), or a device
this machine does not have fail in seconds, every problem found named in one line (a fresh machine
hears about the model package and the data at once). Only the device check imports torch, and
only when the config names a device or precision other than the CPU's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from fusion.config.compose import compose_job, named_model_config, segment_count, validate
from fusion.config.overrides import check_composition, check_overrides
from fusion.config.schema import JobConfig
from fusion.data import load_questions
from fusion.errors import FusionError, SetupError
from fusion.evaluate.judges import Judge
from fusion.evaluate.judges.factory import make_judge
from fusion.methods import resolve
from fusion.methods.dry_run import dry_run
from fusion.model.sources import ModelSource, layer_count, resolve_source
from fusion.records import Prompt
from fusion.references import resolve as resolve_reference
from fusion.tracking.stores import check_study_storage, check_tracking_store, tracking_uri

T = TypeVar("T")


def checked_job(overrides: Sequence[str] = (), config: DictConfig | None = None) -> tuple[JobConfig, dict[str, Any]]:
    """The typed, validated job and its resolved config: from the ``config`` Hydra composed for
    ``python -m fusion.run``, or from ``overrides`` composed and checked exactly as it checks them
    (a misspelt key or a bad value: one line, before anything loads)."""
    if config is None:
        overrides = list(overrides)
        check_overrides(overrides)
        check_composition(overrides)
        config = compose_job(overrides)
    job = validate(config)
    resolved = {str(k): v for k, v in OmegaConf.to_container(config, resolve=True).items()}  # type: ignore[union-attr]
    return job, resolved


@dataclass(frozen=True)
class Prepared:
    """What a job needs that is cheap to get: getting it checks the model path, the data and the judge."""

    source: ModelSource
    prompts: list[Prompt]
    judge: Judge
    scorer_source: ModelSource | None = None  # search.perplexity_model, if set
    # search.strengths, or those reduced from search.strengths_from: applied with no search
    fixed_strengths: list[float] | None = None


def load_prompts(job: JobConfig) -> list[Prompt]:
    """The job's questions from the question set ``data`` names (fusion.data): missing or malformed data,
    or held-out rows, fail here in one line."""
    return load_questions(job.data)


def check_placement(job: JobConfig) -> None:
    """A GPU that is not there, or a dtype the device cannot compute in, fails here (DeviceError,
    one line). Needs torch, so it runs last and only when the config asks for more than the CPU
    in float32: ``auto`` always resolves to something this machine has."""
    model = job.model
    if (
        model.device in ("auto", "cpu")
        and model.dtype in ("auto", "float32")
        and model.device_map is None
        and model.cpu_linear != "onednn"
    ):
        return
    from fusion.model.devices import resolve

    resolve(model.device, model.dtype, model.device_map, model.cpu_linear)


class Problems:
    """Set-up problems gathered so that one message names all of them: a new machine missing the
    model package and the data hears about both at once, not one per run."""

    def __init__(self) -> None:
        self.errors: list[FusionError] = []

    def attempt(self, check: Callable[[], T]) -> T | None:
        """``check()``, or None where it failed (its problem kept for :meth:`raise_any`)."""
        try:
            return check()
        except FusionError as error:
            self.errors.append(error)
            return None

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            listed = "; ".join(f"({i}) {error}" for i, error in enumerate(self.errors, 1))
            raise SetupError(f"{len(self.errors)} set-up problems: {listed}")


def _scorer_source(job: JobConfig) -> ModelSource | None:
    scorer = job.search.perplexity_model
    try:
        return resolve_source(named_model_config(scorer)) if scorer else None
    except FusionError as error:
        raise SetupError(f"search.perplexity_model={scorer}: {error}") from error


def _check_method(job: JobConfig, source: ModelSource, fixed_strengths: list[float] | None) -> None:
    """The method's functions on a dry input at the model's depth (read without its weights); a
    depth that cannot be read cheaply (a hub id offline) is checked on the loaded model instead."""
    method = resolve(job.steering, job.steering.plugin)
    num_layers = layer_count(source, job.model.revision) if method.spec.steers else None
    if num_layers is not None:
        dry_run(method, num_layers, job.steering, fixed_strengths)


def check_questions(job: JobConfig, prompts: list[Prompt]) -> None:
    """What the method needs of the job's questions (mean_diff: both cross-fitting folds), where it
    says (an optional ``check_questions(questions, seed)``): a study checks every job's before its first."""
    check = getattr(resolve(job.steering, job.steering.plugin), "check_questions", None)
    problem = check(prompts, job.search.seed) if check is not None else None
    if problem:
        raise SetupError(problem)


def _check_reference(job: JobConfig, prompts: list[Prompt]) -> None:
    """The reference must be known and find its text in every question (reference=passage: a passage)."""
    problem = resolve_reference(job.reference.name, job.reference.plugin).check(prompts)
    if problem:
        raise SetupError(problem)


def _fixed_strengths(job: JobConfig) -> list[float] | None:
    """search.strengths, or those reduced from search.strengths_from's run; None: searched."""
    if job.search.strengths is not None:
        return [float(v) for v in job.search.strengths]
    if job.search.strengths_from is None:
        return None
    from fusion.tracking.strengths import fixed_strengths

    values = fixed_strengths(job.search.strengths_from, job.search.strengths_rule, tracking_uri(job))
    if len(values) != segment_count(job):
        raise SetupError(
            f"search.strengths_from={job.search.strengths_from} holds {len(values)} strengths per question: "
            f"{job.steering.mode} steering here takes {segment_count(job)} (take them from a job of the same method)"
        )
    return values


def prepare(job: JobConfig) -> Prepared:
    """Resolve the model, the perplexity model, the data, the judge, the device and the stores, and
    call the method's functions on a dry input; every one of them missing or wrong is named in one
    :class:`~fusion.errors.FusionError` line."""
    problems = Problems()
    scorer_source = problems.attempt(lambda: _scorer_source(job))
    source = problems.attempt(lambda: resolve_source(job.model))
    prompts = problems.attempt(lambda: load_prompts(job))
    judge = problems.attempt(lambda: make_judge(job.judge))
    if prompts is not None:
        problems.attempt(lambda: _check_reference(job, prompts))
        problems.attempt(lambda: check_questions(job, prompts))
    if job.steering.target == "shuffled" and prompts is not None and len(prompts) < 2:
        problems.errors.append(
            SetupError("steering.target=shuffled needs at least 2 prompts in the job: raise data.limit")
        )
    problems.attempt(lambda: check_placement(job))
    timeout = job.tracking.check_timeout
    before = len(problems.errors)
    problems.attempt(lambda: check_tracking_store(tracking_uri(job), timeout))
    store_ok = len(problems.errors) == before  # search.strengths_from reads a run from it
    fixed = problems.attempt(lambda: _fixed_strengths(job)) if store_ok or job.search.strengths_from is None else None
    if source is not None:
        problems.attempt(lambda: _check_method(job, source, fixed))
    if job.search.study_storage == "url":
        problems.attempt(lambda: check_study_storage(job.search.study_url, timeout))
    problems.raise_any()
    assert source is not None and prompts is not None and judge is not None
    return Prepared(source, prompts, judge, scorer_source, fixed)
