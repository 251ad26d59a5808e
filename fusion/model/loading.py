"""Loading models found by :mod:`fusion.model.sources`: GGUF files shipped in pip packages, local files, or the hub.

:func:`load_configured` loads the weights; a GGUF file is dequantized once and a
safetensors copy is kept in ``cache_dir`` (transformers refuses ``save_pretrained`` on a
GGUF-loaded model, so the state dict and config are written directly; see ``_write_cache``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_model
from torch import nn
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from fusion.config.schema import ModelConfig, QuantizationConfig
from fusion.errors import SetupError
from fusion.model.cpu_linear import pack_linears
from fusion.model.devices import Placement, input_device, resolve
from fusion.model.sources import ModelSource, resolve_source


@dataclass
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    source: ModelSource
    num_layers: int
    hidden_size: int
    decoder_layers: nn.ModuleList
    placement: Placement

    @property
    def device(self) -> torch.device:
        """Where inputs go (the first layer's device under a device_map)."""
        return input_device(self.model)


def find_decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder blocks: ``model.model.layers`` for Llama/Gemma, searched for in wrappers."""
    for path in ("model.layers", "model.language_model.layers", "transformer.h", "gpt_neox.layers", "layers"):
        node: object = model
        for attr in path.split("."):
            node = getattr(node, attr, None)
        if isinstance(node, nn.ModuleList):
            return node
    raise ValueError(f"cannot find the decoder layers of {type(model).__name__}")


def cache_key(source: ModelSource, dtype: str) -> str:
    text = json.dumps([source.identity, dtype, transformers.__version__])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _write_cache(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, target: Path) -> None:
    """Write a dequantized copy atomically (temp dir + rename): a crash never leaves half a cache."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        config = copy.deepcopy(model.config)
        # the GGUF quantization marker would make from_pretrained look for a GGUF file again
        for attr in ("quantization_config", "_is_quantized"):
            if hasattr(config, attr):
                delattr(config, attr)
        # a GGUF-derived config names no architecture; `transformers serve <this dir>` needs one
        if not getattr(config, "architectures", None):
            config.architectures = [type(model).__name__]
        config.save_pretrained(tmp)
        model.generation_config.save_pretrained(tmp)
        save_model(model, str(tmp / "model.safetensors"))  # drops the tied lm_head copy
        tokenizer.save_pretrained(tmp)
        (tmp / "fusion-cache.json").write_text(json.dumps({"complete": True}))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _from_pretrained(
    location: str, gguf_file: str | None, cfg: ModelConfig, quant: QuantizationConfig, placement: Placement
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load on ``placement``: accelerate places int8 weights and device_map'ed models as they
    load; anything else loads on the CPU and moves once (GGUF files are dequantized on the CPU)."""
    kwargs: dict = {"revision": cfg.revision} if cfg.revision else {}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
    model_kwargs: dict = {"dtype": placement.dtype}
    if placement.device_map is not None:
        model_kwargs["device_map"] = placement.device_map
    elif quant.load_in_8bit and placement.device.type == "cuda":
        model_kwargs["device_map"] = {"": str(placement.device)}
    if quant.load_in_8bit:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise SetupError(
                "quantization=int8 needs bitsandbytes: run `make setup` or use quantization=none"
            ) from None
        model_kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_8bit=True, llm_int8_threshold=quant.llm_int8_threshold
        )
    model = AutoModelForCausalLM.from_pretrained(location, **kwargs, **model_kwargs)
    if "device_map" not in model_kwargs and placement.device.type != "cpu":
        model = model.to(placement.device)  # type: ignore[arg-type]  # transformers types .to() narrowly
    return model, tokenizer


def load_configured(cfg: ModelConfig, quant: QuantizationConfig, cache_dir: Path | None) -> LoadedModel:
    """Load model and tokenizer for inference (eval mode, left padding, a pad token) on the device
    and in the precision ``cfg`` asks for (:func:`fusion.model.devices.resolve`), with float32 linear
    weights packed for oneDNN on the CPU unless ``cfg.cpu_linear`` is ``torch``."""
    placement = resolve(cfg.device, cfg.dtype, cfg.device_map, cfg.cpu_linear)
    source = resolve_source(cfg)
    cached = cache_dir / cache_key(source, placement.dtype_name) if cache_dir and source.gguf_file else None
    model = tokenizer = None
    if cached is not None and (cached / "fusion-cache.json").is_file():
        try:
            model, tokenizer = _from_pretrained(str(cached), None, cfg, quant, placement)
        except Exception:  # noqa: BLE001 - any unreadable cache (truncated, old format) is rebuilt
            shutil.rmtree(cached, ignore_errors=True)
            model = None
    if model is None:
        if cached is not None:
            # dequantize once on the CPU, keep the copy, then load it as asked
            on_cpu = Placement(torch.device("cpu"), placement.dtype)
            gguf_model, tokenizer = _from_pretrained(
                source.location, source.gguf_file, cfg, QuantizationConfig(), on_cpu
            )
            _write_cache(gguf_model, tokenizer, cached)
            if quant.load_in_8bit or placement.device_map is not None:
                del gguf_model
                model, tokenizer = _from_pretrained(str(cached), None, cfg, quant, placement)
            else:
                model = gguf_model.to(placement.device)  # type: ignore[arg-type]  # transformers types .to() narrowly
        else:
            model, tokenizer = _from_pretrained(source.location, source.gguf_file, cfg, quant, placement)
    assert model is not None and tokenizer is not None
    model.eval()
    if placement.linear == "onednn":  # after the safetensors copy is written: packed weights cannot be saved
        pack_linears(model)
    torch.set_grad_enabled(False)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    layers = find_decoder_layers(model)
    hidden = model.config.get_text_config().hidden_size
    return LoadedModel(model, tokenizer, source, len(layers), hidden, layers, placement)


# Models loaded in this process, by shared_key: a multirun's jobs, and a judge or scorer that uses
# the job's own model, share one copy. At most two distinct models stay (the job's and a judge's).
_SHARED: dict[str, LoadedModel] = {}
_SHARED_MAX = 2


def shared_key(cfg: ModelConfig, quant: QuantizationConfig, cache_dir: str | None) -> str:
    return json.dumps([asdict(cfg), asdict(quant), cache_dir], sort_keys=True)


def shared_model(cfg: ModelConfig, quant: QuantizationConfig, cache_dir: str | None) -> LoadedModel:
    """The process's copy of a model, loaded on first use; the oldest other model is freed first."""
    key = shared_key(cfg, quant, cache_dir)
    if key not in _SHARED:
        while len(_SHARED) >= _SHARED_MAX:
            _SHARED.pop(next(iter(_SHARED)))
        _SHARED[key] = load_configured(cfg, quant, Path(cache_dir).expanduser() if cache_dir else None)
    return _SHARED[key]


def load_model(name: str = "smollm2_135m", cache_dir: str | Path | None = "~/.cache/fusion/models") -> tuple:
    """``(model, tokenizer)`` of a ``fusion/conf/model`` option (or a local path or hub id), loaded as a job
    loads it: on its device, in eval mode, left-padded, with the same CPU kernels."""
    from fusion.config.compose import named_model_config
    from fusion.config.schema import QuantizationConfig

    loaded = load_configured(
        named_model_config(name), QuantizationConfig(), Path(cache_dir).expanduser() if cache_dir else None
    )
    return loaded.model, loaded.tokenizer
