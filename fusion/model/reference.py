"""Reference activations: one teacher-forced pass over the reference completion, every layer at once."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from fusion.model.devices import input_device
from fusion.model.steering import Layers, capture


def span_positions(offsets: Sequence[tuple[int, int]], span: tuple[int, int]) -> list[int]:
    """Token positions whose characters lie inside ``span`` (special tokens, offset (0, 0), excluded).

    Falls back to tokens that merely overlap the span when a tokenizer merges the span's first
    character into the preceding token, so a non-empty span never yields no positions.
    """
    start, end = span
    inside = [i for i, (a, b) in enumerate(offsets) if b > a and a >= start and b <= end]
    if inside:
        return inside
    return [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]


@torch.inference_mode()
def reference_means(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    layers: Layers,
    text: str,
    span: tuple[int, int],
) -> torch.Tensor:
    """``h_l`` for every layer: the layer output averaged over the span's tokens, ``[layers, d]``
    float32, on the model's input device (layers spread by a device_map are gathered there)."""
    encoded = tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
    positions = span_positions(encoded["offset_mapping"][0].tolist(), span)
    if not positions:
        raise ValueError(f"reference span {span} covers no token of the reference text")
    device = input_device(model)
    with capture(layers) as outputs:
        model(
            input_ids=encoded["input_ids"].to(device),
            attention_mask=encoded["attention_mask"].to(device),
            use_cache=False,
            logits_to_keep=1,  # the layers' outputs are what counts: the head runs on one position
        )
    index = torch.tensor(positions, device=device)
    captured = [out for out in outputs if out is not None]
    assert len(captured) == len(outputs), "a decoder layer did not run"
    return torch.stack([out[0, index.to(out.device)].float().mean(dim=0).to(device) for out in captured])


def capture_reference_means(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, text: str, span: tuple[int, int] | None = None
) -> torch.Tensor:
    """``h_l`` of ``text`` for every decoder layer of any Hugging Face causal LM: each layer's output
    averaged over the tokens of ``text[span[0]:span[1]]`` (default: all of it), ``[layers, d]``
    float32. With a run's reference text and span (gold answer + explanation) this is its target."""
    from fusion.model.loading import find_decoder_layers

    return reference_means(model, tokenizer, find_decoder_layers(model), text, span or (0, len(text)))
