#!/usr/bin/env bash
# The replication study as one command (`make replication`; extra Hydra overrides pass through,
# e.g. `make replication ARGS='data.limit=20'` for a subset). Into one sweep directory:
#   1. baseline once (no search: seeds and budgets would repeat the same numbers);
#   2. full steering, cached (packed search), the paper's 5 trials, search seed 0, with the fluent
#      objective (search.objective=fluent, the default) and with the paper's (search.objective=paper);
#   3. the placebo: full steered toward another question's reference (steering.target=shuffled),
#      with both objectives;
#   4. segmented steering with both objectives;
#   5. exact steering (the paper's mode, paper objective) on the first EXACT_LIMIT questions
#      (default 40; 0 skips it), full and segmented, so the report can say whether the cached
#      approximation changes the verdict;
#   6. the report of the sweep -> experiments/paper_replication/REPORT.md (+ report.json, plots,
#      answers.jsonl.gz: every graded answer, which `fusion.report --regrade` grades again).
# The order puts first what the verdicts need most. Each steered run also answers the steering
# prompt unsteered (the zero-steering control). Interrupted, the same command with the same
# SWEEP_ID continues the sweep: a job that finished is not run again, an unfinished one resumes
# where it stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
SWEEP_ID=${SWEEP_ID:-replication-$(date -u +%Y%m%dT%H%M%S)}
EXACT_LIMIT=${EXACT_LIMIT:-40}
started=$(date +%s)
common=(+experiment=paper_replication "hydra.sweep.dir=multirun/${SWEEP_ID}")
cached=(steering.decoding=cached 'hydra.sweep.subdir=${steering.mode}-cached-${search.objective}')
run() { "$PY" -m fusion.run -m "$@" "${common[@]}" "${EXTRA[@]}"; }
EXTRA=("$@")
run steering=baseline hydra.sweep.subdir=baseline
run steering=full search.objective=fluent,paper "${cached[@]}"
run steering=full steering.target=shuffled search.objective=fluent,paper steering.decoding=cached \
  'hydra.sweep.subdir=full-cached-shuffled-${search.objective}'
run steering=segmented search.objective=fluent,paper "${cached[@]}"
if (( EXACT_LIMIT > 0 )); then
  run steering=full,segmented steering.decoding=exact search.objective=paper "data.limit=${EXACT_LIMIT}" \
    'hydra.sweep.subdir=${steering.mode}-exact-paper'
fi
"$PY" -m fusion.report --experiment paper_replication --sweep-id "multirun/${SWEEP_ID}" \
  --out experiments/paper_replication --replication \
  --command "SWEEP_ID=${SWEEP_ID} make replication ARGS='$*'" --wall-seconds $(( $(date +%s) - started ))
