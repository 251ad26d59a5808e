"""The labelling page's store: blind items in a labeller's own order, and the labels written as they
are made. Torch-free; the page itself is ``fusion.evaluate.label_server``.

The page shows a person one item at a time by the rubric (``fusion/resources/label_rubric.md``,
the same text as docs/judges.md, with its version on the first line) and appends each label to the
labels file ``fusion report --labels`` and ``fusion adjudicate`` read, in the format of
``fusion.evaluate.hand_labels`` (``id``, ``labeller``, ``rubric``, ``verdict``, ``language``,
``note``), flushed to disk before the next item shows: closing the browser or stopping the server
loses nothing, and a restart skips every item this labeller has labelled.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import random
import re
import threading
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fusion.errors import ConfigError, SetupError
from fusion.evaluate.hand_labels import LANGUAGE, VERDICTS

# the only fields of an item the page ever shows: no group, seed, strengths or grade
BLIND = ("id", "question", "gold", "answer")


@dataclass(frozen=True)
class Item:
    """What the labeller sees of one answer."""

    id: str
    question: str
    gold: str
    answer: str


@dataclass(frozen=True)
class Rubric:
    """The hand-label rubric: its version (recorded with every label) and its text (markdown)."""

    version: str
    text: str

    def html(self) -> str:
        """The text as HTML: paragraphs, ``- `` lists, **bold**, *emphasis* and `code`."""
        out: list[str] = []
        for block in self.text.strip().split("\n\n"):
            lines = block.splitlines()
            if lines[0].startswith("- "):
                entries = re.split(r"\n- ", "\n" + "\n".join(lines))[1:]
                out.append("<ul>" + "".join(f"<li>{_inline(e)}</li>" for e in entries) + "</ul>")
            else:
                out.append(f"<p>{_inline(block)}</p>")
        return "\n".join(out)


def _inline(text: str) -> str:
    text = html.escape(" ".join(text.split()), quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", text)


def rubric() -> Rubric:
    """The rubric labels are made under now."""
    version, _, text = resources.files("fusion").joinpath("resources/label_rubric.md").read_text().partition("\n")
    return Rubric(version=version.strip(), text=text.strip())


def _jsonl(path: Path, what: str) -> list[dict[str, Any]]:
    records = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            raise SetupError(f"{path}:{n}: not a JSON object: {what} are JSON lines, one object each")
        records.append(record)
    return records


def read_items(path: Path) -> list[Item]:
    """The blind items of a batch file (``fusion adjudicate`` writes them): only their question,
    gold and answer are kept, whatever else a line holds."""
    if not path.is_file():
        raise SetupError(f"{path} not found: pass the items file `fusion adjudicate` wrote (pending-NNNN.jsonl)")
    items: dict[str, Item] = {}
    for n, record in enumerate(_jsonl(path, "items"), 1):
        if not all(isinstance(record.get(k), str) for k in BLIND):
            raise SetupError(f"{path}: item {n} lacks a string {'/'.join(BLIND)}: pass a file of exported items")
        if record["id"] in items:
            raise SetupError(f"{path}: item id {record['id']} occurs twice: each item is labelled once")
        items[record["id"]] = Item(**{k: record[k] for k in BLIND})
    if not items:
        raise SetupError(f"{path} holds no items: nothing to label")
    return list(items.values())


def shuffled(items: list[Item], labeller: str) -> list[Item]:
    """The items in the labeller's own order: shuffled, the same order for the same name every time
    (so a restart resumes where it was), a different one for another labeller."""
    seed = int.from_bytes(hashlib.sha256(labeller.encode()).digest()[:8], "big")
    order = sorted(items, key=lambda i: i.id)
    random.Random(seed).shuffle(order)
    return order


@dataclass(frozen=True)
class Label:
    """One reading of one item, as a line of the labels file."""

    id: str
    labeller: str
    rubric: str
    verdict: str
    language: str
    note: str


@dataclass(frozen=True)
class PageState:
    """What the page shows: who labels, the progress, the next item (blind; None when all are done)."""

    labeller: str
    total: int
    done: int
    item: Item | None
    out: str


def _ends_open(path: Path) -> bool:
    """Whether a file's last line lacks its newline (a file edited by hand)."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) != b"\n"


class LabelStore:
    """A labeller's items and the labels file: which item comes next, and each label written once."""

    def __init__(self, items: list[Item], out: Path, labeller: str, version: str) -> None:
        if not labeller.strip() or not labeller.isprintable():
            raise ConfigError("--labeller: give your name or initials (one line of printable text)")
        self.items = shuffled(items, labeller)
        self.out, self.labeller, self.version = out, labeller, version
        self._lock = threading.Lock()
        known = {i.id for i in items}
        self.done = {
            r.get("id") for r in (_jsonl(out, "labels") if out.is_file() else []) if r.get("labeller") == labeller
        } & known

    def next(self) -> Item | None:
        """The first item of the labeller's order not labelled yet; None when all are."""
        return next((i for i in self.items if i.id not in self.done), None)

    def state(self) -> PageState:
        return PageState(self.labeller, len(self.items), len(self.done), self.next(), str(self.out))

    def write(self, item_id: str, verdict: str, language: str, note: str = "") -> Label:
        """Append one label (durably: flushed and synced before it returns). Raises ConfigError on a
        label the schema has no place for, or on an item this labeller has labelled already."""
        if verdict not in VERDICTS or language not in LANGUAGE:
            raise ConfigError(f"a label is a verdict of {VERDICTS} and a language of {LANGUAGE}")
        label = Label(item_id, self.labeller, self.version, verdict, language, " ".join(note.split()))
        with self._lock:
            if item_id not in {i.id for i in self.items}:
                raise ConfigError(f"item {item_id} is not in this batch")
            if item_id in self.done:
                raise ConfigError(f"item {item_id} is labelled already by {self.labeller}")
            self.out.parent.mkdir(parents=True, exist_ok=True)
            lead = "\n" if _ends_open(self.out) else ""  # a label never joins another's line
            with open(self.out, "a") as f:
                f.write(lead + json.dumps(asdict(label)) + "\n")
                f.flush()
                os.fsync(f.fileno())
            self.done.add(item_id)
        return label
