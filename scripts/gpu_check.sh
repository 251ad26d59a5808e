#!/usr/bin/env bash
# The GPU checks, as one command for a lent GPU machine that has torch (CUDA), transformers and
# pytest but neither network nor Hydra, MLflow, Optuna or gguf, and perhaps an older transformers:
# the device-parametrized tests (`-m gpu`, no conftest: it loads the GGUF model) and the
# random-weight benchmark of two architectures, each step under its own time limit.
#   make gpu-wheels; bash scripts/gpu_check.sh [OUT_DIR]     (carry .cache/gpu-wheels)
# Results land in OUT_DIR (default: $OUT, else gpu-results/); commit the bench JSONs it writes.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-gpu-results}}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
if compgen -G ".cache/gpu-wheels/*.whl" >/dev/null; then
  # this project's transformers and bitsandbytes, beside (not over) the machine's own packages
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/fusion-site .cache/gpu-wheels/*.whl && export PYTHONPATH=/tmp/fusion-site:$PWD
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, transformers, bitsandbytes; print('python3', __import__('platform').python_version(), 'torch', torch.__version__, 'transformers', transformers.__version__, 'bitsandbytes', bitsandbytes.__version__)"
} 2>&1 | tee "$out/machine.txt"
timeout 150 python3 -m pytest -q -m gpu --noconftest -p no:cacheprovider tests/unit/test_devices.py \
  >"$out/pytest-gpu.txt" 2>&1
tail -5 "$out/pytest-gpu.txt"
# ARCHS / REPEATS / BENCH_TIMEOUT: a shorter check when device time is short
for arch in ${ARCHS:-gemma2_2b smollm2_135m}; do
  timeout "${BENCH_TIMEOUT:-400}" python3 -m fusion bench --random-weights "$arch" --device cuda --repeats "${REPEATS:-2}" \
    --json "$out/bench-$arch-cuda.json" 2>&1 | grep -v Warning | tee "$out/bench-$arch-cuda.txt"
done
