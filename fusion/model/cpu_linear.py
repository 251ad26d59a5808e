"""Float32 linear layers on the CPU through oneDNN, with each weight packed once at load.

torch's default float32 matmul on an x86 CPU (MKL) is slow at the few rows a decode step has:
on this project's 2-core machine, one SmolLM2-135M decode step took 78 ms at 5 rows and 175 ms at
40 with it, and 41 ms and 105 ms with the weights packed for oneDNN (the layout torch.compile's
CPU freezing pass uses), because nothing is re-laid out per call. ``make bench-pipeline`` measures both
kernels side by side (``onednn_speedup_*``).

The two kernels sum in different orders, so results differ in the last bits and a greedy answer
can take another token where two were nearly tied: ``model.cpu_linear=torch`` gives torch's own
kernels (and the numbers of runs made before this existed). What packed search needs holds for
oneDNN: a row's result does not depend on the other rows of its batch (tested), so packed and
unpacked searches still give identical trials.
"""

from __future__ import annotations

import platform

import torch
from torch import nn

# `auto` picks oneDNN where it was measured to pay: x86-64 (an ARM laptop's torch kernels differ)
_X86 = ("x86_64", "amd64", "i686")


def available() -> bool:
    """Whether this torch build has oneDNN's packed linear (every official x86 build has)."""
    mkldnn = getattr(torch.ops, "mkldnn", None)
    return (
        torch.backends.mkldnn.is_available()
        and hasattr(mkldnn, "_reorder_linear_weight")
        and hasattr(mkldnn, "_linear_pointwise")
    )


def preferred() -> bool:
    """What ``model.cpu_linear=auto`` picks for a float32 model on the CPU."""
    return available() and platform.machine().lower() in _X86


class PackedLinear(nn.Module):
    """``nn.Linear`` with its weight in oneDNN's packed layout (an opaque tensor: inference only).

    The dense weight is dropped, so a packed model takes no more memory than before, except for a
    weight shared with the input embedding (a tied output head), which the embedding keeps.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), None)
        # not in the state dict: an opaque tensor cannot be saved, and the model is never saved after loading
        self.register_buffer("weight", packed, persistent=False)
        self.bias = linear.bias

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        # the kernel reads its input as contiguous whatever its strides say: a strided view gives wrong sums
        return torch.ops.mkldnn._linear_pointwise(hidden.contiguous(), self.weight, self.bias, "none", [], "")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def pack_linears(model: nn.Module) -> int:
    """Replace every plain float32 ``nn.Linear`` on the CPU in ``model`` by a :class:`PackedLinear`;
    returns how many. Subclasses (bitsandbytes' int8 layers) and other dtypes are left alone."""
    names = [
        name
        for name, module in model.named_modules()
        if type(module) is nn.Linear and module.weight.dtype == torch.float32 and module.weight.device.type == "cpu"
    ]
    # one layer at a time, holding no reference to the dense layers: each dense weight is freed as
    # soon as its packed copy exists, so the process never holds the model twice
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, PackedLinear(getattr(parent, child)))
    if names:
        # The other weights (embeddings, norms) may be views of the memory-mapped checkpoint, and
        # while one view lives the whole mapping stays, the pages packing read included: about the
        # model's size again in RSS. Copies of their own let the mapping go.
        for tensor in [*model.parameters(), *model.buffers()]:
            if not tensor.is_mkldnn:
                tensor.data = tensor.data.clone()
    return len(names)
