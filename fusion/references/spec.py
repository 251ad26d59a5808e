"""A reference as data plus a few functions: the text a question's steering target is built from.

A steered method moves the hidden states toward each layer's mean over a reference completion; a
prompted one (in_context) puts the same text in the prompt; the placebo (steering.target=shuffled)
takes another question's reference of the same kind. The reference also says what the per-question
search scores a trial's overlap against: an oracle reference (one that reads the gold answer) scores
it against the gold, a reference that does not against its own text, so that nothing before grading
reads the gold (docs/method.md, "References and the oracle question").

Torch-free and low in the layering: the preflight checks a reference against the job's questions,
and a report reads a run's oracle status from its tags, without a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from fusion.records import Prompt


@dataclass(frozen=True)
class ReferenceSpec:
    """What a reference is, for the job, the preflight, the run's tags and the report."""

    name: str
    summary: str  # one line, for help texts and the docs
    # reads the gold answer before grading (its target, or the search's score, is built from it)
    oracle: bool
    # needs the model's explanation (the explanation prompt answered unsteered) for its text
    explanation: bool = False


@runtime_checkable
class Reference(Protocol):
    """A reference: its spec and the functions the job calls on each question."""

    spec: ReferenceSpec

    def check(self, prompts: Sequence[Prompt]) -> str | None:
        """What makes the job's questions unusable with this reference, as "what is wrong and the
        fix" (or None), before any model is loaded."""
        ...

    def completion(self, prompt: Prompt, explanation: str) -> str:
        """The reference completion after the steer prompt: the text each layer's target is averaged
        over, and what in_context puts in the prompt. ``explanation``: the model's, where the spec
        asks for one, else ""."""
        ...

    def scored_against(self, prompt: Prompt) -> str:
        """The text a search trial's token overlap is measured against (the gold for an oracle)."""
        ...
