"""The report's typed group summaries, and what REPORT.md says of strict positives nobody has read.

Real recorded answers: a committed study (experiments/method_comparison/smollm2_paper40, its hand
labels in experiments/hand_labels) and the answers sample of tests/data.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace

from fusion.commands.report import main as report
from fusion.evaluate.hand_labels import load
from fusion.evaluate.judges.rules import RulesJudge
from fusion.report.adjudication import HAND, adjudicate, label_index, pending, tally, verdict_index
from fusion.report.groups import summarise
from fusion.report.hand import unread_positives
from fusion.report.recovery import recoveries
from fusion.report.summary import GroupSummary, ReplicateSummary
from fusion.tracking.answers import read_answers, regrade, write_answers
from tests.helpers import PROJECT_ROOT

STUDY = PROJECT_ROOT / "experiments" / "method_comparison" / "smollm2_paper40"
LABELS = PROJECT_ROOT / "experiments" / "hand_labels"
SAMPLE = PROJECT_ROOT / "tests" / "data" / "answers_sample.jsonl.gz"


def test_the_typed_summary_of_a_committed_study_is_its_report_json():
    """report.json is each group's to_dict: the same keys in the same order, the same numbers."""
    items = load(LABELS)
    reps = read_answers(STUDY / "answers.jsonl.gz")
    reps, _ = adjudicate(reps, label_index(items, reps))
    summary = summarise(reps, verdict_index(items, reps))
    committed = json.loads((STUDY / "report.json").read_text())
    committed.pop("paired")
    # the recovered share of the prompt's gain, beside the groups, as the report computes it
    assert committed.pop("recovery") == [dataclasses.asdict(r) for r in recoveries(summary)]
    assert list(summary) == list(committed)
    for label, group in summary.items():
        assert isinstance(group, GroupSummary) and group.label == label
        assert all(isinstance(r, ReplicateSummary) for r in group.replicates)
        assert json.dumps(group.to_dict(), indent=2) == json.dumps(committed[label], indent=2), label


def test_a_group_is_read_from_its_runs_spec_and_keeps_its_per_prompt_data():
    summary = summarise(read_answers(SAMPLE))
    assert list(summary) == ["baseline", "full[fluent]", "full[paper]"]
    base, fluent = summary["baseline"], summary["full[fluent]"]
    assert (base.role, base.target, base.exact, base.objective, base.steered) == ("baseline", None, None, None, False)
    assert (fluent.role, fluent.objective, fluent.variant, fluent.steered, fluent.plain) == (
        "steered",
        "fluent",
        "fluent",
        True,
        True,
    )
    assert len(fluent.observations) == fluent.n_prompts == 8 and len(fluent.composites) == 8
    assert all(len(obs) == 1 and len(obs[0]) == 3 for obs in fluent.observations.values())
    assert fluent.replicates[0].metrics.accuracy == fluent.mean.accuracy and fluent.sd.accuracy == 0.0
    assert not set(fluent.to_dict()) & {"composites", "strengths", "params", "observations", "answers"}
    assert {"composites", "strengths", "params"} <= set(fluent.plot_entry())


def _with_two_positives():
    """The sample with two steered answers of full[fluent] replaced by the gold: the rules judge's
    only strict positives."""
    reps = read_answers(SAMPLE)
    rows = [dict(r) for r in reps[1].rows]
    for row in rows[:2]:
        row["answer"] = f"The answer is {row['gold']}."
    reps[1] = replace(reps[1], rows=rows)
    return regrade(reps, RulesJudge())


def test_a_report_without_hand_labels_says_which_strict_rates_are_upper_bounds(tmp_path, monkeypatch, capsys):
    answers = write_answers(tmp_path / "answers.jsonl.gz", _with_two_positives())
    monkeypatch.chdir(tmp_path)  # no --out: the report is written under the current folder
    assert report(["--answers", str(answers), "--replication", "--resamples", "200"]) == 0
    text = (tmp_path / "reports" / "latest" / "REPORT.md").read_text()
    assert "## SimpleQA's metrics\n\n| mode | seeds | prompts | correct |" in text  # beside the strict table
    section = text.split("## Strict positives no person has read\n")[1].split("\n## ")[0]
    assert (
        "- full[fluent]: 2 of its 2 strict positives not read by a person; its strict rate, 25.0 %, is an upper bound"
        in section
    )
    assert "full[paper]" not in section and "baseline" not in section  # no positive there; not steered
    assert "`fusion adjudicate --answers answers.jsonl.gz --labels experiments/hand_labels`" in section
    assert "`fusion label experiments/hand_labels/pending-NNNN.jsonl --labeller NAME`" in section


def test_labels_that_cover_every_positive_leave_no_unread_section(tmp_path):
    reps = _with_two_positives()
    summary = summarise(reps)
    assert "2 of its 2" in unread_positives(summary, tally(reps, {}))
    # a person read the first positive: one is left, and the section names the labels folder used
    (first, second) = pending(reps, {})
    place = first["sources"][0]
    index = {(place["replicate"], place["qid"], place["field"]): "false"}
    assert "- full[fluent]: 1 of its 2 strict positives" in unread_positives(summary, tally(reps, index), str(tmp_path))
    place = second["sources"][0]
    index[(place["replicate"], place["qid"], place["field"])] = "true"
    assert unread_positives(summary, tally(reps, index), str(tmp_path)) == ""


