"""Steering methods as plug-ins: one module per method, found by name.

A method is an object implementing :class:`~fusion.methods.spec.SteeringMethod`: its
:class:`~fusion.methods.spec.MethodSpec` and the functions the job calls. :func:`resolve` finds it:

1. ``steering.plugin``: an import path, ``module:NAME`` (``module.NAME`` is read the same), of a
   method object. The module may sit in the current folder: a console script (``fusion run``) does
   not put that folder on Python's import path, so the look-up does. The plug-in's spec names the
   method: the config's ``steering.mode`` is set to it. A class is refused in one line (give an
   instance): instantiating it here would hide a constructor that needs arguments or has effects;
2. ``steering.mode``: a module of this package of that name exposing ``METHOD`` (baseline, full,
   segmented, single_layer, in_context, mean_diff);
3. ``steering.mode``: an installed package's entry point in the group ``fusion.methods`` of that name.

Nothing outside this package compares a method's name: the job, tracking and report read the spec.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from functools import cache

from fusion.errors import ConfigError
from fusion.methods.spec import ROLES, LayerGroupMethod, MethodSpec, Role, Steering, SteeringMethod
from fusion.plugins import PLUGIN_FORM, import_object

__all__ = [
    "ROLES",
    "LayerGroupMethod",
    "MethodSpec",
    "Role",
    "Steering",
    "SteeringMethod",
    "builtin_names",
    "find",
    "plugin_method",
    "resolve",
    "spec_of_run",
]

ENTRY_POINT_GROUP = "fusion.methods"
_NOT_METHODS = {"spec", "segments", "dry_run"}
# how a message writes an import path (module.NAME is accepted too)


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
    if isinstance(obj, type):
        raise ConfigError(
            f"{where} is the class {obj.__name__}, not a method object: "
            f"add `METHOD = {obj.__name__}()` to its module and name that"
        )
    if not isinstance(obj, SteeringMethod) or not isinstance(getattr(obj, "spec", None), MethodSpec):
        raise ConfigError(
            f"{where} is not a steering method: give it a MethodSpec `spec` and the SteeringMethod functions"
        )
    if obj.spec.role not in ROLES:
        raise ConfigError(f"{where}: spec.role must be one of {', '.join(ROLES)} (got {obj.spec.role!r})")
    return obj


@cache
def plugin_method(path: str) -> SteeringMethod:
    """The method object at ``path`` (``module:NAME`` or ``module.NAME``); one line where it is none."""
    return _checked(import_object(path, "steering.plugin", "a steering method"), f"steering.plugin={path}")


@cache
def find(name: str, plugin: str | None = None) -> SteeringMethod | None:
    """The method called ``name`` (a plug-in path wins), or None where none is known."""
    if plugin:
        return plugin_method(plugin)
    if name in builtin_names():
        return _builtin(name)
    entry = _entry_points().get(name)
    return _checked(entry.load(), f"entry point {ENTRY_POINT_GROUP}:{name}") if entry is not None else None


def resolve(steering: Steering, plugin: str | None = None) -> SteeringMethod:
    """The method a job's ``steering`` config names (a plug-in's spec names its own method); one
    line naming the choices if there is none."""
    method = find(steering.mode, plugin)
    if method is None:
        known = builtin_names() + sorted(_entry_points())
        raise ConfigError(
            f"steering.mode: '{steering.mode}' is not one of {', '.join(known)} "
            f"(a method of your own: steering.plugin={PLUGIN_FORM}, or an entry point in the group "
            f"{ENTRY_POINT_GROUP})"
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
