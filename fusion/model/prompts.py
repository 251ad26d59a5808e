"""Prompt rendering: the paper's raw-text templates, or the model's chat template for instruct models."""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from fusion.config.schema import PromptsConfig
from fusion.records import Prompt
from fusion.references.gold_explanation import reference_completion

__all__ = [
    "PromptTexts",
    "reference_completion",
    "reference_text",
    "render",
    "render_in_context",
    "render_user",
    "split_explanation",
]


@dataclass(frozen=True)
class PromptTexts:
    """Every text one question needs, rendered once."""

    baseline: str  # unsteered answer
    explanation: str  # the model explains the gold answer
    steer: str  # steered (and zero-steering control) answer
    # What separates the steer prompt from the gold answer in the reference text: the raw
    # template puts the answer on the next line; a chat template already ends the turn header.
    reference_separator: str


def render_user(tokenizer: PreTrainedTokenizerBase, text: str, chat: bool) -> str:
    if not chat:
        return text
    return str(
        tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)
    )


def render(cfg: PromptsConfig, tokenizer: PreTrainedTokenizerBase, prompt: Prompt) -> PromptTexts:
    fields = {"question": prompt.question, "gold": prompt.gold}
    chat = cfg.chat_template
    return PromptTexts(
        baseline=render_user(tokenizer, cfg.baseline.format(**fields), chat),
        explanation=render_user(tokenizer, cfg.explanation.format(**fields), chat),
        steer=render_user(tokenizer, cfg.steer.format(**fields), chat),
        reference_separator="" if chat else "\n",
    )


def reference_text(texts: PromptTexts, completion: str) -> tuple[str, tuple[int, int]]:
    """The reference completion after the steer prompt, and the character span of the completion.

    Paper layout: ``Question: {q}\\nAnswer and explanation:\\n{gold}\\n{explanation}``. Unlike the
    authors' code we locate the gold answer by position (not ``str.find``, which can hit the
    question) and keep the explanation's last token (their span ended one character early).
    ``completion``: the question's reference (fusion.references), e.g. :func:`reference_completion`.
    """
    prefix = texts.steer + texts.reference_separator
    return prefix + completion, (len(prefix), len(prefix) + len(completion))


def render_in_context(cfg: PromptsConfig, tokenizer: PreTrainedTokenizerBase, prompt: Prompt, reference: str) -> str:
    """The question with ``reference`` (its reference completion, fusion.references) given in the prompt: the same
    text steering delivers through the activations, here delivered as context."""
    text = cfg.in_context.format(question=prompt.question, gold=prompt.gold, reference=reference)
    return render_user(tokenizer, text, cfg.chat_template)


def split_explanation(continuation: str, marker: str | None) -> str:
    """The explanation part of the model's continuation after ``Answer: {gold}``.

    With a marker (the paper: ``**Explanation:**``) only the text after it counts, and no marker
    means no explanation; without one the whole continuation is the explanation.
    """
    if marker is None:
        return continuation.strip()
    head, found, tail = continuation.partition(marker)
    return tail.strip() if found else ""
