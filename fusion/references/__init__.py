"""References as plug-ins: what a question's steering target (and in_context's prompt) is built from.

A reference is an object implementing :class:`~fusion.references.spec.Reference`: its
:class:`~fusion.references.spec.ReferenceSpec` and the functions the job calls. :func:`resolve` finds
it, as :mod:`fusion.methods` finds a method:

1. ``reference.plugin``: an import path, ``module:NAME`` (``module.NAME`` is read the same), of a
   reference object (the current folder first on the import path);
2. ``reference.name``: a module of this package of that name exposing ``REFERENCE``
   (gold_explanation, the paper's and the default; passage);
3. ``reference.name``: an installed package's entry point in the group ``fusion.references``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import pkgutil
from collections.abc import Sequence
from functools import cache

from fusion.errors import ConfigError
from fusion.plugins import PLUGIN_FORM, import_object
from fusion.records import Prompt
from fusion.references.spec import Reference, ReferenceSpec

__all__ = ["DEFAULT", "Reference", "ReferenceSpec", "blinded", "builtin_names", "oracle_line", "resolve"]

ENTRY_POINT_GROUP = "fusion.references"
DEFAULT = "gold_explanation"  # the paper's: runs recorded before the tag fusion.reference used it


def builtin_names() -> list[str]:
    import fusion.references as package

    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name != "spec")


def _checked(obj: object, where: str) -> Reference:
    if isinstance(obj, type):
        raise ConfigError(f"{where} is the class {obj.__name__}: add `REFERENCE = {obj.__name__}()` and name that")
    if not isinstance(obj, Reference) or not isinstance(getattr(obj, "spec", None), ReferenceSpec):
        raise ConfigError(f"{where} is not a reference: give it a ReferenceSpec `spec` and the Reference functions")
    return obj


@cache
def _plugin(path: str) -> Reference:
    return _checked(import_object(path, "reference.plugin", "a reference"), f"reference.plugin={path}")


@cache
def resolve(name: str = DEFAULT, plugin: str | None = None) -> Reference:
    """The reference ``reference.name`` names (a plug-in path wins); one line naming the choices if none."""
    if plugin:
        return _plugin(plugin)
    if name in builtin_names():
        module = f"fusion.references.{name}"
        return _checked(importlib.import_module(module).REFERENCE, module)
    entries = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    if name in entries:
        return _checked(entries[name].load(), f"entry point {ENTRY_POINT_GROUP}:{name}")
    raise ConfigError(
        f"reference={name} is not one of {', '.join(builtin_names() + sorted(entries))} (one of your own: "
        f"reference.plugin={PLUGIN_FORM}, or an entry point in the group {ENTRY_POINT_GROUP})"
    )


def blinded(reference: Reference, prompts: Sequence[Prompt]) -> list[Prompt]:
    """``prompts`` as answering and searching see them: a reference that is no oracle gets them
    without their gold answers (the grading reads the job's own prompts), so no step before the
    grading can read one, not merely does not."""
    if reference.spec.oracle:
        return list(prompts)
    return [dataclasses.replace(p, gold="") for p in prompts]


def oracle_line(oracle: bool, name: str) -> str:
    """How a summary and a report state a run's oracle status."""
    if oracle:
        return "oracle: yes (the target is built from the gold)"
    return f"oracle: no (reference={name})"
