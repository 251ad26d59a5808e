"""The ``hf`` judge: a local transformers causal LM grades with the paper's rubrics.

Same messages and parsers as the ``openai`` judge (``rubrics.py``), rendered with the judge
model's chat template and decoded greedily (temperature 0, as the authors' judge), ``batch_size``
prompts at a time (left-padded; the project's generation loop gives a batch the same tokens as
each prompt alone). ``model`` names a file of ``fusion/conf/model`` (e.g. ``smollm2_135m``), loaded with
:func:`fusion.model.loading.load_configured` (GGUF weights are dequantized once into ``cache_dir``).

Building the judge only checks that the weights exist; they load on the first ``grade`` call, so
a job fails fast on a bad config and loads nothing it does not use. The loaded model is kept per
process (a multirun's jobs share it), and when the job itself runs the same model, the job's copy
is reused instead of a second one (it is graded only between steered generations, hook-free).
A small instruct model makes a weak judge: its grades are reproducible, not authoritative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fusion.config.judges import JudgeSpec
from fusion.errors import ConfigError
from fusion.evaluate.judges.rubrics import RUBRIC, Message, grades_from, rubric_calls
from fusion.records import Grade, GradeRequest

if TYPE_CHECKING:  # torch and transformers load with the judge, not with the config
    from transformers import PreTrainedTokenizerBase

    from fusion.model.loading import LoadedModel, ModelConfig


@dataclass
class HFJudgeConfig:
    """``judge=hf``: the paper's rubrics graded by a local transformers model of ``fusion/conf/model``."""

    name: str = "hf"
    model: str = "smollm2_135m"  # an option of fusion/conf/model, a local path or a hub id
    max_new_tokens: int = 64
    batch_size: int = 8
    weights_cache_dir: str | None = "~/.cache/fusion/models"  # dequantized GGUF copies; null: none


def check(judge: HFJudgeConfig) -> None:
    if not judge.model.strip():
        raise ConfigError("judge.model: missing: set judge.model=smollm2_135m (an option of fusion/conf/model)")
    for key in ("max_new_tokens", "batch_size"):
        if getattr(judge, key) < 1:
            raise ConfigError(f"judge.{key}: must be >= 1 (got {getattr(judge, key)})")


def render(tokenizer: PreTrainedTokenizerBase, messages: list[Message]) -> str:
    """The prompt text of ``messages`` in the model's chat template."""
    if tokenizer.chat_template is None:  # a base model: plain turns, the reply follows
        return "\n\n".join(m["content"] for m in messages) + "\n\n"
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)  # type: ignore[return-value]
    except Exception as error:  # noqa: BLE001 - jinja2 (an optional dependency) raises TemplateError
        if type(error).__name__ != "TemplateError":
            raise
        # Gemma's template refuses a system turn: fold the system line into the user turn
        merged = [{"role": "user", "content": "\n\n".join(m["content"] for m in messages)}]
        return tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)  # type: ignore[return-value]


class HFJudge:
    """Grades with a local causal LM; see the module docstring."""

    rubric = RUBRIC

    def __init__(self, model: ModelConfig, settings: HFJudgeConfig) -> None:
        from fusion.model.loading import QuantizationConfig, shared_key
        from fusion.model.sources import resolve_source

        resolve_source(model)  # cheap: a missing model package or path fails at job preparation
        self.model, self.settings = model, settings
        self.name = f"hf:{model.name}"
        self._key = shared_key(model, QuantizationConfig(), settings.weights_cache_dir)

    def __repr__(self) -> str:
        return f"HFJudge(name={self.name!r}, rubric={self.rubric!r})"

    def loaded(self) -> LoadedModel:
        """The judge model, loaded on first use; the job's own copy when the job runs it too."""
        from fusion.model.loading import QuantizationConfig, shared_model

        return shared_model(self.model, QuantizationConfig(), self.settings.weights_cache_dir)

    def grade(self, requests: Sequence[GradeRequest]) -> list[Grade]:
        from fusion.model.generation import encode, eos_ids, greedy

        if not requests:
            return []
        loaded = self.loaded()
        tokenizer, size = loaded.tokenizer, self.settings.batch_size
        texts = [render(tokenizer, messages) for _, messages in rubric_calls(requests)]
        stop = eos_ids(loaded.model, tokenizer)
        replies: list[str] = []
        for start in range(0, len(texts), size):
            rows = greedy(
                loaded.model,
                encode(tokenizer, texts[start : start + size]),
                max_new_tokens=self.settings.max_new_tokens,
                stop_ids=stop,
                use_cache=True,
            )
            replies += [str(tokenizer.decode(row, skip_special_tokens=True)).strip() for row in rows]
        return grades_from(replies, self.name)


def build(settings: HFJudgeConfig) -> HFJudge:
    from fusion.config.compose import named_model_config

    return HFJudge(named_model_config(settings.model), settings)


JUDGE = JudgeSpec(
    name="hf",
    summary="the paper's rubrics graded by a local transformers model of fusion/conf/model",
    schema=HFJudgeConfig,
    build=build,
    check=check,
)
