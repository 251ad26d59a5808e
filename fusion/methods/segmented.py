"""segmented: Fusion Steering with one (alpha, gamma) per contiguous segment of layers.

``steering.boundaries`` cuts the layers (the config checks its form, :meth:`groups` checks it
against the loaded model's depth); null cuts the model in thirds.
"""

from __future__ import annotations

from fusion.methods.segments import segment_bounds
from fusion.methods.spec import LayerGroupMethod, MethodSpec, Steering


class Segmented(LayerGroupMethod):
    spec = MethodSpec(
        name="segmented",
        summary="layers cut into segments (steering.boundaries; thirds by default), one (alpha, gamma) each",
        role="steered",
        searched=True,
        reference=True,
        compare_with=("full",),
        paper_rank=2,
    )

    def groups(self, num_layers: int, steering: Steering) -> list[range]:
        return segment_bounds(num_layers, steering.boundaries)


METHOD = Segmented()
