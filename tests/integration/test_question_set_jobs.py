"""A job on a question set from outside the package (a JSONL file and a small module in a temporary
folder), on the real default model; bad data fails the command in one line, exit 2, before it loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from fusion.tracking.runs import read_table
from tests.helpers import PROJECT_ROOT, run_fusion, runs_of

CAPITALS = [
    {"id": "fr", "q": "What is the capital of France?", "a": "Paris"},
    {"id": "jp", "q": "What is the capital of Japan?", "a": "Tokyo"},
    {"id": "it", "q": "What is the capital of Italy?", "a": "Rome"},
]
MODULE = """
import json
from pathlib import Path

from fusion.data.spec import SetSpec
from fusion.records import Prompt


class Capitals:
    spec = SetSpec("capitals", "capitals of countries, from a JSONL file of ours", held_out=((2, 3),))

    def load(self, data):
        rows = [json.loads(line) for line in Path(data.path).read_text().splitlines()]
        return [Prompt(i, r["q"], r["a"], qid=r["id"]) for i, r in enumerate(rows)]

    def source(self, data):
        return str(Path(data.path).resolve())


CAPITALS = Capitals()
"""


@pytest.fixture
def outside_set(tmp_path, monkeypatch):
    (tmp_path / "capitals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in CAPITALS))
    (tmp_path / "capitals_set.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    return tmp_path


def test_a_job_runs_on_a_question_set_from_outside_the_package(outside_set):
    tmp_path = outside_set
    run_fusion(
        tmp_path,
        "data.name=capitals",
        "data.plugin=capitals_set:CAPITALS",
        f"data.path={tmp_path / 'capitals.jsonl'}",
        "data.index_file=null",
        "data.limit=2",
        "search.n_trials=1",
        "search.batch_size=1",
    )
    client, (run,) = runs_of(tmp_path)
    assert run.data.params["data.name"] == "capitals"
    prompts = read_table(client, run.info.run_id, "prompts.json")
    assert [(p["index"], p["question"], p["gold"]) for p in prompts] == [
        (i, r["q"], r["a"]) for i, r in enumerate(CAPITALS[:2])
    ]
    assert all(p["answer"] for p in prompts)  # each question answered, steered
    (logged,) = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert logged.dataset.name == "capitals"
    assert json.loads(logged.dataset.source)["uri"] == str(tmp_path / "capitals.jsonl")


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["data.limit=3"], "capitals rows 2-2 are held out for the acceptance checks"),
        (["data.name=capital"], "data.name: 'capital' names capitals_set:CAPITALS whose spec is called 'capitals'"),
    ],
)
def test_bad_data_fails_the_command_in_one_line(outside_set, overrides, message):
    tmp_path = outside_set
    command = [
        sys.executable,
        "-m",
        "fusion.run",
        "data.name=capitals",
        "data.plugin=capitals_set:CAPITALS",
        f"data.path={tmp_path / 'capitals.jsonl'}",
        "data.index_file=null",
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        *overrides,
    ]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert "Loading weights" not in result.stderr
