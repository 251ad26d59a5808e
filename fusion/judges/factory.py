"""Build a judge from the ``judge`` config node (``name`` picks the implementation).

Everything here is cheap and runs at job preparation, before any model loads: unknown names and
keys, bad values and an unset key variable fail with one line that names the key and the fix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from fusion.judges import Judge

JUDGES = ("rules", "openai", "hf")
def _fail(key: str, message: str) -> None:
    raise ValueError(f"judge.{key}: {message}")


def _settings(name: str, cfg: Mapping[str, Any], fields: type) -> dict[str, Any]:
    """The node's keys as constructor arguments; unknown keys fail with the accepted ones."""
    known = [f.name for f in dataclasses.fields(fields)]
    for key in cfg:
        if key != "name" and key not in known:
            accepted = f"use {', '.join(known)}" if known else "it takes no settings besides judge.name"
            _fail(str(key), f"unknown key for judge={name}: {accepted}")
    return {k: v for k, v in cfg.items() if k != "name"}


def _number(key: str, value: Any, *, minimum: float, strict: bool = False, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        _fail(key, f"must be {'an integer' if integer else 'a number'} (got {value!r})")
    if value < minimum or (strict and value == minimum):
        _fail(key, f"must be {'>' if strict else '>='} {minimum:g} (got {value})")


def _text(key: str, value: Any, example: str) -> None:
    if not isinstance(value, str) or not value.strip():
        _fail(key, f"missing: set judge.{key}={example}")


def _openai(cfg: Mapping[str, Any]) -> Judge:
    from fusion.judges.openai import OpenAIJudge, OpenAISettings

    args = _settings("openai", cfg, OpenAISettings)
    _text("base_url", args.get("base_url"), "http://127.0.0.1:8000/v1 (any OpenAI-compatible endpoint)")
    if not str(args["base_url"]).startswith(("http://", "https://")):
        _fail("base_url", f"must start with http:// or https:// (got {args['base_url']!r})")
    _text("model", args.get("model"), "<a model the endpoint serves, e.g. mistral-small-latest>")
    env = args.get("api_key_env", "OPENAI_API_KEY")
    if env is not None and (not isinstance(env, str) or not env.strip() or "=" in env):
        _fail("api_key_env", "must name an environment variable (e.g. OPENAI_API_KEY), or be null for no key")
    checks = {"temperature": (0, False, False), "max_tokens": (1, False, True), "timeout": (0, True, False),
              "max_retries": (0, False, True), "backoff": (0, False, False), "concurrency": (1, False, True)}
    for key, (minimum, strict, integer) in checks.items():
        if key in args:
            _number(key, args[key], minimum=minimum, strict=strict, integer=integer)
    cache = args.get("cache")
    if cache is not None and (not isinstance(cache, str) or not cache.strip()):
        _fail("cache", f"must be a file path or null (got {cache!r})")
    return OpenAIJudge(OpenAISettings(**args))  # reads the key: an unset variable fails here


def _hf(cfg: Mapping[str, Any]) -> Judge:
    from fusion.config import named_model_config
    from fusion.judges.hf import HFJudge, HFSettings

    args = _settings("hf", cfg, HFSettings)
    settings = HFSettings(**args)
    _text("model", settings.model, "smollm2_135m (a file of conf/model)")
    _number("max_new_tokens", settings.max_new_tokens, minimum=1, integer=True)
    _number("batch_size", settings.batch_size, minimum=1, integer=True)
    try:
        model = named_model_config(settings.model)
    except ValueError as error:
        _fail("model", str(error))
    return HFJudge(model, settings)


def make_judge(cfg: Mapping[str, Any]) -> Judge:
    name = cfg.get("name")
    if name == "rules":
        from fusion.judges.rules import RulesJudge

        _settings("rules", cfg, _NoSettings)
        return RulesJudge()
    if name == "openai":
        return _openai(cfg)
    if name == "hf":
        return _hf(cfg)
    raise ValueError(f"judge.name={name!r} is unknown: use one of {', '.join(JUDGES)} (e.g. judge=rules)")


@dataclasses.dataclass(frozen=True)
class _NoSettings:
    """The rules judge takes no settings."""
