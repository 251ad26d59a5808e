"""Where a job runs, for its run's tags: the machine, the commit, the library versions."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from fusion.paths import PROJECT_ROOT


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def host_description() -> str:
    """The machine a job runs on, for its tag ``fusion.host``: "AMD EPYC 7B13, 2 cores, 24 GiB RAM".
    A report built later, elsewhere, states where the runs ran from this tag, not where it is built."""
    cpuinfo = Path("/proc/cpuinfo")
    names = (
        [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        if cpuinfo.exists()
        else []
    )
    cpu = names[0] if names else (platform.processor() or platform.machine() or "unknown CPU")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM"


def environment_tags() -> dict[str, str]:
    import torch
    import transformers

    return {
        "fusion.host": host_description(),
        "mlflow.source.git.commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
