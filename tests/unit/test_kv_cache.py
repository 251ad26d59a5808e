"""The in-place KV cache holds what transformers' concatenated cache holds, so decoding with it
gives the same tokens: per layer operation by operation, and through whole greedy generations."""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicLayer

from fusion.model import kv_cache
from fusion.model.generation import Encoded, greedy
from fusion.model.kv_cache import InPlaceLayer, in_place_cache
from fusion.model.random_models import architecture_config, random_model


def states(rows: int, tokens: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(rows, 2, tokens, 8, generator=generator), torch.randn(rows, 2, tokens, 8, generator=generator)


def test_a_layer_written_in_place_equals_a_concatenated_one_through_growth_selection_and_repeats():
    grown, concatenated = InPlaceLayer(), DynamicLayer()
    steps = [(6, 17)] + [(6, 1)] * (kv_cache.GROWTH + 5)  # a prefill, then past the first room
    for seed, (rows, tokens) in enumerate(steps):
        keys, values = states(rows, tokens, seed)
        for a, b in zip(grown.update(keys, values), concatenated.update(keys, values), strict=True):
            assert torch.equal(a, b)
    index = torch.tensor([0, 2, 5])
    grown.batch_select_indices(index)
    concatenated.batch_select_indices(index)
    grown.batch_repeat_interleave(2)
    concatenated.batch_repeat_interleave(2)
    keys, values = states(6, 1, 99)
    for a, b in zip(grown.update(keys, values), concatenated.update(keys, values), strict=True):
        assert torch.equal(a, b)
    assert grown.get_seq_length() == concatenated.get_seq_length() == 17 + kv_cache.GROWTH + 6


def left_padded(rows: int, seed: int) -> Encoded:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 20, (rows,), generator=generator).tolist()
    width = max(lengths)
    ids, mask = torch.zeros(rows, width, dtype=torch.long), torch.zeros(rows, width, dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, width - length :] = torch.randint(2, 128, (length,), generator=generator)
        mask[row, width - length :] = 1
    return Encoded(ids, mask)


def test_greedy_decoding_gives_the_same_tokens_with_the_cache_written_in_place():
    model = random_model("tiny")
    prompt = left_padded(12, seed=3)
    runs = {
        flag: greedy(
            model, prompt, max_new_tokens=kv_cache.GROWTH + 20, stop_ids={1}, use_cache=True, in_place_cache=flag
        )
        for flag in (True, False)
    }
    assert runs[True] == runs[False]
    lengths = {len(tokens) for tokens in runs[True]}
    assert max(lengths) > kv_cache.GROWTH and len(lengths) > 1, "rows ended at different steps, some past the room"


def test_models_with_sliding_window_layers_keep_transformers_cache():
    assert in_place_cache(architecture_config("gemma2_2b")) is None
    assert in_place_cache(architecture_config("smollm2_135m")) is not None
