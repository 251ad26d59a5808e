#!/usr/bin/env bash
# The replication study as one command (`make replication`; extra Hydra overrides pass through,
# e.g. `make replication ARGS='data.limit=20'` for a subset). Into one sweep directory:
#   1. baseline once (no search: seeds and budgets would repeat the same numbers);
#   2. full and segmented, cached steering (packed search), the paper's 5 trials, search seed 0;
#   3. the placebo: full steered toward another question's reference (steering.target=shuffled);
#   4. exact steering (the paper's mode) on the first EXACT_LIMIT questions (default 40), full and
#      segmented, so the report can say whether the cached approximation changes the verdict;
#   5. the report of the sweep -> experiments/paper_replication/REPORT.md (+ report.json, plots).
# Each steered run also answers the steering prompt unsteered (the zero-steering control).
# Interrupted, the same command with the same SWEEP_ID resumes every job where it stopped; a stage
# that finished is skipped (a finished MLflow run is not resumed: running its job again would
# start it over as a new run).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
SWEEP_ID=${SWEEP_ID:-replication-$(date -u +%Y%m%dT%H%M%S)}
EXACT_LIMIT=${EXACT_LIMIT:-40}
started=$(date +%s)
sweep="multirun/${SWEEP_ID}"
common=(+experiment=paper_replication "hydra.sweep.dir=${sweep}")
stage() {  # stage NAME OVERRIDES...: one fusion.run sweep, skipped once it has finished
  local name=$1; shift
  if [[ -e "${sweep}/.stage-${name}-done" ]]; then echo "stage ${name}: finished before, skipped"; return; fi
  "$PY" -m fusion.run -m "$@" "${common[@]}" "${extra[@]}"
  touch "${sweep}/.stage-${name}-done"
}
extra=("$@")
stage baseline steering=baseline hydra.sweep.subdir=baseline
stage cached steering=full,segmented steering.decoding=cached 'hydra.sweep.subdir=${steering.mode}-cached'
stage placebo steering=full steering.decoding=cached steering.target=shuffled hydra.sweep.subdir=full-cached-shuffled
stage exact steering=full,segmented steering.decoding=exact "data.limit=${EXACT_LIMIT}" \
  'hydra.sweep.subdir=${steering.mode}-exact'
"$PY" -m fusion.report --experiment paper_replication --sweep-id "multirun/${SWEEP_ID}" \
  --out experiments/paper_replication --replication \
  --command "SWEEP_ID=${SWEEP_ID} make replication ARGS='$*'" --wall-seconds $(( $(date +%s) - started ))
