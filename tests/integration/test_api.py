"""The public API, through its public names only: the example of docs/api.md, run as written."""

from __future__ import annotations

import re

from tests.helpers import PROJECT_ROOT


def test_the_documented_example_runs_and_its_hooks_come_off(tmp_path, monkeypatch):
    (code,) = re.findall(r"```python\n(.*?)```", (PROJECT_ROOT / "docs" / "api.md").read_text(), re.DOTALL)
    monkeypatch.chdir(tmp_path)  # the job's outputs/ and store land here
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    scope: dict = {}
    exec(compile(code, "docs/api.md", "exec"), scope)
    result, vectors, model = scope["result"], scope["vectors"], scope["model"]
    assert result.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}" and (tmp_path / "outputs" / "api").is_dir()
    assert vectors.meta["index"] == scope["outcome"].index
    assert all(not layer._forward_hooks for layer in model.model.layers)  # the block removed its hooks
    # the answer generated after the block is the one generated with no steering ever applied
    import torch

    inputs, greedy = scope["inputs"], scope["greedy"]
    with torch.no_grad():
        fresh = model.generate(**inputs, **greedy)
        plain_logits = model(**inputs).logits
        with vectors.apply(model):
            steered_logits = model(**inputs).logits
    assert torch.equal(fresh, scope["unsteered"])
    assert not torch.equal(plain_logits, steered_logits)  # inside the block the model is steered
    # (the run's own steered answer came from a packed batch: a 1-row batch may differ in the last
    # bits of a near tie, so the replay is compared with the model, not with the run's text)
    assert tuple(scope["means"].shape) == (30, 576)  # SmolLM2-135M: 30 layers of width 576


def test_help_lists_the_public_api_and_import_loads_no_torch():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import fusion; help(fusion)"], capture_output=True, text=True, timeout=300
    ).stdout
    for name in ("load_vectors", "SteeringVectors", "capture_reference_means", "load_model", "steering", "run_job"):
        assert f"``{name}" in out, name
    code = "import sys, fusion; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout == "False\n"


def test_no_submodule_shadows_a_public_name():
    """Importing a submodule sets it as an attribute of its package: one named like a public
    function (``fusion.run``, the entry point) would replace that function once anything imported
    it. Import every module, then every public name must still be what the API documents."""
    import subprocess
    import sys

    code = (
        "import importlib, inspect, pkgutil, fusion\n"
        "for m in pkgutil.walk_packages(fusion.__path__, 'fusion.'):\n"
        "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        "print([n for n in fusion.__all__ if inspect.ismodule(getattr(fusion, n))])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
