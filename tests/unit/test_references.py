"""References as plug-ins (fusion.references): the built-ins and their config files, the oracle flag,
the gold-free search objective of a reference that is no oracle, the gold made unreachable, and a set
without passages failing the preflight in one line, exit 2, before any model loads."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from fusion.config.compose import compose_job, validate
from fusion.errors import FusionError
from fusion.evaluate.scoring import search_objective, token_overlap
from fusion.job.keys import job_key
from fusion.records import Prompt
from fusion.references import blinded, builtin_names, oracle_line, resolve
from tests.helpers import PROJECT_ROOT

PASSAGE = "First for Women is a woman's magazine published by Bauer Media Group in the USA, started in 1989."
QUESTION = Prompt(7, "Which magazine was started first?", "Arthur's Magazine", qid="halueval:7", passage=PASSAGE)


def test_builtins_each_have_a_config_file_and_the_paper_s_is_the_default():
    from fusion.paths import CONF_DIR

    assert builtin_names() == ["gold_explanation", "passage"]
    assert sorted(p.stem for p in (CONF_DIR / "reference").glob("*.yaml")) == builtin_names()
    assert validate(compose_job([])).reference.name == "gold_explanation"
    for name in builtin_names():
        job = validate(compose_job([f"reference={name}"]))
        assert resolve(job.reference.name, job.reference.plugin).spec.name == name


def test_the_paper_s_reference_is_an_oracle_and_the_passage_is_not():
    gold, passage = resolve("gold_explanation"), resolve("passage")
    assert gold.spec.oracle and gold.spec.explanation
    assert not passage.spec.oracle and not passage.spec.explanation
    assert gold.completion(QUESTION, "because") == "Arthur's Magazine\nbecause"
    assert passage.completion(QUESTION, "") == PASSAGE
    assert oracle_line(True, "gold_explanation") == "oracle: yes (the target is built from the gold)"
    assert oracle_line(False, "passage") == "oracle: no (reference=passage)"


def test_a_reference_that_is_no_oracle_never_hands_the_gold_on():
    (seen,) = blinded(resolve("passage"), [QUESTION])
    assert seen.gold == "" and seen.passage == PASSAGE and seen.question == QUESTION.question
    assert blinded(resolve("gold_explanation"), [QUESTION]) == [QUESTION]


def test_the_gold_free_objective_scores_the_answer_against_the_passage():
    """The search's value of an answer under reference=passage: its overlap with the passage, weighted
    as the paper's objective weights the gold overlap, plus the same perplexity and fluency terms. It
    does not move when the gold does, and an answer that uses the passage ranks above one that does not."""
    passage = resolve("passage")

    def value(prompt: Prompt, answer: str, ppl: float = 20.0) -> float:
        return search_objective("fluent", answer, token_overlap(passage.scored_against(prompt), answer), ppl)

    grounded, ungrounded = "First for Women was started in 1989 by Bauer Media Group.", "I do not know that."
    other_gold = dataclasses.replace(QUESTION, gold="zq7 xv random")
    assert value(QUESTION, grounded) == value(other_gold, grounded) == value(blinded(passage, [QUESTION])[0], grounded)
    assert value(QUESTION, grounded) > value(QUESTION, ungrounded)
    expected = 0.7 * token_overlap(PASSAGE, grounded) - 0.3 * min(20.0 / 100.0, 1.0)
    assert value(QUESTION, grounded) == pytest.approx(expected)
    # the oracle's objective is the paper's: the gold overlap
    assert resolve("gold_explanation").scored_against(QUESTION) == QUESTION.gold


def test_a_question_without_a_passage_is_named_in_one_line():
    problem = resolve("passage").check([QUESTION, Prompt(3, "q", "a", qid="mine:3")])
    assert problem is not None and "1 of 2 questions have no passage" in problem and "mine:3" in problem
    assert "\n" not in problem and "data=halueval" in problem
    with pytest.raises(FusionError, match="reference=nope is not one of gold_explanation, passage"):
        resolve("nope")


def test_the_default_reference_keeps_the_job_keys_of_runs_made_before_it_existed():
    config = {"steering": {"mode": "full"}, "seed": 0}
    assert job_key({**config, "reference": {"name": "gold_explanation", "plugin": None}}) == job_key(config)
    assert job_key({**config, "reference": {"name": "passage", "plugin": None}}) != job_key(config)


def test_reference_passage_on_a_set_without_passages_fails_before_the_model_loads(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"question": "What is the capital of France?", "answer": "Paris"}) + "\n")
    command = [sys.executable, "-m", "fusion.run", "data=jsonl", f"data.path={path}", "reference=passage"]
    command.append(f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}")
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "fusion: reference=passage: 1 of 1 questions have no passage (the first: jsonl:0): use data=halueval, "
        "map data.columns.passage to your file's passage column, or reference=gold_explanation"
    ]


def test_a_reference_of_your_own_is_found_by_its_import_path(tmp_path, monkeypatch):
    (tmp_path / "my_reference.py").write_text(
        "from fusion.references.spec import ReferenceSpec\n\n"
        "class Topic:\n"
        "    spec = ReferenceSpec('topic', 'the topic as the reference', oracle=False)\n"
        "    def check(self, prompts):\n        return None\n"
        "    def completion(self, prompt, explanation):\n        return prompt.topic\n"
        "    def scored_against(self, prompt):\n        return prompt.topic\n\n"
        "REFERENCE = Topic()\nCLASS = Topic\n"
    )
    monkeypatch.chdir(tmp_path)
    mine = resolve("gold_explanation", "my_reference:REFERENCE")
    assert mine.spec.name == "topic" and not mine.spec.oracle
    with pytest.raises(FusionError, match="is the class Topic: add `REFERENCE = Topic\\(\\)`"):
        resolve("gold_explanation", "my_reference:CLASS")
    with pytest.raises(FusionError, match="reference.plugin=nowhere:X: cannot import it"):
        resolve("gold_explanation", "nowhere:X")
