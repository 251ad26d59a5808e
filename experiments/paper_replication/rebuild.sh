#!/usr/bin/env bash
# Rebuild REPORT.md (and report.json, the plots, answers.jsonl.gz) from the committed answers, with
# no model: every answer graded again by the rules judge, cut where the answer ends, and every
# strict positive adjudicated by the blind hand labels in experiments/hand_labels.
#   bash experiments/paper_replication/rebuild.sh [OUT]    (OUT defaults to this folder)
# Rebuilding into this folder from its own answers file reproduces REPORT.md byte for byte.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
OUT=${1:-experiments/paper_replication}
"$PY" -m fusion.report --answers experiments/paper_replication/answers.jsonl.gz --replication --out "$OUT" \
  --regrade judge=rules --labels experiments/hand_labels --machine "AMD EPYC, 2 cores, 24 GiB RAM" \
  --command "SWEEP_ID=replication-v3 make replication; SWEEP_ID=controls-v1 bash experiments/controls/run.sh; segmented seeds 1,2 (sweep controls-v2) and Gemma 3 270M (sweep controls-v3) as in run.sh, in stores of their own; regraded by experiments/paper_replication/rebuild.sh" \
  > /dev/null
echo "rebuilt $OUT/REPORT.md"
