"""Teacher-forced scoring: the mean negative log-likelihood of continuations after a prompt, the
perplexity a search scores its trials by."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from fusion.model.devices import input_device


@torch.inference_mode()
def continuation_nll(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt_text: str,
    continuations: Sequence[list[int]],
) -> list[float]:
    """Mean negative log-likelihood of each continuation given the prompt, in one batch.

    The prompt is run once and its KV cache shared by every continuation (right-padded after it),
    and logits are computed only where a continuation token is predicted: the trials of one prompt
    share their prompt, and on a CPU this pass costs about a third of a packed search.
    An empty continuation has no tokens to score: its NLL is ``inf`` (perplexity ``inf``), which the
    objective treats as the perplexity cap.
    """
    prompt_ids = tokenizer(prompt_text)["input_ids"]
    scored = [i for i, c in enumerate(continuations) if c]
    result = [math.inf] * len(continuations)
    if not scored:
        return result
    device = input_device(model)
    prefix = model(input_ids=torch.tensor([prompt_ids], device=device), use_cache=True, logits_to_keep=1)
    cache = prefix.cache
    cache.batch_repeat_interleave(len(scored))
    width = max(len(continuations[i]) for i in scored)
    ids = torch.full((len(scored), width), tokenizer.pad_token_id, dtype=torch.long)
    real = torch.zeros_like(ids)
    for row, i in enumerate(scored):
        ids[row, : len(continuations[i])] = torch.tensor(continuations[i])
        real[row, : len(continuations[i])] = 1
    ids, real = ids.to(device), real.to(device)
    mask = torch.cat([torch.ones(len(scored), len(prompt_ids), dtype=torch.long, device=device), real], dim=1)
    positions = torch.arange(len(prompt_ids), len(prompt_ids) + width, device=device).expand(len(scored), -1)
    # logits for the first continuation token come from the prompt's last position; the last
    # continuation position predicts nothing that is scored
    out = (
        model(
            input_ids=ids[:, :-1],
            attention_mask=mask[:, :-1],
            position_ids=positions[:, :-1],
            cache=cache,
            use_cache=True,
        )
        if width > 1
        else None
    )
    first = prefix.logits[:, -1:].expand(len(scored), -1, -1)
    logits = first if out is None else torch.cat([first, out.logits], dim=1)
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    picked = logprobs.gather(-1, ids.unsqueeze(-1)).squeeze(-1)
    nll = (-(picked * real).sum(1) / real.sum(1)).tolist()
    for row, i in enumerate(scored):
        result[i] = nll[row]
    return result
