"""passage: the question set's supporting passage (HaluEval's knowledge) as the reference text.

Not an oracle: the target is averaged over the passage, in_context gives the passage in the prompt
(reading comprehension, the retrieval baseline), and the search scores each trial by its overlap with
the passage, so that the gold answer is read by the grading alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from fusion.records import Prompt
from fusion.references.spec import ReferenceSpec


class Passage:
    spec = ReferenceSpec(
        name="passage",
        summary="the question set's passage (data=halueval's knowledge); reads no gold",
        oracle=False,
    )

    def check(self, prompts: Sequence[Prompt]) -> str | None:
        missing = [p for p in prompts if not (p.passage or "").strip()]
        if not missing:
            return None
        return (
            f"reference=passage: {len(missing)} of {len(prompts)} questions have no passage "
            f"(the first: {missing[0].qid or missing[0].index}): use data=halueval, map data.columns.passage "
            "to your file's passage column, or reference=gold_explanation"
        )

    def completion(self, prompt: Prompt, explanation: str) -> str:
        return prompt.passage or ""

    def scored_against(self, prompt: Prompt) -> str:
        return prompt.passage or ""


REFERENCE = Passage()
