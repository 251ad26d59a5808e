"""Hand labels and adjudication: positives exported blind, labelled, and read back into the report.

Uses the committed answers sample (tests/data/answers_sample.jsonl.gz, real recorded answers) with
two steered answers replaced by a plain statement of the gold, so the rules judge has positives.
"""

from __future__ import annotations

import json
from dataclasses import replace

from fusion.evaluate.hand_labels import LabelledItem, agree, load, split_of, strict_of
from fusion.evaluate.judges.rules import RulesJudge
from fusion.evaluate.metrics import GradeMetrics
from fusion.report.adjudication import (
    HAND,
    adjudicate,
    adjudicated_grade,
    adjudicated_strict,
    already_read,
    attach,
    export,
    label_index,
    pending,
    verdict_index,
)
from fusion.report.groups import replicate_grade_metrics, replicate_metrics
from fusion.report.hand import judged_items
from fusion.tracking.answers import Replicate, read_answers, regrade
from tests.helpers import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "tests" / "data" / "answers_sample.jsonl.gz"
LABELS = PROJECT_ROOT / "experiments" / "hand_labels"


def _with_two_positives():
    reps = read_answers(SAMPLE)
    full = reps[1]
    rows = [dict(r) for r in full.rows]
    for row in rows[:2]:
        row["answer"] = f"The answer is {row['gold']}."
    reps[1] = replace(full, rows=rows)
    return regrade(reps, RulesJudge())


