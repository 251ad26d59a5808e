"""A study's graded answers as plain records: read from MLflow, written beside a report, regraded.

Torch-free. A :class:`Replicate` is one job's result (one run, or the merged shards of one job):
the params and tags that say what it computed and how, and its ``prompts.json`` rows (question,
gold, the baseline, control and steered answers, strengths, grades, fluency). The replication
commits its replicates as ``answers.jsonl.gz`` beside ``REPORT.md``, so a reader can rebuild the
report, or grade every answer again with another judge (:func:`regrade`), without a model or the
MLflow store: ``python -m fusion.report --answers experiments/paper_replication/answers.jsonl.gz
--regrade judge=rules``.

File format: gzip'd JSON lines. A line with ``"kind": "replicate"`` holds one replicate's
``id``, ``params``, ``tags``, ``run_ids``, ``start_time``/``end_time`` (ms) and ``metrics``
(``wall_seconds``, ``failed_trials``); each following ``"kind": "answer"`` line is one of its rows,
with ``"replicate"`` naming it. Written with a fixed gzip timestamp: the same records give the
same bytes.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fusion.data import question_id
from fusion.errors import SetupError
from fusion.evaluate.answer_end import answer_stops, cut_answer
from fusion.evaluate.fluency import fluency
from fusion.evaluate.grading import GRADE_KEY
from fusion.evaluate.judges import Judge
from fusion.evaluate.scoring import composite, token_overlap
from fusion.methods import spec_of_run
from fusion.records import GradeRequest

# the answers of a row: its key prefix ("" for the steered answer)
ANSWER_PREFIXES = ("baseline_", "control_", "")


@dataclass(frozen=True)
class Replicate:
    """One job's result: what it ran (params, tags) and its prompt rows, in its set's row order."""

    id: str  # the first run's id
    params: dict[str, str]
    tags: dict[str, str]
    rows: list[dict[str, Any]]
    run_ids: list[str] = field(default_factory=list)  # one per shard
    start_time: int = 0  # ms since the epoch: the first shard's start
    end_time: int = 0  # ... the last shard's end
    metrics: dict[str, float] = field(default_factory=dict)  # wall_seconds and failed_trials of the run(s)

    @property
    def mode(self) -> str:
        return self.tags.get("fusion.mode", "")

    @property
    def threshold(self) -> float:
        return float(self.params.get("eval.accuracy_threshold", 0.6))

    @property
    def dataset(self) -> str:
        """The question set its prompts came from (``data.name``)."""
        return self.params.get("data.name", "")

    def qid(self, row: dict[str, Any]) -> str:
        """The question id of one of its rows; rows written before they carried one are read by
        :func:`fusion.data.question_id` (the id its set gives that row)."""
        return question_id(row, self.dataset)


def answer_stops_of(rep: Replicate) -> tuple[str, ...]:
    """Where a recorded run's answers end: the stop strings it applied (tag ``fusion.stop_strings``),
    or for a run from before they existed the default of its prompts (``prompts.chat_template``
    "False": a new question frame; a chat template, or no record of it: none)."""
    applied = rep.tags.get("fusion.stop_strings")
    if applied is not None:
        return tuple(json.loads(applied))
    chat = rep.params.get("prompts.chat_template")
    return () if chat is None else answer_stops(None, chat == "True")


def _overlap(rep: Replicate, row: dict[str, Any], prefix: str, answer: str) -> float:
    """The token overlap as the run scored it (fusion.job.answering): ``eval.overlap=echo`` puts
    the answer's prompt template (the baseline's, else the steering prompt's) before it."""
    if rep.params.get("eval.overlap", "continuation") == "echo":
        baseline = prefix == "baseline_" or (not prefix and spec_of_run(rep.tags).role == "baseline")
        template = rep.params["prompts.baseline" if baseline else "prompts.steer"]
        answer = template.format(question=row["question"], gold=row["gold"]) + " " + answer
    return token_overlap(row["gold"], answer)


