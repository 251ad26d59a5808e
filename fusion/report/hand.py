"""REPORT.md's sections on hand labels: the judge against them, how each group's strict positives
were adjudicated, and, where positives are still unread, which groups' strict rates are then only
upper bounds and the commands that settle them (:mod:`fusion.report.adjudication`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fusion.evaluate.hand_labels import LabelledItem, agreement_markdown, agreement_rows
from fusion.report.adjudication import ADJUDICATION, FIELDS, NONE, Adjudicated, judged_strict, source_qid
from fusion.report.summary import Summary
from fusion.report.text import pct
from fusion.tracking.answers import Replicate


def judged_items(items: Sequence[LabelledItem], reps: Sequence[Replicate]) -> dict[str, bool]:
    """Item id -> the judge's strict verdict on that answer as the report graded it (same judge,
    same cut), for the items whose answer is in ``reps``."""
    rows: dict[tuple[str, str | None], dict[str, Any]] = {
        (rep.id, rep.qid(row)): row for rep in reps for row in rep.rows
    }
    datasets = {rep.id: rep.dataset for rep in reps}
    prefix_of = {field: prefix for prefix, field in FIELDS.items()}
    out = {}
    for item in items:
        for source in item.sources:
            if source.get("joined"):  # a judge positive that repeats a labelled text: not sampled here
                continue
            row = rows.get((str(source["replicate"]), source_qid(source, item, datasets)))
            if row is not None:
                out[item.id] = judged_strict(row, prefix_of[str(source["field"])])
                break
    return out


def per_group(summary: Summary, counts: Mapping[str, Adjudicated]) -> dict[str, Adjudicated]:
    """The adjudication counts of each group's replicates, summed per group label."""
    group_of = {run: label for label, g in summary.items() for run in g.runs}
    out: dict[str, Adjudicated] = {}
    for rep_id, c in counts.items():
        label = group_of.get(rep_id, rep_id)
        out[label] = out.get(label, NONE) + c
    return out


def hand_label_sections(
    summary: Summary,
    reps: Sequence[Replicate],
    items: Sequence[LabelledItem],
    counts: Mapping[str, Adjudicated],
) -> str:
    """REPORT.md's sections on the hand labels: the judge against them on both halves, per kind of
    answer, and how each group's strict positives were adjudicated."""
    groups = per_group(summary, counts)
    total = sum(groups.values(), NONE)
    return "\n".join(
        [
            "## The judge against hand labels",
            "",
            *_agreement(reps, items),
            "",
            "## Adjudication: every strict positive read by a person",
            "",
            f"The strict columns above count an answer only when the judge calls it correct and fluent **and** a "
            f"person's blind label confirms it; a rejected or borderline label removes it, in every group alike. "
            f"{total.read} of the {total.positives} positives "
            f"were adjudicated, {total.unlabelled} were not yet read (`fusion adjudicate` exports them).",
            "",
            "| group | judge's strict positives | confirmed by hand | rejected | borderline | not yet read "
            "| judge's precision |",
            "|---|---|---|---|---|---|---|",
            *(_adjudication_row(label, groups.get(label, NONE)) for label in summary),
        ]
    )


def _adjudication_row(label: str, t: Adjudicated) -> str:
    precision = f"{t.precision:.2f}" if t.confirmed + t.rejected else "n/a"
    return f"| {label} | {t.positives} | {t.confirmed} | {t.rejected} | {t.borderline} | {t.unlabelled} | {precision} |"


def _agreement(reps: Sequence[Replicate], items: Sequence[LabelledItem]) -> list[str]:
    """The judge against the stratified sample of hand labels, where this study's answers are in it."""
    judged = judged_items(items, reps)
    # the agreement is measured on the stratified sample only: the adjudicated items are all judge
    # positives, and adding them would inflate the judge's precision
    known = [i for i in items if i.id in judged and i.stratum != ADJUDICATION]
    if not known:  # only positives were read here: an agreement table of them would show precision alone, inflated
        return [
            "No answer of this study is in the stratified sample of hand labels, so the judge's precision, recall "
            "and kappa are not measured here (they are where the sample was drawn, experiments/hand_labels); "
            "its precision on this study's own strict positives is below."
        ]
    rubric = ", ".join(sorted({i.rubric for i in known}))
    return [
        f"{len(known)} answers of this study were labelled by hand, blind (question, gold and answer only, "
        f"shuffled; rubric {rubric}, docs/judges.md), {sum(i.labellers > 1 for i in known)} of them by two "
        "labellers. The halves are split by question before any tuning; the judge's rules were tuned on the "
        "calibration half only. Strict = CORRECT and FLUENT by hand, CORRECT and not degenerate by the judge; "
        "borderline labels are left out of each row and counted in brackets. An answer can count in several rows "
        "(the same text from the baseline and a steered group).",
        "",
        agreement_markdown(agreement_rows(known, judged)),
    ]


# where REPORT.md's commands read the answers and keep the labels
LABELS_FOLDER = "experiments/hand_labels"


def unread_positives(summary: Summary, counts: Mapping[str, Adjudicated], labels: str = "") -> str:
    """A section for REPORT.md where a steered group has strict positives no person has read: how
    many, that its strict rate is then an upper bound, and the commands that settle it; "" where
    every positive of every steered group was read. ``labels``: the hand-labels folder the report
    was built with ("" for none)."""
    groups = per_group(summary, counts)
    unread = {label: groups[label] for label, g in summary.items() if g.steered and groups.get(label, NONE).unlabelled}
    if not unread:
        return ""
    folder = labels or LABELS_FOLDER
    lines = [
        f"- {label}: {t.unlabelled} of its {t.positives} strict positive{'s' * (t.positives != 1)} not read by a "
        f"person; its strict rate, "
        f"{pct(summary[label].mean.correct_fluent)}, is an upper bound (a person may reject some)."
        for label, t in unread.items()
    ]
    return "\n".join(
        [
            "## Strict positives no person has read",
            "",
            "The judge matches gold words; on answers a search selected, most of its strict positives are not answers "
            "(docs/judges.md). "
            + (
                "This report was built without hand labels: no person has read its strict positives."
                if not labels
                else "These positives carry no hand label yet:"
            ),
            "",
            *lines,
            "",
            "To settle them: `fusion adjudicate --answers answers.jsonl.gz --labels "
            f"{folder}` exports them blind (question, gold and answer only) and names the batch file it wrote; "
            f"`fusion label {folder}/pending-NNNN.jsonl --labeller NAME` (that file) labels them; then rebuild this report with "
            f"`--labels {folder}`, which counts a positive only where a person confirmed it.",
        ]
    )
