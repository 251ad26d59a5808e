"""Answers end where the answer ends: a base model's next question frame is cut from its answer.

The generation tests run a real (tiny) Llama through the real loop: a "frame writer" whose next
token depends on the current one only (one-hot embeddings, every layer's output projections
zeroed, an output matrix that maps each token to its successor), with a word-level tokenizer. Asked
``Question: Capital?\\nAnswer and explanation:`` it answers `` Paris.`` and then writes
``\\nQuestion: Capital?\\nAnswer: Paris.`` over and over, as Gemma 3 270M does.
"""

from __future__ import annotations

import re

import pytest
import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from fusion.config.compose import validate
from fusion.config.schema import JobConfig, PromptsConfig, SearchConfig, SteeringConfig, TrackingConfig
from fusion.errors import ConfigError
from fusion.evaluate.answer_end import DEFAULT_STOPS, answer_stops, cut_answer, find_stop
from fusion.evaluate.judges.rules import RulesJudge
from fusion.job.answering import stop_strings
from fusion.job.keys import job_key
from fusion.job.runner import PromptRunner
from fusion.model.devices import Placement
from fusion.model.generation import encode, greedy
from fusion.model.loading import LoadedModel
from fusion.model.sources import ModelSource
from fusion.model.steering import steering
from fusion.records import Prompt

# --- cut_answer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("Paris.\nQuestion: What is the capital of Italy?\nAnswer: Rome.", "Paris."),
        ("Paris is the capital.\n\nQuestion: And Italy?", "Paris is the capital."),
        ("Paris.  \nQ: Italy?\nA: Rome.", "Paris."),
        (" Paris.\nQuestion:", " Paris."),  # only trailing whitespace goes
        ("Paris.\nAnswer: Paris.", "Paris.\nAnswer: Paris."),  # no new question: nothing to cut
        ("The Question: is it Paris?", "The Question: is it Paris?"),  # not at a line start
        ("Paris", "Paris"),
        ("", ""),
    ],
)
def test_cut_answer_ends_before_the_next_question_frame(text, cut):
    assert cut_answer(text) == cut


def test_an_answer_that_starts_with_a_frame_is_cut_at_the_next_one_never_emptied():
    """The rule: a stop counts only after the answer's first non-whitespace character."""
    echo = "Question: Who?\nAnswer: John Layton\nQuestion: Who?\nAnswer: John Layton"
    assert cut_answer(echo) == "Question: Who?\nAnswer: John Layton"
    assert cut_answer("\n" + echo) == "\nQuestion: Who?\nAnswer: John Layton"  # raw, before the caller strips
    assert cut_answer("\nQuestion: Who?") == "\nQuestion: Who?"
    assert cut_answer("Question:", ["Question:"]) == "Question:"  # a stop without a newline, at the start
    assert find_stop("\nQuestion: a\nQ: b") == 12


def test_custom_stops_and_the_default_by_chat_template():
    assert cut_answer("Paris ### more", ["###"]) == "Paris"
    assert cut_answer("Paris.\nQuestion: x", []) == "Paris.\nQuestion: x"
    assert answer_stops(None, chat_template=False) == DEFAULT_STOPS == ("\nQuestion:", "\nQ:")
    assert answer_stops(None, chat_template=True) == ()
    assert answer_stops([], chat_template=False) == ()
    # a typed \n (a Hydra override keeps it as two characters) is a newline
    assert answer_stops(["\\nQuestion:", "\nQuestion:", "###"], chat_template=True) == ("\nQuestion:", "###")


def test_the_config_key_is_checked_and_keys_the_job_only_where_it_stops():
    with pytest.raises(ConfigError, match="prompts.stop_strings"):
        validate(JobConfig(prompts=PromptsConfig(stop_strings=["\nQuestion:", ""])))
    validate(JobConfig(prompts=PromptsConfig(stop_strings=[])))

    def key(**prompts):
        return job_key({"prompts": {"chat_template": True, **prompts}})

    # inside a chat template the default stops nothing: the job keeps the key it had before the key existed
    assert key(stop_strings=None) == key() == key(stop_strings=[])
    assert key(stop_strings=["\nQuestion:"]) != key()
    raw = {"chat_template": False}
    assert job_key({"prompts": {**raw, "stop_strings": None}}) != job_key({"prompts": raw})
    assert job_key({"prompts": {**raw, "stop_strings": None}}) == job_key(
        {"prompts": {**raw, "stop_strings": list(DEFAULT_STOPS)}}
    )


# --- generation on a model that keeps writing frames -------------------------------------------

TOKENS = ["<pad>", "</s>", "<unk>", "Question:", " Capital?", "\nAnswer and explanation:", "\nAnswer:"]
TOKENS += [" Paris", ".", "\n", "Capital?", "Echo"]
NEXT = {  # each token's successor: the frame writer's whole behaviour
    "\nAnswer and explanation:": " Paris",
    "\nAnswer:": " Paris",
    " Paris": ".",
    ".": "\n",
    "\n": "Question:",
    "Question:": " Capital?",
    " Capital?": "\nAnswer:",
    "Capital?": " Paris",  # the bare question (the baseline prompt)
    "Echo": "\n",  # an answer that starts with a frame of its own
}
STEER = "Question: Capital?\nAnswer and explanation:"
MAX_NEW = 24


