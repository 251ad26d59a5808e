#!/usr/bin/env bash
# Rebuild each study's REPORT.md (and report.json, the plots) from its committed answers file, with
# no model: the judge's strict positives adjudicated by the blind hand labels in
# experiments/hand_labels; the command and the wall time are those the study measured.
#   bash experiments/method_comparison/rebuild.sh [STUDY ...]    (default: every study below)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
HERE=experiments/method_comparison

# report folder | the command that ran a study | its wall seconds [| another command | its wall seconds ...]
# (this project's 2-core Intel Xeon, 24 GiB, no GPU); a folder with several commands joins their answers.
# The Gemma and rows 1000-1259 studies ran side by side at one torch thread each, in two invocations
# (the first, 39.5 min, ended with a session; the second resumed it): their wall times are the sums.
# The exact-decoding subset (--exact 40) read the seven cached jobs back and ran the three exact
# ones: 34 min at one thread beside other work (from its log; cut by the end of a session), then
# 5513 s resumed at two threads with nothing else running.
STUDIES=(
  "smollm2_paper40|fusion study +experiment=paper_replication data.limit=40 --name smollm2-paper40 --seeds 0|828"
  "paper260|fusion study +experiment=paper_replication --name smollm2-paper260 --seeds 0|5382|OMP_NUM_THREADS=1 fusion study +experiment=paper_replication model=gemma3_270m --name gemma3-paper260 --groups baseline,in_context,full,single_layer,mean_diff|9559|fusion study +experiment=paper_replication --name smollm2-paper260 --seeds 0 --exact 40|7573"
  "smollm2_rows1000|OMP_NUM_THREADS=1 fusion study data=simpleqa data.offset=1000 data.limit=260 --name smollm2-rows1000|9814"
  "halueval|OMP_NUM_THREADS=1 fusion study data=halueval reference=passage data.limit=260 --name smollm2-halueval --seeds 0|14610|OMP_NUM_THREADS=1 fusion study model=gemma3_270m data=halueval reference=passage data.limit=100 --name gemma3-halueval --seeds 0|10250"
)

# The HaluEval studies (steering toward the passage) ran side by side at one torch thread each, over
# two sessions; the SmolLM2 study's last three jobs resumed at two threads after Gemma's ended. Their
# wall times are the sums of the jobs' own times, with each interrupted attempt's time read from the
# study's log (single_layer about 70 min, Gemma's oracle about 51 min): not speed figures. They were
# graded at run time by rules-v5; rules-v6 came from the calibration half of their hand labels.
REGRADED=(halueval)

for entry in "${STUDIES[@]}"; do
  IFS='|' read -r -a fields <<< "$entry"
  name=${fields[0]}
  if [ $# -gt 0 ] && [[ ! " $* " == *" $name "* ]]; then continue; fi
  commands=()
  for ((k = 1; k < ${#fields[@]}; k += 2)); do
    commands+=(--command "${fields[k]}" --wall-seconds "${fields[k + 1]}")
  done
  regrade=()
  # studies graded at run time by an older rubric than their hand labels' tuning: today's rules grade them
  if [[ " ${REGRADED[*]} " == *" $name "* ]]; then regrade=(--regrade judge=rules); fi
  "$PY" -m fusion.report --answers "$HERE/$name/answers.jsonl.gz" --replication --out "$HERE/$name" \
    --labels experiments/hand_labels "${regrade[@]}" "${commands[@]}" > /dev/null
  echo "rebuilt $HERE/$name/REPORT.md"
done
