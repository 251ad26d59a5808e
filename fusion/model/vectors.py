"""Steering vectors: one prompt's reference means and per-layer strengths, applied to any model.

:class:`SteeringVectors` holds ``targets`` (the reference means ``h_l`` of every layer, ``[layers,
d]``) and ``strengths`` (``alpha * gamma`` per layer, ``[1, layers]``) with a JSON ``meta``;
``vectors.apply(model)`` puts :func:`fusion.model.steering.steering`'s hooks on a Hugging Face
causal LM inside a ``with`` block and always removes them. A run saves one file per prompt
(:func:`save_vectors`, a safetensors file with the meta in its header); :func:`read_vectors`
reads one back, and :mod:`fusion.tracking.vectors` finds a run's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

from fusion.errors import SetupError
from fusion.model.devices import input_device
from fusion.model.loading import find_decoder_layers
from fusion.model.steering import steering

if TYPE_CHECKING:
    from torch import nn

    from fusion.model.steering import SteeringSession

FORMAT = "fusion-steering-vectors/1"


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
        additive = self.meta.get("update") == "add"  # a steering vector added (mean_diff), not a move toward it
        with steering(layers, targets, self.strengths, cached=use_cache, additive=additive) as session:
            yield session

    def check_model(self, identity: str, num_layers: int, hidden_size: int) -> None:
        """Refuse, in one line, a model the vectors were not made for."""
        meta = self.meta
        if (meta["num_layers"], meta["hidden_size"]) != (num_layers, hidden_size) or meta["model_identity"] != identity:
            raise SetupError(
                f"these steering vectors were made for {meta['model_identity']} ({meta['num_layers']} layers, width "
                f"{meta['hidden_size']}), not {identity} ({num_layers} layers, width {hidden_size}): load that model"
            )


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
