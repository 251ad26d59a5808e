"""in_context: no hooks and no search; the question's reference text goes into the prompt.

The control a reviewer asks for first: the same text full and segmented steer toward (the gold
answer and the model's explanation), given as text (``prompts.in_context``).
"""

from __future__ import annotations

from fusion.methods.spec import LayerGroupMethod, MethodSpec


class InContext(LayerGroupMethod):
    spec = MethodSpec(
        name="in_context",
        summary="no steering: the question's reference text (gold answer + explanation) is given in the prompt",
        role="prompted",
        reference=True,
    )


METHOD = InContext()
