"""Answers are keyed by (question set, question id), never by a SimpleQA row index.

The migration (:func:`fusion.data.question_id`) reads records from before rows carried a ``qid``;
the report pairs answers of a non-SimpleQA set by qid; SimpleQA is named only where it must be.
"""

from __future__ import annotations

import re
from dataclasses import replace

from fusion.data import question_id
from fusion.report.groups import summarise
from fusion.report.pairs import paired
from fusion.tracking.answers import Replicate, read_answers
from tests.helpers import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "tests" / "data" / "answers_sample.jsonl.gz"

# the files of fusion/ that may name SimpleQA: its own set module, the paper260 set that draws from
# its rows, the paper-parity code and the configs (the grade's names committed results carry)
ALLOWED = {
    "fusion/data/simpleqa.py",
    "fusion/data/paper260.py",
    "fusion/bench/parity.py",
    "fusion/report/replication.py",
    "fusion/conf/data/simpleqa.yaml",
    "fusion/conf/data/paper260.yaml",
    "fusion/conf/grade.yaml",
}


def test_simpleqa_is_named_only_in_its_module_the_parity_code_and_configs():
    """``grep -rli simpleqa fusion/`` lists only the allowed files."""
    naming = {
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in (PROJECT_ROOT / "fusion").rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and re.search(b"simpleqa", path.read_bytes(), re.IGNORECASE)
    }
    assert naming <= ALLOWED, sorted(naming - ALLOWED)
    assert {"fusion/data/simpleqa.py", "fusion/conf/grade.yaml"} <= naming  # the check reads the files


def test_a_record_without_a_qid_is_read_as_the_id_its_set_gives_that_row():
    assert question_id({"index": 17}, "simpleqa") == "simpleqa:17"
    # paper260's rows are SimpleQA's: its old records read as SimpleQA's ids
    assert question_id({"index": 17}, "paper260") == "simpleqa:17"
    assert question_id({"index": 17}, "halueval") == "halueval:17"
    assert question_id({"index": 17, "qid": ""}, "jsonl") == "jsonl:17"
    assert question_id({"index": 17}, "not-installed-here") == "not-installed-here:17"
    # a record that carries one keeps it, whatever its index
    assert question_id({"index": 17, "qid": "q-42"}, "jsonl") == "q-42"


def test_a_replicate_reads_its_rows_ids_with_its_data_set():
    old = Replicate("r", {"data.name": "paper260"}, {}, [{"index": 3}])
    new = Replicate("r", {"data.name": "halueval"}, {}, [{"index": 3, "qid": "halueval:3"}])
    assert (old.dataset, old.qid(old.rows[0])) == ("paper260", "simpleqa:3")
    assert (new.dataset, new.qid(new.rows[0])) == ("halueval", "halueval:3")


def _as_set(rep: Replicate, name: str, ids: list[str], index_shift: int) -> Replicate:
    """``rep`` as a run on the set ``name``: its rows carry ``ids`` and their row index moved by ``index_shift``."""
    rows = [{**row, "qid": qid, "index": row["index"] + index_shift} for row, qid in zip(rep.rows, ids)]
    return replace(rep, params={**rep.params, "data.name": name}, rows=rows)


def test_groups_of_another_set_pair_by_question_id_not_by_row_index():
    baseline, fluent, paper = read_answers(SAMPLE)
    ids = [f"item-{n}" for n in range(len(baseline.rows))]
    # the same questions under different row indices (a user file reordered between runs): they pair
    reps = [_as_set(baseline, "jsonl", ids, 0), _as_set(fluent, "jsonl", ids, 1000), _as_set(paper, "jsonl", ids, 0)]
    summary = summarise(reps)
    assert list(summary["baseline"].observations)[:2] == [("jsonl", "item-0"), ("jsonl", "item-1")]
    pairs = {(c.a, c.b): c.n_prompts for c in paired(summary, resamples=200)}
    assert pairs[("full[fluent]", "baseline")] == len(ids)
    # the same row indices but other questions: nothing to pair
    others = [_as_set(baseline, "jsonl", ids, 0), _as_set(fluent, "jsonl", [f"other-{i}" for i in ids], 0)]
    assert paired(summarise(others), resamples=200) == []
    # the same ids in two different sets name different questions
    mixed = [_as_set(baseline, "jsonl", ids, 0), _as_set(fluent, "halueval", ids, 0)]
    assert paired(summarise(mixed), resamples=200) == []
