"""The Makefile a newcomer reads first: `make help` lists every target, `make ui` takes a port."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.helpers import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args: str) -> str:
    done = subprocess.run(["make", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_help_lists_every_target_that_has_a_description():
    described = re.findall(r"^([A-Za-z0-9_-]+):[^\n]*## ", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE)
    listed = re.findall(r"^  make (\S+)", make("help"), re.MULTILINE)
    assert "test-e2e" in described and "gpu-wheels" in described
    assert listed == described


def test_make_ui_serves_on_the_port_it_is_given():
    # -n prints the commands without running them (nor the set-up the target depends on)
    assert "--port 5000 " in make("-n", "ui")
    assert "--port 5057 " in make("-n", "ui", "UI_PORT=5057")
