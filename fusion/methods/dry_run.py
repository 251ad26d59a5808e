"""A method's functions called once on a dry input, before any weights load.

The job calls ``groups``, ``suggest`` (or ``fixed_params``) and ``layer_weights`` only after the
model is loaded and the unsteered answers are written: a plug-in's mistake there (one weight too
few, a parameter it forgot to return) would surface minutes in, as a tensor shape deep in torch.
Here each is called with the model's real depth (read from its header or config) and plausible
values, and any fault is one line naming the method and the function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fusion.errors import ConfigError, FusionError
from fusion.methods.spec import Steering, SteeringMethod

T = TypeVar("T")


class DryTrial:
    """A stand-in for an Optuna trial: each parameter at the middle of its range."""

    def __init__(self) -> None:
        self.params: dict[str, float] = {}

    def suggest_int(self, name: str, low: int, high: int) -> int:
        self.params[name] = float((low + high) // 2)
        return (low + high) // 2

    def suggest_float(self, name: str, low: float, high: float) -> float:
        self.params[name] = (low + high) / 2
        return (low + high) / 2


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def dry_run(
    method: SteeringMethod, num_layers: int, steering: Steering, fixed_strengths: Sequence[float] | None = None
) -> None:
    """Call ``method``'s functions as the job will on a model of ``num_layers`` layers; a fault
    raises one :class:`ConfigError` line: ``method '<name>': <function>(...) <what is wrong>``."""
    name = method.spec.name

    def call(function: str, thunk: Callable[[], T]) -> T:
        try:
            return thunk()
        except FusionError:
            raise  # already one line naming the key and the fix (a layer past the model's last)
        except Exception as error:  # noqa: BLE001 - a plug-in's own bug, reported where it is
            raise ConfigError(f"method '{name}': {function} raised {type(error).__name__}: {error}") from None

    def fail(function: str, problem: str) -> None:
        raise ConfigError(f"method '{name}': {function} {problem}")

    groups = call("groups", lambda: method.groups(num_layers, steering))
    where = f"groups({num_layers}, steering)"
    if not isinstance(groups, list) or not all(isinstance(g, range) for g in groups):
        fail(where, f"returned {type(groups).__name__} {groups!r}: it must return a list of ranges of layers")
    if any(g.start < 0 or g.stop > num_layers for g in groups):
        fail(where, f"returned {groups}: every range must lie in range(0, {num_layers})")
    if not method.spec.steers:
        return
    if fixed_strengths is None and method.spec.searched:
        trial = DryTrial()
        params = call("suggest", lambda: method.suggest(trial, num_layers, steering))
        function = "suggest(trial, num_layers, steering)"
    else:
        params = call("fixed_params", lambda: method.fixed_params(num_layers, steering))
        function = "fixed_params(num_layers, steering)"
    _check_params(name, function, params, method.spec.extra_params)
    strengths = list(fixed_strengths) if fixed_strengths is not None else [0.5] * len(groups)
    weights = call("layer_weights", lambda: method.layer_weights(strengths, params, groups, num_layers))
    where = f"layer_weights(strengths, params, groups, {num_layers})"
    if not isinstance(weights, (list, tuple)):
        fail(where, f"returned {type(weights).__name__}: it must return a list of {num_layers} floats, one per layer")
    if len(weights) != num_layers:
        fail(where, f"returned {len(weights)} weights: it must return one float per decoder layer ({num_layers})")
    if bad := [w for w in weights if not _number(w)][:3]:
        fail(where, f"returned {bad!r} among its weights: each must be a finite float")


def _check_params(name: str, function: str, params: Any, extra: Sequence[str]) -> None:
    if not isinstance(params, dict) or not all(isinstance(k, str) and _number(v) for k, v in params.items()):
        raise ConfigError(f"method '{name}': {function} returned {params!r}: it must return a dict of name -> float")
    if missing := [p for p in extra if p not in params]:
        raise ConfigError(
            f"method '{name}': {function} returned no {', '.join(missing)}: spec.extra_params declares "
            f"{', '.join(extra)}"
        )
