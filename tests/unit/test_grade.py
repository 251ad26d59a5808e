"""``fusion grade``: answers made elsewhere, graded with the rules judge, and bad input in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fusion.commands.grade import main
from fusion.evaluate.fluency import fluency
from fusion.evaluate.judges.precision import SEARCHED
from fusion.evaluate.judges.rules import RUBRIC, RulesJudge
from fusion.evaluate.strict import grade_strict
from fusion.records import Grade, GradeRequest
from tests.helpers import PROJECT_ROOT

QUESTION = "Who received the IEEE Frank Rosenblatt Award in 2010?"
GOLD = "Michio Sugeno"
RIGHT = "The award went to Michio Sugeno."
WRONG = "It was Geoffrey Hinton."
BABBLE = "Michio Sugeno " * 8  # every gold word, looping: degenerate
GRADED = {"simpleqa", "quality", "rationale", "judge", "rubric", "degenerate", "fluency", "strict"}


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def answers_file(tmp_path: Path) -> Path:
    rows = [
        {"id": "right", "question": QUESTION, "gold": GOLD, "answer": RIGHT, "model": "mine"},
        {"id": 2, "question": QUESTION, "gold": GOLD, "answer": WRONG},
        {"question": QUESTION, "gold": GOLD, "answer": BABBLE},
    ]
    return write_lines(tmp_path / "answers.jsonl", *(json.dumps(r) for r in rows))


def fusion_command() -> list[str]:
    """The installed console script beside this Python (``make setup``), else its module."""
    script = Path(sys.executable).parent / "fusion"
    return [str(script), "grade"] if script.exists() else [sys.executable, "-m", "fusion", "grade"]


def test_the_console_command_grades_a_file_with_the_rules_judge(tmp_path):
    source = answers_file(tmp_path)
    out = tmp_path / "graded.jsonl"
    result = subprocess.run(
        [*fusion_command(), str(source), "--out", str(out), "judge=rules"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"fusion grade: 3 answers, 1 strict (CORRECT and fluent), 1 CORRECT; judge rules, rubric {RUBRIC} -> {out}"
    ]
    inputs = [json.loads(line) for line in source.read_text().splitlines()]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [{k: v for k, v in r.items() if k not in GRADED} for r in rows] == inputs  # carried through, in order
    right, wrong, babble = rows
    assert all(GRADED <= set(r) and r["judge"] == "rules" and r["rubric"] == RUBRIC for r in rows)
    assert (right["simpleqa"], right["quality"], right["degenerate"], right["strict"]) == ("CORRECT", 5, False, True)
    assert (wrong["simpleqa"], wrong["degenerate"], wrong["strict"]) == ("INCORRECT", False, False)
    assert (babble["simpleqa"], babble["degenerate"], babble["strict"]) == ("INCORRECT", True, False)
    assert babble["fluency"] == fluency(BABBLE).metrics() and babble["fluency"]["degenerate"] == 1.0
    assert all(r["strict"] == (r["simpleqa"] == "CORRECT" and not r["degenerate"]) for r in rows)
    assert all(isinstance(r["rationale"], str) and r["rationale"] for r in rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.jsonl", "graded.jsonl"]  # no temporary file left


def test_without_out_the_lines_go_to_stdout(tmp_path, capsys):
    assert main([str(answers_file(tmp_path))]) == 0
    captured = capsys.readouterr()
    assert [json.loads(line)["strict"] for line in captured.out.splitlines()] == [True, False, False]
    assert captured.err.startswith("fusion grade: 3 answers, 1 strict") and "->" not in captured.err


class AlwaysCorrect:
    """A judge that calls every answer CORRECT, as a lenient LLM judge may call babble."""

    name = "always"

    def grade(self, requests):
        return [Grade("CORRECT", 5, self.name, "none") for _ in requests]


def test_strict_needs_a_fluent_answer_even_when_the_judge_says_correct():
    right, babble = grade_strict(AlwaysCorrect(), [GradeRequest(QUESTION, GOLD, a) for a in (RIGHT, BABBLE)])
    assert (right.grade.label, right.strict) == ("CORRECT", True)
    assert (babble.grade.label, babble.fluency.degenerate, babble.strict) == ("CORRECT", True, False)
    assert babble.fields()["strict"] is False and babble.fields()["degenerate"] is True


GOOD = json.dumps({"question": QUESTION, "gold": GOLD, "answer": RIGHT})


@pytest.mark.parametrize(
    "lines, overrides, message",
    [
        ([GOOD, "", "not json"], [], "answers.jsonl line 3: not JSON (Expecting value at column 1): write one JSON"),
        ([GOOD, '{"question": "q", "gold": "g"}'], [], "answers.jsonl line 2: no 'answer' key: write one JSON"),
        (['{"question": "q", "gold": 2010, "answer": "a"}'], [], "line 1: 'gold' is 2010, not a string: quote it"),
        (['["q", "g", "a"]'], [], "answers.jsonl line 1: a JSON list, not an object"),
        ([GOOD, '{"id": [1], "question": "q", "gold": "g", "answer": "a"}'], [], "line 2: 'id' is [1]: make it"),
        ([], [], "answers.jsonl: no answers (the file is empty): write one JSON object per line"),
        ([GOOD], ["judge.modle=x"], "config error: judge.modle: no such key"),
        ([GOOD], ["judge=nope"], "config error: judge: no option 'nope': use one of hf, openai, plugin, rules"),
        ([GOOD], ["steering=full"], "config error: 'steering=full' is no judge override: give judge=NAME"),
        ([GOOD], ["--bogus"], "grade: unrecognized arguments: --bogus (fusion grade --help)"),
    ],
)
def test_bad_input_fails_in_one_line_and_writes_nothing(tmp_path, capsys, lines, overrides, message):
    source = write_lines(tmp_path / "answers.jsonl", *lines)
    out = tmp_path / "graded.jsonl"
    with pytest.raises(SystemExit) as stopped:
        main([str(source), "--out", str(out), *overrides])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fusion: ") and message in err[0], captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.jsonl"]  # no output, no temporary file


def test_a_bad_command_line_fails_in_one_line_from_the_console_command(tmp_path):
    source = write_lines(tmp_path / "answers.jsonl", GOOD, "{oops")
    out = tmp_path / "graded.jsonl"
    result = subprocess.run(
        [*fusion_command(), str(source), "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"fusion: {source} line 2: not JSON (Expecting property name enclosed in double quotes at column 2): "
        "write one JSON object per line with question, gold and answer (strings)"
    ]
    assert not out.exists()
    helped = subprocess.run([*fusion_command(), "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: fusion grade ")


def test_an_answer_is_graded_up_to_the_next_question_frame():
    framed = RIGHT + "\nQuestion: Who received it in 2011?\nAnswer: The answer is Geoffrey Hinton."  # the model went on
    [whole] = RulesJudge().grade([GradeRequest(QUESTION, GOLD, framed)])
    assert whole.label == "INCORRECT"  # read whole, the made-up frame's answer would count
    [verdict] = grade_strict(RulesJudge(), [GradeRequest(QUESTION, GOLD, framed)])
    assert (verdict.grade.label, verdict.strict) == ("CORRECT", True)


def test_searched_answers_are_counted_for_reading_with_the_judges_measured_precision(tmp_path, capsys):
    rows = [
        {"question": QUESTION, "gold": GOLD, "answer": RIGHT, "searched": True},
        {"question": QUESTION, "gold": GOLD, "answer": WRONG, "searched": True},
        {"question": QUESTION, "gold": GOLD, "answer": RIGHT},
    ]
    source = write_lines(tmp_path / "answers.jsonl", *(json.dumps(r) for r in rows))
    measured = SEARCHED[RUBRIC]
    trust = (
        f"the {RUBRIC} judge's precision on search-selected answers is {measured.precision:.2f} "
        f"({measured.confirmed} of {measured.positives} strict answers confirmed by hand; {measured.source}, "
        f"{measured.date}) (docs/judges.md)"
    )
    assert main([str(source)]) == 0
    assert capsys.readouterr().err.strip() == (
        f"fusion grade: 3 answers, 2 strict (CORRECT and fluent), 2 CORRECT; judge rules, rubric {RUBRIC}; "
        f"2 came from a search: read the 1 strict of them by hand, since {trust}"
    )
    assert main([str(source), "--searched"]) == 0  # every answer: the flag
    assert "; 3 came from a search: read the 2 strict of them by hand" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(write_lines(tmp_path / "bad.jsonl", json.dumps({**rows[0], "searched": "yes"})))])
    assert "'searched' is \"yes\": make it true or false" in capsys.readouterr().err


def test_the_stored_precision_is_what_the_committed_hand_labels_measure():
    """The value fusion grade prints, recomputed: the rules judge on the held-out half of the
    stratified sample's search-selected answers (fusion.evaluate.hand_labels; the adjudication
    items, all judge positives, left out as the report does)."""
    from fusion.evaluate.hand_labels import agree, load
    from fusion.report.adjudication import ADJUDICATION

    items = [
        i
        for i in load(PROJECT_ROOT / "experiments" / "hand_labels")
        if "searched" in i.kinds and i.stratum != ADJUDICATION and i.split == "heldout"
    ]
    graded = grade_strict(RulesJudge(), [GradeRequest(i.question, i.gold, i.answer) for i in items])
    measured = agree(items, {i.id: g.strict for i, g in zip(items, graded)})
    stored = SEARCHED[RUBRIC]
    found = (measured.both_true, measured.judged_true, measured.n)
    assert (stored.confirmed, stored.positives, stored.labelled) == found, (
        f"the labels or the judge changed: store confirmed, positives, labelled = {found} in "
        "fusion/evaluate/judges/precision.py with today's date"
    )
    assert stored.precision == measured.precision
