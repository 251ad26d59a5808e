"""The replication's REPORT.md: the report's tables and verdicts with what they were measured on
(command, machine, model, judge, prompts, steering, search: :mod:`fusion.report.provenance`) and
what they leave open, one function per part of the page."""

from __future__ import annotations

from dataclasses import dataclass, field

from fusion.methods import spec_of_run
from fusion.report.comparison import PairedComparison
from fusion.report.oracle import all_oracle, oracle_statement
from fusion.report.ordering import ordering
from fusion.report.provenance import (
    command_lines,
    machine,
    models_of,
    partial_shards,
    question_spans,
    questions_named,
    steering_of,
    wall_time,
)
from fusion.report.recovery import Recovery, recovery_section
from fusion.report.summary import Summary
from fusion.report.text import (
    GRADE_METRICS_HEADING,
    agreement_table,
    grade_metrics_markdown,
    markdown,
    paired_markdown,
    seed_spread,
    seed_table,
)
from fusion.report.verdicts import across_models, headline, verdicts
from fusion.tracking.answers import Replicate

# the paper evaluated on SimpleQA: its numbers sit beside a table of SimpleQA questions only
PAPER_SETS = {"simpleqa", "paper260"}


def _paper_sets_only(reps: list[Replicate]) -> bool:
    return {span.dataset for span in question_spans(reps)} <= PAPER_SETS


@dataclass(frozen=True)
class Study:
    """What REPORT.md is built from: the groups, their replicates and paired comparisons, the
    commands that ran them with their wall times, and the sections on hand labels (empty: none)."""

    summary: Summary
    reps: list[Replicate]
    commands: list[str]
    wall_seconds: list[float]
    pairs: list[PairedComparison] = field(default_factory=list)
    hand_labels: str = ""  # the judge against the labels and the adjudication
    unread: str = ""  # the steered groups whose strict positives no person has read
    recovered: list[Recovery] = field(default_factory=list)  # each steered group's share of the prompt's gain


def limits_of(summary: Summary, reps: list[Replicate]) -> list[str]:
    """What the study leaves open, read from its own runs (model, judge, seeds, subsets)."""
    models = sorted({r.params.get("model.name", "?") for r in reps})
    judges = sorted({r.tags.get("fusion.judge", "?") for r in reps})
    seeds = max((len(g.replicates) for g in summary.values() if g.steered), default=0)
    counts = sorted({g.n_prompts for g in summary.values()})
    lines = [
        "- Steering toward a reference built from the gold answer says nothing about answering without it."
        if all_oracle(summary)
        else "- The groups that are no oracle steered toward a reference that holds the answer (or another "
        "question's, the placebo): they measure whether steering can carry given evidence, not answering without "
        "any; an oracle group's target is built from the gold, a ceiling for steering, not a method."
    ]
    if not any(m.startswith("gemma2_2b") for m in models):
        lines.append(
            f"- The model is {', '.join(models)}, not the paper's Gemma-2-2B-IT: the effect sizes are not the paper's."
        )
    if any(j.startswith("rules") for j in judges):
        lines.append(
            "- The rules judge grades by matching the gold answer, not with an LLM as the paper did: "
            "the SimpleQA grades and quality scores are not the paper's, and the paper's accuracy (composite "
            ">= 0.6) rewards gold words, not answers. "
            + (
                "The strict metric is checked against blind hand labels and its positives are adjudicated by hand "
                "(above); answers it calls wrong are not read (its recall against the labels is in that table)."
                if any(f"{p}hand_strict" in row for r in reps for row in r.rows for p in ("", "baseline_"))
                else (
                    "On the authors' own held-out answers it agrees with their Mistral grader at Cohen's kappa 0.62 "
                    "(docs/judges.md); read"
                    if _paper_sets_only(reps)
                    else "Read"
                )
                + " answer by answer, most strict positives of a search are not answers: "
                "adjudicate them (`fusion adjudicate`) before trusting a verdict."
            )
        )
    if seeds == 1:
        lines.append("- One search seed per group: the intervals resample questions, not the search's own variation.")
    elif any(len(g.replicates) == 1 for g in summary.values() if g.steered):
        lines.append(
            "- Some steered groups ran one search seed (the table's seeds column): their intervals resample "
            "questions, not the search's own variation."
        )
    if len(counts) > 1:
        lines.append(
            f"- Groups ran on {' and '.join(str(c) for c in counts)} questions: a comparison holds only for "
            "the questions both groups answered (the paired statistics use exactly those)."
        )
    return lines


