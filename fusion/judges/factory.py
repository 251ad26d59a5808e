"""Build a judge from the ``judge`` config node (``name`` picks the implementation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fusion.judges import Judge

JUDGES = ("rules",)


def make_judge(cfg: Mapping[str, Any]) -> Judge:
    name = cfg.get("name")
    if name == "rules":
        from fusion.judges.rules import RulesJudge

        return RulesJudge()
    raise ValueError(f"judge.name={name!r} is unknown: use one of {', '.join(JUDGES)} (e.g. judge=rules)")
