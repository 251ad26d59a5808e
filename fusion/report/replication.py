"""The replication's REPORT.md: the report's tables and verdicts with what they were measured on
(command, machine, model, judge, prompts, steering, search) and what they leave open."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import Any

from fusion.report.groups import spec_of
from fusion.report.stats import PairedComparison
from fusion.report.text import markdown, seed_table
from fusion.report.verdicts import (
    across_models,
    agreement_table,
    headline,
    ordering,
    paired_markdown,
    seed_spread,
    verdicts,
)
from fusion.tracking.answers import Replicate
from fusion.tracking.runs import host_description


def machine(reps: list[Replicate] | None = None) -> str:
    """Where the runs ran: their ``fusion.host`` tags (and the device, Python and torch they
    recorded) when every run has one, else this machine (a report of runs recorded before the tag)."""
    hosts = sorted({r.tags.get("fusion.host", "") for r in reps or []})
    if reps and "" not in hosts:
        gpu = "GPU" if any("cuda" in r.tags.get("fusion.device", "") for r in reps) else "no GPU used"
        python = ", ".join(sorted({r.tags.get("python", "?") for r in reps}))
        torch = ", ".join(sorted({r.tags.get("torch", "?") for r in reps}))
        return f"{'; '.join(hosts)}, {gpu}; Python {python}, torch {torch}"
    import platform

    return f"{host_description()}, no GPU used; Python {platform.python_version()}, torch {_version('torch')}"


def _version(package: str) -> str:
    # the installed version without importing it: the report must not pay for loading torch
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _by_sweep(reps: list[Replicate]) -> dict[str, list[Replicate]]:
    out: dict[str, list[Replicate]] = {}
    for rep in reps:
        out.setdefault(rep.tags.get("fusion.sweep_id", ""), []).append(rep)
    return out


def partial_shards(summary: dict[str, dict[str, Any]], reps: list[Replicate]) -> list[str]:
    """The groups that ran one shard of their questions only (the fixed strengths run on the half
    they were not chosen on), by their report labels: ``full[fixed-median] ran data.shard=1 of 2``."""
    label_of = {run: label for label, e in summary.items() for run in e["runs"]}
    out = []
    for rep in reps:
        shards = int(rep.params.get("data.num_shards", "1") or 1)
        if shards > len(rep.run_ids):
            out.append(f"{label_of.get(rep.id, rep.mode)} ran data.shard={rep.params.get('data.shard')} of {shards}")
    return out


def models_of(reps: list[Replicate]) -> list[str]:
    """Each model of the study with the file or revision it was loaded from."""
    identities: dict[str, set[str]] = {}
    for rep in reps:
        identities.setdefault(rep.params.get("model.name", "?"), set()).add(rep.tags.get("fusion.model_identity", "?"))
    return [f"{name} ({', '.join(sorted(ids))})" for name, ids in sorted(identities.items())]


def limits_of(summary: dict[str, dict[str, Any]], reps: list[Replicate]) -> list[str]:
    """What the study leaves open, read from its own runs (model, judge, seeds, subsets)."""
    models = sorted({r.params.get("model.name", "?") for r in reps})
    judges = sorted({r.tags.get("fusion.judge", "?") for r in reps})
    seeds = max((len(e["replicates"]) for e in summary.values() if e["role"] == "steered"), default=0)
    counts = sorted({int(e["n_prompts"]) for e in summary.values()})
    lines = ["- Steering toward a reference built from the gold answer says nothing about answering without it."]
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
                else "On the authors' own held-out answers it agrees with their Mistral grader at Cohen's kappa 0.62 "
                "(docs/judges.md); read answer by answer, most strict positives of a search are not answers: "
                "adjudicate them (`fusion adjudicate`) before trusting a verdict."
            )
        )
    if seeds == 1:
        lines.append("- One search seed per group: the intervals resample questions, not the search's own variation.")
    elif any(len(e["replicates"]) == 1 for e in summary.values() if e["role"] == "steered"):
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


@dataclass(frozen=True)
class QuestionSpan:
    """The questions a run answered: ``count`` (None: all) from row ``start`` of ``dataset``."""

    dataset: str
    start: int
    count: int | None

    @classmethod
    def of(cls, rep: Replicate) -> QuestionSpan:
        offset, limit = (rep.params.get(f"data.{k}", "None") for k in ("offset", "limit"))
        return cls(
            rep.params.get("data.name", "?"),
            int(offset) if offset.isdigit() else 0,
            int(limit) if limit.isdigit() else None,  # data.limit=null is all of them
        )

    def title(self) -> str:
        """For the title: the paper's 260 questions, questions 1-40 of the paper's 260, simpleqa rows 1000-1259."""
        if self.dataset == "paper260":
            end = 260 if self.count is None else min(260, self.start + self.count)
            if (self.start, end) == (0, 260):
                return "the paper's 260 questions"
            return f"questions {self.start + 1}-{end} of the paper's 260"
        if self.count is None:
            return f"{self.dataset} from row {self.start}"
        return f"{self.dataset} rows {self.start}-{self.start + self.count - 1}"

    def prompts(self) -> str:
        """For the Prompts line: all of the paper's 260, the first 40 of it, 260 from row 1000 of SimpleQA."""
        source = "the paper's 260" if self.dataset == "paper260" else "SimpleQA"
        if not self.start:
            return f"{'all' if self.count is None else f'the first {self.count}'} of {source}"
        return f"{'all' if self.count is None else self.count} from row {self.start} of {source}"


