"""Checking a composed job configuration, once, at the edge; and the paths a job derives from it.

:func:`validate` turns Hydra's composed node into the typed :class:`~fusion.config.schema.JobConfig`
and checks every value that can be checked without loading a model (ranges, choices, the judge's
settings); a bad value raises :class:`~fusion.errors.ConfigError` naming the key and the fix.
Everything here is cheap and torch-free: it runs before any model or data is loaded.
"""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from fusion.config.judges import check_judge
from fusion.config.schema import OBJECTIVES, JobConfig, ModelConfig, register_schema
from fusion.config.targets import TARGETS
from fusion.errors import ConfigError
from fusion.methods import resolve
from fusion.paths import CONF_DIR

STRENGTH_RULES = ("median", "median_correct")  # search.strengths_rule (fusion.tracking.strengths)
DECODINGS = ("exact", "cached")
SAMPLERS = ("tpe", "random")
STUDY_STORAGES = ("per_job", "memory", "url")
OVERLAP_VARIANTS = ("continuation", "echo")
DTYPES = ("auto", "float32", "bfloat16", "float16")
CPU_LINEARS = ("auto", "onednn", "torch")
# accelerate's placements for a model spread over several GPUs (see docs/scale-out.md)
DEVICE_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
DATA_SELECTIONS = ("all", "baseline_failed")
MAX_ROWS = 100_000  # rows of one generated batch: far past any memory
MAX_NEW_TOKENS = 32_768


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"{key}: {message}")


def _choice(key: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        _fail(key, f"'{value}' is not one of {', '.join(options)}")


def _count(key: str, value: int, minimum: int, maximum: int | None = None, alternative: str = "") -> None:
    """A whole number in [minimum, maximum]: a batch of 10^12 rows or 10^12 new tokens is a typo."""
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and <= {maximum}" if maximum is not None else ""
        _fail(key, f"must be >= {minimum}{upper}{', ' + alternative if alternative else ''} (got {value})")


def _fraction(key: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:  # NaN fails too
        _fail(key, f"must be in [0, 1] (got {value})")


def name_plugin(cfg: DictConfig | JobConfig) -> None:
    """A plug-in's spec names its method: ``steering.plugin=X`` alone sets ``steering.mode`` to that
    name, in the composed config too, so the logged config, the tags and the run's name agree."""
    from fusion.methods import plugin_method

    plugin = cfg.steering.plugin if isinstance(cfg, JobConfig) else OmegaConf.select(cfg, "steering.plugin")
    if plugin:
        cfg.steering.mode = plugin_method(str(plugin)).spec.name


def validate(cfg: DictConfig | JobConfig) -> JobConfig:
    """Check every value that can be checked without loading a model; return the typed config.
    The checks run in this order, so that of several wrong values the same one is named first."""
    name_plugin(cfg)
    job = cfg if isinstance(cfg, JobConfig) else OmegaConf.to_object(cfg)
    if not isinstance(job, JobConfig):  # a plain DictConfig (tests composing without the schema)
        job = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(JobConfig), cfg))
    assert isinstance(job, JobConfig)
    _validate_steering(job)
    _validate_search(job)
    _validate_data(job)
    _validate_run(job)
    _validate_prompts(job)
    _validate_placement(job.model)
    _validate_judge(job.judge)
    return job


def _validate_steering(job: JobConfig) -> None:
    """The method, its decoding and target, and what the method itself checks."""
    s = job.steering
    method = resolve(s, s.plugin)
    _choice("steering.decoding", s.decoding, DECODINGS)
    _choice("steering.target", s.target, TARGETS)
    if s.target == "shuffled" and not method.spec.reference:
        _fail("steering.target", f"shuffled needs a reference, and {s.mode} builds none: use steering=full, ...")
    if s.boundaries is not None:  # a malformed value is wrong whichever method reads it
        if not s.boundaries or any(b <= a for a, b in zip([0, *s.boundaries], s.boundaries)):
            _fail("steering.boundaries", f"{list(s.boundaries)} must be non-empty, increasing and > 0, e.g. [10,20]")
    if problem := method.check(s):
        raise ConfigError(problem)


