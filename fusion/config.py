"""Typed job configuration: the schema Hydra composes into, validated once at the edge.

The dataclasses are registered in Hydra's ConfigStore as the schema of ``conf/config.yaml``, so a
misspelt key fails at composition time. :func:`validate` then checks values (ranges, modes,
segment boundaries) and returns the typed :class:`JobConfig` the pipeline uses. Everything here is
cheap: it runs before any model or data is loaded.
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from fusion.targets import TARGETS


PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = PROJECT_ROOT / "conf"
STEERING_MODES = ("baseline", "full", "segmented")
SAMPLERS = ("tpe", "random")
OVERLAP_VARIANTS = ("continuation", "echo")
DTYPES = ("auto", "float32", "bfloat16", "float16")
# accelerate's placements for a model spread over several GPUs (see docs on `device_map`)
DEVICE_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
DATA_SELECTIONS = ("all", "baseline_failed")


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
    revision: str | None = None


@dataclass
class QuantizationConfig:
    name: str = "none"
    load_in_8bit: bool = False
    llm_int8_threshold: float = 6.0


class ConfigError(ValueError):
    """A bad configuration value; the message is one line naming the key and the fix."""


@dataclass
class SteeringConfig:
    mode: str = "full"
    # Segment starts after layer 0, e.g. [10, 20] cuts 30 layers into 0-9, 10-19, 20-29.
    # None: thirds of whatever model is loaded. Only used by mode=segmented.
    boundaries: list[int] | None = None
    # False: the paper's exact mode (no KV cache, mean over the whole current sequence each step).
    cache: bool = False
    # reference: each question's own reference means; shuffled: another question's of the same job
    # (a seeded derangement: the placebo that separates the steering from the oracle selection)
    target: str = "reference"


@dataclass
class Range:
    low: float = 0.01
    high: float = 1.0


@dataclass
class SearchConfig:
    n_trials: int = 5
    # Trials asked from Optuna at once and generated as one batch.
    batch_size: int = 5
    sampler: str = "tpe"
    # TPE's own default is 10 start-up trials: with the paper's 5 trials it is random search.
    n_startup_trials: int = 10
    seed: int = 0
    # Rows generated together: the trial batches of several prompts are packed into one batch of
    # at most this many rows (each prompt keeps its own study, so packing changes no trial).
    # null: the measured default of the device (fusion.devices.DEFAULT_BATCH_ROWS).
    max_batch_rows: int | None = None
    alpha: Range = field(default_factory=Range)
    gamma: Range = field(default_factory=Range)
    objective_weight: float = 0.7
    perplexity_cap: float = 100.0
    # Where per-prompt studies are kept: "job" = one SQLite file per job beside the tracking store
    # (SQLite locks under concurrent writers, so jobs never share a file), any SQLAlchemy URL
    # (e.g. postgresql://...) to share one database, or null to keep studies in memory.
    storage: str | None = "job"


@dataclass
class DataConfig:
    name: str = "simpleqa"
    path: str | None = None  # None: the wheel fetched by `make setup` (see fusion.data)
    index_file: str | None = None  # a JSON list of SimpleQA row indices, e.g. "paper260"
    # "all", or "baseline_failed": answer the selected pool unsteered, grade it with the judge and
    # keep only the answers graded INCORRECT (the paper's selection)
    select: str = "all"
    offset: int = 0
    limit: int | None = 5
    shard: int = 0
    num_shards: int = 1


@dataclass
class PromptsConfig:
    """Prompt templates; the defaults are the paper's raw-text prompts (paper_details.md section 8)."""

    baseline: str = "{question}"
    explanation: str = "Question: {question}\nAnswer: {gold}"
    steer: str = "Question: {question}\nAnswer and explanation:"
    # The paper splits the explanation off at Gemma's "**Explanation:**" marker; None keeps the
    # whole continuation after the gold answer.
    explanation_marker: str | None = None
    # Wrap each prompt in the tokenizer's chat template (instruct models); set per model.
    chat_template: bool = False
    max_new_tokens: int = 100
    # prompts answered together (left-padded) where nothing is steered: baseline and control
    unsteered_batch_size: int = 8


@dataclass
class EvalConfig:
    overlap: str = "continuation"  # or "echo": include the echoed prompt, as the authors did
    accuracy_threshold: float = 0.6
    # Perplexity in the search objective is scored by: null = the loaded (unsteered) model, or
    # another causal LM: an option of conf/model (e.g. gemma3_270m), a local path or a hub id.
    perplexity_model: str | None = None


@dataclass
class TrackingConfig:
    # None: a SQLite store under <project>/mlruns that `make ui` opens.
    uri: str | None = None
    experiment: str = "fusion"
    run_name: str | None = None


