"""Adjudication: a person reads every answer the judge calls correct, and the report uses that.

The rules judge matches gold words. On answers a search selected it fails: of five trials the
search keeps the one with the most gold overlap, so over hundreds of questions it finds the rare
text that holds the gold's words without answering ("Paris" as the host of another, invented
conference). Rules cannot see that; a reader can, and the judge's positives are few (tens to a
few hundred per study). So fusion puts a person in the loop:

1. ``fusion adjudicate --answers A.jsonl.gz --labels DIR`` writes the judge's strict positives
   that carry no hand label yet into ``DIR`` (``items.jsonl`` and ``key.jsonl``, blind and
   shuffled) and a batch file to label (question, gold and answer only); a positive whose very
   text (same question, same answer) is labelled already joins that item instead;
2. a person labels them by the rubric in docs/judges.md, into ``DIR/labels.jsonl``;
3. ``fusion report --answers A.jsonl.gz --labels DIR`` counts an answer as strictly correct only
   when the judge says so *and* the hand label confirms it (``true``; ``false`` and
   ``borderline`` do not), for every group alike, and says how many answers were adjudicated,
   how many lacked a label, and the judge's precision against the labels.

A label is tied to the answers it was made for: the replicate, the question's SimpleQA index and
which answer of the row (steered, baseline or control), as ``key.jsonl`` records; one item covers
every place its text occurs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fusion.errors import one_line_errors
from fusion.evaluate.hand_labels import LabelledItem, Strict, load, split_of
from fusion.evaluate.scoring import correct_fluent
from fusion.tracking.answers import ANSWER_PREFIXES, Replicate, read_answers

# the row key that holds an answer's hand label ("true", "false", "borderline"), per answer prefix
HAND = "hand_strict"
# the stratum of items exported for adjudication
ADJUDICATION = "adjudication"
FIELDS = {"": "answer", "baseline_": "baseline_answer", "control_": "control_answer"}


def label_index(items: Sequence[LabelledItem]) -> dict[tuple[str, int, str], Strict]:
    """(replicate id, SimpleQA index, answer field) -> the hand label of that answer."""
    index: dict[tuple[str, int, str], Strict] = {}
    for item in items:
        for source in item.sources:
            key = (str(source["replicate"]), int(source.get("index", item.index)), str(source["field"]))
            index[key] = item.strict if index.get(key, item.strict) == item.strict else "borderline"
    return index


def judged_strict(row: dict[str, Any], prefix: str) -> bool:
    """The judge's strict verdict on one answer of a row: CORRECT and not degenerate."""
    return correct_fluent(row[f"{prefix}simpleqa"], row[f"{prefix}answer"])


@dataclass(frozen=True)
class Adjudicated:
    """How the judge's strict positives of one group fared with the hand labels."""

    positives: int  # answers the judge calls strictly correct
    confirmed: int  # ... a person labelled strict
    rejected: int  # ... a person labelled not strict
    borderline: int  # ... a person could not decide
    unlabelled: int  # ... nobody has read yet

    @property
    def precision(self) -> float:
        """The judge's precision against the labels (borderline left out)."""
        decided = self.confirmed + self.rejected
        return self.confirmed / decided if decided else float("nan")


def adjudicate(
    reps: Sequence[Replicate], index: dict[tuple[str, int, str], Strict]
) -> tuple[list[Replicate], dict[str, Adjudicated]]:
    """The replicates with each labelled answer's hand label in the row (``{prefix}hand_strict``),
    and, per replicate id, the count of the judge's positives by label."""
    out, counts = [], {}
    for rep in reps:
        tally: Counter[str] = Counter()
        rows = []
        for row in rep.rows:
            new = dict(row)
            for prefix in ANSWER_PREFIXES:
                label = index.get((rep.id, int(row["index"]), FIELDS[prefix]))
                if label is not None:
                    new[f"{prefix}{HAND}"] = label
                if judged_strict(row, prefix) and not prefix:  # the group's own answers
                    tally[label or "unlabelled"] += 1
            rows.append(new)
        out.append(replace(rep, rows=rows))
        counts[rep.id] = Adjudicated(
            positives=sum(tally.values()),
            confirmed=tally["true"],
            rejected=tally["false"],
            borderline=tally["borderline"],
            unlabelled=tally["unlabelled"],
        )
    return out, counts


def adjudicated_strict(row: dict[str, Any], prefix: str = "") -> bool:
    """The strict verdict the report uses: the judge's, unless a person read the answer and did not
    confirm it (a label adds no positive the judge missed, so every group is treated alike)."""
    return judged_strict(row, prefix) and row.get(f"{prefix}{HAND}", "true") == "true"


