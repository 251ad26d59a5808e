"""Question sets as plug-ins: one module per set, found by name; selection and the held-out check.

A set is an object implementing :class:`~fusion.data.spec.QuestionSet`: its
:class:`~fusion.data.spec.SetSpec` and a loader. ``data.name`` names it (``data=NAME`` picks its
config file in fusion/conf/data), and :func:`resolve` finds it:

1. a module of this package of that name exposing ``QUESTION_SET`` (:func:`builtin_names`);
2. an installed package's entry point in the group ``fusion.datasets`` of that name;
3. ``data.plugin``: an import path, ``package.module:NAME`` or ``package.module.NAME`` (a set object,
   or a class to instantiate).

:func:`load_questions` is what a job asks: the set's rows, checked, then the selection.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from typing import Any

from fusion.config.schema import DataConfig
from fusion.data.select import check_held_out, load_index_file, select_prompts
from fusion.data.spec import QuestionSet, SetSpec
from fusion.errors import ConfigError, SetupError
from fusion.plugins import import_object
from fusion.records import Prompt

__all__ = ["QuestionSet", "SetSpec", "builtin_names", "find", "load_questions", "question_id", "resolve", "title_of"]

ENTRY_POINT_GROUP = "fusion.datasets"
_NOT_SETS = {"spec", "select", "table", "wheels"}


def builtin_names() -> list[str]:
    """The sets shipped with fusion, in alphabetical order."""
    import fusion.data as package

    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in _NOT_SETS)


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _checked(obj: object, where: str) -> QuestionSet:
    found = obj() if isinstance(obj, type) else obj
    if not isinstance(found, QuestionSet) or not isinstance(getattr(found, "spec", None), SetSpec):
        raise ConfigError(f"{where} is not a question set: give it a SetSpec `spec`, load(data) and source(data)")
    return found


def _imported(path: str) -> QuestionSet:
    return _checked(import_object(path, "data.plugin", "a question set"), f"data.plugin={path}")


@cache
def find(name: str, plugin: str | None = None) -> QuestionSet | None:
    """The set called ``name`` (a plug-in path wins), or None where none is known."""
    if plugin:
        return _imported(plugin)
    if name in builtin_names():
        return _checked(importlib.import_module(f"fusion.data.{name}").QUESTION_SET, f"fusion.data.{name}")
    entry = _entry_points().get(name)
    return _checked(entry.load(), f"entry point {ENTRY_POINT_GROUP}:{name}") if entry is not None else None


def resolve(data: DataConfig) -> QuestionSet:
    """The set a job's ``data`` config names; one line naming the choices if there is none."""
    found = find(data.name, data.plugin)
    if found is None:
        known = builtin_names() + sorted(_entry_points())
        raise ConfigError(
            f"data.name: '{data.name}' is not one of {', '.join(known)} (a set of your own: data=jsonl or "
            f"data=csv with data.path, data.plugin=package.module:NAME, or an entry point in {ENTRY_POINT_GROUP})"
        )
    if found.spec.name != data.name:
        raise ConfigError(
            f"data.name: '{data.name}' names {data.plugin or 'a set'} whose spec is called "
            f"'{found.spec.name}': set data.name={found.spec.name}"
        )
    return found


def _rows(found: QuestionSet, data: DataConfig) -> list[Prompt]:
    """The set's rows, each with a question id; a plug-in's rows checked as a file's are."""
    name = found.spec.name
    prompts = [p if p.qid else replace(p, qid=f"{found.spec.ids or name}:{p.index}") for p in found.load(data)]
    for p in prompts:
        if not (p.question.strip() and p.gold.strip()):
            what = "question" if not p.question.strip() else "gold answer"
            raise SetupError(f"data={name}: row {p.index} has no {what}: give every row a question and a gold answer")
    for key, values in (("index", [p.index for p in prompts]), ("qid", [p.qid for p in prompts])):
        repeated = [v for v, n in Counter(values).items() if n > 1]
        if repeated:
            raise SetupError(
                f"data={name}: {len(repeated)} rows share a {key} (first: {repeated[0]}): give each its own"
            )
    return prompts


def load_questions(data: DataConfig) -> list[Prompt]:
    """The questions a job asks: the set's rows, ``data.index_file``, offset, limit; the held-out check on
    the whole selection (every shard fails alike); then ``data.shard`` of ``data.num_shards``."""
    found = resolve(data)
    indices = load_index_file(data.index_file) if data.index_file else None
    chosen = select_prompts(_rows(found, data), indices=indices, offset=data.offset, limit=data.limit)
    check_held_out(found.spec, chosen, data.allow_held_out)
    return select_prompts(chosen, shard=data.shard, num_shards=data.num_shards)


def question_id(record: Mapping[str, Any], dataset: str) -> str:
    """The question id of a record (a prompts.json row, an answers file's row, a hand label's
    source) of a run on ``dataset``: its ``qid``, or for a record written before rows carried one
    (``index`` only) the id the set gives that row now, ``<set>:<index>`` with the set whose ids
    ``dataset`` carries (:attr:`SetSpec.ids`: paper260's rows carry the ids of the set it draws from);
    a set not installed here: ``<dataset>:<index>``."""
    if record.get("qid"):
        return str(record["qid"])
    found = _known(dataset)
    return f"{(found.spec.ids or found.spec.name) if found else dataset}:{int(record['index'])}"


def title_of(dataset: str) -> str:
    """The set a run answered as a report names it (:attr:`SetSpec.title`; its name where unknown)."""
    found = _known(dataset)
    return (found.spec.title or found.spec.name) if found else dataset


def _known(name: str) -> QuestionSet | None:
    """The built-in or installed set called ``name``, or None (a record names sets no longer here)."""
    return find(name) if name in builtin_names() or name in _entry_points() else None
