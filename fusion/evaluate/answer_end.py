"""Where an answer ends: before the model starts the prompt's next question frame.

A base model has no end-of-turn token to stop at. Given the raw prompt
``Question: {q}\\nAnswer and explanation:`` it answers, and then usually goes on in the prompt's
own format: ``\\nQuestion: <a question of its own>\\nAnswer: ...``. That text is not part of the
answer, yet the judge, the overlap and the fluency measures would read it as if it were (a second
question's made-up answer can contain the gold words, and the repeated frame looks degenerate).
For a model without a chat template, generation stops at these strings
(:mod:`fusion.model.generation`) and every answer is cut with :func:`cut_answer` before it is
scored or graded, recorded answers included (:func:`fusion.tracking.answers.regrade`).

Torch-free and pure. The rule for an answer that itself starts with a frame: a stop only counts
after the answer's first non-whitespace character, so ``Question: ... \\nAnswer: X\\nQuestion:
...`` keeps its first frame and is cut at the second. An answer is never emptied by a cut.
"""

from __future__ import annotations

from collections.abc import Sequence

# A new question frame of the prompt format, at the start of a line.
DEFAULT_STOPS: tuple[str, ...] = ("\nQuestion:", "\nQ:")

# Escapes a stop string may be written with where a real newline is awkward (a Hydra override on
# the command line keeps a typed \n as two characters).
_ESCAPES = {"\\n": "\n", "\\t": "\t"}


def answer_stops(stop_strings: Sequence[str] | None, chat_template: bool) -> tuple[str, ...]:
    """The stop strings a job uses (``prompts.stop_strings``, ``prompts.chat_template``).

    ``None``: :data:`DEFAULT_STOPS` for a raw-text prompt, none inside a chat template (the model
    ends its turn itself). A list is used as given (``[]``: none), with ``\\n`` and ``\\t`` written
    as two characters read as a newline and a tab.
    """
    if stop_strings is None:
        return () if chat_template else DEFAULT_STOPS
    out = []
    for stop in stop_strings:
        for escape, char in _ESCAPES.items():
            stop = stop.replace(escape, char)
        out.append(stop)
    return tuple(dict.fromkeys(out))


def find_stop(text: str, stops: Sequence[str] = DEFAULT_STOPS) -> int | None:
    """The position of the first stop in ``text`` that starts after its first non-whitespace
    character (see the module's rule), or None."""
    body = len(text) - len(text.lstrip())
    found = [i for i in (text.find(stop, body + 1) for stop in stops if stop) if i >= 0]
    return min(found) if found else None


def cut_answer(text: str, stops: Sequence[str] = DEFAULT_STOPS) -> str:
    """``text`` up to its first stop (:func:`find_stop`), trailing whitespace removed; ``text``
    unchanged where it holds no stop."""
    end = find_stop(text, stops)
    return text if end is None else text[:end].rstrip()
