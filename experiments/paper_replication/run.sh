#!/usr/bin/env bash
# The replication study as one command (`make replication`; extra Hydra overrides pass through,
# e.g. `make replication ARGS='data.limit=10 steering.cache=true'` for the subset in REPORT.md).
#   1. baseline once (it has no search: seeds and budgets would repeat the same numbers);
#   2. full and segmented x search seeds 0,1,2 x budgets of 5 (the paper's) and 20 trials;
#      each steered run also answers the steering prompt with zero steering (the control);
#   3. the report of this sweep -> experiments/paper_replication/REPORT.md (+ report.json, plots).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
SWEEP_ID=${SWEEP_ID:-replication-$(date -u +%Y%m%dT%H%M%S)}
started=$(date +%s)
common=(+experiment=paper_replication "hydra.sweep.dir=multirun/${SWEEP_ID}" "$@")
"$PY" -m fusion.run -m steering=baseline "hydra.sweep.subdir=baseline" "${common[@]}"
"$PY" -m fusion.run -m search.n_trials=5,20 steering=full,segmented search.seed=0,1,2 \
  'hydra.sweep.subdir=${steering.mode}-seed${search.seed}-trials${search.n_trials}' "${common[@]}"
"$PY" -m fusion.report --experiment paper_replication --sweep-id "multirun/${SWEEP_ID}" \
  --out experiments/paper_replication --replication \
  --command "make replication ARGS='$*'" --wall-seconds $(( $(date +%s) - started ))