def _validate_search(job: JobConfig) -> None:
    """The search's counts, sampler, objective, ranges and study storage."""
    search = job.search
    _count("search.n_trials", search.n_trials, 1)
    _validate_fixed_strengths(job)
    _count("search.batch_size", search.batch_size, 1, MAX_ROWS)
    if search.max_batch_rows is not None:
        _count("search.max_batch_rows", search.max_batch_rows, 1, MAX_ROWS, "or null for the device's default")
    _count("search.n_startup_trials", search.n_startup_trials, 0)
    _count("search.seed", search.seed, 0)
    _count("seed", job.seed, 0)
    _choice("search.sampler", search.sampler, SAMPLERS)
    _choice("search.objective", search.objective, OBJECTIVES)
    for name in ("alpha", "gamma"):
        rng = getattr(search, name)
        if not (0.0 <= rng.low <= rng.high and math.isfinite(rng.high)):
            _fail(f"search.{name}", f"needs finite 0 <= low <= high (got low={rng.low}, high={rng.high})")
    _fraction("search.objective_weight", search.objective_weight)
    if not (math.isfinite(search.perplexity_cap) and search.perplexity_cap > 0):
        _fail("search.perplexity_cap", f"must be a finite number > 0 (got {search.perplexity_cap})")
    _choice("search.study_storage", search.study_storage, STUDY_STORAGES)
    if (search.study_storage == "url") != bool(search.study_url):
        _fail(
            "search.study_url",
            "set it (an SQLAlchemy URL, e.g. postgresql://host/db) exactly when search.study_storage=url",
        )


def _validate_data(job: JobConfig) -> None:
    """Which questions: limit, offset, shard, selection."""
    data = job.data
    if data.limit is not None and data.limit < 1:
        _fail("data.limit", f"must be >= 1 or null for all (got {data.limit})")
    if data.offset < 0:
        _fail("data.offset", f"must be >= 0 (got {data.offset})")
    if data.num_shards < 1:
        _fail("data.num_shards", f"must be >= 1 (got {data.num_shards})")
    if not 0 <= data.shard < data.num_shards:
        _fail("data.shard", f"must be in [0, data.num_shards={data.num_shards}) (got {data.shard})")
    _choice("data.select", data.select, DATA_SELECTIONS)


def _validate_run(job: JobConfig) -> None:
    """Tracking, evaluation, quantization and the weights cache."""
    if not 0 < job.tracking.check_timeout <= 600:  # also catches NaN
        _fail("tracking.check_timeout", f"must be in (0, 600] seconds (got {job.tracking.check_timeout})")
    _choice("eval.overlap", job.eval.overlap, OVERLAP_VARIANTS)
    _fraction("eval.accuracy_threshold", job.eval.accuracy_threshold)
    if not (math.isfinite(job.quantization.llm_int8_threshold) and job.quantization.llm_int8_threshold > 0):
        _fail(
            "quantization.llm_int8_threshold",
            f"must be a finite number > 0 (got {job.quantization.llm_int8_threshold})",
        )
    if not job.tracking.experiment.strip():
        _fail("tracking.experiment", "must name an MLflow experiment (e.g. fusion)")
    if job.weights_cache_dir is not None and not job.weights_cache_dir.strip():
        _fail("weights_cache_dir", "must be a folder, or null for no cache")
    if job.quantization.load_in_8bit and importlib.util.find_spec("bitsandbytes") is None:
        _fail(
            "quantization", "int8 needs bitsandbytes, which is not installed: run `make setup` or use quantization=none"
        )


def _validate_prompts(job: JobConfig) -> None:
    """The prompt templates' placeholders, batch size, answer length and stop strings."""
    _count("prompts.unsteered_batch_size", job.prompts.unsteered_batch_size, 1, MAX_ROWS)
    _count("prompts.max_new_tokens", job.prompts.max_new_tokens, 1, MAX_NEW_TOKENS)
    for key in ("baseline", "explanation", "steer", "in_context"):
        if "{question}" not in getattr(job.prompts, key):
            _fail(f"prompts.{key}", "must contain {question}")
    if "{reference}" not in job.prompts.in_context:
        _fail("prompts.in_context", "must contain {reference} (the gold answer and explanation)")
    if "{gold}" not in job.prompts.explanation:
        _fail("prompts.explanation", "must contain {gold}")
    if job.prompts.stop_strings is not None and not all(job.prompts.stop_strings):
        _fail(
            "prompts.stop_strings",
            f"{list(job.prompts.stop_strings)} holds an empty string: give non-empty strings, [] for none, "
            "or null for the default",
        )


