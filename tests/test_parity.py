"""Our scoring, in the paper's variant, reproduces the published accuracies from the authors' files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PAPER = Path(__file__).resolve().parents[2] / "shared" / "data" / "paper"


@pytest.mark.skipif(not PAPER.is_dir(), reason=f"the authors' files are not at {PAPER}")
def test_parity_with_published_accuracy():
    result = subprocess.run(
        [sys.executable, "-m", "fusion.parity", str(PAPER), "--json"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    numbers = json.loads(result.stdout)
    for method, published in {"baseline": 3.5, "full": 16.2, "segmented": 25.4}.items():
        assert abs(numbers["ours"][method]["accuracy"] - published) <= 0.5, method
        assert abs(numbers["ours"][method]["composite_mean"] - numbers["published"][method]["composite_mean"]) < 0.01


def test_parity_names_a_missing_file(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fusion.parity", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "is missing" in result.stderr
