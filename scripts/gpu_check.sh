#!/usr/bin/env bash
# The GPU checks, as one command for a lent GPU machine that has torch (CUDA) and transformers but
# neither network nor Hydra, MLflow, Optuna or gguf: the device-parametrized tests (`-m gpu`, no
# conftest: it loads the GGUF model) and the random-weight benchmark of two architectures.
#   bash scripts/gpu_check.sh [OUT_DIR]      (pytest comes from .cache/gpu-wheels: `make gpu-wheels`)
# Results land in OUT_DIR (default: $OUT, else gpu-results/); commit the bench JSONs it writes.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-gpu-results}}
mkdir -p "$out"
export PYTHONPATH=$PWD
if ! python -c "import pytest" 2>/dev/null && [ -d .cache/gpu-wheels ]; then
  python -m pip install -q --no-index --find-links .cache/gpu-wheels pytest
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
} | tee "$out/machine.txt"
python -m pytest -q -m gpu --noconftest -p no:cacheprovider tests/unit/test_devices.py 2>&1 | tail -25 | tee "$out/pytest-gpu.txt"
for arch in gemma2_2b smollm2_135m; do
  python -m fusion.bench --random-weights "$arch" --device cuda --repeats 1 --json "$out/bench-$arch-cuda.json" 2>&1 \
    | grep -v Warning | tee "$out/bench-$arch-cuda.txt"
done