@pytest.fixture(scope="module")
def frame_writer():
    vocab = {t: i for i, t in enumerate(TOKENS)}
    words = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    pattern = "|".join(re.escape(t) for t in sorted(TOKENS[3:], key=len, reverse=True))
    words.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    words.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        clean_up_tokenization_spaces=False,
    )
    config = LlamaConfig(
        vocab_size=16,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        tie_word_embeddings=False,
        pad_token_id=0,
        eos_token_id=1,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.model.embed_tokens.weight.copy_(torch.eye(16) * 4)
        for layer in model.model.layers:  # every block adds nothing: the residual stream is the token
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.lm_head.weight.zero_()
        for token, successor in NEXT.items():
            model.lm_head.weight[vocab[successor], vocab[token]] = 1.0
    model.generation_config.eos_token_id, model.generation_config.pad_token_id = 1, 0
    return model, tokenizer


def generate(frame_writer, texts, stops, steered=None, cached=True, steps=None):
    model, tokenizer = frame_writer
    kwargs = dict(
        max_new_tokens=MAX_NEW,
        stop_ids={1},
        use_cache=cached,
        stop_strings=stop_strings(tokenizer, stops),
        on_step=(lambda step, running: steps.append(running)) if steps is not None else None,
    )
    if steered is None:
        rows = greedy(model, encode(tokenizer, texts), **kwargs)
    else:  # small strengths toward a zero target: the hooks run, the argmax does not move
        targets = torch.zeros(len(texts), len(model.model.layers), 16)
        strengths = torch.full((len(texts), len(model.model.layers)), steered)
        with steering(model.model.layers, targets, strengths, cached=cached) as session:
            rows = greedy(model, encode(tokenizer, texts), session=session, **kwargs)
    return [str(tokenizer.decode(r, skip_special_tokens=True)) for r in rows]


def test_without_stops_the_frame_writer_writes_frames_to_the_token_limit(frame_writer):
    (text,) = generate(frame_writer, [STEER], stops=())
    assert text.startswith(" Paris.\nQuestion: Capital?\nAnswer: Paris.\nQuestion:")
    assert len(frame_writer[1](text)["input_ids"]) == MAX_NEW


@pytest.mark.parametrize(("steered", "cached"), [(None, True), (None, False), (0.2, True), (0.2, False)], ids=str)
def test_generation_stops_at_the_next_question_frame(frame_writer, steered, cached):
    """Unsteered (the KV cache) and steered (cached and exact decoding), in one left-padded batch:
    each row ends at its own frame, and its ids end before the frame's tokens."""
    steps: list[int] = []
    answers = generate(frame_writer, [STEER, "Echo"], DEFAULT_STOPS, steered, cached, steps)
    assert answers == [" Paris.", "\nQuestion: Capital?\nAnswer: Paris."]
    # the first row stops when "Question:" completes its frame (step 4), the second at its second frame
    assert steps == [2, 2, 2, 1, 1, 1, 1, 0]


def loaded_frame_writer(frame_writer) -> LoadedModel:
    model, tokenizer = frame_writer
    source = ModelSource("frame-writer", None, "frame-writer")
    return LoadedModel(
        model, tokenizer, source, 2, 16, model.model.layers, Placement(torch.device("cpu"), torch.float32)
    )


class RecordingJudge(RulesJudge):
    def __init__(self) -> None:
        super().__init__()
        self.answers: list[str] = []

    def grade(self, requests):
        self.answers += [r.answer for r in requests]
        return super().grade(requests)


@pytest.mark.parametrize("decoding", ["cached", "exact"])
def test_a_job_without_chat_template_answers_scores_and_grades_up_to_the_frame(frame_writer, tmp_path, decoding):
    """The job's own path (fixed strengths: no study), stops from the config's default."""
    job = JobConfig(
        steering=SteeringConfig(mode="full", decoding=decoding),
        search=SearchConfig(study_storage="memory"),
        prompts=PromptsConfig(chat_template=False, baseline="{question}", max_new_tokens=MAX_NEW),
        tracking=TrackingConfig(uri=f"sqlite:///{tmp_path / 'mlflow.db'}"),
    )
    judge = RecordingJudge()
    runner = PromptRunner(job, loaded_frame_writer(frame_writer), judge, fixed_strengths=[0.2])
    (outcome,) = runner.run_pack([(0, Prompt(0, "Capital?", "Paris"))])
    assert (outcome.baseline.answer, outcome.control.answer, outcome.steered.answer) == ("Paris.",) * 3
    assert judge.answers == ["Paris."] * 3
    assert outcome.steered.explanation == "."  # after "Answer: Paris" the explanation ends at its frame too
    assert outcome.steered.overlap == 1.0 and outcome.steered.perplexity < 2  # scored on the answer's own tokens
    assert outcome.baseline.fluency == outcome.steered.fluency and not outcome.steered.fluency["degenerate"]

    # prompts.stop_strings=[]: the frames stay (as every run before the key existed generated them)
    job.prompts.stop_strings = []
    runner = PromptRunner(job, loaded_frame_writer(frame_writer), RulesJudge(), fixed_strengths=[0.2])
    (outcome,) = runner.run_pack([(0, Prompt(0, "Capital?", "Paris"))])
    assert outcome.steered.answer.startswith("Paris.\nQuestion: Capital?\nAnswer: Paris.\nQuestion:")