def question_spans(reps: list[Replicate]) -> list[QuestionSpan]:
    """The distinct question spans of the runs, the widest of a dataset and row first."""
    return sorted(
        {QuestionSpan.of(r) for r in reps}, key=lambda s: (s.dataset, s.start, s.count is not None, -(s.count or 0))
    )


def questions_named(reps: list[Replicate]) -> str:
    """The report's questions, for its title: "the paper's 260 questions", "questions 1-40 of the
    paper's 260", "simpleqa rows 1000-1259"; joined by "and" where the runs answered different ones."""
    return " and ".join(span.title() for span in question_spans(reps))


def replication_report(
    summary: dict[str, dict[str, Any]],
    reps: list[Replicate],
    commands: list[str],
    wall_seconds: list[float],
    pairs: list[PairedComparison] | None = None,
    hand_labels: str = "",
) -> str:
    """experiments/paper_replication/REPORT.md: the paper-style table with what it was measured on;
    ``hand_labels``: the sections on the hand labels and adjudication, where the report has them."""
    first = reps[0]
    tags = {
        k: sorted({r.tags.get(k, "") for r in reps})
        for k in (
            "fusion.judge",
            "fusion.steering_exact",
            "fusion.sweep_id",
            "mlflow.source.git.commit",
        )
    }
    rubrics = sorted({str(row.get("rubric", "")) for r in reps for row in r.rows if row.get("rubric")})
    regraded = any(r.tags.get("fusion.regraded") == "true" for r in reps)
    spans = question_spans(reps)
    # a baseline run steers nothing: its decoding setting says nothing about the steering
    exact = sorted({r.tags.get("fusion.steering_exact", "") for r in reps if spec_of(r).steers})
    steering = (
        "none (baseline only)"
        if not exact
        else "exact (the paper's: no KV cache)"
        if exact == ["true"]
        else (
            "cached (KV cache, running means: not the paper's exact mode)"
            if exact == ["false"]
            else "cached and exact (the paper's), in separate runs: the table's mode column says which"
        )
    )
    objectives = sorted({r.params.get("search.objective", "paper") for r in reps if spec_of(r).steers})
    sweeps = _by_sweep(reps)
    if wall_seconds:  # as the commands measured them
        total = sum(wall_seconds)
        wall = f"{total / 60:.1f} min" + (" (the sum over its commands)" if len(wall_seconds) > 1 else "")
    else:  # per sweep, from its first run's start to its last run's end
        total = sum(
            (max(r.end_time for r in sweep) - min(r.start_time for r in sweep)) / 1000 for sweep in sweeps.values()
        )
        wall = f"{total / 60:.1f} min" + (f" (the sum over its {len(sweeps)} sweeps)" if len(sweeps) > 1 else "")
    if len(commands) > 1:  # fusion report gives one wall time per command, or none
        walls = [f" ({w / 60:.1f} min)" for w in wall_seconds] or [""] * len(commands)
        command_lines = [
            "- Commands (the report joins their answers):",
            *(f"  - `{c}`{w}" for c, w in zip(commands, walls, strict=True)),
        ]
    else:
        command_lines = [f"- Command: `{commands[0] if commands else ''}`"]
    seeds = sorted({r.params.get("search.seed", "?") for r in reps if spec_of(r).steers})
    models_held = across_models(summary, pairs or [])
    lead = headline(summary, pairs or [])
    datasets = sorted({span.dataset for span in spans})
    paper = datasets == ["paper260"]
    # steering methods outside the paper's claimed ordering (single_layer, mean_diff) make a comparison
    comparators = any(spec_of(r).steers and spec_of(r).paper_rank is None for r in reps)
    questions = questions_named(reps)
    title = (
        f"Paper replication: Fusion Steering on {questions}"
        if paper and not comparators
        else f"Method comparison: Fusion Steering and its comparators on {questions}"
    )
    return "\n".join(
        [
            f"# {title}",
            "",
            *([lead, ""] if lead else []),
            "Generated by `python -m fusion.report --replication` from the runs of its sweeps (below); every graded answer "
            "is in `answers.jsonl.gz`, from which `python -m fusion.report --answers answers.jsonl.gz --replication "
            "--regrade judge=rules` rebuilds this report (or grades it with another judge) without a model"
            + (
                "; `--labels ../hand_labels` adds the hand labels and their adjudication of every strict positive."
                if hand_labels
                else "."
            ),
            "",
            *command_lines,
            f"- Machine: {machine(reps)}",
            f"- Wall time: {wall}",
            "- Model: " + "; ".join(models_of(reps)),
            f"- Judge: {', '.join(tags['fusion.judge'])} (rubric {', '.join(rubrics) or '?'}"
            + ("; regraded from the recorded answers" if regraded else "")
            + f"); strict metric = CORRECT and not degenerate; the paper's accuracy = share of prompts with "
            f"composite >= {first.params.get('eval.accuracy_threshold', '0.6')}; token overlap variant "
            f"{first.params.get('eval.overlap', '?')}",
            f"- Prompts: {' or '.join(span.prompts() for span in spans)} (data={', '.join(datasets)}, offset "
            f"{', '.join(sorted({str(span.start) for span in spans}))}; the table's prompts column says which)"
            + "".join(f"; {part}" for part in partial_shards(summary, reps))
            + f"; max {first.params.get('prompts.max_new_tokens', '?')} new tokens",
            f"- Steering: {steering}",
            f"- Search: Optuna {first.params.get('search.sampler', '?')} sampler, batches of "
            f"{first.params.get('search.batch_size', '?')}, seeds {', '.join(seeds)}; objective "
            f"{' and '.join(objectives)} (fluent: the paper's minus 1 for a degenerate answer)",
            f"- Sweep: {', '.join(tags['fusion.sweep_id'])}; code {', '.join(c[:10] for c in tags['mlflow.source.git.commit'])}",
            "",
            "**These are oracle results**: the steering target of every prompt is built from its gold answer, so they "
            "measure how far steering toward a known answer moves the model, not question answering without the answer.",
            "",
            "## Results",
            "",
            markdown(summary),
            "",
            "Paper (Gemma-2-2B-IT, 5 trials, LLM judge): accuracy 3.5 / 16.2 / 25.4 % for baseline / full / segmented; "
            "SimpleQA CORRECT 0 / 9.2 / 13.1 %. Of the paper's 42 accurate full-mode answers, its own judge graded 20 "
            "at 2 or lower (docs/method.md).",
            "",
            "## Verdicts",
            "",
            verdicts(summary, pairs or []),
            "",
            *([hand_labels, ""] if hand_labels else []),
            *(["## Does it hold on another model?", "", models_held, ""] if models_held else []),
            "## Did segmented > full > baseline hold?",
            "",
            ordering(summary, pairs),
            "",
            "## Paired statistics",
            "",
            paired_markdown(pairs or []),
            *(
                ["", "Per-question agreement on the paper's accuracy (share of prompts):", "", agreement_table(pairs)]
                if pairs
                else []
            ),
            "",
            "## What these numbers do not say",
            "",
            *limits_of(summary, reps),
            "",
            "## Per seed",
            "",
            seed_spread(summary),
            "",
            seed_table(summary),
            "",
            "Plots: `accuracy.png`, `composite_box.png`, `layer_profiles.png`; numbers: `report.json`; every graded "
            "answer: `answers.jsonl.gz`.",
            "",
        ]
    )
