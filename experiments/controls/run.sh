#!/usr/bin/env bash
# The controls a reviewer asks for after the replication (issue: the reference as a prompt,
# strengths without per-question selection, search seeds, a second model), as one resumable
# command into the replication's sweep and store, so the report pairs them with its groups:
#   1. the reference as a prompt (steering=in_context), all 260 questions;
#   2. fixed strengths: chosen on the first half of the 260 (data.shard=0 of 2) from the sweep's
#      full and segmented searches (fluent objective, seed 0), the median per segment and the
#      median over the correct and fluent answers, applied with no search to the second half;
#   3. search seeds 1 and 2 for full and segmented (seed 0 is the replication's);
#   4. Gemma 3 270M on all 260: baseline, full, segmented, the placebo, in_context.
# A search restricted to the first half equals the full-sweep search on those questions (each
# question's study is seeded by the job seed and its SimpleQA index alone), so step 2 reads the
# first half's rows from the sweep's records instead of searching them again.
# STORE and SWEEP name the replication's (defaults: this checkout's mlruns and multirun/SWEEP_ID).
# Where the replication's store is gone (a new machine), the controls run into a new sweep and the
# fixed strengths are taken from the committed answers; `fusion.report --answers` then joins the
# committed answers with this sweep's (docs/reports.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
SWEEP_ID=${SWEEP_ID:?set SWEEP_ID to the replication sweep to extend, e.g. replication-v3}
STORE=${STORE:-sqlite:///$PWD/mlruns/mlflow.db}
SWEEP=${SWEEP:-$PWD/multirun/${SWEEP_ID}}
common=(+experiment=paper_replication "tracking.uri=${STORE}" "hydra.sweep.dir=${SWEEP}" steering.decoding=cached)
run() { "$PY" -m fusion.run -m "$@" "${common[@]}"; }

run steering=in_context 'hydra.sweep.subdir=in_context'

for mode in full segmented; do
  half="${SWEEP}/${mode}-cached-fluent/first-half.jsonl"
  # the search's rows: the sweep's own job when it is here, else the replication's committed answers
  searched="${SWEEP}/${mode}-cached-fluent/prompts.jsonl"
  [ -f "$searched" ] || searched=experiments/paper_replication/answers.jsonl.gz
  "$PY" experiments/controls/first_half.py "$searched" "$mode" "$half"
  run "steering=${mode}" data.num_shards=2 data.shard=1 "search.strengths_from=${half}" \
    search.strengths_rule=median,median_correct "hydra.sweep.subdir=${mode}-cached-fixed-\${search.strengths_rule}"
done

run steering=full,segmented search.seed=1,2 'hydra.sweep.subdir=${steering.mode}-cached-fluent-s${search.seed}'

run model=gemma3_270m steering=baseline,in_context,full,segmented 'hydra.sweep.subdir=gemma3-${steering.mode}'
run model=gemma3_270m steering=full steering.target=shuffled 'hydra.sweep.subdir=gemma3-full-shuffled'
