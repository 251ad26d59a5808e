"""The one place that owns forward hooks on decoder layers.

Fusion Steering moves each layer's mean activation toward a reference mean:

    a' = a + s * (h_l - mean_t(a)),    s = alpha * gamma

applied to the decoder block's output (the residual stream) at every position. ``alpha`` and
``gamma`` enter only through their product ``s`` (see docs/method.md, section 2), so the
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
    >>> with steering(layers, targets, strengths) as session:
    ...     session.set_mask(attention_mask)
    ...     model(input_ids, attention_mask=attention_mask)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from fusion.model.devices import module_device

# a model's decoder blocks, in order (an nn.ModuleList is not a typing Sequence)
Layers = Sequence[nn.Module] | nn.ModuleList


def _hidden(output: torch.Tensor | tuple) -> torch.Tensor:
    # transformers 5 decoder layers return a tensor; older ones a tuple whose first item is the
    # hidden state. Taking output[0] of a tensor would silently pick the first batch row.
    return output[0] if isinstance(output, tuple) else output


def _replace_hidden(output: torch.Tensor | tuple, hidden: torch.Tensor) -> torch.Tensor | tuple:
    return (hidden, *output[1:]) if isinstance(output, tuple) else hidden


class SteeringSession:
    """Per-forward state the hooks read: which rows are live and which positions are real.

    The generation loop updates it before each forward pass (:meth:`set_mask`). ``rows`` maps the
    rows of the current batch to rows of ``strengths``/``targets`` (finished rows are dropped from
    exact-mode batches).

    Nothing in a hook waits for the device: which layers have any non-zero weight is decided once
    per session, strengths and targets are copied once per session to every device that holds a
    layer (a ``device_map`` spreads layers over GPUs), and the rows of the current batch are
    gathered once per forward pass and device, not once per layer.
    """

    def __init__(
        self,
        strengths: torch.Tensor,
        targets: torch.Tensor,
        layer_devices: Sequence[torch.device],
        cached: bool = False,
        additive: bool = False,
    ) -> None:
        self.cached = cached
        # add s * target to every position instead of moving toward it (a steering vector, CAA-style)
        self.additive = additive
        self.rows_total = strengths.shape[0]
        self.mask: torch.Tensor | None = None  # [batch, seq] 1 for real tokens; None: no padding
        self.rows: torch.Tensor | None = None  # [batch] indices into strengths' rows; None: all
        # zero weights leave a layer bit-for-bit untouched; one host sync here, none per step
        self.active = (strengths != 0).any(dim=0).tolist()
        self.layer_devices = list(layer_devices)
        self._strengths = {d: strengths.to(d, torch.float32) for d in set(self.layer_devices)}
        self._targets = {d: targets.to(d, torch.float32) for d in set(self.layer_devices)}
        self._step: dict[
            torch.device, tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | float]
        ] = {}
        # cached mode: running sums of pre-shift activations over positions seen so far
        self._sums: dict[int, torch.Tensor] = {}
        self._counts: dict[int, torch.Tensor] = {}

    def set_mask(self, mask: torch.Tensor | None, rows: torch.Tensor | None = None) -> None:
        """Before each forward: the attention mask (None when no row has padding) and the rows."""
        self.mask, self.rows = mask, rows
        self._step.clear()

    def select_rows(self, index: torch.Tensor) -> None:
        """Cached mode: only the batch rows at ``index`` go on (the others ended); their running sums
        are kept. The rows of the strengths and targets they map to come with :meth:`set_mask`."""
        for sums in (self._sums, self._counts):
            for layer, value in sums.items():
                sums[layer] = value[index.to(value.device)]

    def reset_cache(self) -> None:
        self._sums.clear()
        self._counts.clear()

    def _step_values(
        self, device: torch.device, batch: int, seq: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | float]:
        """This forward pass's strengths ``[batch, layers]``, targets, position weights and count."""
        values = self._step.get(device)
        if values is None:
            strengths, targets = self._strengths[device], self._targets[device]
            if self.rows is not None:
                rows = self.rows.to(device)
                strengths = strengths[rows]
                targets = targets[rows] if targets.dim() == 3 else targets
            if strengths.shape[0] != batch:
                raise ValueError(
                    f"steering has weights for {strengths.shape[0]} rows but the batch has {batch}: "
                    "pass one row of strengths per batch row"
                )
            weights: torch.Tensor | None = None
            count: torch.Tensor | float = float(seq)
            if self.mask is not None and self.mask.shape[-1] >= seq:
                weights = self.mask[:, -seq:].to(device)
                count = weights.sum(dim=1, keepdim=True, dtype=torch.float32)  # [batch, 1]
                weights = weights.unsqueeze(-1)
            values = (strengths, targets, weights, count)
            self._step[device] = values
        return values

    def shift(self, layer: int, hidden: torch.Tensor) -> torch.Tensor:
        """Return ``hidden`` moved toward the layer's reference mean (see module docstring).

        Sums run in float32 whatever the model's dtype; the shift is added in the model's dtype.
        """
        if not self.active[layer]:
            return hidden
        batch, seq, _ = hidden.shape
        strengths, targets, weights, count = self._step_values(hidden.device, batch, seq)
        target = targets[:, layer] if targets.dim() == 3 else targets[layer]
        if self.additive:  # a' = a + s * v: no mean, nothing to keep between decode steps
            return hidden + (strengths[:, layer, None] * target).to(hidden.dtype).unsqueeze(1)
        # weights are 0/1, so the product is exact in any dtype; the reduction accumulates in float32
        masked = hidden if weights is None else hidden * weights.to(hidden.dtype)
        total = masked.sum(dim=1, dtype=torch.float32)  # [batch, d]
        if self.cached:
            if layer in self._sums:
                total = total + self._sums[layer]
                count = count + self._counts[layer]
            self._sums[layer] = total
            self._counts[layer] = (
                count if isinstance(count, torch.Tensor) else torch.full((batch, 1), count, device=hidden.device)
            )
        mean = total / (count.clamp(min=1.0) if isinstance(count, torch.Tensor) else max(count, 1.0))
        delta = strengths[:, layer, None] * (target - mean)  # [batch, d]
        return hidden + delta.to(hidden.dtype).unsqueeze(1)