# more layers than any model has: a method's layer groups counted before the model is known
_ANY_DEPTH = 10_000


def segment_count(job: JobConfig) -> int:
    """How many strengths a job's steering takes: one per layer group of its method (one for full
    and single_layer, one per segment for segmented)."""
    return len(resolve(job.steering, job.steering.plugin).groups(_ANY_DEPTH, job.steering))


def _validate_fixed_strengths(job: JobConfig) -> None:
    search = job.search
    _choice("search.strengths_rule", search.strengths_rule, STRENGTH_RULES)
    if search.strengths is None and search.strengths_from is None:
        return
    if search.strengths is not None and search.strengths_from is not None:
        _fail("search.strengths", "give the values or search.strengths_from=<run id>, not both")
    key = "search.strengths" if search.strengths is not None else "search.strengths_from"
    method = resolve(job.steering, job.steering.plugin)
    if not method.spec.searched:
        _fail(key, f"needs a method that searches strengths (steering=full, segmented, ...), not {job.steering.mode}")
    method.fixed_params(_ANY_DEPTH, job.steering)  # its other parameters must be fixed too (steering.layer)
    if search.strengths is not None:
        values = list(search.strengths)
        if len(values) != segment_count(job):
            _fail(key, f"{values} has {len(values)} values: {job.steering.mode} steering takes {segment_count(job)}")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in values):
            _fail(key, f"{values}: each must be a finite number >= 0 (alpha*gamma)")


def _validate_placement(model: ModelConfig) -> None:
    """Device and precision values that are wrong on any machine; whether this machine has the
    device is checked in the preflight (fusion.model.devices), which needs torch."""
    if not DEVICE_PATTERN.fullmatch(model.device):
        _fail("model.device", f"'{model.device}' is not one of auto, cpu, cuda, cuda:N")
    _choice("model.dtype", model.dtype, DTYPES)
    _choice("model.cpu_linear", model.cpu_linear, CPU_LINEARS)
    if model.device_map is not None:
        if model.device_map not in DEVICE_MAPS:
            _fail("model.device_map", f"'{model.device_map}' is not one of {', '.join(DEVICE_MAPS)} (or null)")
        if model.device == "cpu" or model.device.startswith("cuda:"):
            _fail(
                "model.device_map",
                f"spreads a model over all visible GPUs: use model.device=auto or cuda with it, "
                f"not {model.device} (or set model.device_map=null)",
            )


def _validate_judge(judge: object) -> None:
    """The judge's settings, by its own spec's check (fusion.config.judges): each judge names its keys."""
    check_judge(judge)


def compose_job(overrides: list[str]) -> DictConfig:
    """Compose ``fusion/conf/config.yaml`` with ``overrides``, inside a running Hydra app or outside one."""
    register_schema()
    if GlobalHydra.instance().is_initialized():
        return compose(config_name="config", overrides=overrides)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def named_model_config(name: str) -> ModelConfig:
    """A model by ``fusion/conf/model`` option (composed by Hydra, e.g. ``smollm2_135m``), else by local path
    or hub id (``org/name``); ConfigError for a bare name that is neither."""
    if (CONF_DIR / "model" / f"{name}.yaml").is_file():
        model = OmegaConf.to_object(compose_job([f"model={name}"]).model)
        assert isinstance(model, ModelConfig)
        return model
    if "/" not in name and not Path(name).expanduser().exists():
        options = ", ".join(sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml")))
        raise ConfigError(f"no model '{name}' in fusion/conf/model ({options}), and it is no path or org/name hub id")
    return ModelConfig(name=Path(name).name, id=name)
