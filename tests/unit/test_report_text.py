"""The report's text, from summaries built by hand (torch-free, no MLflow)."""

from __future__ import annotations

import pytest

from fusion.evaluate.metrics import GradeMetrics
from fusion.report.provenance import QuestionSpan, question_spans, questions_named
from fusion.report.summary import GroupSummary, Metrics, ReplicateSummary
from fusion.report.text import GRADE_METRICS_LEGEND, grade_metrics_markdown, seed_table
from fusion.report.verdicts import same_answers
from fusion.tracking.answers import Replicate


def replicate(wall: float, resumed: bool) -> ReplicateSummary:
    metrics = Metrics(accuracy=0.1, composite_mean=0.25, overlap_mean=0.2, grade_correct=0.05, control_accuracy=0.0)
    return ReplicateSummary(
        seed=0,
        shards=1,
        runs=["r"],
        resumed=resumed,
        metrics=metrics,
        n_prompts=40,
        wall_seconds=wall,
        failed_trials=0,
    )


def group(mode: str, role: str = "steered", replicates=(), **fields) -> GroupSummary:
    """A group as :func:`fusion.report.groups.summarise` makes one, with what a test sets by hand."""
    defaults = dict(
        label=mode, local=mode, model="m", mode=mode, role=role, compare_with=(), paper_rank=None, n_trials=0,
        target=None, exact=None, objective=None, fixed="", variant="", runs=[], replicates=list(replicates),
        segments="", n_prompts=40, mean=Metrics(), sd=Metrics(),
    )  # fmt: skip
    return GroupSummary(**{**defaults, **fields})


def test_a_resumed_runs_wall_time_is_marked_as_its_last_attempt():
    summary = {
        "full": group("full", replicates=[replicate(968.4, True)]),
        "segmented": group("segmented", replicates=[replicate(4033.0, False)]),
    }
    lines = seed_table(summary).splitlines()
    assert lines[2].endswith("| 968* |") and lines[3].endswith("| 4033 |")
    assert lines[-1] == "\\* resumed after an interruption: the wall time of its last attempt only."


def test_without_a_resumed_run_there_is_no_footnote():
    table = seed_table({"full": group("full", replicates=[replicate(100.0, False)])})
    assert "*" not in table and "resumed" not in table


def test_only_a_searched_group_shows_its_search_seed():
    summary = {role: group(role, role, [replicate(10.0, False)]) for role in ("baseline", "prompted", "steered")}
    seeds = [line.split(" | ")[1] for line in seed_table(summary).splitlines()[2:]]
    assert seeds == ["—", "—", "0"]


def test_simpleqas_metrics_are_one_table_per_model_with_each_groups_mean_and_sd():
    hand = GradeMetrics.of(["CORRECT"] * 3 + ["INCORRECT"] + ["NOT_ATTEMPTED"] * 6)
    spread = GradeMetrics(0.05, 0.0, 0.05, 0.05, 0.1, 0.02)
    summary = {
        "a/full": group("full", model="a", local="full", grade_metrics=hand, grade_metrics_sd=spread),
        "b/baseline": group("baseline", "baseline", model="b", local="baseline"),  # not computed: n/a
    }
    lines = grade_metrics_markdown(summary).splitlines()
    assert lines[0] == "**a**" and lines[6] == "**b**" and lines[-1] == GRADE_METRICS_LEGEND
    assert (
        lines[4]
        == "| full | 0 | 40 | 30.0 % ± 5.0 | 10.0 % | 60.0 % ± 5.0 | 40.0 % ± 5.0 | 75.0 % ± 10.0 | 0.429 ± 0.020 |"
    )
    assert lines[10] == "| baseline | 0 | 40 |" + " n/a |" * 6
    # one model: no heading
    assert grade_metrics_markdown({"full": summary["a/full"]}).splitlines()[0].startswith("| mode | seeds | prompts |")


@pytest.mark.parametrize(
    ("name", "offset", "limit", "said"),
    [
        ("paper260", "0", "None", "the paper's 260 questions"),
        ("paper260", "0", "40", "questions 1-40 of the paper's 260"),
        ("paper260", "200", "None", "questions 201-260 of the paper's 260"),
        ("simpleqa", "1000", "260", "simpleqa rows 1000-1259"),
        ("simpleqa", "1000", "None", "simpleqa from row 1000"),
    ],
)
def test_a_report_title_names_the_questions_it_measured(name, offset, limit, said):
    params = {"data.name": name, "data.offset": offset, "data.limit": limit}
    assert questions_named([Replicate(id="r", params=params, tags={}, rows=[])]) == said


def test_runs_on_different_questions_name_each_span_the_widest_first():
    reps = [
        Replicate(
            id=str(k), params={"data.name": "paper260", "data.offset": "0", "data.limit": limit}, tags={}, rows=[]
        )
        for k, limit in enumerate(("40", "None", "40"))
    ]
    assert questions_named(reps) == "the paper's 260 questions and questions 1-40 of the paper's 260"
    assert [span.prompts() for span in question_spans(reps)] == [
        "all of the paper's 260",
        "the first 40 of the paper's 260",
    ]


def test_a_span_from_a_later_row_says_where_it_starts():
    span = QuestionSpan("simpleqa", 1000, 260)
    assert (span.title(), span.prompts()) == ("simpleqa rows 1000-1259", "260 from row 1000 of SimpleQA")


def test_cached_and_exact_steering_are_compared_by_their_answer_texts_too():
    cached = group("full", answers={("paper260", 1): ["Paris"], ("paper260", 2): ["Lyon"], ("paper260", 3): ["x"]})
    exact = group("full", answers={("paper260", 1): ["Paris"], ("paper260", 2): ["Paris, France"]})
    assert same_answers(cached, exact) == "; the same answer text on 1 of 2 questions"
    assert same_answers(cached, group("full")) == ""  # no question in common: nothing to say
