"""A researcher's plug-in as a new user runs it: a module in the current folder, `fusion run
steering.plugin=module:NAME` by the console script, on the real default model; a wrong one fails in
the preflight, before any weights load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from fusion.report.groups import summarise
from fusion.report.plots import group_profile
from fusion.report.runs import replicates_from_runs
from tests.helpers import PROJECT_ROOT, runs_of

METHOD = """
from fusion.methods import LayerGroupMethod, MethodSpec


class LastThird(LayerGroupMethod):
    spec = MethodSpec(name="lastthird", summary="the last third of the layers", role="steered",
                      searched=True, reference=True)

    def layer_weights(self, strengths, params, groups, num_layers):
        return [float(strengths[0]) if layer >= 2 * num_layers // 3 else 0.0 for layer in range({n})]


LAST = LastThird()
"""


def fusion_here(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    """The ``fusion`` console script run in ``tmp_path`` (this checkout's code on PYTHONPATH, as an
    installed package would be: the current folder is not on a console script's import path)."""
    command = [
        str(Path(sys.executable).parent / "fusion"),
        "run",
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        "prompts.max_new_tokens=16",
        *overrides,
    ]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)


def test_a_plugin_in_the_current_folder_runs_alone_and_its_profile_is_drawn_by_its_path(tmp_path, monkeypatch):
    (tmp_path / "lastthird.py").write_text(METHOD.format(n="num_layers"))
    result = fusion_here(tmp_path, "steering.plugin=lastthird:LAST", "data.limit=1", "search.n_trials=2")
    assert result.returncode == 0, result.stderr[-3000:]
    _, (run,) = runs_of(tmp_path)
    tags = run.data.tags
    assert (tags["fusion.mode"], tags["fusion.plugin"]) == ("lastthird", "lastthird:LAST")  # no steering.mode given
    assert run.data.params["steering.mode"] == "lastthird"
    (row,) = [json.loads(line) for line in (tmp_path / "run" / "prompts.jsonl").read_text().splitlines()]
    weights = load_file(str(tmp_path / "run" / f"vectors/prompt-{row['index']}.safetensors"))["strengths"].tolist()
    assert [i for i, w in enumerate(weights) if w] == list(range(20, 30))
    # the report reads the run back (its tags and best strengths) and the plot finds the method by its path
    monkeypatch.chdir(tmp_path)
    client, _ = runs_of(tmp_path)
    (group,) = summarise(replicates_from_runs(client, [run])).values()
    assert group.plugin == "lastthird:LAST" and "plugin" not in group.to_dict()  # report.json keeps its keys
    profile, why = group_profile(group.plot_entry())
    assert why == "" and profile[:20] == [0.0] * 20 and profile[20:] == pytest.approx(weights[20:])  # float32 saved


def test_a_wrong_layer_weights_fails_in_the_preflight_in_one_line_and_leaves_no_run(tmp_path):
    (tmp_path / "lastthird.py").write_text(METHOD.format(n="num_layers - 1"))  # one weight too few
    start = time.monotonic()
    result = fusion_here(tmp_path, "steering.plugin=lastthird:LAST", "data.limit=1")
    took = time.monotonic() - start
    assert result.returncode == 2 and took < 10, (took, result.stderr[-2000:])
    assert result.stderr == (
        "fusion: config error: method 'lastthird': layer_weights(strengths, params, groups, 30) returned 29 "
        "weights: it must return one float per decoder layer (30)\n"
    )
    store = tmp_path / "mlflow.db"
    assert not store.exists() or not runs_of(tmp_path)[1]  # no run opened, so none left FAILED
