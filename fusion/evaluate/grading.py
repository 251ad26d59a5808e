"""The names the grade carries in records and reports, read once from ``fusion/conf/grade.yaml``.

A judge labels every answer, of any question set, CORRECT, INCORRECT or NOT_ATTEMPTED, and the
report summarises the labels with the metrics of the paper that defined them. Committed answers
files, report.json, MLflow runs and REPORT.md name the label, its metrics and its LLM rubric after
that paper's question set; the code reads those names from one config file, so it stays generic
and committed results keep reading and rebuilding byte for byte. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from fusion.paths import CONF_DIR


@dataclass(frozen=True)
class GradeNames:
    key: str  # the label's key in rows, and its metrics' prefix (``<key>_correct``, ``<key>_metrics``)
    name: str  # as reports name the label and its metrics ("<name> correct", "<name>'s metrics")
    rubric: str  # the LLM judges' rubric id for the label


GRADE = GradeNames(**yaml.safe_load((CONF_DIR / "grade.yaml").read_text()))
GRADE_KEY, GRADE_NAME, GRADE_RUBRIC = GRADE.key, GRADE.name, GRADE.rubric
