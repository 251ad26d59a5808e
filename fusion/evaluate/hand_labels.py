"""Hand labels: answers a person read, and how far a judge agrees with them. Torch-free.

A labelled set is three JSON-lines files in one folder (``experiments/hand_labels/``):

- ``items.jsonl``: what the labeller saw, shuffled: ``id``, ``question``, ``gold``, ``answer``;
- ``labels.jsonl``: one line per item and labeller: ``id``, ``labeller``, ``rubric`` (the
  rubric's version, docs/judges.md), ``verdict`` (CORRECT, INCORRECT, NOT_ATTEMPTED,
  BORDERLINE), ``language`` (FLUENT, BABBLE, BORDERLINE), ``note``;
- ``key.jsonl``: what the labeller did not see: where each answer text came from (``sources``:
  group, seed, field, whether a search selected it; ``joined`` where a later study repeated the
  labelled text), its model, and its ``split`` (``calibration`` or ``heldout``, fixed by prompt
  before any tuning).

An item's strict label is ``true`` (CORRECT and FLUENT), ``false`` (INCORRECT, NOT_ATTEMPTED or
BABBLE) or ``borderline``; where two labellers read an item differently it is ``borderline``.
Agreement leaves borderline items out and counts them.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fusion.errors import SetupError
from fusion.evaluate.agreement import cohen_kappa
from fusion.methods import find

Strict = Literal["true", "false", "borderline"]
VERDICTS = ("CORRECT", "INCORRECT", "NOT_ATTEMPTED", "BORDERLINE")
LANGUAGE = ("FLUENT", "BABBLE", "BORDERLINE")
# the kinds of answer agreement is reported for; a search selected only the first kind
KINDS = ("searched", "fixed", "in_context", "unsteered")


def split_of(question: str) -> str:
    """The half a question's answers belong to, fixed before any label or tuning: ``calibration``
    when the first byte of sha256(question) is even, else ``heldout``."""
    return "calibration" if hashlib.sha256(question.encode()).digest()[0] % 2 == 0 else "heldout"


def strict_of(verdict: str, language: str) -> Strict:
    """The strict label of one reading: plainly negative beats borderline beats positive."""
    if verdict in ("INCORRECT", "NOT_ATTEMPTED") or language == "BABBLE":
        return "false"
    if verdict == "CORRECT" and language == "FLUENT":
        return "true"
    return "borderline"


@dataclass(frozen=True)
class LabelledItem:
    """One answer text with its hand label and where it came from."""

    id: str
    question: str
    gold: str
    answer: str
    strict: Strict
    # the readings' verdict (CORRECT, INCORRECT, NOT_ATTEMPTED), BORDERLINE where a labeller could
    # not decide or two disagree: the report's grade metrics adjudicate the judge's grade with it
    verdict: str
    split: str  # calibration | heldout
    kinds: tuple[str, ...]  # of KINDS: every kind of group the text occurred in
    model: str
    index: int  # the question's row in its set (key.jsonl: "index"; its sources carry the question id since)
    stratum: str  # how it was drawn: a stratum of the sample, or "adjudication" (a judge positive)
    sources: tuple[dict[str, Any], ...]  # (group, seed, replicate, field, searched) where it occurred
    rubric: str
    labellers: int


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise SetupError(
            f"hand labels: {path} not found: point at a folder with items.jsonl, labels.jsonl and key.jsonl"
        )
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def kind_of(source: Mapping[str, Any]) -> str:
    """The kind of answer a source is: a search selected it, fixed strengths, the reference as a
    prompt (a prompted method's answer), or unsteered (the baseline and the zero-steering control)."""
    group = str(source["group"])
    if source.get("searched"):
        return "searched"
    if "[fixed" in group:
        return "fixed"
    method = find(group.partition("[")[0])
    if method is not None and method.spec.role == "prompted":
        return "in_context"
    return "unsteered"


def load(folder: Path | str) -> list[LabelledItem]:
    """The labelled items of a folder, their labellers' readings merged into one strict label."""
    folder = Path(folder)
    items = {r["id"]: r for r in _read_jsonl(folder / "items.jsonl")}
    keys = {r["id"]: r for r in _read_jsonl(folder / "key.jsonl")}
    readings: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in _read_jsonl(folder / "labels.jsonl"):
        if r.get("verdict") not in VERDICTS or r.get("language") not in LANGUAGE:
            raise SetupError(
                f"hand labels: item {r.get('id')}: verdict/language must be one of {VERDICTS} / {LANGUAGE}"
            )
        readings[r["id"]].append(r)
    out = []
    for item_id, item in items.items():
        if item_id not in readings:
            continue  # not labelled (yet)
        labels = {strict_of(r["verdict"], r["language"]) for r in readings[item_id]}
        verdicts = {str(r["verdict"]) for r in readings[item_id]}
        key = keys[item_id]
        out.append(
            LabelledItem(
                id=item_id,
                question=item["question"],
                gold=item["gold"],
                answer=item["answer"],
                strict=labels.pop() if len(labels) == 1 else "borderline",
                verdict=verdicts.pop() if len(verdicts) == 1 else "BORDERLINE",
                split=key["split"],
                # the kinds of answer the item was drawn as (places joined later are not sampled)
                kinds=tuple(k for k in KINDS if any(kind_of(s) == k for s in key["sources"] if not s.get("joined"))),
                model=key["model"],
                index=int(key.get("index", -1)),
                stratum=str(key.get("stratum", "")),
                sources=tuple(key["sources"]),
                rubric=",".join(sorted({r["rubric"] for r in readings[item_id]})),
                labellers=len(readings[item_id]),
            )
        )
    return out


@dataclass(frozen=True)
class LabelAgreement:
    """A judge's strict verdict against the hand labels on ``n`` items (borderline left out)."""

    n: int
    borderline: int
    labelled_true: int
    judged_true: int
    both_true: int
    precision: float  # of the judge's strict answers, the share a person calls strict
    recall: float  # of the answers a person calls strict, the share the judge does
    kappa: float


def agree(items: Iterable[LabelledItem], judged: Mapping[str, bool]) -> LabelAgreement:
    """Agreement of ``judged`` (item id -> the judge's strict verdict) with the items' labels."""
    items = list(items)
    decided = [i for i in items if i.strict != "borderline"]
    truth = [i.strict == "true" for i in decided]
    ours = [judged[i.id] for i in decided]
    both = sum(t and o for t, o in zip(truth, ours))
    return LabelAgreement(
        n=len(decided),
        borderline=len(items) - len(decided),
        labelled_true=sum(truth),
        judged_true=sum(ours),
        both_true=both,
        precision=both / sum(ours) if sum(ours) else float("nan"),
        recall=both / sum(truth) if sum(truth) else float("nan"),
        kappa=cohen_kappa(ours, truth),
    )


# the rows of an agreement table: a name and which items it holds
BUCKETS: tuple[tuple[str, Callable[[LabelledItem], bool]], ...] = (
    ("no search selected (baseline, control, in_context)", lambda i: bool({"unsteered", "in_context"} & set(i.kinds))),
    ("search-selected (steered searches, placebo)", lambda i: "searched" in i.kinds),
    ("  in_context", lambda i: "in_context" in i.kinds),
    ("  unsteered (baseline, control)", lambda i: "unsteered" in i.kinds),
    ("  steered, fixed strengths", lambda i: "fixed" in i.kinds),
)


def agreement_rows(
    items: Sequence[LabelledItem], judged: Mapping[str, bool], splits: Sequence[str] = ("calibration", "heldout")
) -> list[tuple[str, str, LabelAgreement]]:
    """``(split, bucket, agreement)`` for every split and bucket that holds an item."""
    rows = []
    for split in splits:
        for name, member in BUCKETS:
            chosen = [i for i in items if i.split == split and member(i)]
            if chosen:
                rows.append((split, name, agree(chosen, judged)))
    return rows


def _num(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def agreement_markdown(rows: Sequence[tuple[str, str, LabelAgreement]]) -> str:
    """The agreement rows as a markdown table."""
    lines = [
        "| half | answers | labelled (borderline left out) | strict by hand | strict by judge | both "
        "| precision | recall | Cohen's kappa |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for split, name, a in rows:
        lines.append(
            f"| {split} | {name} | {a.n} ({a.borderline}) | {a.labelled_true} | {a.judged_true} | {a.both_true} "
            f"| {_num(a.precision)} | {_num(a.recall)} | {_num(a.kappa)} |"
        )
    return "\n".join(lines)
