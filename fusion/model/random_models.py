"""Random-weight models with real architectures, built from a config: no download, no tokenizer.

For the device benchmark (a GPU machine without network can still measure Gemma-2-2B's shapes)
and for tests that need a model small enough to run in milliseconds on any device.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, Gemma2Config, LlamaConfig, PretrainedConfig, PreTrainedModel

# The published shapes of the models fusion runs (their config.json), and a tiny one for tests.
ARCHITECTURES: dict[str, dict] = {
    "tiny": dict(
        family="llama",
        vocab_size=128,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        # at the usual 0.02 a model this small repeats one token forever: useless for comparing answers
        initializer_range=0.2,
    ),
    "smollm2_135m": dict(
        family="llama",
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        max_position_embeddings=8192,
        rope_theta=100000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
    ),
    "gemma2_2b": dict(
        family="gemma2",
        vocab_size=256000,
        hidden_size=2304,
        intermediate_size=9216,
        num_hidden_layers=26,
        num_attention_heads=8,
        num_key_value_heads=4,
        head_dim=256,
        max_position_embeddings=8192,
        sliding_window=4096,
        query_pre_attn_scalar=256,
        attn_logit_softcapping=50.0,
        final_logit_softcapping=30.0,
    ),
}
_CONFIGS: dict[str, type[PretrainedConfig]] = {"llama": LlamaConfig, "gemma2": Gemma2Config}


def architecture_config(name: str) -> PretrainedConfig:
    if name not in ARCHITECTURES:
        raise ValueError(f"no architecture '{name}': use one of {', '.join(ARCHITECTURES)}")
    spec = dict(ARCHITECTURES[name])
    config = _CONFIGS[spec.pop("family")](**spec)
    config.pad_token_id = 0
    config.eos_token_id = 1
    return config


def random_model(
    name: str, *, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, seed: int = 0
) -> PreTrainedModel:
    """A model of architecture ``name`` with seeded random weights, in eval mode on ``device``.
    Each device has its own random generator: the same seed gives other weights on a GPU."""
    torch.manual_seed(seed)
    # built on the device itself: initialising 2.6B parameters on the CPU first takes minutes
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(architecture_config(name), dtype=dtype)
    model.generation_config.eos_token_id = 1
    model.generation_config.pad_token_id = 0
    return model.eval()
