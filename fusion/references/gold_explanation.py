"""gold_explanation: the paper's reference, the gold answer followed by the model's explanation of it.

An oracle: the steering target is built from the gold answer, and the search scores each trial by
its overlap with the gold.
"""

from __future__ import annotations

from collections.abc import Sequence

from fusion.records import Prompt
from fusion.references.spec import ReferenceSpec


def reference_completion(gold: str, explanation: str) -> str:
    """Gold answer + explanation: the text each layer's steering target is averaged over."""
    return f"{gold}\n{explanation}" if explanation else gold


class GoldExplanation:
    spec = ReferenceSpec(
        name="gold_explanation",
        summary="the gold answer and the model's explanation of it (the paper's; an oracle)",
        oracle=True,
        explanation=True,
    )

    def check(self, prompts: Sequence[Prompt]) -> str | None:
        return None

    def completion(self, prompt: Prompt, explanation: str) -> str:
        return reference_completion(prompt.gold, explanation)

    def scored_against(self, prompt: Prompt) -> str:
        return prompt.gold


REFERENCE = GoldExplanation()