@dataclass
class JobConfig:
    model: ModelConfig = field(default_factory=lambda: ModelConfig(name="smollm2_135m"))
    quantization: QuantizationConfig = field(default_factory=QuantizationConfig)
    steering: SteeringConfig = field(default_factory=SteeringConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    data: DataConfig = field(default_factory=DataConfig)
    prompts: PromptsConfig = field(default_factory=PromptsConfig)
    judge: dict[str, Any] = field(default_factory=lambda: {"name": "rules"})
    eval: EvalConfig = field(default_factory=EvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    seed: int = 0
    # model cache for dequantized GGUF weights; None disables it
    cache_dir: str | None = None


def register_schema() -> None:
    """Make ``schema`` the base of ``conf/config.yaml`` so unknown keys fail at composition."""
    ConfigStore.instance().store(name="schema", node=JobConfig)


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"{key}: {message}")


def validate(cfg: DictConfig | JobConfig) -> JobConfig:
    """Check every value that can be checked without loading a model; return the typed config."""
    job = cfg if isinstance(cfg, JobConfig) else OmegaConf.to_object(cfg)
    if not isinstance(job, JobConfig):  # a plain DictConfig (tests composing without the schema)
        job = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(JobConfig), cfg))
    s, search, data = job.steering, job.search, job.data
    if s.mode not in STEERING_MODES:
        _fail("steering.mode", f"'{s.mode}' is not one of {', '.join(STEERING_MODES)}")
    if s.target not in TARGETS:
        _fail("steering.target", f"'{s.target}' is not one of {', '.join(TARGETS)}")
    if s.target == "shuffled" and s.mode == "baseline":
        _fail("steering.target", "shuffled needs a steered mode: use steering=full or segmented")
    if s.boundaries is not None:
        if not s.boundaries or any(b <= a for a, b in zip([0, *s.boundaries], s.boundaries)):
            _fail("steering.boundaries", f"{list(s.boundaries)} must be non-empty, increasing and > 0, e.g. [10,20]")
    if search.n_trials < 1:
        _fail("search.n_trials", f"must be >= 1 (got {search.n_trials})")
    if search.batch_size < 1:
        _fail("search.batch_size", f"must be >= 1 (got {search.batch_size})")
    if search.max_batch_rows is not None and search.max_batch_rows < 1:
        _fail("search.max_batch_rows", f"must be >= 1, or null for the device's default (got {search.max_batch_rows})")
    _validate_placement(job.model)
    if search.sampler not in SAMPLERS:
        _fail("search.sampler", f"'{search.sampler}' is not one of {', '.join(SAMPLERS)}")
    for name in ("alpha", "gamma"):
        rng: Range = getattr(search, name)
        if not (0.0 <= rng.low <= rng.high and math.isfinite(rng.high)):
            _fail(f"search.{name}", f"needs finite 0 <= low <= high (got low={rng.low}, high={rng.high})")
    if not 0.0 <= search.objective_weight <= 1.0:
        _fail("search.objective_weight", f"must be in [0, 1] (got {search.objective_weight})")
    if search.perplexity_cap <= 0:
        _fail("search.perplexity_cap", f"must be > 0 (got {search.perplexity_cap})")
    if data.limit is not None and data.limit < 1:
        _fail("data.limit", f"must be >= 1 or null for all (got {data.limit})")
    if data.offset < 0:
        _fail("data.offset", f"must be >= 0 (got {data.offset})")
    if not 0 <= data.shard < data.num_shards:
        _fail("data.shard", f"must be in [0, data.num_shards={data.num_shards}) (got {data.shard})")
    if data.select not in DATA_SELECTIONS:
        _fail("data.select", f"'{data.select}' is not one of {', '.join(DATA_SELECTIONS)}")
    if job.eval.overlap not in OVERLAP_VARIANTS:
        _fail("eval.overlap", f"'{job.eval.overlap}' is not one of {', '.join(OVERLAP_VARIANTS)}")
    if job.quantization.load_in_8bit and importlib.util.find_spec("bitsandbytes") is None:
        _fail("quantization", "int8 needs bitsandbytes, which is not installed: run `make setup` or use quantization=none")
    if job.prompts.unsteered_batch_size < 1:
        _fail("prompts.unsteered_batch_size", f"must be >= 1 (got {job.prompts.unsteered_batch_size})")
    if job.prompts.max_new_tokens < 1:
        _fail("prompts.max_new_tokens", f"must be >= 1 (got {job.prompts.max_new_tokens})")
    for key in ("baseline", "explanation", "steer"):
        template = getattr(job.prompts, key)
        if "{question}" not in template:
            _fail(f"prompts.{key}", "must contain {question}")
    if "{gold}" not in job.prompts.explanation:
        _fail("prompts.explanation", "must contain {gold}")
    return job


