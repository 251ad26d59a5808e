"""Which answers two answers files of one study give differently (fusion report --changed-from)."""

from __future__ import annotations

from dataclasses import replace

from fusion.commands.report import main as report
from fusion.report.changes import changes
from fusion.tracking.answers import read_answers, write_answers
from tests.helpers import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "tests" / "data" / "answers_sample.jsonl.gz"


def test_the_same_study_run_again_with_one_answer_changed_lists_that_answer_and_nothing_else(tmp_path, capsys):
    old = read_answers(SAMPLE)
    assert changes(old, old).changed == [] and changes(old, old).compared > 0
    # the same study from other runs, rows in another order, one steered answer different
    rows = [dict(r) for r in old[1].rows][::-1]
    rows[0]["answer"] = "something else | entirely"
    new = [replace(old[0], id="x0", run_ids=["x0"]), replace(old[1], id="x1", run_ids=["x1"], rows=rows), *old[2:]]
    found = changes(old, new)
    assert [(at[1], at[4], b) for at, _, b in found.changed] == [
        (_label(old, 1), "answer", "something else | entirely")
    ]
    assert (found.only_old, found.only_new) == (0, 0) and found.compared == changes(old, old).compared
    write_answers(tmp_path / "new.jsonl.gz", new)
    args = ["--answers", str(tmp_path / "new.jsonl.gz"), "--changed-from", str(SAMPLE), "--out", str(tmp_path)]
    assert report(args) == 0
    out = capsys.readouterr().out
    assert f"1 of {found.compared} answers differ (0 only in the old file, 0 only in the new)." in out
    assert "| something else \\| entirely |" in out


def _label(reps, k: int) -> str:
    from fusion.report.groups import summarise

    return next(g.local for g in summarise(reps).values() for r in g.replicates if reps[k].id in r.runs)
