"""Which question's reference each prompt is steered toward: its own, or (the placebo) another's.

Torch-free: the assignment is a function of the job's prompt list and seed only, so a resumed job,
a rerun and a report all see the same one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from fusion.errors import SetupError

TARGETS = ("reference", "shuffled")


def shuffled_partners(indices: Sequence[int], seed: int) -> dict[int, int]:
    """A seeded derangement of ``indices``: each prompt gets another prompt's index, none its own.

    Sattolo's shuffle draws a random single cycle, which never maps an element to itself. The
    seed and the job's prompt list fix it, so resume and reruns use the same assignment.
    """
    order = list(dict.fromkeys(indices))
    if len(order) < 2:
        raise SetupError("steering.target=shuffled needs at least 2 prompts in the job: raise data.limit")
    rng = random.Random(f"fusion-shuffled-target:{seed}")
    cycle = order[:]
    for i in range(len(cycle) - 1, 0, -1):
        j = rng.randrange(i)  # j < i (Sattolo), not j <= i (Fisher-Yates)
        cycle[i], cycle[j] = cycle[j], cycle[i]
    # cycle is a random permutation whose mapping position -> next position is one n-cycle
    return {cycle[k]: cycle[(k + 1) % len(cycle)] for k in range(len(cycle))}