def _validate_placement(model: ModelConfig) -> None:
    """Device and precision values that are wrong on any machine; whether this machine has the
    device is checked in the preflight (fusion.devices), which needs torch."""
    if not DEVICE_PATTERN.fullmatch(model.device):
        _fail("model.device", f"'{model.device}' is not one of auto, cpu, cuda, cuda:N")
    if model.dtype not in DTYPES:
        _fail("model.dtype", f"'{model.dtype}' is not one of {', '.join(DTYPES)}")
    if model.device_map is not None:
        if model.device_map not in DEVICE_MAPS:
            _fail("model.device_map", f"'{model.device_map}' is not one of {', '.join(DEVICE_MAPS)} (or null)")
        if model.device == "cpu" or model.device.startswith("cuda:"):
            _fail("model.device_map", f"spreads a model over all visible GPUs: use model.device=auto or cuda with it, "
                  f"not {model.device} (or set model.device_map=null)")


def check_overrides(overrides: list[str]) -> None:
    """Reject a misspelt group option or key in command-line overrides with one line, before Hydra
    composes (its own messages span a dozen lines). Overrides it cannot judge are left to Hydra."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:  # noqa: BLE001 - a syntax error: Hydra reports it with its position
        return
    schema = OmegaConf.structured(JobConfig)
    for override in parsed:
        key = override.key_or_group
        if key.startswith("hydra") or override.is_delete():
            continue
        group = CONF_DIR / key
        if group.is_dir():
            options = sorted(p.stem for p in group.glob("*.yaml"))
            values = list(override.sweep_string_iterator()) if override.is_choice_sweep() else (
                [] if override.is_sweep_override() else [override.get_value_element_as_str()]
            )
            for value in values:
                if value not in options:
                    _fail(key, f"no option '{value}': use one of {', '.join(options)}")
        elif not (override.is_add() or override.is_force_add()):
            node: Any = schema
            for i, part in enumerate(key.split(".")):
                if isinstance(node, DictConfig) and node._is_typed() and part not in node:
                    where = ".".join(key.split(".")[:i]) or "the config"
                    close = difflib.get_close_matches(part, list(node.keys()), n=1)
                    hint = f"did you mean {'.'.join([*key.split('.')[:i], close[0]])}?" if close else f"keys of {where}: {', '.join(node.keys())}"
                    _fail(key, f"no such key: {hint}")
                if not isinstance(node, DictConfig) or not node._is_typed():
                    break  # open mappings (judge) take any key
                node = node[part]


def named_model_config(name: str) -> ModelConfig:
    """A model by conf/model option name (e.g. ``smollm2_135m``), else by local path or hub id
    (``org/name``); ValueError (one line) for a bare name that is neither."""
    path = CONF_DIR / "model" / f"{name}.yaml"
    if not path.is_file():
        if "/" not in name and not Path(name).expanduser().exists():
            options = ", ".join(sorted(p.stem for p in path.parent.glob("*.yaml")))
            raise ValueError(f"no model '{name}' in conf/model ({options}), and it is no path or org/name hub id")
        return ModelConfig(name=Path(name).name, id=name)
    node = OmegaConf.load(path)
    node = node.get("model", node)  # options are either `@package _global_` or the model node itself
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(ModelConfig), node))


def default_tracking_uri() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'mlruns' / 'mlflow.db'}"


def default_artifact_root() -> str:
    return (PROJECT_ROOT / "mlruns" / "artifacts").as_uri()


def optuna_storage(job: JobConfig, job_key: str) -> str | None:
    """The Optuna storage URL of a job: ``search.storage="job"`` puts a SQLite file per job next to
    a SQLite tracking store (``<store dir>/optuna/<job key>.db``), else under ``mlruns/optuna``."""
    storage = job.search.storage
    if storage != "job":
        return storage
    uri = tracking_uri(job)
    base = Path(uri.removeprefix("sqlite:///")).parent if uri.startswith("sqlite:///") else PROJECT_ROOT / "mlruns"
    folder = base / "optuna"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / f'{job_key}.db'}"


def tracking_uri(job: JobConfig) -> str:
    return job.tracking.uri or default_tracking_uri()


def segment_bounds(num_layers: int, boundaries: Sequence[int] | None) -> list[range]:
    """Cut ``range(num_layers)`` at ``boundaries``; ``None`` gives thirds of the model.

    >>> segment_bounds(30, [10, 20])
    [range(0, 10), range(10, 20), range(20, 30)]
    """
    if boundaries is None:
        boundaries = [round(num_layers / 3), round(2 * num_layers / 3)]
    cuts = [0, *boundaries, num_layers]
    if any(b <= a for a, b in zip(cuts, cuts[1:])):
        raise ValueError(
            f"steering.boundaries={list(boundaries)} must be strictly increasing and inside "
            f"1..{num_layers - 1} for a model with {num_layers} layers"
        )
    return [range(a, b) for a, b in zip(cuts, cuts[1:])]
