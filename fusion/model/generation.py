"""Greedy generation, batched, with optional steering (teacher-forced scoring: :mod:`fusion.model.likelihood`).

A small loop of our own instead of ``model.generate``: the steering hooks need to know, for every
forward pass, which rows are live and which positions are real tokens (means are taken over real
tokens only, never padding), and the paper's exact mode re-runs the whole sequence at each step.
Rows that reach EOS leave the batch (in cached mode with their rows of the KV cache, unless
``drop_finished=False``), so long answers do not pay for finished ones. A row also ends where its
text reaches a stop string (:class:`StopStrings`: a base model's next question frame, see
:mod:`fusion.evaluate.answer_end`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from fusion import profiling
from fusion.model import kv_cache
from fusion.model.devices import input_device
from fusion.model.steering import SteeringSession
from fusion.model.stops import StopStrings

# A row's sums on the packed CPU kernels do not depend on the other rows of its batch from 2 rows
# on (docs/speed.md); a cached batch never shrinks below this, so that no row's tokens change
MIN_ROWS = 2


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


@dataclass
class _Batch:
    """One batched greedy generation between decode steps: the sequences on the device, and on the
    host which original row each batch row is, where its real tokens start, and what it produced."""

    ids: torch.Tensor
    mask: torch.Tensor
    starts: list[int]  # first real column per batch row (left padding)
    live: list[int]  # original row of each batch row
    running: torch.Tensor  # cached mode: rows still generating (finished rows feed padding)
    running_host: list[bool]
    out: list[list[int]]
    tails: list[str]  # each row's last characters (stop_strings)
    step_ids: torch.Tensor  # cached mode: the tokens the next step feeds
    live_on_device: torch.Tensor | None = None  # ``live`` for the hooks; None while every row is live
    past: Any = None  # cached mode: the KV cache

    @classmethod
    def start(cls, prompt: Encoded, device: torch.device) -> _Batch:
        rows = prompt.ids.shape[0]
        ids, mask = prompt.ids.to(device), prompt.mask.to(device)
        return cls(
            ids=ids,
            mask=mask,
            starts=(prompt.mask.shape[1] - prompt.mask.sum(dim=1)).tolist(),
            live=list(range(rows)),
            running=torch.ones(rows, dtype=torch.bool, device=device),
            running_host=[True] * rows,
            out=[[] for _ in range(rows)],
            tails=[""] * rows,
            step_ids=ids,
        )


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
    on_step: Callable[[int, int], None] | None = None,
    stop_strings: StopStrings | None = None,
    drop_finished: bool = True,
    in_place_cache: bool = True,
) -> list[list[int]]:
    """Greedy continuation token ids per row (EOS excluded).

    ``use_cache=False`` re-runs the full sequence at every step, as the paper did; with a steering
    session in exact mode that is what makes the mean cover every current position.
    A row whose logits turn NaN/inf (steering weights that blow the residual stream up) stops
    there, since argmax over NaN picks an arbitrary token; its index is added to ``nonfinite_rows``.

    Everything lives on the model's input device. The loop waits for the device once per step: the
    new tokens and the stop/NaN flags come back to the host together; which rows and columns to
    keep is worked out on the host from them (padding is tracked there as each row's first column).
    ``on_step(steps, rows_running)`` is called after every decode step, so a caller can show progress
    inside one long batched generation.
    With ``stop_strings`` a row also ends where its text reaches one; its ids end before it.
    ``drop_finished=False`` keeps ended rows in a cached batch, feeding padding (the same tokens,
    slower: the old path, for the benchmark's side by side), and ``in_place_cache=False`` grows the
    KV cache by concatenation, as transformers does (:mod:`fusion.model.kv_cache`; the same tokens).
    """
    device = input_device(model)
    batch = _Batch.start(prompt, device)
    if use_cache and in_place_cache:
        batch.past = kv_cache.in_place_cache(model.config)
    stops = torch.tensor(sorted(stop_ids), dtype=batch.ids.dtype, device=device)
    pad_id = _pad_of(model)
    if session is not None:
        session.reset_cache()
    for step in range(max_new_tokens):
        if session is not None:
            # the hooks skip the masked sum when no row has padding; a cached decode step sees only
            # new positions, real for every live row (finished rows' values are never read)
            padded = max(batch.starts) > 0 if not use_cache else step == 0 and max(batch.starts) > 0
            session.set_mask(batch.mask if padded else None, batch.live_on_device)
        _count_step(batch, step)
        logits = _forward(model, batch, use_cache)
        next_ids = logits.argmax(-1)
        stopped = torch.isin(next_ids, stops)
        # a NaN or inf anywhere in a row makes its sum non-finite: one reduction instead of an
        # elementwise test of the whole [rows, vocab] block (10 ms vs 0.6 ms at 160 rows on a CPU)
        broken = ~torch.isfinite(logits.sum(-1, dtype=torch.float32))
        # the step's one wait for the device: tokens and flags in one copy
        host_tokens, host_stopped, host_broken = torch.stack([next_ids, stopped.long(), broken.long()]).tolist()
        flags = [(t, bool(s), bool(b)) for t, s, b in zip(host_tokens, host_stopped, host_broken)]
        keep_rows, text_stopped = _collect(batch, flags, nonfinite_rows, stop_strings)
        if on_step is not None:
            on_step(step + 1, len(keep_rows))
        if not keep_rows:
            break
        if use_cache:
            _grow_cached(batch, next_ids, stopped, broken, keep_rows, text_stopped, pad_id)
            if drop_finished and len(keep_rows) < len(batch.live):
                _drop_finished(batch, keep_rows, session)
        else:
            _grow_exact(batch, next_ids, keep_rows)
    return batch.out


def _forward(model: PreTrainedModel, batch: _Batch, use_cache: bool) -> torch.Tensor:
    """The last position's logits of one decode step: the new tokens on the KV cache, or (exact
    mode) the whole sequence again."""
    if use_cache:
        result = model(
            input_ids=batch.step_ids,
            attention_mask=batch.mask,
            position_ids=_positions(batch.mask)[:, -batch.step_ids.shape[1] :],
            cache=batch.past,
            use_cache=True,
            logits_to_keep=1,
        )
        batch.past = result.cache
    else:
        result = model(
            input_ids=batch.ids,
            attention_mask=batch.mask,
            position_ids=_positions(batch.mask),
            use_cache=False,
            logits_to_keep=1,
        )
    return result.logits[:, -1]


def _collect(
    batch: _Batch,
    flags: Sequence[tuple[int, bool, bool]],
    nonfinite_rows: set[int] | None,
    stop_strings: StopStrings | None,
) -> tuple[list[int], list[int]]:
    """Each running row's new token kept, from the step's (token, stopped, broken) per batch row;
    the batch rows that go on, and those whose text reached a stop string at this step."""
    keep_rows: list[int] = []
    text_stopped: list[int] = []
    for position, row in enumerate(batch.live):
        token, stopped, broken = flags[position]
        if broken and nonfinite_rows is not None and batch.running_host[position]:
            nonfinite_rows.add(row)
        if stopped or broken or not batch.running_host[position]:
            continue
        batch.out[row].append(token)
        if stop_strings is not None and _ends_in_stop(batch, row, token, stop_strings):
            text_stopped.append(position)
            continue
        keep_rows.append(position)
    return keep_rows, text_stopped


def _ends_in_stop(batch: _Batch, row: int, token: int, stop_strings: StopStrings) -> bool:
    """Whether ``row``'s text reaches a stop string with ``token``; if so its ids are cut before it."""
    batch.tails[row], hit = stop_strings.advance(batch.tails[row], token)
    keep = stop_strings.end(batch.out[row]) if hit else None
    if keep is None:
        return False
    del batch.out[row][keep:]
    return True


def _grow_cached(
    batch: _Batch,
    next_ids: torch.Tensor,
    stopped: torch.Tensor,
    broken: torch.Tensor,
    keep_rows: list[int],
    text_stopped: list[int],
    pad_id: int,
) -> None:
    """Cached mode: rows stay in the batch so the KV cache stays aligned; finished rows feed padding."""
    batch.running = batch.running & ~stopped & ~broken
    if text_stopped:
        batch.running[torch.tensor(text_stopped, device=batch.running.device)] = False
    kept = set(keep_rows)
    batch.running_host = [p in kept for p in range(len(batch.live))]
    batch.step_ids = torch.where(batch.running, next_ids, torch.full_like(next_ids, pad_id))[:, None]
    batch.ids = torch.cat([batch.ids, batch.step_ids], dim=1)
    batch.mask = torch.cat([batch.mask, batch.running.long()[:, None]], dim=1)


def _drop_finished(batch: _Batch, keep_rows: list[int], session: SteeringSession | None) -> None:
    """Cached mode: the rows that ended leave the batch, their KV cache and their steering sums
    (at least :data:`MIN_ROWS` stay: ended rows beside the last ones feed padding as before)."""
    rows, going_on = len(batch.live), set(keep_rows)
    ended = [p for p in range(rows) if p not in going_on]
    keep = sorted(keep_rows + ended[: max(0, min(MIN_ROWS, rows) - len(keep_rows))])
    if len(keep) == rows:
        return
    # on the host for the KV cache (a device_map spreads its layers over devices; a host index
    # selects on any of them), on the input device for the rest
    host_index = torch.tensor(keep)
    index = host_index.to(batch.ids.device)
    batch.ids, batch.mask, batch.step_ids = batch.ids[index], batch.mask[index], batch.step_ids[index]
    batch.running = batch.running[index]
    batch.running_host = [batch.running_host[p] for p in keep]
    batch.starts = [batch.starts[p] for p in keep]
    batch.live = [batch.live[p] for p in keep]
    batch.live_on_device = torch.tensor(batch.live, device=batch.ids.device)
    batch.past.batch_select_indices(host_index)
    if session is not None:
        session.select_rows(index)


def _count_step(batch: _Batch, step: int) -> None:
    """The step's rows for the profile (``fusion bench --profile``): the prefill, then decode steps."""
    if step == 0:
        rows, width = batch.mask.shape
        profiling.prefill(rows, width, sum(width - s for s in batch.starts))
    else:
        profiling.decode_step(len(batch.live), sum(batch.running_host))


def _grow_exact(batch: _Batch, next_ids: torch.Tensor, keep_rows: list[int]) -> None:
    """Exact mode: finished rows leave the batch, and so do columns that are padding in every row left."""
    if len(keep_rows) < len(batch.live):
        index = torch.tensor(keep_rows, device=next_ids.device)
        batch.ids, batch.mask, next_ids = batch.ids[index], batch.mask[index], next_ids[index]
        batch.live = [batch.live[p] for p in keep_rows]
        batch.live_on_device = torch.tensor(batch.live, device=next_ids.device)
        batch.starts = [batch.starts[p] for p in keep_rows]
        first_real = min(batch.starts)  # drop columns that are padding in every remaining row
        if first_real:
            batch.ids, batch.mask = batch.ids[:, first_real:], batch.mask[:, first_real:]
            batch.starts = [s - first_real for s in batch.starts]
    batch.ids = torch.cat([batch.ids, next_ids[:, None]], dim=1)
    batch.mask = torch.cat([batch.mask, torch.ones_like(next_ids)[:, None]], dim=1)


def _pad_of(model: PreTrainedModel) -> int:
    pad = model.generation_config.pad_token_id
    if isinstance(pad, list):
        pad = pad[0]
    return int(pad) if pad is not None else 0
