"""baseline: no steering. The unsteered answer to the bare question, what every group is set against."""

from __future__ import annotations

from fusion.methods.spec import LayerGroupMethod, MethodSpec, Steering


class Baseline(LayerGroupMethod):
    spec = MethodSpec(
        name="baseline",
        summary="no steering: the model's own answer to the bare question",
        role="baseline",
        paper_rank=0,
    )

    def check(self, steering: Steering) -> str | None:
        if steering.target == "shuffled":
            return "steering.target: shuffled needs a reference: use a method that builds one (steering=full, ...)"
        return None


METHOD = Baseline()
