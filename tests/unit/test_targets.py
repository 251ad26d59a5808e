"""The placebo target: a seeded derangement of the job's prompts."""

from __future__ import annotations

import pytest

from fusion.config.targets import shuffled_partners
from fusion.errors import SetupError


@pytest.mark.parametrize("n", [2, 3, 10, 260])
def test_no_prompt_gets_its_own_target_and_every_target_is_used_once(n):
    indices = [7 * i + 3 for i in range(n)]
    partners = shuffled_partners(indices, seed=0)
    assert sorted(partners) == sorted(indices)
    assert sorted(partners.values()) == sorted(indices)
    assert all(partners[i] != i for i in indices)


def test_the_same_seed_gives_the_same_assignment_and_another_seed_another():
    indices = list(range(40))
    assert shuffled_partners(indices, 0) == shuffled_partners(list(indices), 0)
    assert shuffled_partners(indices, 0) != shuffled_partners(indices, 1)


def test_one_prompt_cannot_be_shuffled():
    with pytest.raises(SetupError, match="at least 2 prompts"):
        shuffled_partners([5], 0)
