"""The steering hook on the real default model: formula, invariances, batching, cleanup."""

from __future__ import annotations

import pytest
import torch

from fusion.errors import ConfigError
from fusion.methods import find
from fusion.methods.segments import segment_bounds
from fusion.model.generation import encode, eos_ids, greedy
from fusion.model.reference import reference_means, span_positions
from fusion.model.steering import capture, steering

QUESTION = "Question: Who received the IEEE Frank Rosenblatt Award in 2010?\nAnswer and explanation:"
REFERENCE = QUESTION + "\nMichio Sugeno\nHe is a Japanese engineer known for fuzzy control."
SPAN = (len(QUESTION) + 1, len(REFERENCE))
MAX_NEW = 24


@pytest.fixture(scope="module")
def targets(loaded) -> torch.Tensor:
    return reference_means(loaded.model, loaded.tokenizer, loaded.decoder_layers, REFERENCE, SPAN)


def run_greedy(loaded, texts, strengths=None, targets=None, cached=False):
    prompt = encode(loaded.tokenizer, texts)
    stop = eos_ids(loaded.model, loaded.tokenizer)
    if strengths is None:
        return greedy(loaded.model, prompt, max_new_tokens=MAX_NEW, stop_ids=stop, use_cache=cached)
    with steering(loaded.decoder_layers, targets, strengths, cached=cached) as session:
        return greedy(loaded.model, prompt, max_new_tokens=MAX_NEW, stop_ids=stop, session=session, use_cache=cached)


def forward_logits(loaded, text, strengths=None, targets=None):
    enc = loaded.tokenizer(text, return_tensors="pt")
    if strengths is None:
        return loaded.model(**enc).logits
    with steering(loaded.decoder_layers, targets, strengths):
        return loaded.model(**enc).logits