def replication_report(study: Study) -> str:
    """experiments/paper_replication/REPORT.md: the paper-style table with what it was measured on,
    the verdicts, the hand labels where the report has them, and what the numbers leave open."""
    return "\n".join([*_header(study), *_results(study), *_comparisons(study), *_closing(study)])


def _title(reps: list[Replicate]) -> str:
    paper = sorted({span.dataset for span in question_spans(reps)}) == ["paper260"]
    # steering methods outside the paper's claimed ordering (single_layer, mean_diff) make a comparison
    comparators = any(spec_of_run(r.tags).steers and spec_of_run(r.tags).paper_rank is None for r in reps)
    questions = questions_named(reps)
    if paper and not comparators:
        return f"Paper replication: Fusion Steering on {questions}"
    return f"Method comparison: Fusion Steering and its comparators on {questions}"


def _header(study: Study) -> list[str]:
    """The title, the headline and how the report was made."""
    lead = headline(study.summary, study.pairs)
    return [
        f"# {_title(study.reps)}",
        "",
        *([lead, ""] if lead else []),
        "Generated by `python -m fusion.report --replication` from the runs of its sweeps (below); every graded answer "
        "is in `answers.jsonl.gz`, from which `python -m fusion.report --answers answers.jsonl.gz --replication "
        "--regrade judge=rules` rebuilds this report (or grades it with another judge) without a model"
        + (
            "; `--labels ../hand_labels` adds the hand labels and their adjudication of every strict positive."
            if study.hand_labels
            else "."
        ),
        "",
        *command_lines(study.commands, study.wall_seconds),
        *_setup(study),
        "",
        *_oracle_paragraph(study),
        "",
    ]


def _oracle_paragraph(study: Study) -> list[str]:
    """What the numbers measure: steering toward a known answer, or (no oracle) answering without it."""
    if all_oracle(study.summary):
        return [
            "**These are oracle results**: the steering target of every prompt is built from its gold answer, so "
            "they measure how far steering toward a known answer moves the model, not question answering without "
            "the answer."
        ]
    return [
        f"**Not every group is an oracle** ({oracle_statement(study.summary)}): a group that is no oracle built its "
        "targets from its reference and scored its search against it, and read the gold answers only to grade."
    ]


