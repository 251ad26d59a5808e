"""Command-line overrides checked before Hydra composes: a misspelt group option or key, a key that
was renamed, or a value of the wrong type fails with one line (Hydra's own messages span a dozen
lines, and come after Hydra has set up the run's output folder)."""

from __future__ import annotations

import difflib
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fusion.config.judges import judge_schemas
from fusion.config.schema import JobConfig
from fusion.errors import ConfigError
from fusion.paths import CONF_DIR

# Keys renamed so that one word has one meaning (see the README's changelog): old key -> new.
RENAMED = {
    "steering.cache": "steering.decoding (exact|cached)",
    "cache_dir": "weights_cache_dir",
    "judge.cache": "judge.reply_cache",
    "judge.cache_dir": "judge.weights_cache_dir",
    "eval.perplexity_model": "search.perplexity_model",
    "search.storage": "search.study_storage (per_job|memory|url) and search.study_url",
}


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"{key}: {message}")


def _judge_option(parsed: list[Any]) -> str:
    """The judge option these overrides choose (the default's otherwise)."""
    for override in parsed:
        if override.key_or_group == "judge" and not override.is_sweep_override():
            return str(override.get_value_element_as_str())
    return "rules"


def check_overrides(overrides: list[str]) -> None:
    """Reject a misspelt group option or key in command-line overrides with one line, before Hydra
    composes (its own messages span a dozen lines). Overrides it cannot judge are left to Hydra."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:  # a syntax error: Hydra reports it with its position
        return
    _check_plugin_mode(parsed)
    schema = OmegaConf.structured(JobConfig)
    judge = judge_schemas().get(_judge_option(parsed))
    if judge is not None:  # the judge node is typed by its option's schema
        schema.judge = OmegaConf.structured(judge)
    for override in parsed:
        key = override.key_or_group
        if key.startswith("hydra") or override.is_delete():
            continue
        if key in RENAMED:
            _fail(key, f"renamed to {RENAMED[key]}")
        group = CONF_DIR / key
        if group.is_dir():
            options = sorted(p.stem for p in group.glob("*.yaml"))
            values = (
                list(override.sweep_string_iterator())
                if override.is_choice_sweep()
                else ([] if override.is_sweep_override() else [override.get_value_element_as_str()])
            )
            for value in values:
                if value not in options:
                    _fail(key, f"no option '{value}': use one of {', '.join(options)}")
        else:  # a key (also `+key=`: fusion's nodes are typed, so there is nothing to add to)
            node: Any = schema
            for i, part in enumerate(key.split(".")):
                if isinstance(node, DictConfig) and node._is_typed() and part not in node:
                    where = ".".join(key.split(".")[:i]) or "the config"
                    keys = [str(k) for k in node.keys()]
                    close = difflib.get_close_matches(part, keys, n=1)
                    hint = (
                        f"did you mean {'.'.join([*key.split('.')[:i], close[0]])}?"
                        if close
                        else f"keys of {where}: {', '.join(keys)}"
                    )
                    _fail(key, f"no such key: {hint}")
                if not isinstance(node, DictConfig) or not node._is_typed():
                    break  # open mappings (judge) take any key
                node = node[part]


def _check_plugin_mode(parsed: list[Any]) -> None:
    """``steering.mode`` given beside ``steering.plugin`` must be the plug-in's own name."""
    from fusion.methods import plugin_method

    given = {o.key_or_group: o.value() for o in parsed if not o.is_sweep_override()}
    plugin, mode = given.get("steering.plugin"), given.get("steering.mode")
    if isinstance(plugin, str) and isinstance(mode, str):
        name = plugin_method(plugin).spec.name
        if name != mode:
            _fail(
                "steering.mode",
                f"'{mode}' but steering.plugin={plugin} is called '{name}': leave steering.mode out "
                "(the plug-in's spec names the method)",
            )


def check_composition(overrides: list[str]) -> None:
    """Compose the job as Hydra will, once per value of each choice sweep (``steering=full,segmented``),
    and turn Hydra's and OmegaConf's errors (a word where a number goes, a bad override syntax) into
    one line naming the override. Validation of the values follows in each job."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from fusion.config.compose import compose_job

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as error:
        raise ConfigError(_first_line(error)) from None
    fixed = [text for text, o in zip(overrides, parsed) if not o.is_sweep_override()]
    variants = [fixed]
    for text, override in zip(overrides, parsed):
        if override.is_choice_sweep():
            key = text.split("=", 1)[0]
            variants += [[*fixed, f"{key}={value}"] for value in override.sweep_string_iterator()]
    for variant in variants:
        try:
            compose_job(variant)
        except (HydraException, OmegaConfBaseException, ValueError) as error:
            raise ConfigError(_first_line(error)) from None


def _first_line(error: BaseException) -> str:
    """The informative line of a Hydra/OmegaConf error: the cause's message when there is one."""
    cause = error.__cause__ or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    lines = [
        line for line in lines if not line.startswith(("full_key:", "object_type=", "reference_type=", "See https"))
    ]
    message = "; ".join(lines[:2]) if lines else type(cause).__name__
    where = [line for line in str(error).splitlines() if line.startswith("Error merging override")]
    return f"{where[0].removeprefix('Error merging override ')}: {message}" if where else message