@contextmanager
def _forward_hooks(layers: Layers, make_hook: Callable[[int], Callable]) -> Iterator[None]:
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
def steering(
    layers: Layers,
    targets: torch.Tensor,
    strengths: torch.Tensor,
    *,
    cached: bool = False,
    additive: bool = False,
) -> Iterator[SteeringSession]:
    """Install steering hooks on ``layers`` for the duration of the block; always removes them.

    Args:
        layers: the model's decoder blocks, in order.
        targets: reference means ``h_l``: ``[layers, d]`` or ``[rows, layers, d]``.
        strengths: ``alpha * gamma`` per row and layer: ``[rows, layers]``.
        cached: keep running means for KV-cached generation instead of exact full-sequence means.
        additive: ``a' = a + s * targets[l]`` at every position (a steering vector added, as in
            contrastive activation addition) instead of moving toward ``targets[l]``.
    """
    if strengths.dim() != 2 or strengths.shape[1] != len(layers):
        raise ValueError(f"strengths must be [rows, {len(layers)}], got {tuple(strengths.shape)}")
    if targets.shape[-2] != len(layers):
        raise ValueError(f"targets must have {len(layers)} layers, got {tuple(targets.shape)}")
    session = SteeringSession(
        strengths, targets, [module_device(layer) for layer in layers], cached=cached, additive=additive
    )

    def make_hook(layer: int) -> Callable:
        # A factory, so each closure captures its own layer index (not the loop variable).
        def hook(_module: nn.Module, _args: tuple, output: torch.Tensor | tuple):
            return _replace_hidden(output, session.shift(layer, _hidden(output)))

        return hook

    with _forward_hooks(layers, make_hook):
        yield session


@contextmanager
def capture(layers: Layers) -> Iterator[list[torch.Tensor | None]]:
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
