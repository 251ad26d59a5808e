"""Whether a report's numbers are oracle results: each run says which reference its targets were built
from (tag ``fusion.reference``) and whether that reference reads the gold (``fusion.oracle``). Runs
recorded before these tags existed used the paper's reference, an oracle."""

from __future__ import annotations

from fusion.references import DEFAULT, oracle_line
from fusion.report.summary import Summary
from fusion.tracking.answers import Replicate


def reference_of(rep: Replicate) -> str:
    return rep.tags.get("fusion.reference", DEFAULT)


def is_oracle(rep: Replicate) -> bool:
    return rep.tags.get("fusion.oracle", "yes") != "no"


def oracle_statement(summary: Summary) -> str:
    """ "oracle: yes (...)" once where every group agrees, else each group's, as "label: oracle: ..."."""
    lines = {label: oracle_line(g.oracle, g.reference) for label, g in summary.items()}
    if len(set(lines.values())) <= 1:
        return next(iter(lines.values()), oracle_line(True, DEFAULT))
    return "; ".join(f"{label}: {line}" for label, line in lines.items())


def all_oracle(summary: Summary) -> bool:
    return all(g.oracle for g in summary.values())
