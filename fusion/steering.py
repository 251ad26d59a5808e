"""The one place that owns forward hooks on decoder layers.

Fusion Steering moves each layer's mean activation toward a reference mean:

    a' = a + s * (h_l - mean_t(a)),    s = alpha * gamma

applied to the decoder block's output (the residual stream) at every position. ``alpha`` and
``gamma`` enter only through their product ``s`` (see ``shared/design/method.md`` section 3), so the
hooks take one strength per batch row and per layer: a ``[rows, layers]`` tensor. Different rows
of one batch can therefore carry different trials, or different prompts (``targets`` may be
``[layers, d]`` shared by all rows, or ``[rows, layers, d]``).

Two ways of computing ``mean_t(a)``:

* **exact** (the paper's): every forward pass re-runs the whole sequence (no KV cache) and the mean
  is taken over all real (non-padding) positions of that pass, after upstream layers' steering.
* **cached**: with a KV cache a decode step sees only the newest position. A running sum per row
  and layer over the positions seen so far gives the mean, and only the new positions are shifted.
  Earlier positions keep the shift they got when they were new, so this is an approximation.

Example:
    >>> with steer(layers, targets, strengths) as session:
    ...     session.set_mask(attention_mask)
    ...     model(input_ids, attention_mask=attention_mask)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn


def _hidden(output: torch.Tensor | tuple) -> torch.Tensor:
    # transformers 5 decoder layers return a tensor; older ones a tuple whose first item is the
    # hidden state. Taking output[0] of a tensor would silently pick the first batch row.
    return output[0] if isinstance(output, tuple) else output


def _replace_hidden(output: torch.Tensor | tuple, hidden: torch.Tensor) -> torch.Tensor | tuple:
    return (hidden, *output[1:]) if isinstance(output, tuple) else hidden


@dataclass
class SteeringSession:
    """Per-forward state the hooks read: which rows are live and which positions are real.

    The generation loop updates it before each forward pass. ``rows`` maps the rows of the current
    batch to rows of ``strengths``/``targets`` (finished rows are dropped from exact-mode batches).
    """

    strengths: torch.Tensor  # [rows, layers], float32
    targets: torch.Tensor  # [layers, d] or [rows, layers, d], float32
    cached: bool = False
    mask: torch.Tensor | None = None  # [batch, seq] 1 for real tokens, for this forward pass
    rows: torch.Tensor | None = None  # [batch] indices into strengths' rows
    # cached mode: running sums of pre-shift activations over positions seen so far
    _sums: dict[int, torch.Tensor] = field(default_factory=dict)
    _counts: dict[int, torch.Tensor] = field(default_factory=dict)

    def set_mask(self, mask: torch.Tensor | None, rows: torch.Tensor | None = None) -> None:
        self.mask = mask
        self.rows = rows

    def reset_cache(self) -> None:
        self._sums.clear()
        self._counts.clear()

    def _row_values(self, layer: int, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        strengths = self.strengths[:, layer]
        targets = self.targets[:, layer] if self.targets.dim() == 3 else self.targets[layer].expand(
            self.strengths.shape[0], -1
        )
        if self.rows is not None:
            strengths, targets = strengths[self.rows], targets[self.rows]
        if strengths.shape[0] != batch:
            raise ValueError(
                f"steering has weights for {strengths.shape[0]} rows but the batch has {batch}: "
                "pass one row of strengths per batch row"
            )
        return strengths.to(device), targets.to(device)

    def shift(self, layer: int, hidden: torch.Tensor) -> torch.Tensor:
        """Return ``hidden`` moved toward the layer's reference mean (see module docstring)."""
        batch, seq, _ = hidden.shape
        strengths, targets = self._row_values(layer, batch, hidden.device)
        if not torch.any(strengths):
            return hidden  # zero weights: leave the layer bit-for-bit untouched
        acts = hidden.float()
        mask = self.mask
        if mask is None or mask.shape[-1] < seq:
            weights = torch.ones(batch, seq, device=hidden.device)
        else:
            weights = mask[:, -seq:].to(device=hidden.device, dtype=torch.float32)
        weighted_sum = (acts * weights.unsqueeze(-1)).sum(dim=1)  # [batch, d]
        count = weights.sum(dim=1, keepdim=True)  # [batch, 1]
        if self.cached:
            if layer in self._sums:
                weighted_sum = weighted_sum + self._sums[layer]
                count = count + self._counts[layer]
            self._sums[layer], self._counts[layer] = weighted_sum, count
        mean = weighted_sum / count.clamp(min=1.0)
        delta = strengths.unsqueeze(-1) * (targets - mean)  # [batch, d]
        return (acts + delta.unsqueeze(1)).to(hidden.dtype)


@contextmanager
def _forward_hooks(layers: Sequence[nn.Module], make_hook: Callable[[int], Callable]) -> Iterator[None]:
    """Register ``make_hook(i)`` on layer ``i`` of ``layers``; remove every hook on exit, whatever happens."""
    handles = []
    try:
        for index, layer in enumerate(layers):
            handles.append(layer.register_forward_hook(make_hook(index)))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def steer(
    layers: Sequence[nn.Module],
    targets: torch.Tensor,
    strengths: torch.Tensor,
    *,
    cached: bool = False,
) -> Iterator[SteeringSession]:
    """Install steering hooks on ``layers`` for the duration of the block; always removes them.

    Args:
        layers: the model's decoder blocks, in order.
        targets: reference means ``h_l``: ``[layers, d]`` or ``[rows, layers, d]``.
        strengths: ``alpha * gamma`` per row and layer: ``[rows, layers]``.
        cached: keep running means for KV-cached generation instead of exact full-sequence means.
    """
    if strengths.dim() != 2 or strengths.shape[1] != len(layers):
        raise ValueError(f"strengths must be [rows, {len(layers)}], got {tuple(strengths.shape)}")
    if targets.shape[-2] != len(layers):
        raise ValueError(f"targets must have {len(layers)} layers, got {tuple(targets.shape)}")
    session = SteeringSession(strengths.float(), targets.float(), cached=cached)

    def make_hook(layer: int) -> Callable:
        # A factory, so each closure captures its own layer index (not the loop variable).
        def hook(_module: nn.Module, _args: tuple, output: torch.Tensor | tuple):
            return _replace_hidden(output, session.shift(layer, _hidden(output)))

        return hook

    with _forward_hooks(layers, make_hook):
        yield session


@contextmanager
def capture(layers: Sequence[nn.Module]) -> Iterator[list[torch.Tensor | None]]:
    """Record every layer's output hidden state (``[batch, seq, d]``) of the next forward pass.

    Hooks on the decoder blocks rather than ``output_hidden_states``: the last entry of the latter
    has the final norm applied in most architectures, so it is not the residual stream.
    """
    outputs: list[torch.Tensor | None] = [None] * len(layers)

    def make_hook(layer: int) -> Callable:
        def hook(_module: nn.Module, _args: tuple, output: torch.Tensor | tuple) -> None:
            outputs[layer] = _hidden(output).detach()

        return hook

    with _forward_hooks(layers, make_hook):
        yield outputs


def layer_strengths(segment_strengths: torch.Tensor, segments: Sequence[range]) -> torch.Tensor:
    """Expand ``[rows, segments]`` strengths to ``[rows, layers]`` (each layer takes its segment's)."""
    sizes = torch.tensor([len(s) for s in segments])
    return torch.repeat_interleave(segment_strengths, sizes, dim=1)
