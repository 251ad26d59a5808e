"""Preparing a job: every check on its inputs that needs no model weights, before anything heavy.

Runs right after the config is validated and before transformers or MLflow are imported, so
a missing model package or path, missing data, an unknown judge or an unset key variable,
segment boundaries past the model's last layer (read from the GGUF header or config.json), or a
device this machine does not have fail with one line in seconds. Only the device check imports
torch, and only when the config names a device or precision other than the CPU's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fusion.config.compose import compose_job, named_model_config, segment_count, validate
from fusion.config.overrides import check_composition, check_overrides
from fusion.config.schema import JobConfig
from fusion.data import load_questions
from fusion.errors import FusionError, SetupError
from fusion.evaluate.judges import Judge
from fusion.evaluate.judges.factory import make_judge
from fusion.methods import resolve
from fusion.model.sources import ModelSource, layer_count, resolve_source
from fusion.records import Prompt
from fusion.tracking.stores import check_study_storage, check_tracking_store, tracking_uri


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


def prepare(job: JobConfig) -> Prepared:
    """Resolve the model, the perplexity model, the data, the judge and the device; any of them
    missing or wrong raises a one-line :class:`~fusion.errors.FusionError`."""
    scorer = job.search.perplexity_model
    try:
        scorer_source = resolve_source(named_model_config(scorer)) if scorer else None
    except FusionError as error:
        raise SetupError(f"search.perplexity_model={scorer}: {error}") from error
    source = resolve_source(job.model)
    method = resolve(job.steering, job.steering.plugin)
    num_layers = layer_count(source, job.model.revision) if method.spec.steers else None
    if num_layers is not None:  # the method's layer groups (segment boundaries, a layer) against the model's depth
        method.groups(num_layers, job.steering)  # checked again on the loaded model
    prepared = Prepared(source, load_prompts(job), make_judge(job.judge), scorer_source)
    if job.steering.target == "shuffled" and len(prepared.prompts) < 2:
        raise SetupError("steering.target=shuffled needs at least 2 prompts in the job: raise data.limit")
    check_placement(job)
    timeout = job.tracking.check_timeout
    check_tracking_store(tracking_uri(job), timeout)
    if job.search.strengths is not None:
        prepared = replace(prepared, fixed_strengths=[float(v) for v in job.search.strengths])
    elif job.search.strengths_from is not None:
        from fusion.tracking.strengths import fixed_strengths

        values = fixed_strengths(job.search.strengths_from, job.search.strengths_rule, tracking_uri(job))
        if len(values) != segment_count(job):
            raise SetupError(
                f"search.strengths_from={job.search.strengths_from} holds {len(values)} strengths per question: "
                f"{job.steering.mode} steering here takes {segment_count(job)} (take them from a job of the same method)"
            )
        prepared = replace(prepared, fixed_strengths=values)
    if job.search.study_storage == "url":
        check_study_storage(job.search.study_url, timeout)
    return prepared
