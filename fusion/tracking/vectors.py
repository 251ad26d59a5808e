"""Steering vectors as run artifacts: each prompt's reference means and chosen strengths, reloadable.

A run stores, per prompt, one safetensors file ``vectors/prompt-<index>.safetensors`` holding
``targets`` (the reference means ``h_l`` of every layer, ``[layers, d]`` float32) and ``strengths``
(the best trial's ``alpha * gamma`` per layer, ``[layers]``), with a small JSON index in the file's
metadata: model identity, layer count, hidden size, dtype, steering mode, segments, decoding, and
what is needed to replay the answer (question, prompt texts, max new tokens). :func:`load_steering`
returns them ready for :func:`fusion.model.steering.steer`; ``python -m fusion.steer`` replays them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

from fusion.errors import SetupError
from fusion.evaluate.answer_end import answer_stops

if TYPE_CHECKING:
    from torch import nn

    from fusion.config.schema import JobConfig
    from fusion.evaluate.outcomes import PromptOutcome
    from fusion.model.loading import LoadedModel
    from fusion.model.steering import SteeringSession

FORMAT = "fusion-steering-vectors/1"


def artifact_name(index: int) -> str:
    return f"vectors/prompt-{index}.safetensors"


@dataclass(frozen=True)
class SteeringVectors:
    """One prompt's steering: ``targets`` ``[layers, d]`` and ``strengths`` ``[1, layers]`` (one row)."""

    targets: torch.Tensor
    strengths: torch.Tensor
    meta: dict[str, Any]

    def scaled(self, factor: float) -> SteeringVectors:
        """The same steering with every strength multiplied by ``factor``."""
        return SteeringVectors(self.targets, self.strengths * factor, {**self.meta, "strength_scale": factor})

    @contextmanager
    def apply(self, model: nn.Module, *, cached: bool | None = None) -> Iterator[SteeringSession]:
        """Steer ``model`` (any Hugging Face causal LM with these vectors' layer count and width)
        inside the block; the hooks are removed on exit, whatever happens.

        ``cached`` (default: as the run decoded) keeps running means for KV-cached generation, so
        ``model.generate(...)`` works as usual: one generation of one unpadded prompt per block, since
        the running means carry over from one forward pass to the next. ``cached=False`` is the
        paper's exact mode: generate with ``use_cache=False``.
        """
        from fusion.model.devices import input_device
        from fusion.model.loading import find_decoder_layers
        from fusion.model.steering import steer

        layers = find_decoder_layers(model)
        width = self.targets.shape[-1]
        if len(layers) != self.targets.shape[0] or getattr(model.config, "hidden_size", width) != width:
            raise SetupError(
                f"these steering vectors are for {self.targets.shape[0]} layers of width {width}, the model has "
                f"{len(layers)} layers of width {getattr(model.config, 'hidden_size', '?')}: load "
                f"{self.meta.get('model_identity', 'the model they were made for')}"
            )
        use_cache = self.meta.get("decoding", "cached") == "cached" if cached is None else cached
        targets = self.targets.to(input_device(model))
        with steer(layers, targets, self.strengths, cached=use_cache) as session:
            yield session

    def check_model(self, identity: str, num_layers: int, hidden_size: int) -> None:
        """Refuse, in one line, a model the vectors were not made for."""
        meta = self.meta
        if (meta["num_layers"], meta["hidden_size"]) != (num_layers, hidden_size) or meta["model_identity"] != identity:
            raise SetupError(
                f"these steering vectors were made for {meta['model_identity']} ({meta['num_layers']} layers, width "
                f"{meta['hidden_size']}), not {identity} ({num_layers} layers, width {hidden_size}): load that model"
            )


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


def save_vectors(path: Path, targets: torch.Tensor, strengths: torch.Tensor, meta: dict[str, Any]) -> Path:
    """Write one prompt's vectors; ``meta`` must be JSON-serialisable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        "targets": targets.detach().float().cpu().contiguous(),
        "strengths": strengths.detach().float().cpu().reshape(-1),
    }
    save_file(tensors, str(path), metadata={"format": FORMAT, "index": json.dumps(meta, sort_keys=True)})
    return path


def read_vectors(path: Path) -> SteeringVectors:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        header = handle.metadata() or {}
    if header.get("format") != FORMAT:
        raise SetupError(f"{path} is not a fusion steering-vector file (format {header.get('format')!r})")
    tensors = load_file(str(path))
    return SteeringVectors(tensors["targets"], tensors["strengths"][None, :], json.loads(header["index"]))


def load_vectors(source: str | Path, prompt: int | None = None, *, tracking_uri: str | None = None) -> SteeringVectors:
    """Steering vectors from a ``.safetensors`` file a run saved, or from a run: ``source`` its run
    id and ``prompt`` the SimpleQA index of the question (``MLFLOW_TRACKING_URI`` or the project's
    store unless ``tracking_uri`` names one)."""
    if prompt is None:
        path = Path(source).expanduser()
        if not path.is_file():
            raise SetupError(f"no steering-vector file {path}: pass a file, or a run id and prompt=<SimpleQA index>")
        return read_vectors(path)
    return load_steering(str(source), prompt, tracking_uri)


def load_steering(run_id: str, prompt: int, tracking_uri: str | None = None) -> SteeringVectors:
    """The steering that a run found for the prompt with SimpleQA index ``prompt``, from its artifact."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from fusion.config.compose import default_tracking_uri

    client = MlflowClient(tracking_uri=tracking_uri or default_tracking_uri())
    try:
        local = client.download_artifacts(run_id, artifact_name(prompt))
    except (MlflowException, OSError) as error:
        raise SetupError(
            f"run {run_id} has no steering vectors for prompt {prompt} ({type(error).__name__}): pick a prompt the run "
            "finished (its prompts.json lists them) or check --tracking-uri"
        ) from None
    return read_vectors(Path(local))
