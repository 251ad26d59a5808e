"""The public API, through its public names only: the example of docs/api.md, run as written."""

from __future__ import annotations

import re

from tests.helpers import PROJECT_ROOT


def test_the_documented_example_runs_and_replays_the_runs_answer(tmp_path, monkeypatch):
    (code,) = re.findall(r"```python\n(.*?)```", (PROJECT_ROOT / "docs" / "api.md").read_text(), re.DOTALL)
    monkeypatch.chdir(tmp_path)  # the job's outputs/ and store land here
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    scope: dict = {}
    exec(compile(code, "docs/api.md", "exec"), scope)
    result, vectors, model = scope["result"], scope["vectors"], scope["model"]
    assert result.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}" and (tmp_path / "outputs" / "api").is_dir()
    # transformers' own generate under the vectors reproduces the answer the search chose
    assert scope["steered_answer"] == scope["outcome"].steered.answer
    assert vectors.meta["index"] == scope["outcome"].index
    # after the block no hook is left: the plain answer is the run's zero-steering control
    assert scope["unsteered_answer"] == scope["outcome"].control.answer
    assert all(not layer._forward_hooks for layer in model.model.layers)
    assert tuple(scope["means"].shape) == (30, 576)  # SmolLM2-135M: 30 layers of width 576


def test_help_lists_the_public_api_and_import_loads_no_torch():
    import subprocess
    import sys

    code = "import sys, fusion; help(fusion); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    for name in ("load_vectors", "SteeringVectors", "capture_reference_means", "load_model", "steer", "run"):
        assert f"``{name}" in out, name
    assert out.strip().endswith("False")
