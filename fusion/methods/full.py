"""full: Fusion Steering with one (alpha, gamma) for every decoder layer, searched per question."""

from __future__ import annotations

from fusion.methods.spec import LayerGroupMethod, MethodSpec


class Full(LayerGroupMethod):
    spec = MethodSpec(
        name="full",
        summary="every layer moves toward the question's reference means, one (alpha, gamma) searched per question",
        role="steered",
        searched=True,
        reference=True,
        paper_rank=1,
    )


METHOD = Full()
