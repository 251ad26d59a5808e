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
    ``keys``/``values`` are views of its filled positions, so their length is the cache's (and
    transformers' own ``crop`` and ``reset`` keep working on them)."""

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self.key_room = self.value_room = torch.empty(0, 0, 0, 0)  # no room: the first write makes it

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: object, **kwargs: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        filled = self.get_seq_length()
        end = filled + key_states.shape[-2]
        if end > self.key_room.shape[-2]:
            self.key_room = self._grown(self.key_room, key_states, filled, end + GROWTH)
            self.value_room = self._grown(self.value_room, value_states, filled, end + GROWTH)
        self.key_room[:, :, filled:end] = key_states
        self.value_room[:, :, filled:end] = value_states
        return self._views(end)

    @staticmethod
    def _grown(room: torch.Tensor, new: torch.Tensor, filled: int, size: int) -> torch.Tensor:
        """A bigger buffer holding what is filled so far (once per :data:`GROWTH` steps)."""
        bigger = torch.empty((*new.shape[:2], size, new.shape[-1]), dtype=new.dtype, device=new.device)
        if filled:  # (the first write's room is the empty placeholder)
            bigger[:, :, :filled] = room[:, :, :filled]
        return bigger

    def _views(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        keys, values = self.key_room[:, :, :length], self.value_room[:, :, :length]
        self.keys, self.values = keys, values
        return keys, values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if length := self.get_seq_length():
            self.key_room, self.value_room = self.key_room[indices], self.value_room[indices]
            self._views(length)

    def batch_repeat_interleave(self, repeats: int) -> None:
        if length := self.get_seq_length():
            self.key_room = self.key_room.repeat_interleave(repeats, dim=0)
            self.value_room = self.value_room.repeat_interleave(repeats, dim=0)
            self._views(length)


def in_place_cache(config: PretrainedConfig) -> Cache | None:
    """An empty in-place cache for ``config``'s model; None (transformers' own) where a layer slides."""
    types = getattr(config, "layer_types", None)
    if (types is None and getattr(config, "sliding_window", None)) or any(t != "full_attention" for t in types or []):
        return None
    return Cache(layer_class_to_replicate=InPlaceLayer)
