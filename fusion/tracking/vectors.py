"""Steering vectors as run artifacts: each prompt's reference means and chosen strengths, reloadable.

(:class:`fusion.model.vectors.SteeringVectors` is the object; this module makes one from a job's
prompt and finds a run's.)

A run stores, per prompt, one safetensors file ``vectors/prompt-<index>.safetensors`` holding
``targets`` (the reference means ``h_l`` of every layer, ``[layers, d]`` float32) and ``strengths``
(the best trial's ``alpha * gamma`` per layer, ``[layers]``), with a small JSON index in the file's
metadata: model identity, layer count, hidden size, dtype, steering mode, segments, decoding, and
what is needed to replay the answer (question, prompt texts, max new tokens). :func:`load_steering`
returns them ready for :func:`fusion.model.steering.steering`; ``fusion steer`` replays them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from fusion.errors import SetupError
from fusion.evaluate.answer_end import answer_stops
from fusion.methods import resolve
from fusion.model.vectors import SteeringVectors, read_vectors

if TYPE_CHECKING:
    from fusion.config.schema import JobConfig
    from fusion.evaluate.outcomes import PromptOutcome
    from fusion.model.loading import LoadedModel

FORMAT = "fusion-steering-vectors/1"


def artifact_name(index: int) -> str:
    return f"vectors/prompt-{index}.safetensors"


def prompt_vectors(
    job: JobConfig,
    loaded: LoadedModel,
    segments: str,
    outcome: PromptOutcome,
    steer_text: str,
    targets: torch.Tensor,
    strengths: torch.Tensor,
) -> SteeringVectors:
    """What replays a prompt's steered answer: its targets, the best trial's strengths per layer
    (``[1, layers]``), and how the answer was generated."""
    meta = {
        "model": job.model.name,
        "model_identity": loaded.source.identity,
        "num_layers": loaded.num_layers,
        "hidden_size": loaded.hidden_size,
        "dtype": loaded.placement.dtype_name,
        "mode": job.steering.mode,
        "segments": segments,
        # how the targets are applied: "toward" (Fusion Steering) or "add" (a steering vector)
        "update": resolve(job.steering, job.steering.plugin).spec.update,
        "decoding": job.steering.decoding,
        "index": outcome.index,
        "target_index": outcome.steered.target_index,
        "question": outcome.question,
        "gold": outcome.gold,
        "steer_text": steer_text,
        "max_new_tokens": job.prompts.max_new_tokens,
        "answer": outcome.steered.answer,
        # enough to load the same model and to render another question the same way
        "model_config": asdict(job.model),
        "quantization": asdict(job.quantization),
        "steer_template": job.prompts.steer,
        "chat_template": job.prompts.chat_template,
        # where the answer ended (prompts.stop_strings as applied): a replay stops there too
        "stop_strings": list(answer_stops(job.prompts.stop_strings, job.prompts.chat_template)),
    }
    return SteeringVectors(targets.float().cpu(), strengths.float().cpu(), meta)


def load_vectors(source: str | Path, prompt: int | None = None, *, tracking_uri: str | None = None) -> SteeringVectors:
    """Steering vectors from a ``.safetensors`` file a run saved, or from a run: ``source`` its run
    id and ``prompt`` the row index of the question (``MLFLOW_TRACKING_URI`` or the project's
    store unless ``tracking_uri`` names one)."""
    if prompt is None:
        path = Path(source).expanduser()
        if not path.is_file():
            raise SetupError(f"no steering-vector file {path}: pass a file, or a run id and prompt=<row index>")
        return read_vectors(path)
    return load_steering(str(source), prompt, tracking_uri)


def load_steering(run_id: str, prompt: int, tracking_uri: str | None = None) -> SteeringVectors:
    """The steering that a run found for the prompt with row index ``prompt``, from its artifact."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from fusion.tracking.stores import default_tracking_uri

    client = MlflowClient(tracking_uri=tracking_uri or default_tracking_uri())
    try:
        local = client.download_artifacts(run_id, artifact_name(prompt))
    except (MlflowException, OSError) as error:
        raise SetupError(
            f"run {run_id} has no steering vectors for prompt {prompt} ({type(error).__name__}): pick a prompt the run "
            "finished (its prompts.json lists them) or check --tracking-uri"
        ) from None
    return read_vectors(Path(local))
