"""Model loading (interim; helper replaces with cache support)."""

from __future__ import annotations

import importlib.metadata as md
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import AutoModelForCausalLM, AutoTokenizer


@dataclass
class ModelConfig:
    name: str = "smollm2_135m"
    id: str | None = None
    gguf_package: str | None = None
    gguf_file: str | None = None
    dtype: str = "float32"
    revision: str | None = None


@dataclass
class QuantizationConfig:
    name: str = "none"
    load_in_8bit: bool = False
    llm_int8_threshold: float = 6.0


@dataclass(frozen=True)
class ModelSource:
    location: str
    gguf_file: str | None
    identity: str


@dataclass
class LoadedModel:
    model: nn.Module
    tokenizer: object
    source: ModelSource
    num_layers: int
    hidden_size: int
    decoder_layers: nn.ModuleList


def resolve_source(cfg: ModelConfig) -> ModelSource:
    if cfg.gguf_package:
        try:
            dist = md.distribution(cfg.gguf_package)
        except md.PackageNotFoundError:
            raise FileNotFoundError(f"pip package {cfg.gguf_package} is not installed: run `make setup`") from None
        files = [f for f in dist.files or [] if str(f).endswith(".gguf")]
        path = Path(dist.locate_file(files[0]))
        return ModelSource(str(path.parent), path.name, f"{cfg.gguf_package}=={dist.version}:{path.name}")
    return ModelSource(cfg.id, cfg.gguf_file, cfg.id)


def load_model(cfg: ModelConfig, quant: QuantizationConfig, cache_dir: Path | None) -> LoadedModel:
    src = resolve_source(cfg)
    kw = {"gguf_file": src.gguf_file} if src.gguf_file else {}
    tok = AutoTokenizer.from_pretrained(src.location, **kw)
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(src.location, dtype=getattr(torch, cfg.dtype), **kw).eval()
    torch.set_grad_enabled(False)
    layers = model.model.layers
    return LoadedModel(model, tok, src, len(layers), model.config.hidden_size, layers)
