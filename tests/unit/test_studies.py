"""``make studies``: which Optuna study file optuna-dashboard opens (torch-free, no dashboard)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fusion.errors import SetupError
from fusion.tracking.stores import study_folder
from fusion.tracking.studies import choose, study_files
from tests.helpers import PROJECT_ROOT


def test_the_folder_is_the_one_jobs_write_their_studies_to(tmp_path):
    assert study_folder(f"sqlite:///{tmp_path / 'mlflow.db'}") == tmp_path / "optuna"
    assert study_folder("http://127.0.0.1:5000") == PROJECT_ROOT / "mlruns" / "optuna"


def test_the_newest_job_is_the_default_and_the_others_are_named(tmp_path):
    for age, key in enumerate(["new", "mid", "old"]):
        path = tmp_path / f"{key}.db"
        path.write_bytes(b"")
        os.utime(path, (1_000_000 - age, 1_000_000 - age))
    assert [p.stem for p in study_files(tmp_path)] == ["new", "mid", "old"]
    url, lines = choose("", tmp_path)
    assert url == f"sqlite:///{tmp_path / 'new.db'}"
    assert "most recent of 3" in lines[0] and "'new'" in lines[1]
    assert "STUDY=" in lines[2] and "mid.db" in lines[2] and "old.db" in lines[2]


def test_a_named_file_or_url_is_opened_as_given(tmp_path):
    (tmp_path / "a.db").write_bytes(b"")
    assert choose(str(tmp_path / "a.db"), tmp_path)[0] == f"sqlite:///{tmp_path / 'a.db'}"
    assert choose("postgresql://db/optuna", tmp_path)[0] == "postgresql://db/optuna"


@pytest.mark.parametrize("study", ["", "nope.db"])
def test_nothing_to_open_says_what_to_do(tmp_path, study):
    with pytest.raises(SetupError, match="STUDY=") as info:
        choose(study, tmp_path / "optuna")
    assert "\n" not in str(info.value)


def test_the_command_prints_the_url_alone_on_stdout(tmp_path):
    (tmp_path / "optuna").mkdir()
    (tmp_path / "optuna" / "k.db").write_bytes(b"")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    out = subprocess.run(
        [sys.executable, "-m", "fusion", "studies"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"sqlite:///{tmp_path / 'optuna' / 'k.db'}\n"
    assert "optuna-dashboard on" in out.stderr