def cut_answers(rep: Replicate) -> list[dict[str, Any]]:
    """The rows of ``rep`` with every answer cut where it ends (:func:`answer_stops_of`); a cut
    answer's token overlap is scored again on what is left. The rest of a row is as recorded: in a
    searched group the best trial was chosen on the uncut answers (docs/method.md, Departures)."""
    stops = answer_stops_of(rep)
    rows = []
    for row in rep.rows:
        new = dict(row)
        for prefix in ANSWER_PREFIXES:
            answer = row[f"{prefix}answer"]
            cut = cut_answer(answer, stops)
            if cut != answer:
                new[f"{prefix}answer"], new[f"{prefix}overlap"] = cut, _overlap(rep, row, prefix, cut)
        rows.append(new)
    return rows


def regrade(replicates: Sequence[Replicate], judge: Judge) -> list[Replicate]:
    """Every answer graded again by ``judge``: its grade, quality, composite (the token overlap
    stays: it needs no judge), the steered answer's judge, rubric and rationale, and its fluency.

    Each answer is first cut where the run's answers end (:func:`cut_answers`): runs of a model
    without a chat template from before stop strings existed kept the model's next question frame
    after the answer. Grade, composite (with the cut answer's overlap) and fluency are of the cut.
    """
    out = []
    for rep in replicates:
        stops = answer_stops_of(rep)
        cut = cut_answers(rep)
        requests = [GradeRequest(r["question"], r["gold"], r[f"{p}answer"]) for r in cut for p in ANSWER_PREFIXES]
        grades = iter(judge.grade(requests))
        rows = []
        for row in cut:
            new = dict(row)
            for prefix in ANSWER_PREFIXES:
                grade = next(grades)
                new[f"{prefix}{GRADE_KEY}"], new[f"{prefix}quality"] = grade.label, grade.quality
                new[f"{prefix}composite"] = composite(row[f"{prefix}overlap"], grade.quality)
                new[f"{prefix}fluency"] = fluency(row[f"{prefix}answer"]).metrics()
                if not prefix:
                    new.update(judge=grade.judge, rubric=grade.rubric, rationale=grade.rationale)
            rows.append(new)
        tags = {
            **rep.tags,
            "fusion.judge": judge.name,
            "fusion.regraded": "true",
            "fusion.stop_strings": json.dumps(stops),
        }
        out.append(replace(rep, rows=rows, tags=tags))
    return out


def write_answers(path: Path, replicates: Iterable[Replicate]) -> Path:
    """Write ``replicates`` to ``path`` (gzip'd JSON lines, byte-for-byte reproducible)."""
    buffer = io.StringIO()
    for rep in replicates:
        head = {
            "kind": "replicate",
            "id": rep.id,
            "params": rep.params,
            "tags": rep.tags,
            "run_ids": rep.run_ids,
            "start_time": rep.start_time,
            "end_time": rep.end_time,
            "metrics": rep.metrics,
        }
        buffer.write(json.dumps(head, sort_keys=True) + "\n")
        for row in rep.rows:
            buffer.write(json.dumps({"kind": "answer", "replicate": rep.id, **row}, sort_keys=True) + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(buffer.getvalue().encode("utf-8"))
    return path


def read_answers(path: Path) -> list[Replicate]:
    """The replicates of an answers file, in file order; one line naming the fix on a bad file."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SetupError(f"--answers {path}: not an answers file ({type(error).__name__}: {error})") from error
    heads = [line for line in lines if line.get("kind") == "replicate"]
    rows: dict[str, list[dict[str, Any]]] = {h["id"]: [] for h in heads}
    for line in lines:
        if line.get("kind") == "answer":
            if line.get("replicate") not in rows:
                raise SetupError(
                    f"--answers {path}: an answer names replicate {line.get('replicate')!r}, which has no line"
                )
            rows[line["replicate"]].append({k: v for k, v in line.items() if k not in ("kind", "replicate")})
    if not heads:
        raise SetupError(f"--answers {path}: no replicate in the file (write one with fusion report --replication)")
    return [
        Replicate(
            id=h["id"],
            params=h["params"],
            tags=h["tags"],
            rows=rows[h["id"]],
            run_ids=h.get("run_ids", []),
            start_time=h.get("start_time", 0),
            end_time=h.get("end_time", 0),
            metrics=h.get("metrics", {}),
        )
        for h in heads
    ]
