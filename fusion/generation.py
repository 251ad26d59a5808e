"""Greedy generation and teacher-forced scoring, batched, with optional steering.

A small loop of our own instead of ``model.generate``: the steering hooks need to know, for every
forward pass, which rows are live and which positions are real tokens (means are taken over real
tokens only, never padding), and the paper's exact mode re-runs the whole sequence at each step.
Rows that reach EOS leave the exact-mode batch, so long answers do not pay for finished ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from fusion.steering import SteeringSession


@dataclass(frozen=True)
class Encoded:
    """Left-padded prompts: ``ids``/``mask`` are ``[rows, seq]``."""

    ids: torch.Tensor
    mask: torch.Tensor


def encode(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]) -> Encoded:
    """Tokenise and left-pad ``texts`` so that every row's last token sits in the last column."""
    rows = [tokenizer(text)["input_ids"] for text in texts]
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
        mask[i, width - len(r) :] = 1
    return Encoded(ids, mask)


def eos_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> set[int]:
    """Every token that ends an answer: the generation config's EOS ids and the tokenizer's."""
    ids = model.generation_config.eos_token_id
    found = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        found.add(tokenizer.eos_token_id)
    return found


def _positions(mask: torch.Tensor) -> torch.Tensor:
    return (mask.cumsum(-1) - 1).clamp(min=0)


@torch.inference_mode()
def greedy(
    model: PreTrainedModel,
    prompt: Encoded,
    *,
    max_new_tokens: int,
    stop_ids: set[int],
    session: SteeringSession | None = None,
    use_cache: bool = False,
    nonfinite_rows: set[int] | None = None,
) -> list[list[int]]:
    """Greedy continuation token ids per row (EOS excluded).

    ``use_cache=False`` re-runs the full sequence at every step, as the paper did; with a steering
    session in exact mode that is what makes the mean cover every current position.
    A row whose logits turn NaN/inf (steering weights that blow the residual stream up) stops
    there, since argmax over NaN picks an arbitrary token; its index is added to ``nonfinite_rows``.
    """
    rows = prompt.ids.shape[0]
    out: list[list[int]] = [[] for _ in range(rows)]
    ids, mask = prompt.ids, prompt.mask
    live = torch.arange(rows)
    past = None
    step_ids = ids
    running = torch.ones(rows, dtype=torch.bool)
    pad_id = _pad_of(model)
    if session is not None:
        session.reset_cache()
    for _ in range(max_new_tokens):
        if session is not None:
            session.set_mask(mask, live)
        if use_cache:
            result = model(
                input_ids=step_ids,
                attention_mask=mask,
                position_ids=_positions(mask)[:, -step_ids.shape[1] :],
                cache=past,
                use_cache=True,
                logits_to_keep=1,
            )
            past = result.cache
        else:
            result = model(
                input_ids=ids, attention_mask=mask, position_ids=_positions(mask), use_cache=False, logits_to_keep=1
            )
        logits = result.logits[:, -1]
        next_ids = logits.argmax(-1)
        done = torch.tensor([int(t) in stop_ids for t in next_ids.tolist()], dtype=torch.bool)
        broken = ~torch.isfinite(logits).all(-1)
        if bool(broken.any()):
            if nonfinite_rows is not None:
                nonfinite_rows.update(live[broken].tolist())
            done |= broken
        if use_cache:
            # rows stay in the batch so the KV cache stays aligned; finished rows feed padding
            done |= ~running
        for row, token, finished in zip(live.tolist(), next_ids.tolist(), done.tolist()):
            if not finished:
                out[row].append(token)
        keep = ~done
        if not bool(keep.any()):
            break
        if use_cache:
            running = keep
            step_ids = torch.where(keep, next_ids, torch.full_like(next_ids, pad_id))[:, None]
            ids = torch.cat([ids, step_ids], dim=1)
            mask = torch.cat([mask, keep.long()[:, None]], dim=1)
        else:
            ids = torch.cat([ids[keep], next_ids[keep][:, None]], dim=1)
            mask = torch.cat([mask[keep], torch.ones_like(next_ids[keep])[:, None]], dim=1)
            live = live[keep]
            # drop columns that are padding in every remaining row
            first_real = int(mask.argmax(dim=1).min())
            ids, mask = ids[:, first_real:], mask[:, first_real:]
    return out


def _pad_of(model: PreTrainedModel) -> int:
    pad = model.generation_config.pad_token_id
    if isinstance(pad, list):
        pad = pad[0]
    return int(pad) if pad is not None else 0


@torch.inference_mode()
def continuation_nll(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt_text: str,
    continuations: Sequence[list[int]],
) -> list[float]:
    """Mean negative log-likelihood of each continuation given the prompt, in one batch.

    An empty continuation has no tokens to score: its NLL is ``inf`` (perplexity ``inf``), which the
    objective treats as the perplexity cap.
    """
    prompt_ids = tokenizer(prompt_text)["input_ids"]
    scored = [i for i, c in enumerate(continuations) if c]
    result = [math.inf] * len(continuations)
    if not scored:
        return result
    seqs = [prompt_ids + continuations[i] for i in scored]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    for row, (i, seq) in enumerate(zip(scored, seqs)):
        start = width - len(seq)
        ids[row, start:] = torch.tensor(seq)
        mask[row, start:] = 1
        labels[row, start + len(prompt_ids) :] = torch.tensor(continuations[i])
    logits = model(input_ids=ids, attention_mask=mask, position_ids=_positions(mask), use_cache=False).logits
    logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    targets = labels[:, 1:]
    valid = targets != -100
    picked = logprobs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    nll = -(picked * valid).sum(1) / valid.sum(1)
    for row, i in enumerate(scored):
        result[i] = float(nll[row])
    return result
