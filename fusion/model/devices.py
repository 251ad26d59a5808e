"""Where a model runs and in which precision: resolving ``model.device`` / ``model.dtype`` and
checking that this machine can run them, before any weights are loaded.

Imported by the preflight only when a job asks for something other than the CPU (importing torch
costs seconds), and by the model loader, the generation loop and the benchmark.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

import torch
from torch import nn

from fusion.errors import SetupError
from fusion.model import cpu_linear

# Rows per generated batch when ``search.max_batch_rows`` is null. CPU, cached decoding: 32 prompts x
# 5 trials: a 40-row decode step runs the float32 products at about 120 GFLOP/s on 2 cores, 160 rows
# near 190, and the study's searched jobs took 1.14x less time at 160 than at 40 (docs/speed.md).
# CPU, exact decoding: 40 (8 prompts), which re-runs the whole sequence every step and is bound by
# arithmetic from a few rows on; a pack is also the unit an interrupted job redoes, up to about 35
# minutes of exact decoding at 160 rows. GPU: 160, from the probe of these hooks on an H200 (still
# launch-bound at 160 rows in cached mode); `fusion bench --random-weights` re-measures.
DEFAULT_BATCH_ROWS = 160
EXACT_CPU_BATCH_ROWS = 40


class DeviceError(SetupError):
    """The machine cannot run the asked device or precision; one line naming the fix."""


@dataclass(frozen=True)
class Placement:
    """A resolved ``model.device`` / ``model.dtype`` / ``model.device_map``."""

    device: torch.device  # where inputs go (the first layer's device under a device_map)
    dtype: torch.dtype
    device_map: str | None = None
    linear: str = "torch"  # whose kernels run the linear layers: torch, or onednn (fusion.model.cpu_linear)

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).removeprefix("torch.")

    @property
    def name(self) -> str:
        """The hardware in words, for run tags and benchmark output."""
        return device_name(self.device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine() or "cpu"


def _cuda_device(device: str) -> torch.device:
    if not torch.cuda.is_available():
        raise DeviceError(
            f"model.device={device}: torch {torch.__version__} sees no CUDA device here "
            "(no GPU, or a CPU build of torch): use model.device=auto or cpu"
        )
    index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
    if index >= torch.cuda.device_count():
        raise DeviceError(
            f"model.device={device}: only {torch.cuda.device_count()} CUDA device(s) visible "
            f"(cuda:0..cuda:{torch.cuda.device_count() - 1}): pick one of those or check CUDA_VISIBLE_DEVICES"
        )
    return torch.device("cuda", index)


def resolve(device: str, dtype: str, device_map: str | None = None, cpu_linear: str = "auto") -> Placement:
    """Turn config strings into a placement this machine can run, or raise :class:`DeviceError`.

    ``auto`` picks CUDA when torch sees a GPU, else the CPU; dtype ``auto`` is float32 on the CPU
    and bfloat16 on a GPU that supports it (float16 otherwise). A dtype is checked by running one
    small matmul in it on the device: that is what "can this device run it" means in practice.
    ``cpu_linear`` ``auto`` packs a float32 model's linear weights for oneDNN on an x86-64 CPU.
    """
    if device == "auto":
        target = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    elif device == "cpu":
        target = torch.device("cpu")
    else:
        target = _cuda_device(device)
    if device_map is not None and target.type != "cuda":
        raise DeviceError(
            f"model.device_map={device_map} spreads a model over GPUs, and none is visible: set model.device_map=null"
        )
    if dtype == "auto":
        if target.type == "cpu":
            chosen = torch.float32
        else:
            chosen = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        chosen = getattr(torch, dtype)
    try:
        probe = torch.ones(2, 2, dtype=chosen, device=target)
        (probe @ probe).sum().item()
    except (RuntimeError, TypeError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DeviceError(
            f"model.dtype={dtype}: {target} cannot compute in {chosen} ({first}): use model.dtype=auto"
        ) from None
    if chosen == torch.bfloat16 and target.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError(
            f"model.dtype=bfloat16: {device_name(target)} has no bfloat16 support: use model.dtype=float16"
        )
    return Placement(target, chosen, device_map, _linear(cpu_linear, target, chosen))


def _linear(asked: str, target: torch.device, dtype: torch.dtype) -> str:
    applies = target.type == "cpu" and dtype == torch.float32
    if asked == "onednn" and not applies:
        raise DeviceError(
            f"model.cpu_linear=onednn packs float32 weights on the CPU, and this model runs on {target} in "
            f"{str(dtype).removeprefix('torch.')}: use model.cpu_linear=auto"
        )
    if asked == "onednn" and not cpu_linear.available():
        raise DeviceError(
            f"model.cpu_linear=onednn: torch {torch.__version__} was built without oneDNN: use model.cpu_linear=torch"
        )
    return "onednn" if asked == "onednn" or (asked == "auto" and applies and cpu_linear.preferred()) else "torch"


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's first parameter (a decoder layer under a device_map has its own)."""
    for param in module.parameters():
        return param.device
    return torch.device("cpu")


def input_device(model: nn.Module) -> torch.device:
    """Where token ids go: the input embedding's device (the first layer's under a device_map)."""
    get_embeddings = getattr(model, "get_input_embeddings", None)
    embeddings = get_embeddings() if callable(get_embeddings) else None
    return module_device(embeddings) if isinstance(embeddings, nn.Module) else module_device(model)


def default_batch_rows(device: torch.device, exact: bool = False) -> int:
    """Rows per generated batch when ``search.max_batch_rows`` is null (``exact``: exact decoding)."""
    if exact and device.type == "cpu":
        return EXACT_CPU_BATCH_ROWS
    return DEFAULT_BATCH_ROWS


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work (timings); nothing to wait for on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
