"""A study's answers file: written, read back, regraded, and a report rebuilt from it without a model.

``tests/data/answers_sample.jsonl.gz`` holds the first 8 questions of three groups of the committed
replication (baseline, full with the fluent and with the paper's objective), as
``fusion.report --replication`` wrote them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from fusion.evaluate.fluency import fluency
from fusion.evaluate.judges.rules import RUBRIC, RulesJudge, grade_answer
from fusion.evaluate.scoring import composite, correct_fluent, token_overlap
from fusion.tracking.answers import ANSWER_PREFIXES, read_answers, regrade, write_answers
from tests.helpers import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "tests" / "data" / "answers_sample.jsonl.gz"


def test_the_sample_round_trips_byte_for_byte(tmp_path):
    reps = read_answers(SAMPLE)
    assert [(r.mode, r.params["search.objective"], len(r.rows)) for r in reps] == [
        ("baseline", "fluent", 8),
        ("full", "fluent", 8),
        ("full", "paper", 8),
    ]
    again = write_answers(tmp_path / "again.jsonl.gz", reps)
    assert again.read_bytes() == SAMPLE.read_bytes()  # fixed gzip timestamp, sorted keys


def test_regrade_grades_every_answer_again_and_keeps_the_overlap():
    reps = read_answers(SAMPLE)
    # pretend an earlier judge called every answer CORRECT with quality 5
    stale = [
        replace(rep, rows=[{**row, **{f"{p}simpleqa": "CORRECT" for p in ANSWER_PREFIXES}} for row in rep.rows])
        for rep in reps
    ]
    for old, new in zip(reps, regrade(stale, RulesJudge())):
        assert new.tags["fusion.judge"] == "rules" and new.tags["fusion.regraded"] == "true"
        for before, row in zip(old.rows, new.rows):
            for prefix in ANSWER_PREFIXES:
                label, quality, _ = grade_answer(row["gold"], row[f"{prefix}answer"], row["question"])
                assert (row[f"{prefix}simpleqa"], row[f"{prefix}quality"]) == (label, quality)
                assert row[f"{prefix}overlap"] == before[f"{prefix}overlap"]  # needs no judge
                assert row[f"{prefix}composite"] == composite(before[f"{prefix}overlap"], quality)
                assert row[f"{prefix}fluency"] == fluency(row[f"{prefix}answer"]).metrics()
            assert row["rubric"] == RUBRIC


def test_a_report_is_rebuilt_and_regraded_from_the_answers_file_alone(tmp_path):
    out = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, "-m", "fusion.report", "--answers", str(SAMPLE), "--regrade", "judge=rules"]
        + ["--replication", "--json", "--resamples", "200", "--out", str(out)],
        cwd=tmp_path,  # no project store: nothing but the file is read
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    numbers = json.loads(result.stdout)
    assert list(numbers) == ["baseline", "full[fluent]", "full[paper]", "paired"]
    regraded = {(r.mode, r.params["search.objective"]): r for r in regrade(read_answers(SAMPLE), RulesJudge())}
    for label, key in (("full[fluent]", ("full", "fluent")), ("full[paper]", ("full", "paper"))):
        rows = regraded[key].rows
        strict = sum(correct_fluent(r["simpleqa"], r["answer"]) for r in rows) / len(rows)
        assert numbers[label]["correct_fluent"] == pytest.approx(strict)
        assert numbers[label]["accuracy"] == pytest.approx(sum(r["composite"] >= 0.6 for r in rows) / len(rows))
    pairs = {(p["a"], p["b"]) for p in numbers["paired"]}
    assert ("full[fluent]", "full[paper]") in pairs and ("full[fluent]", "baseline") in pairs
    text = (out / "REPORT.md").read_text()
    assert "regraded from the recorded answers" in text and "**Does the fluent objective beat the paper's?**" in text
    assert read_answers(out / "answers.jsonl.gz")[1].rows == regraded[("full", "fluent")].rows
    assert not (tmp_path / "mlruns").exists()


def test_a_bad_answers_file_fails_in_one_line(tmp_path, capsys):
    from fusion.commands.report import main

    bad = tmp_path / "bad.jsonl.gz"
    bad.write_text("not gzip")
    with pytest.raises(SystemExit) as exit_info:
        main(["--answers", str(bad), "--out", str(tmp_path / "r")])
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2 and stderr.startswith("fusion: --answers ")
    assert len(stderr.strip().splitlines()) == 1


def test_answers_files_are_joined_per_model_and_seed(tmp_path, capsys):
    """A second model's runs and another search seed, in a second file: each model's groups are
    labelled with it and compared only with each other; the seeds of one group are one group with
    a spread."""
    from fusion.commands.report import main

    reps = read_answers(SAMPLE)
    later = {"fusion.sweep_id": "multirun/controls"}  # a later sweep: its wall time adds to the first's
    seed1 = replace(reps[1], id="seed1", params={**reps[1].params, "search.seed": "1"}, tags={**reps[1].tags, **later})
    other = [replace(r, id=f"gemma-{r.id}", params={**r.params, "model.name": "gemma3_270m"}) for r in reps[:2]]
    extra = write_answers(tmp_path / "extra.jsonl.gz", [seed1, *other])
    out = tmp_path / "report"
    argv = ["--answers", str(SAMPLE), str(extra), "--replication", "--json", "--resamples", "200", "--out", str(out)]
    assert main(argv) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert [k for k in numbers if k != "paired"] == [
        "gemma3_270m/baseline",
        "gemma3_270m/full",  # one objective in its runs: not named (it is, where a model's runs mix them)
        "smollm2_135m/baseline",
        "smollm2_135m/full[fluent]",
        "smollm2_135m/full[paper]",
    ]
    assert [r["seed"] for r in numbers["smollm2_135m/full[fluent]"]["replicates"]] == [0, 1]
    for pair in numbers["paired"]:  # never one model's group against the other's
        assert pair["a"].split("/")[0] == pair["b"].split("/")[0], pair
    assert ("gemma3_270m/full", "gemma3_270m/baseline") in {(p["a"], p["b"]) for p in numbers["paired"]}
    text = (out / "REPORT.md").read_text()
    assert "- smollm2_135m/full[fluent], 2 search seeds: correct & fluent" in text
    assert "gemma3_270m (" in text and "smollm2_135m (" in text  # both models named with their files
    assert "(the sum over its 2 sweeps)" in text
    # one verdict per model on the strict gain, for the objective both models ran
    held = text.split("## Does it hold on another model?")[1].split("## ")[0]
    # (the sample's full answers are no better than its baseline, and Gemma's are copies of them)
    assert "- gemma3_270m: a strict gain in 0 of 1 comparisons" in held
    assert "- smollm2_135m: a strict gain in 0 of 1 comparisons" in held
    assert "(fluent objective) held on none of gemma3_270m, smollm2_135m." in held
    with pytest.raises(SystemExit) as exit_info:  # the same replicates twice would count twice
        main(["--answers", str(SAMPLE), str(SAMPLE), "--out", str(tmp_path / "twice")])
    assert exit_info.value.code == 2
    # a rerun of the same job (another run id, the same seed and prompts) is not a second seed
    rerun = write_answers(tmp_path / "rerun.jsonl.gz", [replace(reps[1], id="rerun", run_ids=["rerun"])])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["--answers", str(SAMPLE), str(rerun), "--out", str(tmp_path / "rerun")])
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2 and "two replicates with search seed 0 answered the same prompts" in stderr
    assert stderr.count("\n") == 1


def test_a_group_that_ran_one_shard_only_is_named_in_the_report_header():
    from fusion.report.groups import summarise
    from fusion.report.replication import partial_shards

    reps = read_answers(SAMPLE)
    half = replace(reps[1], params={**reps[1].params, "data.num_shards": "2", "data.shard": "1"}, run_ids=[reps[1].id])
    merged = replace(reps[2], params={**reps[2].params, "data.num_shards": "2"}, run_ids=[reps[2].id, "r1"])
    joined = [reps[0], half, merged]
    assert partial_shards(summarise(joined), joined) == ["full[fluent] ran data.shard=1 of 2"]


def test_regrading_a_model_without_chat_template_grades_the_answer_up_to_its_next_question_frame():
    """Runs of a base model from before stop strings kept the frames it wrote after its answer:
    regrading cuts them (params prompts.chat_template "False"), then grades, scores and measures
    fluency on the cut. Inside a chat template nothing is cut, and a run's own record of the stops
    it applied (tag fusion.stop_strings) wins over the default."""
    (rep,) = read_answers(SAMPLE)[1:2]
    frame = "\nQuestion: Who won the award in 2001?\nAnswer: {gold}. {gold}. {gold}."
    framed = [
        {**row, **{f"{p}answer": row[f"{p}answer"] + frame.format(gold=row["gold"]) for p in ANSWER_PREFIXES}}
        for row in rep.rows
    ]
    base = replace(rep, params={**rep.params, "prompts.chat_template": "False"}, rows=framed)
    (new,) = regrade([base], RulesJudge())
    assert new.tags["fusion.stop_strings"] == json.dumps(["\nQuestion:", "\nQ:"])
    for before, row in zip(rep.rows, new.rows):
        for prefix in ANSWER_PREFIXES:
            answer = before[f"{prefix}answer"]
            assert row[f"{prefix}answer"] == answer
            label, quality, _ = grade_answer(row["gold"], answer, row["question"])
            assert (row[f"{prefix}simpleqa"], row[f"{prefix}quality"]) == (label, quality)
            assert row[f"{prefix}overlap"] == token_overlap(row["gold"], answer) == before[f"{prefix}overlap"]
            assert row[f"{prefix}composite"] == composite(before[f"{prefix}overlap"], quality)
            assert row[f"{prefix}fluency"] == fluency(answer).metrics()
    # inside a chat template nothing is cut: the gold answer the frame holds is graded with it
    (chat,) = regrade([replace(base, params=rep.params)], RulesJudge())
    assert [r["answer"] for r in chat.rows] == [r["answer"] for r in framed]
    assert [r["simpleqa"] for r in chat.rows] == [
        grade_answer(r["gold"], r["answer"], r["question"])[0] for r in framed
    ]
    assert [r["simpleqa"] for r in chat.rows] != [r["simpleqa"] for r in new.rows]
    # a run's own record of the stops it applied wins over the default
    custom = replace(base, tags={**base.tags, "fusion.stop_strings": json.dumps([" Who won"])})
    assert regrade([custom], RulesJudge())[0].rows[0]["answer"] == rep.rows[0]["answer"] + "\nQuestion:"
