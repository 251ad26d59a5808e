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
2. a person labels them by the rubric in docs/judges.md, into ``DIR/labels.jsonl``
   (``fusion label DIR/pending-NNNN.jsonl --labeller NAME``: the batch file step 1 names);
3. ``fusion report --answers A.jsonl.gz --labels DIR`` counts an answer as strictly correct only
   when the judge says so *and* the hand label confirms it (``true``; ``false`` and
   ``borderline`` do not), for every group alike, and says how many answers were adjudicated,
   how many lacked a label, and the judge's precision against the labels.

A label is tied to the answers it was made for: the replicate, the question (its id; labels made
before rows carried one name the row ``index``, read as the id the replicate's set gives it) and
which answer of the row (steered, baseline or control), as ``key.jsonl`` records; one item covers
every place its text occurs.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from fusion.data import question_id
from fusion.evaluate.grading import GRADE_KEY
from fusion.evaluate.hand_labels import LabelledItem, Strict, load, split_of
from fusion.evaluate.scoring import correct_fluent
from fusion.tracking.answers import ANSWER_PREFIXES, Replicate

# the row key that holds an answer's hand label ("true", "false", "borderline"), per answer prefix
HAND = "hand_strict"
# the stratum of items exported for adjudication
ADJUDICATION = "adjudication"
FIELDS = {"": "answer", "baseline_": "baseline_answer", "control_": "control_answer"}
# an answer: (replicate id, question id, answer field)
AnswerKey = tuple[str, str, str]
T = TypeVar("T")


def answer_key(rep: Replicate, row: dict[str, Any], prefix: str) -> AnswerKey:
    """The key of one answer of a row of ``rep`` (``prefix``: which answer, :data:`FIELDS`)."""
    return rep.id, rep.qid(row), FIELDS[prefix]


def source_qid(source: dict[str, Any], item: LabelledItem, datasets: dict[str, str]) -> str | None:
    """The question id of a place a labelled text occurs (a ``key.jsonl`` source); a source from
    before they carried one is read by its replicate's set (``datasets``: replicate id -> data set);
    None for a replicate not among them."""
    if not source.get("qid") and str(source["replicate"]) not in datasets:
        return None
    record = {"qid": source.get("qid", ""), "index": source.get("index", item.index)}
    return question_id(record, datasets.get(str(source["replicate"]), ""))


def _by_answer(
    items: Sequence[LabelledItem], reps: Sequence[Replicate], value: Callable[[LabelledItem], T], mixed: T
) -> dict[AnswerKey, T]:
    """:data:`AnswerKey` -> ``value`` of the item of that answer, for the answers of ``reps``;
    ``mixed`` where two items of one answer differ."""
    datasets = {rep.id: rep.dataset for rep in reps}
    index: dict[AnswerKey, T] = {}
    for item in items:
        for source in item.sources:
            if (qid := source_qid(source, item, datasets)) is None:
                continue
            key = (str(source["replicate"]), qid, str(source["field"]))
            index[key] = value(item) if index.get(key, value(item)) == value(item) else mixed
    return index


def label_index(items: Sequence[LabelledItem], reps: Sequence[Replicate]) -> dict[AnswerKey, Strict]:
    """:data:`AnswerKey` -> the hand label of that answer, for the answers of ``reps``."""
    return _by_answer(items, reps, lambda item: item.strict, "borderline")


def verdict_index(items: Sequence[LabelledItem], reps: Sequence[Replicate]) -> dict[AnswerKey, str]:
    """:data:`AnswerKey` -> the hand label's verdict (CORRECT, INCORRECT, NOT_ATTEMPTED, BORDERLINE)."""
    return _by_answer(items, reps, lambda item: item.verdict, "BORDERLINE")


def judged_strict(row: dict[str, Any], prefix: str) -> bool:
    """The judge's strict verdict on one answer of a row: CORRECT and not degenerate."""
    return correct_fluent(row[f"{prefix}{GRADE_KEY}"], row[f"{prefix}answer"])


@dataclass(frozen=True)
class Adjudicated:
    """How the judge's strict positives of one group fared with the hand labels."""

    positives: int  # answers the judge calls strictly correct
    confirmed: int  # ... a person labelled strict
    rejected: int  # ... a person labelled not strict
    borderline: int  # ... a person could not decide
    unlabelled: int  # ... nobody has read yet

    def __add__(self, other: Adjudicated) -> Adjudicated:
        return Adjudicated(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Adjudicated)))

    @property
    def read(self) -> int:
        """The positives a person has read."""
        return self.confirmed + self.rejected + self.borderline

    @property
    def precision(self) -> float:
        """The judge's precision against the labels (borderline left out)."""
        decided = self.confirmed + self.rejected
        return self.confirmed / decided if decided else float("nan")


NONE = Adjudicated(0, 0, 0, 0, 0)


