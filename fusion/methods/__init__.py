"""Steering methods as plug-ins: one module per method, found by name.

A method is an object implementing :class:`~fusion.methods.spec.SteeringMethod`: its
:class:`~fusion.methods.spec.MethodSpec` and the functions the job calls. ``steering.mode`` names
it, and :func:`resolve` finds it:

1. a module of this package of that name exposing ``METHOD`` (baseline, full, segmented,
   single_layer, in_context);
2. an installed package's entry point in the group ``fusion.methods`` of that name;
3. ``steering.plugin``: an import path, ``package.module:NAME`` or ``package.module.NAME`` (a
   method object, or a class to instantiate), e.g. from a config file of your own.

Nothing outside this package compares a method's name: the job, tracking and report read the spec.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from functools import cache

from fusion.errors import ConfigError
from fusion.methods.spec import ROLES, LayerGroupMethod, MethodSpec, Role, Steering, SteeringMethod

__all__ = [
    "ROLES",
    "LayerGroupMethod",
    "MethodSpec",
    "Role",
    "Steering",
    "SteeringMethod",
    "builtin_names",
    "find",
    "resolve",
    "spec_of_run",
]

ENTRY_POINT_GROUP = "fusion.methods"
_NOT_METHODS = {"spec", "segments"}


def builtin_names() -> list[str]:
    """The methods shipped with fusion, in the order the report lists them."""
    import fusion.methods as package

    names = [m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in _NOT_METHODS]
    order = {"baseline": 0, "in_context": 1}  # the unsteered groups first, then the steered ones
    return sorted(names, key=lambda n: (order.get(n, 2), _builtin(n).spec.paper_rank or 99, n))


def _builtin(name: str) -> SteeringMethod:
    return _checked(importlib.import_module(f"fusion.methods.{name}").METHOD, f"fusion.methods.{name}")


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _checked(obj: object, where: str) -> SteeringMethod:
    method = obj() if isinstance(obj, type) else obj
    if not isinstance(method, SteeringMethod) or not isinstance(getattr(method, "spec", None), MethodSpec):
        raise ConfigError(
            f"{where} is not a steering method: give it a MethodSpec `spec` and the SteeringMethod functions"
        )
    if method.spec.role not in ROLES:
        raise ConfigError(f"{where}: spec.role must be one of {', '.join(ROLES)} (got {method.spec.role!r})")
    return method


def _imported(path: str) -> SteeringMethod:
    module, sep, attr = path.partition(":")
    if not sep:
        module, _, attr = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            f"steering.plugin={path}: cannot import it ({type(error).__name__}: {error}): "
            "give package.module:NAME of a steering method"
        ) from None
    return _checked(obj, f"steering.plugin={path}")


@cache
def find(name: str, plugin: str | None = None) -> SteeringMethod | None:
    """The method called ``name`` (a plug-in path wins), or None where none is known."""
    if plugin:
        return _imported(plugin)
    if name in builtin_names():
        return _builtin(name)
    entry = _entry_points().get(name)
    return _checked(entry.load(), f"entry point {ENTRY_POINT_GROUP}:{name}") if entry is not None else None


def resolve(steering: Steering, plugin: str | None = None) -> SteeringMethod:
    """The method a job's ``steering`` config names; one line naming the choices if there is none."""
    method = find(steering.mode, plugin)
    if method is None:
        known = builtin_names() + sorted(_entry_points())
        raise ConfigError(
            f"steering.mode: '{steering.mode}' is not one of {', '.join(known)} "
            "(a method of your own: steering.plugin=package.module:NAME, or an entry point in the group "
            f"{ENTRY_POINT_GROUP})"
        )
    if method.spec.name != steering.mode:
        raise ConfigError(
            f"steering.mode: '{steering.mode}' names {plugin or 'a method'} whose spec is called "
            f"'{method.spec.name}': make them the same"
        )
    return method


def spec_of_run(tags: dict[str, str]) -> MethodSpec:
    """The spec a run recorded (tag ``fusion.method``); runs logged before the tag existed ran a
    built-in method, named by ``fusion.mode``."""
    if tags.get("fusion.method"):
        return MethodSpec.from_tag(tags["fusion.method"])
    method = find(tags.get("fusion.mode", "baseline"))
    if method is None:
        raise ConfigError(f"a run of method '{tags.get('fusion.mode')}' recorded no spec (tag fusion.method)")
    return method.spec
