"""Draw the HaluEval study's answers to label by hand, blind, and append them to this folder.

Like `sample.py` (the SimpleQA studies'), but for the study of steering toward a passage
(experiments/halueval): the items get ids `PREFIX0000...` (one prefix per draw: the two models'
studies finished at different times and were drawn one after the other, `g` Gemma, `s` SmolLM2), their keys name the question set and the
question id, and the strata cover the three kinds of answer the study compares: closed book
(the baseline and the zero-steering control), the passage in the prompt (in_context) and steered
(every searched group: full, segmented, single_layer, mean_diff toward the passage, the placebo and
the oracle reference). Every answer of a steered group the judge calls strictly correct is drawn
(they are the ones the report adjudicates); the rest are sampled per model and judge outcome.

The halves are fixed here, before any label or tuning, exactly as for the first sample: a question
is `calibration` when the first byte of sha256(question) is even, else `heldout`. Identical texts
to the same question are one item. Nothing here reads a label or the judge's rationale.

    python experiments/hand_labels/sample_halueval.py PREFIX ANSWERS.jsonl.gz [ANSWERS.jsonl.gz ...]
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from fusion.evaluate.grading import GRADE_KEY
from fusion.evaluate.hand_labels import split_of
from fusion.methods import find

sys.path.insert(0, str(Path(__file__).parent))
from sample import words as _words  # noqa: E402  (the first sample's tokeniser, same folder)

SEED = 20261207
HERE = Path(__file__).parent
# per model, how many of each stratum (None: all of them); the steered strict positives are all drawn
QUOTA: dict[str, int | None] = {
    "steered-pos": None,
    "steered-evidence": 40,
    "steered-other": 25,
    "in_context-pos": 45,
    "in_context-evidence": 15,
    "in_context-other": 15,
    "closed-pos": None,
    "closed-evidence": 15,
    "closed-other": 20,
}
MODEL_SHARE = {"smol": 1.0, "gemma": 0.6}  # Gemma answered 100 questions, SmolLM2 260


def group_of(rep: dict) -> tuple[str, str, int, bool]:
    """(model, group, seed, searched) of a replicate."""
    params, tags = rep["params"], rep["tags"]
    mode = params["steering.mode"]
    group = mode + "[placebo]" * (params["steering.target"] == "shuffled")
    group += "[oracle]" * (tags.get("fusion.oracle") == "yes" and tags.get("fusion.reference") != "passage")
    method = find(mode)
    searched = bool(method and method.spec.searched)
    return tags["fusion.model"], group, int(params["search.seed"]), searched


def units_of(paths: list[str]) -> dict[tuple[str, str, str], dict]:
    units: dict[tuple[str, str, str], dict] = {}
    for path in paths:
        rows = [json.loads(line) for line in gzip.open(path, "rt")]
        reps = {r["id"]: r for r in rows if r["kind"] == "replicate"}
        for r in rows:
            if r["kind"] != "answer":
                continue
            model, group, seed, searched = group_of(reps[r["replicate"]])
            fields = [("answer", group, searched, "")]
            if searched:
                fields.append(("control_answer", "control", False, "control_"))
            fields.append(("baseline_answer", "baseline", False, "baseline_"))
            for field, grp, srch, prefix in fields:
                text = r[field]
                unit = units.setdefault((model, r["question"], text), {
                    "question": r["question"], "gold": r["gold"], "answer": text, "model": model,
                    "set": "halueval", "qid": r.get("qid") or f"halueval:{r['index']}", "index": r["index"],
                    "split": split_of(r["question"]), "sources": [],
                })  # fmt: skip
                strict = r[f"{prefix}{GRADE_KEY}"] == "CORRECT" and not r[f"{prefix}fluency"]["degenerate"]
                src = {"group": grp, "seed": seed, "replicate": r["replicate"], "field": field,
                       "searched": srch, "rules_v5_strict": strict}  # fmt: skip
                if src not in unit["sources"]:
                    unit["sources"].append(src)
    return units


def stratum_of(u: dict) -> str:
    kinds = {s["group"].split("[")[0] for s in u["sources"]}
    pos = any(s["rules_v5_strict"] for s in u["sources"] if s["searched"] or "in_context" in s["group"])
    pos_any = any(s["rules_v5_strict"] for s in u["sources"])
    evidence = bool((_words(u["gold"]) - _words(u["question"])) & _words(u["answer"]))
    if any(s["searched"] for s in u["sources"]):
        kind = "steered"
    elif "in_context" in kinds:
        kind = "in_context"
    else:
        kind = "closed"
    outcome = "pos" if (pos if kind != "closed" else pos_any) else ("evidence" if evidence else "other")
    return f"{kind}-{outcome}"


def main(prefix: str, paths: list[str]) -> None:
    units = units_of(paths)
    rng = random.Random(SEED)
    strata: dict[str, list[dict]] = defaultdict(list)
    for u in sorted(units.values(), key=lambda u: (u["model"], u["index"], u["answer"])):
        m = "smol" if u["model"].startswith("smol") else "gemma"
        u["searched"] = any(s["searched"] for s in u["sources"])
        u["v5_strict"] = any(s["rules_v5_strict"] for s in u["sources"])
        strata[f"{m}/{stratum_of(u)}"].append(u)
    chosen = []
    for name in sorted(strata):
        m, stratum = name.split("/")
        pool, n = strata[name], QUOTA.get(stratum, 0)
        take = (
            pool if n is None or round(n * MODEL_SHARE[m]) >= len(pool) else rng.sample(pool, round(n * MODEL_SHARE[m]))
        )
        print(f"{name:28s} {len(take):4d} of {len(pool)}")
        for u in take:
            u["stratum"] = f"halueval/{name}"
        chosen += take
    rng.shuffle(chosen)
    taken = {json.loads(line)["id"] for line in (HERE / "items.jsonl").read_text().splitlines() if line.strip()}
    assert prefix in "gs" and not any(i.startswith(prefix) for i in taken), "each draw is made once"
    keys = ("model", "set", "qid", "index", "split", "stratum", "searched", "v5_strict", "sources")
    with open(HERE / "items.jsonl", "a") as items, open(HERE / "key.jsonl", "a") as key:
        for i, u in enumerate(chosen):
            item_id = f"{prefix}{i:04d}"
            items.write(
                json.dumps({"id": item_id, "question": u["question"], "gold": u["gold"], "answer": u["answer"]}) + "\n"
            )
            key.write(json.dumps({"id": item_id, **{k: u[k] for k in keys}}) + "\n")
    print(len(chosen), "items")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