def test_an_answers_file_of_an_adjudicated_report_carries_its_labels():
    """The committed study's answers hold their hand labels: rebuilt without --labels, nothing is
    unread; with the labels stripped, its steered groups' positives are unread again."""
    reps = read_answers(STUDY / "answers.jsonl.gz")
    assert unread_positives(summarise(reps), tally(reps, {})) == ""
    bare = [replace(r, rows=[{k: v for k, v in row.items() if not k.endswith(HAND)} for row in r.rows]) for r in reps]
    section = unread_positives(summarise(bare), tally(bare, {}))
    assert "- full: 1 of its 1 strict positive not read by a person; its strict rate, 2.5 %" in section


def test_fusion_report_prints_simpleqas_metrics_and_adds_them_last_to_its_json(tmp_path, capsys):
    assert report(["--answers", str(SAMPLE), "--out", str(tmp_path), "--resamples", "200"]) == 0
    table = capsys.readouterr().out.split("## SimpleQA's metrics\n\n")[1]
    summary = summarise(read_answers(SAMPLE))
    fluent = summary["full[fluent]"].grade_metrics
    assert fluent is not None and fluent.correct == summary["full[fluent]"].mean.grade_correct  # no labels: the judge's
    row = next(line for line in table.splitlines() if line.startswith("| full[fluent] |"))
    assert row.split(" | ")[3:5] == [f"{100 * fluent.correct:.1f} %", f"{100 * fluent.incorrect:.1f} %"]
    assert report(["--answers", str(SAMPLE), "--out", str(tmp_path), "--resamples", "200", "--json"]) == 0
    group = json.loads(capsys.readouterr().out)["full[fluent]"]
    assert list(group)[-4:] == ["model", "local", "simpleqa_metrics", "simpleqa_metrics_sd"]
    assert group["simpleqa_metrics"] == fluent.to_dict() and list(group["replicates"][0])[-1] == "simpleqa_metrics"


def test_each_run_s_oracle_status_is_stated_once_when_uniform_and_per_group_when_not(tmp_path):
    """Runs recorded before the tags fusion.reference/fusion.oracle existed are oracle runs of the
    paper's reference; a steered run of reference=passage is a group of its own and says it is none."""
    from fusion.report.oracle import oracle_statement

    reps = read_answers(SAMPLE)
    summary = summarise(reps)
    assert {(g.reference, g.oracle) for g in summary.values()} == {("gold_explanation", True)}
    assert oracle_statement(summary) == "oracle: yes (the target is built from the gold)"
    passage = {"fusion.reference": "passage", "fusion.oracle": "no"}
    steered = [r for r in reps if r.mode == "full" and r.params.get("search.objective") == "fluent"]
    mixed = summarise([*reps, *(replace(r, id=f"{r.id}-p", tags={**r.tags, **passage}) for r in steered)])
    # where references mix, each reference-reading group names its own (the baseline reads none)
    assert list(mixed) == [
        "baseline",
        "full[fluent,gold_explanation]",
        "full[fluent,passage]",
        "full[paper,gold_explanation]",
    ]
    assert oracle_statement(mixed).split("; ")[2] == "full[fluent,passage]: oracle: no (reference=passage)"
    only = summarise([replace(r, tags={**r.tags, **passage}) for r in steered])
    assert oracle_statement(only) == "oracle: no (reference=passage)"
    out = tmp_path / "report"
    write_answers(tmp_path / "passage.jsonl.gz", [replace(r, tags={**r.tags, **passage}) for r in steered])
    assert report(["--answers", str(tmp_path / "passage.jsonl.gz"), "--out", str(out), "--replication"]) == 0
    text = (out / "REPORT.md").read_text()
    assert "- Oracle: no (reference=passage)" in text and "These are oracle results" not in text
    # the table's legend says the same (it said "Oracle results" whatever the runs recorded)
    assert "Oracle status, as the runs recorded it: oracle: no (reference=passage)." in text
    assert "Oracle results" not in text


def test_a_report_of_mixed_oracle_status_on_another_set_names_each_group_and_drops_the_paper_s_numbers(tmp_path):
    """The setup line read "- Oaseline: oracle: no ..." where groups differed (it cut the first letter of
    the per-group list), and the paper's SimpleQA figures and its judge's kappa on the authors' answers
    stood beside a table of another question set's."""
    reps = read_answers(SAMPLE)
    passage = {"fusion.reference": "passage", "fusion.oracle": "no"}
    steered = [r for r in reps if r.mode == "full" and r.params.get("search.objective") == "fluent"]
    mixed = [*reps, *(replace(r, id=f"{r.id}-p", tags={**r.tags, **passage}) for r in steered)]
    for name, data in (("simpleqa", {}), ("halueval", {"data.name": "halueval"})):
        write_answers(tmp_path / f"{name}.jsonl.gz", [replace(r, params={**r.params, **data}) for r in mixed])
        assert (
            report(["--answers", str(tmp_path / f"{name}.jsonl.gz"), "--out", str(tmp_path / name), "--replication"])
            == 0
        )
    own, other = ((tmp_path / name / "REPORT.md").read_text() for name in ("simpleqa", "halueval"))
    for text in (own, other):
        assert "\n- Oracle status: baseline: oracle: yes (the target is built from the gold); " in text
        assert "full[fluent,passage]: oracle: no (reference=passage)" in text
        assert "- The groups that are no oracle steered toward a reference that holds the answer" in text
    assert "Paper (Gemma-2-2B-IT" in own and "Mistral grader" in own
    assert "Paper (Gemma-2-2B-IT" not in other and "Mistral grader" not in other
