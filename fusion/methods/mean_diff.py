"""mean_diff: one global steering vector per layer, added to the hidden states.

The non-prompt-specific comparator. Following contrastive activation addition and mean-difference
steering vectors (Turner et al. 2023, "Activation Addition"; Rimsky et al. 2024, "Steering Llama 2
via Contrastive Activation Addition"), the vector at layer ``l`` is a mean difference of
activations over a training set of questions:

    v_l = mean over training questions q of (h_l(q) - m_l(q))

where ``h_l(q)`` is the mean of layer ``l`` over q's reference completion (gold answer + the model's
explanation, as full steering uses) and ``m_l(q)`` over the model's own unsteered answer to q. It
is added, ``a' = a + s * v_l``, at every layer (or one, ``steering.layer=N``), with ``s`` searched
per question like full steering's alpha*gamma (or fixed: ``search.strengths``).

It never reads the test question's gold or reference: the job's questions are cross-fitted, two
folds by a hash of (seed, row index), and each question is steered by the vector of the
other fold. So every question is answered, and it pairs with the other groups on all of them. The
vector is a function of the training fold and the seed: rebuilt, it is the same.

Where we differ from CAA: the contrast is the gold reference against the model's own answer (not
pairs of multiple-choice answers), and the strength is searched per question as for Fusion
Steering, so the two differ only in the direction: the question's own versus a shared one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from fusion.errors import ConfigError
from fusion.methods.spec import LayerGroupMethod, MethodSpec, Steering, TargetSource, Trial, check_layer, one_layer


def fold_of(index: int, seed: int) -> int:
    """The cross-fitting fold (0 or 1) of the question with row ``index``: stable, and
    independent of which other questions the job holds."""
    return hashlib.sha256(f"mean_diff:{seed}:{index}".encode()).digest()[0] % 2


def fold_vector(source: TargetSource, fold: int) -> Any:
    """The mean difference vector ``[layers, d]`` built from the questions of ``fold`` only."""
    train = [q for q in source.questions if fold_of(q.index, source.seed) == fold]
    if not train:
        raise ConfigError(
            "steering=mean_diff needs questions in both cross-fitting folds: raise data.limit (at least 4 questions)"
        )
    references = [means for _, means in source.references(train)]
    pairs = [(r, a) for r, a in zip(references, source.answer_means(train)) if a is not None]  # no empty answer
    if not pairs:
        raise ConfigError("steering=mean_diff: no question of a fold has an unsteered answer to contrast with")
    return sum(r - a for r, a in pairs) / len(pairs)


class MeanDiff(LayerGroupMethod):
    spec = MethodSpec(
        name="mean_diff",
        summary="one global vector per layer (mean of reference minus own answer over the other fold), added",
        role="steered",
        searched=True,
        reference=True,  # the training fold's references
        compare_with=("full",),
        update="add",
    )

    def check(self, steering: Steering) -> str | None:
        if steering.target == "shuffled":
            return "steering.target: mean_diff is already not the question's own direction: no placebo needed"
        if steering.layer is not None and steering.layer < 0:
            return f"steering.layer: must be >= 0, or null for every layer (got {steering.layer})"
        return None

    def check_questions(self, questions: Sequence[Any], seed: int) -> str | None:
        """Each question's vector is built from the other fold: a job needs questions in both, which
        the preflight checks before any model loads (the job would otherwise fail at its targets)."""
        if len({fold_of(q.index, seed) for q in questions}) < 2:
            return "steering=mean_diff needs questions in both cross-fitting folds: raise data.limit (at least 4 questions)"
        return None

    def targets(
        self, source: TargetSource, questions: Sequence[Any], references_of: Sequence[Any]
    ) -> list[tuple[str, Any]]:
        vectors = source.memo.setdefault("mean_diff", {})
        out = []
        for question in questions:
            other = 1 - fold_of(question.index, source.seed)  # never the question's own fold
            if other not in vectors:
                vectors[other] = fold_vector(source, other)
            out.append(("", vectors[other]))
        return out

    def groups(self, num_layers: int, steering: Steering) -> list[range]:
        check_layer(steering.layer, num_layers)
        return [range(num_layers)]

    def suggest(self, trial: Trial, num_layers: int, steering: Steering) -> dict[str, float]:
        return self.fixed_params(num_layers, steering)  # nothing drawn: the layer is the config's

    def fixed_params(self, num_layers: int, steering: Steering) -> dict[str, float]:
        return {} if steering.layer is None else {"layer": float(steering.layer)}

    def layer_weights(
        self, strengths: Sequence[float], params: Mapping[str, float], groups: Sequence[range], num_layers: int
    ) -> list[float]:
        if "layer" not in params:
            return [float(strengths[0])] * num_layers
        return one_layer(strengths[0], int(params["layer"]), num_layers)


METHOD = MeanDiff()
