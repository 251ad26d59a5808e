"""How the report names a group where a study mixes references (a passage study and its oracle)."""

from __future__ import annotations

from fusion.report.labels import Labeller
from fusion.tracking.answers import Replicate


def rep(mode: str, reference: str, **params: str) -> Replicate:
    tags = {
        "fusion.mode": mode,
        "fusion.reference": reference,
        "fusion.oracle": "no" if reference == "passage" else "yes",
    }
    return Replicate(id=f"{mode}-{reference}", params={"search.n_trials": "5", **params}, tags=tags, rows=[])


def labels(reps: list[Replicate]) -> list[str]:
    labeller = Labeller.of(reps)
    return [labeller.label(r)[0] for r in reps]


def test_the_paper_reference_keeps_the_plain_label_unless_another_reference_is_beside_it():
    assert labels([rep("baseline", "gold_explanation"), rep("full", "gold_explanation")]) == ["baseline", "full"]
    assert labels([rep("full", "passage"), rep("in_context", "passage")]) == ["full[passage]", "in_context[passage]"]
    # a passage study with its oracle ceiling: both full groups name their reference; the baseline reads none
    mixed = [rep("baseline", "passage"), rep("full", "passage"), rep("full", "gold_explanation")]
    assert labels(mixed) == ["baseline", "full[passage]", "full[gold_explanation]"]
