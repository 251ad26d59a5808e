"""Shared fixtures: the real default model, loaded once per test session (integration and e2e tiers)."""

from __future__ import annotations

import pytest
import torch

from fusion.model.loading import LoadedModel, QuantizationConfig, load_configured
from tests.helpers import DEFAULT_MODEL, model_cache_dir


@pytest.fixture(scope="session")
def loaded() -> LoadedModel:
    torch.manual_seed(0)
    return load_configured(DEFAULT_MODEL, QuantizationConfig(), model_cache_dir())
