"""single_layer: the question's reference delta injected at one decoder layer.

The comparator for the paper's claim that full-network steering beats "traditional methods
constrained to single-layer or fixed-layer operations": the same prompt-specific target and the
same update as full, ``a' = a + alpha*gamma*(h_l - mean_t(a))``, but at one layer ``l`` only. The
search draws the layer per question with the strengths (``layer``, an integer in
``[0, num_layers)``); ``steering.layer=N`` fixes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fusion.errors import ConfigError
from fusion.methods.spec import LayerGroupMethod, MethodSpec, Steering, Trial, check_layer, one_layer


class SingleLayer(LayerGroupMethod):
    spec = MethodSpec(
        name="single_layer",
        summary="the question's reference delta at one layer; the search picks the layer (steering.layer fixes it)",
        role="steered",
        searched=True,
        reference=True,
        extra_params=("layer",),
        compare_with=("full", "segmented"),
    )

    def check(self, steering: Steering) -> str | None:
        if steering.layer is not None and steering.layer < 0:
            return f"steering.layer: must be >= 0, or null to search it (got {steering.layer})"
        return None

    def groups(self, num_layers: int, steering: Steering) -> list[range]:
        check_layer(steering.layer, num_layers)
        return [range(num_layers)]  # one (alpha, gamma); the layer it applies to is a parameter

    def suggest(self, trial: Trial, num_layers: int, steering: Steering) -> dict[str, float]:
        if steering.layer is not None:
            return {"layer": float(steering.layer)}
        return {"layer": float(trial.suggest_int("layer", 0, num_layers - 1))}

    def fixed_params(self, num_layers: int, steering: Steering) -> dict[str, float]:
        if steering.layer is None:
            raise ConfigError("search.strengths: fixed strengths for single_layer need steering.layer=N as well")
        return {"layer": float(steering.layer)}

    def layer_weights(
        self, strengths: Sequence[float], params: Mapping[str, float], groups: Sequence[range], num_layers: int
    ) -> list[float]:
        return one_layer(strengths[0], int(params["layer"]), num_layers)


METHOD = SingleLayer()
