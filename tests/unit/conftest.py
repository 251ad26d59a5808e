"""The unit tier: tiny random-weight models and pure functions, well under a minute in all."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    # a model of 4 layers x 64 wide gains nothing from threads, and on a busy 2-core machine
    # OpenMP's spinning threads make it tens of times slower
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