def _empty_label_folder(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    for name in ("items.jsonl", "key.jsonl", "labels.jsonl"):
        (tmp_path / name).write_text("")
    return tmp_path


def test_positives_are_exported_blind_labelled_and_used_by_the_report(tmp_path):
    reps = _with_two_positives()
    folder = _empty_label_folder(tmp_path)
    todo = pending(reps, {})
    assert len(todo) == 2 and all(e["sources"][0]["replicate"] == reps[1].id for e in todo)
    batch = export(todo, folder)
    blind = [json.loads(line) for line in batch.read_text().splitlines()]
    # the labeller sees the question, the gold and the answer only: no group, seed or grade
    assert all(set(item) == {"id", "question", "gold", "answer"} for item in blind)
    keys = [json.loads(line) for line in (folder / "key.jsonl").read_text().splitlines()]
    assert [k["split"] for k in keys] == [split_of(b["question"]) for b in blind]
    # each place names its question by id (these paper260 rows, written without one: SimpleQA's)
    assert all(s["qid"] == f"simpleqa:{s['index']}" == k["qid"] for k in keys for s in k["sources"])
    # a person confirms one and rejects the other
    verdicts = {blind[0]["id"]: "CORRECT", blind[1]["id"]: "INCORRECT"}
    with open(folder / "labels.jsonl", "w") as out:
        for item_id, verdict in verdicts.items():
            out.write(
                json.dumps(
                    {
                        "id": item_id,
                        "labeller": "t",
                        "rubric": "labels-v1",
                        "verdict": verdict,
                        "language": "FLUENT",
                        "note": "",
                    }
                )
                + "\n"
            )
    items = load(folder)
    index = label_index(items, reps)
    assert pending(reps, index) == []  # every positive has a label now
    adjudicated, counts = adjudicate(reps, index)
    assert (counts[reps[1].id].positives, counts[reps[1].id].confirmed, counts[reps[1].id].rejected) == (2, 1, 1)
    assert counts[reps[1].id].precision == 0.5
    rows = adjudicated[1].rows
    assert sum(adjudicated_strict(r) for r in rows) == 1 and sum(HAND in r for r in rows) == 2
    metrics = replicate_metrics(adjudicated[1])
    assert metrics["judge_correct_fluent"] == 2 / 8 and metrics["correct_fluent"] == 1 / 8
    # SimpleQA's metrics take the person's verdict: the rejected positive becomes INCORRECT
    judge = GradeMetrics.of([r["simpleqa"] for r in rows])
    simpleqa = replicate_grade_metrics(adjudicated[1], verdict_index(items, reps))
    assert simpleqa.correct == judge.correct - 1 / 8 and simpleqa.incorrect == judge.incorrect + 1 / 8
    assert simpleqa.not_attempted == judge.not_attempted
    # the judge against the labels on these two items: precision 1/2, recall 1
    judged = judged_items(items, adjudicated)
    result = agree(items, judged)
    assert (result.n, result.judged_true, result.both_true, result.precision, result.recall) == (2, 2, 1, 0.5, 1.0)
    # the same texts in another study (a new replicate id): the labels hold there, nothing is exported
    again = [replace(rep, id=rep.id + "-again") for rep in reps]
    todo, found = already_read(pending(again, index), items)
    assert todo == [] and sorted(found) == sorted(verdicts)
    attach(found, folder)
    index = label_index(load(folder), again)
    assert pending(again, index) == []
    assert adjudicate(again, index)[1][again[1].id].confirmed == 1
    # ... but they were not sampled from that study, so its agreement tables leave them out
    assert judged_items(load(folder), again) == {}


def test_two_labellers_who_disagree_make_an_item_borderline(tmp_path):
    folder = _empty_label_folder(tmp_path)
    (folder / "items.jsonl").write_text(
        json.dumps({"id": "h0000", "question": "Q?", "gold": "g", "answer": "g"}) + "\n"
    )
    (folder / "key.jsonl").write_text(
        json.dumps(
            {
                "id": "h0000",
                "model": "m",
                "index": 3,
                "split": "heldout",
                "stratum": "s",
                "sources": [{"group": "full", "replicate": "r", "field": "answer", "searched": True}],
            }
        )
        + "\n"
    )
    labels = [("CORRECT", "FLUENT"), ("CORRECT", "BABBLE")]
    (folder / "labels.jsonl").write_text(
        "".join(
            json.dumps(
                {"id": "h0000", "labeller": f"L{i}", "rubric": "labels-v1", "verdict": v, "language": la, "note": ""}
            )
            + "\n"
            for i, (v, la) in enumerate(labels)
        )
    )
    (item,) = load(folder)
    assert item.strict == "borderline" and item.labellers == 2 and item.kinds == ("searched",)
    # a label made before sources carried a question id: read as the id the replicate's set gives row 3
    runs = [Replicate("r", {"data.name": "paper260"}, {}, [])]
    assert label_index([item], runs) == {("r", "simpleqa:3", "answer"): "borderline"}
    # both read it as correct: its SimpleQA verdict stands, whatever they said of its language
    assert item.verdict == "CORRECT" and verdict_index([item], runs) == {("r", "simpleqa:3", "answer"): "CORRECT"}
    both = [item, replace(item, verdict="INCORRECT")]
    assert verdict_index(both, runs) == {("r", "simpleqa:3", "answer"): "BORDERLINE"}
    assert label_index([item], []) == {}  # a replicate not read: its labels key nothing
    assert strict_of("CORRECT", "FLUENT") == "true" and strict_of("BORDERLINE", "BABBLE") == "false"


def test_the_committed_hand_labels_are_complete_and_blind():
    items = load(LABELS)
    assert len(items) >= 400
    assert all(isinstance(i, LabelledItem) and i.rubric.startswith("labels-v1") for i in items)
    # the split is a function of the question alone, fixed before any tuning
    assert all(i.split == split_of(i.question) for i in items)
    blind = [json.loads(line) for line in (LABELS / "items.jsonl").read_text().splitlines()]
    assert all(set(item) == {"id", "question", "gold", "answer"} for item in blind)
    # every kind of answer and both models are in the sample
    kinds = {k for i in items for k in i.kinds}
    assert kinds == {"searched", "fixed", "in_context", "unsteered"}
    assert {i.model for i in items} == {"smollm2_135m", "gemma3_270m"}
    # SimpleQA rows 500-999 and HaluEval rows 5000-9999 are held out for the project's own checks:
    # never labelled (items written before keys named their set are SimpleQA's rows)
    held_out = {"simpleqa": range(500, 1000), "halueval": range(5000, 10000)}
    keys = [json.loads(line) for line in (LABELS / "key.jsonl").read_text().splitlines() if line.strip()]
    sets = {str(k.get("qid") or "simpleqa:").split(":")[0] for k in keys}
    assert sets == {"simpleqa", "halueval"}
    assert not any(k["index"] in held_out[str(k.get("qid") or "simpleqa:").split(":")[0]] for k in keys)


def test_the_adjudicate_command_exports_a_batch_and_names_the_command_that_labels_it(tmp_path, capsys):
    from fusion.commands.adjudicate import main
    from fusion.tracking.answers import write_answers

    answers = write_answers(tmp_path / "answers.jsonl.gz", _with_two_positives())
    folder = _empty_label_folder(tmp_path / "labels")
    assert main(["--answers", str(answers), "--labels", str(folder), "--dry-run"]) == 0
    assert capsys.readouterr().out == "2 strict positives carry no hand label\n"
    assert (folder / "items.jsonl").read_text() == ""  # a dry run writes nothing
    assert main(["--answers", str(answers), "--labels", str(folder)]) == 0
    batch = folder / "pending-0000.jsonl"
    assert capsys.readouterr().out.splitlines() == [
        f"2 answers to label (blind: question, gold, answer): {batch}",
        f"label them with: fusion label {batch} --labeller NAME",
    ]
    assert len(batch.read_text().splitlines()) == 2


def test_a_read_positive_takes_the_persons_simpleqa_verdict():
    """Only an answer the judge calls strictly correct is adjudicated, as for the strict metric; its
    grade becomes the label's verdict, a borderline one counts as an attempt nobody confirmed."""
    positive = {"simpleqa": "CORRECT", "answer": "Paris is the capital of France.", HAND: "false"}
    assert adjudicated_grade(positive, "", "NOT_ATTEMPTED") == "NOT_ATTEMPTED"
    assert adjudicated_grade(positive, "", "INCORRECT") == adjudicated_grade(positive, "", "BORDERLINE") == "INCORRECT"
    assert adjudicated_grade(positive, "", "CORRECT") == "CORRECT"  # babble by the label: correct all the same
    # an answers file that carries only the strict label: true stays correct, anything else is incorrect
    assert adjudicated_grade(positive) == "INCORRECT" and adjudicated_grade({**positive, HAND: "true"}) == "CORRECT"
    assert adjudicated_grade({k: v for k, v in positive.items() if k != HAND}, "", "INCORRECT") == "CORRECT"
    # a label adds no positive the judge missed
    negative = {"simpleqa": "NOT_ATTEMPTED", "answer": "I do not know."}
    assert adjudicated_grade({**negative, HAND: "true"}, "", "CORRECT") == "NOT_ATTEMPTED"


def test_exported_positives_number_on_after_the_adjudication_items_whatever_other_draws_hold(tmp_path):
    """A folder that also holds a draw's items (g0000, s0000: their own prefixes) numbers the next
    adjudication items after the last h item; the export failed on 'g0000' and had already joined
    known texts into key.jsonl by then."""
    folder = _empty_label_folder(tmp_path)
    drawn = [{"id": i, "question": "Q?", "gold": "g", "answer": "a"} for i in ("h0003", "g0000", "s0012")]
    (folder / "items.jsonl").write_text("".join(json.dumps(d) + "\n" for d in drawn))
    batch = export(pending(_with_two_positives(), {}), folder)
    assert batch.name == "pending-0004.jsonl"
    assert [json.loads(line)["id"] for line in batch.read_text().splitlines()] == ["h0004", "h0005"]
