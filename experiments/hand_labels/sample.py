"""Draw the answers to label by hand from the committed study, blind.

Writes `items.jsonl` (id, question, gold, answer: all a labeller sees, shuffled) and
`key.jsonl` (id -> where each identical answer text came from: model, group, seed, field, the
rules-v3 strict grade, and the prompt's split). The split is fixed here, before any label or
tuning: a prompt is `calibration` when the first byte of sha256(question) is even, else
`heldout`. Identical answer texts to the same question are one item (greedy decoding repeats
them across groups), so one label covers every place the text occurs.

Strata (every answer kind and every judge outcome, search-selected answers oversampled because
that is where a gold-token judge fails): every search-selected answer rules-v3 calls CORRECT, a
sample of search-selected answers that hold a gold word but are called wrong, random
search-selected answers, in_context, baseline, zero-steering control and fixed-strength answers
called right and wrong, for SmolLM2 and Gemma.

    python experiments/hand_labels/sample.py ANSWERS.jsonl.gz OUT_DIR
"""

from __future__ import annotations

import gzip
import json
import random
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

from fusion.evaluate.hand_labels import split_of

SEED = 20261205
STOP = {"the", "a", "an", "of", "and", "in", "on", "to", "for", "de", "la", "le", "von", "van"}


def words(text: str) -> set[str]:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return {w for w in re.findall(r"[a-z0-9]+", text) if w not in STOP}


def group_of(rep: dict) -> tuple[str, str, int, bool]:
    params, tags = rep["params"], rep["tags"]
    mode = params["steering.mode"]
    group = mode
    if params["steering.target"] == "shuffled":
        group += "[placebo]"
    fixed = params.get("search.strengths_from") not in (None, "None")
    if fixed:
        group += f"[fixed-{params['search.strengths_rule']}]"
    elif params["search.objective"] == "paper" and mode in ("full", "segmented"):
        group += "[paper]"
    searched = mode in ("full", "segmented") and not fixed
    return tags["fusion.model"], group, int(params["search.seed"]), searched


def main(answers: str, out: str) -> None:
    rows = [json.loads(line) for line in gzip.open(answers, "rt")]
    reps = {r["id"]: r for r in rows if r["kind"] == "replicate"}
    units: dict[tuple[str, str, str], dict] = {}
    for r in rows:
        if r["kind"] != "answer":
            continue
        model, group, seed, searched = group_of(reps[r["replicate"]])
        fields = [("answer", group, searched, r["simpleqa"], r["fluency"]["degenerate"])]
        if group in ("full", "segmented") or group.startswith("full["):
            fields.append(("control_answer", "control", False, r["control_simpleqa"], r["control_fluency"]["degenerate"]))
        fields.append(("baseline_answer", "baseline", False, r["baseline_simpleqa"], r["baseline_fluency"]["degenerate"]))
        for field, grp, srch, label, degenerate in fields:
            text = r[field]
            key = (model, r["question"], text)
            unit = units.setdefault(key, {
                "question": r["question"], "gold": r["gold"], "answer": text, "model": model,
                "index": r["index"], "split": split_of(r["question"]), "sources": [],
            })
            src = {"group": grp, "seed": seed, "replicate": r["replicate"], "field": field,
                   "searched": srch, "rules_v3_strict": label == "CORRECT" and not degenerate}
            if src not in unit["sources"]:
                unit["sources"].append(src)
    for u in units.values():
        u["searched"] = any(s["searched"] for s in u["sources"])
        u["v3_strict"] = any(s["rules_v3_strict"] for s in u["sources"])
        u["kinds"] = sorted({s["group"].split("[")[0] if "fixed" not in s["group"] else "fixed" for s in u["sources"]})
        gold = words(u["gold"]) - words(u["question"])
        u["gold_evidence"] = bool(gold & words(u["answer"]))
    rng = random.Random(SEED)
    strata: dict[str, list[dict]] = defaultdict(list)
    for u in sorted(units.values(), key=lambda u: (u["model"], u["index"], u["answer"])):
        m = "smol" if u["model"].startswith("smol") else "gemma"
        if u["searched"]:
            s = "searched-v3pos" if u["v3_strict"] else ("searched-evidence" if u["gold_evidence"] else "searched-other")
        elif "in_context" in u["kinds"]:
            s = "in_context-" + ("pos" if u["v3_strict"] else ("evidence" if u["gold_evidence"] else "other"))
        elif "fixed" in u["kinds"]:
            s = "fixed-" + ("pos" if u["v3_strict"] else "neg")
        else:
            s = "unsteered-" + ("pos" if u["v3_strict"] else ("evidence" if u["gold_evidence"] else "other"))
        strata[f"{m}/{s}"].append(u)
    quota = {  # None: all of them
        "smol/searched-v3pos": None, "gemma/searched-v3pos": None,
        "smol/searched-evidence": 70, "gemma/searched-evidence": 40,
        "smol/searched-other": 25, "gemma/searched-other": 15,
        "smol/in_context-pos": 45, "smol/in_context-evidence": 30, "smol/in_context-other": 15,
        "gemma/in_context-pos": None, "gemma/in_context-evidence": 50, "gemma/in_context-other": 20,
        "smol/unsteered-pos": None, "smol/unsteered-evidence": 25, "smol/unsteered-other": 15,
        "gemma/unsteered-pos": None, "gemma/unsteered-evidence": 15, "gemma/unsteered-other": 10,
        "smol/fixed-pos": None, "smol/fixed-neg": 10,
    }
    chosen = []
    for name in sorted(strata):
        pool = strata[name]
        n = quota.get(name, 0)
        take = pool if n is None or n >= len(pool) else rng.sample(pool, n)
        print(f"{name:28s} {len(take):4d} of {len(pool)}")
        for u in take:
            u["stratum"] = name
        chosen += take
    rng.shuffle(chosen)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "items.jsonl", "w") as items, open(out_dir / "key.jsonl", "w") as key:
        for i, u in enumerate(chosen):
            item_id = f"h{i:04d}"
            items.write(json.dumps({"id": item_id, "question": u["question"], "gold": u["gold"], "answer": u["answer"]}) + "\n")
            key.write(json.dumps({"id": item_id, **{k: u[k] for k in ("model", "index", "split", "stratum", "searched", "v3_strict", "gold_evidence", "sources")}}) + "\n")
    print(len(chosen), "items")


if __name__ == "__main__":
    main(*sys.argv[1:3])