def adjudicate(
    reps: Sequence[Replicate], index: dict[AnswerKey, Strict]
) -> tuple[list[Replicate], dict[str, Adjudicated]]:
    """The replicates with each labelled answer's hand label in the row (``{prefix}hand_strict``),
    and, per replicate id, the count of the judge's positives by label (:func:`tally`)."""
    out = []
    for rep in reps:
        rows = []
        for row in rep.rows:
            new = dict(row)
            for prefix in ANSWER_PREFIXES:
                label = index.get(answer_key(rep, row, prefix))
                if label is not None:
                    new[f"{prefix}{HAND}"] = label
            rows.append(new)
        out.append(replace(rep, rows=rows))
    return out, tally(reps, index)


def tally(reps: Sequence[Replicate], index: dict[AnswerKey, Strict]) -> dict[str, Adjudicated]:
    """Per replicate id, its own answers the judge calls strictly correct, by hand label: from
    ``index``, else the label the row already carries (none: unread)."""
    counts = {}
    for rep in reps:
        found: Counter[str] = Counter()
        for row in rep.rows:
            if judged_strict(row, ""):  # the group's own answers
                # an answers file written by an adjudicated report carries its labels in the rows
                label = index.get(answer_key(rep, row, "")) or row.get(HAND)
                found[label or "unlabelled"] += 1
        counts[rep.id] = Adjudicated(
            positives=sum(found.values()),
            confirmed=found["true"],
            rejected=found["false"],
            borderline=found["borderline"],
            unlabelled=found["unlabelled"],
        )
    return counts


def adjudicated_strict(row: dict[str, Any], prefix: str = "") -> bool:
    """The strict verdict the report uses: the judge's, unless a person read the answer and did not
    confirm it (a label adds no positive the judge missed, so every group is treated alike)."""
    return judged_strict(row, prefix) and row.get(f"{prefix}{HAND}", "true") == "true"


def adjudicated_grade(row: dict[str, Any], prefix: str = "", verdict: str | None = None) -> str:
    """The grade the report's grade metrics use: the judge's, except on the answers whose
    strict verdict is adjudicated (:func:`adjudicated_strict`: a strict positive a person read), which
    take the person's ``verdict``: CORRECT and NOT_ATTEMPTED as labelled, INCORRECT and BORDERLINE (not
    decided, or labellers disagreeing: an attempt nobody confirmed) as INCORRECT. The grade scores
    correctness only, so a CORRECT label holds even where the language was babble. A label without
    ``verdict`` (an answers file that carries only its strict label) gives CORRECT if ``true``, else INCORRECT."""
    label = row.get(f"{prefix}{HAND}")
    if label is None or not judged_strict(row, prefix):
        return str(row[f"{prefix}{GRADE_KEY}"])
    verdict = verdict or ("CORRECT" if label == "true" else "INCORRECT")
    return verdict if verdict in ("CORRECT", "NOT_ATTEMPTED") else "INCORRECT"


def pending(reps: Sequence[Replicate], index: dict[AnswerKey, Strict]) -> list[dict[str, Any]]:
    """The judge's strict positives that carry no hand label, one entry per distinct answer text of
    a question (with every place it occurs)."""
    texts: dict[tuple[str, str], dict[str, Any]] = {}
    for rep in reps:
        model = rep.tags.get("fusion.model", "")
        for row in rep.rows:
            for prefix in ANSWER_PREFIXES:
                field = FIELDS[prefix]
                if not judged_strict(row, prefix) or answer_key(rep, row, prefix) in index:
                    continue
                question = {"index": int(row["index"]), "qid": rep.qid(row)}
                entry = texts.setdefault(
                    (row["question"], row[field]),
                    {"question": row["question"], "gold": row["gold"], "answer": row[field], "model": model}
                    | question
                    | {"sources": []},
                )
                group, searched = rep.tags.get("fusion.mode", ""), bool(row.get("n_trials"))
                place = {"replicate": rep.id} | question | {"field": field, "group": group, "searched": searched}
                entry["sources"].append(place)
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
    # adjudication items are h0000, h0001, ...; a draw's items carry prefixes of their own (g, s)
    start = 1 + max((int(r["id"][1:]) for r in existing if r["id"].startswith("h")), default=-1)
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
                        "qid": entry["qid"],
                        "split": split_of(entry["question"]),
                        "stratum": "adjudication",
                        "sources": entry["sources"],
                    }
                )
                + "\n"
            )
    return batch


@dataclass(frozen=True)
class Exported:
    """What ``fusion adjudicate`` did: the positives whose text was labelled already (``joined``
    places of ``known`` items), and the batch file of those still to read (None: nothing exported)."""

    joined: int
    known: int
    todo: int
    batch: Path | None


def export_pending(reps: Sequence[Replicate], folder: Path, dry_run: bool = False) -> Exported:
    """Export the judge's strict positives in ``reps`` that carry no hand label in ``folder`` as a
    blind batch, after joining those whose very text a person has labelled to that item."""
    items = load(folder)
    todo, found = already_read(pending(reps, label_index(items, reps)), items)
    batch = export(todo, folder) if todo and not dry_run else None
    if found and not dry_run:  # after the export: a failed export leaves the folder as it was
        attach(found, folder)
    return Exported(joined=sum(map(len, found.values())), known=len(found), todo=len(todo), batch=batch)
