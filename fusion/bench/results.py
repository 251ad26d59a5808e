"""Benchmark results: ``fusion bench`` (``make bench``, :mod:`fusion.commands.bench`) prints ratios
measured side by side, and the machine that measured them.

Not a test: timings depend on the machine, so the output names the machine, and every comparison
runs both sides in this one process, on the same prompts and trials, back to back.

* default: the pipeline on the real default model (:mod:`fusion.bench.pipeline`).
* ``--random-weights ARCH [--device cuda]``: the generation loop and hooks on a random-weight
  model of a real architecture (:mod:`fusion.bench.device`); imports only torch and transformers,
  so it runs on a GPU machine with neither network nor the experiment stack.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any


def report(results: dict[str, Any], path: Path) -> None:
    """Write ``results`` as JSON and print them as aligned ``key  value`` lines."""
    path.write_text(json.dumps(results, indent=2) + "\n")
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    print(f"(written to {path})")


def machine() -> str:
    import torch

    return (
        f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} torch threads"
    ).replace(" ,", ",")
