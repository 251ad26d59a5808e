"""oneDNN-packed linear layers (``model.cpu_linear``): the same sums as ``nn.Linear`` up to the
last bits, and each row independent of the others in its batch (a packed model steering packed
prompts like each prompt alone: ``test_devices.py``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fusion.config.compose import validate
from fusion.config.schema import JobConfig, ModelConfig
from fusion.errors import ConfigError
from fusion.model import cpu_linear
from fusion.model.cpu_linear import PackedLinear, pack_linears
from fusion.model.devices import DeviceError, resolve
from fusion.model.random_models import random_model
from tests.unit.test_devices import prompts

pytestmark = pytest.mark.skipif(not cpu_linear.available(), reason="this torch build has no oneDNN")

# SmolLM2-135M's projections and output head (in, out)
SHAPES = [(576, 576), (576, 192), (576, 1536), (1536, 576), (576, 4096)]


@pytest.mark.parametrize("bias", [False, True])
def test_a_packed_linear_computes_what_nn_linear_computes(bias):
    torch.manual_seed(0)
    dense = nn.Linear(96, 40, bias=bias)
    packed = PackedLinear(dense)
    wide = torch.randn(3, 14, 96)
    # 2-D, 3-D, and a strided view (the kernel would misread its strides without the copy)
    for x in (wide[0], wide, wide[:, ::2]):
        assert torch.allclose(packed(x), dense(x), atol=1e-5, rtol=1e-5)
    assert packed.weight.is_mkldnn and "in_features=96, out_features=40" in repr(packed)


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{i}x{o}" for i, o in SHAPES])
def test_a_rows_result_does_not_depend_on_the_rest_of_its_batch(shape):
    """What packed search relies on: a trial's row gives bit-for-bit the same sums whether its
    batch holds its own prompt's trials or a whole pack (from 2 rows on: one row alone may take
    another kernel, as torch's own kernels do below 12 rows)."""
    torch.manual_seed(1)
    packed = PackedLinear(nn.Linear(*shape, bias=False))
    batch = torch.randn(160, shape[0])
    together = packed(batch)
    for rows in (2, 3, 5, 8, 13, 40, 100):
        assert torch.equal(packed(batch[:rows]), together[:rows]), f"{rows} rows"


def test_packing_a_model_replaces_its_float32_linears_and_keeps_the_tied_embedding():
    model = random_model("tiny")
    ids = torch.tensor(prompts([9, 9]))
    before = model(input_ids=ids).logits
    embedding = model.get_input_embeddings().weight
    linears = sum(type(m) is nn.Linear for m in model.modules())
    assert pack_linears(model) == linears > 0
    assert not any(type(m) is nn.Linear for m in model.modules())
    assert isinstance(model.get_output_embeddings(), PackedLinear)
    assert model.get_input_embeddings().weight is embedding and not embedding.is_mkldnn
    assert torch.allclose(model(input_ids=ids).logits, before, atol=1e-4)
    assert pack_linears(model) == 0, "packing twice must leave packed layers alone"


def test_auto_packs_float32_on_the_cpu_and_nothing_else():
    expected = "onednn" if cpu_linear.preferred() else "torch"
    assert resolve("cpu", "auto").linear == expected
    assert resolve("cpu", "float32", cpu_linear="onednn").linear == "onednn"
    assert resolve("cpu", "float32", cpu_linear="torch").linear == "torch"
    assert resolve("cpu", "bfloat16").linear == "torch"


def test_asking_for_onednn_where_it_does_not_apply_fails_in_one_line():
    with pytest.raises(
        DeviceError, match="model.cpu_linear=onednn packs float32 .* in bfloat16: use model.cpu_linear=auto"
    ):
        resolve("cpu", "bfloat16", cpu_linear="onednn")
    with pytest.raises(ConfigError, match="model.cpu_linear"):
        validate(JobConfig(model=ModelConfig(cpu_linear="mkl")))
