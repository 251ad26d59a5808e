"""A KV cache written in place: each decode step stores its new keys and values into room kept
ahead, instead of copying the whole cache into a new tensor (``torch.cat``, transformers'
``DynamicLayer``), which at 160 rows was 15 % of a decode step on a CPU (docs/speed.md).

Attention reads a view of the filled part, the same numbers in the same order as the
concatenated cache, so the answers are bit for bit the same (tests/unit/test_kv_cache.py,
tests/integration/test_speed_levers.py).
Only for models whose every layer attends to the whole sequence: a sliding-window layer keeps
transformers' own cache.
"""

from __future__ import annotations

import torch
from transformers import PretrainedConfig
from transformers.cache_utils import Cache, DynamicLayer

# room added when a layer's cache is full: a step writes in place for this many tokens, and a
# prompt prefilled into an empty cache gets this much room after it
GROWTH = 64


class InPlaceLayer(DynamicLayer):
    """One layer's keys and values in a buffer ``[rows, heads, room, dim]`` filled from the left;
    ``keys``/``values`` are views of its first ``length`` positions."""

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self.length = 0
        self.key_room = self.value_room = torch.empty(0, 0, 0, 0)  # no room: the first write makes it

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: object, **kwargs: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.key_room.shape[-2]:
            self.key_room = self._grown(self.key_room, key_states, end + GROWTH)
            self.value_room = self._grown(self.value_room, value_states, end + GROWTH)
        self.key_room[:, :, self.length : end] = key_states
        self.value_room[:, :, self.length : end] = value_states
        self.length = end
        return self._views()

    def _grown(self, room: torch.Tensor, new: torch.Tensor, size: int) -> torch.Tensor:
        """A bigger buffer holding what is filled so far (once per :data:`GROWTH` steps)."""
        bigger = torch.empty((*new.shape[:2], size, new.shape[-1]), dtype=new.dtype, device=new.device)
        if self.length:
            bigger[:, :, : self.length] = room[:, :, : self.length]
        return bigger

    def _views(self) -> tuple[torch.Tensor, torch.Tensor]:
        keys, values = self.key_room[:, :, : self.length], self.value_room[:, :, : self.length]
        self.keys, self.values = keys, values
        return keys, values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.length:
            self.key_room, self.value_room = self.key_room[indices], self.value_room[indices]
            self._views()

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self.length:
            self.key_room = self.key_room.repeat_interleave(repeats, dim=0)
            self.value_room = self.value_room.repeat_interleave(repeats, dim=0)
            self._views()

    def crop(self, tokens_to_remove: int) -> None:
        super().crop(tokens_to_remove)
        self.length = self.get_seq_length()

    def reset(self) -> None:
        super().reset()
        self.length = 0


def in_place_cache(config: PretrainedConfig) -> Cache | None:
    """An empty in-place cache for ``config``'s model; None (transformers' own) where a layer slides."""
    types = getattr(config, "layer_types", None)
    if (types is None and getattr(config, "sliding_window", None)) or any(t != "full_attention" for t in types or []):
        return None
    return Cache(layer_class_to_replicate=InPlaceLayer)
