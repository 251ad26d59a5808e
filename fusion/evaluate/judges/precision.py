"""How far a judge's strict answers can be trusted when a search selected them: its precision
against the committed hand labels, measured once per rubric and stored here, because a wheel
carries no labels (experiments/hand_labels is in the source checkout only).

A search picks, per question, the answer its objective likes best, and so finds the rules
judge's false positives far more often than an unsteered answer does (docs/judges.md); so
``fusion grade`` asks a person to read every strict answer that came from a search, with this
precision beside the count. ``tests/unit/test_grade.py`` recomputes each value from the labels
and fails, with the new figures, when the judge or the labels change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MeasuredPrecision:
    """The share of a judge's strict, search-selected answers that a person also calls strict."""

    rubric: str  # the judge's rubric the measure holds for
    confirmed: int  # the judge's strict answers a person labelled strict
    positives: int  # the judge's strict answers among the labelled ones (borderline left out)
    labelled: int  # labelled answers in the measure (borderline left out)
    source: str  # which labels
    date: str  # when measured

    @property
    def precision(self) -> float:
        return self.confirmed / self.positives if self.positives else float("nan")

    def describe(self) -> str:
        return (
            f"the {self.rubric} judge's precision on search-selected answers is {self.precision:.2f} "
            f"({self.confirmed} of {self.positives} strict answers confirmed by hand; {self.source}, {self.date})"
        )


# held-out half of the stratified sample: the calibration half tuned the rules, and the items
# drawn for adjudication are all judge positives (they would inflate the precision)
SOURCE = "experiments/hand_labels, held-out half, stratified sample"
SEARCHED: dict[str, MeasuredPrecision] = {
    "rules-v5": MeasuredPrecision("rules-v5", confirmed=2, positives=7, labelled=72, source=SOURCE, date="2026-12-07"),
    "rules-v6": MeasuredPrecision(
        "rules-v6", confirmed=13, positives=51, labelled=160, source=SOURCE, date="2026-12-07"
    ),
}
