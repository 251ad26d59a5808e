"""Judges as plug-ins: a judge is a :class:`JudgeSpec` (its name, the schema of its settings, a check
and a factory), found by name, as steering methods are (:mod:`fusion.methods`).

The ``judge`` config group picks one; :func:`resolve` finds it:

1. fusion's own: for each config file ``fusion/conf/judge/NAME.yaml``, the module
   ``fusion.evaluate.judges.NAME`` exposing ``JUDGE`` (rules, openai, hf). Adding a judge to fusion
   is those two files: the module (spec, schema, judge) and the config file naming its schema.
2. ``judge=plugin judge.plugin=package.module:NAME``: a spec from anywhere (a module of your own), or
   ``judge.plugin=NAME``: an installed package's entry point in the group ``fusion.judges``. Its
   settings go under ``judge.options`` and are typed by its schema (docs/judges.md).

The config layer reaches the judge modules by name only, as it reaches a plug-in; a judge module
imports nothing heavy at its top (its factory imports the model or the client), so composing and
validating a job stays torch-free and quick.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fusion.errors import ConfigError
from fusion.paths import CONF_DIR
from fusion.plugins import import_object

ENTRY_POINT_GROUP = "fusion.judges"
PLUGIN = "plugin"  # the config option of a judge from outside fusion (fusion/conf/judge/plugin.yaml)


def _no_check(settings: Any) -> None:
    """Settings a schema's types already check fully."""


@dataclass(frozen=True)
class JudgeSpec:
    """What a judge is, for the config (its keys and checks) and for the job (how to build it)."""

    name: str
    summary: str  # one line, for docs and errors
    # a dataclass of the judge's settings (its keys under judge.*, or judge.options for a plug-in)
    schema: type
    # settings -> the judge (fusion.evaluate.judges.Judge: `name` and `grade(requests)`); may read the
    # environment or check that a model exists, and so fail with one line (ConfigError, SetupError)
    build: Callable[[Any], Any]
    # settings -> None, or a ConfigError naming judge.KEY and the fix; cheap, before any model loads
    check: Callable[[Any], None] = _no_check


@dataclass
class PluginJudgeConfig:
    """``judge=plugin``: a judge of your own, by import path or entry point name."""

    name: str = PLUGIN
    plugin: str | None = None  # package.module:NAME of a JudgeSpec, or an entry point name (required)
    options: dict[str, Any] = field(default_factory=dict)  # its settings, typed by its spec's schema


def builtin_names() -> list[str]:
    """fusion's own judges: the options of the ``judge`` config group, less ``plugin``."""
    return sorted(p.stem for p in (CONF_DIR / "judge").glob("*.yaml") if p.stem != PLUGIN)


def _checked(obj: object, where: str) -> JudgeSpec:
    if not isinstance(obj, JudgeSpec) or not dataclasses.is_dataclass(obj.schema):
        raise ConfigError(
            f"{where} is not a judge: give it a JudgeSpec (fusion.config.judges) whose schema is a dataclass"
        )
    return obj


@cache
def builtin(name: str) -> JudgeSpec:
    where = f"fusion.evaluate.judges.{name}"
    return _checked(getattr(importlib.import_module(where), "JUDGE", None), f"{where}.JUDGE")


@cache
def plugin_spec(path: str) -> JudgeSpec:
    """The spec ``judge.plugin`` names: an import path (``package.module:NAME``) or an entry point."""
    if ":" not in path and "." not in path:
        entry = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}.get(path)
        if entry is None:
            raise ConfigError(
                f"judge.plugin={path}: no entry point of that name in the group {ENTRY_POINT_GROUP}: "
                "give package.module:NAME of a JudgeSpec"
            )
        return _checked(entry.load(), f"entry point {ENTRY_POINT_GROUP}:{path}")
    return _checked(import_object(path, "judge.plugin", "a JudgeSpec"), f"judge.plugin={path}")


def judge_schemas() -> dict[str, type]:
    """Each judge option's schema: what Hydra types the ``judge`` node by, so a misspelt key fails."""
    return {**{name: builtin(name).schema for name in builtin_names()}, PLUGIN: PluginJudgeConfig}


def _typed_options(spec: JudgeSpec, options: dict[str, Any]) -> Any:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(spec.schema), options))
    except OmegaConfBaseException as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        keys = ", ".join(f.name for f in dataclasses.fields(spec.schema))
        raise ConfigError(f"judge.options: {first} (the keys of judge {spec.name}: {keys})") from None


def resolve(settings: object) -> tuple[JudgeSpec, Any]:
    """The spec of a composed ``judge`` node and its typed settings (None, outside Hydra: the rules
    judge's defaults)."""
    if settings is None:
        spec = builtin("rules")
        return spec, spec.schema()
    if isinstance(settings, PluginJudgeConfig):
        if not (settings.plugin or "").strip():
            raise ConfigError("judge.plugin: missing: set judge.plugin=package.module:NAME (a JudgeSpec of yours)")
        spec = plugin_spec(settings.plugin)
        return spec, _typed_options(spec, dict(settings.options))
    for name in builtin_names():
        if type(settings) is builtin(name).schema:
            return builtin(name), settings
    raise ConfigError(
        f"judge: {type(settings).__name__} is no judge's settings: choose judge={'|'.join(builtin_names())}"
    )


def check_judge(settings: object) -> None:
    """The composed judge node's values, by its spec's check; one line naming the key and the fix."""
    spec, typed = resolve(settings)
    option = PLUGIN if isinstance(settings, PluginJudgeConfig) else spec.name
    if getattr(settings, "name", option) != option:
        options = sorted([*builtin_names(), PLUGIN])
        raise ConfigError(
            f"judge.name: '{getattr(settings, 'name', '')}' is unknown: choose a judge with "
            f"judge={', '.join(options[:-1])} or {options[-1]}"
        )
    spec.check(typed)
