#!/usr/bin/env bash
# The controls a reviewer asks for after the replication (issue: the reference as a prompt,
# strengths without per-question selection, search seeds, a second model), as one resumable
# command into a sweep of their own (SWEEP_ID; STORE defaults to this checkout's mlruns):
#   1. the reference as a prompt (steering=in_context), all 260 questions;
#   2. fixed strengths: chosen on the first half of the 260 (positions 0..129) from the
#      replication's full and segmented searches (fluent objective, seed 0, read from its committed
#      answers), the median per segment and the median over the correct and fluent answers,
#      applied with no search to the second half (data.num_shards=2 data.shard=1);
#   3. search seeds 1 and 2 for full and segmented (seed 0 is the replication's);
#   4. Gemma 3 270M on all 260: baseline, in_context, full, segmented, the placebo.
# Then the report joins this sweep's answers with the replication's committed ones. Interrupted,
# the same command continues: a finished job is not run again, an unfinished one resumes.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
SWEEP_ID=${SWEEP_ID:?set SWEEP_ID to a sweep of its own, e.g. controls-v1}
STORE=${STORE:-sqlite:///$PWD/mlruns/mlflow.db}
SWEEP=${SWEEP:-$PWD/multirun/${SWEEP_ID}}
common=(+experiment=paper_replication "tracking.uri=${STORE}" "hydra.sweep.dir=${SWEEP}" steering.decoding=cached)
run() { "$PY" -m fusion.run -m "$@" "${common[@]}"; }

run steering=in_context 'hydra.sweep.subdir=in_context'

for mode in full segmented; do
  half="${SWEEP}/${mode}-first-half.jsonl"
  "$PY" experiments/controls/first_half.py experiments/paper_replication/answers.jsonl.gz "$mode" "$half"
  run "steering=${mode}" data.num_shards=2 data.shard=1 "search.strengths_from=${half}" \
    search.strengths_rule=median,median_correct "hydra.sweep.subdir=${mode}-cached-fixed-\${search.strengths_rule}"
done

run steering=full,segmented search.seed=1,2 'hydra.sweep.subdir=${steering.mode}-cached-fluent-s${search.seed}'

run model=gemma3_270m steering=baseline,in_context,full,segmented 'hydra.sweep.subdir=gemma3-${steering.mode}'
run model=gemma3_270m steering=full steering.target=shuffled 'hydra.sweep.subdir=gemma3-full-shuffled'

# The report: this sweep's answers joined with the replication's (so every control is paired per
# question with the groups it is compared with), all regraded with the rules judge. The committed
# answers.jsonl.gz already holds the controls of sweeps controls-v1..v3: to join a rerun of them,
# point BASE_ANSWERS at answers of the replication's sweep alone (the same job joined twice is
# refused, not counted as a second seed).
BASE_ANSWERS=${BASE_ANSWERS:-experiments/paper_replication/answers.jsonl.gz}
"$PY" -m fusion.report --tracking-uri "$STORE" --experiment paper_replication --sweep-id "multirun/${SWEEP_ID}" \
  --out "${SWEEP}/report" --replication --no-log
"$PY" -m fusion.report --answers "$BASE_ANSWERS" "${SWEEP}/report/answers.jsonl.gz" \
  --regrade judge=rules --replication --out experiments/paper_replication \
  --command "SWEEP_ID=replication-v3 make replication; SWEEP_ID=${SWEEP_ID} bash experiments/controls/run.sh"
