"""A steering method as data plus a few functions: the interface every method implements.

The job, the traces, the preflight, the summaries and the report read a method's :class:`MethodSpec`
(what it needs, whether it searches, how the report groups it) and call its functions (which layer
groups get a weight pair, which extra parameters a trial draws, how a trial's strengths become one
weight per layer); none of them asks for a method by its name. A method from outside the package
implements :class:`SteeringMethod` and is found by an entry point or an import path
(:mod:`fusion.methods`, docs/methods.md).

Torch-free and below every other subpackage: the config checks a method's settings, and a report
reads the specs its runs recorded, without a model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from fusion.errors import ConfigError

# baseline: the unsteered answer, what every other group is set against; prompted: no hooks, the
# question's reference text in the prompt (in_context); steered: hooks move the hidden states
Role = Literal["baseline", "prompted", "steered"]
ROLES: tuple[Role, ...] = ("baseline", "prompted", "steered")


@dataclass(frozen=True)
class MethodSpec:
    """What a steering method is, for everything that runs, logs or reports it."""

    name: str
    summary: str  # one line, for help texts and the report's legend
    role: Role
    # a per-question Optuna search over (alpha, gamma) per weight group and any extra parameters
    # (steered methods only; search.strengths fixes them instead)
    searched: bool = False
    # needs each question's reference completion (fusion.references; by default the gold answer and
    # the model's explanation): as the steering target (steered) or as text in the prompt (prompted);
    # steering.target=shuffled (the placebo) swaps it for another question's
    reference: bool = False
    # extra search parameters beyond alpha and gamma per weight group (e.g. ("layer",))
    extra_params: tuple[str, ...] = ()
    # other methods the report sets this one against, a - b, on the same questions and settings
    compare_with: tuple[str, ...] = ()
    # its place in the ordering the paper claims (segmented > full > baseline); None: not claimed
    paper_rank: int | None = None
    # how a steered layer moves: "toward" the target (a' = a + s * (t - mean_t(a)), Fusion
    # Steering) or "add" the target as a vector (a' = a + s * t, a steering vector)
    update: Literal["toward", "add"] = "toward"

    @property
    def steers(self) -> bool:
        return self.role == "steered"

    def tag(self) -> str:
        """The run tag ``fusion.method``: the spec as JSON, so a report reads it from the run."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_tag(cls, text: str) -> MethodSpec:
        data = json.loads(text)
        data["extra_params"] = tuple(data.get("extra_params", ()))
        data["compare_with"] = tuple(data.get("compare_with", ()))
        return cls(**data)


class Steering(Protocol):
    """The ``steering`` config a method reads (fusion.config.schema.SteeringConfig), read-only."""

    @property
    def mode(self) -> str: ...

    @property
    def boundaries(self) -> Sequence[int] | None: ...

    @property
    def layer(self) -> int | None: ...

    @property
    def target(self) -> str: ...

    @property
    def options(self) -> Mapping[str, Any]: ...


class Question(Protocol):
    """A question of the job (fusion.records.Prompt): its row index identifies it within the job."""

    @property
    def index(self) -> int: ...


class TargetSource(Protocol):
    """What the job offers a method to build its steering targets from (fusion.job.targets.JobTargets,
    on the loaded model). Targets are ``[layers, d]`` tensors the method treats as opaque values it may average."""

    @property
    def seed(self) -> int:
        """The job's seed."""
        ...

    @property
    def questions(self) -> Sequence[Any]:
        """Every question of the job (the training pool of a global method)."""
        ...

    @property
    def memo(self) -> dict[str, Any]:
        """A cache kept for the whole job: a target built once serves every pack."""
        ...

    def references(self, questions: Sequence[Any]) -> list[tuple[str, Any]]:
        """Each question's explanation and reference means ``h_l`` (gold answer + explanation)."""
        ...

    def answer_means(self, questions: Sequence[Any]) -> list[Any]:
        """Each question's own unsteered answer (to the steering prompt), averaged per layer (None
        where the answer is empty)."""
        ...


class Trial(Protocol):
    """The part of an Optuna trial a method draws its extra parameters with."""

    def suggest_int(self, name: str, low: int, high: int) -> int: ...

    def suggest_float(self, name: str, low: float, high: float) -> float: ...


@runtime_checkable
class SteeringMethod(Protocol):
    """A steering method: its spec and the functions the job calls."""

    spec: MethodSpec

    def check(self, steering: Steering) -> str | None:
        """What is wrong with ``steering`` for this method before any model is loaded, as
        "key: what is wrong and the fix" (or None)."""
        ...

    def groups(self, num_layers: int, steering: Steering) -> list[range]:
        """The layer groups that each get one (alpha, gamma) pair: one for all layers (full), one
        per segment (segmented); [] for a method that does not steer. May raise ConfigError."""
        ...

    def suggest(self, trial: Trial, num_layers: int, steering: Steering) -> dict[str, float]:
        """A trial's extra parameters (:attr:`MethodSpec.extra_params`), drawn or fixed by config."""
        ...

    def fixed_params(self, num_layers: int, steering: Steering) -> dict[str, float]:
        """The extra parameters when strengths are fixed and nothing is searched (search.strengths);
        raises ConfigError where the config does not fix them."""
        ...

    def targets(
        self, source: TargetSource, questions: Sequence[Any], references_of: Sequence[Any]
    ) -> list[tuple[str, Any]]:
        """Each question's (explanation, steering target ``[layers, d]``). ``references_of``: whose
        reference each question gets (its own, or the placebo's partner)."""
        ...

    def layer_weights(
        self, strengths: Sequence[float], params: Mapping[str, float], groups: Sequence[range], num_layers: int
    ) -> list[float]:
        """One weight (alpha*gamma) per decoder layer from a trial's per-group strengths and extra
        parameters; 0 leaves a layer untouched."""
        ...


class LayerGroupMethod:
    """The common case: each layer group gets its trial's strength; subclasses say which groups."""

    spec: MethodSpec

    def check(self, steering: Steering) -> str | None:
        return None

    def groups(self, num_layers: int, steering: Steering) -> list[range]:
        return [range(num_layers)] if self.spec.steers else []

    def suggest(self, trial: Trial, num_layers: int, steering: Steering) -> dict[str, float]:
        return {}

    def fixed_params(self, num_layers: int, steering: Steering) -> dict[str, float]:
        return {}

    def targets(
        self, source: TargetSource, questions: Sequence[Any], references_of: Sequence[Any]
    ) -> list[tuple[str, Any]]:
        return source.references(references_of)  # each question's own reference means (or the placebo's)

    def layer_weights(
        self, strengths: Sequence[float], params: Mapping[str, float], groups: Sequence[range], num_layers: int
    ) -> list[float]:
        weights = [0.0] * num_layers
        for strength, group in zip(strengths, groups):
            for layer in group:
                weights[layer] = float(strength)
        return weights


def check_layer(layer: int | None, num_layers: int) -> None:
    """A configured layer (``steering.layer``) must be one of the model's."""
    if layer is not None and layer >= num_layers:
        raise ConfigError(f"steering.layer={layer} is past the model's last layer: use 0..{num_layers - 1} or null")


def one_layer(strength: float, layer: int, num_layers: int) -> list[float]:
    """Weights that steer ``layer`` alone."""
    weights = [0.0] * num_layers
    weights[layer] = float(strength)
    return weights