def pending(reps: Sequence[Replicate], index: dict[tuple[str, int, str], Strict]) -> list[dict[str, Any]]:
    """The judge's strict positives that carry no hand label, one entry per distinct answer text of
    a question (with every place it occurs)."""
    texts: dict[tuple[str, str], dict[str, Any]] = {}
    for rep in reps:
        model = rep.tags.get("fusion.model", "")
        for row in rep.rows:
            for prefix in ANSWER_PREFIXES:
                field = FIELDS[prefix]
                if not judged_strict(row, prefix) or (rep.id, int(row["index"]), field) in index:
                    continue
                entry = texts.setdefault(
                    (row["question"], row[field]),
                    {
                        "question": row["question"],
                        "gold": row["gold"],
                        "answer": row[field],
                        "model": model,
                        "index": int(row["index"]),
                        "sources": [],
                    },
                )
                entry["sources"].append(
                    {
                        "replicate": rep.id,
                        "index": int(row["index"]),
                        "field": field,
                        "group": rep.tags.get("fusion.mode", ""),
                        "searched": bool(row.get("n_trials")),
                    }
                )
    return list(texts.values())


def already_read(
    entries: Sequence[dict[str, Any]], items: Sequence[LabelledItem]
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Split pending positives into those still to read and those whose very text (the same answer
    to the same question) a person already labelled: the labeller saw only question, gold and
    answer, so that label holds wherever the text occurs again (another study, seed or group).
    Returns the entries to export and, per labelled item id, the new places its text occurs."""
    by_text = {(item.question, item.answer): item.id for item in items}
    todo: list[dict[str, Any]] = []
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        item_id = by_text.get((entry["question"], entry["answer"]))
        if item_id is None:
            todo.append(entry)
        else:
            found.setdefault(item_id, []).extend(entry["sources"])
    return todo, found


def attach(found: dict[str, list[dict[str, Any]]], folder: Path) -> None:
    """Add the new places of already labelled texts to their items' sources in ``key.jsonl``."""
    path = folder / "key.jsonl"
    keys = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for key in keys:
        # marked: the item was drawn elsewhere, so these places say nothing of the judge's agreement
        key["sources"] = [*key["sources"], *({**place, "joined": True} for place in found.get(key["id"], []))]
    staged = path.with_suffix(".jsonl.tmp")  # a crash leaves the old key whole
    staged.write_text("".join(json.dumps(key) + "\n" for key in keys))
    staged.replace(path)


def export(entries: Sequence[dict[str, Any]], folder: Path, seed: int = 0) -> Path:
    """Append ``entries`` to the labelled set in ``folder`` as new blind items (shuffled, new ids)
    and write them, question, gold and answer only, to a batch file for the labeller."""
    existing = [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines() if line.strip()]
    start = 1 + max((int(r["id"].lstrip("h")) for r in existing), default=-1)
    order = list(entries)
    random.Random(seed).shuffle(order)
    batch = folder / f"pending-{start:04d}.jsonl"
    with open(folder / "items.jsonl", "a") as items, open(folder / "key.jsonl", "a") as key, open(batch, "w") as out:
        for n, entry in enumerate(order):
            blind = {
                "id": f"h{start + n:04d}",
                "question": entry["question"],
                "gold": entry["gold"],
                "answer": entry["answer"],
            }
            items.write(json.dumps(blind) + "\n")
            out.write(json.dumps(blind) + "\n")
            key.write(
                json.dumps(
                    {
                        "id": blind["id"],
                        "model": entry["model"],
                        "index": entry["index"],
                        "split": split_of(entry["question"]),
                        "stratum": "adjudication",
                        "sources": entry["sources"],
                    }
                )
                + "\n"
            )
    return batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fusion adjudicate",
        description="Export the judge's strict positives that no person has labelled yet, blind, for hand labels",
    )
    parser.add_argument("--answers", type=Path, nargs="+", required=True, help="answers files (answers.jsonl.gz)")
    parser.add_argument("--labels", type=Path, required=True, help="the hand-labels folder (items, key, labels)")
    parser.add_argument("--regrade", nargs="+", default=None, metavar="OVERRIDE", help="grade with this judge first")
    parser.add_argument("--dry-run", action="store_true", help="only count what would be exported")
    args = parser.parse_args(argv)
    with one_line_errors():
        reps = [rep for path in args.answers for rep in read_answers(path)]
        if args.regrade:
            from fusion.evaluate.judges.factory import judge_from
            from fusion.tracking.answers import regrade

            reps = regrade(reps, judge_from(args.regrade, judge_keys_only=False))
        items = load(args.labels)
        todo, found = already_read(pending(reps, label_index(items)), items)
        if found:
            places = sum(map(len, found.values()))
            print(f"{places} strict positives repeat the text of {len(found)} labelled answers: their labels hold"
                  + (" (not recorded: --dry-run)" if args.dry_run else ""))  # fmt: skip
            if not args.dry_run:
                attach(found, args.labels)
        if args.dry_run or not todo:
            print(f"{len(todo)} strict positives carry no hand label")
            return 0
        batch = export(todo, args.labels)
        print(f"{len(todo)} answers to label (blind: question, gold, answer): {batch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def judged_items(items: Sequence[LabelledItem], reps: Sequence[Replicate]) -> dict[str, bool]:
    """Item id -> the judge's strict verdict on that answer as the report graded it (same judge,
    same cut), for the items whose answer is in ``reps``."""
    rows = {(rep.id, int(row["index"])): row for rep in reps for row in rep.rows}
    prefix_of = {field: prefix for prefix, field in FIELDS.items()}
    out = {}
    for item in items:
        for source in item.sources:
            if source.get("joined"):  # a judge positive that repeats a labelled text: not sampled here
                continue
            row = rows.get((str(source["replicate"]), int(source.get("index", item.index))))
            if row is not None:
                out[item.id] = judged_strict(row, prefix_of[str(source["field"])])
                break
    return out


def hand_label_sections(
    summary: dict[str, dict[str, Any]],
    reps: Sequence[Replicate],
    items: Sequence[LabelledItem],
    counts: dict[str, Adjudicated],
) -> str:
    """REPORT.md's sections on the hand labels: the judge against them on both halves, per kind of
    answer, and how each group's strict positives were adjudicated."""
    from fusion.evaluate.hand_labels import agreement_markdown, agreement_rows

    judged = judged_items(items, reps)
    # the agreement is measured on the stratified sample only: the adjudicated items are all judge
    # positives, and adding them would inflate the judge's precision
    known = [i for i in items if i.id in judged and i.stratum != ADJUDICATION]
    rubric = ", ".join(sorted({i.rubric for i in known}))
    group_of = {run: label for label, e in summary.items() for run in e.get("runs", [])}
    per_group: dict[str, Counter[str]] = {}
    for rep_id, c in counts.items():
        tally = per_group.setdefault(group_of.get(rep_id, rep_id), Counter())
        tally.update(
            positives=c.positives,
            confirmed=c.confirmed,
            rejected=c.rejected,
            borderline=c.borderline,
            unlabelled=c.unlabelled,
        )
    lines = [
        "| group | judge's strict positives | confirmed by hand | rejected | borderline | not yet read "
        "| judge's precision |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in summary:
        t = per_group.get(label, Counter())
        decided = t["confirmed"] + t["rejected"]
        precision = f"{t['confirmed'] / decided:.2f}" if decided else "n/a"
        lines.append(
            f"| {label} | {t['positives']} | {t['confirmed']} | {t['rejected']} | {t['borderline']} "
            f"| {t['unlabelled']} | {precision} |"
        )
    total = Counter[str]()
    for t in per_group.values():
        total.update(t)
    if known:
        agreement = [
            f"{len(known)} answers of this study were labelled by hand, blind (question, gold and answer only, "
            f"shuffled; rubric {rubric}, docs/judges.md), {sum(i.labellers > 1 for i in known)} of them by two "
            "labellers. The halves are split by question before any tuning; the judge's rules were tuned on the "
            "calibration half only. Strict = CORRECT and FLUENT by hand, CORRECT and not degenerate by the judge; "
            "borderline labels are left out of each row and counted in brackets. An answer can count in several rows "
            "(the same text from the baseline and a steered group).",
            "",
            agreement_markdown(agreement_rows(known, judged)),
        ]
    else:  # only positives were read here: an agreement table of them would show precision alone, inflated
        agreement = [
            "No answer of this study is in the stratified sample of hand labels, so the judge's precision, recall "
            "and kappa are not measured here (they are where the sample was drawn, experiments/hand_labels); "
            "its precision on this study's own strict positives is below."
        ]
    return "\n".join(
        [
            "## The judge against hand labels",
            "",
            *agreement,
            "",
            "## Adjudication: every strict positive read by a person",
            "",
            f"The strict columns above count an answer only when the judge calls it correct and fluent **and** a "
            f"person's blind label confirms it; a rejected or borderline label removes it, in every group alike. "
            f"{total['confirmed'] + total['rejected'] + total['borderline']} of the {total['positives']} positives "
            f"were adjudicated, {total['unlabelled']} were not yet read (`fusion adjudicate` exports them).",
            "",
            *lines,
        ]
    )