def test_reference_means_cover_only_the_answer_span(loaded, targets):
    enc = loaded.tokenizer(REFERENCE, return_offsets_mapping=True)
    positions = span_positions(enc["offset_mapping"], SPAN)
    text = loaded.tokenizer.decode([enc["input_ids"][i] for i in positions])
    assert text.strip().startswith("Michio") and text.strip().endswith("control.")
    assert targets.shape == (loaded.num_layers, loaded.hidden_size)
    with capture(loaded.decoder_layers) as outs:
        loaded.model(input_ids=torch.tensor([enc["input_ids"]]))
    index = torch.tensor(positions)
    for layer in (0, loaded.num_layers // 2, loaded.num_layers - 1):
        assert torch.allclose(targets[layer], outs[layer][0, index].mean(0), atol=1e-6)


def test_hook_applies_the_formula_at_every_layer(loaded, targets):
    """a' = a + s_l * (h_l - mean_t a), with a the layer's own (upstream-steered) output."""
    layers = loaded.decoder_layers
    strengths = torch.linspace(0.05, 0.6, loaded.num_layers)[None, :]
    enc = loaded.tokenizer(QUESTION, return_tensors="pt")
    # hooks run in registration order: `raw` sees the block's output, `steered` what the hook returned
    with capture(layers) as raw, steering(layers, targets, strengths), capture(layers) as steered:
        loaded.model(**enc)
    for layer in range(loaded.num_layers):
        a = raw[layer][0]
        expected = a + strengths[0, layer] * (targets[layer] - a.mean(dim=0))
        assert torch.allclose(steered[layer][0], expected, atol=1e-5), f"layer {layer}"
        assert not torch.allclose(steered[layer][0], a, atol=1e-3), f"layer {layer} was not steered"


def test_alpha_gamma_enter_only_through_their_product(loaded, targets):
    """The authors' two-step form (shift by gamma, blend by alpha) equals one shift by alpha*gamma."""
    layer = loaded.num_layers // 2
    outputs = []
    for alpha, gamma in [(0.5, 0.4), (0.8, 0.25), (0.2, 1.0)]:
        strengths = torch.zeros(1, loaded.num_layers)
        strengths[0, layer] = alpha * gamma
        outputs.append(forward_logits(loaded, QUESTION, strengths, targets))
    assert torch.allclose(outputs[0], outputs[1], atol=1e-5)
    assert torch.allclose(outputs[0], outputs[2], atol=1e-5)
    # and the authors' form, computed by hand on the raw layer output
    alpha, gamma = 0.5, 0.4
    enc = loaded.tokenizer(QUESTION, return_tensors="pt")
    with capture(loaded.decoder_layers) as raw:
        loaded.model(**enc)
    a = raw[layer][0]
    steered = a + gamma * (targets[layer] - a.mean(0))
    authors = alpha * steered + (1 - alpha) * a
    strengths = torch.zeros(1, loaded.num_layers)
    strengths[0, layer] = alpha * gamma
    with steering(loaded.decoder_layers, targets, strengths), capture(loaded.decoder_layers) as ours:
        loaded.model(**enc)
    assert torch.allclose(ours[layer][0], authors, atol=1e-5)


def test_zero_weights_reproduce_the_baseline_token_for_token(loaded, targets):
    baseline = run_greedy(loaded, [QUESTION])
    zero = run_greedy(loaded, [QUESTION], torch.zeros(1, loaded.num_layers), targets)
    assert zero == baseline
    logits = forward_logits(loaded, QUESTION)
    assert torch.equal(forward_logits(loaded, QUESTION, torch.zeros(1, loaded.num_layers), targets), logits)


def test_steering_changes_the_answer(loaded, targets):
    baseline = run_greedy(loaded, [QUESTION])
    steered = run_greedy(loaded, [QUESTION], torch.full((1, loaded.num_layers), 0.5), targets)
    assert steered != baseline


def test_segmented_with_equal_weights_equals_full(loaded, targets):
    segments = segment_bounds(loaded.num_layers, None)
    assert [len(s) for s in segments] == [10, 10, 10]
    n = loaded.num_layers

    def weights(method: str, strengths: list[float], groups: list[range]) -> torch.Tensor:
        """The ``[1, layers]`` weights a method's trial gives the hooks (fusion.methods)."""
        return torch.tensor([find(method).layer_weights(strengths, {}, groups, n)])

    full = weights("full", [0.3], [range(n)])
    segmented = weights("segmented", [0.3, 0.3, 0.3], segments)
    assert torch.equal(full, segmented)
    assert run_greedy(loaded, [QUESTION], full, targets) == run_greedy(loaded, [QUESTION], segmented, targets)
    uneven = weights("segmented", [0.0, 0.3, 0.6], segments)
    assert uneven[0, :10].eq(0).all() and uneven[0, 10:20].eq(0.3).all() and uneven[0, 20:].eq(0.6).all()


def test_segment_boundaries():
    assert segment_bounds(30, [10, 20]) == [range(0, 10), range(10, 20), range(20, 30)]
    assert segment_bounds(26, [9, 18]) == [range(0, 9), range(9, 18), range(18, 26)]
    for bad in ([20, 10], [0, 10], [10, 30], [10, 10]):
        with pytest.raises(ConfigError, match="steering.boundaries"):
            segment_bounds(30, bad)


def test_hooks_are_removed_after_an_exception(loaded, targets):
    before = forward_logits(loaded, QUESTION)
    with pytest.raises(RuntimeError, match="boom"):
        with steering(loaded.decoder_layers, targets, torch.full((1, loaded.num_layers), 0.5)):
            assert all(len(layer._forward_hooks) == 1 for layer in loaded.decoder_layers)
            raise RuntimeError("boom")
    assert all(len(layer._forward_hooks) == 0 for layer in loaded.decoder_layers)
    assert torch.equal(forward_logits(loaded, QUESTION), before)


def test_per_row_weights_in_one_batch_equal_rows_run_alone(loaded, targets):
    rows = torch.tensor([[0.0], [0.15], [0.4], [0.8]]).expand(4, loaded.num_layers).contiguous()
    batched = run_greedy(loaded, [QUESTION] * 4, rows, targets)
    singles = [run_greedy(loaded, [QUESTION], rows[i : i + 1], targets)[0] for i in range(4)]
    assert batched == singles
    assert len({tuple(r) for r in batched}) > 1, "different weights should give different answers"


def test_per_row_targets_and_left_padding_match_single_prompts(loaded, targets):
    """Different prompts (different lengths, so left padding) and per-row targets in one batch."""
    other = "Question: What is the capital of France?\nAnswer and explanation:"
    per_row = torch.stack([targets, targets.flip(0)])
    strengths = torch.full((2, loaded.num_layers), 0.3)
    batched = run_greedy(loaded, [QUESTION, other], strengths, per_row)
    alone = [
        run_greedy(loaded, [QUESTION], strengths[:1], per_row[0])[0],
        run_greedy(loaded, [other], strengths[1:], per_row[1])[0],
    ]
    assert batched == alone


def test_cached_mode_equals_exact_mode_where_it_must(loaded, targets):
    """Cached steering is an approximation, except (a) with zero weights, where both are the model
    itself, and (b) on the first token, whose forward pass sees the same prompt in both modes."""
    zero = torch.zeros(1, loaded.num_layers)
    assert run_greedy(loaded, [QUESTION], zero, targets, cached=True) == run_greedy(loaded, [QUESTION])
    rows = torch.tensor([[0.1], [0.3], [0.6]]).expand(3, loaded.num_layers).contiguous()
    exact = run_greedy(loaded, [QUESTION] * 3, rows, targets)
    cached = run_greedy(loaded, [QUESTION] * 3, rows, targets, cached=True)
    assert [e[:1] for e in exact] == [c[:1] for c in cached]


def test_cached_running_mean_covers_every_position_seen(loaded, targets):
    """With the KV cache the hook sees one new position per step; its mean must still be the mean
    over the whole (pre-shift) sequence so far, so a step's shift equals the exact formula applied
    to the running mean."""
    enc = encode(loaded.tokenizer, [QUESTION])
    layer = 5
    strengths = torch.zeros(1, loaded.num_layers)
    strengths[0, layer] = 0.5
    with (
        capture(loaded.decoder_layers) as raw,
        steering(loaded.decoder_layers, targets, strengths, cached=True) as s,
        capture(loaded.decoder_layers) as out,
    ):
        s.set_mask(enc.mask)
        first = loaded.model(input_ids=enc.ids, attention_mask=enc.mask, use_cache=True)
        prefix = raw[layer][0].clone()
        next_id = first.logits[:, -1:].argmax(-1)
        mask = torch.cat([enc.mask, torch.ones(1, 1, dtype=torch.long)], dim=1)
        s.set_mask(mask)
        loaded.model(input_ids=next_id, attention_mask=mask, cache=first.cache, use_cache=True)
    new = raw[layer][0]  # the new position's own (pre-shift) activation
    running_mean = torch.cat([prefix, new]).mean(0)
    expected = new + 0.5 * (targets[layer] - running_mean)
    assert torch.allclose(out[layer][0], expected, atol=1e-5)


def test_a_batch_of_prompts_answers_like_each_prompt_alone(loaded):
    """Unsteered answers are batched across prompts (left padding); each equals its answer alone."""
    from fusion.config.schema import PromptsConfig
    from fusion.data.simpleqa import load_simpleqa
    from fusion.model.prompts import render

    texts = [render(PromptsConfig(chat_template=True), loaded.tokenizer, p).baseline for p in load_simpleqa()[:4]]
    assert len({len(loaded.tokenizer(t)["input_ids"]) for t in texts}) > 1, "needs prompts of different lengths"
    stop = eos_ids(loaded.model, loaded.tokenizer)
    together = greedy(
        loaded.model, encode(loaded.tokenizer, texts), max_new_tokens=MAX_NEW, stop_ids=stop, use_cache=True
    )
    alone = [
        greedy(loaded.model, encode(loaded.tokenizer, [t]), max_new_tokens=MAX_NEW, stop_ids=stop, use_cache=True)[0]
        for t in texts
    ]
    assert together == alone
