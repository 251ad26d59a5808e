"""``data=paper260``: the paper's 260 questions, the SimpleQA rows where Gemma-2-2B-IT's baseline was
graded INCORRECT, in the authors' order (the index file fusion/resources/paper260.json).

Its rows are SimpleQA's (``index`` = SimpleQA row, ``qid`` = ``simpleqa:<row>``), so runs on it pair
with SimpleQA runs on the same questions; ``data.index_file`` (paper260 in its config, as before)
selects among them by SimpleQA row.
"""

from __future__ import annotations

from collections.abc import Sequence

from fusion.config.schema import DataConfig
from fusion.data.select import load_index_file, select_prompts
from fusion.data.simpleqa import HELD_OUT
from fusion.data.simpleqa import QUESTION_SET as SIMPLEQA
from fusion.data.spec import SetSpec
from fusion.records import Prompt


class Paper260Set:
    spec = SetSpec(
        "paper260",
        "the paper's 260 SimpleQA questions its baseline got wrong, in its order",
        HELD_OUT,
        ids=SIMPLEQA.spec.name,
        title="the paper's 260",
    )

    def load(self, data: DataConfig) -> Sequence[Prompt]:
        return select_prompts(SIMPLEQA.load(data), indices=load_index_file("paper260"))

    def source(self, data: DataConfig) -> str:
        return SIMPLEQA.source(data)


QUESTION_SET = Paper260Set()