def _setup(study: Study) -> list[str]:
    """Machine, wall time, model, judge, prompts, steering, search and sweep, read from the runs."""
    reps, first = study.reps, study.reps[0]
    tags = {
        k: sorted({r.tags.get(k, "") for r in reps})
        for k in ("fusion.judge", "fusion.sweep_id", "mlflow.source.git.commit")
    }
    rubrics = sorted({str(row.get("rubric", "")) for r in reps for row in r.rows if row.get("rubric")})
    regraded = any(r.tags.get("fusion.regraded") == "true" for r in reps)
    spans = question_spans(reps)
    steered = [r for r in reps if spec_of_run(r.tags).steers]
    objectives = sorted({r.params.get("search.objective", "paper") for r in steered})
    seeds = sorted({r.params.get("search.seed", "?") for r in steered})
    datasets = ", ".join(sorted({span.dataset for span in spans}))
    offsets = ", ".join(sorted({str(span.start) for span in spans}))
    return [
        f"- Machine: {machine(reps)}",
        f"- Wall time: {wall_time(reps, study.wall_seconds)}",
        "- Model: " + "; ".join(models_of(reps)),
        f"- Judge: {', '.join(tags['fusion.judge'])} (rubric {', '.join(rubrics) or '?'}"
        + ("; regraded from the recorded answers" if regraded else "")
        + f"); strict metric = CORRECT and not degenerate; the paper's accuracy = share of prompts with "
        f"composite >= {first.params.get('eval.accuracy_threshold', '0.6')}; token overlap variant "
        f"{first.params.get('eval.overlap', '?')}",
        f"- Prompts: {' or '.join(span.prompts() for span in spans)} (data={datasets}, offset {offsets}; the table's "
        "prompts column says which)"
        + "".join(f"; {part}" for part in partial_shards(study.summary, reps))
        + f"; max {first.params.get('prompts.max_new_tokens', '?')} new tokens",
        f"- Steering: {steering_of(reps)}",
        f"- Search: Optuna {first.params.get('search.sampler', '?')} sampler, batches of "
        f"{first.params.get('search.batch_size', '?')}, seeds {', '.join(seeds)}; objective "
        f"{' and '.join(objectives)} (fluent: the paper's minus 1 for a degenerate answer)",
        _oracle_setup_line(oracle_statement(study.summary)),
        f"- Sweep: {', '.join(tags['fusion.sweep_id'])}; code {', '.join(c[:10] for c in tags['mlflow.source.git.commit'])}",
    ]


def _oracle_setup_line(statement: str) -> str:
    """ "- Oracle: yes (...)" where every group agrees, else "- Oracle status: baseline: oracle: no ...; ..."."""
    if statement.startswith("oracle:"):
        return f"- O{statement[1:]}"
    return f"- Oracle status: {statement}"


def _paper_numbers(reps: list[Replicate]) -> list[str]:
    """The paper's own figures, beside a table only where the questions are the paper's set's."""
    if not _paper_sets_only(reps):
        return []
    return [
        "Paper (Gemma-2-2B-IT, 5 trials, LLM judge): accuracy 3.5 / 16.2 / 25.4 % for baseline / full / segmented; "
        "SimpleQA CORRECT 0 / 9.2 / 13.1 %. Of the paper's 42 accurate full-mode answers, its own judge graded 20 "
        "at 2 or lower (docs/method.md).",
        "",
    ]


def _results(study: Study) -> list[str]:
    """The results table beside the paper's numbers, and the verdicts."""
    return [
        "## Results",
        "",
        markdown(study.summary),
        "",
        *_paper_numbers(study.reps),
        GRADE_METRICS_HEADING,
        "",
        grade_metrics_markdown(study.summary),
        "",
        "## Verdicts",
        "",
        verdicts(study.summary, study.pairs),
        "",
        *recovery_section(study.recovered),
    ]


def _comparisons(study: Study) -> list[str]:
    """The hand labels, the unread positives, the other model, the paper's ordering and the paired statistics."""
    models_held = across_models(study.summary, study.pairs)
    pairs = study.pairs
    return [
        *([study.hand_labels, ""] if study.hand_labels else []),
        *([study.unread, ""] if study.unread else []),
        *(["## Does it hold on another model?", "", models_held, ""] if models_held else []),
        "## Did segmented > full > baseline hold?",
        "",
        ordering(study.summary, pairs),
        "",
        "## Paired statistics",
        "",
        paired_markdown(pairs),
        *(
            ["", "Per-question agreement on the paper's accuracy (share of prompts):", "", agreement_table(pairs)]
            if pairs
            else []
        ),
        "",
    ]


def _closing(study: Study) -> list[str]:
    """What the numbers do not say, the per-seed numbers, and the files beside the report."""
    return [
        "## What these numbers do not say",
        "",
        *limits_of(study.summary, study.reps),
        "",
        "## Per seed",
        "",
        seed_spread(study.summary),
        "",
        seed_table(study.summary),
        "",
        "Plots: `accuracy.png`, `composite_box.png`, `layer_profiles.png`; numbers: `report.json`; every graded "
        "answer: `answers.jsonl.gz`.",
        "",
    ]
