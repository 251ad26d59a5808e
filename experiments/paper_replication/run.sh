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
# Interrupted, the same command with the same SWEEP_ID continues the sweep: a job that finished is
# not run again, an unfinished one resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
SWEEP_ID=${SWEEP_ID:-replication-$(date -u +%Y%m%dT%H%M%S)}
EXACT_LIMIT=${EXACT_LIMIT:-40}
started=$(date +%s)
common=(+experiment=paper_replication "hydra.sweep.dir=multirun/${SWEEP_ID}")
"$PY" -m fusion.run -m steering=baseline hydra.sweep.subdir=baseline "${common[@]}" "$@"
"$PY" -m fusion.run -m steering=full,segmented steering.decoding=cached \
  'hydra.sweep.subdir=${steering.mode}-cached' "${common[@]}" "$@"
"$PY" -m fusion.run -m steering=full steering.decoding=cached steering.target=shuffled \
  hydra.sweep.subdir=full-cached-shuffled "${common[@]}" "$@"
"$PY" -m fusion.run -m steering=full,segmented steering.decoding=exact "data.limit=${EXACT_LIMIT}" \
  'hydra.sweep.subdir=${steering.mode}-exact' "${common[@]}" "$@"
"$PY" -m fusion.report --experiment paper_replication --sweep-id "multirun/${SWEEP_ID}" \
  --out experiments/paper_replication --replication \
  --command "SWEEP_ID=${SWEEP_ID} make replication ARGS='$*'" --wall-seconds $(( $(date +%s) - started ))
