"""Judges grade answers: a label (CORRECT, INCORRECT, NOT_ATTEMPTED) and a 1-5 quality grade.

Every judge implements :class:`Judge`; each module of a judge exposes its ``JUDGE`` spec
(:class:`fusion.config.judges.JudgeSpec`: schema, check, factory), and `factory.make_judge` builds one
from the `judge` config node through that registry. Available: ``rules`` (offline, deterministic),
``openai`` (any OpenAI-compatible chat endpoint) and ``hf`` (a local transformers model); the LLM
judges share the paper's rubrics (`rubrics.py`); a judge of your own plugs in by import path or
entry point (``judge=plugin``, docs/judges.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fusion.errors import ServiceUnavailable
from fusion.records import Grade, GradeRequest


class Judge(Protocol):
    name: str

    def grade(self, requests: Sequence[GradeRequest]) -> list[Grade]:
        """Grade a batch of answers; one Grade per request, in order."""
        ...


class JudgeUnavailable(ServiceUnavailable):
    """A judge could not grade (endpoint down, retries exhausted, key refused).

    The message is one line naming the endpoint, the last error and the fix; it never holds a key.
    A run stops rather than record a made-up grade: prompts finished so far are kept, and a rerun
    resumes (and, with the reply cache, does not pay again for the gradings already done).
    """
