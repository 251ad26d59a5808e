"""What a steering method builds its targets from (:class:`fusion.methods.spec.TargetSource`) in a
job: every question of the job, the job's seed, a cache kept for the whole job, and each question's
reference means and own-answer means from the job's answerer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from fusion.job.answering import Answerer
from fusion.records import Prompt


@dataclass(frozen=True)
class JobTargets:
    """The job's target source: built once with its questions (a global method such as mean_diff
    trains on them), read by the methods through :class:`~fusion.methods.spec.TargetSource`."""

    answerer: Answerer
    questions: Sequence[Prompt] = ()
    seed: int = 0
    memo: dict[str, Any] = field(default_factory=dict)  # a target built once serves every pack

    def references(self, questions: Sequence[Prompt]) -> list[tuple[str, torch.Tensor]]:
        return self.answerer.references(questions)

    def answer_means(self, questions: Sequence[Prompt]) -> list[torch.Tensor | None]:
        return self.answerer.answer_means(questions)
